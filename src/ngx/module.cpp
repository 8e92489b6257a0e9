// Module definition: directives, configuration objects, process hooks.
#include "module.hpp"

#include <algorithm>

#include <sys/stat.h>
#include <unistd.h>

#include "commit.hpp"
#include "conf.hpp"
#include "delivery.hpp"
#include "metrics.hpp"
#include "variables.hpp"
#include "credits.hpp"
#include "inbound.hpp"
#include "reply_api.hpp"

namespace wa::ngx {

namespace {

Worker* g_worker = nullptr;

void* create_main_conf(ngx_conf_t* cf) noexcept {
    try {
        return pool_new<MainConf>(cf->pool);
    } catch (...) {
        return nullptr;
    }
}

char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept {
    auto* mcf = static_cast<MainConf*>(conf);
    ngx_conf_init_size_value(mcf->max_size, size_t{1} << 30);
    ngx_conf_init_value(mcf->window, 24 * 3600);
    if (mcf->graph_uri.len == 0) {
        ngx_str_set(&mcf->graph_uri, "/_whatsapp/graph");
    }
    if (mcf->callback_uri.len == 0) {
        ngx_str_set(&mcf->callback_uri, "/_whatsapp/callback");
    }
    if (!mcf->numbers.all().empty() && mcf->store_path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"whatsapp_number\" is configured but \"whatsapp_store\" is not");
        return static_cast<char*>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

void* create_loc_conf(ngx_conf_t* cf) noexcept {
    return ngx_pcalloc(cf->pool, sizeof(LocConf));
}

constexpr off_t kDefaultClientMaxBodySize = 1024 * 1024;  // nginx's own default
constexpr off_t kWebhookMaxBody = 3 * 1024 * 1024;          // Meta's largest payload

// Runs after the core module's merge, so the effective values are known.
char* merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) noexcept {
    auto* prev = static_cast<LocConf*>(parent);
    auto* conf = static_cast<LocConf*>(child);
    ngx_conf_merge_str_value(conf->verify_token, prev->verify_token, "");
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    // Meta's batches reach 3 MB: lift nginx's default unless one was set.
    if (conf->webhook && clcf->client_max_body_size == kDefaultClientMaxBodySize) {
        clcf->client_max_body_size = kWebhookMaxBody;
    }
    if (!conf_check_internal_locations(cf, clcf)) return static_cast<char*>(NGX_CONF_ERROR);
    if (conf->reply) {
        auto* mcf = static_cast<MainConf*>(
            ngx_http_conf_get_module_main_conf(cf, ngx_http_whatsapp_module));
        mcf->reply_locations.push_back(
            {ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module), clcf});
    }
    return NGX_CONF_OK;
}

ngx_int_t preconfiguration(ngx_conf_t* cf) noexcept { return add_variables(cf); }

ngx_int_t postconfiguration(ngx_conf_t* cf) noexcept {
    if (delivery_init_filters(cf) != NGX_OK) return NGX_ERROR;
    auto* mcf = static_cast<MainConf*>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_whatsapp_module));
    if (mcf->store_path.len == 0) return NGX_OK;
    if (mcf->dispatch_ctx == nullptr && !mcf->numbers.all().empty()) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"whatsapp_number\" is configured but no server has a "
                           "\"whatsapp_webhook\" location to deliver events from");
        return NGX_ERROR;
    }
    if (mcf->dispatch_ctx && !mcf->callback_location_found) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"whatsapp_callback\": no location for \"%V\" in the server of "
                           "\"whatsapp_webhook\" (events are delivered through it)",
                           &mcf->callback_uri);
        return NGX_ERROR;
    }
    for (const auto& [server, location] : mcf->reply_locations) {
        if (std::find(mcf->graph_servers.begin(), mcf->graph_servers.end(), server) ==
            mcf->graph_servers.end()) {
            auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(location);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"whatsapp_reply\" in location \"%V\": no location for "
                               "\"%V/\" in its server (replies are sent through it)",
                               &clcf->name, &mcf->graph_uri);
            return NGX_ERROR;
        }
    }
    if (credits_add_zone(cf) != NGX_OK) return NGX_ERROR;
    return metrics_add_zone(cf);
}

// The master prepares the store once (directory, files, stale readers) and
// hands it to the worker user, so unprivileged workers can open it.
ngx_int_t init_module(ngx_cycle_t* cycle) noexcept {
    if (ngx_test_config) return NGX_OK;
    auto* ctx = reinterpret_cast<ngx_http_conf_ctx_t*>(cycle->conf_ctx[ngx_http_module.index]);
    if (ctx == nullptr) return NGX_OK;
    auto* mcf = static_cast<MainConf*>(ctx->main_conf[ngx_http_whatsapp_module.ctx_index]);
    if (mcf->store_path.len == 0) return NGX_OK;
    try {
        std::string path(view(mcf->store_path));
        auto store = Store::open({path, mcf->max_size, false});
        if (!store) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "whatsapp_store: %s",
                          store.error().message.c_str());
            return NGX_ERROR;
        }
        int cleared = (*store)->clear_stale_readers();
        if (cleared) {
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "whatsapp_store: cleared %d stale reader slots", cleared);
        }
        store->reset();
        if (geteuid() == 0) {
            auto* ccf = reinterpret_cast<ngx_core_conf_t*>(
                ngx_get_conf(cycle->conf_ctx, ngx_core_module));
            for (const char* f : {"", "/data.mdb", "/lock.mdb"}) {
                std::string p = path + f;
                if (chown(p.c_str(), ccf->user, ccf->group) != 0) {
                    ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                                  "whatsapp_store: chown \"%s\" failed", p.c_str());
                    return NGX_ERROR;
                }
            }
        }
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "whatsapp_store: %s", e.what());
        return NGX_ERROR;
    }
    return NGX_OK;
}

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept {
    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) return NGX_OK;
    auto* ctx = reinterpret_cast<ngx_http_conf_ctx_t*>(cycle->conf_ctx[ngx_http_module.index]);
    if (ctx == nullptr) return NGX_OK;
    auto* mcf = static_cast<MainConf*>(ctx->main_conf[ngx_http_whatsapp_module.ctx_index]);
    if (mcf->store_path.len == 0) return NGX_OK;
    try {
        g_worker = new Worker();
        g_worker->conf = mcf;
        g_worker->log = cycle->log;
        auto store = Store::open({std::string(view(mcf->store_path)), mcf->max_size, false});
        if (!store) {
            // The worker keeps serving: handlers answer 503 until it is fixed.
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "whatsapp_store: %s",
                          store.error().message.c_str());
            return NGX_OK;
        }
        g_worker->store = std::move(store.value());
        g_worker->commit = std::make_unique<GroupCommit>(*g_worker->store);
        g_worker->commit->set_reserve(GroupCommit::reserve_for(g_worker->store->usage().map_size));
        credits_init_process();
        if (commit_init_process(cycle, *g_worker) != NGX_OK) return NGX_ERROR;
        return delivery_init_process(cycle);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "whatsapp init: %s", e.what());
        return NGX_ERROR;
    }
}

void exit_process(ngx_cycle_t*) noexcept {
    if (g_worker == nullptr) return;
    g_worker->exiting = true;  // what completes now starts no new delivery
    try {
        commit_exit_process(*g_worker);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, g_worker->log, 0, "whatsapp exit: %s", e.what());
    }
    delete g_worker;
    g_worker = nullptr;
}

ngx_command_t commands[] = {
    {ngx_string("whatsapp_store"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE12, conf_store,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_window"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_window,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_graph"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_uri,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, graph_uri), nullptr},
    {ngx_string("whatsapp_callback"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_uri,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, callback_uri), nullptr},
    {ngx_string("whatsapp_delivery"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, conf_delivery,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_number"), NGX_HTTP_MAIN_CONF | NGX_CONF_BLOCK | NGX_CONF_TAKE1,
     conf_number, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_webhook"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, webhook_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_verify_token"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF |
     NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(LocConf, verify_token), nullptr},
    {ngx_string("whatsapp_api_keys"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_api_keys,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_callback_allow"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE,
     conf_callback_allow, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_reply"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, reply_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_metrics"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, metrics_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    ngx_null_command,
};

ngx_http_module_t module_ctx = {
    preconfiguration,   // preconfiguration
    postconfiguration,  // postconfiguration
    create_main_conf,   // create main configuration
    init_main_conf,     // init main configuration
    nullptr,            // create server configuration
    nullptr,            // merge server configuration
    create_loc_conf,    // create location configuration
    merge_loc_conf,     // merge location configuration
};

}  // namespace

MainConf* main_conf(ngx_http_request_t* r) {
    return static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_whatsapp_module));
}

Worker* worker() { return g_worker && g_worker->commit ? g_worker : nullptr; }

}  // namespace wa::ngx

ngx_module_t ngx_http_whatsapp_module = {
    NGX_MODULE_V1,
    &wa::ngx::module_ctx,          // module context
    wa::ngx::commands,             // module directives
    NGX_HTTP_MODULE,               // module type
    nullptr,                       // init master
    wa::ngx::init_module,          // init module
    wa::ngx::init_process,         // init process
    nullptr,                       // init thread
    nullptr,                       // exit thread
    wa::ngx::exit_process,         // exit process
    nullptr,                       // exit master
    NGX_MODULE_V1_PADDING
};
