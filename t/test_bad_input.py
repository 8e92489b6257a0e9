"""§4: malformed (but correctly signed) bodies → 400 and nothing stored; size limits."""

import json

import pytest

from helpers import (CUSTOMER, DISPLAY_PHONE, PHONE_NUMBER_ID, events_of_type, json_error, metric,
                     metrics, post, text_body, wait_events, wait_metric, wait_text)
from tools import cloudapi_sim as sim


def _valid(text):
    msg = sim.text_message(sim.new_wamid(), CUSTOMER, text)
    return sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg])


def _no_metadata():
    p = _valid("bad: no metadata")
    del p["entry"][0]["changes"][0]["value"]["metadata"]
    return sim.body_bytes(p)


def _numeric_pnid():
    p = _valid("bad: numeric phone_number_id")
    p["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = int(PHONE_NUMBER_ID)
    return sim.body_bytes(p)


def _duplicate_keys():
    raw = sim.body_bytes(_valid("bad: duplicate keys")).decode()
    assert raw.startswith('{"object":"whatsapp_business_account",')
    return ('{"object":"whatsapp_business_account",' + raw[1:]).encode()


def _duplicate_keys_inner():
    raw = sim.body_bytes(_valid("bad: duplicate inner keys")).decode()
    needle = '"phone_number_id":"%s"' % PHONE_NUMBER_ID
    assert needle in raw
    return raw.replace(needle, needle + ',"phone_number_id":"%s"' % PHONE_NUMBER_ID).encode()


def _deep():
    p = _valid("bad: deep")
    deep = 0
    for _ in range(100):
        deep = [deep]
    p["entry"][0]["changes"][0]["value"]["messages"][0]["extra"] = deep
    return sim.body_bytes(p)


def _bad_from(from_):
    msg = sim.text_message(sim.new_wamid(), from_, "bad: from " + from_)
    return sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg]))


def _trailing_garbage():
    return sim.body_bytes(_valid("bad: trailing")) + b"}"


BAD = {
    "not_json": lambda: b"this is not json at all",
    "empty": lambda: b"",
    "array_root": lambda: b"[" + sim.body_bytes(_valid("bad: array root")) + b"]",
    "string_root": lambda: b'"whatsapp"',
    "truncated": lambda: sim.body_bytes(_valid("bad: truncated"))[:-3],
    "trailing_garbage": _trailing_garbage,
    "no_metadata": _no_metadata,
    "numeric_phone_number_id": _numeric_pnid,
    "duplicate_keys": _duplicate_keys,
    "duplicate_inner_keys": _duplicate_keys_inner,
    "nesting_100_deep": _deep,
    "invalid_utf8": lambda: sim.body_bytes(_valid("bad: utf8 XX")).replace(b"XX", b"\xff\xfe"),
    "entry_not_array": lambda: b'{"object":"whatsapp_business_account","entry":{}}',
    # digits, but never a storable E.164 number: a 400 now, not a 503 Meta retries for days
    "from_16_digits": lambda: _bad_from("1234567890123456"),
    "from_leading_zero": lambda: _bad_from("0612345678"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_body_is_400_and_nothing_stored(gw, receiver, case):
    before = metric(metrics(gw), "whatsapp_inbound_rejected_total")
    body = BAD[case]()
    status, text = post(gw, body)  # correctly signed over these exact bytes
    assert status == 400, text
    json_error(text)
    wait_metric(gw, lambda m: metric(m, "whatsapp_inbound_rejected_total") >= before + 1,
                what="rejected_total +1")
    # same customer => same conversation => ordered: a stored bad message would come first
    assert post(gw, text_body(text="good after bad"))[0] == 200
    wait_text(receiver, "good after bad")
    assert [e["payload"]["content"]["text"] for e in events_of_type(receiver)] == \
        ["good after bad"]


def test_half_bad_batch_stores_nothing(gw, receiver):
    """One bad change in an otherwise good body rejects the whole body (nothing half-written)."""
    good = sim.change(PHONE_NUMBER_ID, DISPLAY_PHONE,
                      [sim.text_message(sim.new_wamid(), CUSTOMER, "bad: good part")])
    bad = sim.change(PHONE_NUMBER_ID, DISPLAY_PHONE,
                     [sim.text_message(sim.new_wamid(), CUSTOMER, "bad: bad part")])
    bad["value"]["metadata"]["phone_number_id"] = 12345
    status, text = post(gw, sim.envelope([sim.entry([good, bad])]))
    assert status == 400, text
    assert post(gw, text_body(text="good after bad"))[0] == 200
    wait_text(receiver, "good after bad")
    assert [e["payload"]["content"]["text"] for e in events_of_type(receiver)] == \
        ["good after bad"]


def _big_body(total_bytes):
    """A valid signed webhook padded (inside the message text) to about total_bytes."""
    base = len(sim.body_bytes(_valid("")))
    return sim.body_bytes(_valid("p" * max(0, total_bytes - base)))


def test_body_up_to_3mb_accepted(gw, receiver):
    """A realistic big POST: a batch of many maximum-size texts (Meta: <= 1000 updates)."""
    msgs = [sim.text_message("wamid.BIG.%04d" % i, "3361%07d" % (i % 25), "%04d " % i + "t" * 4090)
            for i in range(640)]
    body = sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, msgs))
    assert 2.5 * 1024 * 1024 <= len(body) < 3 * 1000 * 1000
    status, text = post(gw, body)
    assert status == 200, text
    evs = wait_events(receiver, len(msgs), timeout=60)
    assert sorted(e["payload"]["content"]["text"][:4] for e in evs) == \
        ["%04d" % i for i in range(len(msgs))]


def test_body_over_3mb_is_413(gw, receiver):
    body = _big_body(int(3.5 * 1024 * 1024))
    status, text = post(gw, body)
    assert status == 413, text[:300]
    assert post(gw, text_body(text="small after big"))[0] == 200
    wait_text(receiver, "small after big")
    assert len(events_of_type(receiver)) == 1


def test_get_other_than_verify_and_other_methods(gw):
    status, _, _ = gw.request("PUT", "/webhook", b"{}", {"Content-Type": "application/json"})
    assert status in (405, 403, 400)
    status, _, _ = gw.request("DELETE", "/webhook")
    assert status in (405, 403, 400)


def test_json_error_body_shape_on_400(gw):
    status, text = post(gw, b"{")
    assert status == 400
    err = json_error(text)
    assert json.dumps(err)  # serialisable, has code and message


def test_server_level_body_limit_is_respected(nginx, receiver):
    """whatsapp_webhook lifts only nginx's default 1m; an operator's own limit stands."""
    gw = nginx(server_extra="client_max_body_size 2k;")
    status, text = post(gw, _big_body(4096))
    assert status == 413, text[:300]
    assert post(gw, text_body(text="small under the limit"))[0] == 200
    wait_text(receiver, "small under the limit")
