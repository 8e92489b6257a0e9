#!/usr/bin/python3
"""WhatsApp Cloud API simulator for ngx_whatsapp (library and CLI).

Library:
  * payload builders that produce Meta-shaped webhook JSON (text_message, image_message, ...,
    webhook / change / entry / envelope);
  * body_bytes(): serialise like Meta does (compact, non-ASCII escaped as \\uXXXX);
  * sign() / post_webhook(): X-Hub-Signature-256 and a signed POST;
  * GraphSim: an in-process stand-in for POST /<version>/<phone_number_id>/messages and the
    media endpoints (GET /<version>/<media_id>, GET /media-files/<id>, POST
    /<version>/<phone_number_id>/media).

CLI:
  cloudapi_sim.py send --url URL --secret-file F --phone-number-id ID --display-phone 15550783881 \\
                       --from 33612345678 --text "hello" [--wamid W] [--name N]
  cloudapi_sim.py send ... --media-id ID [--mime-type image/jpeg] [--caption C]
                       an inbound image instead of a text (--text is then not needed)
  cloudapi_sim.py serve [--host 127.0.0.1] --port P

Only the Python standard library is used.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid

try:
    from tools.http_service import HttpService, QuietHandler
except ImportError:  # run as a script: tools/ is the first entry of sys.path
    from http_service import HttpService, QuietHandler

WABA_ID = "102290129340398"

_wamid_counter = itertools.count(1)


def new_wamid():
    """A fresh, unique wamid-looking id."""
    return "wamid.HBgL%s%06d" % (uuid.uuid4().hex.upper(), next(_wamid_counter))


# ---------------------------------------------------------------------------------------------
# Payload builders (WHATSAPP.md §2)
# ---------------------------------------------------------------------------------------------

def _ts(timestamp):
    if timestamp is None:
        timestamp = int(time.time())
    return str(int(timestamp))


def message(wamid, from_, type_, body=None, timestamp=None, name=None, context=None, **extra):
    """Generic message: {"from","id","timestamp","type", <type>: body}.

    from_=None omits "from" (username users; pass from_user_id=... in extra).
    name is remembered (key "_name") so webhook() can build value.contacts; it never reaches
    the wire."""
    m = {}
    if from_ is not None:
        m["from"] = from_
    m["id"] = wamid or new_wamid()
    m["timestamp"] = _ts(timestamp)
    m["type"] = type_
    if context is not None:
        m["context"] = context
    if body is not None:
        m[type_] = body
    m.update(extra)
    if name is not None:
        m["_name"] = name
    return m


def text_message(wamid, from_, text, timestamp=None, name=None, context=None, **extra):
    return message(wamid, from_, "text", {"body": text}, timestamp, name, context, **extra)


def _media(kind, wamid, from_, media_id, mime_type, sha256, caption, filename, timestamp, name,
           extra_fields):
    body = {}
    if caption is not None:
        body["caption"] = caption
    if filename is not None:
        body["filename"] = filename
    body["mime_type"] = mime_type
    body["sha256"] = sha256
    body["id"] = media_id
    body.update(extra_fields)
    return message(wamid, from_, kind, body, timestamp, name)


def image_message(wamid, from_, media_id="1003383421387256", mime_type="image/jpeg",
                  sha256="SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=", caption=None,
                  timestamp=None, name=None, url=None):
    extra = {"url": url} if url else {}
    return _media("image", wamid, from_, media_id, mime_type, sha256, caption, None, timestamp,
                  name, extra)


def video_message(wamid, from_, media_id="1003383421387257", mime_type="video/mp4",
                  sha256="dmlkZW8tc2hhMjU2LWRpZ2VzdC1wbGFjZWhvbGRlcg==", caption=None,
                  timestamp=None, name=None):
    return _media("video", wamid, from_, media_id, mime_type, sha256, caption, None, timestamp,
                  name, {})


def audio_message(wamid, from_, media_id="1003383421387258", mime_type="audio/ogg; codecs=opus",
                  sha256="YXVkaW8tc2hhMjU2LWRpZ2VzdC1wbGFjZWhvbGRlcg==", voice=True,
                  timestamp=None, name=None):
    return _media("audio", wamid, from_, media_id, mime_type, sha256, None, None, timestamp,
                  name, {"voice": voice})


def document_message(wamid, from_, media_id="622684793477189", mime_type="application/pdf",
                     sha256="ZG9jLXNoYTI1Ni1kaWdlc3QtcGxhY2Vob2xkZXI=", caption=None,
                     filename="receipt.pdf", timestamp=None, name=None):
    return _media("document", wamid, from_, media_id, mime_type, sha256, caption, filename,
                  timestamp, name, {})


def sticker_message(wamid, from_, media_id="1003383421387259", mime_type="image/webp",
                    sha256="c3RpY2tlci1zaGEyNTYtZGlnZXN0LXBsYWNlaG9sZGVy", animated=False,
                    timestamp=None, name=None):
    return _media("sticker", wamid, from_, media_id, mime_type, sha256, None, None, timestamp,
                  name, {"animated": animated})


def location_message(wamid, from_, latitude=37.44221496582, longitude=-122.16165924072,
                     loc_name=None, address=None, url=None, timestamp=None, name=None):
    body = {"latitude": latitude, "longitude": longitude}
    if loc_name is not None:
        body["name"] = loc_name
    if address is not None:
        body["address"] = address
    if url is not None:
        body["url"] = url
    return message(wamid, from_, "location", body, timestamp, name)


def reaction_message(wamid, from_, reacted_wamid, emoji="\U0001F44D", timestamp=None, name=None):
    body = {"message_id": reacted_wamid}
    if emoji is not None:  # omitted when the user removes the reaction
        body["emoji"] = emoji
    return message(wamid, from_, "reaction", body, timestamp, name)


def button_reply_message(wamid, from_, button_id, title, context_wamid=None,
                         business_display="15550783881", timestamp=None, name=None):
    ctx = {"from": business_display, "id": context_wamid or new_wamid()}
    body = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    return message(wamid, from_, "interactive", body, timestamp, name, ctx)


def list_reply_message(wamid, from_, row_id, title, description=None, context_wamid=None,
                       business_display="15550783881", timestamp=None, name=None):
    ctx = {"from": business_display, "id": context_wamid or new_wamid()}
    reply = {"id": row_id, "title": title}
    if description is not None:
        reply["description"] = description
    body = {"type": "list_reply", "list_reply": reply}
    return message(wamid, from_, "interactive", body, timestamp, name, ctx)


def template_button_message(wamid, from_, payload, text=None, context_wamid=None,
                            business_display="15550783881", timestamp=None, name=None):
    ctx = {"from": business_display, "id": context_wamid or new_wamid()}
    return message(wamid, from_, "button", {"payload": payload, "text": text or payload},
                   timestamp, name, ctx)


def contacts_message(wamid, from_, formatted_name="Barbara J. Johnson",
                     phone="+1 (415) 555-0829", phone_wa_id="14155550829", timestamp=None,
                     name=None):
    card = {
        "name": {"formatted_name": formatted_name, "first_name": formatted_name.split()[0],
                 "last_name": formatted_name.split()[-1]},
        "phones": [{"phone": phone, "wa_id": phone_wa_id, "type": "MOBILE"}],
    }
    return message(wamid, from_, "contacts", [card], timestamp, name)


def system_message(wamid, from_, new_wa_id, body=None, timestamp=None):
    body = body or "User changed from %s to %s" % (from_, new_wa_id)
    m = message(wamid, from_, "system",
                {"body": body, "wa_id": new_wa_id, "type": "user_changed_number"}, timestamp)
    m["_no_contact"] = True  # system messages carry no value.contacts
    return m


def unsupported_message(wamid, from_, inner_type="edit", timestamp=None, name=None):
    errors = [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
               "error_data": {"details": "Message type is currently not supported."}}]
    return message(wamid, from_, "unsupported", {"type": inner_type}, timestamp, name,
                   errors=errors)


def status(wamid, recipient_id, status_="sent", timestamp=None, errors=None):
    s = {"id": wamid, "status": status_, "timestamp": _ts(timestamp), "recipient_id": recipient_id}
    if errors is not None:
        s["errors"] = errors
    return s


def _contacts_for(messages):
    seen = {}
    for m in messages:
        if m.get("_no_contact") or "from" not in m:
            continue
        wa_id = m["from"].lstrip("+")
        name = m.get("_name")
        if wa_id not in seen or (name and not seen[wa_id]):
            seen[wa_id] = name
    return [{"profile": {"name": n or "Test User %s" % w[-4:]}, "wa_id": w}
            for w, n in seen.items()]


def _clean(messages):
    return [{k: v for k, v in m.items() if not k.startswith("_")} for m in messages]


def change(phone_number_id, display_phone_number, messages=None, contacts=None, statuses=None,
           errors=None, field="messages"):
    """One entry[].changes[] element."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number.lstrip("+"),
                     "phone_number_id": str(phone_number_id)},
    }
    messages = list(messages or [])
    if messages:
        if contacts is None:
            contacts = _contacts_for(messages)
        if contacts:
            value["contacts"] = contacts
        value["messages"] = _clean(messages)
    elif contacts:
        value["contacts"] = contacts
    if statuses:
        value["statuses"] = list(statuses)
    if errors:
        value["errors"] = list(errors)
    return {"value": value, "field": field}


def entry(changes, waba_id=WABA_ID):
    return {"id": waba_id, "changes": list(changes)}


def envelope(entries):
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def webhook(phone_number_id, display_phone_number, messages, contacts=None, statuses=None,
            errors=None, waba_id=WABA_ID):
    """The usual single-entry, single-change webhook."""
    return envelope([entry([change(phone_number_id, display_phone_number, messages, contacts,
                                   statuses, errors)], waba_id)])


# ---------------------------------------------------------------------------------------------
# Serialisation, signing, posting (WHATSAPP.md §3)
# ---------------------------------------------------------------------------------------------

def body_bytes(payload, ensure_ascii=True):
    """Serialise like Meta: compact, non-ASCII as lowercase \\uXXXX (surrogate pairs)."""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, ensure_ascii=ensure_ascii, separators=(",", ":")).encode("utf-8")


def _secret_bytes(secret):
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)


def sign(secret, body):
    """X-Hub-Signature-256 value: "sha256=" + hex(HMAC-SHA256(secret, body))."""
    body = body_bytes(body)
    return "sha256=" + hmac.new(_secret_bytes(secret), body, hashlib.sha256).hexdigest()


def http_request(method, url, body=None, headers=None, timeout=30.0):
    """Minimal HTTP client over http.client (no proxies, ever). Returns (status, headers, bytes).

    Survives a server that answers early (e.g. 413) and closes while the body is still being
    sent: the response already sent is read anyway."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http":
        raise ValueError("only http:// URLs are supported: %r" % url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        try:
            conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def post_webhook(url, secret, body, signature=None, headers=None, timeout=30.0):
    """POST a webhook body signed with secret (or with an explicit signature header value;
    signature=False sends no signature). Returns (status, response_text)."""
    body = body_bytes(body)
    hdrs = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    if signature is None:
        hdrs["X-Hub-Signature-256"] = sign(secret, body)
    elif signature is not False:
        hdrs["X-Hub-Signature-256"] = signature
    if headers:
        hdrs.update(headers)
    status_code, _, data = http_request("POST", url, body, hdrs, timeout)
    return status_code, data.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Graph API stand-in
# ---------------------------------------------------------------------------------------------

_SEND_PATH = re.compile(r"^/(v\d+\.\d+)/([^/]+)/messages/?$")
_UPLOAD_PATH = re.compile(r"^/(v\d+\.\d+)/([^/]+)/media/?$")
_MEDIA_INFO_PATH = re.compile(r"^/(?:v\d+\.\d+/)?([A-Za-z0-9_.-]+)/?$")
_MEDIA_FILE_PATH = re.compile(r"^/media-files/([A-Za-z0-9_.-]+)$")

# Error injection (fail, hang_next) is per endpoint.
ENDPOINTS = ("send", "media_info", "media_file", "media_upload")


def parse_multipart(content_type, raw):
    """multipart/form-data -> [{"name", "filename", "content_type", "data"}] in order, or None
    when the body is not one (no boundary, no closing delimiter, a part without headers)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not m or not content_type.lower().startswith("multipart/form-data"):
        return None
    delim = b"--" + m.group(1).encode()
    if not raw.startswith(delim + b"\r\n"):
        return None
    end = raw.find(b"\r\n" + delim + b"--")
    if end < 0:
        return None
    parts = []
    for chunk in raw[len(delim) + 2:end].split(b"\r\n" + delim + b"\r\n"):
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            return None
        part = {"name": None, "filename": None, "content_type": None, "data": data}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                n = re.search(r'\bname="([^"]*)"', value)
                f = re.search(r'\bfilename="([^"]*)"', value)
                part["name"] = n.group(1) if n else None
                part["filename"] = f.group(1) if f else None
            elif key.strip().lower() == "content-type":
                part["content_type"] = value.strip()
        parts.append(part)
    return parts


class GraphSim(HttpService):
    """Graph stand-in: POST /<version>/<phone_number_id>/messages answers 200 with a wamid.

    Media (WHATSAPP.md §5.4, §8), every call requiring "Authorization: Bearer <token>" (the
    expected_token when set; 401 error 190 otherwise):
      GET /<version>/<media_id>[?phone_number_id=P]  {"messaging_product","url","mime_type",
          "sha256","file_size","id"} of a media added with add_media (unknown, or another
          number's when P is given: 400 error 100, as Meta answers); url is
          <sim>/media-files/<id> (media_url_template changes it);
      GET /media-files/<id>  the bytes, streamed in 64 KiB writes, with Content-Type and
          Content-Length (chunked instead when chunked_files is set), and headers of Meta's own
          a gateway must not echo (MEDIA_FILE_HEADERS);
      POST /<version>/<phone_number_id>/media  a multipart upload (messaging_product, type,
          file): {"id": "<new id>"}; recorded in uploads, and downloadable like added media.
    Each media call is recorded in media_requests (endpoint, path, headers).

    Control (HTTP and methods): GET /_sim/requests, POST /_sim/reset, POST /_sim/fail
    {"http_status":400,"code":131047,"count":1,"endpoint":"send"} (endpoint: one of ENDPOINTS),
    POST /_sim/media?id=ID&mime_type=M&phone_number_id=P with the file's bytes as the body."""

    # What Meta's file server sends besides the file: none of it may reach an API client.
    MEDIA_FILE_HEADERS = (("X-FB-Trace-ID", "SimTraceId0123"), ("X-FB-Debug", "sim-debug=="),
                          ("Set-Cookie", "fr=sim-cookie; Path=/; HttpOnly"),
                          ("Access-Control-Allow-Origin", "*"))

    def __init__(self, port=0, host="127.0.0.1", verbose=False):
        self.host = host
        self._want_port = port
        self.verbose = verbose
        self._lock = threading.Condition()
        self._requests = []
        self._counter = 0
        self._wamid_tag = os.urandom(4).hex().upper()  # unique across simulator runs
        # per endpoint (ENDPOINTS): lists of [http_status, code, remaining, message]
        self._failures = {e: [] for e in ENDPOINTS}
        self._hangs = {e: [] for e in ENDPOINTS}  # seconds to wait before the next answers
        self._media = {}  # id -> {"data", "mime_type", "sha256", "phone_number_id"}
        self._media_requests = []
        self._uploads = []
        self._media_counter = 0
        self.media_url_template = None  # "{base}/media-files/{id}" unless set
        self.chunked_files = False  # files sent chunked, without Content-Length
        # Header names a gateway may send to Meta: anything else is a leak of the
        # API client's request, recorded in violations.
        self.allowed_headers = {"host", "connection", "content-length", "content-type",
                                "authorization", "user-agent", "accept"}
        self.expected_token = None  # when set, "Authorization: Bearer <it>" is required
        self.violations = []
        self.timeout_scale = 1.0

    # -- knobs --------------------------------------------------------------------------------
    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    @property
    def media_requests(self):
        with self._lock:
            return list(self._media_requests)

    @property
    def uploads(self):
        """Every media upload: {"id", "phone_number_id", "fields" {name: text},
        "filename", "content_type", "data", "headers", "content_type_header"}."""
        with self._lock:
            return list(self._uploads)

    def reset(self):
        with self._lock:
            self._requests.clear()
            for e in ENDPOINTS:
                self._failures[e].clear()
                self._hangs[e].clear()
            self._media_requests.clear()
            self._uploads.clear()
            self.violations.clear()

    def fail(self, http_status=400, code=131047, count=1, message=None, endpoint="send"):
        """The next count calls of endpoint (ENDPOINTS) answer http_status with Graph's error
        object for code (media_file: the status and that body, as a CDN would)."""
        with self._lock:
            self._failures[endpoint].append([int(http_status), int(code), int(count), message])

    def hang_next(self, seconds, count=1, endpoint="send"):
        """The next count calls of endpoint are answered only after seconds (a timeout
        upstream)."""
        with self._lock:
            self._hangs[endpoint].extend([float(seconds)] * int(count))

    def add_media(self, data, mime_type="image/jpeg", media_id=None, phone_number_id=None):
        """Makes data downloadable as media_id (a fresh numeric id when None); with
        phone_number_id, Graph gives it only to that number (or to no phone_number_id).
        Returns the id."""
        with self._lock:
            if media_id is None:
                self._media_counter += 1
                media_id = "7%014d" % self._media_counter
            self._media[str(media_id)] = {
                "data": bytes(data), "mime_type": mime_type,
                "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
                "phone_number_id": phone_number_id}
            return str(media_id)

    def _take(self, endpoint):
        """(hang seconds, failure or None) for the next call of endpoint."""
        with self._lock:
            hangs = self._hangs[endpoint]
            hang = hangs.pop(0) if hangs else 0
            failure = None
            failures = self._failures[endpoint]
            if failures:
                f = failures[0]
                f[2] -= 1
                if f[2] <= 0:
                    failures.pop(0)
                failure = f
            return hang, failure

    def wait_for(self, n, timeout=10.0):
        timeout *= self.timeout_scale
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("GraphSim: %d sends recorded, wanted %d"
                                       % (len(self._requests), n))
                self._lock.wait(left)
            return list(self._requests)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self):
        sim = self

        class Handler(QuietHandler):
            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _reply(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path, _, query = self.path.partition("?")
                headers = {k: v for k, v in self.headers.items()}
                if path == "/_sim/requests":
                    return self._reply(200, sim.requests)
                m = _MEDIA_FILE_PATH.match(path)
                if m:
                    return sim._serve_file(self, m.group(1), headers)
                m = _MEDIA_INFO_PATH.match(path)
                if m and not path.startswith("/_sim/"):
                    code, obj = sim._media_info(m.group(1), self.path, query, headers)
                    return self._reply(code, obj)
                self._reply(404, {"error": "not found"})

            def do_POST(self):
                raw = self._body()
                path = self.path.split("?")[0]
                if path == "/_sim/reset":
                    sim.reset()
                    return self._reply(200, {"ok": True})
                if path == "/_sim/fail":
                    try:
                        cfg = json.loads(raw or b"{}")
                    except ValueError:
                        return self._reply(400, {"error": "bad json"})
                    sim.fail(cfg.get("http_status", 400), cfg.get("code", 131047),
                             cfg.get("count", 1), cfg.get("message"),
                             cfg.get("endpoint", "send"))
                    return self._reply(200, {"ok": True})
                if path == "/_sim/media":
                    q = urllib.parse.parse_qs(self.path.partition("?")[2])
                    one = lambda k, d=None: q.get(k, [d])[0]  # noqa: E731
                    media_id = sim.add_media(raw, one("mime_type", "image/jpeg"), one("id"),
                                             one("phone_number_id"))
                    return self._reply(200, {"id": media_id})
                m = _UPLOAD_PATH.match(path)
                if m:
                    code, obj = sim._handle_upload(m.group(2), self.path,
                                                   {k: v for k, v in self.headers.items()}, raw)
                    return self._reply(code, obj)
                m = _SEND_PATH.match(path)
                if not m:
                    return self._reply(404, {"error": {"message": "Unknown path " + path,
                                                       "type": "OAuthException", "code": 803}})
                code, obj = sim._handle_send(m.group(1), m.group(2), self.path,
                                             {k: v for k, v in self.headers.items()}, raw)
                self._reply(code, obj)

        return self._serve(Handler)

    # -- behaviour ----------------------------------------------------------------------------
    def _handle_send(self, version, phone_number_id, path, headers, raw):
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        rec = {"path": path, "version": version, "phone_number_id": phone_number_id,
               "headers": headers, "body": body, "raw": raw.decode("utf-8", "replace"),
               "time": time.time()}
        self._check_headers(path, headers)
        hang, failure = self._take("send")
        with self._lock:
            if failure is None:
                self._counter += 1
                wamid = "wamid.SIM%s%d" % (self._wamid_tag, self._counter)
                rec["wamid"] = wamid
            rec["failed"] = failure is not None
            self._requests.append(rec)
            self._lock.notify_all()
        if hang:
            time.sleep(hang)
        if self.verbose:
            to = (body or {}).get("to") if isinstance(body, dict) else None
            print("graph send %s to=%s %s" % (path, to, "FAILED" if failure else rec["wamid"]),
                  flush=True)
            print("  " + rec["raw"], flush=True)
        if body is None or not isinstance(body, dict):
            return 400, _graph_error(100, "Invalid parameter", 400)
        if failure is not None:
            http_status, code, _, msg = failure
            return http_status, _graph_error(code, msg, http_status)
        to = str(body.get("to", ""))
        return 200, {"messaging_product": "whatsapp",
                     "contacts": [{"input": to, "wa_id": re.sub(r"\D", "", to)}],
                     "messages": [{"id": rec["wamid"]}]}


    # -- media ---------------------------------------------------------------------------------
    def _record_media(self, endpoint, path, headers, **extra):
        self._check_headers(path, headers)
        rec = {"endpoint": endpoint, "path": path, "headers": headers, "time": time.time()}
        rec.update(extra)
        with self._lock:
            self._media_requests.append(rec)
            self._lock.notify_all()
        return rec

    def _bearer_ok(self, headers):
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if self.expected_token is not None:
            return auth == "Bearer " + self.expected_token
        return auth.startswith("Bearer ") and len(auth) > len("Bearer ")

    def _media_url(self, media_id):
        template = self.media_url_template or "{base}/media-files/{id}"
        return template.format(base=self.url, id=media_id)

    def _refusal(self, endpoint, headers):
        """After a scripted hang: (status, error object) when the call has no bearer token or is
        scripted to fail; None when it goes on."""
        hang, failure = self._take(endpoint)
        if hang:
            time.sleep(hang)
        if not self._bearer_ok(headers):
            return 401, _graph_error(190, None, 401)
        if failure is not None:
            http_status, code, _, msg = failure
            return http_status, _graph_error(code, msg, http_status)
        return None

    def _media_info(self, media_id, path, query, headers):
        pnid = urllib.parse.parse_qs(query).get("phone_number_id", [None])[0]
        self._record_media("media_info", path, headers, media_id=media_id, phone_number_id=pnid)
        refusal = self._refusal("media_info", headers)
        if refusal:
            return refusal
        with self._lock:
            media = self._media.get(media_id)
        if media is None or (pnid and media["phone_number_id"] and
                             pnid != media["phone_number_id"]):
            return 400, _graph_error(100, "Unsupported get request. Object with ID '%s' does not "
                                          "exist" % media_id, 400)
        return 200, {"messaging_product": "whatsapp", "url": self._media_url(media_id),
                     "mime_type": media["mime_type"], "sha256": media["sha256"],
                     "file_size": str(len(media["data"])), "id": media_id}

    def _serve_file(self, handler, media_id, headers):
        self._record_media("media_file", handler.path, headers, media_id=media_id)
        refusal = self._refusal("media_file", headers)
        if refusal:
            return handler._reply(*refusal)
        with self._lock:
            media = self._media.get(media_id)
        if media is None:
            return handler._reply(404, {"error": "not found"})
        data = media["data"]
        handler.send_response(200)
        handler.send_header("Content-Type", media["mime_type"])
        if self.chunked_files:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(len(data)))
        for name, value in self.MEDIA_FILE_HEADERS:
            handler.send_header(name, value)
        handler.end_headers()
        view = memoryview(data)
        for at in range(0, len(data), 65536):
            piece = view[at:at + 65536]
            if self.chunked_files:
                handler.wfile.write(b"%x\r\n" % len(piece) + bytes(piece) + b"\r\n")
            else:
                handler.wfile.write(piece)
        if self.chunked_files:
            handler.wfile.write(b"0\r\n\r\n")

    def _handle_upload(self, phone_number_id, path, headers, raw):
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        rec = self._record_media("media_upload", path, headers, phone_number_id=phone_number_id,
                                 size=len(raw))
        refusal = self._refusal("media_upload", headers)
        if refusal:
            return refusal
        parts = parse_multipart(ctype, raw)
        if parts is None:
            return 400, _graph_error(100, "The request is not multipart/form-data", 400)
        fields = {p["name"]: p["data"].decode("utf-8", "replace")
                  for p in parts if p["filename"] is None}
        files = [p for p in parts if p["name"] == "file" and p["filename"] is not None]
        if fields.get("messaging_product") != "whatsapp" or len(files) != 1 \
                or not fields.get("type"):
            return 400, _graph_error(100, "messaging_product, type and file are required", 400)
        f = files[0]
        media_id = self.add_media(f["data"], fields["type"], phone_number_id=phone_number_id)
        upload = {"id": media_id, "phone_number_id": phone_number_id, "fields": fields,
                  "filename": f["filename"], "content_type": f["content_type"],
                  "data": f["data"], "headers": headers, "content_type_header": ctype}
        with self._lock:
            rec["id"] = media_id
            self._uploads.append(upload)
        return 200, {"id": media_id}

    def _check_headers(self, path, headers):
        problems = ["unexpected header %s: %s" % (k, v) for k, v in headers.items()
                    if k.lower() not in self.allowed_headers]
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if self.expected_token is not None and auth != "Bearer " + self.expected_token:
            problems.append("Authorization is %r, not the number's access token" % auth)
        if problems:
            with self._lock:
                self.violations.extend("%s: %s" % (path, p) for p in problems)


_GRAPH_TITLES = {
    131047: "Re-engagement message",
    131026: "Message undeliverable",
    131030: "Recipient phone number not in allowed list",
    130429: "Rate limit hit",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131000: "Something went wrong",
    131053: "Media upload error",
    190: "Invalid OAuth access token",
    100: "Invalid parameter",
}


def _graph_error(code, message=None, http_status=400):
    title = message or _GRAPH_TITLES.get(code, "Error")
    return {"error": {
        "message": "(#%d) %s" % (code, title),
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": title},
        "fbtrace_id": "ASIM%08d" % (int(time.time()) % 100000000),
    }}


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _cmd_send(a):
    with open(a.secret_file, "rb") as f:
        secret = f.read().strip()
    if a.media_id:
        msg = image_message(a.wamid or new_wamid(), a.from_, media_id=a.media_id,
                            mime_type=a.mime_type, caption=a.caption, timestamp=a.timestamp,
                            name=a.name)
    elif a.text is not None:
        msg = text_message(a.wamid or new_wamid(), a.from_, a.text, timestamp=a.timestamp,
                           name=a.name)
    else:
        print("send: --text or --media-id is required", file=sys.stderr)
        return 2
    payload = webhook(a.phone_number_id, a.display_phone, [msg])
    body = body_bytes(payload)
    status_code, text = post_webhook(a.url, secret, body)
    print(status_code)
    print(text)
    return 0 if status_code == 200 else 1


def _cmd_serve(a):
    sim = GraphSim(port=a.port, host=a.host, verbose=True).start()
    print("Graph API simulator on http://%s:%d (POST /<version>/<phone_number_id>/messages, "
          "media: GET /<version>/<media_id>, POST /_sim/media?id=ID&mime_type=M to add one)"
          % (a.host, sim.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="WhatsApp Cloud API simulator")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send", help="POST a signed inbound text webhook")
    s.add_argument("--url", required=True)
    s.add_argument("--secret-file", required=True)
    s.add_argument("--phone-number-id", required=True)
    s.add_argument("--display-phone", default="15550783881")
    s.add_argument("--from", dest="from_", required=True)
    s.add_argument("--text")
    s.add_argument("--media-id", help="send an image with this media id instead of a text")
    s.add_argument("--mime-type", default="image/jpeg")
    s.add_argument("--caption")
    s.add_argument("--wamid")
    s.add_argument("--name")
    s.add_argument("--timestamp", type=int)
    s.set_defaults(fn=_cmd_send)
    v = sub.add_parser("serve", help="run the Graph API stand-in in the foreground")
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8081)
    v.set_defaults(fn=_cmd_serve)
    a = p.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
