"""§6.3 and §7.3 on the reply API: the three outcomes of a send, and Idempotency-Key.

- Meta answers after the graph location's proxy_read_timeout: the outcome is unknown (504
  upstream_timeout, x-should-retry: false, the tx_ id named), so a client that retries by the
  SDK's rule — Prelude's own Node SDK included — makes Meta receive the reply once; the status
  webhook that carries the tx_ id (biz_opaque_callback_data) turns it into an accepted message.
- A request never written (connection refused) is certainly not sent: 502, x-should-retry: true.
- Idempotency-Key: the first answer replayed (Idempotent-Replayed: true), also after a restart;
  422 for another body; 409 while the first is in flight on another worker; bad keys refused.
"""

import json
import os
import re
import subprocess
import threading

import pytest

import helpers as H
from conftest import REPO, free_port
from helpers import (CUSTOMER, DISPLAY_PHONE, PHONE_NUMBER_ID, assert_reply_error, metric,
                     metrics, post, reply, wait_events)
from test_reply import CUSTOMER_E164, SEND_SECRET, gateway, gw, inbound, reply_body  # noqa: F401
from tools import cloudapi_sim as sim

SLOW_GRAPH = dict(
    server_extra="location /_slow_graph/ { internal; proxy_read_timeout 1s; "
                 "proxy_pass http://127.0.0.1:%d/v21.0/; }",
    http_extra="whatsapp_graph /_slow_graph;")
SDK_VERSION = "0.10.0"


def slow_gateway(gateway, graph, **conf):
    return gateway(server_extra=SLOW_GRAPH["server_extra"] % graph.port,
                   http_extra=SLOW_GRAPH["http_extra"], **conf)


def dead_graph_gateway(gateway):
    """A gateway whose graph location points at a port nobody listens on: refused."""
    return gateway(server_extra="location /_dead_graph/ { internal; "
                                "proxy_pass http://127.0.0.1:%d/; }" % free_port(),
                   http_extra="whatsapp_graph /_dead_graph;")


def sdk_rule_client(gw, body, headers=None, max_retries=2):
    """Retries as Prelude's SDK does: 408/409/429/5xx, unless x-should-retry says otherwise.
    Returns every answer it got."""
    answers = []
    for _ in range(max_retries + 1):
        status, rh, rb = reply(gw, body, key=SEND_SECRET, headers=headers)
        answers.append((status, rh, rb))
        hint = rh.get("x-should-retry")
        retry = hint == "true" or (hint != "false" and (status in (408, 409, 429)
                                                         or status >= 500))
        if not retry:
            break
    return answers


def status_webhook(gw, wamid, status, callback_data):
    st = sim.status(wamid, CUSTOMER, status)
    st["biz_opaque_callback_data"] = callback_data
    payload = sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [], statuses=[st])
    assert post(gw, payload)[0] == 200


# ---- §6.3 three outcomes ---------------------------------------------------------------------

def test_unknown_outcome_is_sent_once_by_a_retrying_client_and_linked_by_its_status(
        gateway, graph, receiver):
    gw = slow_gateway(gateway, graph)
    ev = inbound(gw, receiver)
    graph.hang_next(3, count=5)
    answers = sdk_rule_client(gw, reply_body(ev))
    assert len(answers) == 1, answers  # x-should-retry: false stops the SDK's retries
    status, rh, body = answers[0]
    assert status == 504 and body["code"] == "upstream_timeout", answers
    assert rh["x-should-retry"] == "false"
    tx = body["message_id"]
    assert H.is_typeid(tx, "tx")
    sends = graph.wait_for(1)
    assert len(graph.requests) == 1, graph.requests  # Meta received the reply once
    assert sends[0]["body"]["biz_opaque_callback_data"] == tx

    # Meta had it after all: its status webhook names our tx_ id.
    status_webhook(gw, sends[0]["wamid"], "sent", tx)
    created = wait_events(receiver, 1, type_="transactional.message.created")
    sent = wait_events(receiver, 1, type_="transactional.message.sent")
    assert created[0]["payload"]["message_id"] == tx
    assert sent[0]["payload"]["message_id"] == tx
    types = [e["type"] for e in receiver.events if e["type"].startswith("transactional.")]
    assert types == ["transactional.message.created", "transactional.message.sent"]
    # later statuses find it by its wamid now
    status_webhook(gw, sends[0]["wamid"], "delivered", "")
    wait_events(receiver, 1, type_="transactional.message.delivered")


def test_unknown_send_holds_its_credit(gateway, graph, receiver):
    gw = slow_gateway(gateway, graph, numbers=H.number_block(extra="credits 1;"))
    ev = inbound(gw, receiver)
    graph.hang_next(3)
    assert reply(gw, reply_body(ev), key=SEND_SECRET)[0] == 504
    # Meta may have it: the one credit stays spent
    assert_reply_error(reply(gw, reply_body(ev), key=SEND_SECRET), 402, "insufficient_balance")
    assert len(graph.requests) == 1


def test_never_written_is_not_sent_and_may_be_retried(gateway, receiver, graph):
    gw = dead_graph_gateway(gateway)
    ev = inbound(gw, receiver)
    answers = sdk_rule_client(gw, reply_body(ev))
    assert len(answers) == 3  # a retry can succeed: the SDK tries again
    for status, rh, body in answers:
        assert status == 502 and body["code"] == "upstream_error", answers
        assert rh["x-should-retry"] == "true"
        assert "message_id" not in body


@pytest.fixture(scope="session")
def prelude_sdk():
    """Prelude's Node SDK from the npm registry, installed once under build/ (never committed)."""
    target = REPO / "build" / "prelude-sdk"
    marker = target / "node_modules" / "@prelude.so" / "sdk" / "package.json"
    if not marker.exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save",
                        "--prefix", str(target), "@prelude.so/sdk@" + SDK_VERSION],
                       check=True, capture_output=True, timeout=300)
    return target


def sdk_post(prelude_sdk, gw, body, idempotency_key=None):
    args = ["node", str(REPO / "t" / "sdk" / "prelude_post.mjs"), str(prelude_sdk),
            gw.url(""), SEND_SECRET, H.REPLY_PATH, json.dumps(body)]
    if idempotency_key:
        args.append(idempotency_key)
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_prelude_sdk_gets_the_unknown_outcome_once(prelude_sdk, gateway, graph, receiver):
    gw = slow_gateway(gateway, graph)
    ev = inbound(gw, receiver)
    graph.hang_next(3, count=5)
    got = sdk_post(prelude_sdk, gw, reply_body(ev))
    assert not got["ok"] and got["status"] == 504, got
    assert got["body"]["code"] == "upstream_timeout"
    graph.wait_for(1)
    assert len(graph.requests) == 1, graph.requests


def test_prelude_sdk_replies_and_retries_with_its_idempotency_key(prelude_sdk, gw, graph,
                                                                   receiver):
    ev = inbound(gw, receiver)
    got = sdk_post(prelude_sdk, gw, reply_body(ev), idempotency_key="sdk-key-1")
    assert got["ok"], got
    again = sdk_post(prelude_sdk, gw, reply_body(ev), idempotency_key="sdk-key-1")
    assert again == got
    assert len(graph.requests) == 1


# ---- §7.3 Idempotency-Key ----------------------------------------------------------------------

def keyed(gw, body, key, secret=SEND_SECRET):
    return reply(gw, body, key=secret, headers={"Idempotency-Key": key})


def test_same_key_same_body_replays_the_first_answer(gw, graph, receiver):
    ev = inbound(gw, receiver)
    first = keyed(gw, reply_body(ev), "k-1")
    assert first[0] == 200, first
    assert "idempotent-replayed" not in first[1]
    second = keyed(gw, reply_body(ev), "k-1")
    assert second[0] == 200
    assert second[2] == first[2]
    assert second[1]["idempotent-replayed"] == "true"
    assert len(graph.requests) == 1
    assert metric(metrics(gw), "whatsapp_replies_total", code="ok") == 1
    # another key is another send
    assert keyed(gw, reply_body(ev), "k-2")[0] == 200
    assert len(graph.wait_for(2)) == 2


def test_an_error_answer_is_replayed_too(gw, graph, receiver):
    ev = inbound(gw, receiver)
    graph.fail(400, 131026)
    first = keyed(gw, reply_body(ev), "err-1")
    assert_reply_error(first, 400, "invalid_request")
    second = keyed(gw, reply_body(ev), "err-1")
    assert second[0] == 400 and second[2] == first[2]
    assert second[1]["idempotent-replayed"] == "true"
    assert second[1]["x-should-retry"] == "false"
    assert len(graph.requests) == 1


def test_a_replayed_failure_tells_the_client_not_to_retry(gateway, receiver, graph):
    gw = dead_graph_gateway(gateway)
    ev = inbound(gw, receiver)
    first = keyed(gw, reply_body(ev), "dead-1")
    assert first[0] == 502 and first[1]["x-should-retry"] == "true"
    again = keyed(gw, reply_body(ev), "dead-1")
    assert again[0] == 502 and again[2] == first[2]
    assert again[1]["idempotent-replayed"] == "true"
    assert again[1]["x-should-retry"] == "false"  # the same answer would come back


def test_the_answer_survives_a_restart(gw, graph, receiver):
    ev = inbound(gw, receiver)
    first = keyed(gw, reply_body(ev), "restart-1")
    assert first[0] == 200
    gw.stop()
    gw.start()
    second = keyed(gw, reply_body(ev), "restart-1")
    assert second[0] == 200 and second[2] == first[2]
    assert second[1]["idempotent-replayed"] == "true"
    assert len(graph.requests) == 1


def test_same_key_another_body_is_422(gw, graph, receiver):
    ev = inbound(gw, receiver)
    assert keyed(gw, reply_body(ev), "k-1")[0] == 200
    assert_reply_error(keyed(gw, reply_body(ev, text="something else"), "k-1"), 422,
                       "idempotency_key_reused", param="Idempotency-Key")
    assert len(graph.requests) == 1


def test_the_key_is_scoped_to_the_tenant(gateway, graph, receiver):
    other, other_line = H.api_key("other", tenant="globex")
    from test_reply import KEY_LINES
    gw = gateway(keys=KEY_LINES + [other_line])
    ev = inbound(gw, receiver)
    assert keyed(gw, reply_body(ev), "shared")[0] == 200
    # globex's use of the same key is its own: here refused as another tenant's context
    assert_reply_error(keyed(gw, reply_body(ev), "shared", secret=other), 404,
                       "invalid_reply_context")


def test_same_key_while_the_first_is_in_flight_is_409_on_another_worker(gateway, graph,
                                                                          receiver):
    # A reuseport listener: the kernel hands each connection to one worker by its hash,
    # so two requests land on two workers within a few tries, however busy the machine.
    spread = free_port()
    gw = gateway(workers=2, http_extra="log_format wpid '$pid $status $http_idempotency_key';",
                 server_extra="listen 127.0.0.1:%d reuseport;\n"
                              "        access_log @PREFIX@/pid.log wpid;" % spread)
    ev = inbound(gw, receiver)
    url = "http://127.0.0.1:%d%s" % (spread, H.REPLY_PATH)

    def keyed_spread(key):
        status, rh, rb = sim.http_request(
            "POST", url, json.dumps(reply_body(ev)).encode(),
            {"Content-Type": "application/json", "Authorization": "Bearer " + SEND_SECRET,
             "Idempotency-Key": key})
        return status, rh, json.loads(rb)

    seen_two_workers = False
    for attempt in range(30):
        key = "inflight-%d" % attempt
        graph.hang_next(1.0)
        results = {}

        def first():
            results["first"] = keyed_spread(key)
        t = threading.Thread(target=first)
        t.start()
        graph.wait_for(attempt + 1)  # the first is at Meta now
        results["second"] = keyed_spread(key)
        t.join()
        assert results["first"][0] == 200, results
        assert_reply_error(results["second"], 409, "idempotency_key_in_use")
        assert results["second"][1]["x-should-retry"] == "true"
        with open(os.path.join(gw.prefix, "pid.log")) as f:
            lines = [l.split() for l in f if l.rstrip().endswith(" " + key)]
        if len({pid for pid, _, _ in lines}) == 2:
            seen_two_workers = True
            break
    assert seen_two_workers, "the two requests never landed on two workers"
    assert len(graph.requests) == attempt + 1  # one send per key


@pytest.mark.parametrize("bad", ["k" * 256, "has space", "tab\tkey", "caf\u00e9"])
def test_a_bad_key_is_400_and_nothing_is_sent(gw, graph, receiver, bad):
    ev = inbound(gw, receiver)
    status, rh, body = reply(gw, reply_body(ev), key=SEND_SECRET,
                             headers={"Idempotency-Key": bad.encode("utf-8").decode("latin-1")})
    assert status == 400, body
    assert body["code"] == "invalid_request" and body["param"] == "Idempotency-Key", body
    assert graph.requests == []
