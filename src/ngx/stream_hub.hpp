// The realtime stream's fan-out in a worker (SPEC §8.1-8.2, design in
// domain/stream.hpp). Every worker holds one hub per tenant with sockets
// open; a hub reads the tenant's new stream entries from the store once,
// up to the durable watermark that every worker's commits raise in shared
// memory, words each once, and hands it to each of its live clients. A
// client that resumes reads its own way forward from the store (paced by
// its output) until it reaches its hub, then joins it: no gap, no
// duplicate, and a slow client never holds the others back.
#pragma once

#include "ngx.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/ids.hpp"
#include "domain/stream.hpp"

namespace wa::ngx {

// One stream entry, worded for every client of a tenant.
struct StreamFrame {
    std::int64_t stamp = 0;
    std::string event_id;  // se_...
    std::string type;      // whatsapp_message | message_status
    std::string json;      // the whole frame: {"type":...,"data":{...}}
    std::string ws;        // json as a WebSocket text frame, encoded once for every client
    Uuid conversation{};
};

class StreamClient {
public:
    virtual ~StreamClient();
    // Output this client has not written yet (replay waits while it is large).
    virtual std::size_t pending_output() const = 0;
    // The frame is this client's to send (scope checked by the hub).
    virtual void push(const StreamFrame& frame) = 0;
    // The worker is shutting down (reload, stop): close (going away); the
    // client leaves its hub from there.
    virtual void going_away() = 0;

    std::string tenant;
    std::optional<Uuid> conversation;  // a conversation-scoped connection
    std::int64_t cursor = 0;           // every entry up to here is sent (or not its to see)
    bool live = false;                 // at its hub's position: fed by the hub

    // The hub's own: which hub holds it, and whether a replay step is due.
    void* hub_ = nullptr;
    bool replay_posted_ = false;
};

// The durable watermark's shared memory (from postconfiguration).
ngx_int_t stream_add_zone(ngx_conf_t* cf);
// In a worker, once its store is open: the watermark is at least the
// store's last stamp (what an earlier worker committed is on disk).
void stream_init_process(ngx_cycle_t* cycle);

// After a commit that wrote stream entries is durable: raise the watermark
// and wake this worker's hubs now (others see it at their next poll).
void stream_published(std::int64_t stamp);

// The client joins its tenant's hub: from `since` (a stamp of its stream
// already checked to exist) it replays first; without it, it starts live
// at the hub's position. May throw (allocation).
void stream_join(StreamClient& client, std::optional<std::int64_t> since);
// Leaving (before the client is destroyed).
void stream_leave(StreamClient& client);
// The client wrote output: a replaying client may take more.
void stream_drained(StreamClient& client);

// Connected clients in this worker (whatsapp_stream_connections).
std::size_t stream_clients();

}  // namespace wa::ngx
