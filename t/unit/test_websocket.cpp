// websocket.hpp: RFC 6455's handshake keys, the server's frames, and the
// client frame parser: reassembly, interleaved control frames, every
// protocol error with the close code it calls for, and any split of the
// input giving the same events.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/websocket.hpp"

namespace {

using wa::ws::Event;
using wa::ws::Opcode;
using wa::ws::Parser;
using Kind = wa::ws::Event::Kind;

constexpr std::array<std::uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};

std::string bytes(std::initializer_list<int> b) {
    std::string out;
    for (int c : b)
        out.push_back(static_cast<char>(c));
    return out;
}

// A masked client frame.
std::string client(Opcode op, std::string_view payload, bool fin = true) {
    return wa::ws::encode_client_frame(op, payload, kMask, fin);
}

std::vector<Event> parse(std::string_view input, std::size_t max = wa::ws::kDefaultMaxMessage) {
    Parser p(max);
    std::vector<Event> out;
    p.feed(input, out);
    return out;
}

std::vector<Event> parse_bytewise(std::string_view input,
                                  std::size_t max = wa::ws::kDefaultMaxMessage) {
    Parser p(max);
    std::vector<Event> out;
    for (char c : input)
        p.feed(std::string_view(&c, 1), out);
    return out;
}

// The one event input gives, which must be an error: its close code.
std::uint16_t error_code(std::string_view input, std::size_t max = wa::ws::kDefaultMaxMessage) {
    auto events = parse(input, max);
    EXPECT_EQ(parse_bytewise(input, max), events);
    if (events.empty() || events.back().kind != Kind::error) {
        ADD_FAILURE() << "no error";
        return 0;
    }
    EXPECT_FALSE(events.back().reason.empty());
    return events.back().code;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p = bytes({code >> 8, code & 0xFF});
    p.append(reason);
    return p;
}

// -- handshake ------------------------------------------------------------------------------

TEST(WebSocketHandshake, AcceptKeyRfc6455Example) {
    EXPECT_EQ(wa::ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_EQ(wa::ws::accept_key("  dGhlIHNhbXBsZSBub25jZQ== "), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, ClientKeyIsBase64OfSixteenBytes) {
    EXPECT_TRUE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_TRUE(wa::ws::valid_client_key(" \tdGhlIHNhbXBsZSBub25jZQ==  "));
    EXPECT_TRUE(wa::ws::valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
    EXPECT_FALSE(wa::ws::valid_client_key(""));
    EXPECT_FALSE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub25jZQ"));      // unpadded
    EXPECT_FALSE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));     // 23 characters
    EXPECT_FALSE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub25jZWU="));    // 17 bytes
    EXPECT_FALSE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub25j"));        // 15 bytes
    EXPECT_FALSE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub25jZQ==dG"));  // trailing data
    EXPECT_FALSE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub25j*Q=="));    // not base64
    EXPECT_FALSE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub2 5jZQ=="));   // inner space
    EXPECT_FALSE(wa::ws::valid_client_key("dGhlIHNhbXBsZSBub25jZQ-_"));    // URL alphabet
}

// -- server frames --------------------------------------------------------------------------

TEST(WebSocketEncode, Rfc6455UnmaskedExamples) {
    // §5.7: a single-frame unmasked text message and an unmasked ping.
    EXPECT_EQ(wa::ws::encode_frame(Opcode::text, "Hello"),
              bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    EXPECT_EQ(wa::ws::encode_frame(Opcode::ping, "Hello"),
              bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    EXPECT_EQ(wa::ws::encode_frame(Opcode::pong, ""), bytes({0x8a, 0x00}));
}

TEST(WebSocketEncode, LengthsIn7And16And64Bits) {
    std::string f = wa::ws::encode_frame(Opcode::binary, std::string(125, 'x'));
    EXPECT_EQ(f.substr(0, 2), bytes({0x82, 125}));
    EXPECT_EQ(f.size(), 2u + 125);

    f = wa::ws::encode_frame(Opcode::binary, std::string(126, 'x'));
    EXPECT_EQ(f.substr(0, 4), bytes({0x82, 126, 0x00, 126}));
    EXPECT_EQ(f.size(), 4u + 126);

    f = wa::ws::encode_frame(Opcode::text, std::string(65535, 'x'));
    EXPECT_EQ(f.substr(0, 4), bytes({0x81, 126, 0xff, 0xff}));
    EXPECT_EQ(f.size(), 4u + 65535);

    f = wa::ws::encode_frame(Opcode::text, std::string(65536, 'x'));
    EXPECT_EQ(f.substr(0, 10), bytes({0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
    EXPECT_EQ(f.size(), 10u + 65536);
    EXPECT_EQ(f.substr(10), std::string(65536, 'x'));
}

TEST(WebSocketEncode, ControlPayloadCutTo125) {
    std::string f = wa::ws::encode_frame(Opcode::ping, std::string(200, 'p'));
    EXPECT_EQ(f, bytes({0x89, 125}) + std::string(125, 'p'));
}

TEST(WebSocketEncode, Close) {
    EXPECT_EQ(wa::ws::encode_close(1000), bytes({0x88, 0x02, 0x03, 0xe8}));
    EXPECT_EQ(wa::ws::encode_close(1013, "slow"),
              bytes({0x88, 0x06, 0x03, 0xf5, 's', 'l', 'o', 'w'}));
    // 1005 means "no code": never on the wire.
    EXPECT_EQ(wa::ws::encode_close(1005, "ignored"), bytes({0x88, 0x00}));
}

TEST(WebSocketEncode, CloseReasonCutAtAUtf8Boundary) {
    // 122 ASCII bytes then a 3-byte euro sign: 125 bytes would cut it, so it goes.
    std::string reason = std::string(122, 'r') + "\xE2\x82\xAC" + "tail";
    std::string f = wa::ws::encode_close(1001, reason);
    ASSERT_EQ(f.size(), 2u + 2 + 122);
    EXPECT_EQ(f.substr(0, 4), bytes({0x88, 124, 0x03, 0xe9}));
    EXPECT_EQ(f.substr(4), std::string(122, 'r'));
    // Exactly 123 bytes of reason fit.
    f = wa::ws::encode_close(1000, std::string(120, 'r') + "\xE2\x82\xAC" + "x");
    EXPECT_EQ(f.size(), 2u + 125);
    EXPECT_EQ(f.substr(4), std::string(120, 'r') + "\xE2\x82\xAC");
    // What the server sends parses as the close it is, reason intact.
    Parser p;
    std::vector<Event> out;
    std::string masked = client(Opcode::close, f.substr(2));
    p.feed(masked, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code, 1000);
    EXPECT_EQ(out[0].reason, std::string(120, 'r') + "\xE2\x82\xAC");
}

TEST(WebSocketEncode, ClientFrameMasks) {
    // §5.7: a single-frame masked text message.
    EXPECT_EQ(client(Opcode::text, "Hello"),
              bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

// -- parser ---------------------------------------------------------------------------------

TEST(WebSocketParser, Rfc6455MaskedExamples) {
    auto events = parse(bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, Kind::message);
    EXPECT_EQ(events[0].opcode, Opcode::text);
    EXPECT_EQ(events[0].payload, "Hello");

    // §5.7's fragmented "Hel" + "lo", masked here (clients must mask).
    events = parse(client(Opcode::text, "Hel", false) + client(Opcode::continuation, "lo"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].payload, "Hello");
}

TEST(WebSocketParser, BinaryWith16And64BitLengths) {
    std::string mid(300, '\0'), big(70000, '\0');
    for (std::size_t i = 0; i < big.size(); i++)
        big[i] = static_cast<char>(i * 7);
    for (std::size_t i = 0; i < mid.size(); i++)
        mid[i] = static_cast<char>(255 - i);
    auto events = parse(client(Opcode::binary, mid) + client(Opcode::binary, big));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].opcode, Opcode::binary);
    EXPECT_EQ(events[0].payload, mid);
    EXPECT_EQ(events[1].payload, big);
}

TEST(WebSocketParser, EmptyMessages) {
    auto events = parse(client(Opcode::text, "") + client(Opcode::binary, "", false) +
                        client(Opcode::continuation, ""));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0], (Event{Kind::message, Opcode::text, "", 0, ""}));
    EXPECT_EQ(events[1], (Event{Kind::message, Opcode::binary, "", 0, ""}));
}

TEST(WebSocketParser, ControlFramesBetweenFragments) {
    std::string in = client(Opcode::text, "one ", false) + client(Opcode::ping, "are you there") +
                     client(Opcode::continuation, "two ", false) + client(Opcode::pong, "") +
                     client(Opcode::continuation, "three") + client(Opcode::text, "next");
    auto events = parse(in);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0], (Event{Kind::ping, Opcode::ping, "are you there", 0, ""}));
    EXPECT_EQ(events[1], (Event{Kind::pong, Opcode::pong, "", 0, ""}));
    EXPECT_EQ(events[2], (Event{Kind::message, Opcode::text, "one two three", 0, ""}));
    EXPECT_EQ(events[3], (Event{Kind::message, Opcode::text, "next", 0, ""}));
}

TEST(WebSocketParser, AnySplitGivesTheSameEvents) {
    std::string big(70000, 'b');
    std::string in = client(Opcode::text, "caf\xC3", false) + client(Opcode::ping, "p") +
                     client(Opcode::continuation, "\xA9 ok") + client(Opcode::binary, big) +
                     client(Opcode::binary, std::string(300, 'm'), false) +
                     client(Opcode::continuation, "!") +
                     client(Opcode::close, close_payload(1000, "bye"));
    auto whole = parse(in);
    ASSERT_EQ(whole.size(), 5u);
    EXPECT_EQ(whole[1].payload, "caf\xC3\xA9 ok");
    EXPECT_EQ(whole[2].payload, big);
    EXPECT_EQ(whole[3].payload, std::string(300, 'm') + "!");
    EXPECT_EQ(whole[4], (Event{Kind::close, Opcode::close, "", 1000, "bye"}));
    EXPECT_EQ(parse_bytewise(in), whole);
    for (std::size_t chunk : {2u, 3u, 5u, 7u, 126u, 4096u}) {
        Parser p;
        std::vector<Event> out;
        for (std::size_t i = 0; i < in.size(); i += chunk)
            p.feed(std::string_view(in).substr(i, chunk), out);
        EXPECT_EQ(out, whole) << chunk;
    }
}

TEST(WebSocketParser, IncompleteFrameWaits) {
    std::string f = client(Opcode::text, "hello");
    Parser p;
    std::vector<Event> out;
    p.feed(std::string_view(f).substr(0, f.size() - 1), out);
    EXPECT_TRUE(out.empty());
    EXPECT_FALSE(p.finished());
    p.feed(std::string_view(f).substr(f.size() - 1), out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, "hello");
}

TEST(WebSocketParser, Close) {
    auto events = parse(client(Opcode::close, ""));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0], (Event{Kind::close, Opcode::close, "", 1005, ""}));

    events = parse(client(Opcode::close, close_payload(1001, "going \xC3\xA0 bed")));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].code, 1001);
    EXPECT_EQ(events[0].reason, "going \xC3\xA0 bed");
}

TEST(WebSocketParser, ValidCloseCodes) {
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                     3999, 4000, 4999}) {
        auto events = parse(client(Opcode::close, close_payload(static_cast<std::uint16_t>(code))));
        ASSERT_EQ(events.size(), 1u) << code;
        EXPECT_EQ(events[0].kind, Kind::close) << code;
        EXPECT_EQ(events[0].code, code);
    }
}

TEST(WebSocketParser, NothingAfterCloseOrError) {
    Parser p;
    std::vector<Event> out;
    p.feed(client(Opcode::close, close_payload(1000)) + client(Opcode::text, "late"), out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(p.finished());
    p.feed(client(Opcode::text, "later"), out);
    EXPECT_EQ(out.size(), 1u);

    Parser q;
    out.clear();
    q.feed(bytes({0x81, 0x05}) + "hello" + client(Opcode::text, "x"), out);  // unmasked
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, Kind::error);
    q.feed(client(Opcode::text, "x"), out);
    EXPECT_EQ(out.size(), 1u);
}

TEST(WebSocketParser, EventsBeforeAnErrorStay) {
    auto events = parse(client(Opcode::text, "fine") + client(Opcode::ping, "p") +
                        client(Opcode::continuation, "bad"));
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].payload, "fine");
    EXPECT_EQ(events[1].kind, Kind::ping);
    EXPECT_EQ(events[2], (Event{Kind::error, Opcode::continuation, "", 1002,
                                "continuation frame without a message"}));
}

// -- 1002 -----------------------------------------------------------------------------------

TEST(WebSocketParser, UnmaskedClientFrame) {
    EXPECT_EQ(error_code(wa::ws::encode_frame(Opcode::text, "Hello")), 1002);
    EXPECT_EQ(error_code(wa::ws::encode_frame(Opcode::ping, "")), 1002);
}

TEST(WebSocketParser, RsvBits) {
    for (int rsv : {0x40, 0x20, 0x10}) {
        std::string f = client(Opcode::text, "x");
        f[0] = static_cast<char>(f[0] | rsv);
        EXPECT_EQ(error_code(f), 1002) << rsv;
    }
}

TEST(WebSocketParser, UnknownOpcodes) {
    for (int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
        std::string f = client(Opcode::text, "x");
        f[0] = static_cast<char>(0x80 | op);
        EXPECT_EQ(error_code(f), 1002) << op;
    }
}

TEST(WebSocketParser, ControlFrameOver125Bytes) {
    // 126 bytes need the 16-bit length: refused at the second byte.
    EXPECT_EQ(error_code(client(Opcode::ping, std::string(126, 'p'))), 1002);
    EXPECT_EQ(error_code(bytes({0x89, 0xFE})), 1002);
    EXPECT_EQ(error_code(client(Opcode::close, close_payload(1000, std::string(124, 'r')))), 1002);
    auto events = parse(client(Opcode::ping, std::string(125, 'p')));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].payload, std::string(125, 'p'));
}

TEST(WebSocketParser, FragmentedControlFrame) {
    EXPECT_EQ(error_code(client(Opcode::ping, "p", false)), 1002);
    EXPECT_EQ(error_code(client(Opcode::close, close_payload(1000), false)), 1002);
}

TEST(WebSocketParser, ContinuationWithoutAMessage) {
    EXPECT_EQ(error_code(client(Opcode::continuation, "x")), 1002);
    // The message ended with FIN: no continuation may follow.
    EXPECT_EQ(error_code(client(Opcode::text, "a") + client(Opcode::continuation, "b")), 1002);
}

TEST(WebSocketParser, NewMessageInsideAFragmentedOne) {
    EXPECT_EQ(error_code(client(Opcode::text, "a", false) + client(Opcode::text, "b")), 1002);
    EXPECT_EQ(error_code(client(Opcode::binary, "a", false) + client(Opcode::ping, "") +
                         client(Opcode::binary, "b")),
              1002);
}

TEST(WebSocketParser, SixtyFourBitLengthWithTopBit) {
    EXPECT_EQ(error_code(bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1})), 1002);
}

TEST(WebSocketParser, CloseWithOneBytePayload) {
    EXPECT_EQ(error_code(client(Opcode::close, "\x03")), 1002);
}

TEST(WebSocketParser, InvalidCloseCodes) {
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        EXPECT_EQ(
            error_code(client(Opcode::close, close_payload(static_cast<std::uint16_t>(code)))),
            1002)
            << code;
    }
}

// -- 1007 -----------------------------------------------------------------------------------

TEST(WebSocketParser, TextNotUtf8) {
    EXPECT_EQ(error_code(client(Opcode::text, "bad \xC0\xAF")), 1007);
    EXPECT_EQ(error_code(client(Opcode::text, "\xED\xA0\x80")), 1007);  // a surrogate
    // Ends inside a sequence, across fragments.
    EXPECT_EQ(
        error_code(client(Opcode::text, "ok \xE2\x82", false) + client(Opcode::continuation, "")),
        1007);
    // A code point split across fragments is fine.
    auto events =
        parse(client(Opcode::text, "\xE2", false) + client(Opcode::continuation, "\x82", false) +
              client(Opcode::continuation, "\xAC"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].payload, "\xE2\x82\xAC");
    // Binary is not text.
    events = parse(client(Opcode::binary, "\xC0\xAF"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, Kind::message);
}

TEST(WebSocketParser, InvalidTextFailsBeforeTheMessageEnds) {
    // The first fragment alone is enough: no continuation has come.
    Parser p;
    std::vector<Event> out;
    p.feed(client(Opcode::text, "abc\xFF", false), out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code, 1007);
    // Within one frame, before its payload is complete.
    std::string f = client(Opcode::text, "\xF5" + std::string(1000, 'x'));
    Parser q;
    out.clear();
    q.feed(std::string_view(f).substr(0, 10), out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code, 1007);
}

TEST(WebSocketParser, CloseReasonNotUtf8) {
    EXPECT_EQ(error_code(client(Opcode::close, close_payload(1000, "bye \xFF"))), 1007);
}

// -- 1009 -----------------------------------------------------------------------------------

TEST(WebSocketParser, MessageOverTheCap) {
    EXPECT_EQ(error_code(client(Opcode::binary, std::string(11, 'x')), 10), 1009);
    // The fragments add up.
    EXPECT_EQ(
        error_code(client(Opcode::text, "123456", false) + client(Opcode::continuation, "7890a"),
                   10),
        1009);
    // Exactly the cap is fine.
    auto events =
        parse(client(Opcode::text, "12345", false) + client(Opcode::continuation, "67890"), 10);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].payload, "1234567890");
    // Control frames do not count.
    events = parse(client(Opcode::text, "123456789", false) + client(Opcode::ping, "0123456789") +
                       client(Opcode::continuation, "0"),
                   10);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].payload, "1234567890");
}

TEST(WebSocketParser, TooBigDecidedFromTheDeclaredLength) {
    // 2^40 bytes declared: refused at the length, before the mask or any payload.
    Parser p;
    std::vector<Event> out;
    p.feed(bytes({0x82, 0xFF, 0, 0, 0x01, 0, 0, 0, 0, 0}), out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code, 1009);
    // The default cap is 1 MiB: one byte over, declared in 64 bits.
    out.clear();
    Parser q;
    q.feed(bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0x01}), out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code, 1009);
    // 1 MiB itself is accepted (and waits for its payload).
    out.clear();
    Parser r;
    r.feed(bytes({0x81, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0x00, 1, 2, 3, 4}), out);
    EXPECT_TRUE(out.empty());
    EXPECT_FALSE(r.finished());
}

}  // namespace
