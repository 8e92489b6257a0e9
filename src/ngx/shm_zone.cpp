#include "shm_zone.hpp"

#include "state.hpp"

namespace wa::ngx {

namespace {

// Room for the slab allocator's own bookkeeping, beside the object.
constexpr std::size_t kSlabPages = 8;

// What the zone's init needs, in zone->data until the object replaces it.
struct ShmObject {
    std::size_t bytes;
    ShmPublish publish;
};

ngx_int_t init_zone(ngx_shm_zone_t* zone, void* data) noexcept {
    auto* want = static_cast<ShmObject*>(zone->data);
    auto* shpool = reinterpret_cast<ngx_slab_pool_t*>(zone->shm.addr);
    if (data) {  // reload: carry on with the old cycle's object
        zone->data = data;
        want->publish(data, &shpool->mutex);
        return NGX_OK;
    }
    void* object = ngx_slab_calloc(shpool, want->bytes);
    if (object == nullptr) return NGX_ERROR;
    zone->data = object;
    want->publish(object, &shpool->mutex);
    return NGX_OK;
}

}  // namespace

ngx_int_t shm_zone_add(ngx_conf_t* cf, ngx_str_t* name, std::size_t object_bytes,
                       ShmPublish publish) {
    auto* want = static_cast<ShmObject*>(ngx_palloc(cf->pool, sizeof(ShmObject)));
    if (want == nullptr) return NGX_ERROR;
    *want = {object_bytes, publish};
    std::size_t size = kSlabPages * ngx_pagesize + ngx_align(object_bytes, ngx_pagesize);
    ngx_shm_zone_t* zone = ngx_shared_memory_add(cf, name, size, &ngx_http_whatsapp_module);
    if (zone == nullptr) return NGX_ERROR;
    zone->data = want;
    zone->init = init_zone;
    return NGX_OK;
}

}  // namespace wa::ngx
