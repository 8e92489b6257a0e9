"""§6: POST /v2/notify/reply — keys, §6.2 rows in order, the Graph send, §6.3 mapping."""

import json
import time

import pytest

import helpers as H
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

    def make(keys=KEY_LINES, http_extra="", server_extra="", **conf):
        ng = nginx(start=False,
                   http_extra="whatsapp_api_keys @PREFIX@/api.keys;\n    " + http_extra,
                   server_extra=REPLY_LOCATION + "\n        " + server_extra, **conf)
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
                         "context": {"message_id": inbound_wamid}}
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
