"""§4.3-4.4 and §5.1-5.2: inbound messages become inbound.message.received events."""

import threading
import time

from helpers import (CREATED_AT_RE, CUSTOMER, DISPLAY_PHONE, NUMBER, PHONE_NUMBER_ID,
                     events_of_type, is_typeid, metric, metrics, post, rfc3339_to_epoch,
                     text_body, wait_events, wait_metric, wait_text)
from tools import cloudapi_sim as sim

DAY = 24 * 3600


def test_text_message_delivered_as_prelude_event(gw, receiver):
    ts = int(time.time()) - 5
    msg = sim.text_message(sim.new_wamid(), CUSTOMER, "hello there", timestamp=ts,
                           name="Sheena Nelson")
    body = sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg]))
    status, text = post(gw, body)
    assert status == 200, text

    d = receiver.wait_for(1)[0]
    assert d.method == "POST"
    assert d.path == "/events"
    assert d.headers.get("content-type", "").split(";")[0].strip() == "application/json"
    ev = d.json
    assert isinstance(ev, dict), d.body
    assert set(ev) >= {"id", "type", "payload", "created_at"}
    assert is_typeid(ev["id"], "evt"), ev["id"]
    assert ev["type"] == "inbound.message.received"
    assert CREATED_AT_RE.match(ev["created_at"]), ev["created_at"]
    assert abs(rfc3339_to_epoch(ev["created_at"]) - time.time()) < 120

    p = ev["payload"]
    assert is_typeid(p["message_id"], "im"), p["message_id"]
    assert p["channel"] == "whatsapp"
    assert p["from"] == "+" + CUSTOMER
    assert p["to"] == NUMBER
    assert p["content"]["type"] == "text"
    assert p["content"]["text"] == "hello there"
    conv = p["conversation"]
    assert is_typeid(conv["id"], "conv"), conv["id"]
    assert rfc3339_to_epoch(conv["window_expires_at"]) == ts + DAY
    assert p.get("contact", {}).get("name") == "Sheena Nelson"
    assert "reply_to" not in p or p["reply_to"] in (None, "")


def test_from_without_and_with_plus_is_the_same_customer(gw, receiver):
    for i, frm in enumerate([CUSTOMER, "+" + CUSTOMER]):
        status, text = post(gw, text_body(text="plus %d" % i, from_=frm))
        assert status == 200, text
    evs = wait_events(receiver, 2)
    assert [e["payload"]["from"] for e in evs] == ["+" + CUSTOMER] * 2
    assert evs[0]["payload"]["conversation"]["id"] == evs[1]["payload"]["conversation"]["id"]
    assert evs[0]["payload"]["message_id"] != evs[1]["payload"]["message_id"]
    assert evs[0]["id"] != evs[1]["id"]


def test_distinct_customers_get_distinct_conversations(gw, receiver):
    assert post(gw, text_body(text="c1", from_="33611111111"))[0] == 200
    assert post(gw, text_body(text="c2", from_="4915112345678"))[0] == 200
    e1 = wait_text(receiver, "c1")
    e2 = wait_text(receiver, "c2")
    assert e1["payload"]["from"] == "+33611111111"
    assert e2["payload"]["from"] == "+4915112345678"
    assert e1["payload"]["conversation"]["id"] != e2["payload"]["conversation"]["id"]


def test_same_wamid_twice_gives_one_event(gw, receiver):
    before = metrics(gw)
    body = text_body(wamid="wamid.DUPLICATE.1", text="only once")
    assert post(gw, body)[0] == 200
    assert post(gw, body)[0] == 200
    # a redelivery with different bytes (Meta re-sends; e.g. another batch) is still a duplicate
    again = text_body(wamid="wamid.DUPLICATE.1", text="only once", name="Other Name")
    assert post(gw, again)[0] == 200
    wait_metric(gw, lambda m: metric(m, "whatsapp_inbound_duplicate_total")
                >= metric(before, "whatsapp_inbound_duplicate_total") + 2,
                what="duplicate_total +2")
    # sync on a later message from the same customer (ordered per conversation)
    assert post(gw, text_body(text="sentinel"))[0] == 200
    wait_text(receiver, "sentinel")
    texts = [e["payload"]["content"]["text"] for e in events_of_type(receiver)]
    assert texts == ["only once", "sentinel"]
    after = metrics(gw)
    assert metric(after, "whatsapp_inbound_duplicate_total") == \
        metric(before, "whatsapp_inbound_duplicate_total") + 2
    assert metric(after, "whatsapp_inbound_received_total") >= \
        metric(before, "whatsapp_inbound_received_total") + 2


def test_same_wamid_concurrently_gives_exactly_one_event(gw, receiver):
    assert len(gw.worker_pids()) == 2
    before = metrics(gw)
    n = 20
    body = text_body(wamid="wamid.CONCURRENT.1", text="raced")
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        barrier.wait()
        try:
            results[i] = post(gw, body)[0]
        except Exception as e:  # recorded, asserted below
            results[i] = repr(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200] * n

    wait_metric(gw, lambda m: metric(m, "whatsapp_inbound_duplicate_total")
                >= metric(before, "whatsapp_inbound_duplicate_total") + n - 1,
                what="duplicate_total +%d" % (n - 1))
    assert post(gw, text_body(text="after the race"))[0] == 200
    wait_text(receiver, "after the race")
    texts = [e["payload"]["content"]["text"] for e in events_of_type(receiver)]
    assert texts == ["raced", "after the race"]
    assert metric(metrics(gw), "whatsapp_inbound_duplicate_total") == \
        metric(before, "whatsapp_inbound_duplicate_total") + n - 1


def test_batch_every_entry_change_and_message(gw, receiver):
    a, b = "33600000001", "33600000002"
    ts = int(time.time()) - 100
    entries, order = [], {a: [], b: []}
    k = 0
    for e in range(2):
        changes = []
        for c in range(2):
            msgs = []
            for who in (a, b):
                text = "e%d c%d %s #%d" % (e, c, who, k)
                k += 1
                order[who].append(text)
                msgs.append(sim.text_message(sim.new_wamid(), who, text, timestamp=ts + k))
            changes.append(sim.change(PHONE_NUMBER_ID, DISPLAY_PHONE, msgs))
        entries.append(sim.entry(changes))
    status, text = post(gw, sim.envelope(entries))
    assert status == 200, text

    evs = wait_events(receiver, 8)
    assert len(evs) == 8
    assert len({e["id"] for e in evs}) == 8
    assert len({e["payload"]["message_id"] for e in evs}) == 8
    for who in (a, b):
        got = [e["payload"]["content"]["text"] for e in evs if e["payload"]["from"] == "+" + who]
        assert got == order[who], "per-customer order"
        convs = {e["payload"]["conversation"]["id"] for e in evs
                 if e["payload"]["from"] == "+" + who}
        assert len(convs) == 1


def test_unknown_phone_number_id_acknowledged_not_routed(gw, receiver):
    before = metric(metrics(gw), "whatsapp_inbound_unrouted_total")
    status, text = post(gw, text_body(text="to nobody", phone_number_id="999999999999999"))
    assert status == 200, text
    wait_metric(gw, lambda m: metric(m, "whatsapp_inbound_unrouted_total") >= before + 1,
                what="unrouted_total +1")
    assert post(gw, text_body(text="routed"))[0] == 200
    wait_text(receiver, "routed")
    assert [e["payload"]["content"]["text"] for e in events_of_type(receiver)] == ["routed"]


def test_window_extends_on_newer_and_ignores_older(gw, receiver):
    t0 = int(time.time()) - 3 * 3600
    steps = [("w1", t0), ("w2 newer", t0 + 3600), ("w3 late", t0 + 1800)]
    for text, ts in steps:
        status, body = post(gw, text_body(text=text, timestamp=ts))
        assert status == 200, body
        wait_text(receiver, text)
    evs = events_of_type(receiver)
    assert [e["payload"]["content"]["text"] for e in evs] == [s[0] for s in steps]
    exp = [rfc3339_to_epoch(e["payload"]["conversation"]["window_expires_at"]) for e in evs]
    assert exp[0] == t0 + DAY
    assert exp[1] == t0 + 3600 + DAY
    assert exp[2] == t0 + 3600 + DAY
    assert len({e["payload"]["conversation"]["id"] for e in evs}) == 1


def test_statuses_do_not_open_a_window_or_emit_inbound_events(gw, receiver):
    st = sim.status("wamid.UNKNOWN.SENT.1", CUSTOMER, "delivered")
    payload = sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [], statuses=[st])
    status, text = post(gw, payload)
    assert status == 200, text
    assert post(gw, text_body(text="after status"))[0] == 200
    wait_text(receiver, "after status")
    assert [e["payload"]["content"]["text"] for e in events_of_type(receiver)] == ["after status"]


def test_commit_batches_metric_counts(gw, receiver):
    before = metric(metrics(gw), "whatsapp_store_commit_batches_total")
    assert post(gw, text_body(text="commit me"))[0] == 200
    wait_text(receiver, "commit me")
    assert metric(metrics(gw), "whatsapp_store_commit_batches_total") >= before + 1
    # the receiver sees the event before nginx has read the 200: poll for the counter
    wait_metric(gw, lambda m: metric(m, "whatsapp_event_deliveries_total",
                                     result="delivered") >= 1, what="delivered >= 1")


def test_concurrent_posts_share_commits(nginx, receiver):
    """Group commit (§4.6): concurrent POSTs to one worker are made durable together, each
    answered only after the commit that holds it."""
    gw = nginx(workers=1)
    m0 = metrics(gw)
    n = 40
    barrier = threading.Barrier(n)
    results = []

    def one(i):
        body = text_body(text="group %02d" % i, from_="3361%07d" % i)
        barrier.wait()
        results.append(post(gw, body)[0])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * n
    wait_events(receiver, n)
    m1 = metrics(gw)
    batches = metric(m1, "whatsapp_store_commit_batches_total") - \
        metric(m0, "whatsapp_store_commit_batches_total")
    items = metric(m1, "whatsapp_store_commit_items_total") - \
        metric(m0, "whatsapp_store_commit_items_total")
    assert items >= n
    assert batches < items, "every write had its own commit (%d for %d)" % (batches, items)


def test_commit_stage_times_are_exposed(nginx, receiver):
    """Where a write's time goes in the commit pipeline: per-stage seconds summed over items,
    the writer's and syncer's busy time, and batches re-applied after a failure."""
    gw = nginx(workers=1)
    m0 = metrics(gw)
    assert post(gw, text_body(text="timed"))[0] == 200
    wait_text(receiver, "timed")
    m1 = wait_metric(gw, lambda m: metric(m, "whatsapp_store_commit_item_seconds_total",
                                          stage="completing") >
                     metric(m0, "whatsapp_store_commit_item_seconds_total", stage="completing"),
                     what="a completion timed")
    grew = lambda name, **labels: metric(m1, name, **labels) > metric(m0, name, **labels)
    # The message's fsync: the writer's data flush and the syncer's.
    assert grew("whatsapp_store_commit_item_seconds_total", stage="committing")
    assert grew("whatsapp_store_commit_item_seconds_total", stage="syncing")
    assert grew("whatsapp_store_commit_busy_seconds_total", work="writer_commit")
    assert grew("whatsapp_store_commit_busy_seconds_total", work="syncer_sync")
    for stage in ("queued", "waiting", "applying"):
        assert ("whatsapp_store_commit_item_seconds_total{stage=\"%s\"}" % stage) in m1
    assert metric(m1, "whatsapp_store_commit_reapplied_total") == 0


def test_status_for_unknown_message_is_counted(gw, receiver):
    """A status whose wamid is none of our outbound messages changes nothing and is counted."""
    st = sim.status("wamid.NOT-OURS-%s" % sim.new_wamid(), CUSTOMER, "delivered")
    before = metric(metrics(gw), "whatsapp_statuses_total", result="unknown")
    status, text = post(gw, sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [], statuses=[st]))
    assert status == 200, text
    wait_metric(gw, lambda m: metric(m, "whatsapp_statuses_total", result="unknown") >= before + 1,
                what="statuses unknown +1")
