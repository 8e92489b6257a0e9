// whatsapp-admin: operator's tool over the store (SPEC §10.2).
//
//   whatsapp-admin --store PATH events dead [--limit N]
//   whatsapp-admin --store PATH events replay evt_ID... | --all
//   whatsapp-admin --store PATH stats
//   whatsapp-admin key create --tenant T --scopes S[,S...] [--name N] [--conversation conv_ID]
//
// key create needs no store: it prints a new secret once and the line to
// append to the whatsapp_api_keys file (which holds only its SHA-256).
// Listing and stats open the store read-only; replay opens it read-write
// and takes LMDB's writer lock for a moment, so it is safe while nginx
// runs: each worker's retry timer picks replayed events up within a second.
// Exit status: 0 ok, 1 error (message on stderr), 2 usage.
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "domain/api_keys.hpp"
#include "base/clock.hpp"
#include "base/ids.hpp"
#include "domain/outbox.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace {

using namespace wa;

constexpr int kOk = 0;
constexpr int kError = 1;
constexpr int kUsage = 2;

constexpr std::size_t kDefaultLimit = 1000;
constexpr std::size_t kReplayBatch = 1000;  // dead events per write transaction

const char kUsageText[] =
    "usage: whatsapp-admin --store PATH COMMAND\n"
    "       whatsapp-admin key create --tenant T --scopes S[,S...] [--name N]\n"
    "                                 [--conversation conv_ID]\n"
    "\n"
    "commands:\n"
    "  events dead [--limit N]      list dead events, oldest first (default limit 1000):\n"
    "                               id, type, number, callback url, attempts, last status,\n"
    "                               last error, created_at; tab-separated\n"
    "  events replay evt_ID...      queue the given dead events again\n"
    "  events replay --all          queue every dead event again\n"
    "  stats                        outbox backlog, dead letters, store size\n"
    "  key create                   a new API key: prints \"secret: wa_...\" (shown only\n"
    "                               once) and the line to append to the whatsapp_api_keys\n"
    "                               file, then run nginx -s reload. Scopes:\n"
    "                               messaging:conversations:read, messaging:messages:read,\n"
    "                               messaging:messages:send, events:stream, *.\n"
    "                               --name defaults to a new key_ id; --conversation limits\n"
    "                               the key to one conversation\n"
    "\n"
    "exit status: 0 ok, 1 error, 2 usage\n";

int usage(const char* why = nullptr) {
    if (why) {
        std::fprintf(stderr, "whatsapp-admin: %s (see whatsapp-admin --help)\n", why);
    } else {
        std::fputs(kUsageText, stderr);
    }
    return kUsage;
}

int fail(const std::string& what) {
    std::fprintf(stderr, "whatsapp-admin: %s\n", what.c_str());
    return kError;
}

int fail(const std::string& what, const Error& e) { return fail(what + ": " + e.message); }

// A field of a tab-separated line: no tabs or line breaks, "-" when empty.
std::string field(std::string_view s) {
    if (s.empty()) return "-";
    std::string out(s);
    for (char& c : out) {
        if (c == '\t' || c == '\n' || c == '\r' || static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    return out;
}

bool parse_count(std::string_view s, std::size_t& out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

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

int events_dead(const std::string& path, std::size_t limit) {
    auto store = open_store(path, true);
    if (!store) return fail("open store", store.error());
    auto txn = (*store)->begin_read();
    if (!txn) return fail("read", txn.error());
    // One more than asked, to tell whether the list was cut.
    auto list = outbox_dead(*txn, limit == static_cast<std::size_t>(-1) ? limit : limit + 1);
    if (!list) return fail("list dead events", list.error());
    bool more = list->size() > limit;
    if (more) list->resize(limit);
    for (const Event& e : *list) {
        std::printf("%s\t%s\t%s\t%s\t%u\t%d\t%s\t%s\n", typeid_encode("evt", e.id).c_str(),
                    field(e.type).c_str(), field(e.number).c_str(), field(e.callback_url).c_str(),
                    e.attempts, e.last_status, field(e.last_error).c_str(),
                    rfc3339_ns(e.created_at_ns).c_str());
    }
    if (more) {
        std::fprintf(stderr, "whatsapp-admin: more than %zu dead events; use --limit\n", limit);
    }
    if (std::fflush(stdout) != 0) return fail("write output");
    return kOk;
}

int events_replay(const std::string& path, const std::vector<std::string>& ids, bool all) {
    std::vector<Uuid> uuids;
    for (const auto& s : ids) {
        auto u = typeid_decode_as("evt", s);
        if (!u) return usage(("not an evt_ id: \"" + s + "\"").c_str());
        uuids.push_back(*u);
    }
    auto store = open_store(path, false);
    if (!store) return fail("open store", store.error());
    DeliveryPolicy policy;  // replay needs no timings: the event is simply due now
    std::size_t queued = 0;

    if (all) {
        for (;;) {
            auto txn = (*store)->begin_write();
            if (!txn) return fail("begin write", txn.error());
            auto n = outbox_replay_all(*txn, policy, now_ns(), kReplayBatch);
            if (!n) return fail("replay", n.error());
            if (*n == 0) break;
            if (auto r = txn->commit(); !r) return fail("commit", r.error());
            queued += *n;
        }
        std::printf("%zu queued again\n", queued);
        return kOk;
    }

    // The listed ids in one transaction; ids that are not dead are reported.
    bool all_dead = true;
    auto txn = (*store)->begin_write();
    if (!txn) return fail("begin write", txn.error());
    std::int64_t now = now_ns();
    for (std::size_t i = 0; i < uuids.size(); i++) {
        auto r = outbox_replay(*txn, uuids[i], policy, now);
        if (!r) return fail("replay " + ids[i], r.error());
        if (*r) {
            queued++;
        } else {
            all_dead = false;
            std::fprintf(stderr, "whatsapp-admin: %s: not a dead event\n", ids[i].c_str());
        }
    }
    if (queued > 0) {
        if (auto r = txn->commit(); !r) return fail("commit", r.error());
    }
    std::printf("%zu queued again\n", queued);
    return all_dead ? kOk : kError;
}

int stats(const std::string& path) {
    auto store = open_store(path, true);
    if (!store) return fail("open store", store.error());
    auto txn = (*store)->begin_read();
    if (!txn) return fail("read", txn.error());
    auto st = outbox_stats(*txn);
    if (!st) return fail("outbox stats", st.error());
    txn->abort();
    auto usage = (*store)->usage();
    std::printf("outbox_pending %llu\n", static_cast<unsigned long long>(st->pending));
    std::printf("outbox_dead %llu\n", static_cast<unsigned long long>(st->dead));
    std::printf("outbox_oldest_pending_age_seconds %.3f\n",
                outbox_oldest_age_seconds(*st, now_ns()));
    std::printf("store_map_size_bytes %zu\n", usage.map_size);
    std::printf("store_used_bytes %zu\n", usage.used_bytes);
    if (std::fflush(stdout) != 0) return fail("write output");
    return kOk;
}

// args[i] is "--opt VALUE" or "--opt=VALUE": the value, advancing i past it.
// Not this option: nullopt. Missing or empty value: "" (a usage error).
std::optional<std::string_view> option_value(const std::vector<std::string_view>& args,
                                             std::size_t& i, std::string_view opt) {
    std::string_view a = args[i];
    if (a == opt) {
        if (i + 1 >= args.size()) return std::string_view();
        return args[++i];
    }
    if (a.size() > opt.size() && a.starts_with(opt) && a[opt.size()] == '=') {
        return a.substr(opt.size() + 1);
    }
    return std::nullopt;
}

struct KeyOptions {
    std::string_view tenant, scopes, name, conversation;
};

// The options of key create, or a usage message in `why`.
bool parse_key_options(const std::vector<std::string_view>& args, KeyOptions& o, std::string& why) {
    for (std::size_t i = 2; i < args.size(); i++) {
        bool known = false;
        for (auto [opt, out] :
             {std::pair{"--tenant", &o.tenant}, std::pair{"--scopes", &o.scopes},
              std::pair{"--name", &o.name}, std::pair{"--conversation", &o.conversation}}) {
            auto v = option_value(args, i, opt);
            if (!v) continue;
            if (v->empty()) {
                why = std::string(opt) + " needs a value";
                return false;
            }
            *out = *v;
            known = true;
            break;
        }
        if (!known) {
            why = "key create: unexpected \"" + std::string(args[i]) + "\"";
            return false;
        }
    }
    if (o.tenant.empty() || o.scopes.empty()) {
        why = "key create: --tenant and --scopes are required";
        return false;
    }
    return true;
}

// Validated with the code nginx uses on the keys file, so every printed line
// loads; the secret goes to stdout once and is never written anywhere.
int key_create(const std::vector<std::string_view>& args) {
    KeyOptions o;
    std::string why;
    if (!parse_key_options(args, o, why)) return usage(why.c_str());
    if (!valid_tenant_name(o.tenant)) {
        return usage(
            ("invalid tenant \"" + std::string(o.tenant) + "\": 1-64 of [A-Za-z0-9_.-] expected")
                .c_str());
    }
    auto scopes = parse_scopes(o.scopes);
    if (!scopes) return usage(scopes.error().message.c_str());
    std::optional<Uuid> conversation;
    if (!o.conversation.empty()) {
        auto c = typeid_decode_as("conv", o.conversation);
        if (!c) return usage(("not a conv_ id: \"" + std::string(o.conversation) + "\"").c_str());
        conversation = *c;
    }
    // A key_ TypeID: unique without asking, and sorts by creation time.
    std::string name = o.name.empty() ? typeid_encode("key", uuid_v7_now()) : std::string(o.name);
    if (!valid_key_name(name)) {
        return usage(("invalid name \"" + name + "\": 1-64 of [A-Za-z0-9_.-] expected").c_str());
    }

    auto secret = generate_api_secret();
    if (!secret) return fail("generate secret", secret.error());
    std::string line = api_key_line(name, o.tenant, *secret, *scopes, conversation);
    auto back = parse_api_keys(line);
    if (!back || back->match(*secret) == nullptr) {
        return fail("generated line does not load: " + (back ? "no match" : back.error().message));
    }
    std::printf("secret: %s\n%s\n", secret->c_str(), line.c_str());
    if (std::fflush(stdout) != 0) return fail("write output");
    std::fputs(
        "whatsapp-admin: append the second line to the whatsapp_api_keys file and run "
        "nginx -s reload; the secret is not shown again\n",
        stderr);
    return kOk;
}

int key_command(const std::vector<std::string_view>& args) {
    if (args.size() < 2) return usage("key: create?");
    if (args[1] == "create") return key_create(args);
    return usage(("key: unknown command \"" + std::string(args[1]) + "\"").c_str());
}

int run(int argc, char** argv) {
    std::string store_path;
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; i++) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsageText, stdout);
            return kOk;
        }
        if (a == "--store") {
            if (i + 1 >= argc) return usage("--store needs a path");
            store_path = argv[++i];
        } else if (a.starts_with("--store=")) {
            store_path = a.substr(8);
        } else {
            args.push_back(a);
        }
    }
    if (args.empty()) return usage();
    if (args[0] == "key") return key_command(args);
    if (store_path.empty()) return usage("--store PATH is required");

    if (args[0] == "stats") {
        if (args.size() != 1) return usage("stats takes no arguments");
        return stats(store_path);
    }
    if (args[0] != "events")
        return usage(("unknown command \"" + std::string(args[0]) + "\"").c_str());
    if (args.size() < 2) return usage("events: dead or replay?");

    if (args[1] == "dead") {
        std::size_t limit = kDefaultLimit;
        for (std::size_t i = 2; i < args.size(); i++) {
            std::string_view a = args[i];
            std::string_view value;
            if (a == "--limit") {
                if (i + 1 >= args.size()) return usage("--limit needs a number");
                value = args[++i];
            } else if (a.starts_with("--limit=")) {
                value = a.substr(8);
            } else {
                return usage(("events dead: unexpected \"" + std::string(a) + "\"").c_str());
            }
            if (!parse_count(value, limit) || limit == 0) {
                return usage("--limit needs a positive number");
            }
        }
        return events_dead(store_path, limit);
    }
    if (args[1] == "replay") {
        bool all = false;
        std::vector<std::string> ids;
        for (std::size_t i = 2; i < args.size(); i++) {
            if (args[i] == "--all") {
                all = true;
            } else if (args[i].starts_with("-")) {
                return usage(
                    ("events replay: unknown option \"" + std::string(args[i]) + "\"").c_str());
            } else {
                ids.emplace_back(args[i]);
            }
        }
        if (all == !ids.empty()) return usage("events replay: give evt_ ids or --all");
        return events_replay(store_path, ids, all);
    }
    return usage(("events: unknown command \"" + std::string(args[1]) + "\"").c_str());
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
