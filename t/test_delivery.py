"""§5.4: event delivery through the callback location."""

import time

from helpers import (TIMEOUT_SCALE, events_of_type, metric, metrics, post, text_body,
                     wait_metric, wait_text)


def test_callback_failure_keeps_event_pending(gw, receiver):
    receiver.fail_next(503, 1)
    status, text = post(gw, text_body(text="pending please"))
    assert status == 200, text  # Meta is acknowledged once the message is durable

    first = receiver.wait_for(1, attempts=True)[0]
    assert first.status == 503
    assert first.json["type"] == "inbound.message.received"
    evt_id = first.json["id"]

    # Either the event is still pending, or (once retries exist) it is redelivered with the
    # same evt_ id. Never lost.
    deadline = time.monotonic() + 10 * TIMEOUT_SCALE
    while True:
        m = metrics(gw)
        redelivered = [e for e in events_of_type(receiver) if e["id"] == evt_id]
        if redelivered:
            assert redelivered[0]["payload"]["content"]["text"] == "pending please"
            break
        if metric(m, "whatsapp_outbox_pending") >= 1:
            break
        assert time.monotonic() < deadline, \
            "event neither pending nor redelivered: %r" % {k: v for k, v in m.items()
                                                          if k.startswith("whatsapp_")}
        time.sleep(0.05)
    # the receiver records the attempt before nginx has read its 503: poll for the counter
    wait_metric(gw, lambda m: metric(m, "whatsapp_event_deliveries_total", result="failed") >= 1,
                what='deliveries_total{result="failed"} >= 1')


def test_delivered_counter_and_pending_back_to_zero(gw, receiver):
    for i in range(3):
        assert post(gw, text_body(text="d%d" % i))[0] == 200
    wait_text(receiver, "d2")
    deadline = time.monotonic() + 10 * TIMEOUT_SCALE
    while True:
        m = metrics(gw)
        if metric(m, "whatsapp_event_deliveries_total", result="delivered") >= 3 and \
                metric(m, "whatsapp_outbox_pending") == 0:
            break
        assert time.monotonic() < deadline, m
        time.sleep(0.05)


def test_event_ids_stable_and_unique(gw, receiver):
    for i in range(5):
        assert post(gw, text_body(text="u%d" % i))[0] == 200
    wait_text(receiver, "u4")
    evs = events_of_type(receiver)
    assert [e["payload"]["content"]["text"] for e in evs] == ["u%d" % i for i in range(5)]
    assert len({e["id"] for e in evs}) == 5
    assert len({e["payload"]["message_id"] for e in evs}) == 5
