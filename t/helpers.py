"""Shared helpers for the end-to-end suite (no pytest fixtures here; see conftest.py)."""

import calendar
import json
import os
import re
import time

from tools import cloudapi_sim as sim
from tools.cloudapi_sim import http_request  # noqa: F401  (re-exported for tests)

# The test configuration's business number (conftest renders it).
APP_SECRET = "test-app-secret-7f3c9a1e5b"
ACCESS_TOKEN = "EAATESTTOKEN0123456789"
SIGNING_KEY = b"test-signing-secret-0123456789ab"          # Standard Webhooks key bytes
SIGNING_SECRET = "whsec_" + __import__("base64").b64encode(SIGNING_KEY).decode()
VERIFY_TOKEN = "verify-token-42"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE = "15550783881"
NUMBER = "+15550783881"
TENANT = "acme"
CUSTOMER = "33612345678"

TYPEID_SUFFIX = r"[0-7][0-9a-hjkmnp-tv-z]{25}"
CREATED_AT_RE = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z\Z")
RFC3339_RE = re.compile(
    r"\A(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")


def is_typeid(value, prefix):
    return isinstance(value, str) and re.fullmatch(
        r"%s_%s" % (re.escape(prefix), TYPEID_SUFFIX), value) is not None


def rfc3339_to_epoch(value):
    """RFC 3339 timestamp -> float Unix seconds (fraction kept)."""
    m = RFC3339_RE.match(value or "")
    assert m, "not an RFC 3339 timestamp: %r" % (value,)
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    if m.group(7):
        secs += float("0" + m.group(7))
    tz = m.group(8)
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        secs -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return secs


TIMEOUT_SCALE = float(os.environ.get("WA_TIMEOUT_SCALE",
                                    "3" if os.environ.get("WA_SANITIZED") == "1" else "1"))


# ---- metrics ---------------------------------------------------------------------------------

_METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _norm_labels(text):
    if not text:
        return ""
    pairs = sorted(_LABEL.findall(text))
    if not pairs:
        return ""
    return "{" + ",".join('%s="%s"' % p for p in pairs) + "}"


def parse_metrics(text):
    """Prometheus text -> {'name' or 'name{k="v",...}' (labels sorted): float}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _METRIC_LINE.match(line)
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out[m.group(1) + _norm_labels(m.group(2))] = value
    return out


def metrics(nginx):
    """GET /metrics of a running nginx and parse it."""
    status, headers, body = http_request("GET", nginx.url("/metrics"))
    assert status == 200, "GET /metrics -> %d %r" % (status, body[:300])
    return parse_metrics(body.decode("utf-8", "replace"))


def metric(m, name, default=0.0, **labels):
    """Look one series up in a parsed metrics dict (absent -> default)."""
    key = name + _norm_labels(",".join('%s="%s"' % kv for kv in labels.items()))
    return m.get(key, default)


def wait_metric(nginx, predicate, timeout=10.0, what="metric condition"):
    """Poll /metrics until predicate(parsed_dict) holds; returns the dict."""
    timeout *= TIMEOUT_SCALE
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = metrics(nginx)
        if predicate(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s; metrics: %r" % (
                what, {k: v for k, v in last.items() if k.startswith("whatsapp_")}))
        time.sleep(0.05)


# ---- posting ---------------------------------------------------------------------------------

def text_body(wamid=None, text="hello", from_=CUSTOMER, timestamp=None, name=None,
              phone_number_id=PHONE_NUMBER_ID):
    """Signed-ready bytes of a single-text-message webhook."""
    msg = sim.text_message(wamid or sim.new_wamid(), from_, text, timestamp=timestamp, name=name)
    return sim.body_bytes(sim.webhook(phone_number_id, DISPLAY_PHONE, [msg]))


def post(nginx, body, secret=APP_SECRET, signature=None, path="/webhook", headers=None,
         timeout=30.0):
    """POST a webhook body (dict or bytes) to nginx, signed. Returns (status, text)."""
    return sim.post_webhook(nginx.url(path), secret, sim.body_bytes(body), signature=signature,
                            headers=headers, timeout=timeout)


def json_error(text):
    """Parse a {"error":{"code":...,"message":...}} body; asserts its shape."""
    try:
        j = json.loads(text)
    except ValueError:
        raise AssertionError("error body is not JSON: %r" % text[:300])
    assert isinstance(j, dict) and isinstance(j.get("error"), dict), j
    assert isinstance(j["error"].get("code"), str) and j["error"]["code"], j
    assert isinstance(j["error"].get("message"), str) and j["error"]["message"], j
    return j["error"]


def events_of_type(receiver, type_="inbound.message.received"):
    return [e for e in receiver.events if isinstance(e, dict) and e.get("type") == type_]


def wait_events(receiver, n, timeout=10.0, type_="inbound.message.received"):
    """Wait until at least n delivered events of type_; returns them (arrival order)."""
    receiver.wait_until(lambda r: len(events_of_type(r, type_)) >= n, timeout,
                        "%d %s events" % (n, type_))
    return events_of_type(receiver, type_)


def wait_text(receiver, text, timeout=10.0):
    """Wait for the inbound event whose content.text == text; returns it."""
    def find(r):
        return [e for e in events_of_type(r)
                if ((e.get("payload") or {}).get("content") or {}).get("text") == text]
    receiver.wait_until(lambda r: bool(find(r)), timeout, "event with text %r" % text)
    return find(receiver)[0]


def texts(receiver):
    return [((e.get("payload") or {}).get("content") or {}).get("text")
            for e in events_of_type(receiver)]


def number_block(number=NUMBER, phone_number_id=PHONE_NUMBER_ID, tenant=TENANT,
                 app_secret_file="@PREFIX@/app.secret", access_token_file="@PREFIX@/acme.token",
                 callback="http://127.0.0.1:@CALLBACK_PORT@/events",
                 signing_secret_file="@PREFIX@/acme.whsec", extra="", omit=()):
    """A whatsapp_number block; omit=("phone_number_id",) leaves directives out."""
    lines = []
    for key, val in (("phone_number_id", phone_number_id), ("tenant", tenant),
                     ("app_secret_file", app_secret_file),
                     ("access_token_file", access_token_file), ("callback", callback),
                     ("signing_secret_file", signing_secret_file)):
        if key in omit or val is None:
            continue
        lines.append("        %s %s;" % (key, val))
    if extra:
        lines.append("        " + extra)
    return "whatsapp_number %s {\n%s\n    }" % (number, "\n".join(lines))


# ---- callback outages ------------------------------------------------------------------------

def callback_down(receiver, status=503):
    """From now on every callback request is answered status (until callback_up)."""
    receiver.fail_next(status, 10 ** 9)


def callback_up(receiver):
    """End every scripted failure or hang still queued (callback_down, fail_next, hang_next);
    requests already hanging finish as scripted."""
    with receiver._cond:
        receiver._script.clear()


# ---- reply API -------------------------------------------------------------------------------

REPLY_PATH = "/v2/notify/reply"
REPLY_LOCATION = "location = %s { whatsapp_reply; }" % REPLY_PATH


def api_key(name, tenant=TENANT, scopes="messaging:messages:send", conversation=None,
            secret=None):
    """(secret, keys-file line) of a new API key, hashed as whatsapp-admin does."""
    import hashlib
    secret = secret or "wa_test_" + os.urandom(16).hex()
    line = "%s %s %s %s" % (name, tenant, hashlib.sha256(secret.encode()).hexdigest(), scopes)
    if conversation:
        line += " conversation=" + conversation
    return secret, line


def write_keys(prefix, lines, name="api.keys"):
    path = os.path.join(prefix, name)
    with open(path, "w") as f:
        f.write("# test keys\n" + "\n".join(lines) + "\n")
    os.chmod(path, 0o644)
    return path


def reply(nginx, body, key=None, headers=None, raw=None):
    """POST /v2/notify/reply. Returns (status, headers, parsed JSON or None)."""
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    data = raw if raw is not None else json.dumps(body).encode()
    status, rh, rb = http_request("POST", nginx.url(REPLY_PATH), data, h)
    try:
        parsed = json.loads(rb) if rb else None
    except ValueError:
        parsed = None
    return status, rh, parsed


def assert_reply_error(result, status, code, param=None):
    got_status, _, body = result
    assert got_status == status, result
    assert isinstance(body, dict), result
    assert body.get("code") == code, body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("request_id"), str) and body["request_id"], body
    if param is not None:
        assert body.get("param") == param, body
    return body
