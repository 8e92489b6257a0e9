"""§9 guard mode: whatsapp_guard checks a send as the reply API does (key, shape, ownership,
window) in the access phase, in front of an application's own sender. An accepted request
reaches the upstream with its body byte for byte and the $whatsapp_* variables; a refused one
gets the reply API's error and never reaches the upstream."""

import http.client
import json
import time

import pytest

import helpers as H
from test_reply import (CUSTOMER_E164, READ_SECRET, SEND_SECRET, gateway,  # noqa: F401
                        inbound, reply_body)
from tools.callback_receiver import CallbackReceiver

PATH = "/app/send"


@pytest.fixture
def app():
    """The application's own sender behind the guard."""
    r = CallbackReceiver()
    r.timeout_scale = H.TIMEOUT_SCALE
    r.start()
    yield r
    r.stop()


@pytest.fixture
def guard_gw(gateway, app):
    location = (
        "location = %s {\n"
        "            whatsapp_guard;\n"
        "            proxy_set_header X-WA-Tenant $whatsapp_tenant;\n"
        "            proxy_set_header X-WA-Conversation $whatsapp_conversation_id;\n"
        "            proxy_set_header X-WA-Window $whatsapp_window_expires_at;\n"
        "            proxy_pass http://127.0.0.1:%d/sender;\n"
        "        }" % (PATH, app.port))
    return gateway(server_extra=location)


def send(gw, body, key=SEND_SECRET, chunks=None):
    """POST to the guarded location; chunks: send the body chunked, in these pieces."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = "Bearer " + key
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if chunks:
        pieces = [data[i:i + chunks] for i in range(0, len(data), chunks)]
        conn.request("POST", PATH, body=iter(pieces), headers=headers, encode_chunked=True)
    else:
        conn.request("POST", PATH, body=data, headers=headers)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return r.status, {k.lower(): v for k, v in r.getheaders()}, parsed


@pytest.mark.parametrize("chunks", [None, 4096], ids=["content-length", "chunked"])
def test_an_accepted_send_reaches_the_upstream_byte_for_byte(guard_gw, app, receiver, graph,
                                                              chunks):
    ev = inbound(guard_gw, receiver)
    # 60 KiB: over the in-memory body buffer, so nginx reads it through a temp file.
    body = reply_body(ev, metadata="x" * (60 * 1024))
    data = json.dumps(body).encode()
    status, _, _ = send(guard_gw, data, chunks=chunks)
    assert status == 200
    (got,) = app.wait_for(1)
    assert got.path == "/sender" and got.body == data
    assert got.headers["x-wa-tenant"] == H.TENANT
    conv = ev["payload"]["conversation"]
    assert got.headers["x-wa-conversation"] == conv["id"]
    assert H.rfc3339_to_epoch(got.headers["x-wa-window"]) == H.rfc3339_to_epoch(
        conv["window_expires_at"])
    assert "authorization" in got.headers  # the application's own request, as it came
    assert graph.requests == []  # the gateway sends nothing in guard mode


def test_refusals_are_the_reply_apis_and_never_reach_the_upstream(guard_gw, app, receiver,
                                                                   graph):
    ev = inbound(guard_gw, receiver)
    old = inbound(guard_gw, receiver, from_="33699999999",
                  timestamp=int(time.time()) - 3 * 86400)
    H.assert_reply_error(send(guard_gw, reply_body(ev), key=None), 401, "missing_api_token")
    H.assert_reply_error(send(guard_gw, reply_body(ev), key="wa_nope"), 401, "invalid_api_token")
    H.assert_reply_error(send(guard_gw, reply_body(ev), key=READ_SECRET), 403, "forbidden")
    H.assert_reply_error(send(guard_gw, b"{not json"), 400, "invalid_request")
    H.assert_reply_error(send(guard_gw, reply_body(ev, text="")), 400, "missing_text")
    H.assert_reply_error(send(guard_gw, dict(reply_body(ev), to="+33611111111")), 400,
                         "phone_number_mismatch")
    H.assert_reply_error(send(guard_gw, dict(reply_body(ev), reply_to="im_nope")), 404,
                         "invalid_reply_context")
    H.assert_reply_error(send(guard_gw, reply_body(old)), 422, "window_expired")
    H.assert_reply_error(send(guard_gw, reply_body(ev, metadata="x" * 70000)), 400,
                         "invalid_request")
    assert app.requests == []
    assert graph.requests == []
    # The same answers as the reply API's own, for the same request.
    direct = H.reply(guard_gw, dict(reply_body(ev), to="+33611111111"), key=SEND_SECRET)
    guarded = send(guard_gw, dict(reply_body(ev), to="+33611111111"))
    assert direct[0] == guarded[0] and direct[2]["code"] == guarded[2]["code"]
    assert direct[2]["message"] == guarded[2]["message"]


def test_only_post_is_guarded(guard_gw, app):
    conn = http.client.HTTPConnection("127.0.0.1", guard_gw.port, timeout=10)
    conn.request("GET", PATH, headers={"Authorization": "Bearer " + SEND_SECRET})
    assert conn.getresponse().status == 405
    conn.close()
    assert app.requests == []
