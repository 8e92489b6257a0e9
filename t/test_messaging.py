"""§7: the inbox API in a whatsapp_messaging location — listing with every filter, search,
limit and cursor (paging while inbound messages reorder the list skips nothing), get with
messages newest first, PATCH and the automatic status rules, unreadCount, text and template
sends through the one send path (201, Idempotency-Key, §6.3 outcomes), scopes, conversation=
keys, and another tenant's id answering exactly like an unknown one."""

import json
import threading
import time
import urllib.parse

import pytest

import helpers as H
from helpers import NUMBER, PHONE_NUMBER_ID, TENANT, api_key, http_request, number_block, post
from test_send_outcomes import SLOW_GRAPH
from tools import cloudapi_sim as sim

PREFIX = "/v1/messaging/"
LOCATION = "location /v1/messaging/ { whatsapp_messaging; }"
ALL_SECRET, ALL_LINE = api_key("ada", scopes="*")
SEND_SECRET, SEND_LINE = api_key("sender", scopes="messaging:messages:send")
CONV_SECRET, CONV_LINE = api_key("lister", scopes="messaging:conversations:read")
MSGS_SECRET, MSGS_LINE = api_key("history", scopes="messaging:messages:read")
GLOBEX_SECRET, GLOBEX_LINE = api_key("globex-app", tenant="globex", scopes="*")
GLOBEX_NUMBER, GLOBEX_PNID = "+15550783999", "106540352249999"
TEMPLATES = """whatsapp_template order_shipped {
        name       order_shipped_v2;
        languages  en_US;
        parameters order_id eta;
    }"""
VARIABLES = {"order_id": "1234", "eta": "Friday"}


@pytest.fixture
def inbox_gw(nginx, graph):
    graph.expected_token = H.ACCESS_TOKEN

    def make(extra_keys=(), http_extra="", server_extra="", **conf):
        numbers = number_block() + "\n    " + number_block(
            number=GLOBEX_NUMBER, phone_number_id=GLOBEX_PNID, tenant="globex")
        ng = nginx(start=False, numbers=numbers,
                   http_extra="whatsapp_api_keys @PREFIX@/api.keys;\n    " + TEMPLATES
                   + "\n    " + http_extra,
                   server_extra=LOCATION + "\n        " + server_extra, **conf)
        H.write_keys(ng.prefix, [ALL_LINE, SEND_LINE, CONV_LINE, MSGS_LINE, GLOBEX_LINE]
                     + list(extra_keys))
        ng.start()
        return ng
    return make


@pytest.fixture
def gw(inbox_gw):
    return inbox_gw()


def call(gw, method, path, key=ALL_SECRET, body=None, headers=None, query=None):
    """(status, headers, parsed JSON) of one inbox request."""
    h = {}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    url = gw.url(PREFIX + path)
    if query:
        url += "?" + (query if isinstance(query, str) else urllib.parse.urlencode(query))
    status, rh, rb = http_request(method, url, data, h)
    try:
        parsed = json.loads(rb) if rb else None
    except ValueError:
        parsed = None
    return status, rh, parsed


def assert_error(result, status, code):
    got, _, body = result
    assert got == status, result
    assert body["code"] == code and isinstance(body["message"], str) and body["message"], body
    return body


def customer(n):
    return "336123%05d" % n  # wa_id as Meta sends it: no +


def say(gw, n, text=None, name=None, pnid=PHONE_NUMBER_ID, timestamp=None):
    """One inbound message from customer n; committed when this returns."""
    body = H.text_body(sim.new_wamid(), text=text or "hello %d" % n, from_=customer(n),
                       name=name, phone_number_id=pnid, timestamp=timestamp)
    status, text_ = post(gw, body)
    assert status == 200, text_


def say_many(gw, numbers, pnid=PHONE_NUMBER_ID):
    """One webhook carrying a message from each customer in numbers."""
    msgs = [sim.text_message(sim.new_wamid(), customer(n), "bulk %d" % n) for n in numbers]
    status, text_ = post(gw, sim.body_bytes(sim.webhook(pnid, H.DISPLAY_PHONE, msgs)))
    assert status == 200, text_


def listing(gw, key=ALL_SECRET, **query):
    status, _, body = call(gw, "GET", "conversations", key=key, query=query)
    assert status == 200, body
    return body


def conversation_of(gw, n, key=ALL_SECRET):
    for c in listing(gw, key=key, search=customer(n), limit=100)["data"]:
        if c["customerPhone"] == "+" + customer(n):
            return c
    raise AssertionError("no conversation with customer %d" % n)


# ---- listing -----------------------------------------------------------------------------------

def test_list_is_most_recently_active_first_with_every_field(gw, graph):
    assert listing(gw) == {"message": "Conversations retrieved", "data": [], "nextCursor": None}
    say(gw, 1, name="Ada Lovelace")
    say(gw, 2)
    say(gw, 1, text="again", name="Ada Lovelace")
    data = listing(gw)["data"]
    assert [c["customerPhone"] for c in data] == ["+" + customer(1), "+" + customer(2)]
    c = data[0]
    assert H.is_typeid(c["id"], "conv")
    assert c["businessId"] == TENANT and c["businessWhatsappNumberId"] == PHONE_NUMBER_ID
    assert c["businessPhone"] == NUMBER and c["customerName"] == "Ada Lovelace"
    assert c["status"] == "open" and c["mode"] == "human" and c["assignee"] is None
    assert c["unreadCount"] == 2 and c["lastOutboundAt"] is None
    assert c["windowExpiresAt"] > c["lastInboundAt"]
    assert c["lastMessage"]["direction"] == "inbound" and c["lastMessage"]["text"] == "again"
    assert H.is_typeid(c["lastMessage"]["id"], "im")
    # Another tenant's conversations are not listed.
    say(gw, 3, pnid=GLOBEX_PNID)
    assert [c["customerPhone"] for c in listing(gw)["data"]] == [
        "+" + customer(1), "+" + customer(2)]
    (theirs,) = listing(gw, key=GLOBEX_SECRET)["data"]
    assert theirs["businessId"] == "globex" and theirs["customerPhone"] == "+" + customer(3)


def test_filters_search_and_assigned(gw):
    for n in range(1, 6):
        say(gw, n, name="Customer %d" % n)
    ids = {n: conversation_of(gw, n)["id"] for n in range(1, 6)}
    assert call(gw, "PATCH", "conversations/" + ids[1], body={"status": "closed"})[0] == 200
    assert call(gw, "PATCH", "conversations/" + ids[2], body={"mode": "ai"})[0] == 200
    assert call(gw, "PATCH", "conversations/" + ids[3], body={"assignee": "ada"})[0] == 200
    assert call(gw, "PATCH", "conversations/" + ids[4], body={"assignee": "bob"})[0] == 200

    def phones(**q):
        return sorted(c["customerPhone"][-1] for c in listing(gw, **q)["data"])
    assert phones(status="closed") == ["1"]
    assert phones(status="open") == ["2", "3", "4", "5"]
    assert phones(status="pending_customer") == []
    assert phones(mode="ai") == ["2"]
    assert phones(mode="human") == ["1", "3", "4", "5"]
    assert phones(assigned="me") == ["3"]  # the key's name is ada
    assert phones(assigned="unassigned") == ["1", "2", "5"]
    assert phones(assigned="unassigned", mode="human") == ["1", "5"]
    assert phones(search="customer 4") == ["4"]   # name, case-insensitive
    assert phones(search="CUSTOMER") == ["1", "2", "3", "4", "5"]
    assert phones(search=customer(2)[-6:]) == ["2"]  # phone
    assert phones(search="nobody") == []
    assert phones(status="open", search="customer", assigned="me") == ["3"]


def test_limit_and_cursor_page_through_everything(gw):
    say_many(gw, range(1, 46))
    seen, cursor, pages = [], None, 0
    while True:
        q = {"limit": 20}
        if cursor:
            q["cursor"] = cursor
        body = listing(gw, **q)
        assert len(body["data"]) <= 20
        seen += [c["id"] for c in body["data"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 45 and len(set(seen)) == 45


def test_paging_while_new_messages_reorder_the_list_skips_none(gw):
    total = 250
    for start in range(0, total, 50):
        say_many(gw, range(start, start + 50))
    everyone = {c["id"] for c in listing(gw, limit=100)["data"]}
    seen, cursor, pages, n = [], None, 0, 0
    while True:
        q = {"limit": 25}
        if cursor:
            q["cursor"] = cursor
        body = listing(gw, **q)
        seen += [c["customerPhone"] for c in body["data"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
        # Move conversations not listed yet (the oldest, at the bottom) to the top, and
        # one already listed, between every two pages.
        say(gw, n)
        say(gw, total - 1 - pages)
        n += 1
        assert pages < 40, "the listing does not end"
    phones = {"+" + customer(i) for i in range(total)}
    assert set(seen) == phones, sorted(phones - set(seen))[:10]
    assert len(everyone) == 100


# ---- get, unreadCount --------------------------------------------------------------------------

def test_get_shows_messages_newest_first_and_a_read_clears_unread(gw):
    for i in range(5):
        say(gw, 1, text="m%d" % i)
    cid = conversation_of(gw, 1)["id"]
    # conversations:read alone: no messages, and nothing is read.
    status, _, body = call(gw, "GET", "conversations/" + cid, key=CONV_SECRET)
    assert status == 200 and "messages" not in body["data"], body
    assert body["data"]["unreadCount"] == 5
    # messages:read: newest first, and the conversation is read.
    status, _, body = call(gw, "GET", "conversations/" + cid, key=MSGS_SECRET,
                           query={"limit": 3})
    assert status == 200, body
    assert body["message"] == "Conversation retrieved"
    msgs = body["data"]["messages"]
    assert [m["text"] for m in msgs] == ["m4", "m3", "m2"]
    m = msgs[0]
    assert H.is_typeid(m["id"], "im") and m["direction"] == "inbound"
    assert m["messageType"] == "text" and m["deliveryStatus"] == "received"
    assert m["conversationId"] == cid and H.RFC3339_RE.match(m["createdAt"])
    assert body["data"]["unreadCount"] == 0
    assert conversation_of(gw, 1)["unreadCount"] == 0
    status, _, older = call(gw, "GET", "conversations/" + cid, key=MSGS_SECRET,
                            query={"before": msgs[-1]["id"]})
    assert [m["text"] for m in older["data"]["messages"]] == ["m1", "m0"]
    say(gw, 1, text="new")
    assert conversation_of(gw, 1)["unreadCount"] == 1


# ---- PATCH and the status rules ----------------------------------------------------------------

def test_patch_and_the_automatic_status_rules(gw, graph):
    say(gw, 1)
    cid = conversation_of(gw, 1)["id"]
    status, _, body = call(gw, "PATCH", "conversations/" + cid,
                           body={"status": "closed", "mode": "ai", "assignee": "ada"})
    assert status == 200, body
    d = body["data"]
    assert (d["status"], d["mode"], d["assignee"]) == ("closed", "ai", "ada")
    # A send while closed leaves it closed; an inbound message reopens it.
    assert call(gw, "POST", "conversations/%s/messages" % cid, body={"text": "hi"})[0] == 201
    assert conversation_of(gw, 1)["status"] == "closed"
    say(gw, 1)
    assert conversation_of(gw, 1)["status"] == "open"
    # A send from the business waits for the customer.
    assert call(gw, "POST", "conversations/%s/messages" % cid, body={"text": "hi"})[0] == 201
    assert conversation_of(gw, 1)["status"] == "pending_customer"
    # Unassign with null.
    status, _, body = call(gw, "PATCH", "conversations/" + cid, body={"assignee": None})
    assert status == 200 and body["data"]["assignee"] is None


@pytest.mark.parametrize("body,param", [
    ({"status": "archived"}, "status"),
    ({"mode": "robot"}, "mode"),
    ({"assignee": ""}, "assignee"),
    ({"assignee": 7}, "assignee"),
    ({"assignee": "x" * 129}, "assignee"),
    ({"status": 1}, "status"),
    ({"colour": "red"}, "colour"),
    ({}, None),
])
def test_a_bad_patch_is_400_and_changes_nothing(gw, body, param):
    say(gw, 1)
    before = conversation_of(gw, 1)
    result = call(gw, "PATCH", "conversations/" + before["id"], body=body)
    assert_error(result, 400, "invalid_request")
    assert call(gw, "PATCH", "conversations/" + before["id"], body=b"{not json")[0] == 400
    assert conversation_of(gw, 1) == before


# ---- sends -------------------------------------------------------------------------------------

def test_text_send_is_201_through_the_one_send_path(gw, graph, receiver):
    say(gw, 1)
    cid = conversation_of(gw, 1)["id"]
    status, _, body = call(gw, "POST", "conversations/%s/messages" % cid,
                           body={"text": "Your order shipped."})
    assert status == 201, body
    assert body["message"] == "Message sent"
    d = body["data"]
    assert H.is_typeid(d["id"], "tx") and d["conversationId"] == cid
    assert d["direction"] == "outbound" and d["messageType"] == "text"
    assert d["text"] == "Your order shipped." and d["deliveryStatus"] == "accepted"
    (sent,) = graph.requests
    assert sent["body"]["to"] == "+" + customer(1)
    assert sent["body"]["text"]["body"] == "Your order shipped."
    assert sent["body"]["biz_opaque_callback_data"] == d["id"]
    (created,) = H.wait_events(receiver, 1, type_="transactional.message.created")
    assert created["payload"]["message_id"] == d["id"]
    c = conversation_of(gw, 1)
    assert c["lastOutboundAt"] is not None and c["lastMessage"]["id"] == d["id"]
    status, _, got = call(gw, "GET", "conversations/" + cid)
    assert got["data"]["messages"][0]["id"] == d["id"]
    assert got["data"]["messages"][0]["deliveryStatus"] == "accepted"


def test_text_send_outside_the_window_is_422(gw, graph):
    say(gw, 1, timestamp=int(time.time()) - 3 * 86400)
    cid = conversation_of(gw, 1)["id"]
    assert_error(call(gw, "POST", "conversations/%s/messages" % cid, body={"text": "hi"}),
                 422, "window_expired")
    assert graph.requests == []


@pytest.mark.parametrize("body,code", [
    ({"text": "x" * 4097}, "invalid_request"),
    ({"text": ""}, "missing_text"),
    ({"text": "   "}, "missing_text"),
    ({}, "invalid_request"),
    ({"text": 5}, "invalid_request"),
    ({"text": "hi", "extra": 1}, "invalid_request"),
])
def test_a_bad_text_send_is_400_and_sends_nothing(gw, graph, body, code):
    say(gw, 1)
    cid = conversation_of(gw, 1)["id"]
    assert_error(call(gw, "POST", "conversations/%s/messages" % cid, body=body), 400, code)
    assert graph.requests == []


def test_4096_characters_are_sent(gw, graph):
    say(gw, 1)
    cid = conversation_of(gw, 1)["id"]
    status, _, body = call(gw, "POST", "conversations/%s/messages" % cid,
                           body={"text": "\u00e9" * 4096})
    assert status == 201, body


@pytest.mark.parametrize("graph_failure,status,code", [
    ({"http_status": 429, "code": 130429}, 429, "rate_limited"),
    ({"http_status": 500, "code": 131000}, 502, "upstream_error"),
    ({"http_status": 400, "code": 131047}, 422, "window_expired"),
])
def test_text_send_outcomes_of_6_3(gw, graph, graph_failure, status, code):
    say(gw, 1)
    cid = conversation_of(gw, 1)["id"]
    graph.fail(**graph_failure)
    assert_error(call(gw, "POST", "conversations/%s/messages" % cid, body={"text": "hi"}),
                 status, code)


def test_a_send_with_no_answer_is_504_naming_the_message(inbox_gw, graph):
    gw = inbox_gw(server_extra=SLOW_GRAPH["server_extra"] % graph.port,
                  http_extra=SLOW_GRAPH["http_extra"])
    say(gw, 1)
    cid = conversation_of(gw, 1)["id"]
    graph.hang_next(3)
    result = call(gw, "POST", "conversations/%s/messages" % cid, body={"text": "hi"})
    body = assert_error(result, 504, "upstream_timeout")
    assert H.is_typeid(body["messageId"], "tx")
    (msg,) = [m for m in call(gw, "GET", "conversations/" + cid)[2]["data"]["messages"]
              if m["direction"] == "outbound"]
    assert msg["id"] == body["messageId"] and msg["deliveryStatus"] == "unknown"


def test_template_send_starts_a_conversation(gw, graph, receiver):
    phone = "+33700000001"
    status, _, body = call(gw, "POST", "messages/template", body={
        "business_whatsapp_number_id": PHONE_NUMBER_ID, "phone": phone,
        "template_key": "order_shipped", "customer_name": "Ada Lovelace",
        "variables": VARIABLES})
    assert status == 201, body
    assert body["message"] == "Template sent"
    d = body["data"]
    assert H.is_typeid(d["id"], "tx") and H.is_typeid(d["conversationId"], "conv")
    assert d["messageType"] == "template" and d["deliveryStatus"] == "accepted"
    (sent,) = graph.requests
    g = sent["body"]
    assert g["to"] == phone and g["type"] == "template"
    assert g["template"]["name"] == "order_shipped_v2"
    assert [p["text"] for p in g["template"]["components"][0]["parameters"]] == ["1234",
                                                                                  "Friday"]
    (c,) = listing(gw)["data"]
    assert c["id"] == d["conversationId"] and c["customerName"] == "Ada Lovelace"
    assert c["status"] == "pending_customer" and c["windowExpiresAt"] is None
    # By E.164 too.
    status, _, again = call(gw, "POST", "messages/template", body={
        "business_whatsapp_number_id": NUMBER, "phone": phone,
        "template_key": "order_shipped", "variables": VARIABLES})
    assert status == 201 and again["data"]["conversationId"] == d["conversationId"]


@pytest.mark.parametrize("change,status,code", [
    ({"variables": {"order_id": "1"}}, 400, "invalid_variables"),
    ({"variables": dict(VARIABLES, extra="x")}, 400, "invalid_variables"),
    ({"template_key": "nope"}, 404, "not_found"),
    ({"business_whatsapp_number_id": GLOBEX_PNID}, 404, "not_found"),
    ({"business_whatsapp_number_id": "999"}, 404, "not_found"),
    ({"phone": "0612"}, 400, "invalid_phone_number"),
    ({"phone": None}, 400, "invalid_request"),
    ({"variables": {"order_id": 5, "eta": "x"}}, 400, "invalid_request"),
    ({"surprise": True}, 400, "invalid_request"),
])
def test_a_bad_template_send_is_refused_and_sends_nothing(gw, graph, change, status, code):
    body = {"business_whatsapp_number_id": PHONE_NUMBER_ID, "phone": "+33700000001",
            "template_key": "order_shipped", "variables": VARIABLES}
    body.update(change)
    err = assert_error(call(gw, "POST", "messages/template", body=body), status, code)
    if change.get("variables") == {"order_id": "1"}:
        assert "eta" in err["message"]
    assert graph.requests == []
    assert listing(gw)["data"] == []


# ---- keys, scopes, tenants ---------------------------------------------------------------------

@pytest.mark.parametrize("method,path,body,allowed", [
    ("GET", "conversations", None, {"all", "conv"}),
    ("GET", "conversations/{id}", None, {"all", "conv", "msgs"}),
    ("PATCH", "conversations/{id}", {"mode": "ai"}, {"all", "send"}),
    ("POST", "conversations/{id}/messages", {"text": "hi"}, {"all", "send"}),
    ("POST", "messages/template", {"business_whatsapp_number_id": PHONE_NUMBER_ID,
                                   "phone": "+33700000001", "template_key": "order_shipped",
                                   "variables": VARIABLES}, {"all", "send"}),
])
def test_scopes_per_endpoint(gw, method, path, body, allowed):
    say(gw, 1)
    path = path.replace("{id}", conversation_of(gw, 1)["id"])
    assert_error(call(gw, method, path, key=None, body=body), 401, "unauthorized")
    assert_error(call(gw, method, path, key="wa_nobody", body=body), 401, "unauthorized")
    keys = {"all": ALL_SECRET, "send": SEND_SECRET, "conv": CONV_SECRET, "msgs": MSGS_SECRET}
    for name, secret in keys.items():
        result = call(gw, method, path, key=secret, body=body)
        if name in allowed:
            assert result[0] in (200, 201), (name, result)
        else:
            assert_error(result, 403, "forbidden")


def test_another_tenants_id_is_404_like_an_unknown_one_everywhere(gw, graph):
    say(gw, 1)
    say(gw, 2, pnid=GLOBEX_PNID)
    ours = conversation_of(gw, 1)["id"]
    unknown = "conv_01h455vb4pex5vsknk084sn02q"
    for cid in (ours, unknown, "not-an-id"):
        for method, path, body in [("GET", "conversations/" + cid, None),
                                   ("PATCH", "conversations/" + cid, {"mode": "ai"}),
                                   ("POST", "conversations/%s/messages" % cid, {"text": "x"})]:
            result = call(gw, method, path, key=GLOBEX_SECRET, body=body)
            assert result[0] == 404, (cid, method, result)
            assert result[2] == {"message": "conversation not found", "code": "not_found"}
    assert graph.requests == []
    assert conversation_of(gw, 1)["mode"] == "human"


def test_a_conversation_key_sees_only_its_conversation(inbox_gw, graph):
    gw = inbox_gw()
    say(gw, 1)
    say(gw, 2)
    mine = conversation_of(gw, 1)["id"]
    other = conversation_of(gw, 2)["id"]
    secret, line = api_key("one", scopes="*", conversation=mine)
    gw.stop()
    H.write_keys(gw.prefix, [ALL_LINE, line])
    gw.start()
    assert [c["id"] for c in listing(gw, key=secret)["data"]] == [mine]
    assert listing(gw, key=secret, status="closed")["data"] == []
    assert call(gw, "GET", "conversations/" + mine, key=secret)[0] == 200
    assert_error(call(gw, "GET", "conversations/" + other, key=secret), 404, "not_found")
    assert_error(call(gw, "POST", "conversations/%s/messages" % other, key=secret,
                      body={"text": "x"}), 404, "not_found")
    assert_error(call(gw, "POST", "messages/template", key=secret, body={
        "business_whatsapp_number_id": PHONE_NUMBER_ID, "phone": "+33700000001",
        "template_key": "order_shipped", "variables": VARIABLES}), 404, "not_found")
    assert graph.requests == []


# ---- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "limit=", "limit=-1",
                                   "limit=1&limit=2", "status=archived", "mode=robot",
                                   "assigned=bob", "colour=red", "search=%ZZ", "search=a%00b",
                                   "search=" + "x" * 101])
def test_a_bad_query_is_400(gw, query):
    assert_error(call(gw, "GET", "conversations", query=query), 400, "invalid_request")


def test_a_tampered_cursor_is_400_and_never_another_tenants_data(gw):
    say_many(gw, range(1, 6))
    say_many(gw, range(10, 16), pnid=GLOBEX_PNID)
    cursor = listing(gw, limit=2)["nextCursor"]
    assert cursor
    raw = bytearray(cursor.encode())
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] = ord("A") if bad[i] != ord("A") else ord("B")
        assert_error(call(gw, "GET", "conversations",
                          query={"limit": 2, "cursor": bad.decode()}), 400, "invalid_cursor")
    for bad in ["", "x", cursor[:-1], cursor + "A", "%%%", "a" * 500]:
        result = call(gw, "GET", "conversations", query={"cursor": bad})
        assert result[0] == 400, (bad, result)
    # A cursor is bound to its filters and its key.
    assert_error(call(gw, "GET", "conversations", query={"limit": 2, "cursor": cursor,
                                                         "mode": "ai"}), 400, "invalid_cursor")
    assert_error(call(gw, "GET", "conversations", key=GLOBEX_SECRET,
                      query={"limit": 2, "cursor": cursor}), 400, "invalid_cursor")
    assert listing(gw, limit=2, cursor=cursor)["data"]


def test_unknown_paths_and_methods(gw):
    assert_error(call(gw, "GET", "nothing"), 404, "not_found")
    assert_error(call(gw, "GET", "conversations/x/y"), 404, "not_found")
    status, headers, body = call(gw, "DELETE", "conversations")
    assert status == 405 and headers["allow"] == "GET" and body["code"] == "method_not_allowed"
    status, headers, _ = call(gw, "GET", "messages/template")
    assert status == 405 and headers["allow"] == "POST"


# ---- Idempotency-Key on both inbox sends (§7.3), as the reply's tests --------------------------

def text_send(gw, key, text="hi"):
    cid = conversation_of(gw, 1)["id"]
    return call(gw, "POST", "conversations/%s/messages" % cid, body={"text": text},
                headers={"Idempotency-Key": key})


def template_send(gw, key, text="1234"):
    return call(gw, "POST", "messages/template", headers={"Idempotency-Key": key}, body={
        "business_whatsapp_number_id": PHONE_NUMBER_ID, "phone": "+33700000001",
        "template_key": "order_shipped", "variables": dict(VARIABLES, order_id=text)})


SENDS = [text_send, template_send]
SEND_IDS = ["text", "template"]


@pytest.mark.parametrize("send", SENDS, ids=SEND_IDS)
def test_idempotent_answer_survives_a_restart(gw, graph, send):
    say(gw, 1)
    first = send(gw, "restart-1")
    assert first[0] == 201, first
    gw.stop()
    gw.start()
    again = send(gw, "restart-1")
    assert again[0] == 201 and again[2] == first[2]
    assert again[1]["idempotent-replayed"] == "true"
    assert len(graph.requests) == 1


@pytest.mark.parametrize("send", SENDS, ids=SEND_IDS)
def test_idempotency_another_body_is_422(gw, graph, send):
    say(gw, 1)
    assert send(gw, "k-1")[0] == 201
    assert_error(send(gw, "k-1", "other"), 422, "idempotency_key_reused")
    assert len(graph.requests) == 1


@pytest.mark.parametrize("send", SENDS, ids=SEND_IDS)
def test_idempotency_same_key_in_flight_is_409(gw, graph, send):
    say(gw, 1)
    graph.hang_next(1.0)
    results = {}
    t = threading.Thread(target=lambda: results.update(first=send(gw, "inflight")))
    t.start()
    graph.wait_for(1)
    second = send(gw, "inflight")
    t.join()
    assert results["first"][0] == 201, results
    assert_error(second, 409, "idempotency_key_in_use")
    assert len(graph.requests) == 1


@pytest.mark.parametrize("send", SENDS, ids=SEND_IDS)
@pytest.mark.parametrize("bad", ["k" * 256, "has space", "tab\tkey", "caf\u00e9"])
def test_idempotency_a_bad_key_is_400(gw, graph, send, bad):
    say(gw, 1)
    result = send(gw, bad.encode("utf-8").decode("latin-1"))
    assert_error(result, 400, "invalid_request")
    assert graph.requests == []
