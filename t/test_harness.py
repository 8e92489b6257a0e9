"""The harness itself and the metrics endpoint."""

from helpers import metric, metrics, parse_metrics

REQUIRED = [
    "whatsapp_inbound_received_total",
    "whatsapp_inbound_duplicate_total",
    "whatsapp_inbound_bad_signature_total",
    "whatsapp_inbound_unrouted_total",
    "whatsapp_inbound_rejected_total",
    'whatsapp_event_deliveries_total{result="delivered"}',
    'whatsapp_event_deliveries_total{result="failed"}',
    "whatsapp_store_commit_batches_total",
    "whatsapp_outbox_pending",
]


def test_parse_metrics():
    m = parse_metrics('# HELP x y\n# TYPE x counter\nx 3\ny{b="2",a="1"} 4.5\nz{} 1e3\n')
    assert m == {"x": 3.0, 'y{a="1",b="2"}': 4.5, "z": 1000.0}
    assert metric(m, "y", a="1", b="2") == 4.5
    assert metric(m, "absent") == 0.0


def test_nginx_runs_with_two_workers(gw):
    assert len(gw.worker_pids()) == 2
    status, _, _ = gw.get("/plain")
    assert status == 200


def test_metrics_endpoint_lists_required_series(gw):
    status, headers, body = gw.get("/metrics")
    assert status == 200
    assert headers.get("content-type", "").startswith("text/plain")
    m = parse_metrics(body.decode())
    missing = [k for k in REQUIRED if k not in m]
    assert not missing, "missing series %r in:\n%s" % (missing, body.decode())


def test_reload_keeps_serving(gw):
    old = gw.worker_pids()
    new = gw.reload()
    assert not set(old) & set(new)
    assert gw.get("/plain")[0] == 200
    assert metrics(gw)  # store and metrics survive a reload
