"""§5.4 / §10.2: dead letters listed and replayed with whatsapp-admin while nginx runs.

WA_ADMIN overrides the tool's path (default <repo>/build/core/whatsapp-admin)."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from helpers import (CREATED_AT_RE, NUMBER, TIMEOUT_SCALE, is_typeid, metric, post, text_body,
                     wait_metric, wait_text)

REPO = Path(__file__).resolve().parent.parent
WA_ADMIN = os.environ.get("WA_ADMIN", str(REPO / "build" / "core" / "whatsapp-admin"))

pytestmark = pytest.mark.skipif(not os.path.exists(WA_ADMIN),
                                reason="whatsapp-admin not built: %s" % WA_ADMIN)


def admin(gw, *args):
    """-> (returncode, stdout, stderr) of whatsapp-admin --store <gw's store> args..."""
    r = subprocess.run([WA_ADMIN, "--store", os.path.join(gw.prefix, "store")] + list(args),
                       capture_output=True, text=True, timeout=60 * TIMEOUT_SCALE)
    return r.returncode, r.stdout, r.stderr


def dead_list(gw):
    """events dead, parsed: [{id, type, number, url, attempts, status, error, created_at}]."""
    rc, out, err = admin(gw, "events", "dead")
    assert rc == 0, err
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        assert len(f) == 8, line
        rows.append(dict(zip(("id", "type", "number", "url", "attempts", "status", "error",
                              "created_at"), f)))
    return rows


def wait_dead(gw, n, timeout=10.0):
    """Poll events dead until it lists n events (the death is committed after nginx has
    read the callback's answer, a moment after the receiver saw the request)."""
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while True:
        rows = dead_list(gw)
        if len(rows) >= n:
            return rows
        assert time.monotonic() < deadline, "dead events: %r, want %d" % (rows, n)
        time.sleep(0.05)


def stats(gw):
    rc, out, err = admin(gw, "stats")
    assert rc == 0, err
    return {k: float(v) for k, v in (line.split() for line in out.splitlines())}


def kill_event(gw, receiver, text):
    """One inbound message whose event dies at once (the callback answers 400): its evt_ id."""
    before = len(receiver.requests)
    receiver.fail_next(400, 1)
    status, body = post(gw, text_body(text=text))
    assert status == 200, body
    receiver.wait_until(lambda r: len(r.requests) > before, what="the failing attempt")
    attempt = receiver.requests[before]
    assert attempt.status == 400
    assert attempt.json["payload"]["content"]["text"] == text
    return attempt.json["id"]


def test_dead_event_listed_then_replayed(gw, receiver):
    evt = kill_event(gw, receiver, "dead then alive")
    rows = wait_dead(gw, 1)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == evt and is_typeid(evt, "evt")
    assert row["type"] == "inbound.message.received"
    assert row["number"] == NUMBER
    assert row["url"] == "http://127.0.0.1:%d/events" % receiver.port
    assert row["attempts"] == "1"
    assert row["status"] == "400"
    assert CREATED_AT_RE.match(row["created_at"]), row
    assert stats(gw)["outbox_dead"] == 1
    wait_metric(gw, lambda m: metric(m, "whatsapp_outbox_dead") == 1,
                what="whatsapp_outbox_dead == 1")

    rc, out, err = admin(gw, "events", "replay", evt)
    assert rc == 0, err
    assert out.strip() == "1 queued again"

    # The workers' retry timer picks the due head up within about a second.
    ev = wait_text(receiver, "dead then alive")
    assert ev["id"] == evt
    got = [d for d in receiver.deliveries if d.event_id == evt]
    assert len(got) == 1
    assert got[0].body == receiver.requests[0].body  # the very same bytes

    assert dead_list(gw) == []
    st = stats(gw)
    assert st["outbox_dead"] == 0
    wait_metric(gw, lambda m: metric(m, "whatsapp_outbox_dead") == 0
                and metric(m, "whatsapp_outbox_pending") == 0,
                what="no dead, nothing pending")

    # Replaying it again is refused: it is not dead any more.
    rc, out, err = admin(gw, "events", "replay", evt)
    assert rc == 1
    assert "not a dead event" in err
    assert out.strip() == "0 queued again"


def test_replay_all(gw, receiver):
    ids = [kill_event(gw, receiver, "all-%d" % i) for i in range(3)]
    rows = wait_dead(gw, 3)
    assert [r["id"] for r in rows] == ids  # oldest first

    rc, out, err = admin(gw, "events", "dead", "--limit", "2")
    assert rc == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()] == ids[:2]
    assert "--limit" in err

    rc, out, err = admin(gw, "events", "replay", "--all")
    assert rc == 0, err
    assert out.strip() == "3 queued again"
    for i in range(3):
        assert wait_text(receiver, "all-%d" % i)["id"] == ids[i]
    assert dead_list(gw) == []
    assert stats(gw)["outbox_dead"] == 0


def test_usage_and_errors(gw, receiver):
    assert admin(gw)[0] == 2
    assert admin(gw, "events")[0] == 2
    assert admin(gw, "events", "replay")[0] == 2
    assert admin(gw, "events", "replay", "--all", "evt_01h455vb4pex5vsknk084sn02q")[0] == 2
    assert admin(gw, "events", "replay", "conv_01h455vb4pex5vsknk084sn02q")[0] == 2
    assert admin(gw, "events", "dead", "--limit", "x")[0] == 2
    rc, out, err = admin(gw, "events", "replay", "evt_01h455vb4pex5vsknk084sn02q")
    assert rc == 1 and "not a dead event" in err
    r = subprocess.run([WA_ADMIN, "--store", os.path.join(gw.prefix, "nowhere"), "stats"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no store" in r.stderr
    assert not os.path.exists(os.path.join(gw.prefix, "nowhere"))

    st = stats(gw)
    assert st["outbox_pending"] == 0 and st["outbox_dead"] == 0
    assert st["store_map_size_bytes"] == 64 << 20  # nginx's max_size, not ours
    assert 0 < st["store_used_bytes"] <= st["store_map_size_bytes"]
