// http-level directives. Every check happens here, at `nginx -t` time, with
// nginx's "in FILE:LINE" suffix; nothing is validated at request time.
#include "conf.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "base/chars.hpp"
#include "base/phone.hpp"
#include "domain/api_keys.hpp"
#include "domain/signing.hpp"
#include "domain/templates.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

constexpr size_t kMinStoreSize = 64 * 1024;
constexpr size_t kMaxSecretBytes = 64 * 1024;

char* conf_error() { return static_cast<char*>(NGX_CONF_ERROR); }

ngx_str_t* args(ngx_conf_t* cf) { return static_cast<ngx_str_t*>(cf->args->elts); }

// Parses a directive's { ... } body, each line going to handler with state.
char* parse_block(ngx_conf_t* cf, ngx_conf_handler_pt handler, void* state) {
    ngx_conf_t save = *cf;
    cf->handler = handler;
    cf->handler_conf = static_cast<char*>(state);
    char* rv = ngx_conf_parse(cf, nullptr);
    *cf = save;
    return rv;
}

bool url_ok(std::string_view s) {
    auto rest = s.starts_with("https://")  ? s.substr(8)
                : s.starts_with("http://") ? s.substr(7)
                                           : std::string_view{};
    if (rest.empty() || rest.front() == '/') return false;
    for (char c : s) {
        if (static_cast<unsigned char>(c) <= ' ' || c == '"' || c == '\\') return false;
    }
    return true;
}

// A secret file turned into out by decode (text -> Result<T>): a signing
// key, a whsec_ secret. A decode error names the field and the file.
template <class T, class Decode>
char* conf_read_secret_as(ngx_conf_t* cf, std::string_view field, ngx_str_t* path, Decode decode,
                          T& out) {
    std::string text;
    if (char* rv = conf_read_secret(cf, field, path, &text); rv != NGX_CONF_OK) return rv;
    auto decoded = decode(text);
    if (!decoded) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%*s \"%V\": %s", field.size(), field.data(), path,
                           decoded.error().message.c_str());
        return conf_error();
    }
    out = std::move(decoded.value());
    return NGX_CONF_OK;
}

// State of one whatsapp_number block while nginx parses its body.
struct NumberBlock {
    NumberConfig number;
    ngx_uint_t line = 0;
    bool has_secret_file = false;
};

char* number_field(ngx_conf_t* cf, NumberBlock& b, std::string_view name, ngx_str_t* value) {
    std::string_view v = view(*value);
    NumberConfig& n = b.number;
    if (name == "phone_number_id") {
        if (!all_digits(v) || v.size() > 32) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid phone_number_id \"%V\": digits expected", value);
            return conf_error();
        }
        n.phone_number_id = v;
    } else if (name == "tenant") {
        if (!valid_tenant_name(v)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid tenant \"%V\": 1-64 of [A-Za-z0-9_.-] expected", value);
            return conf_error();
        }
        n.tenant = v;
    } else if (name == "app_secret_file") {
        b.has_secret_file = true;
        return conf_read_secret(cf, name, value, &n.app_secret);
    } else if (name == "access_token_file") {
        return conf_read_secret(cf, name, value, &n.access_token);
    } else if (name == "signing_key_file") {
        return conf_read_secret_as(cf, name, value, load_signing_key, n.signing_key);
    } else if (name == "signing_secret_file") {
        return conf_read_secret_as(cf, name, value, decode_whsec, n.signing_secret);
    } else if (name == "callback") {
        if (!url_ok(v)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid callback \"%V\": http(s) URL expected", value);
            return conf_error();
        }
        n.callback = v;
    } else if (name == "credits") {
        ngx_int_t c = ngx_atoi(value->data, value->len);
        if (c == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid credits \"%V\"", value);
            return conf_error();
        }
        n.credits = c;
    } else if (name == "rate") {
        // "80r/s"
        std::string_view num = v.ends_with("r/s") ? v.substr(0, v.size() - 3) : std::string_view{};
        ngx_int_t rate =
            all_digits(num)
                ? ngx_atoi(reinterpret_cast<u_char*>(const_cast<char*>(num.data())), num.size())
                : NGX_ERROR;
        if (rate <= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid rate \"%V\": \"<N>r/s\" expected",
                               value);
            return conf_error();
        }
        n.rate_per_sec = static_cast<std::uint32_t>(rate);
    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "unknown directive \"%*s\" in \"whatsapp_number\"",
                           name.size(), name.data());
        return conf_error();
    }
    return NGX_CONF_OK;
}

char* number_block_handler(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto& b = *static_cast<NumberBlock*>(conf);
    if (cf->args->nelts != 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" in \"whatsapp_number\" takes exactly one value", &args(cf)[0]);
        return conf_error();
    }
    try {
        return number_field(cf, b, view(args(cf)[0]), &args(cf)[1]);
    } catch (const std::exception& e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "whatsapp_number: %s", e.what());
        return conf_error();
    }
}

// Reports a missing field against the block's opening line.
char* missing(ngx_conf_t* cf, const NumberBlock& b, const char* field) {
    ngx_uint_t line = cf->conf_file->line;
    cf->conf_file->line = b.line;
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"whatsapp_number\" %s has no \"%s\"",
                       b.number.e164.c_str(), field);
    cf->conf_file->line = line;
    return conf_error();
}

}  // namespace

namespace {

// The whole file, up to max_bytes, and its full name; errors name the
// directive and the file.
char* conf_read_file(ngx_conf_t* cf, std::string_view directive, ngx_str_t* path, size_t max_bytes,
                     std::string* out, std::string* full_name) {
    ngx_str_t full = *path;
    if (ngx_conf_full_name(cf->cycle, &full, 1) != NGX_OK) return conf_error();
    std::string& name = *full_name;
    name.assign(view(full));
    int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "\"%*s\": cannot read \"%s\"",
                           directive.size(), directive.data(), name.c_str());
        return conf_error();
    }
    std::string text(max_bytes + 1, '\0');
    size_t got = 0;
    ssize_t n = 0;
    while (got < text.size() && (n = read(fd, text.data() + got, text.size() - got)) > 0) {
        got += static_cast<size_t>(n);
    }
    close(fd);
    if (n < 0 || got > max_bytes) {
        ngx_conf_log_error(
            NGX_LOG_EMERG, cf, n < 0 ? ngx_errno : 0,
            n < 0 ? "\"%*s\": cannot read \"%s\"" : "\"%*s\": \"%s\" is larger than %uzk",
            directive.size(), directive.data(), name.c_str(), max_bytes / 1024);
        return conf_error();
    }
    text.resize(got);
    *out = std::move(text);
    return NGX_CONF_OK;
}

}  // namespace

char* conf_read_secret(ngx_conf_t* cf, std::string_view directive, ngx_str_t* path,
                       std::string* out) {
    std::string text, name;
    if (char* rv = conf_read_file(cf, directive, path, kMaxSecretBytes, &text, &name);
        rv != NGX_CONF_OK) {
        return rv;
    }
    text.resize(trim_trailing_space(text).size());
    if (text.empty()) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%*s\": \"%s\" is empty", directive.size(),
                           directive.data(), name.c_str());
        return conf_error();
    }
    *out = std::move(text);
    return NGX_CONF_OK;
}

char* conf_store(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* mcf = static_cast<MainConf*>(conf);
    if (mcf->store_path.len) return const_cast<char*>("is duplicate");
    ngx_str_t* a = args(cf);
    mcf->store_path = a[1];
    if (ngx_conf_full_name(cf->cycle, &mcf->store_path, 0) != NGX_OK) return conf_error();
    for (ngx_uint_t i = 2; i < cf->args->nelts; i++) {
        std::string_view arg = view(a[i]);
        if (!arg.starts_with("max_size=")) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"whatsapp_store\": invalid parameter \"%V\"",
                               &a[i]);
            return conf_error();
        }
        ngx_str_t size{a[i].len - 9, a[i].data + 9};
        off_t v = ngx_parse_offset(&size);  // unlike ngx_parse_size, knows "g"
        if (v == NGX_ERROR || static_cast<size_t>(v) < kMinStoreSize) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"whatsapp_store\": invalid max_size \"%V\": a size of at "
                               "least 64k expected",
                               &size);
            return conf_error();
        }
        mcf->max_size = static_cast<size_t>(v);
    }
    return NGX_CONF_OK;
}

char* conf_seconds(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
    auto* field = reinterpret_cast<time_t*>(static_cast<char*>(conf) + cmd->offset);
    if (*field != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
    time_t t = ngx_parse_time(&args(cf)[1], 1);
    if (t == NGX_ERROR || t <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": invalid time \"%V\"", &cmd->name,
                           &args(cf)[1]);
        return conf_error();
    }
    *field = t;
    return NGX_CONF_OK;
}

char* conf_uri(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
    auto* field = reinterpret_cast<ngx_str_t*>(static_cast<char*>(conf) + cmd->offset);
    if (field->len) return const_cast<char*>("is duplicate");
    ngx_str_t v = args(cf)[1];
    if (v.len == 0 || v.data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": invalid URI \"%V\": must start with /",
                           &cmd->name, &v);
        return conf_error();
    }
    *field = v;
    return NGX_CONF_OK;
}

char* conf_delivery(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* mcf = static_cast<MainConf*>(conf);
    if (mcf->delivery_set) return const_cast<char*>("is duplicate");
    mcf->delivery_set = true;
    ngx_str_t* a = args(cf);
    for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
        std::string_view arg = view(a[i]);
        auto eq = arg.find('=');
        std::string_view key = arg.substr(0, eq);
        if (key == "concurrency" && eq != std::string_view::npos) {
            ngx_int_t n = ngx_atoi(a[i].data + eq + 1, a[i].len - eq - 1);
            if (n <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"whatsapp_delivery\": invalid number in \"%V\"", &a[i]);
                return conf_error();
            }
            mcf->delivery_concurrency = static_cast<ngx_uint_t>(n);
            continue;
        }
        std::int64_t* target = key == "max_age"        ? &mcf->policy.max_age_ns
                               : key == "max_interval" ? &mcf->policy.max_interval_ns
                               : key == "timeout"      ? &mcf->policy.lease_ns
                                                       : nullptr;
        if (target == nullptr || eq == std::string_view::npos) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"whatsapp_delivery\": invalid parameter \"%V\"", &a[i]);
            return conf_error();
        }
        ngx_str_t value{a[i].len - eq - 1, a[i].data + eq + 1};
        ngx_msec_t ms = ngx_parse_time(&value, 0);
        if (ms == static_cast<ngx_msec_t>(NGX_ERROR) || ms == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"whatsapp_delivery\": invalid time in \"%V\"", &a[i]);
            return conf_error();
        }
        *target = static_cast<std::int64_t>(ms) * 1'000'000;
        // An attempt is leased for three timeouts: long enough that a slow
        // attempt is never sent twice, short enough that a crash is retried.
        if (target == &mcf->policy.lease_ns) *target *= 3;
    }
    return NGX_CONF_OK;
}

namespace {

// State of one whatsapp_template block while nginx parses its body.
struct TemplateBlock {
    TemplateDef def;
    ngx_uint_t line = 0;
};

char* template_block_handler(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto& b = *static_cast<TemplateBlock*>(conf);
    try {
        ngx_str_t* a = args(cf);
        std::vector<std::string_view> values;
        for (ngx_uint_t i = 1; i < cf->args->nelts; i++)
            values.push_back(view(a[i]));
        if (auto r = template_field(b.def, view(a[0]), values); !r) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"whatsapp_template\" %s: %s",
                               b.def.key.c_str(), r.error().message.c_str());
            return conf_error();
        }
    } catch (const std::exception& e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "whatsapp_template: %s", e.what());
        return conf_error();
    }
    return NGX_CONF_OK;
}

}  // namespace

char* conf_template(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* mcf = static_cast<MainConf*>(conf);
    try {
        TemplateBlock b;
        b.def.key = view(args(cf)[1]);
        b.line = cf->conf_file->line;
        if (!valid_template_key(b.def.key)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid key \"%V\" in \"whatsapp_template\": 1-64 of "
                               "[A-Za-z0-9_.-] expected",
                               &args(cf)[1]);
            return conf_error();
        }
        if (char* rv = parse_block(cf, template_block_handler, &b); rv != NGX_CONF_OK) return rv;

        // Reported against the block's opening line.
        ngx_uint_t line = cf->conf_file->line;
        cf->conf_file->line = b.line;
        auto r = template_complete(b.def);
        if (r) r = mcf->templates.add(std::move(b.def));
        if (!r) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"whatsapp_template\" %V %s", &args(cf)[1],
                               r.error().message.c_str());
        }
        cf->conf_file->line = line;
        if (!r) return conf_error();
    } catch (const std::exception& e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "whatsapp_template: %s", e.what());
        return conf_error();
    }
    return NGX_CONF_OK;
}

char* conf_number(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* mcf = static_cast<MainConf*>(conf);
    ngx_str_t* a = args(cf);
    try {
        NumberBlock b;
        b.number.e164 = view(a[1]);
        b.line = cf->conf_file->line;
        if (!is_possible_e164(b.number.e164)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid number \"%V\" in \"whatsapp_number\": E.164 expected "
                               "(\"+\", country code, digits)",
                               &a[1]);
            return conf_error();
        }
        if (char* rv = parse_block(cf, number_block_handler, &b); rv != NGX_CONF_OK) return rv;

        if (b.number.phone_number_id.empty()) return missing(cf, b, "phone_number_id");
        if (b.number.tenant.empty()) return missing(cf, b, "tenant");
        if (!b.has_secret_file) return missing(cf, b, "app_secret_file");
        if (b.number.callback.empty()) return missing(cf, b, "callback");
        // Every delivery is signed (SPEC §5.3): one of the two is required.
        if (!b.number.signing_key && b.number.signing_secret.empty()) {
            return missing(cf, b, "signing_key_file\" or \"signing_secret_file");
        }
        if (b.number.signing_key && !b.number.signing_secret.empty()) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"whatsapp_number\" %V has both signing_key_file and "
                               "signing_secret_file",
                               &a[1]);
            return conf_error();
        }
        if (auto r = mcf->numbers.add(std::move(b.number)); !r) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"whatsapp_number\": %s",
                               r.error().message.c_str());
            return conf_error();
        }
    } catch (const std::exception& e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "whatsapp_number: %s", e.what());
        return conf_error();
    }
    return NGX_CONF_OK;
}

namespace {

// Whether the location clcf serves uri (exact, prefix or regex), as nginx's
// location search would pick it for a subrequest to uri.
bool location_serves(ngx_http_core_loc_conf_t* clcf, std::string_view uri) {
    std::string_view name = view(clcf->name);
    bool match = false;
#if (NGX_PCRE)
    if (clcf->regex) {
        ngx_str_t u{uri.size(), reinterpret_cast<u_char*>(const_cast<char*>(uri.data()))};
        match = ngx_regex_exec(clcf->regex->regex, &u, nullptr, 0) >= 0;
    } else
#endif
    {
        match = clcf->exact_match ? name == uri : uri.starts_with(name);
    }
    return match && !name.empty() && name != "/";
}

}  // namespace

bool conf_check_internal_locations(ngx_conf_t* cf, ngx_http_core_loc_conf_t* clcf) {
    MainConf* mcf = main_conf(cf);
    if (clcf->named) return true;
    auto* cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

    // Sends go to whatsapp_graph/{phone_number_id}/messages from the server
    // of the reply location.
    std::string graph(view(mcf->graph_uri));
    graph += "/0/messages";
    if (location_serves(clcf, graph)) {
        mcf->graph_servers.push_back(cscf);
        // Media uploads (upload_media) are as large as the file: only
        // bodies the module built reach an internal location.
        if (clcf->internal) clcf->client_max_body_size = 0;
    }
    // Media downloads fetch the file through whatsapp_fetch (checked at
    // postconfiguration for the servers of whatsapp_media locations).
    if (location_serves(clcf, view(mcf->fetch_uri))) mcf->fetch_locations.emplace_back(cscf, clcf);

    if (mcf->dispatch_ctx == nullptr || mcf->callback_location_found) return true;
    if (cscf != mcf->dispatch_ctx->srv_conf[ngx_http_core_module.ctx_index]) return true;
    std::string_view uri = mcf->callback_uri.len ? view(mcf->callback_uri) : kDefaultCallbackUri;
    if (!location_serves(clcf, uri)) return true;
    // Only our subrequests may reach it: a client could otherwise make the
    // gateway POST wherever the location points.
    if (!clcf->internal) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the location \"%V\" serving \"whatsapp_callback\" must be "
                           "\"internal\"",
                           &clcf->name);
        return false;
    }
    // Every event the webhook accepted must be deliverable: nginx's default
    // client_max_body_size (1m) would refuse an event carrying a long text.
    // Only bodies the module built reach this location.
    clcf->client_max_body_size = 0;
    mcf->callback_location_found = true;
    mcf->callback_clcf = clcf;
    return true;
}

namespace {

// What a whatsapp_media location's server lacks, or nullptr.
const char* media_location_problem(MainConf* mcf, void* server) {
    if (std::find(mcf->graph_servers.begin(), mcf->graph_servers.end(), server) ==
        mcf->graph_servers.end()) {
        return "no location for the \"whatsapp_graph\" URI in its server (Graph is asked for "
               "the media URL through it)";
    }
    ngx_http_core_loc_conf_t* fetch = conf_fetch_location(mcf, server);
    if (fetch == nullptr) {
        return "no location for the \"whatsapp_fetch\" URI in its server (the file is fetched "
               "through it)";
    }
    // Only our subrequests may reach it: it sends the number's token.
    if (!fetch->internal) return "the location serving \"whatsapp_fetch\" must be \"internal\"";
    return nullptr;
}

}  // namespace

ngx_http_core_loc_conf_t* conf_fetch_location(MainConf* mcf, void* server) {
    ngx_http_core_loc_conf_t* best = nullptr;
    for (const auto& [srv, clcf] : mcf->fetch_locations) {
        if (srv != server) continue;
        // As nginx picks: an exact match, else the longest prefix.
        if (best == nullptr || (clcf->exact_match && !best->exact_match) ||
            (clcf->exact_match == best->exact_match && clcf->name.len > best->name.len)) {
            best = clcf;
        }
    }
    return best;
}

ngx_int_t conf_check_cross_directive(ngx_conf_t* cf) {
    MainConf* mcf = main_conf(cf);
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
    for (const auto& [server, location] : mcf->media_locations) {
        if (auto* problem = media_location_problem(mcf, server)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"whatsapp_media\" in location \"%V\": %s",
                               &location->name, problem);
            return NGX_ERROR;
        }
    }
    for (const auto& [server, location] : mcf->reply_locations) {
        if (std::find(mcf->graph_servers.begin(), mcf->graph_servers.end(), server) ==
            mcf->graph_servers.end()) {
            auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(location);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "location \"%V\" sends (whatsapp_reply, whatsapp_notify, "
                               "whatsapp_send, whatsapp_stream) but its server has no location "
                               "for \"%V/\" (sends go to WhatsApp through it)",
                               &clcf->name, &mcf->graph_uri);
            return NGX_ERROR;
        }
    }
    return NGX_OK;
}

void conf_note_dispatch_server(ngx_conf_t* cf) {
    MainConf* mcf = main_conf(cf);
    if (mcf->dispatch_ctx) return;
    auto* cscf = static_cast<ngx_http_core_srv_conf_t*>(
        ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module));
    mcf->dispatch_ctx = cscf->ctx;
}

constexpr size_t kMaxApiKeysBytes = 4 * 1024 * 1024;

char* conf_api_keys(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* mcf = static_cast<MainConf*>(conf);
    if (mcf->api_keys) return const_cast<char*>("is duplicate");
    try {
        std::string text, name;
        if (char* rv = conf_read_file(cf, "whatsapp_api_keys", &args(cf)[1], kMaxApiKeysBytes,
                                      &text, &name);
            rv != NGX_CONF_OK) {
            return rv;
        }
        auto keys = parse_api_keys(text);
        if (!keys) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"whatsapp_api_keys\" \"%V\": %s",
                               &args(cf)[1], keys.error().message.c_str());
            return conf_error();
        }
        mcf->api_keys = std::make_shared<const ApiKeys>(std::move(keys.value()));
        return NGX_CONF_OK;
    } catch (const std::exception& e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "whatsapp_api_keys: %s", e.what());
        return conf_error();
    }
}

char* conf_callback_allow(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* mcf = static_cast<MainConf*>(conf);
    try {
        for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
            if (auto r = mcf->callback_guard.allow_cidr(view(args(cf)[i])); !r) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"whatsapp_callback_allow\": invalid CIDR \"%V\"",
                                   &args(cf)[i]);
                return conf_error();
            }
        }
        return NGX_CONF_OK;
    } catch (const std::exception& e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "whatsapp_callback_allow: %s", e.what());
        return conf_error();
    }
}

}  // namespace wa::ngx
