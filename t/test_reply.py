"""§6: POST /v2/notify/reply — keys, §6.2 rows in order, the Graph send, §6.3 mapping."""

import json
import re
import socket
import time

import pytest

import helpers as H
from conftest import free_port
from tools import cloudapi_sim as sim
from helpers import (ACCESS_TOKEN, CUSTOMER, NUMBER, PHONE_NUMBER_ID, REPLY_LOCATION, api_key,
                     assert_reply_error, metric, metrics, post, reply, text_body, wait_events,
                     wait_text, write_keys)

SEND_SECRET, SEND_LINE = api_key("app")
READ_SECRET, READ_LINE = api_key("reader", scopes="messaging:messages:read")
GLOBEX_SECRET, GLOBEX_LINE = api_key("globex-app", tenant="globex", scopes="*")
KEY_LINES = [SEND_LINE, READ_LINE, GLOBEX_LINE]
CUSTOMER_E164 = "+" + CUSTOMER


@pytest.fixture
def gateway(nginx, graph):
    """factory(**conf) -> started nginx with the reply location and the test keys."""
    graph.expected_token = ACCESS_TOKEN

    def make(keys=KEY_LINES, http_extra="", server_extra="", reply_location=REPLY_LOCATION,
             **conf):
        ng = nginx(start=False,
                   http_extra="whatsapp_api_keys @PREFIX@/api.keys;\n    " + http_extra,
                   server_extra=reply_location + "\n        " + server_extra, **conf)
        write_keys(ng.prefix, keys)
        ng.start()
        return ng
    return make


@pytest.fixture
def gw(gateway):
    return gateway()


def inbound(gw, receiver, text=None, from_=CUSTOMER, timestamp=None):
    """A customer message through the webhook; returns its inbound event."""
    text = text or "hi %f" % time.time()
    wamid = sim.new_wamid()
    assert post(gw, text_body(wamid, text=text, from_=from_, timestamp=timestamp))[0] == 200
    ev = wait_text(receiver, text)
    ev["_wamid"] = wamid  # not part of the event: what Meta called the message
    return ev


def reply_body(event, text="It comes in blue too.", **extra):
    body = {"to": event["payload"]["from"], "text": text,
            "reply_to": event["payload"]["message_id"]}
    body.update(extra)
    return body


def test_reply_sends_a_quoted_text_through_the_graph_api(gw, receiver, graph):
    ev = inbound(gw, receiver, "do you have it in blue?")
    status, headers, body = reply(gw, reply_body(ev), key=SEND_SECRET,
                                  headers={"Cookie": "session=s3cr3t", "X-Client": "app"})
    assert status == 200, body
    assert H.is_typeid(body["id"], "tx"), body
    assert body["to"] == CUSTOMER_E164
    assert body["text"] == "It comes in blue too."
    assert body["reply_to"] == ev["payload"]["message_id"]
    assert H.RFC3339_RE.match(body["created_at"]), body
    assert "callback_url" not in body and "correlation_id" not in body

    sends = graph.wait_for(1)
    assert len(sends) == 1
    s = sends[0]
    assert s["path"] == "/v21.0/%s/messages" % PHONE_NUMBER_ID
    inbound_wamid = ev["_wamid"]
    assert s["body"] == {"messaging_product": "whatsapp", "recipient_type": "individual",
                         "to": CUSTOMER_E164, "type": "text",
                         "text": {"body": "It comes in blue too."},
                         "context": {"message_id": inbound_wamid},
                         # §6.3: the tx_ id, echoed by Meta in status webhooks
                         "biz_opaque_callback_data": body["id"]}
    headers_sent = {k.lower(): v for k, v in s["headers"].items()}
    assert headers_sent["authorization"] == "Bearer " + ACCESS_TOKEN
    assert headers_sent["content-type"] == "application/json"
    assert SEND_SECRET not in json.dumps(s["headers"])
    assert "cookie" not in headers_sent and "x-client" not in headers_sent
    assert graph.violations == []

    created = wait_events(receiver, 1, type_="transactional.message.created")[0]
    assert created["payload"]["message_id"] == body["id"]
    assert created["payload"]["status"] == "created"
    assert created["payload"]["to"] == CUSTOMER_E164


# ---- row 1: keys ------------------------------------------------------------------------------

def test_row1_missing_unknown_and_unscoped_keys(gw, graph):
    assert_reply_error(reply(gw, {}), 401, "missing_api_token")
    assert_reply_error(reply(gw, {}, headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401,
                       "missing_api_token")
    assert_reply_error(reply(gw, {}, key="wa_not_a_key"), 401, "invalid_api_token")
    assert_reply_error(reply(gw, {}, key=READ_SECRET), 403, "forbidden")
    # Row 1 comes before row 2: a bad body with a bad key is a key error.
    assert_reply_error(reply(gw, None, raw=b"{not json", key="wa_not_a_key"), 401,
                       "invalid_api_token")
    assert graph.requests == []


def test_no_keys_file_means_every_key_is_unknown(nginx):
    ng = nginx(server_extra=REPLY_LOCATION)
    assert_reply_error(reply(ng, {}, key=SEND_SECRET), 401, "invalid_api_token")


def test_reload_picks_up_a_changed_keys_file(gateway, receiver):
    new_secret, new_line = api_key("rotated")
    gw = gateway(keys=[SEND_LINE])
    ev = inbound(gw, receiver)
    assert_reply_error(reply(gw, reply_body(ev), key=new_secret), 401, "invalid_api_token")
    write_keys(gw.prefix, [new_line])
    gw.reload()
    assert reply(gw, reply_body(ev), key=new_secret)[0] == 200
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 401, "invalid_api_token")


def test_bad_keys_file_fails_nginx_t(nginx_t, tmp_path):
    bad = tmp_path / "bad.keys"
    bad.write_text("app acme nothex messaging:messages:send\n")
    rc, err = nginx_t(nginx_t.render(http_extra="whatsapp_api_keys %s;" % bad,
                                     server_extra=REPLY_LOCATION))
    assert rc != 0
    assert "whatsapp_api_keys" in err and "line 1" in err and "nginx.conf:" in err, err
    rc, err = nginx_t(nginx_t.render(http_extra="whatsapp_api_keys %s/none.keys;" % tmp_path))
    assert rc != 0 and "cannot read" in err, err


# ---- rows 2-6: the request ----------------------------------------------------------------------

def test_row2_invalid_request(gw, graph):
    k = SEND_SECRET
    assert_reply_error(reply(gw, None, raw=b"{not json", key=k), 400, "invalid_request")
    assert_reply_error(reply(gw, None, raw=b"[1,2]", key=k), 400, "invalid_request")
    assert_reply_error(reply(gw, {"to": 33612345678, "text": "x", "reply_to": "im_x"}, key=k),
                       400, "invalid_request", param="to")
    assert_reply_error(reply(gw, {"to": "+33612345678", "text": ["x"], "reply_to": "im_x"},
                             key=k), 400, "invalid_request", param="text")
    assert_reply_error(reply(gw, {"to": "+33612345678", "text": "x"}, key=k), 400,
                       "invalid_request", param="reply_to")
    assert_reply_error(reply(gw, None, raw=b'{"to":"+1","to":"+2"}', key=k), 400,
                       "invalid_request")
    big = {"to": "+33612345678", "text": "x" * (70 * 1024), "reply_to": "im_x"}
    assert_reply_error(reply(gw, big, key=k), 400, "invalid_request")
    # The same without Content-Length (chunked) is caught after reading.
    status, _, body = chunked_reply(gw, json.dumps(big).encode(), k)
    assert (status, body["code"]) == (400, "invalid_request"), body
    assert graph.requests == []


def chunked_reply(gw, data, key):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        conn.putrequest("POST", H.REPLY_PATH)
        conn.putheader("Authorization", "Bearer " + key)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for i in range(0, len(data), 8192):
            part = data[i:i + 8192]
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        return resp.status, None, json.loads(resp.read())
    finally:
        conn.close()


def test_row3_missing_text(gw):
    for text in (None, "", "   \n\t ", "\u00a0\u200b"):
        body = {"to": "+33612345678", "reply_to": "im_x"}
        if text is not None:
            body["text"] = text
        assert_reply_error(reply(gw, body, key=SEND_SECRET), 400, "missing_text", param="text")


@pytest.mark.parametrize("text", ["\u200c\u200d", "\u00ad", "\u034f", "\u2061", "\u180e",
                                  " \u200d\u00a0\ufe0f\n"],
                         ids=["zwnj-zwj", "soft-hyphen", "cgj", "function-application",
                              "mongolian-vowel-separator", "mixed-with-spaces"])
def test_row3_invisible_text_is_missing_text_and_never_sent(gw, receiver, graph, text):
    # Unicode Default_Ignorable_Code_Point: nothing a customer would see.
    ev = inbound(gw, receiver)
    assert_reply_error(reply(gw, reply_body(ev, text=text), key=SEND_SECRET), 400,
                       "missing_text", param="text")
    assert graph.requests == []


def test_row3_emoji_with_variation_selector_is_sent(gw, receiver, graph):
    ev = inbound(gw, receiver)
    status, _, body = reply(gw, reply_body(ev, text="\u2764\ufe0f"), key=SEND_SECRET)
    assert status == 200, body
    assert graph.wait_for(1)[0]["body"]["text"] == {"body": "\u2764\ufe0f"}


def test_row4_text_limit_counts_characters_not_bytes(gw, receiver, graph):
    ev = inbound(gw, receiver)
    too_long = reply(gw, reply_body(ev, text="é" * 4097), key=SEND_SECRET)
    assert_reply_error(too_long, 400, "invalid_request", param="text")
    # 4096 two-byte characters (8192 bytes) are within the limit.
    status, _, body = reply(gw, reply_body(ev, text="é" * 4096), key=SEND_SECRET)
    assert status == 200, body
    assert graph.wait_for(1)[0]["body"]["text"]["body"] == "é" * 4096


@pytest.mark.parametrize("to", ["+3361234", "+999123456789", "33612345678",
                                "+33 6 12 34 56 78", "+33abc"])
def test_row5_invalid_phone_number(gw, to):
    assert_reply_error(reply(gw, {"to": to, "text": "x", "reply_to": "im_x"}, key=SEND_SECRET),
                       400, "invalid_phone_number", param="to")


@pytest.mark.parametrize("to", ["+33612345678", "+14155552671", "+2348012345678",
                                "+15550783881"])
def test_row5_possible_numbers_pass_to_row7(gw, to):
    # An unknown reply_to answers row 7: the number passed row 5.
    assert_reply_error(reply(gw, {"to": to, "text": "x", "reply_to": "im_x"}, key=SEND_SECRET),
                       404, "invalid_reply_context", param="reply_to")


def test_row6_correlation_id_limit(gw):
    body = {"to": "+33612345678", "text": "x", "reply_to": "im_x", "correlation_id": "c" * 81}
    assert_reply_error(reply(gw, body, key=SEND_SECRET), 400, "invalid_correlation_id",
                       param="correlation_id")
    body["correlation_id"] = "c" * 80
    assert_reply_error(reply(gw, body, key=SEND_SECRET), 404, "invalid_reply_context")


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/status",       # http to a public host
    "https://127.0.0.1/status",
    "https://10.0.0.1/status",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/status",
    "https://[::1]/status",
    "http://localhost/status",
    "https://localhost/status",
    "ftp://hooks.example.com/",
    "https://user:pw@hooks.example.com/",
])
def test_row6_callback_url_refused_by_default(gw, url):
    body = {"to": "+33612345678", "text": "x", "reply_to": "im_x", "callback_url": url}
    assert_reply_error(reply(gw, body, key=SEND_SECRET), 400, "invalid_callback_url",
                       param="callback_url")


def test_row6_allowed_range_may_use_http(gateway, receiver):
    gw = gateway(http_extra="whatsapp_callback_allow 127.0.0.0/8;")
    ev = inbound(gw, receiver)
    url = "http://127.0.0.1:%d/status" % receiver.port
    status, _, body = reply(gw, reply_body(ev, callback_url=url), key=SEND_SECRET)
    assert status == 200, body
    assert body["callback_url"] == url
    created = wait_events(receiver, 1, type_="transactional.message.created")[0]
    assert created["payload"]["message_id"] == body["id"]
    assert [d.path for d in receiver.deliveries
            if d.type == "transactional.message.created"] == ["/status"]


def test_bad_callback_allow_fails_nginx_t(nginx_t):
    rc, err = nginx_t(nginx_t.render(http_extra="whatsapp_callback_allow 10.0.0.0/33;"))
    assert rc != 0 and "whatsapp_callback_allow" in err and "nginx.conf:" in err, err


# ---- row 6: callback hostnames are judged after resolution ----------------------------------------

@pytest.fixture
def dns():
    from tools.dns_stub import DnsStub
    stub = DnsStub({"inside.test": ["10.1.2.3"], "loop.test": ["127.0.0.1"],
                    "mixed.test": ["127.0.0.1", "::1"], "nowhere.test": []}).start()
    yield stub
    stub.stop()


def test_row6_callback_host_resolving_to_refused_addresses(gateway, dns):
    gw = gateway(server_extra="resolver 127.0.0.1:%d ipv6=on valid=1s; resolver_timeout 3s;"
                 % dns.port)
    for host in ("inside.test", "loop.test", "mixed.test"):
        body = {"to": "+33612345678", "text": "x", "reply_to": "im_x",
                "callback_url": "https://%s/status" % host}
        assert_reply_error(reply(gw, body, key=SEND_SECRET), 400, "invalid_callback_url",
                           param="callback_url")
    for host in ("unknown.test", "nowhere.test"):
        body = {"to": "+33612345678", "text": "x", "reply_to": "im_x",
                "callback_url": "https://%s/status" % host}
        assert_reply_error(reply(gw, body, key=SEND_SECRET), 400, "invalid_callback_url")
    assert ("loop.test", 1) in dns.queries


def test_row6_callback_host_in_an_allowed_range_passes(gateway, dns, receiver):
    gw = gateway(http_extra="whatsapp_callback_allow 127.0.0.1 ::1;",
                 server_extra="resolver 127.0.0.1:%d ipv6=on valid=1s;" % dns.port)
    ev = inbound(gw, receiver)
    status, _, body = reply(gw, reply_body(ev, callback_url="https://mixed.test:1/status"),
                            key=SEND_SECRET)
    assert status == 200, body


def test_row6_callback_host_without_resolver_is_refused(gw):
    body = {"to": "+33612345678", "text": "x", "reply_to": "im_x",
            "callback_url": "https://hooks.example.com/status"}
    assert_reply_error(reply(gw, body, key=SEND_SECRET), 400, "invalid_callback_url")


# ---- rows 7-10: the store ---------------------------------------------------------------------------

def test_row7_unknown_malformed_and_foreign_contexts_look_the_same(gw, receiver, graph):
    ev = inbound(gw, receiver)
    answers = []
    for reply_to, key in (("nope", SEND_SECRET),
                          ("im_01h455vb4pex5vsknk084sn02q", SEND_SECRET),
                          ("tx_01h455vb4pex5vsknk084sn02q", SEND_SECRET),
                          (ev["payload"]["message_id"], GLOBEX_SECRET)):
        body = reply_body(ev)
        body["reply_to"] = reply_to
        answers.append(assert_reply_error(reply(gw, body, key=key), 404,
                                          "invalid_reply_context", param="reply_to"))
    assert len({a["message"] for a in answers}) == 1, answers
    assert graph.requests == []


def test_row7_key_limited_to_another_conversation(gateway, receiver):
    limited_secret, limited_line = api_key("limited",
                                           conversation="conv_01h455vb4pex5vsknk084sn02q")
    gw = gateway(keys=[SEND_LINE, limited_line])
    ev = inbound(gw, receiver)
    assert_reply_error(reply(gw, reply_body(ev), key=limited_secret), 404,
                       "invalid_reply_context")
    own_secret, own_line = api_key("own", conversation=ev["payload"]["conversation"]["id"])
    write_keys(gw.prefix, [own_line])
    gw.reload()
    assert reply(gw, reply_body(ev), key=own_secret)[0] == 200


def test_row8_phone_number_mismatch(gw, receiver, graph):
    ev = inbound(gw, receiver)
    body = reply_body(ev)
    body["to"] = "+33612345679"
    assert_reply_error(reply(gw, body, key=SEND_SECRET), 400, "phone_number_mismatch",
                       param="to")
    assert graph.requests == []


def test_row9_window_expired(gw, receiver, graph):
    ev = inbound(gw, receiver, timestamp=int(time.time()) - 25 * 3600)
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 422, "window_expired")
    assert graph.requests == []


def test_row10_credits(gateway, receiver, graph):
    gw = gateway(numbers=H.number_block(extra="credits 2;"))
    ev = inbound(gw, receiver)
    # A refused send takes no credit.
    graph.fail(400, 131026)
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 400, "invalid_request")
    assert reply(gw, reply_body(ev), key=SEND_SECRET)[0] == 200
    assert reply(gw, reply_body(ev), key=SEND_SECRET)[0] == 200
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 402, "insufficient_balance")
    assert len(graph.requests) == 3
    # Credits are kept in the store: a reload neither refunds nor forgets them.
    gw.reload()
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 402, "insufficient_balance")
    gw.reload(numbers=H.number_block(extra="credits 3;"))
    assert reply(gw, reply_body(ev), key=SEND_SECRET)[0] == 200


def test_row10_concurrent_replies_never_overspend(gateway, receiver, graph):
    import concurrent.futures
    gw = gateway(numbers=H.number_block(extra="credits 3;"), workers=2)
    ev = inbound(gw, receiver)
    graph.hang_next(0.5, count=20)  # keep sends in flight together
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: reply(gw, reply_body(ev), key=SEND_SECRET),
                                range(10)))
    statuses = sorted(r[0] for r in results)
    assert statuses.count(200) <= 3, statuses
    assert set(statuses) <= {200, 402}, results
    assert len(graph.requests) == statuses.count(200)


def test_row10_credits_taken_while_others_commit_are_each_taken_once(gateway, receiver, graph):
    """Sends answered quickly, so that commits and dropped holds in one worker
    interleave with credit checks in the other: no credit spent twice, none
    lost. (The exact interleaving that once overspent is unit-tested with an
    injected commit: TakeCreditSeesASendThatCommitsWhileHoldsAreCounted.)"""
    import concurrent.futures
    credits = 6
    gw = gateway(numbers=H.number_block(extra="credits %d;" % credits), workers=2)
    ev = inbound(gw, receiver)
    graph.hang_next(0.01, count=200)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: reply(gw, reply_body(ev), key=SEND_SECRET),
                                range(120)))
    statuses = [r[0] for r in results]
    assert set(statuses) <= {200, 402}, results
    assert statuses.count(200) <= credits, statuses
    # None lost either: a refusal while a hold drops is only for that moment.
    while reply(gw, reply_body(ev), key=SEND_SECRET)[0] == 200:
        statuses.append(200)
    assert statuses.count(200) == credits, statuses
    assert len(graph.requests) == credits


def test_rows_in_order(gateway, receiver):
    """Every row's condition at once: the lowest row answers, then the next, ..."""
    gw = gateway(numbers=H.number_block(extra="credits 0;"))
    old = inbound(gw, receiver, timestamp=int(time.time()) - 25 * 3600)
    body = {"to": "+3361234", "text": " ", "reply_to": "nope", "correlation_id": "c" * 81,
            "callback_url": "http://127.0.0.1/"}
    # (answer expected now, what to fix before the next request)
    expect = [(401, "missing_api_token", None), (400, "invalid_request", None),
              (400, "missing_text", {"text": "é" * 4097}), (400, "invalid_request", {"text": "x"}),
              (400, "invalid_phone_number", {"to": old["payload"]["from"]}),
              (400, "invalid_correlation_id", {"correlation_id": "c"}),
              (400, "invalid_callback_url", {"callback_url": None}),
              (404, "invalid_reply_context", {"reply_to": old["payload"]["message_id"]}),
              (422, "window_expired", None)]
    for status, code, fix in expect:
        if code == "missing_api_token":
            assert_reply_error(reply(gw, body), status, code)
            continue
        if code == "invalid_request" and fix is None:
            assert_reply_error(reply(gw, None, raw=b"[]", key=SEND_SECRET), status, code)
            continue
        assert_reply_error(reply(gw, body, key=SEND_SECRET), status, code)
        for k, v in (fix or {}).items():
            if v is None:
                body.pop(k)
            else:
                body[k] = v
    # Row 8 before 9: the mismatching number is refused before the closed window.
    mismatch = dict(body, to="+33612345679")
    assert_reply_error(reply(gw, mismatch, key=SEND_SECRET), 400, "phone_number_mismatch")
    # Row 9 before 10, and row 10 with an open window.
    fresh = inbound(gw, receiver)
    assert_reply_error(reply(gw, reply_body(fresh), key=SEND_SECRET), 402,
                       "insufficient_balance")


# ---- §6.3: what Meta answers ------------------------------------------------------------------------

def no_created_event(receiver):
    return H.events_of_type(receiver, "transactional.message.created") == []


def test_graph_131047_closes_the_window(gw, receiver, graph):
    ev = inbound(gw, receiver)
    graph.fail(400, 131047)
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 422, "window_expired")
    # Meta is authoritative: the next reply is refused without asking it again.
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 422, "window_expired")
    assert len(graph.requests) == 1
    # A newer customer message reopens the window.
    ev2 = inbound(gw, receiver, timestamp=int(time.time()) + 5)
    assert reply(gw, reply_body(ev2), key=SEND_SECRET)[0] == 200


@pytest.mark.parametrize("code,retry_after", [(130429, "1"), (131056, "6"), (80007, "60")])
def test_graph_throttling_is_429_with_retry_after(gw, receiver, graph, code, retry_after):
    ev = inbound(gw, receiver)
    graph.fail(400, code)
    result = reply(gw, reply_body(ev), key=SEND_SECRET)
    assert_reply_error(result, 429, "rate_limited")
    assert result[1].get("retry-after") == retry_after, result[1]
    m = metrics(gw)
    assert metric(m, "whatsapp_graph_errors_total", code=str(code)) == 1
    assert metric(m, "whatsapp_replies_total", code="rate_limited") == 1


@pytest.mark.parametrize("http_status,code", [(401, 190), (500, 131000), (503, 0)])
def test_graph_token_and_server_errors_are_502(gw, receiver, graph, http_status, code):
    ev = inbound(gw, receiver)
    graph.fail(http_status, code)
    body = assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 502, "upstream_error")
    assert ACCESS_TOKEN not in json.dumps(body)


def test_graph_error_text_is_logged_redacted_and_escaped(gateway, receiver, graph):
    # Meta's message may echo a credential, and is text from outside.
    meta_token = "EAAGm0PX4ZCpsBAK7ZBZAx5ZBd3s2ZAqpZCqZA3Qx"
    forged = "2026/12/01 00:00:00 [alert] 1#1: forged"
    gw = gateway(allow_log=[r"whatsapp reply: Graph API answered 401, error 190 "])
    ev = inbound(gw, receiver)
    graph.fail(401, 190, message="Cannot parse access token %s\n%s Authorization: Bearer %s"
               % (meta_token, forged, ACCESS_TOKEN))
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 502, "upstream_error")
    log = gw.error_log()
    line = [x for x in log.splitlines() if "Graph API answered 401" in x]
    assert len(line) == 1, log[-2000:]
    assert "access token [redacted]\\x0a" + forged + " Authorization: Bearer [redacted]" \
        in line[0], line[0]
    assert meta_token not in log and ACCESS_TOKEN not in log
    assert not [x for x in log.splitlines() if re.match(r"\d{4}/\d\d/\d\d \S+ \[alert\]", x)
                and "forged" in x]


def test_graph_connection_refused_is_502(gateway, receiver):
    gw = gateway(server_extra="location /_dead_graph/ { internal; proxy_pass http://127.0.0.1:%d/; }"
                 % free_port(), http_extra="whatsapp_graph /_dead_graph;")
    ev = inbound(gw, receiver)
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 502, "upstream_error")
    assert metric(metrics(gw), "whatsapp_graph_errors_total", code="transport") == 1


def test_graph_timeout_after_the_request_was_written_is_504_unknown(gateway, graph, receiver):
    """§6.3 (rewritten): Meta may have the message, so the answer says the outcome is unknown,
    names the tx_ id and tells the SDK not to retry; no created event until Meta says so."""
    gw = gateway(server_extra="location /_slow_graph/ { internal; proxy_read_timeout 1s; "
                              "proxy_pass http://127.0.0.1:%d/v21.0/; }" % graph.port,
                 http_extra="whatsapp_graph /_slow_graph;")
    ev = inbound(gw, receiver)
    graph.hang_next(3)
    result = reply(gw, reply_body(ev), key=SEND_SECRET)
    body = assert_reply_error(result, 504, "upstream_timeout")
    assert H.is_typeid(body["message_id"], "tx"), body
    assert result[1]["x-should-retry"] == "false"
    assert graph.wait_for(1)[0]["body"]["biz_opaque_callback_data"] == body["message_id"]
    assert no_created_event(receiver)
    assert metric(metrics(gw), "whatsapp_replies_total", code="ok") == 0


def test_meta_refusing_the_content_is_400_with_details(gw, receiver, graph):
    ev = inbound(gw, receiver)
    graph.fail(400, 131026)
    body = assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 400, "invalid_request")
    assert "131026" in body["message"] or "undeliverable" in body["message"].lower(), body



# ---- §4.5, §5.2: statuses of a reply ---------------------------------------------------------------

def status_webhook(gw, wamid, status, ts, errors=None):
    payload = sim.webhook(PHONE_NUMBER_ID, H.DISPLAY_PHONE, [],
                          statuses=[sim.status(wamid, CUSTOMER, status, ts, errors=errors)])
    assert post(gw, payload)[0] == 200


def test_statuses_follow_the_reply_forward_only(gateway, receiver, graph):
    gw = gateway(http_extra="whatsapp_callback_allow 127.0.0.1;")
    ev = inbound(gw, receiver)
    url = "http://127.0.0.1:%d/status" % receiver.port
    status, _, body = reply(gw, reply_body(ev, callback_url=url, correlation_id="order-42"),
                            key=SEND_SECRET)
    assert status == 200, body
    assert body["correlation_id"] == "order-42" and body["callback_url"] == url
    wamid = graph.wait_for(1)[0]["wamid"]
    t0 = int(time.time())
    status_webhook(gw, wamid, "sent", t0)
    status_webhook(gw, wamid, "read", t0 + 2)
    status_webhook(gw, wamid, "delivered", t0 + 1)  # late: stays read, no event
    read = wait_events(receiver, 1, type_="transactional.message.read")[0]
    types = [e["type"] for e in receiver.events if e["type"].startswith("transactional.")]
    assert types == ["transactional.message.created", "transactional.message.sent",
                     "transactional.message.read"], types
    assert read["payload"]["message_id"] == body["id"]
    assert read["payload"]["correlation_id"] == "order-42"
    assert read["payload"]["to"] == CUSTOMER_E164
    assert H.rfc3339_to_epoch(read["payload"]["created_at"]) == t0 + 2
    assert {d.path for d in receiver.deliveries if d.type.startswith("transactional.")} == \
        {"/status"}
    H.wait_metric(gw, lambda m: metric(m, "whatsapp_statuses_total", result="ignored") == 1)
    assert H.events_of_type(receiver, "transactional.message.delivered") == []


def test_failed_status_carries_metas_error_and_131047_closes_the_window(gw, receiver, graph):
    ev = inbound(gw, receiver)
    status, _, body = reply(gw, reply_body(ev), key=SEND_SECRET)
    assert status == 200, body
    wamid = graph.wait_for(1)[0]["wamid"]
    err = {"code": 131047, "title": "Re-engagement message",
           "message": "Re-engagement message",
           "error_data": {"details": "Message failed to send because more than 24 hours have "
                                     "passed since the customer last replied to this number."}}
    status_webhook(gw, wamid, "failed", int(time.time()), errors=[err])
    failed = wait_events(receiver, 1, type_="transactional.message.failed")[0]
    assert failed["payload"]["message_id"] == body["id"]
    assert failed["payload"]["status"] == "failed"
    assert failed["payload"]["error"] == {"code": 131047, "title": "Re-engagement message",
                                         "details": err["error_data"]["details"]}
    # Goes to the number's callback (the reply had none).
    assert [d.path for d in receiver.deliveries
            if d.type == "transactional.message.failed"] == ["/events"]
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 422, "window_expired")
    assert len(graph.requests) == 1


# ---- §3.4: variables in the access log ---------------------------------------------------------------

def test_variables_in_access_log(gateway, receiver):
    fmt = ("log_format wa 'reply tenant=$whatsapp_tenant conv=$whatsapp_conversation_id "
           "msg=$whatsapp_message_id window=$whatsapp_window_expires_at error=$whatsapp_error';")
    gw = gateway(http_extra=fmt, server_extra="access_log @PREFIX@/reply.log wa;")
    ev = inbound(gw, receiver)
    status, _, body = reply(gw, reply_body(ev), key=SEND_SECRET)
    assert status == 200
    assert_reply_error(reply(gw, dict(reply_body(ev), to="+33612345679"), key=SEND_SECRET),
                       400, "phone_number_mismatch")
    path = gw.prefix + "/reply.log"
    deadline = time.monotonic() + 10 * H.TIMEOUT_SCALE
    lines = []
    while time.monotonic() < deadline:
        with open(path) as f:
            lines = [l.strip() for l in f if l.startswith("reply ") and "POST" not in l]
        if len([l for l in lines if "tenant=acme" in l and "msg=im_" not in l]) >= 2:
            break
        time.sleep(0.05)
    replies = [l for l in lines if "tenant=acme" in l and "msg=im_" not in l]
    assert len(replies) >= 2, lines
    conv = ev["payload"]["conversation"]["id"]
    window = ev["payload"]["conversation"]["window_expires_at"]
    ok_line = [l for l in replies if "msg=tx_" in l]
    assert ok_line, replies
    assert "conv=%s" % conv in ok_line[0]
    assert ok_line[0].endswith("error="), ok_line[0]  # empty on success
    assert "msg=%s" % body["id"] in ok_line[0]
    assert H.rfc3339_to_epoch(ok_line[0].split("window=")[1].split()[0]) == \
        H.rfc3339_to_epoch(window)
    err_line = [l for l in replies if "error=phone_number_mismatch" in l]
    assert err_line and "conv=%s" % conv in err_line[0], replies


def test_reply_location_without_a_graph_location_fails_nginx_t(nginx_t):
    rc, err = nginx_t(nginx_t.render(http_extra="whatsapp_graph /_nowhere;",
                                     server_extra=REPLY_LOCATION))
    assert rc != 0, err
    assert "whatsapp_reply" in err and "/_nowhere/" in err, err
    rc, err = nginx_t(nginx_t.render(server_extra=REPLY_LOCATION))
    assert rc == 0, err


# ---- a client's callback host is checked again, and pinned, on every delivery ------------------------

def self_signed_cert(directory, name):
    import subprocess
    cert, key = directory / "cb.crt", directory / "cb.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=" + name, "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_client_callback_host_is_pinned_and_rechecked_on_delivery(gateway, receiver, graph,
                                                                  tmp_path):
    from tools.dns_stub import DnsStub
    dns = DnsStub({"hooks.pin.test": ["127.0.0.1"]}, ttl=0).start()
    try:
        cert, key = self_signed_cert(tmp_path, "hooks.pin.test")
        tls_port = free_port()
        # A TLS front for the receiver that reports the Host and SNI it got.
        tls_front = """server {
        listen 127.0.0.1:%d ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / {
            proxy_set_header X-Seen-Host $host;
            proxy_set_header X-Seen-SNI $ssl_server_name;
            proxy_pass http://127.0.0.1:@CALLBACK_PORT@;
        }
    }""" % (tls_port, cert, key)
        # Replies check with their own resolver (answers kept 5 min); deliveries
        # resolve again with the callback location's (TTL 0: every second).
        # One worker: resolver caches are per worker.
        gw = gateway(workers=1, http_extra="whatsapp_callback_allow 127.0.0.1;\n    " + tls_front,
                     reply_location="location = %s { whatsapp_reply; resolver 127.0.0.1:%d "
                                    "valid=300s ipv6=off; }" % (H.REPLY_PATH, dns.port),
                     server_extra="resolver 127.0.0.1:%d ipv6=off;" % dns.port)
        ev = inbound(gw, receiver)
        url = "https://hooks.pin.test:%d/status" % tls_port
        status, _, body = reply(gw, reply_body(ev, callback_url=url), key=SEND_SECRET)
        assert status == 200, body
        receiver.wait_until(lambda r: H.events_of_type(r, "transactional.message.created"),
                            what="created event")
        d = [d for d in receiver.deliveries if d.type == "transactional.message.created"][0]
        hdrs = {k.lower(): v for k, v in d.headers.items()}
        assert hdrs["x-seen-host"] == "hooks.pin.test", hdrs
        assert hdrs["x-seen-sni"] == "hooks.pin.test", hdrs
        assert d.path == "/status"
        assert d.json["payload"]["message_id"] == body["id"]

        # The name now points inside. Replies are still accepted (their resolver
        # remembers the old answer), but their events are refused once the
        # delivery resolver asks again: never sent to 10.0.0.1.
        dns.records["hooks.pin.test"] = ["10.0.0.1"]
        refused = "refused: callback_url host resolves to an address that is not allowed"
        deadline = time.monotonic() + 10 * H.TIMEOUT_SCALE
        while refused not in gw.error_log():
            assert time.monotonic() < deadline, gw.error_log()[-3000:]
            assert reply(gw, reply_body(ev, callback_url=url), key=SEND_SECRET)[0] == 200
            time.sleep(0.1)
        assert ("hooks.pin.test", 1) in dns.queries
    finally:
        dns.stop()


def reply_and_vanish(gw, graph, body):
    """Sends a reply and disconnects once Meta has the send, before Meta answers
    (the simulator holds its answer for a second)."""
    graph.hang_next(1.0)
    data = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", gw.port)) as s:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                  % (H.REPLY_PATH.encode(), SEND_SECRET.encode(), len(data), data))
        graph.wait_for(1)


def test_client_gone_during_the_graph_call(gateway, receiver, graph):
    """The client disconnects while Meta is answering: nothing crashes, and with
    proxy_ignore_client_abort (as conf.example sets it) the accepted send is recorded."""
    gw = gateway(server_extra="location /_abort_graph/ { internal; proxy_ignore_client_abort on; "
                              "proxy_pass http://127.0.0.1:%d/v21.0/; }" % graph.port,
                 http_extra="whatsapp_graph /_abort_graph;")
    ev = inbound(gw, receiver)
    reply_and_vanish(gw, graph, reply_body(ev))
    created = wait_events(receiver, 1, type_="transactional.message.created")[0]
    assert created["payload"]["to"] == CUSTOMER_E164
    # The gateway keeps serving.
    assert reply(gw, reply_body(ev), key=SEND_SECRET)[0] == 200


def test_client_gone_during_the_graph_call_without_ignore(gateway, receiver, graph):
    """Without proxy_ignore_client_abort nginx drops the Graph request with the client:
    no crash, no half-recorded send, the credit hold is released."""
    gw = gateway(numbers=H.number_block(extra="credits 1;"))
    ev = inbound(gw, receiver)
    reply_and_vanish(gw, graph, reply_body(ev))
    # The hold is released once nginx notices: the single credit becomes usable again.
    deadline = time.monotonic() + 10 * H.TIMEOUT_SCALE
    while True:
        status = reply(gw, reply_body(ev), key=SEND_SECRET)[0]
        if status == 200:
            break
        assert status == 402 and time.monotonic() < deadline, status
        time.sleep(0.1)
