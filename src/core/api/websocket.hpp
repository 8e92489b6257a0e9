// WebSocket (RFC 6455), the server's side, without I/O (SPEC §8.1): the
// handshake's keys, the frames the server writes, and an incremental parser
// of the client's frames that reassembles fragmented messages and says
// which close code answers a protocol violation. The nginx glue owns the
// sockets and the timers; the realtime stream's JSON is api/pipes.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/text.hpp"

namespace wa::ws {

// RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t kMaxControlPayload = 125;       // §5.5
constexpr std::size_t kDefaultMaxMessage = 1u << 20;  // SPEC §8.1: 1 MB message cap

// Close codes (§7.4.1) the gateway sends or reports.
namespace close_code {
constexpr std::uint16_t normal = 1000;
constexpr std::uint16_t going_away = 1001;      // nginx -s reload
constexpr std::uint16_t protocol_error = 1002;  // a frame RFC 6455 forbids
constexpr std::uint16_t unsupported = 1003;
constexpr std::uint16_t no_status = 1005;         // reported only: a close frame without a code
constexpr std::uint16_t invalid_payload = 1007;   // text or close reason not UTF-8
constexpr std::uint16_t policy_violation = 1008;  // e.g. an unknown resume cursor
constexpr std::uint16_t too_big = 1009;           // message over the cap
constexpr std::uint16_t internal_error = 1011;
constexpr std::uint16_t try_again_later = 1013;  // the client's unsent output over its bound
}  // namespace close_code

// Sec-WebSocket-Key, after trimming space, tab, CR and LF at both ends: exactly
// 24 characters of standard, padded base64 that decode to 16 bytes (§4.2.1).
bool valid_client_key(std::string_view sec_websocket_key);

// Sec-WebSocket-Accept: base64(SHA-1(key + kAcceptGuid)), key trimmed as
// valid_client_key trims it. For "dGhlIHNhbXBsZSBub25jZQ==",
// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (§1.3).
std::string accept_key(std::string_view key);

enum class Opcode : std::uint8_t {
    continuation = 0,
    text = 1,
    binary = 2,
    close = 8,
    ping = 9,
    pong = 10,
};

// One server-to-client frame: FIN set, no RSV bits, unmasked (§5.1), the
// payload length in 7, 16 or 64 bits, whichever is shortest. A control
// frame's payload (close, ping, pong) is cut to its 125 bytes.
std::string encode_frame(Opcode op, std::string_view payload);

// A client's frame (the client's side, for tests and tools): the payload
// masked with mask, the length as encode_frame writes it, FIN as given.
std::string encode_client_frame(Opcode op, std::string_view payload,
                                const std::array<std::uint8_t, 4>& mask, bool fin = true);

// A close frame: the code in network order and the reason, cut at a UTF-8
// boundary so that the payload fits 125 bytes. Code 1005 (no status) is
// never sent on the wire (§7.4.1): it gives a close frame without payload.
std::string encode_close(std::uint16_t code, std::string_view reason = {});

// What the client's bytes said, in order.
struct Event {
    enum class Kind { message, ping, pong, close, error } kind = Kind::error;
    // message: text or binary (the first fragment's); ping, pong, close:
    // that opcode; error: continuation (unused).
    Opcode opcode = Opcode::continuation;
    std::string payload;  // message: reassembled, unmasked; ping/pong: their payload
    // close: the client's code (1005 when its frame had no payload);
    // error: the close code the server must send before closing.
    std::uint16_t code = 0;
    std::string reason;  // close: the client's reason; error: a short text for logs/close frame

    bool operator==(const Event&) const = default;
};

// Client frames in, events out. Any split of the byte stream gives the
// same events: partial frames wait inside the parser for the next feed.
//
// Errors (each ends the stream: after it, and after a close, feed ignores
// everything):
//   1002 a frame without the mask bit (§5.1), RSV bits set (no extension is
//        negotiated), an unknown opcode, a control frame that is fragmented
//        or longer than 125 bytes (§5.5), a continuation with no message
//        begun, a text/binary frame while a fragmented message is open
//        (§5.4), a 64-bit length with its top bit set (§5.2), a close
//        payload of one byte or with a code §7.4 forbids (below 1000,
//        1004-1006, 1015, 1016-2999, 5000 and above).
//   1007 a text message (checked as its bytes arrive, so an invalid one
//        fails before it is complete) or a close reason that is not UTF-8.
//   1009 a message whose fragments' lengths add up to more than
//        max_message, decided from the frame header, before any payload is
//        buffered: a huge declared length never allocates.
// Control frames may come between the fragments of a message. A data
// frame's length need not be minimally encoded (RFC 6455 asks it of
// senders; it is accepted as most servers do).
//
// Memory: what arrived of the message (at most max_message bytes, in a
// string's amortized growth), plus 125 bytes of control frame and 14 of
// header, whatever length the client declares; nothing is reserved from a
// declared length.
class Parser {
public:
    explicit Parser(std::size_t max_message = kDefaultMaxMessage);

    // Appends to out each event that bytes complete.
    void feed(std::string_view bytes, std::vector<Event>& out);

    // A close or an error was reported: further input is ignored.
    bool finished() const { return finished_; }

private:
    // Consumes header bytes from bytes[i]; false when the header is not
    // complete yet or an error ended the stream.
    bool read_header(std::string_view bytes, std::size_t& i, std::vector<Event>& out);
    // The first two bytes, then the length, checked as soon as known.
    bool check_start(std::vector<Event>& out);
    bool check_length(std::vector<Event>& out);
    void read_payload(std::string_view bytes, std::size_t& i, std::vector<Event>& out);
    void end_frame(std::vector<Event>& out);
    void end_close(std::vector<Event>& out);
    void fail(std::uint16_t code, std::string reason, std::vector<Event>& out);

    std::size_t max_message_;
    bool finished_ = false;

    // The frame being read.
    std::array<std::uint8_t, 14> head_{};
    std::size_t head_len_ = 0;
    std::size_t head_need_ = 2;  // 2, then 2 + extended length + 4 mask bytes
    bool in_payload_ = false;
    bool fin_ = false;
    Opcode op_ = Opcode::continuation;
    std::uint64_t remaining_ = 0;
    std::array<std::uint8_t, 4> mask_{};
    std::size_t mask_at_ = 0;
    std::string control_;  // a control frame's payload (<= 125 bytes)

    // The message being reassembled.
    bool in_message_ = false;
    Opcode message_op_ = Opcode::text;
    std::string message_;
    Utf8Validator utf8_;
};

}  // namespace wa::ws
