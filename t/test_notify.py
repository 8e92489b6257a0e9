"""§6.4: POST /v2/notify through a whatsapp_notify location — a template sent with Prelude's
own Node SDK (notify.send, notify.sendBatch), outside the window and to customers never seen,
through the one send path (its events, Idempotency-Key); the errors of §6.4 in order; /reply
in the same location; a batch of 1000 answered per recipient."""

import json
import subprocess
import threading
import time

import pytest

import helpers as H
from helpers import (CUSTOMER, NUMBER, TENANT, api_key, assert_reply_error, http_request,
                     number_block, wait_events)
from test_reply import inbound, reply_body
from test_send_outcomes import prelude_sdk  # noqa: F401
from conftest import REPO

SEND_SECRET, SEND_LINE = api_key("app")
GLOBEX_SECRET, GLOBEX_LINE = api_key("globex-app", tenant="globex", scopes="*")
READ_SECRET, READ_LINE = api_key("reader", scopes="messaging:messages:read")
NOTIFY_LOCATION = "location /v2/notify { whatsapp_notify; }"
TEMPLATES = """whatsapp_template order_shipped {
        name       order_shipped_v2;
        languages  en_US fr_FR;
        parameters order_id eta;
    }
    whatsapp_template globex_only {
        name      globex_hello;
        languages en;
        tenant    globex;
    }"""
NEW_CUSTOMER = "+33700000001"
VARIABLES = {"order_id": "SKBUP2", "eta": "Friday"}


@pytest.fixture
def notify_gw(nginx, graph):
    def make(numbers=None, **conf):
        graph.expected_token = H.ACCESS_TOKEN
        ng = nginx(start=False, numbers=numbers,
                   http_extra="whatsapp_api_keys @PREFIX@/api.keys;\n    " + TEMPLATES,
                   server_extra=NOTIFY_LOCATION, **conf)
        H.write_keys(ng.prefix, [SEND_LINE, GLOBEX_LINE, READ_LINE])
        ng.start()
        return ng
    return make


def notify(gw, body, key=SEND_SECRET, path="/v2/notify", headers=None):
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
    h.update(headers or {})
    status, rh, rb = http_request("POST", gw.url(path), json.dumps(body).encode(), h)
    try:
        parsed = json.loads(rb) if rb else None
    except ValueError:
        parsed = None
    return status, rh, parsed


def send_body(**extra):
    body = {"template_id": "order_shipped", "to": NEW_CUSTOMER, "variables": dict(VARIABLES)}
    body.update(extra)
    return body


def sdk_send(prelude_sdk, gw, params, method="send"):
    out = subprocess.run(["node", str(REPO / "t" / "sdk" / "prelude_notify_send.mjs"),
                          str(prelude_sdk), gw.url(""), SEND_SECRET, method, json.dumps(params)],
                         check=True, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_prelude_sdk_sends_a_template_to_a_new_customer(prelude_sdk, notify_gw, graph, receiver):
    gw = notify_gw()
    got = sdk_send(prelude_sdk, gw, dict(send_body(), correlation_id="order-42"))
    assert got["ok"], got
    body = got["body"]
    assert body["id"].startswith("tx_") and body["to"] == NEW_CUSTOMER
    assert body["template_id"] == "order_shipped" and body["variables"] == VARIABLES
    assert body["from"] == NUMBER and body["correlation_id"] == "order-42"
    assert body["created_at"] < body["expires_at"]

    # Meta got WHATSAPP.md §5.5's template body, named parameters in the template's order.
    (sent,) = graph.requests
    g = sent["body"]
    assert g["to"] == NEW_CUSTOMER and g["type"] == "template"
    assert g["template"]["name"] == "order_shipped_v2"
    assert g["template"]["language"] == {"code": "en_US"}
    params = g["template"]["components"][0]["parameters"]
    assert [(p["parameter_name"], p["text"]) for p in params] == [("order_id", "SKBUP2"),
                                                                    ("eta", "Friday")]
    assert g["biz_opaque_callback_data"] == body["id"]

    # The one send path's event, for a conversation the send created.
    (created,) = wait_events(receiver, 1, type_="transactional.message.created")
    assert created["payload"]["message_id"] == body["id"]
    assert created["payload"]["correlation_id"] == "order-42"


def test_template_goes_outside_the_window_and_a_reply_does_not(notify_gw, graph, receiver):
    gw = notify_gw()
    # An old inbound message: its window closed long ago.
    ev = inbound(gw, receiver, timestamp=int(time.time()) - 3 * 86400)
    customer = ev["payload"]["from"]
    status, _, body = notify(gw, send_body(to=customer, locale="fr-FR"))
    assert status == 200, body
    assert graph.requests[-1]["body"]["template"]["language"] == {"code": "fr_FR"}
    assert_reply_error(notify(gw, reply_body(ev), path="/v2/notify/reply"), 422,
                       "window_expired")


def test_reply_in_the_same_location(notify_gw, graph, receiver):
    gw = notify_gw()
    ev = inbound(gw, receiver)
    status, _, body = notify(gw, reply_body(ev), path="/v2/notify/reply")
    assert status == 200, body
    assert body["id"].startswith("tx_") and body["reply_to"] == ev["payload"]["message_id"]


def test_errors_in_order(notify_gw, graph):
    gw = notify_gw()
    assert_reply_error(notify(gw, send_body(), key="wa_nope"), 401, "invalid_api_token")
    assert_reply_error(notify(gw, send_body(), key=READ_SECRET), 403, "forbidden")
    assert_reply_error(notify(gw, {"to": NEW_CUSTOMER}), 400, "invalid_request",
                       param="template_id")
    assert_reply_error(notify(gw, send_body(variables={"order_id": 5})), 400,
                       "invalid_request", param="variables")
    assert_reply_error(notify(gw, send_body(preferred_channel="sms")), 400, "invalid_channel",
                       param="preferred_channel")
    assert_reply_error(notify(gw, send_body(to="0612")), 400, "invalid_phone_number", param="to")
    assert_reply_error(notify(gw, send_body(expires_at="tomorrow")), 400, "invalid_request",
                       param="expires_at")
    assert_reply_error(notify(gw, send_body(expires_at="2001-01-01T00:00:00Z")), 400,
                       "invalid_request", param="expires_at")
    assert_reply_error(notify(gw, send_body(schedule_at="2999-01-01T00:00:00Z")), 400,
                       "invalid_request", param="schedule_at")
    assert_reply_error(notify(gw, send_body(template_id="nope")), 400, "invalid_template_id",
                       param="template_id")
    # Another tenant's template is like an unknown one.
    assert_reply_error(notify(gw, send_body(template_id="globex_only", variables={})), 400,
                       "invalid_template_id", param="template_id")
    assert_reply_error(notify(gw, send_body(variables={"order_id": "1"})), 400,
                       "invalid_variables", param="variables")
    assert_reply_error(notify(gw, send_body(variables=dict(VARIABLES, coupon="x"))), 400,
                       "invalid_variables", param="variables")
    assert_reply_error(notify(gw, send_body(locale="de_DE")), 400, "invalid_request",
                       param="locale")
    assert_reply_error(notify(gw, send_body(**{"from": "+15550000000"})), 400, "invalid_sender",
                       param="from")
    assert graph.requests == []  # nothing refused reached Meta
    assert_reply_error(notify(gw, send_body(), path="/v2/notify/other"), 404, "not_found")
    m = H.metrics(gw)
    assert H.metric(m, "whatsapp_replies_total", code="invalid_template_id") == 2
    assert H.metric(m, "whatsapp_replies_total", code="invalid_variables") == 2
    assert H.metric(m, "whatsapp_replies_total", code="not_found") == 1


def test_from_is_required_when_the_tenant_has_several_numbers(notify_gw, graph):
    second = "+15550783882"
    numbers = number_block() + "\n    " + number_block(number=second,
                                                       phone_number_id="106540352242999")
    gw = notify_gw(numbers=numbers)
    assert_reply_error(notify(gw, send_body()), 400, "invalid_sender", param="from")
    status, _, body = notify(gw, send_body(**{"from": second}))
    assert status == 200, body
    assert body["from"] == second
    assert graph.requests[-1]["phone_number_id"] == "106540352242999"


def test_metas_refusal_maps_like_a_reply(notify_gw, graph):
    gw = notify_gw()
    graph.fail(http_status=400, code=131026)  # undeliverable
    status, rh, body = notify(gw, send_body())
    assert status == 400 and body["code"] == "invalid_request", body
    assert rh["x-should-retry"] == "false"


# ---- /v2/notify/batch --------------------------------------------------------------------------

def batch_body(recipients, **extra):
    body = {"template_id": "order_shipped", "to": recipients, "variables": dict(VARIABLES)}
    body.update(extra)
    return body


def test_prelude_sdk_sends_a_batch_answered_per_recipient(prelude_sdk, notify_gw, graph,
                                                          receiver):
    gw = notify_gw()
    graph.fail(http_status=400, code=131026)  # the first send Meta refuses
    to = ["+33700000010", "+33700000011", "0612", "+33700000012"]
    got = sdk_send(prelude_sdk, gw, batch_body(to, correlation_id="wave-1"), method="sendBatch")
    assert got["ok"], got
    body = got["body"]
    assert (body["total_count"], body["success_count"], body["error_count"]) == (4, 2, 2), body
    assert [r["phone_number"] for r in body["results"]] == to
    by = {r["phone_number"]: r for r in body["results"]}
    assert by["0612"]["error"]["code"] == "invalid_phone_number"
    refused = [r for r in body["results"] if not r["success"] and r["phone_number"] != "0612"]
    assert len(refused) == 1 and refused[0]["error"]["code"] == "invalid_request", body
    sent = [r for r in body["results"] if r["success"]]
    for r in sent:
        assert r["message"]["id"].startswith("tx_") and r["message"]["from"] == NUMBER
        assert r["message"]["correlation_id"] == "wave-1"
    assert body["template_id"] == "order_shipped" and body["variables"] == VARIABLES
    assert body["request_id"]
    assert len(graph.requests) == 3  # the bad number never reached Meta
    created = wait_events(receiver, 2, type_="transactional.message.created")
    assert sorted(e["payload"]["message_id"] for e in created) == \
        sorted(r["message"]["id"] for r in sent)


def test_a_batch_of_1000(notify_gw, graph, receiver):
    gw = notify_gw()
    to = ["+3370%07d" % i for i in range(1000)]
    status, _, body = notify(gw, batch_body(to), path="/v2/notify/batch")
    assert status == 200, body
    assert body["total_count"] == 1000 and body["success_count"] == 1000, body["error_count"]
    assert [r["phone_number"] for r in body["results"]] == to
    assert len({r["message"]["id"] for r in body["results"]}) == 1000
    assert len(graph.requests) == 1000
    wait_events(receiver, 1000, type_="transactional.message.created", timeout=60)


def test_batch_errors(notify_gw, graph):
    gw = notify_gw()
    path = "/v2/notify/batch"
    assert_reply_error(notify(gw, batch_body([]), path=path), 400, "invalid_request", param="to")
    assert_reply_error(notify(gw, batch_body(["+33700000001"] * 1001), path=path), 400,
                       "invalid_request", param="to")
    assert_reply_error(notify(gw, batch_body("+33700000001"), path=path), 400,
                       "invalid_request", param="to")
    assert_reply_error(notify(gw, batch_body([1]), path=path), 400, "invalid_request", param="to")
    assert_reply_error(notify(gw, batch_body(["+33700000001"], template_id="nope"), path=path),
                       400, "invalid_template_id")
    assert_reply_error(notify(gw, batch_body(["+33700000001"], variables={}), path=path), 400,
                       "invalid_variables")
    assert graph.requests == []


# ---- Idempotency-Key on both send endpoints (§7.3), as the reply's tests ----------------------

ENDPOINTS = [("/v2/notify", lambda to: send_body(to=to)),
             ("/v2/notify/batch", lambda to: batch_body([to]))]
ENDPOINT_IDS = ["send", "batch"]


def keyed(gw, path, body, key):
    return notify(gw, body, path=path, headers={"Idempotency-Key": key})


@pytest.mark.parametrize("path,body_for", ENDPOINTS, ids=ENDPOINT_IDS)
def test_the_answer_survives_a_restart(notify_gw, graph, path, body_for):
    gw = notify_gw()
    first = keyed(gw, path, body_for(NEW_CUSTOMER), "restart-1")
    assert first[0] == 200, first
    gw.stop()
    gw.start()
    again = keyed(gw, path, body_for(NEW_CUSTOMER), "restart-1")
    assert again[0] == 200 and again[2] == first[2]
    assert again[1]["idempotent-replayed"] == "true"
    assert len(graph.requests) == 1


@pytest.mark.parametrize("path,body_for", ENDPOINTS, ids=ENDPOINT_IDS)
def test_another_body_is_422_and_an_error_is_replayed(notify_gw, graph, path, body_for):
    gw = notify_gw()
    assert keyed(gw, path, body_for(NEW_CUSTOMER), "k-1")[0] == 200
    assert_reply_error(keyed(gw, path, body_for("+33700000099"), "k-1"), 422,
                       "idempotency_key_reused", param="Idempotency-Key")
    bad = dict(body_for(NEW_CUSTOMER), template_id="nope")
    first = keyed(gw, path, bad, "k-2")
    assert_reply_error(first, 400, "invalid_template_id")
    again = keyed(gw, path, bad, "k-2")
    assert again[2] == first[2] and again[1]["idempotent-replayed"] == "true"
    assert again[1]["x-should-retry"] == "false"
    assert len(graph.requests) == 1


@pytest.mark.parametrize("path,body_for", ENDPOINTS, ids=ENDPOINT_IDS)
def test_same_key_while_the_first_is_in_flight_is_409(notify_gw, graph, path, body_for):
    gw = notify_gw()
    graph.hang_next(1.0)
    results = {}

    def first():
        results["first"] = keyed(gw, path, body_for(NEW_CUSTOMER), "inflight")
    t = threading.Thread(target=first)
    t.start()
    graph.wait_for(1)  # the first is at Meta now
    second = keyed(gw, path, body_for(NEW_CUSTOMER), "inflight")
    t.join()
    assert results["first"][0] == 200, results
    assert_reply_error(second, 409, "idempotency_key_in_use")
    assert second[1]["x-should-retry"] == "true"
    assert len(graph.requests) == 1


@pytest.mark.parametrize("path,body_for", ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize("bad", ["k" * 256, "has space", "tab\tkey", "caf\u00e9"])
def test_a_bad_key_is_400_and_nothing_is_sent(notify_gw, graph, path, body_for, bad):
    gw = notify_gw()
    status, _, body = notify(gw, body_for(NEW_CUSTOMER), path=path,
                             headers={"Idempotency-Key": bad.encode("utf-8").decode("latin-1")})
    assert status == 400, body
    assert body["code"] == "invalid_request" and body["param"] == "Idempotency-Key", body
    assert graph.requests == []


# ---- schedule_at: stored, made by the timer at its time, surviving a restart -----------------

def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".%03dZ" % (t % 1 * 1000)


def test_a_scheduled_send_is_made_at_its_time_and_survives_a_restart(notify_gw, graph,
                                                                      receiver):
    gw = notify_gw()
    at = time.time() + 3
    status, _, body = notify(gw, send_body(schedule_at=rfc3339(at), correlation_id="later"))
    assert status == 200, body
    assert body["schedule_at"].startswith(rfc3339(at)[:19]), body
    assert graph.requests == []  # not now
    gw.stop()  # the store keeps it
    gw.start()
    graph.wait_for(1, timeout=15)
    sent_at = time.time()
    assert sent_at >= at - 0.05, "sent %.2f s early" % (at - sent_at)
    (sent,) = graph.requests
    assert sent["body"]["biz_opaque_callback_data"] == body["id"]
    assert sent["body"]["template"]["name"] == "order_shipped_v2"
    (created,) = wait_events(receiver, 1, type_="transactional.message.created")
    assert created["payload"]["message_id"] == body["id"]
    assert created["payload"]["correlation_id"] == "later"
    time.sleep(1.5)  # one tick more: it is not made twice
    assert len(graph.requests) == 1


def test_a_scheduled_batch_is_answered_per_recipient_and_made_at_its_time(notify_gw, graph,
                                                                          receiver):
    gw = notify_gw()
    at = time.time() + 2
    recipients = ["+33700000001", "0612", "+33700000002"]
    status, _, body = notify(gw, batch_body(recipients, schedule_at=rfc3339(at)),
                             path="/v2/notify/batch")
    assert status == 200, body
    assert (body["success_count"], body["error_count"]) == (2, 1), body
    ok = [r for r in body["results"] if r["success"]]
    assert [r["phone_number"] for r in ok] == [recipients[0], recipients[2]]
    assert all(r["message"]["schedule_at"].startswith(rfc3339(at)[:19]) for r in ok), body
    assert body["results"][1]["error"]["code"] == "invalid_phone_number"
    assert graph.requests == []  # not now
    graph.wait_for(2, timeout=15)
    assert time.time() >= at - 0.05
    assert sorted(r["body"]["biz_opaque_callback_data"] for r in graph.requests) == sorted(
        r["message"]["id"] for r in ok)
    created = wait_events(receiver, 2, type_="transactional.message.created")
    assert sorted(e["payload"]["message_id"] for e in created) == sorted(
        r["message"]["id"] for r in ok)


def test_an_expired_scheduled_send_is_dropped_with_a_failed_event(notify_gw, graph, receiver):
    gw = notify_gw()
    at = time.time() + 2
    # Expires 0.5 s after its time: stopped meanwhile, the gateway finds it expired.
    status, _, body = notify(gw, send_body(schedule_at=rfc3339(at),
                                           expires_at=rfc3339(at + 0.5)))
    assert status == 200, body
    gw.stop()
    time.sleep(max(0, at + 0.6 - time.time()))
    gw.start()
    (failed,) = wait_events(receiver, 1, type_="transactional.message.failed")
    assert failed["payload"]["message_id"] == body["id"]
    assert graph.requests == []


def test_a_scheduled_send_meta_refuses_fails_with_meta_s_error(notify_gw, graph, receiver):
    gw = notify_gw()
    graph.fail(http_status=400, code=131026)
    status, _, body = notify(gw, send_body(schedule_at=rfc3339(time.time() + 1)))
    assert status == 200, body
    (failed,) = wait_events(receiver, 1, type_="transactional.message.failed")
    assert failed["payload"]["message_id"] == body["id"]
    assert len(graph.requests) == 1
