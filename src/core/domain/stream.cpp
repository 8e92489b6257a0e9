#include "domain/stream.hpp"

#include <cstdio>

#include "domain/conversations.hpp"
#include "domain/inbox.hpp"

namespace wa {

namespace {

constexpr std::size_t kStampBytes = 8;

std::string stream_key(std::string_view tenant, std::int64_t stamp) {
    std::string k(tenant);
    k.push_back('\0');
    return k + time_key(stamp, {});
}

// The tenant part of a key (tenant '\0' stamp); empty when malformed.
std::string_view tenant_of_key(std::string_view key) {
    if (key.size() < kStampBytes + 1 || key[key.size() - kStampBytes - 1] != '\0') return {};
    return key.substr(0, key.size() - kStampBytes - 1);
}

std::int64_t stamp_of_key(std::string_view key) {
    return time_of_key(key.substr(key.size() - kStampBytes));
}

Result<std::int64_t> put_entry(Txn& txn, std::string_view tenant, std::int64_t stamp,
                               const StreamEntry& e) {
    if (auto r = txn.put(Db::stream, stream_key(tenant, stamp), encode(e)); !r) return r.error();
    return stamp;
}

}  // namespace

Result<std::int64_t> stream_inbound(Txn& txn, const Conversation& c, const Message& m) {
    StreamEntry e;
    e.kind = StreamKind::message;
    e.message = m.id;
    e.conversation = c.id;
    return put_entry(txn, c.tenant, m.created_at_ns, e);
}

Result<std::int64_t> stream_status(Txn& txn, const Conversation& c, const Message& m,
                                   std::int64_t now_ns) {
    auto stamp = next_stamp(txn, now_ns);
    if (!stamp) return stamp.error();
    StreamEntry e;
    e.kind = StreamKind::status;
    e.message = m.id;
    e.conversation = c.id;
    e.status = m.status;
    if (m.status == "failed") {
        e.error_code = m.error_code;
        e.error_title = m.error_title;
    }
    return put_entry(txn, c.tenant, *stamp, e);
}

std::string stream_event_id(std::int64_t stamp) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "se_%016llx",
                  static_cast<unsigned long long>(static_cast<std::uint64_t>(stamp)));
    return buf;
}

std::optional<std::int64_t> parse_stream_event_id(std::string_view id) {
    constexpr std::string_view prefix = "se_";
    if (id.size() != prefix.size() + 16 || id.substr(0, prefix.size()) != prefix) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char ch : id.substr(prefix.size())) {
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) return std::nullopt;
        v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(v);
}

Result<bool> stream_has(Txn& txn, std::string_view tenant, std::int64_t stamp) {
    auto got = txn.get(Db::stream, stream_key(tenant, stamp));
    if (!got) return got.error();
    return got->has_value();
}

Result<std::vector<StreamItem>> stream_range(Txn& txn, std::string_view tenant, std::int64_t after,
                                             std::int64_t upto, std::size_t limit) {
    std::vector<StreamItem> out;
    if (after >= upto || limit == 0) return out;
    std::string prefix(tenant);
    prefix.push_back('\0');
    std::string from = stream_key(tenant, after + 1);
    Error failed{};
    bool bad = false;
    auto r = txn.scan(Db::stream, from, [&](const Txn::Entry& e) {
        if (e.key.size() != prefix.size() + kStampBytes ||
            e.key.substr(0, prefix.size()) != prefix) {
            return false;
        }
        std::int64_t stamp = stamp_of_key(e.key);
        if (stamp > upto) return false;
        auto entry = decode_stream_entry(e.value);
        if (!entry) {
            failed = entry.error();
            bad = true;
            return false;
        }
        out.push_back(StreamItem{stamp, std::move(*entry)});
        return out.size() < limit;
    });
    if (!r) return r.error();
    if (bad) return failed;
    return out;
}

Result<std::optional<StreamEvent>> load_stream_event(Txn& txn, const StreamItem& item) {
    auto bytes = txn.get(Db::messages, key_of(item.entry.message));
    if (!bytes) return bytes.error();
    if (!*bytes) return std::optional<StreamEvent>();
    auto msg = decode_message(**bytes);
    if (!msg) return msg.error();
    auto conv = load_conversation(txn, item.entry.conversation, "stream entry");
    if (!conv) return conv.error();
    return std::optional<StreamEvent>(
        StreamEvent{item.stamp, item.entry, std::move(*msg), std::move(*conv)});
}

Result<StreamPruneStep> prune_stream_before(Txn& txn, std::int64_t cutoff_ns, std::size_t limit,
                                            std::string& pos) {
    StreamPruneStep step;
    std::vector<std::string> doomed;
    std::string from = pos;
    std::size_t looked = 0;
    for (;;) {
        bool jumped = false;
        std::string next_from;
        auto r = txn.scan(Db::stream, from, [&](const Txn::Entry& e) {
            if (e.key == pos && !pos.empty()) return true;  // looked at before
            looked++;
            std::string_view tenant = tenant_of_key(e.key);
            if (!tenant.empty() && stamp_of_key(e.key) >= cutoff_ns) {
                // The rest of this tenant's stream is newer: on to the next tenant.
                next_from = std::string(tenant) + '\x01';
                jumped = true;
                return false;
            }
            doomed.emplace_back(e.key);
            pos.assign(e.key);
            return looked < limit;
        });
        if (!r) return r.error();
        if (!jumped) {
            step.done = looked < limit;
            break;
        }
        pos = next_from;
        from = next_from;
        if (looked >= limit) break;
    }
    for (const auto& k : doomed) {
        if (auto d = txn.del(Db::stream, k); !d) return d.error();
    }
    step.removed = doomed.size();
    return step;
}

}  // namespace wa
