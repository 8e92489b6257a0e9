// The state every part of the nginx glue reads: the module's configuration
// (MainConf, LocConf), the per-worker state (Worker) and the constants the
// directives share. A leaf: it includes only ngx.hpp and core headers, so the
// glue's includes point one way (module.cpp -> handlers -> state.hpp).
#pragma once

#include "ngx.hpp"

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/api_keys.hpp"
#include "domain/callback_guard.hpp"
#include "domain/numbers.hpp"
#include "domain/outbox.hpp"
#include "domain/templates.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"

extern "C" ngx_module_t ngx_http_whatsapp_module;

namespace wa::ngx {

// Defaults of whatsapp_graph, whatsapp_callback and whatsapp_fetch.
inline constexpr std::string_view kDefaultGraphUri = "/_whatsapp/graph";
inline constexpr std::string_view kDefaultCallbackUri = "/_whatsapp/callback";
inline constexpr std::string_view kDefaultFetchUri = "/_whatsapp/fetch";

// Meta's largest webhook payload (3 MiB): what a whatsapp_webhook location
// accepts, and the Content-Length above which it answers 413.
inline constexpr off_t kWebhookMaxBody = 3 * 1024 * 1024;

struct MainConf {
    ngx_str_t store_path{0, nullptr};
    size_t max_size = NGX_CONF_UNSET_SIZE;
    time_t window = NGX_CONF_UNSET;
    time_t retention = NGX_CONF_UNSET;  // whatsapp_retention: messages, delivered events
    ngx_str_t graph_uri{0, nullptr};
    ngx_str_t callback_uri{0, nullptr};
    NumberDirectory numbers;
    TemplateDirectory templates;  // whatsapp_template blocks
    DeliveryPolicy policy;
    bool delivery_set = false;
    // whatsapp_delivery concurrency=: attempts in flight per worker (0: a
    // quarter of worker_connections, each attempt holding two connections).
    ngx_uint_t delivery_concurrency = 0;
    // The server whose locations serve our subrequests (the one holding a
    // whatsapp_* handler): delivery requests are created in its context.
    ngx_http_conf_ctx_t* dispatch_ctx = nullptr;
    bool callback_location_found = false;  // in that server (checked at merge)
    // That location: its resolver checks a client's callback host on delivery.
    ngx_http_core_loc_conf_t* callback_clcf = nullptr;
    // whatsapp_api_keys; null: no keys configured, every API call is 401.
    std::shared_ptr<const ApiKeys> api_keys;
    CallbackGuard callback_guard;            // whatsapp_callback_allow
    ngx_int_t request_id_index = NGX_ERROR;  // $request_id, echoed in API errors
    // Checked at postconfiguration: every reply location's server must have
    // a location for whatsapp_graph (ngx_http_core_srv_conf_t* / loc_conf_t*).
    std::vector<void*> graph_servers;
    std::vector<std::pair<void*, void*>> reply_locations;
    // Media downloads (whatsapp_media, SPEC §8.4): the file comes through
    // the whatsapp_fetch location of the media location's server.
    ngx_str_t fetch_uri{0, nullptr};
    // The first whatsapp_media location's URI ("/v1/media/"): where events
    // point their media (content.media.url; domain/media.hpp
    // media_download_url). Empty without a whatsapp_media location.
    ngx_str_t media_prefix{0, nullptr};
    // Every location serving fetch_uri (server, location), and every
    // whatsapp_media location (server, location): checked at
    // postconfiguration, and the fetch location's resolver checks the
    // host of a media URL.
    std::vector<std::pair<void*, ngx_http_core_loc_conf_t*>> fetch_locations;
    std::vector<std::pair<void*, ngx_http_core_loc_conf_t*>> media_locations;
};

struct LocConf {
    ngx_str_t verify_token{0, nullptr};
    bool webhook;    // whatsapp_webhook is here (not inherited)
    bool reply;      // whatsapp_reply is here
    bool guard;      // whatsapp_guard is here (not inherited)
    bool media;      // whatsapp_media is here (not inherited)
    bool rest_send;  // whatsapp_send is here (not inherited)
    // whatsapp_stream's parameters (0: the default)
    ngx_msec_t stream_ping;
    size_t stream_max_output;
};

// The module's MainConf, from a request, while parsing the configuration, or
// from a cycle (nullptr when the configuration has no http block).
MainConf* main_conf(ngx_http_request_t* r);
MainConf* main_conf(ngx_conf_t* cf);
MainConf* main_conf(ngx_cycle_t* cycle);

// Per-worker state, created in init_process.
struct Worker {
    MainConf* conf = nullptr;
    ngx_log_t* log = nullptr;
    std::unique_ptr<Store> store;
    std::unique_ptr<GroupCommit> commit;
    bool exiting = false;
};

// nullptr in the master, in helper processes, or when the store failed to open.
Worker* worker();

// The configured keys (without a keys file, none: every key is unknown).
const ApiKeys& api_keys(ngx_http_request_t* r);

// The request's Authorization against the configured keys.
KeyAuth authorize_request(ngx_http_request_t* r, Scope needed);

// --- the lifecycle behind worker(), for module.cpp's hooks ---------------

// In the master, at start and reload (not under nginx -t): creates the store
// (directory, files), clears stale reader slots, and hands the files to the
// `user` directive's user when running as root. NGX_ERROR stops nginx.
ngx_int_t store_prepare(ngx_cycle_t* cycle, const MainConf& mcf);

// In a worker: opens the store and its group commit. nullptr when the store
// did not open (logged; the worker keeps serving and handlers answer 503).
// May throw (allocation).
Worker* worker_open(ngx_cycle_t* cycle, MainConf& mcf);

// At worker exit: marks the state exiting (what completes now starts no new
// delivery) and returns it, whether or not its store opened; nullptr when
// there is none. worker_close() then destroys it.
Worker* worker_exiting();
void worker_close();

}  // namespace wa::ngx
