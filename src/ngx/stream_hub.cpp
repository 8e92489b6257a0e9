#include "stream_hub.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include "api/pipes_stream.hpp"
#include "api/websocket.hpp"
#include "base/text.hpp"
#include "base/clock.hpp"
#include "domain/inbox.hpp"
#include "metrics.hpp"
#include "shm_zone.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

// How often a worker looks at the watermark while it has clients: what
// another worker's commit waits at most before its frames leave here.
constexpr ngx_msec_t kPollMs = 2;
// Entries one pass reads per hub, and per replay step: bounds the time a
// pass holds the event loop; the rest follows on the next turn.
constexpr std::size_t kPassEntries = 256;
constexpr std::size_t kReplayEntries = 64;
// A replaying client takes more only while its unsent output is below this.
constexpr std::size_t kReplayLowWater = 64 * 1024;

// Shared: the largest durable stamp, and when a commit last raised it (what
// whatsapp_stream_fanout_seconds counts from).
ngx_atomic_t* g_watermark = nullptr;
ngx_atomic_t* g_raised_at = nullptr;
ngx_str_t kZoneName = ngx_string("whatsapp_stream");

struct Hub {
    std::string tenant;
    std::int64_t cursor = 0;  // every entry up to here is handed out
    std::vector<StreamClient*> clients;
};

class Hubs {
public:
    std::map<std::string, Hub, std::less<>> by_tenant;
    std::size_t clients = 0;
    std::int64_t seen = 0;  // the watermark when the hubs last read
    OwnEvent poll;          // armed while there are clients
    OwnEvent pass;          // posted: read now (a local commit, more to read)
    std::vector<StreamClient*> replaying;
    OwnEvent replay;
    bool started = false;
};

Hubs* g_hubs = nullptr;

std::int64_t watermark() { return g_watermark ? static_cast<std::int64_t>(*g_watermark) : 0; }

void raise_watermark(std::int64_t stamp) {
    if (g_watermark == nullptr || stamp <= 0) return;
    for (;;) {
        ngx_atomic_uint_t seen = *g_watermark;
        if (static_cast<std::int64_t>(seen) >= stamp) return;
        if (ngx_atomic_cmp_set(g_watermark, seen, static_cast<ngx_atomic_uint_t>(stamp))) {
            *g_raised_at = static_cast<ngx_atomic_uint_t>(now_ns());
            return;
        }
    }
}

std::string media_prefix() {
    MainConf* mcf = worker() ? worker()->conf : nullptr;
    return mcf ? std::string(view(mcf->media_prefix)) : std::string();
}

// The frames of items, as every client sees them; items whose message
// retention took meanwhile are left out.
Result<std::vector<StreamFrame>> frames_of(Txn& txn, const std::vector<StreamItem>& items) {
    std::vector<StreamFrame> frames;
    frames.reserve(items.size());
    std::string prefix = media_prefix();
    for (const StreamItem& item : items) {
        auto ev = load_stream_event(txn, item);
        if (!ev) return ev.error();
        if (!*ev) continue;
        PipesFrame f = pipes_stream_frame(**ev, prefix);
        std::string ws = ws::encode_frame(ws::Opcode::text, f.json);
        frames.push_back(StreamFrame{item.stamp, std::move(f.event_id), std::move(f.type),
                                     std::move(f.json), std::move(ws), item.entry.conversation});
    }
    return frames;
}

bool sees(const StreamClient& c, const StreamFrame& f) {
    return !c.conversation || *c.conversation == f.conversation;
}

void log_store_failure(const char* what, const Error& e) {
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "whatsapp stream: %s: %s", what,
                  log_escape(e.message).c_str());
}

void arm_poll() {
    if (g_hubs->clients > 0 && !g_hubs->poll.ev.timer_set && !ngx_exiting) {
        ngx_add_timer(&g_hubs->poll.ev, kPollMs);
    }
}

// A client copy of the list: a push may close a client, which leaves.
std::vector<StreamClient*> snapshot(const Hub& hub) { return hub.clients; }

// Whether c is still in hub: a closed client leaves at once, while its
// object lives until a posted event (never inside a push), so the pointer
// of a snapshot can be asked.
bool still_in(const Hub& hub, const StreamClient* c) { return c->hub_ == &hub; }

// Up to limit of tenant's entries in (after, upto], worded; full: the limit
// was reached (more may follow the last). nullopt when the store failed (logged).
struct Batch {
    std::vector<StreamFrame> frames;
    std::int64_t last = 0;  // the last entry read (0: none)
    bool full = false;
};

std::optional<Batch> read_batch(Txn& txn, std::string_view tenant, std::int64_t after,
                                std::int64_t upto, std::size_t limit) {
    auto items = stream_range(txn, tenant, after, upto, limit);
    if (!items) {
        log_store_failure("stream not read", items.error());
        return std::nullopt;
    }
    auto frames = frames_of(txn, *items);
    if (!frames) {
        log_store_failure("stream entry not read", frames.error());
        return std::nullopt;
    }
    Batch b{std::move(*frames), items->empty() ? 0 : items->back().stamp, items->size() == limit};
    return b;
}

// Hands c the frames after its cursor that it may see, moving its cursor;
// false when c closed meanwhile. A live hand-over (raised_at > 0) counts
// each frame's fan-out latency.
bool hand_over(Hub& hub, StreamClient& c, const std::vector<StreamFrame>& frames,
               std::int64_t raised_at) {
    for (const StreamFrame& f : frames) {
        if (f.stamp <= c.cursor) continue;
        c.cursor = f.stamp;
        if (!sees(c, f)) continue;
        c.push(f);
        if (!still_in(hub, &c)) return false;
        if (raised_at > 0) observe(Latency::stream_fanout, now_ns() - raised_at);
    }
    return true;
}

// Reads each hub forward to the watermark; true when a hub has more.
bool read_hubs(std::int64_t upto) {
    Worker* w = worker();
    if (w == nullptr) return false;
    auto txn = w->store->begin_read();
    if (!txn) {
        log_store_failure("no read transaction", txn.error());
        return false;
    }
    bool more = false;
    auto raised_at = static_cast<std::int64_t>(*g_raised_at);
    for (auto& [tenant, hub] : g_hubs->by_tenant) {
        if (hub.cursor >= upto) continue;
        auto batch = read_batch(*txn, tenant, hub.cursor, upto, kPassEntries);
        if (!batch) continue;
        std::int64_t reached = batch->full ? batch->last : upto;
        // The hub moves first: a client that joins during a push starts after.
        hub.cursor = reached;
        for (StreamClient* c : snapshot(hub)) {
            if (!still_in(hub, c) || !c->live) continue;
            if (hand_over(hub, *c, batch->frames, raised_at)) {
                c->cursor = std::max(c->cursor, reached);
            }
        }
        more = more || batch->full;
    }
    return more;
}

void shut_down_clients() {
    std::vector<StreamClient*> all;
    for (auto& [tenant, hub] : g_hubs->by_tenant)
        all.insert(all.end(), hub.clients.begin(), hub.clients.end());
    for (StreamClient* c : all)
        c->going_away();
}

void run_pass() {
    if (ngx_exiting || ngx_terminate) return shut_down_clients();
    std::int64_t upto = watermark();
    bool more = read_hubs(upto);
    g_hubs->seen = upto;
    if (more) g_hubs->pass.post();
}

void poll_handler(ngx_event_t*) noexcept {
    try {
        if (ngx_exiting || ngx_terminate || watermark() > g_hubs->seen) run_pass();
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0, "whatsapp stream: %s", e.what());
    }
    arm_poll();
}

void pass_handler(ngx_event_t*) noexcept {
    try {
        run_pass();
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0, "whatsapp stream: %s", e.what());
    }
}

Hub* hub_of(StreamClient& c) { return static_cast<Hub*>(c.hub_); }

// One step of each replaying client that has room: up to kReplayEntries of
// its own stream after its cursor, up to its hub's position; at the hub, it
// joins it.
void replay_step() {
    Worker* w = worker();
    if (w == nullptr) return;
    auto waiting = std::move(g_hubs->replaying);
    g_hubs->replaying.clear();
    auto txn = w->store->begin_read();
    if (!txn) {
        log_store_failure("no read transaction", txn.error());
        return;
    }
    for (StreamClient* c : waiting) {
        c->replay_posted_ = false;
        Hub* hub = hub_of(*c);
        if (hub == nullptr || c->live) continue;
        if (c->pending_output() >= kReplayLowWater) continue;  // stream_drained resumes it
        auto batch = read_batch(*txn, hub->tenant, c->cursor, hub->cursor, kReplayEntries);
        if (!batch || !hand_over(*hub, *c, batch->frames, 0)) continue;
        if (batch->full) {
            c->cursor = batch->last;
            c->replay_posted_ = true;
            g_hubs->replaying.push_back(c);
        } else {
            c->cursor = std::max(c->cursor, hub->cursor);
            c->live = true;
        }
    }
    if (!g_hubs->replaying.empty()) g_hubs->replay.post();
}

void replay_handler(ngx_event_t*) noexcept {
    try {
        replay_step();
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0, "whatsapp stream: %s", e.what());
    }
}

void want_replay(StreamClient& c) {
    if (c.replay_posted_) return;
    c.replay_posted_ = true;
    g_hubs->replaying.push_back(&c);
    g_hubs->replay.post();
}

void start_hubs() {
    if (g_hubs->started) return;
    g_hubs->poll.init(poll_handler, ngx_cycle->log);
    g_hubs->pass.init(pass_handler, ngx_cycle->log);
    g_hubs->replay.init(replay_handler, ngx_cycle->log);
    g_hubs->started = true;
}

}  // namespace

StreamClient::~StreamClient() {
    if (hub_) stream_leave(*this);
}

ngx_int_t stream_add_zone(ngx_conf_t* cf) {
    return shm_zone_add(cf, &kZoneName, 2 * sizeof(ngx_atomic_t), [](void* w, ngx_shmtx_t*) {
        g_watermark = static_cast<ngx_atomic_t*>(w);
        g_raised_at = g_watermark + 1;
    });
}

void stream_init_process(ngx_cycle_t* cycle) {
    Worker* w = worker();
    if (w == nullptr) return;
    auto txn = w->store->begin_read();
    if (!txn) return log_store_failure("no read transaction", txn.error());
    auto last = last_stamp(*txn);
    if (!last) return log_store_failure("clock not read", last.error());
    raise_watermark(*last);
    (void)cycle;
}

void stream_published(std::int64_t stamp) {
    raise_watermark(stamp);
    if (g_hubs && g_hubs->clients > 0) g_hubs->pass.post();
}

void stream_join(StreamClient& client, std::optional<std::int64_t> since) {
    if (g_hubs == nullptr) g_hubs = new Hubs();
    start_hubs();
    auto [it, fresh] = g_hubs->by_tenant.try_emplace(client.tenant);
    Hub& hub = it->second;
    if (fresh) {
        hub.tenant = client.tenant;
        hub.cursor = watermark();
    }
    hub.clients.push_back(&client);
    client.hub_ = &hub;
    g_hubs->clients++;
    if (since && *since < hub.cursor) {
        client.cursor = *since;
        client.live = false;
        want_replay(client);
    } else {
        client.cursor = since ? std::max(*since, hub.cursor) : hub.cursor;
        client.live = true;
    }
    arm_poll();
}

void stream_leave(StreamClient& client) {
    Hub* hub = hub_of(client);
    if (hub == nullptr) return;
    client.hub_ = nullptr;
    std::erase(hub->clients, &client);
    std::erase(g_hubs->replaying, &client);
    g_hubs->clients--;
    if (hub->clients.empty()) {
        std::string tenant = hub->tenant;  // the key outlives the hub it names
        g_hubs->by_tenant.erase(tenant);
    }
    if (g_hubs->clients == 0 && g_hubs->poll.ev.timer_set) ngx_del_timer(&g_hubs->poll.ev);
}

void stream_drained(StreamClient& client) {
    if (hub_of(client) && !client.live && !client.replay_posted_) want_replay(client);
}

std::size_t stream_clients() { return g_hubs ? g_hubs->clients : 0; }

}  // namespace wa::ngx
