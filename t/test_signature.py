"""§4.2: X-Hub-Signature-256 over the raw body bytes."""

import hashlib
import hmac
import json

import pytest

from helpers import (APP_SECRET, CUSTOMER, DISPLAY_PHONE, PHONE_NUMBER_ID, events_of_type,
                     metric, metrics, post, text_body, wait_metric, wait_text)
from tools import cloudapi_sim as sim


def test_escaped_unicode_signed_over_raw_bytes(gw, receiver):
    msg = sim.text_message(sim.new_wamid(), CUSTOMER, "caf\u00e9 \U0001F44D", name="Zo\u00e9")
    body = sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg]), ensure_ascii=True)
    assert b"caf\\u00e9 \\ud83d\\udc4d" in body
    status, text = post(gw, body)
    assert status == 200, text
    ev = wait_text(receiver, "caf\u00e9 \U0001F44D")
    assert ev["payload"]["content"]["text"] == "café 👍"
    assert ev["payload"].get("contact", {}).get("name") == "Zoé"


def test_raw_utf8_body_also_verified_on_its_bytes(gw, receiver):
    msg = sim.text_message(sim.new_wamid(), CUSTOMER, "naïve ✓")
    body = sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg]), ensure_ascii=False)
    status, text = post(gw, body)
    assert status == 200, text
    wait_text(receiver, "naïve ✓")


def _reserialised_signature(body):
    """The classic bug: signing json.dumps(parsed) (non-escaped, spaced) instead of the bytes."""
    other = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert other != body
    return "sha256=" + hmac.new(APP_SECRET.encode(), other, hashlib.sha256).hexdigest()


BAD_CASES = {
    "missing": lambda body: False,
    "wrong_secret": lambda body: sim.sign("not-the-secret", body),
    "garbage": lambda body: "sha256=" + "0" * 64,
    "reserialised": _reserialised_signature,
    "no_prefix": lambda body: sim.sign(APP_SECRET, body)[len("sha256="):],
    "sha1_prefix": lambda body: "sha1=" + sim.sign(APP_SECRET, body)[len("sha256="):],
    "truncated": lambda body: sim.sign(APP_SECRET, body)[:-2],
    "flipped_last_digit": lambda body: sim.sign(APP_SECRET, body)[:-1] + (
        "0" if sim.sign(APP_SECRET, body)[-1] != "0" else "1"),
    "empty": lambda body: "",
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_signature_rejected_and_nothing_stored(gw, receiver, case):
    before = metric(metrics(gw), "whatsapp_inbound_bad_signature_total")
    bad_text = "must never be delivered (%s)" % case
    msg = sim.text_message(sim.new_wamid(), CUSTOMER, "caf\u00e9 " + bad_text)
    body = sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg]))
    status, text = post(gw, body, signature=BAD_CASES[case](body))
    assert status == 401, text

    wait_metric(gw, lambda m: metric(m, "whatsapp_inbound_bad_signature_total") >= before + 1,
                what="bad_signature_total +1")
    # Same customer => same conversation => ordered delivery: had the bad one been stored,
    # its event would come before the good one.
    status, text = post(gw, text_body(text="good after bad"))
    assert status == 200, text
    wait_text(receiver, "good after bad")
    evs = events_of_type(receiver)
    assert [e["payload"]["content"]["text"] for e in evs] == ["good after bad"]
    assert metric(metrics(gw), "whatsapp_inbound_bad_signature_total") == before + 1


def test_signature_of_other_body_rejected(gw, receiver):
    """A valid signature for one body does not validate another (same length) body."""
    a = text_body(wamid="wamid.AAAA", text="first")
    b = text_body(wamid="wamid.BBBB", text="other")
    status, _ = post(gw, b, signature=sim.sign(APP_SECRET, a))
    assert status == 401
    status, _ = post(gw, a, signature=sim.sign(APP_SECRET, a))
    assert status == 200
    wait_text(receiver, "first")
    assert [e["payload"]["content"]["text"] for e in events_of_type(receiver)] == ["first"]
