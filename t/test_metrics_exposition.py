"""§10.1: the exposition parses with a real Prometheus text-format parser (Debian's
python3-prometheus-client), and the latency histograms, the commit batch-size histogram
and the idempotency replay counter count what happened."""

import json
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

import helpers as H
from test_reply import SEND_SECRET, gateway, gw, inbound, reply_body  # noqa: F401


def scrape(gw):
    with urllib.request.urlopen(gw.url("/metrics"), timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family, suffix):
    return [s for s in family.samples if s.name == family.name + suffix]


def check_histogram(family):
    """Buckets cumulative and ending in +Inf, which equals _count."""
    assert family.type == "histogram", family
    buckets = samples(family, "_bucket")
    bounds = [float(s.labels["le"]) for s in buckets]
    assert bounds == sorted(bounds) and bounds[-1] == float("inf"), bounds
    counts = [s.value for s in buckets]
    assert counts == sorted(counts), counts
    (count,) = samples(family, "_count")
    (total,) = samples(family, "_sum")
    assert count.value == counts[-1] and total.value >= 0
    return count.value, total.value


def test_the_exposition_parses_and_the_histograms_count(gw, receiver, graph):
    ev = inbound(gw, receiver)
    headers = {"Idempotency-Key": "replayed-once"}
    first = H.reply(gw, reply_body(ev), key=SEND_SECRET, headers=headers)
    assert first[0] == 200, first
    again = H.reply(gw, reply_body(ev), key=SEND_SECRET, headers=headers)
    assert again[1]["idempotent-replayed"] == "true"
    H.wait_events(receiver, 1, type_="transactional.message.created")

    def delivered(m):
        return check_histogram(m["whatsapp_event_delivery_seconds"])[0] >= 2
    H.wait_metric(gw, lambda _: delivered(scrape(gw)), what="two deliveries observed")
    m = scrape(gw)
    acks, ack_seconds = check_histogram(m["whatsapp_webhook_ack_seconds"])
    assert acks == 1 and ack_seconds < 10
    sends, _ = check_histogram(m["whatsapp_send_seconds"])
    assert sends == 1  # the replay sent nothing
    batches, items = check_histogram(m["whatsapp_store_commit_batch_size"])
    assert batches >= 3 and items >= batches
    sizes = samples(m["whatsapp_store_commit_batch_size"], "_bucket")
    assert [float(s.labels["le"]) for s in sizes][:3] == [1.0, 2.0, 4.0]
    (replays,) = m["whatsapp_idempotency_replays"].samples
    assert replays.value == 1
    # Every family the module writes has a type, and the parser read each sample.
    assert m["whatsapp_inbound_received"].type == "counter"
    assert m["whatsapp_outbox_pending"].type == "gauge"
    assert json.dumps(sorted(m))  # nothing unparseable stopped the parser
