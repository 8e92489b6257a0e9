"""Delivery under the limits a bad day reaches (hostile-probe defects, issue 8 items 1-5).

- an event bigger than nginx's default client_max_body_size (1m) is delivered, and the events
  queued behind it in its conversation follow;
- a full store keeps delivering what it accepted (the reserve), and delivering frees room;
- one POST of 1000 messages from 1000 customers never runs out of worker_connections: the
  deliveries in flight per worker are bounded, the rest wait their turn;
- a wamid (or a customer id) longer than LMDB's key limit is stored, not answered 503;
- an attempt never outlives its lease, whatever the callback location's proxy timeouts: the
  gateway aborts it at whatsapp_delivery's timeout, so no second attempt of the same event
  runs while the first is open.
"""

import time

from helpers import (CUSTOMER, DISPLAY_PHONE, PHONE_NUMBER_ID, TIMEOUT_SCALE, callback_down,
                     callback_up, metric, metrics, post, texts, wait_metric)
from tools import cloudapi_sim as sim

EVENT = "inbound.message.received"


def _inbound(receiver):
    return [d for d in receiver.requests if d.type == EVENT]


def _text(d):
    return ((d.payload or {}).get("content") or {}).get("text")


def _drained(gw, timeout=30.0):
    return wait_metric(gw, lambda m: metric(m, "whatsapp_outbox_pending") == 0, timeout,
                       "whatsapp_outbox_pending == 0")


# ---- 1. an event over 1 MiB ------------------------------------------------------------------

def test_event_over_one_mebibyte_is_delivered_and_its_conversation_follows(nginx, receiver):
    gw = nginx()
    big = "B" * (1100 * 1024)
    status, text = post(gw, sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE,
                                        [sim.text_message(sim.new_wamid(), CUSTOMER, big)]))
    assert status == 200, text
    status, text = post(gw, sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE,
                                        [sim.text_message(sim.new_wamid(), CUSTOMER, "after")]))
    assert status == 200, text
    receiver.wait_until(lambda r: len(texts(r)) >= 2, 30, "both events")
    assert texts(receiver) == [big, "after"]
    first = next(d for d in _inbound(receiver) if d.delivered)
    assert len(first.body) > 1024 * 1024
    assert "too large body" not in gw.error_log()
    _drained(gw)


def test_callback_location_must_be_internal(nginx_t):
    conf = nginx_t.render().replace("location = /_whatsapp/callback {\n            internal;",
                                    "location = /_whatsapp/callback {")
    assert "internal;" in conf  # the graph location keeps its own
    rc, err = nginx_t(conf)
    assert rc != 0
    assert 'serving "whatsapp_callback" must be "internal"' in err, err


# ---- 2. a full store keeps delivering ----------------------------------------------------------

def _batch(k, n=10, size=3000, customer=CUSTOMER):
    wamids = ["wamid.FULLDLV.%03d.%02d" % (k, i) for i in range(n)]
    msgs = [sim.text_message(w, customer, w + " " + "x" * size) for w in wamids]
    return sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, msgs)), wamids


def test_full_store_delivers_what_it_accepted_and_delivering_frees_room(nginx, receiver):
    gw = nginx(store_max_size="1m", http_extra="whatsapp_delivery max_interval=1s;")
    callback_down(receiver)
    accepted = []

    def fill(batches, n, size):
        for k in batches:
            body, wamids = _batch(k, n=n, size=size, customer="3361000%04d" % k)
            status, text = post(gw, body)
            if status == 503:
                assert "store_full" in text, text
                return
            assert status == 200, (status, text)
            accepted.extend(wamids)
        raise AssertionError("the 1m store never filled up")
    # big batches until one does not fit, then single small messages until none does
    fill(range(0, 300), 10, 600)
    fill(range(300, 3000), 1, 10)
    assert accepted
    pending = metric(metrics(gw), "whatsapp_outbox_pending")
    assert pending == len(accepted)

    # the callback comes back: every accepted event is delivered although the store is full
    callback_up(receiver)
    want = set(accepted)

    def delivered(r):
        return {(_text(d) or "").split(" ", 1)[0] for d in _inbound(r) if d.delivered}
    receiver.wait_until(lambda r: want <= delivered(r), 60, "every accepted event")
    m = _drained(gw)
    assert metric(m, "whatsapp_outbox_dead") == 0
    assert "whatsapp_delivery_store_failed_total" in m

    # delivered events give their room back: the store accepts messages again
    status, text = post(gw, _batch(999, n=2, size=100)[0])
    assert status == 200, (status, text)


# ---- 3. a burst bounded by worker_connections --------------------------------------------------

def test_burst_of_a_thousand_customers_stays_within_worker_connections(nginx, receiver):
    gw = nginx(workers=1, main_extra="", http_extra="")
    msgs = [sim.text_message("wamid.BURST.%04d" % i, "3362000%04d" % i, "burst %04d" % i)
            for i in range(1000)]
    status, text = post(gw, sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, msgs)),
                        timeout=60)
    assert status == 200, text
    receiver.wait_until(lambda r: len({_text(d) for d in _inbound(r) if d.delivered}) >= 1000,
                        60, "1000 deliveries")
    m = _drained(gw)
    log = gw.error_log()
    assert "worker_connections are not enough" not in log
    assert "could not start" not in log
    assert metric(m, "whatsapp_event_deliveries_total", result="failed") == 0
    assert metric(m, "whatsapp_event_deliveries_total", result="delivered") >= 1000
    # 1024 connections: at most a quarter of them in deliveries
    assert receiver.max_in_progress <= 256, receiver.max_in_progress


def test_delivery_concurrency_is_configurable(nginx, receiver):
    gw = nginx(workers=1, http_extra="whatsapp_delivery concurrency=3;")
    receiver.hang_next(0.3, 40)  # keep attempts open long enough to overlap
    msgs = [sim.text_message("wamid.CONC.%02d" % i, "3363000%04d" % i, "conc %02d" % i)
            for i in range(20)]
    status, text = post(gw, sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, msgs)))
    assert status == 200, text
    receiver.wait_until(lambda r: len({_text(d) for d in _inbound(r) if d.delivered}) >= 20,
                        30, "20 deliveries")
    assert receiver.max_in_progress == 3, receiver.max_in_progress
    m = _drained(gw)
    assert metric(m, "whatsapp_event_deliveries_total", result="failed") == 0


def test_delivery_concurrency_must_be_a_positive_number(nginx_t):
    for bad in ("concurrency=0", "concurrency=x", "concurrency=-2"):
        rc, err = nginx_t(nginx_t.render(http_extra="whatsapp_delivery %s;" % bad))
        assert rc != 0, bad
        assert 'invalid number in "%s"' % bad in err, err


# ---- 4. keys longer than LMDB's limit ----------------------------------------------------------

def test_wamid_over_lmdb_key_limit_is_stored_and_deduplicated(nginx, receiver):
    gw = nginx()
    long_wamid = "wamid." + "L" * 600
    body = sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [
        sim.text_message(long_wamid, CUSTOMER, "long id"),
        sim.text_message(sim.new_wamid(), CUSTOMER, "beside it"),
    ]))
    status, text = post(gw, body)
    assert status == 200, text
    receiver.wait_until(lambda r: len(texts(r)) >= 2, 10, "both messages")
    # Meta's redelivery of the same body changes nothing
    status, text = post(gw, body)
    assert status == 200, text
    m = wait_metric(gw, lambda m: metric(m, "whatsapp_inbound_duplicate_total") == 2,
                    what="two duplicates")
    assert metric(m, "whatsapp_inbound_received_total") == 2
    assert sorted(texts(receiver)) == ["beside it", "long id"]


def test_customer_id_over_lmdb_key_limit_is_stored(nginx, receiver):
    gw = nginx()
    user_id = "US." + "9" * 700  # a business-scoped user id when Meta omits `from`
    msg = sim.text_message(sim.new_wamid(), CUSTOMER, "no from")
    del msg["from"]
    msg["from_user_id"] = user_id
    payload = sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg])
    for c in payload["entry"][0]["changes"][0]["value"].get("contacts", []):
        c.pop("wa_id", None)
        c["user_id"] = user_id
    status, text = post(gw, payload)
    assert status == 200, text
    receiver.wait_until(lambda r: "no from" in texts(r), 10, "the message")
    ev = next(d for d in _inbound(receiver) if _text(d) == "no from")
    assert ev.payload["from"] == user_id


# ---- 5. leases vs the callback location's timeouts --------------------------------------------

def test_attempt_is_aborted_at_the_delivery_timeout_before_its_lease_ends(nginx, receiver):
    # timeout=1s: lease 3 s; the callback location keeps proxy_read_timeout's 60 s default
    gw = nginx(workers=2, http_extra="whatsapp_delivery timeout=1s max_interval=1s;")
    hang = 6.0 * TIMEOUT_SCALE
    receiver.hang_next(hang, 1)
    for i in range(3):
        body = sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [
            sim.text_message("wamid.LEASE.%d" % i, CUSTOMER, "e%d" % i)]))
        status, text = post(gw, body)
        assert status == 200, text
    receiver.wait_until(lambda r: {"e0", "e1", "e2"} <= {_text(d) for d in _inbound(r)
                                                         if d.delivered},
                        hang + 20, "e0, e1, e2 delivered")
    reqs = sorted(_inbound(receiver), key=lambda d: d.arrived)
    hung = [d for d in reqs if d.peer_closed_at is not None]
    assert len(hung) == 1, reqs
    first = hung[0]
    assert _text(first) == "e0"
    # the gateway gave up on it after about the timeout, long before the hang ended
    assert first.peer_closed_at - first.arrived < 2.5 * TIMEOUT_SCALE
    # no later attempt of the conversation arrived while the first was still open
    later = [d for d in reqs if d is not first]
    assert all(d.arrived >= first.peer_closed_at for d in later), \
        [(_text(d), d.arrived - first.arrived) for d in later]
    # and the first delivered order is the posting order
    order = []
    for d in later:
        if d.delivered and _text(d) not in order:
            order.append(_text(d))
    assert order == ["e0", "e1", "e2"]
    assert "no answer within the delivery timeout" in gw.error_log()
    _drained(gw)
