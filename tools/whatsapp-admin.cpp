// whatsapp-admin: the operator's tool over the store and the keys file
// (SPEC §10.2). Every command is one row of kCommands (name, options,
// operands, help, handler); the usage text and the argument checks are
// made from that table, so a command cannot be documented one way and
// parsed another.
//
// Listings open the store read-only (one read snapshot); replay and prune
// open it read-write and take LMDB's writer lock for one batch at a time,
// so all of it is safe while nginx runs. The key commands need no store.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/messaging.hpp"
#include "base/clock.hpp"
#include "base/ids.hpp"
#include "base/json.hpp"
#include "domain/api_keys.hpp"
#include "domain/conversations.hpp"
#include "domain/inbox.hpp"
#include "domain/outbox.hpp"
#include "domain/retention.hpp"
#include "domain/send.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace {

using namespace wa;

constexpr int kOk = 0;
constexpr int kError = 1;
constexpr int kUsage = 2;
constexpr int kNotFound = 3;

constexpr std::size_t kDefaultLimit = 1000;
constexpr std::size_t kBatch = 1000;  // records per write transaction (replay, prune)

// -- the command line ------------------------------------------------------------------------

struct Option {
    std::string_view name;   // "--limit"
    std::string_view value;  // what the usage calls its value; empty: a flag
    bool required = false;
};

// One command line, checked against its command's row.
struct Call {
    std::string store;  // --store
    bool json = false;  // --json
    std::vector<std::pair<std::string_view, std::string_view>> options;
    std::vector<std::string_view> operands;

    // The option's value (last one given wins; "" for a flag); nullopt: not given.
    std::optional<std::string_view> get(std::string_view name) const {
        std::optional<std::string_view> v;
        for (const auto& [n, value] : options) {
            if (n == name) v = value;
        }
        return v;
    }
};

struct Command {
    std::string_view name;  // one or two words
    std::vector<Option> options;
    std::string_view operands;  // as the usage shows them; empty: none
    std::size_t min_operands = 0, max_operands = 0;
    bool store = true;  // needs --store
    std::string_view help;
    int (*run)(const Call&) = nullptr;
};

const std::vector<Command>& commands();

// "key create --tenant T ... [--name N] ..."
std::string synopsis(const Command& c) {
    std::string s(c.name);
    for (const Option& o : c.options) {
        std::string one(o.name);
        if (!o.value.empty()) one += " " + std::string(o.value);
        s += o.required ? " " + one : " [" + one + "]";
    }
    if (!c.operands.empty()) s += " " + std::string(c.operands);
    return s;
}

std::string usage_text() {
    std::string storeless;  // the groups of the commands that need no store
    for (const Command& c : commands()) {
        std::string group(c.name.substr(0, c.name.find(' ')));
        if (!c.store && storeless.find(group + " ...") == std::string::npos) {
            storeless += (storeless.empty() ? "" : ", ") + group + " ...";
        }
    }
    std::string out =
        "usage: whatsapp-admin [--store PATH] [--json] COMMAND [OPTIONS] [OPERANDS]\n"
        "\n"
        "  --store PATH  the whatsapp_store directory, needed by every command but " +
        storeless +
        "\n"
        "  --json        one JSON document on stdout instead of the text, for scripts\n"
        "                (every command; errors stay on stderr)\n"
        "  --help        this text\n"
        "\n"
        "commands:\n";
    for (const Command& c : commands()) {
        out += "  " + synopsis(c) + "\n";
        for (std::string_view help = c.help; !help.empty();) {
            std::size_t nl = help.find('\n');
            out += "      " + std::string(help.substr(0, nl)) + "\n";
            help.remove_prefix(nl == std::string_view::npos ? help.size() : nl + 1);
        }
    }
    out +=
        "\n"
        "exit status: 0 ok, 1 error (message on stderr), 2 usage, 3 not found (conversation\n"
        "show of an unknown id, key revoke of an unknown name)\n";
    return out;
}

int usage(const std::string& why = {}) {
    if (why.empty()) {
        std::fputs(usage_text().c_str(), stderr);
    } else {
        std::fprintf(stderr, "whatsapp-admin: %s (see whatsapp-admin --help)\n", why.c_str());
    }
    return kUsage;
}

int fail(const std::string& what) {
    std::fprintf(stderr, "whatsapp-admin: %s\n", what.c_str());
    return kError;
}

int fail(const std::string& what, const Error& e) { return fail(what + ": " + e.message); }

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// args against the row of command: the Call, or a usage message in why.
std::optional<Call> parse_call(const Command& command, const std::vector<std::string_view>& args,
                               std::string& why) {
    Call call;
    std::string name(command.name);
    for (std::size_t i = 0; i < args.size(); i++) {
        std::string_view a = args[i];
        if (!a.starts_with("-") || a == "-") {
            if (call.operands.size() == command.max_operands) {
                why = name + ": unexpected " + quoted(a);
                return std::nullopt;
            }
            call.operands.push_back(a);
            continue;
        }
        const Option* opt = nullptr;
        std::optional<std::string_view> value;
        for (const Option& o : command.options) {
            if (a == o.name) {
                opt = &o;
            } else if (!o.value.empty() && a.starts_with(o.name) && a[o.name.size()] == '=') {
                opt = &o;
                value = a.substr(o.name.size() + 1);
            }
        }
        if (opt == nullptr) {
            why = name + ": unknown option " + quoted(a);
            return std::nullopt;
        }
        if (!opt->value.empty() && !value && i + 1 < args.size()) value = args[++i];
        if (!opt->value.empty() && (!value || value->empty())) {
            why = std::string(opt->name) + " needs a value";
            return std::nullopt;
        }
        call.options.emplace_back(opt->name, value.value_or(""));
    }
    std::string required;
    bool missing = false;
    std::size_t n = 0;
    for (const Option& o : command.options) {
        if (!o.required) continue;
        required += (n++ == 0 ? "" : " and ") + std::string(o.name);
        missing = missing || !call.get(o.name);
    }
    if (missing) {
        why = name + ": " + required + (n > 1 ? " are required" : " is required");
        return std::nullopt;
    }
    if (call.operands.size() < command.min_operands) {
        why = name + ": " + std::string(command.operands) + " expected";
        return std::nullopt;
    }
    return call;
}

bool parse_count(std::string_view s, std::size_t& out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

// --limit N (default kDefaultLimit); false for a bad value.
bool read_limit(const Call& c, std::size_t& limit) {
    limit = kDefaultLimit;
    auto v = c.get("--limit");
    return !v || (parse_count(*v, limit) && limit > 0);
}

// What to ask a listing for: one more than shown, to tell whether it was cut.
std::size_t plus_one(std::size_t limit) { return limit == SIZE_MAX ? limit : limit + 1; }

// A listing asked for plus_one(limit): cut to limit; true when there was more.
template <class T>
bool cut(std::vector<T>& list, std::size_t limit, const char* what) {
    if (list.size() <= limit) return false;
    list.resize(limit);
    std::fprintf(stderr, "whatsapp-admin: more than %zu %s; use --limit\n", limit, what);
    return true;
}

// -- output ----------------------------------------------------------------------------------

// The end of a command's output: a failed write (a full disk, a closed pipe) is an error.
int flushed() { return std::fflush(stdout) == 0 ? kOk : fail("write output"); }

// A field of a tab-separated line: no tabs or line breaks, "-" when empty.
std::string field(std::string_view s) {
    if (s.empty()) return "-";
    std::string out(s);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    return out;
}

void row(std::initializer_list<std::string_view> fields) {
    std::string line;
    for (std::string_view f : fields)
        line += (line.empty() ? "" : "\t") + field(f);
    std::printf("%s\n", line.c_str());
}

std::string time_or_empty(std::int64_t ns) { return ns > 0 ? rfc3339_ns(ns) : std::string(); }

// One JSON document for stdout.
struct JsonDoc {
    rapidjson::StringBuffer sb;
    JsonWriter w{sb};

    void key(std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
    void str_or_null(std::string_view k, std::string_view v) {
        key(k);
        v.empty() ? w.Null() : w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    void number(std::string_view k, std::uint64_t v) {
        key(k);
        w.Uint64(v);
    }
    int print() {
        std::fwrite(sb.GetString(), 1, sb.GetSize(), stdout);
        std::fputc('\n', stdout);
        return flushed();
    }
};

// A listing: text rows, or with --json {"<name>":[objects],"more":bool},
// more telling that --limit cut it. The caller writes each row or object.
struct Listing {
    JsonDoc d;
    const Call& call;

    Listing(const Call& c, std::string_view name) : call(c) {
        d.w.StartObject();
        d.key(name);
        d.w.StartArray();
    }
    int finish(bool more) {
        d.w.EndArray();
        d.key("more");
        d.w.Bool(more);
        d.w.EndObject();
        return call.json ? d.print() : flushed();
    }
};

// "name value" lines, or one JSON object with those names.
using Figure = std::pair<std::string_view, std::variant<std::uint64_t, double>>;

int print_figures(const Call& c, const std::vector<Figure>& figures) {
    JsonDoc d;
    d.w.StartObject();
    for (const auto& [name, v] : figures) {
        if (c.json) {
            d.key(name);
            if (const auto* n = std::get_if<std::uint64_t>(&v)) {
                d.w.Uint64(*n);
            } else {
                d.w.Double(std::get<double>(v));
            }
        } else if (const auto* n = std::get_if<std::uint64_t>(&v)) {
            std::printf("%.*s %llu\n", static_cast<int>(name.size()), name.data(),
                        static_cast<unsigned long long>(*n));
        } else {
            std::printf("%.*s %.3f\n", static_cast<int>(name.size()), name.data(),
                        std::get<double>(v));
        }
    }
    d.w.EndObject();
    return c.json ? d.print() : flushed();
}

// -- the store -------------------------------------------------------------------------------

// map_size 0: LMDB takes the map size recorded in the file (the one nginx
// configured), so this tool neither shrinks nor grows the map under nginx.
Result<std::unique_ptr<Store>> open_store(const std::string& path, bool read_only) {
    // Never create a store by mistake: it must be there already.
    std::string data = path + "/data.mdb";
    struct stat st {};
    if (stat(data.c_str(), &st) != 0) {
        return make_error("store_error",
                          "no store at \"" + path + "\": " + data + ": " + std::strerror(errno));
    }
    Store::Options opts;
    opts.path = path;
    opts.map_size = 0;
    opts.read_only = read_only;
    return Store::open(opts);
}

// fn(Txn&) over one read snapshot of the store, opened read-only.
template <class Fn>
int reading(const Call& c, Fn&& fn) {
    auto store = open_store(c.store, true);
    if (!store) return fail("open store", store.error());
    auto txn = (*store)->begin_read();
    if (!txn) return fail("read", txn.error());
    return fn(*txn);
}

// -- events ----------------------------------------------------------------------------------

int events_dead(const Call& c) {
    std::size_t limit;
    if (!read_limit(c, limit)) return usage("--limit needs a positive number");
    return reading(c, [&](Txn& txn) {
        auto list = outbox_dead(txn, plus_one(limit));
        if (!list) return fail("list dead events", list.error());
        bool more = cut(*list, limit, "dead events");
        Listing out(c, "events");
        JsonDoc& d = out.d;
        for (const Event& e : *list) {
            std::string id = typeid_encode("evt", e.id), created = rfc3339_ns(e.created_at_ns);
            if (!c.json) {
                row({id, e.type, e.number, e.callback_url, std::to_string(e.attempts),
                     std::to_string(e.last_status), e.last_error, created});
                continue;
            }
            d.w.StartObject();
            json_put(d.w, "id", id);
            json_put(d.w, "type", e.type);
            json_put(d.w, "number", e.number);
            json_put(d.w, "callback_url", e.callback_url);
            d.number("attempts", e.attempts);
            d.key("last_status");
            d.w.Int(e.last_status);
            d.str_or_null("last_error", e.last_error);
            json_put(d.w, "created_at", created);
            d.w.EndObject();
        }
        return out.finish(more);
    });
}

int print_queued(const Call& c, std::size_t queued) {
    if (c.json) return print_figures(c, {{"queued", std::uint64_t{queued}}});
    std::printf("%zu queued again\n", queued);
    return flushed();
}

int events_replay(const Call& c) {
    bool all = c.get("--all").has_value();
    if (all == !c.operands.empty()) return usage("events replay: give evt_ ids or --all");
    std::vector<Uuid> uuids;
    for (std::string_view s : c.operands) {
        auto u = typeid_decode_as("evt", s);
        if (!u) return usage("not an evt_ id: " + quoted(s));
        uuids.push_back(*u);
    }
    auto store = open_store(c.store, false);
    if (!store) return fail("open store", store.error());
    DeliveryPolicy policy;  // replay needs no timings: the event is simply due now
    std::size_t queued = 0;

    if (all) {
        for (;;) {
            auto txn = (*store)->begin_write();
            if (!txn) return fail("begin write", txn.error());
            auto n = outbox_replay_all(*txn, policy, now_ns(), kBatch);
            if (!n) return fail("replay", n.error());
            if (*n == 0) break;
            if (auto r = txn->commit(); !r) return fail("commit", r.error());
            queued += *n;
        }
        return print_queued(c, queued);
    }

    // The listed ids in one transaction; ids that are not dead are reported.
    bool all_dead = true;
    auto txn = (*store)->begin_write();
    if (!txn) return fail("begin write", txn.error());
    std::int64_t now = now_ns();
    for (std::size_t i = 0; i < uuids.size(); i++) {
        std::string id(c.operands[i]);
        auto r = outbox_replay(*txn, uuids[i], policy, now);
        if (!r) return fail("replay " + id, r.error());
        if (*r) {
            queued++;
        } else {
            all_dead = false;
            std::fprintf(stderr, "whatsapp-admin: %s: not a dead event\n", id.c_str());
        }
    }
    if (queued > 0) {
        if (auto r = txn->commit(); !r) return fail("commit", r.error());
    }
    int rc = print_queued(c, queued);
    return rc == kOk && !all_dead ? kError : rc;
}

// -- stats, backup, prune --------------------------------------------------------------------

int stats(const Call& c) {
    auto store = open_store(c.store, true);
    if (!store) return fail("open store", store.error());
    auto txn = (*store)->begin_read();
    if (!txn) return fail("read", txn.error());
    auto st = outbox_stats(*txn);
    if (!st) return fail("outbox stats", st.error());
    auto conversations = txn->entries(Db::conversations);
    auto messages = txn->entries(Db::messages);
    if (!conversations || !messages) {
        return fail("count", (conversations ? messages : conversations).error());
    }
    txn->abort();
    auto usage = (*store)->usage();
    return print_figures(
        c, {{"outbox_pending", st->pending},
            {"outbox_dead", st->dead},
            {"outbox_oldest_pending_age_seconds", outbox_oldest_age_seconds(*st, now_ns())},
            {"conversations", std::uint64_t{*conversations}},
            {"messages", std::uint64_t{*messages}},
            {"store_map_size_bytes", std::uint64_t{usage.map_size}},
            {"store_used_bytes", std::uint64_t{usage.used_bytes}}});
}

int backup(const Call& c) {
    std::string dir(c.operands[0]);
    auto store = open_store(c.store, true);
    if (!store) return fail("open store", store.error());
    if (auto r = (*store)->copy_to(dir); !r) return fail("backup", r.error());
    std::string file = dir + "/data.mdb";
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) return fail(file + ": " + std::strerror(errno));
    auto bytes = static_cast<unsigned long long>(st.st_size);
    if (!c.json) {
        std::printf("%s %llu bytes\n", file.c_str(), bytes);
        return flushed();
    }
    JsonDoc d;
    d.w.StartObject();
    json_put(d.w, "backup", file);
    d.number("bytes", bytes);
    d.w.EndObject();
    return d.print();
}

// TIME: RFC 3339, or a duration back from now ("30d").
std::optional<std::int64_t> cutoff_of(std::string_view time) {
    if (auto t = parse_rfc3339(time)) return t;
    if (auto d = parse_duration_ns(time)) return now_ns() - *d;
    return std::nullopt;
}

int prune(const Call& c) {
    auto cutoff = cutoff_of(*c.get("--before"));
    if (!cutoff) return usage("--before: an RFC 3339 time or a duration (30d, 12h) expected");
    auto store = open_store(c.store, false);
    if (!store) return fail("open store", store.error());
    PrunePosition pos;
    std::size_t messages = 0, events = 0;
    for (bool done = false; !done;) {
        auto txn = (*store)->begin_write();
        if (!txn) return fail("begin write", txn.error());
        auto step = prune_before(*txn, *cutoff, kBatch, pos);
        if (!step) return fail("prune", step.error());
        if (auto r = txn->commit(); !r) return fail("commit", r.error());
        messages += step->messages;
        events += step->events;
        done = step->done;
    }
    std::string before = rfc3339_ns(*cutoff);
    if (!c.json) {
        std::printf("%zu messages and %zu events created before %s pruned\n", messages, events,
                    before.c_str());
        return flushed();
    }
    JsonDoc d;
    d.w.StartObject();
    json_put(d.w, "before", before);
    d.number("messages", messages);
    d.number("events", events);
    d.w.EndObject();
    return d.print();
}

// -- conversations ---------------------------------------------------------------------------

// A tenant's conversations in the inbox's order (newest activity first),
// page after page, up to want.
Result<std::vector<Conversation>> tenant_conversations(Txn& txn, std::string_view tenant,
                                                       std::string_view status, std::size_t want) {
    ListQuery q;
    q.tenant = tenant;
    q.filter.status = status;
    std::vector<Conversation> out;
    while (out.size() < want) {
        q.limit = want - out.size();
        auto page = list_conversations(txn, q);
        if (!page) return page.error();
        for (Conversation& conv : page->conversations)
            out.push_back(std::move(conv));
        if (!page->next) break;
        q.after = page->next;
    }
    return out;
}

// Every tenant's, in creation order (UUIDv7 keys): no index spans tenants.
Result<std::vector<Conversation>> all_conversations(Txn& txn, std::string_view status,
                                                    std::size_t want) {
    std::vector<Conversation> out;
    std::optional<Error> failed;
    auto r = txn.scan(Db::conversations, {}, [&](const Txn::Entry& e) {
        auto conv = decode_conversation(e.value);
        if (!conv) failed = conv.error();
        if (!conv || out.size() >= want) return false;
        if (status.empty() || conv->status == status) out.push_back(std::move(*conv));
        return true;
    });
    if (!r) return r.error();
    if (failed) return *failed;
    return out;
}

int conversations_list(const Call& c) {
    std::size_t limit;
    if (!read_limit(c, limit)) return usage("--limit needs a positive number");
    std::string_view status = c.get("--status").value_or("");
    if (!status.empty() && !valid_conversation_status(status)) {
        return usage("--status: open, pending_customer or closed");
    }
    auto tenant = c.get("--tenant");
    if (tenant && !valid_tenant_name(*tenant)) return usage("invalid tenant " + quoted(*tenant));
    return reading(c, [&](Txn& txn) {
        auto list = tenant ? tenant_conversations(txn, *tenant, status, plus_one(limit))
                           : all_conversations(txn, status, plus_one(limit));
        if (!list) return fail("list conversations", list.error());
        bool more = cut(*list, limit, "conversations");
        Listing out(c, "conversations");
        JsonDoc& d = out.d;
        for (Conversation& conv : *list) {
            if (!c.json) {
                row({typeid_encode("conv", conv.id), conv.tenant, conv.business_number,
                     conv.customer, conv.customer_name, conv.status, conv.mode, conv.assignee,
                     std::to_string(conv.unread_count), time_or_empty(activity_of(conv))});
                continue;
            }
            auto view = conversation_view(txn, std::move(conv));
            if (!view) return fail("read conversation", view.error());
            write_conversation(d.w, *view, nullptr);
        }
        return out.finish(more);
    });
}

// The conversation as "name value" lines.
void print_conversation(const Conversation& conv) {
    std::pair<std::string_view, std::string> lines[] = {
        {"id", typeid_encode("conv", conv.id)},
        {"tenant", conv.tenant},
        {"business_number", conv.business_number},
        {"phone_number_id", conv.phone_number_id},
        {"customer", conv.customer},
        {"customer_name", conv.customer_name},
        {"status", conv.status},
        {"mode", conv.mode},
        {"assignee", conv.assignee},
        {"unread_count", std::to_string(conv.unread_count)},
        {"created_at", time_or_empty(conv.created_at_ns)},
        {"window_expires_at", time_or_empty(conv.window_expires_at_ns)},
        {"last_inbound_at", time_or_empty(conv.last_inbound_at_ns)},
        {"last_outbound_at", time_or_empty(conv.last_outbound_at_ns)},
    };
    for (const auto& [name, value] : lines)
        std::printf("%.*s %s\n", static_cast<int>(name.size()), name.data(), field(value).c_str());
}

int conversation_show(const Call& c) {
    auto id = typeid_decode_as("conv", c.operands[0]);
    if (!id) return usage("not a conv_ id: " + quoted(c.operands[0]));
    std::size_t limit;
    if (!read_limit(c, limit)) return usage("--limit needs a positive number");
    return reading(c, [&](Txn& txn) {
        auto conv = conversation_by_id(txn, *id);
        if (!conv) return fail("read conversation", conv.error());
        if (!*conv) {
            std::fprintf(stderr, "whatsapp-admin: no conversation %s\n",
                         std::string(c.operands[0]).c_str());
            return kNotFound;
        }
        auto messages = conversation_messages(txn, *id, plus_one(limit), std::nullopt);
        if (!messages) return fail("read messages", messages.error());
        bool more = cut(*messages, limit, "messages");
        if (!c.json) {
            print_conversation(**conv);
            std::printf("\n");
            for (const Message& m : *messages) {
                bool in = m.direction == Direction::inbound;
                row({typeid_encode(in ? "im" : "tx", m.id), in ? "inbound" : "outbound", m.type,
                     delivery_status(m), rfc3339_ns(m.created_at_ns), m.text});
            }
            return flushed();
        }
        auto view = conversation_view(txn, std::move(**conv));
        if (!view) return fail("read conversation", view.error());
        JsonDoc d;
        d.w.StartObject();
        d.key("conversation");
        write_conversation(d.w, *view, &*messages);
        d.key("more");
        d.w.Bool(more);
        d.w.EndObject();
        return d.print();
    });
}

// -- sends -----------------------------------------------------------------------------------

int sends_unknown(const Call& c) {
    std::size_t limit;
    if (!read_limit(c, limit)) return usage("--limit needs a positive number");
    std::int64_t older_than = 0;
    if (auto v = c.get("--older-than")) {
        auto d = parse_duration_ns(*v);
        if (!d) return usage("--older-than: a duration (1h, 30m, 2d) expected");
        older_than = *d;
    }
    return reading(c, [&](Txn& txn) {
        auto list = unknown_sends(txn, now_ns() - older_than, plus_one(limit));
        if (!list) return fail("list unknown sends", list.error());
        bool more = cut(*list, limit, "unknown sends");
        Listing out(c, "sends");
        JsonDoc& d = out.d;
        for (const Message& m : *list) {
            std::string id = typeid_encode("tx", m.id),
                        conv = typeid_encode("conv", m.conversation_id);
            std::string created = rfc3339_ns(m.created_at_ns);
            if (!c.json) {
                row({id, conv, m.to, created});
                continue;
            }
            d.w.StartObject();
            json_put(d.w, "id", id);
            json_put(d.w, "conversation_id", conv);
            json_put(d.w, "to", m.to);
            json_put(d.w, "created_at", created);
            d.w.EndObject();
        }
        return out.finish(more);
    });
}

// -- keys ------------------------------------------------------------------------------------

Error errno_error(const std::string& what) {
    return make_error("io_error", what + ": " + std::strerror(errno));
}

Result<std::string> read_file(const std::string& path) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f) return errno_error("read " + quoted(path));
    std::string text;
    char buf[8192];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), f.get())) > 0;)
        text.append(buf, n);
    if (std::ferror(f.get())) return make_error("io_error", "read " + quoted(path));
    return text;
}

// Replaces path's content as one rename: a reader (nginx -s reload) sees
// the old file or the new one, never a part; mode and owner are kept.
Result<void> rewrite_file(const std::string& path, std::string_view text) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return errno_error("stat " + quoted(path));
    std::string tmp = path + ".XXXXXX";
    int fd = mkstemp(tmp.data());
    if (fd < 0) return errno_error("create " + quoted(tmp));
    std::optional<Error> failed;  // the first step that failed
    auto check = [&](bool good, const char* what) {
        if (!good && !failed) failed = errno_error(what + (" " + quoted(tmp)));
    };
    check(fchmod(fd, st.st_mode & 07777) == 0, "chmod");
    // Only root may give the file away; anyone else keeps it as their own.
    check(fchown(fd, st.st_uid, st.st_gid) == 0 || errno == EPERM, "chown");
    for (std::size_t at = 0; !failed && at < text.size();) {
        ssize_t n = write(fd, text.data() + at, text.size() - at);
        if (n > 0) {
            at += static_cast<std::size_t>(n);
        } else {
            check(n < 0 && errno == EINTR, "write");
        }
    }
    if (!failed) check(fsync(fd) == 0, "fsync");
    check(close(fd) == 0, "close");
    if (!failed) check(std::rename(tmp.c_str(), path.c_str()) == 0, "rename");
    if (failed) {
        unlink(tmp.c_str());
        return *failed;
    }
    // The rename itself is durable once the directory is.
    std::string dir = path.substr(0, path.rfind('/') + 1) + ".";
    if (int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return {};
}

Result<ApiKeys> read_keys(const Call& c) {
    auto text = read_file(std::string(*c.get("--keys")));
    if (!text) return text.error();
    return parse_api_keys(*text);
}

int key_list(const Call& c) {
    auto keys = read_keys(c);
    if (!keys) return fail("keys file", keys.error());
    Listing out(c, "keys");
    JsonDoc& d = out.d;
    for (const ApiKey& k : keys->keys()) {
        std::string scopes = scopes_string(k.scopes);
        std::string conv = k.conversation ? typeid_encode("conv", *k.conversation) : "";
        if (!c.json) {
            row({k.name, k.tenant, scopes, conv});
            continue;
        }
        d.w.StartObject();
        json_put(d.w, "name", k.name);
        json_put(d.w, "tenant", k.tenant);
        d.key("scopes");
        d.w.StartArray();
        for (std::string_view s = scopes; !s.empty();) {
            std::string_view one = s.substr(0, s.find(','));
            d.w.String(one.data(), static_cast<rapidjson::SizeType>(one.size()));
            s.remove_prefix(std::min(s.size(), one.size() + 1));
        }
        d.w.EndArray();
        d.str_or_null("conversation", conv);
        d.w.EndObject();
    }
    return out.finish(false);
}

int key_revoke(const Call& c) {
    std::string_view name = c.operands[0];
    if (!valid_key_name(name)) return usage("invalid name " + quoted(name));
    // A linked keys file is rewritten where it lives; the link stays.
    std::string given(*c.get("--keys"));
    std::unique_ptr<char, void (*)(void*)> real(realpath(given.c_str(), nullptr), std::free);
    if (!real) return fail(given + ": " + std::strerror(errno));
    std::string path = real.get();
    auto text = read_file(path);
    if (!text) return fail("keys file", text.error());
    auto rest = without_api_key(*text, name);
    if (!rest && rest.error().code == "key_not_found") {
        std::fprintf(stderr, "whatsapp-admin: %s: %s\n", given.c_str(),
                     rest.error().message.c_str());
        return kNotFound;
    }
    if (!rest) return fail("keys file", rest.error());
    if (auto r = rewrite_file(path, *rest); !r) return fail("rewrite keys file", r.error());
    std::fputs("whatsapp-admin: run nginx -s reload: the key works until then\n", stderr);
    if (!c.json) {
        std::printf("key %.*s revoked\n", static_cast<int>(name.size()), name.data());
        return flushed();
    }
    JsonDoc d;
    d.w.StartObject();
    json_put(d.w, "revoked", name);
    json_put(d.w, "keys_file", path);
    d.w.EndObject();
    return d.print();
}

// Validated with the code nginx uses on the keys file, so every printed line
// loads; the secret goes to stdout once and is never written anywhere.
int key_create(const Call& c) {
    std::string_view tenant = *c.get("--tenant");
    if (!valid_tenant_name(tenant)) {
        return usage("invalid tenant " + quoted(tenant) + ": 1-64 of [A-Za-z0-9_.-] expected");
    }
    auto scopes = parse_scopes(*c.get("--scopes"));
    if (!scopes) return usage(scopes.error().message);
    std::optional<Uuid> conversation;
    if (auto conv = c.get("--conversation")) {
        auto id = typeid_decode_as("conv", *conv);
        if (!id) return usage("not a conv_ id: " + quoted(*conv));
        conversation = *id;
    }
    // A key_ TypeID: unique without asking, and sorts by creation time.
    auto given = c.get("--name");
    std::string name = given ? std::string(*given) : typeid_encode("key", uuid_v7_now());
    if (!valid_key_name(name)) {
        return usage("invalid name " + quoted(name) + ": 1-64 of [A-Za-z0-9_.-] expected");
    }

    auto secret = generate_api_secret();
    if (!secret) return fail("generate secret", secret.error());
    std::string line = api_key_line(name, tenant, *secret, *scopes, conversation);
    auto back = parse_api_keys(line);
    if (!back || back->match(*secret) == nullptr) {
        return fail("generated line does not load: " + (back ? "no match" : back.error().message));
    }
    int rc;
    if (c.json) {
        JsonDoc d;
        d.w.StartObject();
        json_put(d.w, "name", name);
        json_put(d.w, "secret", *secret);
        json_put(d.w, "line", line);
        d.w.EndObject();
        rc = d.print();
    } else {
        std::printf("secret: %s\n%s\n", secret->c_str(), line.c_str());
        rc = flushed();
    }
    if (rc != kOk) return rc;
    std::fprintf(stderr,
                 "whatsapp-admin: append %s to the whatsapp_api_keys file and run nginx -s "
                 "reload; the secret is not shown again\n",
                 c.json ? "\"line\"" : "the second line");
    return kOk;
}

// -- the table -------------------------------------------------------------------------------

const Option kLimit{"--limit", "N"};
const Option kKeys{"--keys", "FILE", true};

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"key create",
         {{"--tenant", "T", true},
          {"--scopes", "S[,S...]", true},
          {"--name", "N"},
          {"--conversation", "conv_ID"}},
         "",
         0,
         0,
         false,
         "a new API key: prints \"secret: wa_...\" (shown only once) and the line to\n"
         "append to the whatsapp_api_keys file, then run nginx -s reload. Scopes:\n"
         "messaging:conversations:read, messaging:messages:read,\n"
         "messaging:messages:send, events:stream, *. --name defaults to a new key_ id;\n"
         "--conversation limits the key to one conversation",
         key_create},
        {"key list",
         {kKeys},
         "",
         0,
         0,
         false,
         "the keys of FILE (a whatsapp_api_keys file): name, tenant, scopes,\n"
         "conversation (\"-\": any); tab-separated. Not the hashes: the name says which",
         key_list},
        {"key revoke",
         {kKeys},
         "NAME",
         1,
         1,
         false,
         "removes NAME's line from FILE (rewritten in one rename, mode kept; comments\n"
         "and other lines untouched); the key works until nginx -s reload",
         key_revoke},
        {"conversations list",
         {{"--tenant", "T"}, {"--status", "S"}, kLimit},
         "",
         0,
         0,
         true,
         "with --tenant, its conversations newest activity first (the inbox's order);\n"
         "without, every tenant's, oldest first. --status: open, pending_customer,\n"
         "closed. id, tenant, number, customer, name, status, mode, assignee, unread,\n"
         "last activity; tab-separated (default limit 1000). --json: the inbox API's\n"
         "conversation objects (SPEC 7.2)",
         conversations_list},
        {"conversation show",
         {kLimit},
         "conv_ID",
         1,
         1,
         true,
         "the conversation (\"name value\" lines), an empty line, then its messages\n"
         "newest first (default limit 1000): id, direction, type, status, created_at,\n"
         "text; tab-separated. The text is shown: this is the operator's tool.\n"
         "--json: the inbox API's conversation object with its messages",
         conversation_show},
        {"events dead",
         {kLimit},
         "",
         0,
         0,
         true,
         "dead events, oldest first (default limit 1000): id, type, number, callback\n"
         "url, attempts, last status, last error, created_at; tab-separated",
         events_dead},
        {"events replay",
         {{"--all", ""}},
         "[evt_ID...]",
         0,
         SIZE_MAX,
         true,
         "queues the given dead events again, or with --all every dead event; the\n"
         "workers send them within a second",
         events_replay},
        {"sends unknown",
         {{"--older-than", "DURATION"}, kLimit},
         "",
         0,
         0,
         true,
         "sends whose outcome is unknown (SPEC 6.3: written to Meta, no answer, no\n"
         "status webhook since), oldest first: tx_ id, conversation, to, created_at;\n"
         "tab-separated. --older-than 1h leaves out the last hour's. Reads every\n"
         "message of the store",
         sends_unknown},
        {"stats",
         {},
         "",
         0,
         0,
         true,
         "outbox backlog, dead letters, conversations, messages, store size and use;\n"
         "\"name value\" lines",
         stats},
        {"backup",
         {},
         "DIR",
         1,
         1,
         true,
         "a compacting copy of the store into DIR/data.mdb (DIR is created, or must be\n"
         "empty), of one read snapshot, while nginx writes. Restore: stop nginx, make\n"
         "that data.mdb the store directory's only file, start nginx",
         backup},
        {"prune",
         {{"--before", "TIME", true}},
         "",
         0,
         0,
         true,
         "removes messages and delivered events created before TIME (RFC 3339, or a\n"
         "duration back from now: 30d, 12h), as whatsapp_retention does; conversations\n"
         "stay. 1000 records per write transaction",
         prune},
    };
    return table;
}

// The row args start with, and how many words its name took; a usage
// message in why when none.
const Command* find_command(const std::vector<std::string_view>& args, std::size_t& words,
                            std::string& why) {
    std::string subcommands;
    for (const Command& c : commands()) {
        std::string_view name = c.name;
        std::size_t space = name.find(' ');
        std::string_view first = name.substr(0, space);
        bool two = space != std::string_view::npos;
        if (args[0] != first) continue;
        if (!two) {
            words = 1;
            return &c;
        }
        std::string_view second = name.substr(space + 1);
        if (args.size() > 1 && args[1] == second) {
            words = 2;
            return &c;
        }
        subcommands += " " + std::string(second) + "?";
    }
    if (subcommands.empty()) {
        why = "unknown command " + quoted(args[0]);
    } else if (args.size() < 2 || args[1].starts_with("-")) {
        why = std::string(args[0]) + ":" + subcommands;
    } else {
        why = std::string(args[0]) + ": unknown command " + quoted(args[1]);
    }
    return nullptr;
}

int run(int argc, char** argv) {
    std::string store_path;
    bool json = false;
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; i++) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(usage_text().c_str(), stdout);
            return kOk;
        }
        if (a == "--store") {
            if (i + 1 >= argc) return usage("--store needs a path");
            store_path = argv[++i];
        } else if (a.starts_with("--store=")) {
            store_path = a.substr(8);
        } else if (a == "--json") {
            json = true;
        } else {
            args.push_back(a);
        }
    }
    if (args.empty()) return usage();
    std::size_t words = 0;
    std::string why;
    const Command* command = find_command(args, words, why);
    if (command == nullptr) return usage(why);
    std::vector<std::string_view> rest(args.begin() + static_cast<std::ptrdiff_t>(words),
                                       args.end());
    auto call = parse_call(*command, rest, why);
    if (!call) return usage(why);
    if (command->store && store_path.empty()) return usage("--store PATH is required");
    call->store = store_path;
    call->json = json;
    return command->run(*call);
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
