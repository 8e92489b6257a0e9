// The accessors of state.hpp, and the store's life: prepared by the master,
// opened by each worker after fork (LMDB environments are per process).
#include "state.hpp"

#include <string>

#include <unistd.h>

#include "domain/inbox.hpp"

namespace wa::ngx {

namespace {

Worker* g_worker = nullptr;

// The store's directory and files, handed to the worker user.
ngx_int_t chown_store(ngx_cycle_t* cycle, const std::string& path) {
    auto* ccf = reinterpret_cast<ngx_core_conf_t*>(ngx_get_conf(cycle->conf_ctx, ngx_core_module));
    for (const char* f : {"", "/data.mdb", "/lock.mdb"}) {
        std::string p = path + f;
        if (chown(p.c_str(), ccf->user, ccf->group) != 0) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "whatsapp_store: chown \"%s\" failed", p.c_str());
            return NGX_ERROR;
        }
    }
    return NGX_OK;
}

// A store written before the inbox's indexes, or before the message
// chains, gets them once, here, before any worker writes.
ngx_int_t build_indexes(ngx_cycle_t* cycle, Store& store) {
    auto fail = [cycle](const Error& e) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "whatsapp_store: inbox indexes: %s",
                      e.message.c_str());
        return NGX_ERROR;
    };
    auto txn = store.begin_write();
    if (!txn) return fail(txn.error());
    auto built = build_inbox_indexes(*txn);
    if (!built) return fail(built.error());
    auto chained = build_message_chains(*txn);
    if (!chained) return fail(chained.error());
    if (!*built && !*chained) return NGX_OK;
    if (auto committed = txn->commit(); !committed) return fail(committed.error());
    if (*built) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "whatsapp_store: inbox indexes built for %uz conversations", **built);
    }
    if (*chained) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "whatsapp_store: message chains built for %uz messages", **chained);
    }
    return NGX_OK;
}

}  // namespace

MainConf* main_conf(ngx_http_request_t* r) {
    return static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_whatsapp_module));
}

MainConf* main_conf(ngx_conf_t* cf) {
    return static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_whatsapp_module));
}

MainConf* main_conf(ngx_cycle_t* cycle) {
    auto* ctx = reinterpret_cast<ngx_http_conf_ctx_t*>(cycle->conf_ctx[ngx_http_module.index]);
    if (ctx == nullptr) return nullptr;
    return static_cast<MainConf*>(ctx->main_conf[ngx_http_whatsapp_module.ctx_index]);
}

const ApiKeys& api_keys(ngx_http_request_t* r) {
    static const ApiKeys kNoKeys;
    MainConf* mcf = main_conf(r);
    return mcf->api_keys ? *mcf->api_keys : kNoKeys;
}

KeyAuth authorize_request(ngx_http_request_t* r, Scope needed) {
    return api_keys(r).authorize(header_in(r, "Authorization"), needed);
}

Worker* worker() { return g_worker && g_worker->commit ? g_worker : nullptr; }

ngx_int_t store_prepare(ngx_cycle_t* cycle, const MainConf& mcf) {
    try {
        std::string path(view(mcf.store_path));
        auto store = Store::open({path, mcf.max_size, false});
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
        if (build_indexes(cycle, **store) != NGX_OK) return NGX_ERROR;
        store->reset();
        return geteuid() == 0 ? chown_store(cycle, path) : NGX_OK;
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "whatsapp_store: %s", e.what());
        return NGX_ERROR;
    }
}

Worker* worker_open(ngx_cycle_t* cycle, MainConf& mcf) {
    g_worker = new Worker();
    g_worker->conf = &mcf;
    g_worker->log = cycle->log;
    auto store = Store::open({std::string(view(mcf.store_path)), mcf.max_size, false});
    if (!store) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "whatsapp_store: %s",
                      store.error().message.c_str());
        return nullptr;
    }
    g_worker->store = std::move(store.value());
    g_worker->commit = std::make_unique<GroupCommit>(*g_worker->store);
    g_worker->commit->set_reserve(GroupCommit::reserve_for(g_worker->store->usage().map_size));
    return g_worker;
}

Worker* worker_exiting() {
    if (g_worker) g_worker->exiting = true;
    return g_worker;
}

void worker_close() {
    delete g_worker;
    g_worker = nullptr;
}

}  // namespace wa::ngx
