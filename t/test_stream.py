"""§8.1-8.2: the realtime stream — the handshake and its refusals, frames with Pipes.bot's
fields for inbound messages and statuses, fan-out across both workers in store order with
tenants kept apart, resume with since / Last-Event-ID (no gap or duplicate at the seam, also
across a reload and a SIGKILL), backpressure (1013) and liveness, SSE, replies over the socket
through the one send path with every reply_status code, and protocol errors on raw frames.
The happy paths also run with a real client library (Python's websockets)."""

import asyncio
import json
import socket
import time

import pytest

import helpers as H
from helpers import CUSTOMER, NUMBER, PHONE_NUMBER_ID, TENANT, api_key, number_block
from tools import cloudapi_sim as sim
import ws_client as W

PATH = "/v1/stream"
STREAM_SECRET, STREAM_LINE = api_key("bot", scopes="events:stream,messaging:messages:send")
READONLY_SECRET, READONLY_LINE = api_key("watcher", scopes="events:stream")
NOSCOPE_SECRET, NOSCOPE_LINE = api_key("sender", scopes="messaging:messages:send")
GLOBEX_SECRET, GLOBEX_LINE = api_key("globex-bot", tenant="globex",
                                     scopes="events:stream,messaging:messages:send")
GLOBEX_NUMBER, GLOBEX_PNID = "+15550783999", "106540352249999"
GLOBEX_CUSTOMER = "33687654321"


def stream_conf(nginx, graph, stream_args="ping=30s", extra_keys=(), numbers_extra="",
                http_extra_more="", server_more="", **conf):
    graph.expected_token = H.ACCESS_TOKEN
    numbers = number_block() + "\n    " + number_block(
        number=GLOBEX_NUMBER, phone_number_id=GLOBEX_PNID, tenant="globex") + numbers_extra
    ng = nginx(start=False, numbers=numbers,
               http_extra="whatsapp_api_keys @PREFIX@/api.keys;\n    " + http_extra_more,
               server_extra="location = %s { whatsapp_stream %s; add_header X-Worker $pid always; }"
               % (PATH, stream_args) + "\n        " + server_more, **conf)
    H.write_keys(ng.prefix, [STREAM_LINE, READONLY_LINE, NOSCOPE_LINE, GLOBEX_LINE]
                 + list(extra_keys))
    ng.start()
    return ng


@pytest.fixture
def gw(nginx, graph):
    return stream_conf(nginx, graph)


def connect(gw, key=STREAM_SECRET, query="", headers=None, **kw):
    q = "?apiKey=" + key if key else ""
    if query:
        q += ("&" if q else "?") + query
    ws = W.RawSocket(gw.port, PATH + q, headers=headers, **kw)
    hello = ws.recv_json()
    assert hello["type"] == "connected", hello
    return ws, hello


def inbound(gw, text, from_=CUSTOMER, pnid=PHONE_NUMBER_ID, name=None):
    st, body = H.post(gw, H.text_body(text=text, from_=from_, phone_number_id=pnid, name=name))
    assert st == 200, body


def messages(ws, n, timeout=10.0):
    out = []
    while len(out) < n:
        f = ws.recv_json(timeout=timeout)
        if f["type"] in ("whatsapp_message", "message_status"):
            out.append(f)
    return out


def refused(gw, **kw):
    with pytest.raises(W.HandshakeRefused) as e:
        W.RawSocket(gw.port, **kw)
    return e.value


# ---- handshake ---------------------------------------------------------------------------------

def test_refusals_before_the_upgrade(gw):
    assert refused(gw, path=PATH).status == 401
    assert refused(gw, path=PATH + "?apiKey=wa_nope").status == 401
    e = refused(gw, path=PATH + "?apiKey=" + NOSCOPE_SECRET)
    assert e.status == 403 and json.loads(e.body)["code"] == "FORBIDDEN"
    e = refused(gw, path=PATH + "?apiKey=" + STREAM_SECRET,
                headers={"Sec-WebSocket-Version": "8"})
    assert e.status == 426 and e.headers.get("sec-websocket-version") == "13"
    e = refused(gw, path=PATH + "?apiKey=" + STREAM_SECRET,
                headers={"Sec-WebSocket-Key": "short"})
    assert e.status == 400
    # Neither an upgrade nor an event stream.
    st, _, _ = H.http_request("GET", gw.url(PATH + "?apiKey=" + STREAM_SECRET))
    assert st == 426
    st, _, _ = H.http_request("POST", gw.url(PATH), b"{}",
                              {"Authorization": "Bearer " + STREAM_SECRET})
    assert st == 405


def test_bearer_header_works_and_connected_says_who(gw):
    ws, hello = connect(gw, key=None, headers={"Authorization": "Bearer " + STREAM_SECRET})
    assert hello["userId"] == TENANT and hello["scope"] == "user"
    assert hello["connectionId"] and "conversationId" not in hello
    ws.close()


def test_conversation_scope_by_query_and_foreign_conversation_refused(gw):
    ws, _ = connect(gw)
    inbound(gw, "hi")
    conv = messages(ws, 1)[0]["data"]["conversationId"]
    ws.close()
    scoped, hello = connect(gw, query="conversationId=" + conv)
    assert hello["scope"] == "conversation" and hello["conversationId"] == conv
    scoped.close()
    # Another tenant's key naming acme's conversation, and an unknown one: 403, no upgrade.
    assert refused(gw, path=PATH + "?apiKey=%s&conversationId=%s" % (GLOBEX_SECRET, conv)).status == 403
    assert refused(gw, path=PATH + "?apiKey=%s&conversationId=conv_nope" % STREAM_SECRET).status == 403


# ---- frames and fan-out ------------------------------------------------------------------------

def test_whatsapp_message_frame_has_pipes_fields(gw):
    ws, _ = connect(gw)
    inbound(gw, "hello there", name="Ada")
    f = messages(ws, 1)[0]
    assert f["type"] == "whatsapp_message"
    d = f["data"]
    assert H.is_typeid(d["messageId"], "im") and H.is_typeid(d["conversationId"], "conv")
    assert d["poolNumberId"] == PHONE_NUMBER_ID and d["poolNumberPhoneNumber"] == NUMBER
    assert d["fromNumber"] == "+" + CUSTOMER and d["fromName"] == "Ada"
    assert d["text"] == d["body"] == "hello there" and d["type"] == "text"
    H.rfc3339_to_epoch(d["timestamp"])
    assert d["eventId"].startswith("se_")
    ws.close()


def test_every_client_on_both_workers_gets_every_message_in_store_order_once(gw):
    # Which worker accepts a connection is the kernel's choice, and one
    # worker may take many in a row: connect until each holds four.
    clients, per_worker = [], {}
    for _ in range(400):
        if len(per_worker) == 2 and all(len(v) == 4 for v in per_worker.values()):
            break
        ws, _ = connect(gw)
        held = per_worker.setdefault(ws.headers.get("x-worker"), [])
        if len(held) == 4:
            ws.close()
            continue
        held.append(ws)
        clients.append(ws)
    workers = set(per_worker)
    others = [connect(gw, key=GLOBEX_SECRET)[0] for _ in range(4)]
    assert len(workers) == 2, "the clients all landed on one worker: %r" % workers
    assert len(clients) == 8
    n = 30
    import threading
    threads = [threading.Thread(target=inbound, args=(gw, "m%d" % i)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = []
    for ws in clients:
        got = messages(ws, n)
        ids = [f["data"]["eventId"] for f in got]
        assert ids == sorted(ids) and len(set(ids)) == n
        assert sorted(f["data"]["text"] for f in got) == sorted("m%d" % i for i in range(n))
        seqs.append(ids)
    assert all(s == seqs[0] for s in seqs), "clients saw different orders"
    # globex's clients saw none of it: their next frame is their own tenant's message.
    inbound(gw, "for globex", from_=GLOBEX_CUSTOMER, pnid=GLOBEX_PNID)
    for ws in others:
        f = messages(ws, 1)[0]
        assert f["data"]["text"] == "for globex" and f["data"]["poolNumberId"] == GLOBEX_PNID
    for ws in clients:
        with pytest.raises(socket.timeout):
            ws.recv_json(timeout=0.5)
    for ws in clients + others:
        ws.close()


def test_conversation_scoped_connection_sees_only_its_conversation(gw):
    ws, _ = connect(gw)
    inbound(gw, "from a", from_="33600000001")
    conv_a = messages(ws, 1)[0]["data"]["conversationId"]
    scoped, _ = connect(gw, query="conversationId=" + conv_a)
    inbound(gw, "from b", from_="33600000002")
    inbound(gw, "a again", from_="33600000001")
    assert [f["data"]["text"] for f in messages(ws, 2)] == ["from b", "a again"]
    assert messages(scoped, 1)[0]["data"]["text"] == "a again"
    ws.close()
    scoped.close()


def test_status_changes_come_as_message_status(gw, graph):
    ws, _ = connect(gw)
    inbound(gw, "hi")
    conv = messages(ws, 1)[0]["data"]["conversationId"]
    ws.send_json({"type": "whatsapp_reply", "data": {"conversationId": conv, "text": "hello"}})
    rs = ws.recv_json()
    assert rs["type"] == "reply_status" and rs["data"]["success"] is True, rs
    tx = rs["data"]["messageId"]
    wamid = graph.requests[-1]["wamid"]
    st, _ = H.post(gw, sim.webhook(PHONE_NUMBER_ID, H.DISPLAY_PHONE, [], statuses=[
        sim.status(wamid, CUSTOMER, "delivered")]))
    assert st == 200
    f = messages(ws, 1)[0]
    assert f["type"] == "message_status", f
    assert f["data"]["messageId"] == tx and f["data"]["status"] == "delivered"
    assert f["data"]["conversationId"] == conv and f["data"]["eventId"].startswith("se_")
    ws.close()


# ---- resume ------------------------------------------------------------------------------------

def cursor_after(gw, text, key=STREAM_SECRET):
    """The eventId of one inbound message, from a client that then leaves."""
    ws, _ = connect(gw, key=key)
    inbound(gw, text)
    last = messages(ws, 1)[0]["data"]["eventId"]
    ws.close()
    return last


def test_resume_replays_exactly_what_was_missed_then_goes_live(gw):
    last = cursor_after(gw, "before")
    for i in range(50):
        inbound(gw, "missed %d" % i)
    again, _ = connect(gw, query="since=" + last)
    got = messages(again, 50)
    assert [f["data"]["text"] for f in got] == ["missed %d" % i for i in range(50)]
    inbound(gw, "live")
    live = messages(again, 1)[0]
    assert live["data"]["text"] == "live"
    assert live["data"]["eventId"] > got[-1]["data"]["eventId"]
    with pytest.raises(socket.timeout):
        again.recv_json(timeout=0.5)
    again.close()


def test_resume_while_messages_keep_coming_has_no_gap_or_duplicate(gw):
    last = cursor_after(gw, "first")
    for i in range(20):
        inbound(gw, "old %d" % i)
    import threading
    writer = threading.Thread(target=lambda: [inbound(gw, "new %d" % i) for i in range(20)])
    writer.start()
    again, _ = connect(gw, query="since=" + last)
    writer.join()
    got = [f["data"]["text"] for f in messages(again, 40)]
    assert got == ["old %d" % i for i in range(20)] + ["new %d" % i for i in range(20)]
    again.close()


def test_unknown_cursor_is_invalid_cursor_and_1008(gw):
    ws = W.RawSocket(gw.port, PATH + "?apiKey=%s&since=se_0000000000000001" % STREAM_SECRET)
    f = ws.recv_json()
    assert f == {"type": "error", "code": "INVALID_CURSOR", "message": f["message"]}
    assert ws.wait_close() == 1008
    for bad in ("garbage", "se_zz"):
        ws = W.RawSocket(gw.port, PATH + "?apiKey=%s&since=%s" % (STREAM_SECRET, bad))
        assert ws.recv_json()["code"] == "INVALID_CURSOR"
        assert ws.wait_close() == 1008


def test_a_cursor_of_another_tenant_is_unknown(gw):
    cursor = cursor_after(gw, "acme's")
    other = W.RawSocket(gw.port, PATH + "?apiKey=%s&since=%s" % (GLOBEX_SECRET, cursor))
    assert other.recv_json()["code"] == "INVALID_CURSOR"


def test_reload_closes_with_1001_and_clients_resume_losslessly(gw):
    ws, _ = connect(gw)
    inbound(gw, "before reload")
    last = messages(ws, 1)[0]["data"]["eventId"]
    gw.reload()
    assert ws.wait_close(timeout=10 * H.TIMEOUT_SCALE) == 1001
    for i in range(5):
        inbound(gw, "during %d" % i)
    again, _ = connect(gw, query="since=" + last)
    assert [f["data"]["text"] for f in messages(again, 5)] == ["during %d" % i for i in range(5)]
    again.close()


@pytest.fixture
def killable(nginx, graph):
    return stream_conf(nginx, graph, allow_log=[r"worker process \d+ exited on signal 9"])


def test_sigkill_of_a_worker_loses_nothing_for_its_clients(killable):
    gw = killable
    ws, _ = connect(gw)
    inbound(gw, "before kill")
    last = messages(ws, 1)[0]["data"]["eventId"]
    pid = int(ws.headers["x-worker"])
    gw.kill_worker(pid)
    with pytest.raises((EOFError, ConnectionError)):
        ws.recv_json(timeout=10)
    gw.wait_respawn(pid)
    for i in range(5):
        inbound(gw, "after %d" % i)
    again, _ = connect(gw, query="since=" + last)
    assert [f["data"]["text"] for f in messages(again, 5)] == ["after %d" % i for i in range(5)]
    again.close()


def test_retention_prunes_stream_history_and_its_cursors_become_invalid(nginx, graph):
    gw = stream_conf(nginx, graph, http_extra_more="whatsapp_retention 3s;")
    cursor = cursor_after(gw, "soon gone")
    H.wait_metric(gw, lambda m: H.metric(m, "whatsapp_pruned_total", kind="stream") >= 1,
                  timeout=20 * H.TIMEOUT_SCALE, what="the stream entry pruned")
    late = W.RawSocket(gw.port, PATH + "?apiKey=%s&since=%s" % (STREAM_SECRET, cursor))
    assert late.recv_json()["code"] == "INVALID_CURSOR"
    assert late.wait_close() == 1008


# ---- backpressure and liveness -----------------------------------------------------------------

def big_batch(n, size, from_=CUSTOMER):
    msgs = [sim.text_message(sim.new_wamid(), from_, ("x%d " % i) + "y" * size) for i in range(n)]
    return sim.webhook(PHONE_NUMBER_ID, H.DISPLAY_PHONE, msgs)


def test_a_client_that_stops_reading_is_closed_with_1013_and_others_do_not_wait(nginx, graph):
    gw = stream_conf(nginx, graph, stream_args="ping=30s max_output=64k", workers=1)
    stalled = W.RawSocket(gw.port, PATH + "?apiKey=" + STREAM_SECRET, rcvbuf=4096)
    reader, _ = connect(gw)
    sent = 0
    # Each batch is 50 messages of ~3 KiB: the reader takes each batch as it comes, while the
    # stalled client's kernel buffers fill and then its bound is passed.
    for _ in range(60):
        st, body = H.post(gw, big_batch(50, 3000))
        assert st == 200, body
        got = messages(reader, 50)
        sent += 50
        assert len(got) == 50
        m = H.metrics(gw)
        if H.metric(m, "whatsapp_stream_overflows_total") >= 1:
            break
    H.wait_metric(gw, lambda m: H.metric(m, "whatsapp_stream_overflows_total") == 1,
                  what="the stalled client closed")
    # The stalled client, reading now, finds whole frames and then the 1013 close.
    codes = None
    try:
        while True:
            op, payload = stalled.recv_frame(timeout=10)
            if op == W.CLOSE:
                codes = stalled.close_code
                break
            assert op == W.TEXT
            json.loads(payload)
    except EOFError:
        pass
    assert codes == 1013
    H.wait_metric(gw, lambda m: H.metric(m, "whatsapp_stream_connections") == 1,
                  what="one connection left")
    reader.close()


@pytest.fixture
def fast_ping(nginx, graph):
    return stream_conf(nginx, graph, stream_args="ping=1s")


def test_a_silent_client_is_closed_after_two_pings_a_live_one_stays(fast_ping):
    gw = fast_ping
    silent = W.RawSocket(gw.port, PATH + "?apiKey=" + STREAM_SECRET, auto_pong=False)
    assert silent.recv_json()["type"] == "connected"

    async def live_client(done):
        import websockets
        async with websockets.connect("ws://127.0.0.1:%d%s?apiKey=%s"
                                      % (gw.port, PATH, STREAM_SECRET)) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "connected"
            await asyncio.get_running_loop().run_in_executor(None, done)
            assert ws.open  # its pongs kept it alive meanwhile

    def silent_closed():
        # Read pings but never answer: closed (1001) after two intervals.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            op, _ = silent.recv_frame(timeout=10)
            if op == W.CLOSE:
                assert silent.close_code == 1001
                return
        raise AssertionError("the silent client was not closed")

    asyncio.run(live_client(silent_closed))


# ---- SSE ---------------------------------------------------------------------------------------

class Sse:
    def __init__(self, gw, headers=None, query=""):
        self.sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        h = {"Host": "127.0.0.1", "Accept": "text/event-stream",
             "Authorization": "Bearer " + STREAM_SECRET}
        h.update(headers or {})
        self.sock.sendall(("GET %s%s HTTP/1.1\r\n" % (PATH, query) + "".join(
            "%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode())
        self.status, self.headers, rest = W._read_http_head(self.sock)
        self.raw = rest
        self.text = ""
        self.comments = 0

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.raw += chunk
        # De-chunk what is complete.
        while True:
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return
            size = int(line, 16)
            if len(rest) < size + 2:
                return
            self.text += rest[:size].decode()
            self.raw = rest[size + 2:]

    def event(self, timeout=10, comments=False):
        """The next event's fields; with comments, a comment block too ({":": text})."""
        self.sock.settimeout(timeout)
        while True:
            while "\n\n" in self.text:
                block, _, self.text = self.text.partition("\n\n")
                fields = {}
                for line in block.split("\n"):
                    if line.startswith(":"):
                        self.comments += 1
                        if comments:
                            return {":": line[1:].strip()}
                        continue
                    k, _, v = line.partition(": ")
                    fields[k] = v
                if fields:
                    return fields
            self._more()


def test_sse_stream_events_heartbeats_and_resume(fast_ping):
    gw = fast_ping
    s = Sse(gw)
    assert s.status == 200 and s.headers["content-type"].startswith("text/event-stream")
    assert s.event()["event"] == "connected"
    inbound(gw, "over sse")
    e = s.event()
    assert e["event"] == "whatsapp_message" and e["id"].startswith("se_")
    assert json.loads(e["data"])["data"]["text"] == "over sse"
    # ping=1s: a comment every half second keeps proxies from closing it.
    assert s.event(timeout=3, comments=True) == {":": "keepalive"}
    inbound(gw, "later")
    e2 = s.event(timeout=5)
    s.sock.close()
    for i in range(3):
        inbound(gw, "missed %d" % i)
    r = Sse(gw, headers={"Last-Event-ID": e2["id"]})
    assert r.event()["event"] == "connected"
    assert [json.loads(r.event()["data"])["data"]["text"] for _ in range(3)] == [
        "missed %d" % i for i in range(3)]
    r.sock.close()
    q = Sse(gw, query="?lastEventId=" + e["id"])
    q.event()
    assert json.loads(q.event()["data"])["data"]["text"] == "later"
    q.sock.close()
    bad = Sse(gw, query="?lastEventId=se_0000000000000001")
    assert bad.status == 400


# ---- replies over the socket -------------------------------------------------------------------

def reply_over(ws, conv, text="thanks", **extra):
    data = {"conversationId": conv, "text": text}
    data.update(extra)
    ws.send_json({"type": "whatsapp_reply", "data": data})
    while True:
        f = ws.recv_json()
        if f["type"] == "reply_status":
            return f["data"]


def test_reply_over_the_socket_goes_through_the_send_path(gw, graph):
    ws, _ = connect(gw)
    inbound(gw, "hi")
    d = messages(ws, 1)[0]["data"]
    ok = reply_over(ws, d["conversationId"], poolNumberId=d["poolNumberId"],
                    toNumber=d["fromNumber"])
    assert ok["success"] is True and H.is_typeid(ok["messageId"], "tx")
    assert ok["conversationId"] == d["conversationId"]
    req = graph.requests[-1]
    assert req["body"]["to"].lstrip("+") == CUSTOMER and req["body"]["text"]["body"] == "thanks"
    # The wrong recipient or number: refused, nothing sent.
    n = len(graph.requests)
    bad = reply_over(ws, d["conversationId"], toNumber="+15550000000")
    assert bad["success"] is False and bad["code"] == "INVALID_REQUEST"
    bad = reply_over(ws, d["conversationId"], poolNumberId="999")
    assert bad["success"] is False and bad["code"] == "INVALID_REQUEST"
    assert len(graph.requests) == n
    ws.close()


def test_reply_status_codes(nginx, graph):
    gw = stream_conf(nginx, graph, window="2s")
    ws, _ = connect(gw)
    globex, _ = connect(gw, key=GLOBEX_SECRET)
    inbound(gw, "hi")
    conv = messages(ws, 1)[0]["data"]["conversationId"]
    inbound(gw, "theirs", from_=GLOBEX_CUSTOMER, pnid=GLOBEX_PNID)
    their_conv = messages(globex, 1)[0]["data"]["conversationId"]

    e = reply_over(ws, their_conv)
    assert e == {"conversationId": their_conv, "success": False, "code": "CONVERSATION_NOT_FOUND",
                 "error": e["error"]}
    assert reply_over(ws, "conv_nope")["code"] == "CONVERSATION_NOT_FOUND"
    ws.send(W.frame(W.TEXT, "not json"))
    f = ws.recv_json()
    assert f["type"] == "reply_status" and f["data"]["code"] == "INVALID_REQUEST"
    assert reply_over(ws, conv, text="")["code"] == "INVALID_REQUEST"
    assert reply_over(ws, conv, text="x" * 4097)["code"] == "INVALID_REQUEST"

    graph.fail(http_status=500, code=1, count=1)
    assert reply_over(ws, conv)["code"] == "UPSTREAM_ERROR"

    scoped, _ = connect(gw, query="conversationId=" + conv)
    inbound(gw, "other", from_="33600000009")
    other = messages(ws, 1)[0]["data"]["conversationId"]
    assert reply_over(scoped, other)["code"] == "CONVERSATION_SCOPE_VIOLATION"
    assert reply_over(scoped, conv)["success"] is True

    # The 2 s window of the first conversation runs out.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = reply_over(ws, conv)
        if not r["success"]:
            assert r["code"] == "SERVICE_WINDOW_EXPIRED", r
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the window never closed")
    for w in (ws, globex, scoped):
        w.close()


def slow_number(nginx, graph, settings):
    """A gateway with a third tenant whose number has the given settings; its client and the
    conversation of one inbound message."""
    extra = "\n    " + number_block(number="+15550783777", phone_number_id="106540352247777",
                                    tenant="slow").replace("}", "    %s\n    }" % settings)
    slow_secret, slow_line = api_key("slow-bot", tenant="slow",
                                     scopes="events:stream,messaging:messages:send")
    gw = stream_conf(nginx, graph, extra_keys=[slow_line], numbers_extra=extra)
    ws, _ = connect(gw, key=slow_secret)
    inbound(gw, "hi", pnid="106540352247777")
    return ws, messages(ws, 1)[0]["data"]["conversationId"]


def test_insufficient_balance_on_the_socket(nginx, graph):
    ws, conv = slow_number(nginx, graph, "credits 1;")
    assert reply_over(ws, conv)["success"] is True
    n = len(graph.requests)
    assert reply_over(ws, conv)["code"] == "INSUFFICIENT_BALANCE"
    assert len(graph.requests) == n
    ws.close()


def test_rate_limited_on_the_socket(nginx, graph):
    ws, conv = slow_number(nginx, graph, "rate 1r/s;")
    assert reply_over(ws, conv)["success"] is True
    n = len(graph.requests)
    # Within the same second: over 1r/s, never sent.
    assert reply_over(ws, conv)["code"] == "RATE_LIMITED"
    assert len(graph.requests) == n
    ws.close()


def test_upstream_timeout_on_the_socket_names_the_unknown_send(nginx, graph):
    from test_send_outcomes import SLOW_GRAPH
    gw = stream_conf(nginx, graph, server_more=SLOW_GRAPH["server_extra"] % graph.port,
                     http_extra_more=SLOW_GRAPH["http_extra"])
    ws, _ = connect(gw)
    inbound(gw, "hi")
    conv = messages(ws, 1)[0]["data"]["conversationId"]
    graph.hang_next(3)
    r = reply_over(ws, conv)
    assert r["success"] is False and r["code"] == "UPSTREAM_TIMEOUT", r
    assert H.is_typeid(r.get("messageId"), "tx"), r
    ws.close()


def test_a_key_without_send_scope_cannot_reply(gw, graph):
    ws, _ = connect(gw, key=READONLY_SECRET)
    inbound(gw, "hi")
    conv = messages(ws, 1)[0]["data"]["conversationId"]
    r = reply_over(ws, conv)
    assert r["success"] is False and r["code"] == "FORBIDDEN"
    assert graph.requests == []
    ws.close()


def test_the_websockets_library_receives_and_replies(gw, graph):
    async def run():
        import websockets
        async with websockets.connect("ws://127.0.0.1:%d%s" % (gw.port, PATH),
                                      extra_headers={"Authorization": "Bearer " + STREAM_SECRET}
                                      ) as ws:
            assert json.loads(await ws.recv())["type"] == "connected"
            await asyncio.get_running_loop().run_in_executor(None, inbound, gw, "echo me")
            msg = json.loads(await ws.recv())
            assert msg["type"] == "whatsapp_message"
            await ws.send(json.dumps({"type": "whatsapp_reply", "data": {
                "conversationId": msg["data"]["conversationId"],
                "poolNumberId": msg["data"]["poolNumberId"],
                "toNumber": msg["data"]["fromNumber"],
                "text": "You said: " + msg["data"]["body"]}}))
            status = json.loads(await ws.recv())
            assert status["type"] == "reply_status" and status["data"]["success"] is True
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv()) == {"type": "pong"}
            await ws.close()
            assert ws.close_code == 1000
    asyncio.run(run())
    assert graph.requests[-1]["body"]["text"]["body"] == "You said: echo me"


# ---- protocol errors on raw frames -------------------------------------------------------------

@pytest.mark.parametrize("data,code", [
    (W.frame(W.TEXT, "hi", mask=False), 1002),
    (W.frame(W.TEXT, "hi", rsv=1), 1002),
    (W.frame(3, "hi"), 1002),
    (W.frame(W.PING, "x" * 126), 1002),
    (W.frame(W.CONT, "orphan"), 1002),
    (W.frame(W.TEXT, b"\xff\xfe"), 1007),
    (W.frame(W.BINARY, b"\x01\x02"), 1003),
    (W.frame(W.TEXT, b"", length=2 * 1024 * 1024), 1009),
])
def test_protocol_errors_close_with_their_code(gw, data, code):
    ws, _ = connect(gw)
    ws.send(data)
    assert ws.wait_close() == code


def test_fragmented_message_ping_and_client_close(gw, graph):
    ws, _ = connect(gw)
    inbound(gw, "hi")
    conv = messages(ws, 1)[0]["data"]["conversationId"]
    body = json.dumps({"type": "whatsapp_reply", "data": {"conversationId": conv,
                                                          "text": "in three parts"}})
    ws.send(W.frame(W.TEXT, body[:10], fin=False))
    ws.send(W.frame(W.PING, "are you there"))
    op, payload = ws.recv_frame()
    assert op == W.PONG and payload == b"are you there"
    ws.send(W.frame(W.CONT, body[10:20], fin=False))
    ws.send(W.frame(W.CONT, body[20:], fin=True))
    f = ws.recv_json()
    assert f["type"] == "reply_status" and f["data"]["success"] is True
    ws.send(W.frame(W.CLOSE, b"\x03\xe8bye"))
    op, payload = ws.recv_frame()
    assert op == W.CLOSE and payload[:2] == b"\x03\xe8"
    ws.close()
