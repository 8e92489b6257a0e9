// The module, in nginx's order: the directive table, the http module
// context, the module itself, then its hooks. What a directive or a hook
// does at length lives in the file of its concern (conf.cpp, state.cpp,
// inbound.cpp, send_api.cpp, messaging_api.cpp, media_api.cpp, delivery.cpp, commit.cpp,
// housekeeping.cpp, ...).

#include <exception>

#include "api/pipes.hpp"
#include "commit.hpp"
#include "conf.hpp"
#include "credits.hpp"
#include "delivery.hpp"
#include "guard.hpp"
#include "housekeeping.hpp"
#include "scheduled_sends.hpp"
#include "inbound.hpp"
#include "media_api.hpp"
#include "messaging_api.hpp"
#include "metrics.hpp"
#include "pacing.hpp"
#include "send_api.hpp"
#include "state.hpp"
#include "stream_api.hpp"
#include "stream_hub.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

ngx_int_t preconfiguration(ngx_conf_t* cf) noexcept;
ngx_int_t postconfiguration(ngx_conf_t* cf) noexcept;
void* create_main_conf(ngx_conf_t* cf) noexcept;
char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept;
void* create_loc_conf(ngx_conf_t* cf) noexcept;
char* merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) noexcept;
ngx_int_t init_module(ngx_cycle_t* cycle) noexcept;
ngx_int_t init_process(ngx_cycle_t* cycle) noexcept;
void exit_process(ngx_cycle_t* cycle) noexcept;

// The README's directive reference is checked against this table
// (tools/check_directives.py): keep one entry per directive, as written.
ngx_command_t commands[] = {
    {ngx_string("whatsapp_store"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE12, conf_store,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_window"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_seconds,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, window), nullptr},
    {ngx_string("whatsapp_retention"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_seconds,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, retention), nullptr},
    {ngx_string("whatsapp_graph"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_uri,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, graph_uri), nullptr},
    {ngx_string("whatsapp_callback"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_uri,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, callback_uri), nullptr},
    {ngx_string("whatsapp_fetch"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_uri,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, fetch_uri), nullptr},
    {ngx_string("whatsapp_delivery"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, conf_delivery,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_number"), NGX_HTTP_MAIN_CONF | NGX_CONF_BLOCK | NGX_CONF_TAKE1,
     conf_number, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_template"), NGX_HTTP_MAIN_CONF | NGX_CONF_BLOCK | NGX_CONF_TAKE1,
     conf_template, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_webhook"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, webhook_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_verify_token"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, verify_token), nullptr},
    {ngx_string("whatsapp_api_keys"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, conf_api_keys,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_callback_allow"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE,
     conf_callback_allow, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_reply"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, reply_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_notify"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, notify_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_messaging"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, messaging_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_stream"), NGX_HTTP_LOC_CONF | NGX_CONF_ANY, stream_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_send"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, rest_send_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_media"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, media_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("whatsapp_guard"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, guard_directive,
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

}  // namespace wa::ngx

ngx_module_t ngx_http_whatsapp_module = {NGX_MODULE_V1,
                                         &wa::ngx::module_ctx,   // module context
                                         wa::ngx::commands,      // module directives
                                         NGX_HTTP_MODULE,        // module type
                                         nullptr,                // init master
                                         wa::ngx::init_module,   // init module
                                         wa::ngx::init_process,  // init process
                                         nullptr,                // init thread
                                         nullptr,                // exit thread
                                         wa::ngx::exit_process,  // exit process
                                         nullptr,                // exit master
                                         NGX_MODULE_V1_PADDING};

namespace wa::ngx {

namespace {

constexpr off_t kDefaultClientMaxBodySize = 1024 * 1024;  // nginx's own default

// An ngx_str_t over a constant: nginx only reads the URIs it is given.
ngx_str_t const_str(std::string_view s) {
    return {s.size(), reinterpret_cast<u_char*>(const_cast<char*>(s.data()))};
}

ngx_int_t preconfiguration(ngx_conf_t* cf) noexcept { return add_variables(cf); }

// $request_id: API errors echo it and every log line about a request ends
// with it.
ngx_int_t note_request_id(ngx_conf_t* cf) {
    static ngx_str_t name = ngx_string("request_id");
    ngx_int_t index = ngx_http_get_variable_index(cf, &name);
    if (index == NGX_ERROR) return NGX_ERROR;
    main_conf(cf)->request_id_index = index;
    return NGX_OK;
}

ngx_int_t postconfiguration(ngx_conf_t* cf) noexcept {
    if (delivery_init_filters(cf) != NGX_OK) return NGX_ERROR;
    if (media_init_filters(cf) != NGX_OK) return NGX_ERROR;
    if (note_request_id(cf) != NGX_OK) return NGX_ERROR;
    if (guard_init(cf) != NGX_OK) return NGX_ERROR;
    if (main_conf(cf)->store_path.len == 0) return NGX_OK;
    if (conf_check_cross_directive(cf) != NGX_OK) return NGX_ERROR;
    if (credits_add_zone(cf) != NGX_OK) return NGX_ERROR;
    if (pacing_add_zone(cf) != NGX_OK) return NGX_ERROR;
    if (stream_add_zone(cf) != NGX_OK) return NGX_ERROR;
    return metrics_add_zone(cf);
}

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
    ngx_conf_init_value(mcf->retention, 30 * 24 * 3600);
    if (mcf->graph_uri.len == 0) mcf->graph_uri = const_str(kDefaultGraphUri);
    if (mcf->callback_uri.len == 0) mcf->callback_uri = const_str(kDefaultCallbackUri);
    if (mcf->fetch_uri.len == 0) mcf->fetch_uri = const_str(kDefaultFetchUri);
    if (!mcf->numbers.all().empty() && mcf->store_path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"whatsapp_number\" is configured but \"whatsapp_store\" is not");
        return static_cast<char*>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

void* create_loc_conf(ngx_conf_t* cf) noexcept { return ngx_pcalloc(cf->pool, sizeof(LocConf)); }

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
    // A REST send carries its file as base64: up to 16 MiB, 22 MiB of body.
    if (conf->rest_send && clcf->client_max_body_size == kDefaultClientMaxBodySize) {
        clcf->client_max_body_size = static_cast<off_t>(kMaxPipesSendBodyBytes);
    }
    if (!conf_check_internal_locations(cf, clcf)) return static_cast<char*>(NGX_CONF_ERROR);
    if (conf->reply) {
        main_conf(cf)->reply_locations.push_back(
            {ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module), clcf});
    }
    if (conf->media) {
        main_conf(cf)->media_locations.emplace_back(
            ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module), clcf);
    }
    return NGX_CONF_OK;
}

// The master prepares the store once (directory, files, stale readers) and
// hands it to the worker user, so unprivileged workers can open it.
ngx_int_t init_module(ngx_cycle_t* cycle) noexcept {
    if (ngx_test_config) return NGX_OK;
    MainConf* mcf = main_conf(cycle);
    if (mcf == nullptr || mcf->store_path.len == 0) return NGX_OK;
    return store_prepare(cycle, *mcf);
}

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept {
    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) return NGX_OK;
    MainConf* mcf = main_conf(cycle);
    if (mcf == nullptr || mcf->store_path.len == 0) return NGX_OK;
    try {
        Worker* w = worker_open(cycle, *mcf);
        if (w == nullptr) return NGX_OK;  // handlers answer 503 until it is fixed
        credits_init_process();
        if (commit_init_process(cycle, *w) != NGX_OK) return NGX_ERROR;
        if (housekeeping_init_process(cycle) != NGX_OK) return NGX_ERROR;
        if (scheduled_sends_init_process(cycle) != NGX_OK) return NGX_ERROR;
        stream_init_process(cycle);
        return delivery_init_process(cycle);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "whatsapp init: %s", e.what());
        return NGX_ERROR;
    }
}

void exit_process(ngx_cycle_t*) noexcept {
    Worker* w = worker_exiting();
    if (w == nullptr) return;
    try {
        if (w->commit) commit_exit_process(*w);  // none when the store did not open
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, w->log, 0, "whatsapp exit: %s", e.what());
    }
    worker_close();
}

}  // namespace

}  // namespace wa::ngx
