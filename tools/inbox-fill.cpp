// inbox-fill: bench/inbox's store, written straight through the domain
// (save_conversation, add_message): what the inbox reads, without the
// webhook in front (bench/inbound measures that path) or events behind.
//
//   inbox-fill STORE TENANT E164 PHONE_NUMBER_ID CONVERSATIONS MESSAGES IDS_OUT [AGE_S]
//
// AGE_S: the messages were made that many seconds ago (their UUIDv7 ids
// say so too), for bench/retention's prune.
// Conversation n is "Customer n" at +1555<n, 7 digits>; every 10th is
// closed, every 7th pending_customer, every 3rd in ai mode, every 20th
// assigned to "ada". Messages alternate inbound and outbound, the newest
// conversation last; all are read (a get stays a read). IDS_OUT gets every conversation's conv_ id,
// one per line. Safe while nginx has the store open (LMDB's writer lock). Exit status: 0 ok, 1
// error, 2 usage.
#include <charconv>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/ids.hpp"
#include "domain/inbox.hpp"
#include "store/store.hpp"

namespace {

using namespace wa;

constexpr std::size_t kPerTxn = 1000;  // conversations per write transaction

bool number(std::string_view s, std::size_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

Conversation conversation(std::size_t n, std::string_view tenant, std::string_view e164,
                          std::string_view pnid, std::int64_t at_ns) {
    Conversation c;
    c.id = uuid_v7_now();
    c.tenant = tenant;
    c.business_number = e164;
    c.phone_number_id = pnid;
    char phone[32];
    std::snprintf(phone, sizeof(phone), "+1555%07zu", n);
    c.customer = phone;
    c.customer_name = "Customer " + std::to_string(n);
    c.created_at_ns = at_ns;
    c.status = n % 10 == 0 ? "closed" : n % 7 == 0 ? "pending_customer" : "open";
    c.mode = n % 3 == 0 ? "ai" : "human";
    if (n % 20 == 0) c.assignee = "ada";
    return c;
}

// A new id whose time is at_ns (uuid_v7 never goes back within a process).
Uuid id_at(std::int64_t at_ns) {
    Uuid u = uuid_v7_now();
    std::int64_t ms = at_ns / kNsPerMs;
    for (int i = 0; i < 6; i++)
        u[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
    return u;
}

Result<void> fill_one(Txn& txn, Conversation& c, std::size_t messages, std::int64_t at_ns) {
    for (std::size_t i = 0; i < messages; i++) {
        Message m;
        m.id = id_at(at_ns);
        m.conversation_id = c.id;
        m.direction = i % 2 == 0 ? Direction::inbound : Direction::outbound;
        m.type = "text";
        m.text = "message " + std::to_string(i) + " of " + c.customer_name;
        m.content_json = R"({"type":"text","text":"message"})";
        m.created_at_ns = at_ns + static_cast<std::int64_t>(i);
        m.status = m.direction == Direction::outbound ? "delivered" : "";
        m.wamid = "wamid.fill." + uuid_to_string(m.id);
        if (auto r = add_message(txn, c, m); !r) return r;
        if (auto r = txn.put(Db::wamids, wamid_key(m.wamid), key_of(m.id)); !r) return r;
        if (m.direction == Direction::inbound) {
            c.last_inbound_at_ns = m.created_at_ns;
            c.last_inbound_ts = m.created_at_ns / kNsPerSec;
            c.window_expires_at_ns = m.created_at_ns + 24 * 3600 * kNsPerSec;
        } else {
            c.last_outbound_at_ns = m.created_at_ns;
        }
    }
    if (auto r =
            txn.put(Db::conversation_pair, pair_key(c.business_number, c.customer), key_of(c.id));
        !r) {
        return r;
    }
    return save_conversation(txn, c);
}

int fail(const Error& e) {
    std::fprintf(stderr, "inbox-fill: %s\n", e.message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t conversations = 0, messages = 0;
    std::size_t age_s = 0;
    if ((argc != 8 && argc != 9) || !number(argv[5], conversations) || !number(argv[6], messages) ||
        conversations == 0 || (argc == 9 && !number(argv[8], age_s))) {
        std::fprintf(stderr,
                     "usage: inbox-fill STORE TENANT E164 PHONE_NUMBER_ID CONVERSATIONS "
                     "MESSAGES IDS_OUT [AGE_S]\n");
        return 2;
    }
    Store::Options opts;
    opts.path = argv[1];
    opts.map_size = 0;  // the size nginx gave it
    auto store = Store::open(opts);
    if (!store) return fail(store.error());
    std::ofstream ids(argv[7]);
    std::size_t per = messages / conversations, extra = messages % conversations;
    std::int64_t start = now_ns() - static_cast<std::int64_t>(age_s) * kNsPerSec -
                         static_cast<std::int64_t>(conversations) * 1000;
    for (std::size_t first = 0; first < conversations; first += kPerTxn) {
        auto txn = (*store)->begin_write();
        if (!txn) return fail(txn.error());
        for (std::size_t n = first; n < conversations && n < first + kPerTxn; n++) {
            std::int64_t at = start + static_cast<std::int64_t>(n) * 1000;
            Conversation c = conversation(n, argv[2], argv[3], argv[4], at);
            if (auto r = fill_one(*txn, c, per + (n < extra ? 1 : 0), at); !r) {
                return fail(r.error());
            }
            ids << typeid_encode("conv", c.id) << '\n';
        }
        if (auto r = txn->commit(); !r) return fail(r.error());
    }
    return ids.good() ? 0 : 1;
}
