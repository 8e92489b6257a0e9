// libFuzzer target: the WebSocket frame parser (api/websocket.hpp). The
// first byte picks the message cap, the second seeds the split points; the
// rest is the client's byte stream. Fed in chunks whose sizes come from the
// stream's own bytes, a Parser must give exactly the events of one fed all
// at once; every event holds its promises (a message within the cap, text
// that is UTF-8, a control payload of at most 125 bytes, a close code
// §7.4 allows or 1005, an error code of 1002/1007/1009 with a reason,
// nothing after a close or an error). Then the stream is sent again as the
// payload of a masked client message, fragmented at the same points,
// which must come back whole; and the server's own (unmasked) frame of it
// must be refused with 1002.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/websocket.hpp"
#include "base/text.hpp"
#include "fuzz_check.hpp"

namespace {

using wa::ws::Event;
using wa::ws::Opcode;
using Kind = wa::ws::Event::Kind;

// The length of the chunk at pos: 1-64 bytes, from the stream and the seed.
std::size_t chunk_at(std::string_view in, std::size_t pos, std::uint8_t seed) {
    return 1 + (static_cast<std::uint8_t>(in[pos]) ^ seed) % 64;
}

bool valid_close_code(std::uint16_t c) {
    return c == 1005 || (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
           (c >= 3000 && c <= 4999);
}

void check_events(const std::vector<Event>& events, std::size_t max, bool finished) {
    for (std::size_t i = 0; i < events.size(); i++) {
        const Event& e = events[i];
        const bool last = i + 1 == events.size();
        switch (e.kind) {
            case Kind::message:
                FUZZ_CHECK(e.opcode == Opcode::text || e.opcode == Opcode::binary);
                FUZZ_CHECK(e.payload.size() <= max);
                if (e.opcode == Opcode::text) FUZZ_CHECK(wa::utf8_valid(e.payload));
                break;
            case Kind::ping:
            case Kind::pong: FUZZ_CHECK(e.payload.size() <= wa::ws::kMaxControlPayload); break;
            case Kind::close:
                FUZZ_CHECK(last);
                FUZZ_CHECK(valid_close_code(e.code));
                FUZZ_CHECK(wa::utf8_valid(e.reason));
                FUZZ_CHECK(e.reason.size() <= wa::ws::kMaxControlPayload - 2);
                break;
            case Kind::error:
                FUZZ_CHECK(last);
                FUZZ_CHECK(e.code == 1002 || e.code == 1007 || e.code == 1009);
                FUZZ_CHECK(!e.reason.empty());
                break;
        }
    }
    const bool ended =
        !events.empty() && (events.back().kind == Kind::close || events.back().kind == Kind::error);
    FUZZ_CHECK(ended == finished);
}

// The stream as one masked message, fragmented where the chunks end.
void round_trip(std::string_view in, std::size_t max, std::uint8_t seed) {
    const std::array<std::uint8_t, 4> mask = {seed, static_cast<std::uint8_t>(seed * 7 + 1),
                                              static_cast<std::uint8_t>(seed ^ 0x5a), 0xc3};
    std::string wire;
    Opcode op = Opcode::binary;
    std::size_t pos = 0;
    do {
        std::size_t n = in.empty() ? 0 : std::min(chunk_at(in, pos, seed), in.size() - pos);
        const bool fin = pos + n == in.size();
        wire += wa::ws::encode_client_frame(op, in.substr(pos, n), mask, fin);
        if (!fin && (static_cast<std::uint8_t>(in[pos]) & 1)) {
            wire += wa::ws::encode_client_frame(
                Opcode::ping, in.substr(pos, std::min<std::size_t>(n, 125)), mask);
        }
        op = Opcode::continuation;
        pos += n;
    } while (pos < in.size());

    wa::ws::Parser p(max);
    std::vector<Event> events;
    p.feed(wire, events);
    FUZZ_CHECK(!events.empty());
    const Event& last = events.back();
    if (in.size() > max) {
        FUZZ_CHECK(last.kind == Kind::error && last.code == 1009);
        return;
    }
    FUZZ_CHECK(last.kind == Kind::message && last.opcode == Opcode::binary);
    FUZZ_CHECK(last.payload == in);
    for (std::size_t i = 0; i + 1 < events.size(); i++)
        FUZZ_CHECK(events[i].kind == Kind::ping);
    FUZZ_CHECK(!p.finished());

    // What the server writes is not a client frame.
    wa::ws::Parser q(max);
    std::vector<Event> refused;
    q.feed(wa::ws::encode_frame(Opcode::binary, in), refused);
    FUZZ_CHECK(refused.size() == 1 && refused[0].kind == Kind::error && refused[0].code == 1002);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    static constexpr std::size_t kCaps[] = {0, 1, 5, 125, 126, 65536, wa::ws::kDefaultMaxMessage};
    const std::size_t max = kCaps[data[0] % (sizeof(kCaps) / sizeof(kCaps[0]))];
    const std::uint8_t seed = data[1];
    std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

    wa::ws::Parser whole(max);
    std::vector<Event> all;
    whole.feed(in, all);
    check_events(all, max, whole.finished());

    wa::ws::Parser chunked(max);
    std::vector<Event> pieces;
    for (std::size_t pos = 0; pos < in.size();) {
        std::size_t n = std::min(chunk_at(in, pos, seed), in.size() - pos);
        chunked.feed(in.substr(pos, n), pieces);
        pos += n;
    }
    FUZZ_CHECK(pieces == all);
    FUZZ_CHECK(chunked.finished() == whole.finished());

    round_trip(in, max, seed);
    return 0;
}
