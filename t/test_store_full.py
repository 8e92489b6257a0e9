"""§4.6: map full → 503 with nothing half-written; after growing the map, Meta's retry works."""

import collections

from helpers import (CUSTOMER, DISPLAY_PHONE, PHONE_NUMBER_ID, events_of_type, post)
from tools import cloudapi_sim as sim


def _big_batch(k, n=20, size=4000):
    msgs, wamids = [], []
    for i in range(n):
        w = "wamid.FULL.%03d.%03d" % (k, i)
        wamids.append(w)
        msgs.append(sim.text_message(w, CUSTOMER, w + " " + ("x" * size)))
    return sim.body_bytes(sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, msgs)), wamids


def _delivered_wamids(receiver):
    return collections.Counter(e["payload"]["content"]["text"].split(" ", 1)[0]
                               for e in events_of_type(receiver))


def _events_by_wamid(receiver):
    """wamid -> set of distinct evt_ ids delivered for it (a redelivery keeps its evt_ id)."""
    out = collections.defaultdict(set)
    for e in events_of_type(receiver):
        out[e["payload"]["content"]["text"].split(" ", 1)[0]].add(e["id"])
    return out


def test_map_full_503_then_grow_and_retry(nginx, receiver):
    gw = nginx(store_max_size="1m")
    accepted = []
    failed_body = failed_wamids = None
    for k in range(200):
        body, wamids = _big_batch(k)
        status, text = post(gw, body)
        if status == 503:
            failed_body, failed_wamids = body, wamids
            break
        assert status == 200, (status, text)
        accepted.extend(wamids)
    assert failed_body is not None, "the 1m store never filled up"

    # what was acknowledged is delivered (before the reload, so no retry timer is needed)
    receiver.wait_until(lambda r: set(accepted) <= set(_delivered_wamids(r)), 30,
                        "events of the accepted batches")
    # nothing of the failed body was half-written
    assert not (set(failed_wamids) & set(_delivered_wamids(receiver)))

    # the operator grows the map and reloads; Meta retries the same body
    gw.reload(store_max_size="64m")
    status, text = post(gw, failed_body)
    assert status == 200, (status, text)
    want = set(accepted) | set(failed_wamids)
    receiver.wait_until(lambda r: want <= set(_delivered_wamids(r)), 30,
                        "events of the retried batch")
    by_wamid = _events_by_wamid(receiver)
    assert set(by_wamid) == want
    # exactly one event per wamid (redeliveries of that same evt_ id are at-least-once)
    assert {w: ids for w, ids in by_wamid.items() if len(ids) != 1} == {}
    # and every event of the retried body is new: none of them was emitted by the 503
    assert len({i for ids in by_wamid.values() for i in ids}) == len(want)
