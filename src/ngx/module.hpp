// Shared declarations of the nginx layer: configuration, per-worker state.
#pragma once

#include "ngx.hpp"

#include <memory>
#include <utility>
#include <vector>

#include "domain/api_keys.hpp"
#include "domain/callback_guard.hpp"
#include "store/group_commit.hpp"
#include "domain/numbers.hpp"
#include "domain/outbox.hpp"
#include "store/store.hpp"

extern "C" ngx_module_t ngx_http_whatsapp_module;

namespace wa::ngx {

struct MainConf {
    ngx_str_t store_path{0, nullptr};
    size_t max_size = NGX_CONF_UNSET_SIZE;
    time_t window = NGX_CONF_UNSET;
    ngx_str_t graph_uri{0, nullptr};
    ngx_str_t callback_uri{0, nullptr};
    NumberDirectory numbers;
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
    ngx_shm_zone_t* metrics_zone = nullptr;
    // whatsapp_api_keys; null: no keys configured, every API call is 401.
    std::shared_ptr<const ApiKeys> api_keys;
    CallbackGuard callback_guard;  // whatsapp_callback_allow
    ngx_int_t request_id_index = NGX_ERROR;  // $request_id, echoed in API errors
    // Checked at postconfiguration: every reply location's server must have
    // a location for whatsapp_graph (ngx_http_core_srv_conf_t* / loc_conf_t*).
    std::vector<void*> graph_servers;
    std::vector<std::pair<void*, void*>> reply_locations;
};

struct LocConf {
    ngx_str_t verify_token{0, nullptr};
    bool webhook;  // whatsapp_webhook is here (not inherited)
    bool reply;    // whatsapp_reply is here
};

MainConf* main_conf(ngx_http_request_t* r);

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

// Conf helpers shared by directive handlers.
char* conf_read_secret(ngx_conf_t* cf, std::string_view directive, ngx_str_t* path,
                       std::string* out);

}  // namespace wa::ngx
