"""§4.1: webhook subscription verification (GET)."""

import urllib.parse

import pytest

from helpers import VERIFY_TOKEN


def verify_path(mode="subscribe", token=VERIFY_TOKEN, challenge="1158201444", raw_challenge=None):
    q = []
    if mode is not None:
        q.append("hub.mode=" + urllib.parse.quote(mode, safe=""))
    if challenge is not None:
        q.append("hub.challenge=" + (raw_challenge if raw_challenge is not None
                                     else urllib.parse.quote(challenge, safe="")))
    if token is not None:
        q.append("hub.verify_token=" + urllib.parse.quote(token, safe=""))
    return "/webhook?" + "&".join(q)


def test_verify_echoes_numeric_challenge(gw):
    status, headers, body = gw.get(verify_path(challenge="1158201444"))
    assert status == 200
    assert headers.get("content-type", "").split(";")[0].strip() == "text/plain"
    assert body == b"1158201444"


def test_verify_answer_is_not_sniffed(gw):
    # The challenge is the caller's text: a browser must not render it as HTML.
    status, headers, body = gw.get(verify_path(challenge="<script>alert(1)</script>"))
    assert status == 200
    assert body == b"<script>alert(1)</script>"
    assert headers.get("x-content-type-options") == "nosniff"


@pytest.mark.parametrize("challenge", [
    "AbC-_.~!*'()$,;:@/?x",   # characters legal unescaped in a query: echoed as sent
    "z" * 200,
    "0",
], ids=["punctuation", "long", "zero"])
def test_verify_echoes_odd_challenge_byte_for_byte(gw, challenge):
    status, headers, body = gw.get(verify_path(raw_challenge=challenge, challenge=challenge))
    assert status == 200
    assert headers.get("content-type", "").split(";")[0].strip() == "text/plain"
    assert body == challenge.encode()


def test_verify_parameter_order_does_not_matter(gw):
    path = "/webhook?hub.verify_token=%s&hub.challenge=777&hub.mode=subscribe" % VERIFY_TOKEN
    status, _, body = gw.get(path)
    assert status == 200
    assert body == b"777"


@pytest.mark.parametrize("kw", [
    {"token": "wrong-token"},
    {"token": VERIFY_TOKEN + "x"},
    {"token": VERIFY_TOKEN[:-1]},
    {"token": ""},
    {"token": None},
    {"mode": "unsubscribe"},
    {"mode": None},
    {"mode": "SUBSCRIBE"},
])
def test_verify_refuses_wrong_token_or_mode(gw, kw):
    status, _, body = gw.get(verify_path(**kw))
    assert status == 403
    assert b"1158201444" not in body


def test_verify_challenge_is_query_decoded_once(gw):
    status, _, body = gw.get("/webhook?hub.mode=subscribe&hub.challenge=a%20b%2541"
                             "&hub.verify_token=" + VERIFY_TOKEN)
    assert status == 200
    assert body == b"a b%41"
