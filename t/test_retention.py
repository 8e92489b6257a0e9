"""§3.1 whatsapp_retention: a timer prunes messages older than the retention in bounded
steps; conversations stay, and what is newer stays."""

import time

import pytest

import helpers as H
from test_messaging import ALL_SECRET, call, conversation_of, inbox_gw, say  # noqa: F401


def messages_of(gw, cid):
    status, _, body = call(gw, "GET", "conversations/" + cid, key=ALL_SECRET,
                           query={"limit": 100})
    assert status == 200, body
    return body["data"]["messages"]


def test_messages_older_than_the_retention_are_pruned_and_conversations_stay(inbox_gw):
    gw = inbox_gw(http_extra="whatsapp_retention 3s;")
    for i in range(5):
        say(gw, 1, text="old %d" % i)
    cid = conversation_of(gw, 1)["id"]
    assert len(messages_of(gw, cid)) == 5
    deadline = time.monotonic() + 20 * H.TIMEOUT_SCALE
    while messages_of(gw, cid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert messages_of(gw, cid) == []
    assert H.metric(H.metrics(gw), "whatsapp_pruned_total", kind="message") == 5
    c = conversation_of(gw, 1)
    assert c["id"] == cid and c["lastMessage"] is None and c["lastInboundAt"] is not None
    say(gw, 1, text="new")
    assert [m["text"] for m in messages_of(gw, cid)] == ["new"]


@pytest.mark.parametrize("value", ["0", "-1s", "soon"])
def test_a_bad_retention_fails_nginx_t(nginx_t, value):
    rc, stderr = nginx_t(nginx_t.render(http_extra="whatsapp_retention %s;" % value))
    assert rc != 0
    assert "whatsapp_retention" in stderr
