"""§5.4 / §10.4 / §11: event delivery under faults, end to end.

Callback outages (503), a hanging callback (timeout), `nginx -s reload` and a stop/start with a
backlog, and SIGKILL of a worker mid-burst. Every test checks the same invariants on what the
callback saw (t/test_delivery_faults.py: check_deliveries):

- every message of the test is delivered, under exactly one evt_ id (a redelivery keeps its id
  and its exact bytes);
- per conversation, the first delivery of each event follows the order the messages were
  posted in, and no event is even attempted before the previous one of its conversation was
  delivered (§5.4 "event n+1 of a conversation is not sent before event n is delivered");
- the outbox drains (whatsapp_outbox_pending back to 0, nothing dead).

Each nginx has 2 workers. Waits poll with deadlines (scaled by WA_SANITIZED/WA_TIMEOUT_SCALE).
"""

import collections
import threading
import time

from helpers import (DISPLAY_PHONE, PHONE_NUMBER_ID, TIMEOUT_SCALE, callback_down, callback_up,
                     metric, post, wait_metric)
from tools import cloudapi_sim as sim

EVENT = "inbound.message.received"
KILL_ALERT = r"\[alert\] \d+#\d+: worker process \d+ exited on signal 9$"

# Short leases (3 x 2 s) so that attempts lost with a killed or exiting worker come back
# quickly; the callback location's timeouts stay below the lease, as the README asks.
FAST_LEASE = ("whatsapp_delivery timeout=2s;\n"
              "    proxy_connect_timeout 2s;\n    proxy_send_timeout 2s;\n"
              "    proxy_read_timeout 2s;")


def customer(c):
    return "3361234%04d" % (c + 1)


def label(c, m):
    return "c%d-m%02d" % (c, m)


def post_msg(gw, c, m, tag, timeout=30.0):
    """One text message from customer c, text "c<c>-m<m>", wamid derived from it."""
    text = label(c, m)
    wamid = "wamid.%s.%s" % (tag, text)
    body = sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE,
                                      [sim.text_message(wamid, customer(c), text)]))
    return post(gw, body, timeout=timeout)


def post_burst(gw, customers, per_customer, tag):
    """Messages interleaved across customers (m00 of each, then m01, ...); all must be 200.
    Returns {customer index: [texts in posting order]}."""
    expected = collections.defaultdict(list)
    for m in range(per_customer):
        for c in range(customers):
            status, text = post_msg(gw, c, m, tag)
            assert status == 200, (label(c, m), status, text)
            expected[c].append(label(c, m))
    return dict(expected)


def _text(d):
    return ((d.payload or {}).get("content") or {}).get("text")


def inbound_requests(receiver):
    return [d for d in receiver.requests if d.type == EVENT]


def delivered_texts(receiver):
    return {_text(d) for d in inbound_requests(receiver) if d.delivered}


def wait_delivered(receiver, expected, timeout, what="every event"):
    want = {t for texts in expected.values() for t in texts}
    receiver.wait_until(lambda r: want <= delivered_texts(r), timeout,
                        "%s (%d messages)" % (what, len(want)))


def wait_drained(gw, timeout=20.0):
    return wait_metric(gw, lambda m: metric(m, "whatsapp_outbox_pending") == 0, timeout,
                       "whatsapp_outbox_pending == 0")


def check_deliveries(receiver, expected):
    """The invariants above, on every inbound request the receiver saw (attempts included).
    expected: {customer index: [texts in the order they were posted]}."""
    reqs = inbound_requests(receiver)
    want_from = {"+" + customer(c): c for c in expected}
    all_texts = {t for texts in expected.values() for t in texts}

    evt_body = {}                          # evt id -> exact bytes of its first attempt
    evt_text = {}
    text_evts = collections.defaultdict(set)
    for d in reqs:
        eid, text = d.event_id, _text(d)
        assert text in all_texts, "unexpected event %r" % d
        assert want_from.get(d.payload.get("from")) == int(text[1:text.index("-")]), d
        if eid in evt_body:
            assert d.body == evt_body[eid], "evt %s re-sent with other bytes" % eid
        evt_body.setdefault(eid, d.body)
        evt_text[eid] = text
        text_evts[text].add(eid)

    # one evt_ id per message, and every message delivered
    multi = {t: sorted(ids) for t, ids in text_evts.items() if len(ids) != 1}
    assert not multi, "messages with several evt ids: %r" % multi
    missing = sorted(all_texts - delivered_texts(receiver))
    assert not missing, "never delivered: %r" % missing
    undelivered = sorted(e for e in evt_text
                         if not any(d.delivered for d in reqs if d.event_id == e))
    assert not undelivered, "evt ids attempted but never delivered: %r" % undelivered

    # per conversation: first deliveries in posting order; nothing sent before its predecessor
    # was delivered (the receiver records a request before it answers, and the module sends
    # event n+1 only after reading event n's answer, so arrival order is meaningful)
    position = {t: (c, i) for c, texts in expected.items() for i, t in enumerate(texts)}
    first_delivered = collections.defaultdict(list)
    delivered_upto = collections.defaultdict(set)
    for n, d in enumerate(reqs):
        c, i = position[_text(d)]
        early = [t for t in expected[c][:i] if t not in delivered_upto[c]]
        assert not early, ("%s attempted (request #%d, %s, answered %d) before %r of its "
                           "conversation were delivered" % (_text(d), n, d.event_id, d.status,
                                                            early))
        if d.delivered and _text(d) not in delivered_upto[c]:
            delivered_upto[c].add(_text(d))
            first_delivered[c].append(_text(d))
    for c, texts in expected.items():
        assert first_delivered[c] == texts, "customer %d: delivered in order %r, posted %r" % (
            c, first_delivered[c], texts)

    # conversation ids: one per customer, distinct
    conv = collections.defaultdict(set)
    for d in reqs:
        conv[d.payload["from"]].add(d.payload["conversation"]["id"])
    assert all(len(v) == 1 for v in conv.values()), conv
    assert len({next(iter(v)) for v in conv.values()}) == len(conv), conv

    return {"requests": len(reqs), "failed": sum(1 for d in reqs if not d.delivered),
            "duplicates": sum(1 for d in reqs if d.delivered) - len(evt_text)}


def check_drained(gw):
    m = wait_drained(gw)
    assert metric(m, "whatsapp_outbox_dead") == 0, m
    assert metric(m, "whatsapp_event_dead_letters_total") == 0, m
    return m


# ---- 1. callback answering 503 for a while ---------------------------------------------------

def test_callback_503_then_recovers_all_in_order(nginx, receiver):
    gw = nginx(workers=2)
    failures = 15  # about three rounds of the 5 queue heads: backoff 1 s, then 2 s
    receiver.fail_next(503, failures)
    expected = post_burst(gw, customers=5, per_customer=6, tag="F503")

    wait_delivered(receiver, expected, 40)
    check_drained(gw)
    stats = check_deliveries(receiver, expected)
    assert stats["failed"] == failures, stats
    # every evt id the burst produced (failed attempts included) was delivered
    ids = {d.event_id for d in inbound_requests(receiver)}
    assert len(ids) == 30
    assert ids == {d.event_id for d in inbound_requests(receiver) if d.delivered}
    m = wait_metric(gw, lambda m: metric(m, "whatsapp_event_deliveries_total",
                                         result="failed") >= failures,
                    what="failed deliveries counted")
    assert metric(m, "whatsapp_event_deliveries_total", result="delivered") >= 30


# ---- 2. callback hanging: proxy_read_timeout applies, the event is retried -------------------

def test_callback_hang_times_out_and_is_retried(nginx, receiver):
    # The template's callback location is fixed: route deliveries through our own location
    # (whatsapp_callback) that has a 1 s read timeout.
    gw = nginx(workers=2,
               http_extra="whatsapp_callback /_whatsapp/callback_1s;",
               server_extra="location = /_whatsapp/callback_1s { internal; "
                            "proxy_pass $whatsapp_callback_url; proxy_read_timeout 1s; }")
    hang = 5.0 * TIMEOUT_SCALE
    receiver.hang_next(hang, 1)
    t0 = time.monotonic()
    status, text = post_msg(gw, 0, 0, "HANG")
    assert status == 200, text

    # the retry (after the 1 s timeout and a backoff of 0.5..1 s) is answered 200 while the
    # first attempt is still hanging in the receiver
    ev = receiver.wait_until(
        lambda r: any(d.delivered for d in inbound_requests(r)), hang, "the retried attempt")
    assert ev
    first_ok = next(d for d in inbound_requests(receiver) if d.delivered)
    assert time.monotonic() - t0 < hang, "delivered only when the hang ended: no timeout?"
    assert _text(first_ok) == "c0-m00"
    wait_metric(gw, lambda m: metric(m, "whatsapp_event_deliveries_total", result="failed") >= 1
                and metric(m, "whatsapp_event_deliveries_total", result="delivered") >= 1,
                what="one failed (timed out) and one delivered attempt")
    assert "failed: status 0" in gw.error_log() or "failed: status 504" in gw.error_log(), \
        gw.error_log()[-2000:]

    # the hung attempt is recorded by the receiver when its hang ends: >= 2 attempts, one id
    receiver.wait_until(lambda r: len(inbound_requests(r)) >= 2, hang + 10,
                        "the hung attempt to finish")
    reqs = inbound_requests(receiver)
    assert len({d.event_id for d in reqs}) == 1, reqs
    assert len({d.body for d in reqs}) == 1
    check_drained(gw)
    check_deliveries(receiver, {0: ["c0-m00"]})


# ---- 3. nginx -s reload in the middle of a backlog -------------------------------------------

def test_reload_with_backlog(nginx, receiver):
    gw = nginx(workers=2, http_extra=FAST_LEASE)
    callback_down(receiver)
    expected = post_burst(gw, customers=5, per_customer=8, tag="RELOAD")
    # the heads have been tried (and failed) at least once
    receiver.wait_until(lambda r: len({d.event_id for d in inbound_requests(r)}) >= 5, 10,
                        "first attempts of the 5 queue heads")
    assert not delivered_texts(receiver)
    wait_metric(gw, lambda m: metric(m, "whatsapp_outbox_pending") == 40, 10,
                "40 events pending")

    old = gw.worker_pids()
    new = gw.reload()
    assert not set(old) & set(new)
    callback_up(receiver)

    wait_delivered(receiver, expected, 40)
    check_drained(gw)
    stats = check_deliveries(receiver, expected)
    assert stats["failed"] >= 5, stats


# ---- 4. SIGKILL of a worker during a burst ---------------------------------------------------

def test_sigkill_worker_mid_burst(nginx, receiver):
    gw = nginx(workers=2, http_extra=FAST_LEASE, allow_log=[KILL_ALERT])
    customers, per_customer = 10, 20
    total = customers * per_customer
    acked = {}                                 # text -> wamid, answered 200
    lost_attempts = collections.Counter()      # text -> POSTs that got no answer
    lock = threading.Lock()
    kill_at = threading.Event()
    errors = []

    def poster(c):
        # Meta's behaviour: a POST without an answer is retried (same body, same wamid),
        # and a conversation's messages go one after the other.
        try:
            for m in range(per_customer):
                deadline = time.monotonic() + 30 * TIMEOUT_SCALE
                while True:
                    try:
                        status, text = post_msg(gw, c, m, "KILL", timeout=10 * TIMEOUT_SCALE)
                    except OSError as e:  # reset / closed by the killed worker
                        status, text = None, repr(e)
                    if status == 200:
                        break
                    with lock:
                        lost_attempts[label(c, m)] += 1
                    assert status is None, (label(c, m), status, text)
                    assert time.monotonic() < deadline, (label(c, m), text)
                    time.sleep(0.05)
                with lock:
                    acked[label(c, m)] = "wamid.KILL." + label(c, m)
                    if len(acked) >= total // 3:
                        kill_at.set()
        except BaseException as e:  # noqa: B902 -- reported by the main thread
            errors.append(e)

    # A slow callback (0.2 s per request) keeps a backlog and attempts in flight, so the
    # killed worker most likely dies with leased attempts (their lease then runs out).
    receiver.hang_next(0.2, 10 ** 6)
    victim = gw.worker_pids()[0]  # looked up now: the kill itself is immediate
    threads = [threading.Thread(target=poster, args=(c,), daemon=True) for c in range(customers)]
    for t in threads:
        t.start()
    assert kill_at.wait(60 * TIMEOUT_SCALE), "burst too slow: %d acked" % len(acked)
    gw.kill_worker(victim)
    acked_at_kill = len(acked)
    for t in threads:
        t.join(120 * TIMEOUT_SCALE)
    assert not any(t.is_alive() for t in threads), "posters stuck"
    assert not errors, errors
    assert acked_at_kill < total, "the kill came after the burst"

    workers = gw.wait_respawn(victim)
    assert victim not in workers and len(workers) == 2
    expected = {c: [label(c, m) for m in range(per_customer)] for c in range(customers)}
    assert set(acked) == {t for ts in expected.values() for t in ts}

    # leases of the killed worker's attempts run out after 3 x 2 s; then they are retried
    callback_up(receiver)
    wait_delivered(receiver, expected, 60, "every acknowledged message")
    check_drained(gw)
    stats = check_deliveries(receiver, expected)
    # the wamid of every delivered event is the one acknowledged for its text
    for d in inbound_requests(receiver):
        assert acked[_text(d)] == "wamid.KILL." + _text(d)

    log = gw.error_log()
    assert "exited on signal 9" in log
    kills = [line for line in log.splitlines() if "[alert]" in line]
    assert len(kills) == 1 and str(victim) in kills[0], kills
    print("sigkill: acked at kill %d/%d, POSTs without answer %d, %r" % (
        acked_at_kill, total, sum(lost_attempts.values()), stats))


# ---- 5. nginx stopped and started again with a backlog ---------------------------------------

def test_stop_start_with_backlog(nginx, receiver):
    gw = nginx(workers=2, http_extra=FAST_LEASE)
    callback_down(receiver)
    expected = post_burst(gw, customers=4, per_customer=5, tag="RESTART")
    receiver.wait_until(lambda r: len({d.event_id for d in inbound_requests(r)}) >= 4, 10,
                        "first attempts of the 4 queue heads")
    wait_metric(gw, lambda m: metric(m, "whatsapp_outbox_pending") == 20, 10,
                "20 events pending")

    gw.stop()
    assert not gw.problems, gw.problems
    assert gw.worker_pids() == []
    n_before = len(receiver.requests)
    assert not delivered_texts(receiver)

    gw.start()
    callback_up(receiver)
    wait_delivered(receiver, expected, 40)
    check_drained(gw)
    stats = check_deliveries(receiver, expected)
    assert len(receiver.requests) > n_before
    assert stats["failed"] >= 4, stats
    assert "exited on signal" not in gw.error_log()
