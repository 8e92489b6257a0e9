// whatsapp_stream (SPEC §8.1-8.2): the tenant's stream on a WebSocket
// (RFC 6455, framed by api/websocket) or as server-sent events, on one
// location. The key is checked and the resume cursor found before the
// upgrade; then the connection is ours: nginx's request is held (count)
// and its socket read and written here, with the hub (stream_hub.cpp)
// handing it frames. Replies over the socket go through the one send
// pipeline (send_api.cpp).
#include "stream_api.hpp"

#include <algorithm>
#include <deque>
#include <memory>
#include <random>

#include "api/pipes.hpp"
#include "api/pipes_stream.hpp"
#include "api/websocket.hpp"
#include "base/ids.hpp"
#include "base/text.hpp"
#include "domain/inbox.hpp"
#include "domain/stream.hpp"
#include "conf.hpp"
#include "metrics.hpp"
#include "send_api.hpp"
#include "state.hpp"
#include "stream_hub.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
// Unsent output is compacted once this much of it was written.
constexpr std::size_t kCompactAt = 64 * 1024;

enum class Mode { websocket, sse };

StreamSettings settings_of(ngx_http_request_t* r) {
    auto* lcf = static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_whatsapp_module));
    return StreamSettings{
        lcf->stream_ping ? lcf->stream_ping : kDefaultStreamPing,
        lcf->stream_max_output ? lcf->stream_max_output : kDefaultStreamMaxOutput};
}

class Connection final : public StreamClient {
public:
    Connection(ngx_http_request_t* r, Mode mode, const StreamSettings& settings)
        : r_(r), c_(r->connection), mode_(mode), settings_(settings), parser_(kMaxMessage) {
        handle_ = std::make_shared<Connection*>(this);
    }
    ~Connection() override;

    void open(std::string_view early_bytes);
    std::size_t pending_output() const override { return out_.size() - sent_; }
    void push(const StreamFrame& frame) override;
    void going_away() override { close(1001, "going away"); }

    void on_read();
    void on_write();
    void on_ping();

    // A close: the close frame (websocket), then the request ends from a
    // posted event, never inside the caller's loop.
    void close(std::uint16_t code, std::string_view reason);

    std::shared_ptr<const ApiKeys> keys;
    const ApiKey* key = nullptr;
    std::string connection_id;
    OwnEvent ping, finish;
    bool cursor_refused = false;

    // ?since= named no entry of the stream: said on the socket, then 1008.
    void refuse_cursor();
    ngx_http_request_t* request() const { return r_; }

private:
    static constexpr std::size_t kMaxMessage = 1024 * 1024;

    void take_over();
    void write_raw(std::string_view bytes);
    void drop_unsent_frames();
    void write_failed();
    void flush();
    void on_message(const ws::Event& e);
    void on_client_message(std::string_view json);
    void answer(std::string frame);
    void send_sse(std::string_view event, std::string_view id, std::string_view data);
    void chunk(std::string_view bytes);

    ngx_http_request_t* r_;
    ngx_connection_t* c_;
    Mode mode_;
    StreamSettings settings_;
    ws::Parser parser_;
    std::string out_;
    std::deque<std::size_t> ends_;  // where each queued frame ends in out_
    bool partial_head_ = false;     // out_ begins inside a frame partly written before
    std::size_t sent_ = 0;
    bool closing_ = false;
    bool opened_ = false;
    ngx_msec_t heard_ = 0;  // when the client last sent anything
    // Cleared at destruction: a reply finishing later finds no connection.
    std::shared_ptr<Connection*> handle_;
};

Connection::~Connection() {
    *handle_ = nullptr;
    stream_leave(*this);
    if (ping.ev.timer_set) ngx_del_timer(&ping.ev);
    if (finish.ev.posted) {
        ngx_delete_posted_event(&finish.ev);  // a macro of several statements
    }
    if (opened_) count(Counter::stream_closed);
}

Connection* connection_of(ngx_http_request_t* r) {
    RequestCtx* ctx = request_ctx(r);
    return ctx ? static_cast<Connection*>(ctx->handler_state) : nullptr;
}

// r's read or write event, for its connection; an exception closes it.
template <void (Connection::*On)()>
void on_event(ngx_http_request_t* r) noexcept {
    try {
        if (Connection* c = connection_of(r)) (c->*On)();
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp stream: %s", e.what());
        if (Connection* c = connection_of(r)) c->close(1011, "internal error");
    }
}

void ping_handler(ngx_event_t* ev) noexcept {
    auto* c = static_cast<Connection*>(static_cast<ngx_connection_t*>(ev->data)->data);
    try {
        c->on_ping();
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0, "whatsapp stream: %s", e.what());
        c->close(1011, "internal error");
    }
}

// The request ends here: the pool cleanup destroys the connection object.
void finish_handler(ngx_event_t* ev) noexcept {
    auto* c = static_cast<Connection*>(static_cast<ngx_connection_t*>(ev->data)->data);
    ngx_http_request_t* r = c->request();
    ngx_http_finalize_request(r, NGX_DONE);
}

void Connection::open(std::string_view early_bytes) {
    heard_ = ngx_current_msec;
    take_over();
    opened_ = true;
    ngx_add_timer(&ping.ev, mode_ == Mode::sse ? settings_.ping / 2 : settings_.ping);
    count(Counter::stream_opened);
    std::optional<std::string> scoped;
    if (conversation) scoped = typeid_encode("conv", *conversation);
    std::string hello = connected_frame(key->tenant, connection_id, scoped);
    if (mode_ == Mode::websocket) {
        write_raw(ws::encode_frame(ws::Opcode::text, hello));
    } else {
        chunk(": connected\n\n");
        send_sse("connected", {}, hello);
    }
    if (!early_bytes.empty() && mode_ == Mode::websocket) {
        std::vector<ws::Event> events;
        parser_.feed(early_bytes, events);
        for (const auto& e : events) {
            if (closing_) break;
            on_message(e);
        }
    }
    flush();
}

// After the upgrade the connection's events are ours.
void Connection::take_over() {
    ping.init(ping_handler, c_->log, true);
    ping.conn.data = this;
    finish.init(finish_handler, c_->log);
    finish.conn.data = this;
    r_->read_event_handler = on_event<&Connection::on_read>;
    r_->write_event_handler = on_event<&Connection::on_write>;
}

void Connection::refuse_cursor() {
    take_over();
    write_raw(ws::encode_frame(ws::Opcode::text,
                               error_frame("INVALID_CURSOR", "unknown or pruned eventId")));
    close(ws::close_code::policy_violation, "invalid cursor");
}

void Connection::chunk(std::string_view bytes) {
    if (!r_->chunked) return write_raw(bytes);
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    out_.append(size, static_cast<std::size_t>(n));
    out_.append(bytes);
    out_.append("\r\n");
}

void Connection::send_sse(std::string_view event, std::string_view id, std::string_view data) {
    std::string e;
    e.reserve(data.size() + 64);
    if (!id.empty()) e.append("id: ").append(id).append("\n");
    e.append("event: ").append(event).append("\ndata: ").append(data).append("\n\n");
    chunk(e);
}

void Connection::write_raw(std::string_view bytes) {
    out_.append(bytes);
    ends_.push_back(out_.size());
}

// Drops every frame not begun: what a client that does not read gets
// before its close frame is the rest of the frame it is in, no more.
void Connection::drop_unsent_frames() {
    std::size_t start = 0, cut = out_.size();
    for (std::size_t end : ends_) {
        bool begun = sent_ > start || (start == 0 && partial_head_);
        if (sent_ < end) {
            cut = begun ? end : start;
            break;
        }
        start = end;
    }
    out_.resize(cut);
    while (!ends_.empty() && ends_.back() > cut)
        ends_.pop_back();
}

void Connection::push(const StreamFrame& frame) {
    if (closing_) return;
    if (pending_output() + frame.json.size() > settings_.max_output) {
        count(Counter::stream_overflows);
        return close(1013, "client not reading: resume with since");
    }
    if (mode_ == Mode::sse) {
        send_sse(frame.type, frame.event_id, frame.json);
        return flush();
    }
    if (!out_.empty() || r_->out != nullptr) {
        write_raw(frame.ws);
        return flush();
    }
    // Nothing queued: straight from the hub's copy, queueing only what the
    // socket does not take (the common case copies nothing).
    ssize_t n = c_->send(c_, reinterpret_cast<u_char*>(const_cast<char*>(frame.ws.data())),
                         frame.ws.size());
    if (n == static_cast<ssize_t>(frame.ws.size())) return;
    if (n == NGX_ERROR || n == 0) return write_failed();
    std::size_t taken = n == NGX_AGAIN ? 0 : static_cast<std::size_t>(n);
    out_.assign(frame.ws, taken);
    ends_.push_back(out_.size());
    partial_head_ = taken > 0;
    if (ngx_handle_write_event(c_->write, 0) != NGX_OK) write_failed();
}

void Connection::flush() {
    // The response header (SSE) may still wait in nginx's own output.
    if (r_->out != nullptr) {
        if (ngx_http_output_filter(r_, nullptr) == NGX_ERROR) return write_failed();
        if (r_->out != nullptr) {
            if (ngx_handle_write_event(c_->write, 0) != NGX_OK) return write_failed();
            return;
        }
    }
    while (sent_ < out_.size()) {
        ssize_t n =
            c_->send(c_, reinterpret_cast<u_char*>(out_.data() + sent_), out_.size() - sent_);
        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c_->write, 0) != NGX_OK) return write_failed();
            break;
        }
        if (n <= 0) return write_failed();
        sent_ += static_cast<std::size_t>(n);
    }
    if (sent_ == out_.size()) {
        out_.clear();
        ends_.clear();
        sent_ = 0;
        partial_head_ = false;
    } else if (sent_ >= kCompactAt) {
        // The frame sent_ is in keeps only its rest (none: sent_ ends a frame).
        partial_head_ = std::find(ends_.begin(), ends_.end(), sent_) == ends_.end();
        out_.erase(0, sent_);
        while (!ends_.empty() && ends_.front() <= sent_)
            ends_.pop_front();
        for (std::size_t& end : ends_)
            end -= sent_;
        sent_ = 0;
    }
    if (closing_) {
        if (out_.empty() || c_->error) finish.post();
        return;
    }
    if (pending_output() == 0) stream_drained(*this);
}

// The socket is gone (or will not take the close frame in time): nothing
// more is written.
void Connection::write_failed() {
    c_->error = 1;
    out_.clear();
    ends_.clear();
    sent_ = 0;
    if (closing_) return finish.post();
    close(1006, "write failed");
}

void Connection::on_write() {
    if (c_->write->timedout) {
        c_->write->timedout = 0;
        return write_failed();
    }
    flush();
}

void Connection::close(std::uint16_t code, std::string_view reason) {
    if (closing_) return;
    closing_ = true;
    stream_leave(*this);
    if (ping.ev.timer_set) ngx_del_timer(&ping.ev);
    // A client that does not read gets no close frame queued behind what it
    // did not take; every other close says why.
    if (mode_ == Mode::websocket && code != 1006) {
        if (code == 1013) drop_unsent_frames();
        write_raw(ws::encode_close(code, reason));
    } else if (mode_ == Mode::sse && r_->chunked && code != 1006 && code != 1013) {
        out_.append("0\r\n\r\n");
    }
    ngx_log_error(NGX_LOG_INFO, c_->log, 0, "whatsapp stream: closed %d (%*s)", code, reason.size(),
                  reason.data());
    if (c_->error) {
        out_.clear();
        sent_ = 0;
        return finish.post();
    }
    flush();
    if (!out_.empty()) {
        // Give the close frame a moment to leave, no more.
        ngx_add_timer(c_->write, 1000);
    }
}

void Connection::on_ping() {
    if (closing_) return;
    ngx_msec_t interval = settings_.ping;
    if (mode_ == Mode::websocket) {
        if (ngx_current_msec - heard_ >= 2 * interval) return close(1001, "no pong");
        write_raw(ws::encode_frame(ws::Opcode::ping, {}));
        flush();
    } else {
        interval /= 2;
        chunk(": keepalive\n\n");
        flush();
    }
    if (!closing_) ngx_add_timer(&ping.ev, interval);
}

void Connection::on_read() {
    if (closing_) {
        // Drain until the connection goes; the client's answer to our close.
        u_char buf[1024];
        while (c_->recv(c_, buf, sizeof buf) > 0) {
        }
        return;
    }
    u_char buf[kReadChunk];
    std::vector<ws::Event> events;
    for (;;) {
        ssize_t n = c_->recv(c_, buf, sizeof buf);
        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(c_->read, 0) != NGX_OK) return close(1011, "read failed");
            return;
        }
        if (n == 0 || n == NGX_ERROR) {
            c_->error = 1;
            return close(1006, "client left");
        }
        heard_ = ngx_current_msec;
        if (mode_ == Mode::sse) continue;  // an event stream hears nothing
        events.clear();
        parser_.feed({reinterpret_cast<char*>(buf), static_cast<std::size_t>(n)}, events);
        for (const auto& e : events) {
            on_message(e);
            if (closing_) return;
        }
    }
}

void Connection::on_message(const ws::Event& e) {
    using Kind = ws::Event::Kind;
    switch (e.kind) {
        case Kind::ping: write_raw(ws::encode_frame(ws::Opcode::pong, e.payload)); return flush();
        case Kind::pong: return;
        case Kind::close: return close(e.code == 1005 ? 1000 : e.code, "closed by the client");
        case Kind::error: return close(e.code, e.reason);
        case Kind::message:
            if (e.opcode != ws::Opcode::text) return close(1003, "text frames only");
            return on_client_message(e.payload);
    }
}

void Connection::answer(std::string frame) {
    if (closing_) return;
    write_raw(ws::encode_frame(ws::Opcode::text, frame));
    flush();
}

void Connection::on_client_message(std::string_view json) {
    auto decoded = decode_client_message(json);
    if (!decoded) {
        const PipesError& e = decoded.error();
        return answer(reply_status_error(e));
    }
    PipesClientMessage& m = decoded.value();
    if (m.kind == PipesClientMessage::Kind::ping) return answer(pong_frame());
    if (!key->allows(Scope::messages_send)) {
        PipesError e = pipes_error_of(reply_error(KeyCheck::forbidden));
        e.conversation_id = m.conversation_id;
        return answer(reply_status_error(e));
    }
    auto send = socket_reply_request(m, conversation);
    if (!send) {
        const PipesError& e = send.error();
        return answer(reply_status_error(e));
    }
    std::weak_ptr<Connection*> weak = handle_;
    bool started = socket_send(keys, *key, std::move(send.value()), m.conversation_id,
                               [weak](std::string frame) {
                                   auto h = weak.lock();
                                   if (h && *h) (*h)->answer(std::move(frame));
                               });
    if (!started) {
        answer(
            reply_status_error(m.conversation_id, "the gateway is busy; retry", "UPSTREAM_ERROR"));
    }
}

// -- the request, before the upgrade --------------------------------------------------------

// A comma-separated header (Connection: keep-alive, Upgrade) holds token,
// in any case.
bool header_has_token(std::string_view value, std::string_view token) {
    std::size_t pos = 0;
    while (pos <= value.size()) {
        std::size_t end = value.find(',', pos);
        if (end == std::string_view::npos) end = value.size();
        std::string_view part = value.substr(pos, end - pos);
        while (!part.empty() && (part.front() == ' ' || part.front() == '\t'))
            part.remove_prefix(1);
        while (!part.empty() && (part.back() == ' ' || part.back() == '\t'))
            part.remove_suffix(1);
        if (part.size() == token.size() &&
            ngx_strncasecmp(reinterpret_cast<u_char*>(const_cast<char*>(part.data())),
                            reinterpret_cast<u_char*>(const_cast<char*>(token.data())),
                            token.size()) == 0) {
            return true;
        }
        pos = end + 1;
    }
    return false;
}

ngx_int_t refuse(ngx_http_request_t* r, int status, std::string_view code,
                 std::string_view message) {
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (RequestCtx* ctx = request_ctx(r)) ctx->error = pool_str(r->pool, code);
    PipesError e;
    e.http_status = status;
    e.code = code;
    e.message = message;
    return send_body(r, static_cast<ngx_uint_t>(status), "application/json", pipes_error_json(e));
}

std::string query_arg(ngx_http_request_t* r, std::string_view name) {
    ngx_str_t value;
    if (ngx_http_arg(r, reinterpret_cast<u_char*>(const_cast<char*>(name.data())), name.size(),
                     &value) != NGX_OK) {
        return {};
    }
    std::string out(value.len, '\0');
    auto* dst = reinterpret_cast<u_char*>(out.data());
    u_char* src = value.data;
    ngx_unescape_uri(&dst, &src, value.len, 0);
    out.resize(static_cast<std::size_t>(dst - reinterpret_cast<u_char*>(out.data())));
    return out;
}

std::string new_connection_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    Uuid u = uuid_v7_now();
    return typeid_encode("wsc", u);
}

// The resume cursor: ?since= (WebSocket), Last-Event-ID or ?lastEventId= (SSE).
std::string resume_cursor(ngx_http_request_t* r, Mode mode) {
    if (mode == Mode::websocket) return query_arg(r, "since");
    std::string_view header = header_in(r, "Last-Event-ID");
    if (!header.empty()) return std::string(header);
    return query_arg(r, "lastEventId");
}

// Checks the narrowing conversation and the cursor against the store.
// nullopt: admitted; otherwise the refusal (status, code, message).
struct Refusal {
    int status;
    std::string code, message;
};

std::optional<Refusal> admit(ngx_http_request_t* r, Mode mode, const ApiKey& key,
                             StreamClient& client, std::optional<std::int64_t>& since) {
    client.tenant = key.tenant;
    client.conversation = key.conversation;
    std::string wanted = query_arg(r, "conversationId");
    Worker* w = worker();
    if (w == nullptr) return Refusal{503, "SERVICE_UNAVAILABLE", "the store is unavailable"};
    auto txn = w->store->begin_read();
    if (!txn) return Refusal{503, "SERVICE_UNAVAILABLE", "the store is unavailable"};
    if (!wanted.empty()) {
        auto id = typeid_decode_as("conv", wanted);
        std::optional<Conversation> found;
        if (id) {
            auto got = tenant_conversation(*txn, *id, key.tenant, key.conversation);
            if (!got) return Refusal{503, "SERVICE_UNAVAILABLE", "the store is unavailable"};
            found = std::move(*got);
        }
        if (!found) {
            return Refusal{403, "CONVERSATION_SCOPE_VIOLATION",
                           "the key may not stream this conversation"};
        }
        client.conversation = found->id;
    }
    std::string cursor = resume_cursor(r, mode);
    if (!cursor.empty()) {
        auto stamp = parse_stream_event_id(cursor);
        bool known = false;
        if (stamp) {
            auto has = stream_has(*txn, key.tenant, *stamp);
            if (!has) return Refusal{503, "SERVICE_UNAVAILABLE", "the store is unavailable"};
            known = *has;
        }
        if (!known) return Refusal{0, "INVALID_CURSOR", "unknown or pruned eventId"};
        since = *stamp;
    }
    return std::nullopt;
}

ngx_int_t send_handshake(ngx_http_request_t* r, Mode mode) {
    if (mode == Mode::websocket) {
        std::string accept = ws::accept_key(header_in(r, "Sec-WebSocket-Key"));
        if (!add_header_out(r, "Upgrade", "websocket") ||
            !add_header_out(r, "Sec-WebSocket-Accept", accept)) {
            return NGX_ERROR;
        }
        r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
        ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
        r->header_only = 1;
    } else {
        r->headers_out.status = NGX_HTTP_OK;
        ngx_str_set(&r->headers_out.content_type, "text/event-stream; charset=utf-8");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        if (!add_header_out(r, "Cache-Control", "no-cache") ||
            !add_header_out(r, "X-Accel-Buffering", "no")) {
            return NGX_ERROR;
        }
    }
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;
    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || mode == Mode::websocket) return rc;
    // The header of an event stream waits for a body (postpone_output):
    // flush it now, before the stream writes on the socket itself.
    auto* b = static_cast<ngx_buf_t*>(ngx_pcalloc(r->pool, sizeof(ngx_buf_t)));
    if (b == nullptr) return NGX_ERROR;
    b->flush = 1;
    ngx_chain_t out{b, nullptr};
    rc = ngx_http_output_filter(r, &out);
    return rc == NGX_AGAIN ? NGX_OK : rc;
}

// Which protocol the request asks for; nullopt: neither (426).
std::optional<Mode> mode_of(ngx_http_request_t* r) {
    if (header_has_token(header_in(r, "Upgrade"), "websocket") &&
        header_has_token(header_in(r, "Connection"), "upgrade")) {
        return Mode::websocket;
    }
    if (header_in(r, "Accept").find("text/event-stream") != std::string_view::npos) {
        return Mode::sse;
    }
    return std::nullopt;
}

ngx_int_t start(ngx_http_request_t* r, Mode mode, const KeyAuth& auth) {
    StreamSettings settings = settings_of(r);
    auto* conn = pool_new<Connection>(r->pool, r, mode, settings);
    if (conn == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    conn->keys = main_conf(r)->api_keys;
    conn->key = auth.key;
    conn->connection_id = new_connection_id();
    std::optional<std::int64_t> since;
    if (auto refused = admit(r, mode, *auth.key, *conn, since)) {
        if (refused->code != "INVALID_CURSOR") {
            return refuse(r, refused->status, refused->code, refused->message);
        }
        if (mode == Mode::sse) return refuse(r, 400, refused->code, refused->message);
        conn->cursor_refused = true;
    }
    RequestCtx* ctx = request_ctx(r);
    if (ctx == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ctx->tenant = pool_str(r->pool, auth.key->tenant);
    ngx_int_t rc = send_handshake(r, mode);
    if (rc == NGX_ERROR || rc > NGX_OK)
        return rc == NGX_ERROR ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc;
    r->header_only = 0;
    r->main->count++;
    ctx->handler_state = conn;
    // Bytes the client sent right after its handshake are in nginx's header buffer.
    std::string_view early;
    if (r->header_in && r->header_in->pos < r->header_in->last) {
        early = {reinterpret_cast<char*>(r->header_in->pos),
                 static_cast<std::size_t>(r->header_in->last - r->header_in->pos)};
        r->header_in->pos = r->header_in->last;
    }
    if (conn->cursor_refused) {
        conn->refuse_cursor();
        return NGX_DONE;
    }
    stream_join(*conn, since);
    conn->open(early);
    return NGX_DONE;
}

ngx_int_t stream_handler(ngx_http_request_t* r) noexcept {
    try {
        tag_request_log(r);
        if (!(r->method & NGX_HTTP_GET)) {
            return refuse(r, 405, "METHOD_NOT_ALLOWED", "the stream is a GET");
        }
        if (r->stream != nullptr || r->http_version < NGX_HTTP_VERSION_11) {
            return refuse(r, 426, "UPGRADE_REQUIRED", "WebSocket needs HTTP/1.1");
        }
        auto mode = mode_of(r);
        if (!mode) {
            add_header_out(r, "Upgrade", "websocket");
            return refuse(r, 426, "UPGRADE_REQUIRED",
                          "connect with a WebSocket upgrade or Accept: text/event-stream");
        }
        if (*mode == Mode::websocket) {
            if (header_in(r, "Sec-WebSocket-Version") != "13") {
                add_header_out(r, "Sec-WebSocket-Version", "13");
                return refuse(r, 426, "UPGRADE_REQUIRED", "Sec-WebSocket-Version must be 13");
            }
            if (!ws::valid_client_key(header_in(r, "Sec-WebSocket-Key"))) {
                return refuse(r, 400, "INVALID_REQUEST", "bad Sec-WebSocket-Key");
            }
        }
        KeyAuth auth = authorize_stream(r, Scope::events_stream);
        if (auth.check == KeyCheck::missing || auth.check == KeyCheck::invalid) {
            return refuse(r, 401, "UNAUTHORIZED", "a valid API key is required");
        }
        if (auth.check == KeyCheck::forbidden) {
            return refuse(r, 403, "FORBIDDEN", "the key lacks the events:stream scope");
        }
        return start(r, *mode, auth);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp stream: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

}  // namespace

KeyAuth authorize_stream(ngx_http_request_t* r, Scope needed) {
    std::string_view header = header_in(r, "Authorization");
    if (!header.empty()) return authorize_request(r, needed);
    std::string key = query_arg(r, "apiKey");
    if (key.empty()) return authorize_request(r, needed);
    static const ApiKeys kNoKeys;
    MainConf* mcf = main_conf(r);
    const ApiKeys& keys = mcf->api_keys ? *mcf->api_keys : kNoKeys;
    return keys.authorize("Bearer " + key, needed);
}

char* stream_directive(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* lcf = static_cast<LocConf*>(conf);
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = stream_handler;
    auto* args = static_cast<ngx_str_t*>(cf->args->elts);
    for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
        std::string_view a = view(args[i]);
        if (a.starts_with("ping=")) {
            ngx_str_t v{a.size() - 5, args[i].data + 5};
            ngx_msec_t ms = ngx_parse_time(&v, 0);
            if (ms == static_cast<ngx_msec_t>(NGX_ERROR) || ms < 10) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid \"ping\" in \"whatsapp_stream\"");
                return static_cast<char*>(NGX_CONF_ERROR);
            }
            lcf->stream_ping = ms;
        } else if (a.starts_with("max_output=")) {
            ngx_str_t v{a.size() - 11, args[i].data + 11};
            ssize_t size = ngx_parse_size(&v);
            if (size == NGX_ERROR || size < 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"max_output\" in \"whatsapp_stream\"");
                return static_cast<char*>(NGX_CONF_ERROR);
            }
            lcf->stream_max_output = static_cast<std::size_t>(size);
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"whatsapp_stream\"", &args[i]);
            return static_cast<char*>(NGX_CONF_ERROR);
        }
    }
    // A reply over the socket is a send: its subrequests need the internal locations.
    return send_location_directive(cf, conf);
}

}  // namespace wa::ngx
