"""§3.2 `rate Nr/s`: a number's sends are paced across all workers. Sends over the rate answer
429 rate_limited with a Retry-After and are never sent; a batch's recipients and scheduled
sends wait their turn instead. The Graph stand-in's clock counts the sends per second."""

import collections
import threading
import time

import pytest

import helpers as H
from helpers import number_block
from test_notify import (NOTIFY_LOCATION, SEND_LINE, TEMPLATES, batch_body, notify,  # noqa: F401
                         rfc3339, send_body)

RATE = 5


@pytest.fixture
def paced_gw(nginx, graph):
    graph.expected_token = H.ACCESS_TOKEN
    ng = nginx(start=False, workers=2, numbers=number_block(extra="rate %dr/s;" % RATE),
               http_extra="whatsapp_api_keys @PREFIX@/api.keys;\n    " + TEMPLATES,
               server_extra=NOTIFY_LOCATION)
    H.write_keys(ng.prefix, [SEND_LINE])
    ng.start()
    return ng


def per_second(requests):
    return collections.Counter(int(r["time"]) for r in requests)


def customer(i):
    return "+3370000%04d" % i


def test_fifty_concurrent_sends_on_two_workers_keep_the_rate(paced_gw, graph):
    results = [None] * 50

    def one(i):
        results[i] = notify(paced_gw, send_body(to=customer(i)))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r[0] == 200]
    limited = [r for r in results if r[0] == 429]
    assert len(ok) + len(limited) == 50, [r[0] for r in results]
    assert 1 <= len(ok) <= 2 * RATE  # the burst of one moment: about one second's worth
    for status, headers, body in limited:
        assert body["code"] == "rate_limited", body
        assert int(headers["retry-after"]) >= 1
        assert headers["x-should-retry"] == "true"
    assert len(graph.requests) == len(ok)  # a refused send never went out
    assert max(per_second(graph.requests).values()) <= RATE
    m = H.metrics(paced_gw)
    assert H.metric(m, "whatsapp_pacing_rejections_total") >= len(limited)
    # Told to wait, a retry after Retry-After goes.
    time.sleep(int(limited[0][1]["retry-after"]))
    assert notify(paced_gw, send_body(to=customer(99)))[0] == 200


def test_a_batch_waits_its_turn_instead(paced_gw, graph):
    n = 12
    started = time.time()
    status, _, body = notify(paced_gw, batch_body([customer(i) for i in range(n)]),
                             path="/v2/notify/batch")
    assert status == 200, body
    assert body["success_count"] == n, body
    assert len(graph.requests) == n
    assert max(per_second(graph.requests).values()) <= RATE
    assert time.time() - started >= (n - 1) / RATE - 0.1


def test_scheduled_sends_wait_their_turn(paced_gw, graph):
    at = time.time() + 2
    for i in range(8):
        status, _, body = notify(paced_gw, send_body(to=customer(i), schedule_at=rfc3339(at)))
        assert status == 200, body
    graph.wait_for(8, timeout=20)
    assert max(per_second(graph.requests).values()) <= RATE
    assert all(r["time"] >= at - 0.05 for r in graph.requests)
