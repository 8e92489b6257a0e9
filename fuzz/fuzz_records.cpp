// libFuzzer target: decode_conversation / decode_message (and its head) / decode_event /
// decode_idempotency / decode_scheduled
// (records.hpp). Store bytes can be corrupt (disk, a bug, an old version):
// decoding must never crash or over-read, only fail with "store_corrupt".
// When it succeeds, encoding the record again gives the same bytes
// (exactly, for a record of the version encode() writes; otherwise a
// fixed point after one re-encoding). The second half builds records from
// the input and checks decode(encode(r)) round trips.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "store/records.hpp"

namespace {

template <class Decode>
void check_decoded(std::string_view bytes, Decode decode) {
    auto r = decode(bytes);
    if (!r) {
        FUZZ_CHECK(r.error().code == "store_corrupt");
        FUZZ_CHECK(!r.error().message.empty());
        return;
    }
    std::string again = wa::encode(*r);
    FUZZ_CHECK(!again.empty());
    if (again[0] == bytes[0]) {  // same record version
        FUZZ_CHECK(again == bytes);
    }
    auto r2 = decode(again);
    FUZZ_CHECK(r2.ok());
    FUZZ_CHECK(wa::encode(*r2) == again);
}

wa::Uuid uuid(FuzzedDataProvider& in) {
    wa::Uuid u{};
    for (auto& b : u) {
        b = in.ConsumeIntegral<std::uint8_t>();
    }
    return u;
}

std::string str(FuzzedDataProvider& in) { return in.ConsumeRandomLengthString(64); }

template <class T, class Decode>
void check_round_trip(const T& record, Decode decode) {
    std::string bytes = wa::encode(record);
    auto r = decode(bytes);
    FUZZ_CHECK(r.ok());
    FUZZ_CHECK(wa::encode(*r) == bytes);
    // Any strict prefix is truncated, never accepted.
    FUZZ_CHECK(!decode(std::string_view(bytes).substr(0, bytes.size() - 1)).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);

    check_decoded(bytes, wa::decode_conversation);
    check_decoded(bytes, wa::decode_message);
    check_decoded(bytes, wa::decode_event);
    check_decoded(bytes, wa::decode_idempotency);
    check_decoded(bytes, wa::decode_scheduled);
    // A message's head reads its first fields as the whole decode does.
    auto head = wa::decode_message_head(bytes);
    if (auto m = wa::decode_message(bytes); m) {
        FUZZ_CHECK(head.ok() && head->id == m->id && head->direction == m->direction &&
                   head->conversation_id == m->conversation_id && head->wamid == m->wamid);
    }

    FuzzedDataProvider in(data, size);

    wa::Conversation c;
    c.id = uuid(in);
    c.business_number = str(in);
    c.customer = str(in);
    c.customer_name = str(in);
    c.created_at_ns = in.ConsumeIntegral<std::int64_t>();
    c.next_event_seq = in.ConsumeIntegral<std::uint64_t>();
    c.unread_count = in.ConsumeIntegral<std::uint32_t>();
    c.assignee = str(in);
    check_round_trip(c, wa::decode_conversation);

    wa::Message m;
    m.id = uuid(in);
    m.direction = in.ConsumeBool() ? wa::Direction::inbound : wa::Direction::outbound;
    m.wamid = str(in);
    m.text = str(in);
    m.content_json = str(in);
    m.meta_timestamp = in.ConsumeIntegral<std::int64_t>();
    m.status = str(in);
    m.reply_to = str(in);
    check_round_trip(m, wa::decode_message);

    wa::Event e;
    e.id = uuid(in);
    e.seq = in.ConsumeIntegral<std::uint64_t>();
    e.body = str(in);
    e.state = static_cast<wa::EventState>(in.ConsumeIntegralInRange<int>(1, 3));
    e.attempts = in.ConsumeIntegral<std::uint32_t>();
    e.last_status = in.ConsumeIntegral<std::int32_t>();
    e.lease_until_ns = in.ConsumeIntegral<std::int64_t>();
    e.last_error = str(in);
    check_round_trip(e, wa::decode_event);

    wa::ScheduledSend s;
    s.due_ns = in.ConsumeIntegral<std::int64_t>();
    s.expires_at_ns = in.ConsumeIntegral<std::int64_t>();
    s.attempts = in.ConsumeIntegral<std::uint32_t>();
    s.graph_body = in.ConsumeRemainingBytesAsString();
    check_round_trip(s, wa::decode_scheduled);
    return 0;
}
