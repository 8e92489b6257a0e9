"""§8.4: media download in a whatsapp_media location — the file of an inbound message streamed
from Meta (Graph gives the URL, the fetch location brings the file) with Meta's type and length,
nothing else of Meta's answer and never a token; a 5 MB file goes through nginx's proxy buffering
rather than worker memory; keys (header or ?apiKey=, scopes, conversation= keys) and tenants
isolated (another tenant's id answers like an unknown one); Graph's and the file server's errors
mapped; the URL Graph gives judged by the SSRF guard; content.media.url in events; nginx -t
refusals; and the simulator's media endpoints themselves."""

import hashlib
import json
import os
import socket
import time
import urllib.parse

import pytest

import helpers as H
from helpers import DISPLAY_PHONE, PHONE_NUMBER_ID, api_key, http_request, number_block, post
from tools import cloudapi_sim as sim

PREFIX = "/v1/media/"
MEDIA_LOCATIONS = """location /v1/media/ { whatsapp_media; }
        location = /_whatsapp/fetch {
            internal;
            proxy_set_header Host $whatsapp_fetch_host;
            proxy_pass $whatsapp_fetch_url;
        }"""
READ_SECRET, READ_LINE = api_key("reader", scopes="messaging:messages:read")
STREAM_SECRET, STREAM_LINE = api_key("socket", scopes="events:stream")
SEND_SECRET, SEND_LINE = api_key("sender", scopes="messaging:messages:send")
GLOBEX_SECRET, GLOBEX_LINE = api_key("globex-app", tenant="globex", scopes="*")
GLOBEX_NUMBER, GLOBEX_PNID = "+15550783999", "106540352249999"
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(3000) + b"\xff\xd9"


@pytest.fixture
def media_gw(nginx, graph):
    graph.expected_token = H.ACCESS_TOKEN

    def make(extra_keys=(), server_extra="", **conf):
        numbers = number_block() + "\n    " + number_block(
            number=GLOBEX_NUMBER, phone_number_id=GLOBEX_PNID, tenant="globex")
        ng = nginx(start=False, numbers=numbers,
                   http_extra="whatsapp_api_keys @PREFIX@/api.keys;\n"
                              "    whatsapp_callback_allow 127.0.0.1;",
                   server_extra=MEDIA_LOCATIONS + "\n        " + server_extra, **conf)
        H.write_keys(ng.prefix, [READ_LINE, STREAM_LINE, SEND_LINE, GLOBEX_LINE]
                     + list(extra_keys))
        ng.start()
        return ng
    return make


@pytest.fixture
def gw(media_gw):
    return media_gw()


def inbound_media(gw, receiver, graph, data=JPEG, mime="image/jpeg", kind="image",
                  customer=H.CUSTOMER, pnid=PHONE_NUMBER_ID):
    """A file at the simulator and the inbound message that carries it; -> (media id, event)."""
    media_id = graph.add_media(data, mime, phone_number_id=pnid)
    build = {"image": sim.image_message, "document": sim.document_message}[kind]
    msg = build(sim.new_wamid(), customer, media_id=media_id, mime_type=mime)
    status, text = post(gw, sim.webhook(pnid, DISPLAY_PHONE, [msg]))
    assert status == 200, text
    receiver.wait_until(lambda r: any(
        ((e["payload"].get("content") or {}).get("media") or {}).get("id") == media_id
        for e in H.events_of_type(r)), 10, "the event of media %s" % media_id)
    event = [e for e in H.events_of_type(receiver)
             if e["payload"]["content"].get("media", {}).get("id") == media_id][0]
    return media_id, event


def download(gw, media_id, key=READ_SECRET, headers=None, query=None, method="GET"):
    """(status, headers, body bytes) of one download."""
    h = {}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    url = gw.url(PREFIX + media_id)
    if query:
        url += "?" + urllib.parse.urlencode(query)
    return http_request(method, url, None, h)


def assert_pipes_error(result, status, code):
    got, headers, body = result
    assert got == status, result[:2] + (body[:300],)
    assert headers.get("content-type") == "application/json", headers
    j = json.loads(body)
    assert j["success"] is False and j["code"] == code, j
    assert isinstance(j["error"], str) and j["error"], j
    return j


# ---- the file ----------------------------------------------------------------------------------

def test_inbound_image_downloads_with_metas_type_and_length_and_nothing_else(gw, receiver, graph):
    media_id, event = inbound_media(gw, receiver, graph)
    status, headers, body = download(gw, media_id, headers={"Cookie": "session=client-secret"})
    assert status == 200, (headers, body[:300])
    assert body == JPEG
    assert headers["content-type"] == "image/jpeg"
    assert headers["content-length"] == str(len(JPEG))
    assert headers["x-content-type-options"] == "nosniff"
    # Nothing of Meta's answer but the file: none of its own headers, never a token.
    for name, _ in graph.MEDIA_FILE_HEADERS:
        assert name.lower() not in headers, (name, headers)
    assert "authorization" not in headers
    assert not any(H.ACCESS_TOKEN in v for v in headers.values()), headers


def test_graph_and_the_file_get_the_numbers_token_and_nothing_of_the_client(gw, receiver, graph):
    media_id, _ = inbound_media(gw, receiver, graph)
    graph.reset()
    status, _, body = download(gw, media_id,
                               headers={"Cookie": "session=client-secret", "X-Client": "mine"})
    assert status == 200 and body == JPEG
    calls = graph.media_requests
    assert [c["endpoint"] for c in calls] == ["media_info", "media_file"], calls
    info, file_ = calls
    assert info["media_id"] == media_id and info["phone_number_id"] == PHONE_NUMBER_ID, info
    for call in calls:
        h = {k.lower(): v for k, v in call["headers"].items()}
        assert h["authorization"] == "Bearer " + H.ACCESS_TOKEN, call
        assert READ_SECRET not in json.dumps(call["headers"]), call
        assert "cookie" not in h and "x-client" not in h, call
    assert graph.violations == []


def test_api_key_in_the_query_string_with_the_stream_scope(gw, receiver, graph):
    media_id, _ = inbound_media(gw, receiver, graph)
    status, headers, body = download(gw, media_id, key=None, query={"apiKey": STREAM_SECRET})
    assert status == 200 and body == JPEG, (status, body[:200])
    # The key in the query string reaches no one else either.
    assert all(STREAM_SECRET not in json.dumps(c) for c in graph.media_requests)


def test_a_document_keeps_its_type(gw, receiver, graph):
    pdf = b"%PDF-1.4\n" + os.urandom(500)
    media_id, _ = inbound_media(gw, receiver, graph, data=pdf, mime="application/pdf",
                                kind="document")
    status, headers, body = download(gw, media_id)
    assert status == 200 and body == pdf
    assert headers["content-type"] == "application/pdf"


def test_a_file_sent_chunked_arrives_whole(gw, receiver, graph):
    graph.chunked_files = True
    data = os.urandom(300 * 1024)
    media_id, _ = inbound_media(gw, receiver, graph, data=data, mime="audio/ogg")
    status, headers, body = download(gw, media_id)
    assert status == 200 and body == data
    assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers


def test_downloads_keep_the_connection(gw, receiver, graph):
    import http.client
    media_id, _ = inbound_media(gw, receiver, graph)
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    for path, want in ((media_id, 200), ("123", 404), (media_id, 200)):
        conn.request("GET", PREFIX + path, headers={"Authorization": "Bearer " + READ_SECRET})
        r = conn.getresponse()
        body = r.read()
        assert r.status == want, body[:200]
        assert want != 200 or body == JPEG
    conn.close()


def _worker_rss_kb(gw):
    total = 0
    for pid in gw.worker_pids():
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def test_a_5mb_file_streams_through_proxy_buffering_not_worker_memory(gw, receiver, graph):
    big = os.urandom(5 * 1024 * 1024)
    media_id, _ = inbound_media(gw, receiver, graph, data=big, mime="video/mp4")
    small_id, _ = inbound_media(gw, receiver, graph, customer="33612345679")
    for _ in range(3):  # warm up: every code path touched once
        assert download(gw, small_id)[0] == 200
    before = _worker_rss_kb(gw)

    # A client that reads nothing for a while: nginx must hold what Meta sends somewhere. In
    # memory would be 5 MB more RSS; proxy buffering spills it to a temporary file instead.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    s.connect(("127.0.0.1", gw.port))
    s.sendall(("GET %s%s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
               "Connection: close\r\n\r\n" % (PREFIX, media_id, READ_SECRET)).encode())
    deadline = time.monotonic() + 10 * H.TIMEOUT_SCALE
    while "buffered to a temporary file" not in gw.error_log():
        assert time.monotonic() < deadline, "no proxy temp file:\n" + gw.error_log()[-3000:]
        time.sleep(0.05)
    time.sleep(0.3)  # Meta (the simulator) has sent all it could by now
    during = _worker_rss_kb(gw)
    assert during - before < 5 * 1024, (before, during)

    data = b""
    s.settimeout(30 * H.TIMEOUT_SCALE)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"Content-Length: %d" % len(big) in head, head
    assert hashlib.sha256(body).digest() == hashlib.sha256(big).digest()
    assert len(body) == len(big)


# ---- who may download ----------------------------------------------------------------------------

def test_no_key_is_401_and_an_unknown_key_too(gw, receiver, graph):
    media_id, _ = inbound_media(gw, receiver, graph)
    graph.reset()
    assert_pipes_error(download(gw, media_id, key=None), 401, "UNAUTHORIZED")
    assert_pipes_error(download(gw, media_id, key="wa_not_a_key"), 401, "UNAUTHORIZED")
    assert_pipes_error(download(gw, media_id, key=None, query={"apiKey": "wa_nope"}), 401,
                       "UNAUTHORIZED")
    assert graph.media_requests == []


def test_a_key_without_a_read_scope_is_403(gw, receiver, graph):
    media_id, _ = inbound_media(gw, receiver, graph)
    assert_pipes_error(download(gw, media_id, key=SEND_SECRET), 403, "FORBIDDEN")


def test_unknown_and_another_tenants_media_are_the_same_404(gw, receiver, graph):
    media_id, _ = inbound_media(gw, receiver, graph)
    graph.reset()
    unknown = assert_pipes_error(download(gw, "987654321"), 404, "MEDIA_NOT_FOUND")
    theirs = assert_pipes_error(download(gw, media_id, key=GLOBEX_SECRET), 404, "MEDIA_NOT_FOUND")
    assert unknown == theirs == {"success": False, "error": "media not found",
                                 "code": "MEDIA_NOT_FOUND"}
    assert_pipes_error(download(gw, "not..an/id"), 404, "MEDIA_NOT_FOUND")
    assert graph.media_requests == []  # decided by the store alone


def test_a_conversation_key_downloads_its_conversations_media_only(gw, receiver, graph):
    first, event = inbound_media(gw, receiver, graph, customer="33611111111")
    second, _ = inbound_media(gw, receiver, graph, customer="33622222222")
    conv = event["payload"]["conversation"]["id"]
    own_secret, own_line = api_key("conv-key", scopes="messaging:messages:read", conversation=conv)
    H.write_keys(gw.prefix, [READ_LINE, STREAM_LINE, SEND_LINE, GLOBEX_LINE, own_line])
    gw.reload()
    status, _, body = download(gw, first, key=own_secret)
    assert status == 200 and body == JPEG
    assert_pipes_error(download(gw, second, key=own_secret), 404, "MEDIA_NOT_FOUND")


@pytest.mark.parametrize("method", ["HEAD", "POST", "DELETE"])
def test_only_get(gw, receiver, graph, method):
    media_id, _ = inbound_media(gw, receiver, graph)
    status, headers, body = download(gw, media_id, method=method)
    assert status == 405, (status, body)
    assert headers.get("allow") == "GET"


# ---- what Meta answers --------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint,http_status,code,want_status,want_code", [
    ("media_info", 404, 100, 404, "MEDIA_NOT_FOUND"),
    ("media_info", 400, 100, 404, "MEDIA_NOT_FOUND"),
    ("media_info", 500, 131000, 502, "UPSTREAM_ERROR"),
    ("media_info", 401, 190, 502, "UPSTREAM_ERROR"),
    ("media_info", 429, 130429, 429, "RATE_LIMITED"),
    ("media_file", 404, 0, 404, "MEDIA_NOT_FOUND"),
    ("media_file", 500, 0, 502, "UPSTREAM_ERROR"),
    ("media_file", 403, 0, 502, "UPSTREAM_ERROR"),
])
def test_metas_errors_are_mapped(gw, receiver, graph, endpoint, http_status, code, want_status,
                                 want_code):
    media_id, _ = inbound_media(gw, receiver, graph)
    graph.fail(http_status=http_status, code=code, endpoint=endpoint)
    result = download(gw, media_id)
    assert_pipes_error(result, want_status, want_code)
    assert not any(H.ACCESS_TOKEN in v for v in result[1].values())
    assert H.ACCESS_TOKEN.encode() not in result[2]
    if want_code == "RATE_LIMITED":
        assert int(result[1]["retry-after"]) > 0
    # Once Meta is well again, the same download works.
    status, _, body = download(gw, media_id)
    assert status == 200 and body == JPEG


def test_graph_unreachable_is_502(gw, receiver, graph):
    media_id, _ = inbound_media(gw, receiver, graph)
    gw.graph_port = 1  # nothing listens there
    gw.write_conf()
    gw.reload()
    assert_pipes_error(download(gw, media_id), 502, "UPSTREAM_ERROR")


@pytest.mark.parametrize("url", [
    "http://10.1.2.3/media-files/{id}",          # private, not allowed
    "http://169.254.169.254/latest/{id}",        # link-local: cloud metadata
    "https://localhost/media-files/{id}",        # a local name
    "ftp://127.0.0.1/{id}",                      # not http(s)
])
def test_a_url_the_ssrf_guard_refuses_is_never_fetched(gw, receiver, graph, url):
    media_id, _ = inbound_media(gw, receiver, graph)
    graph.reset()
    graph.media_url_template = url
    assert_pipes_error(download(gw, media_id), 502, "UPSTREAM_ERROR")
    assert [c["endpoint"] for c in graph.media_requests] == ["media_info"]
    assert "media URL Graph gave is refused" in gw.error_log()


# ---- events ------------------------------------------------------------------------------------

def test_events_point_media_at_the_media_location(gw, receiver, graph):
    media_id, event = inbound_media(gw, receiver, graph)
    media = event["payload"]["content"]["media"]
    assert media["url"] == PREFIX + media_id
    assert media["id"] == media_id and media["mime_type"] == "image/jpeg"
    # The URL in the event is the one that downloads.
    status, _, body = http_request("GET", gw.url(media["url"]), None,
                                   {"Authorization": "Bearer " + READ_SECRET})
    assert status == 200 and body == JPEG


def test_metas_own_url_is_replaced(gw, receiver, graph):
    media_id = graph.add_media(JPEG, phone_number_id=PHONE_NUMBER_ID)
    msg = sim.image_message(sim.new_wamid(), H.CUSTOMER, media_id=media_id,
                            url="https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
    assert post(gw, sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg]))[0] == 200
    ev = H.wait_events(receiver, 1)[0]
    assert ev["payload"]["content"]["media"]["url"] == PREFIX + media_id


def test_without_a_media_location_metas_url_stays(nginx, receiver):
    ng = nginx()
    meta_url = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=2"
    msg = sim.image_message(sim.new_wamid(), H.CUSTOMER, url=meta_url)
    assert post(ng, sim.webhook(PHONE_NUMBER_ID, DISPLAY_PHONE, [msg]))[0] == 200
    ev = H.wait_events(receiver, 1)[0]
    assert ev["payload"]["content"]["media"]["url"] == meta_url


# ---- nginx -t --------------------------------------------------------------------------------

def _media_conf(nginx_t, server_extra):
    return nginx_t.render(http_extra="whatsapp_callback_allow 127.0.0.1;",
                          server_extra=server_extra)


def test_the_media_locations_are_a_valid_config(nginx_t):
    rc, err = nginx_t(_media_conf(nginx_t, MEDIA_LOCATIONS))
    assert rc == 0, err


@pytest.mark.parametrize("server_extra,needle", [
    ("location /v1/media/ { whatsapp_media; }", "whatsapp_fetch"),
    ("location /v1/media/ { whatsapp_media; }\n"
     "        location = /_whatsapp/fetch { proxy_pass $whatsapp_fetch_url; }", "internal"),
    ("location = /v1/media { whatsapp_media; }", "prefix location"),
    ("location ~ ^/m/ { whatsapp_media; }", "prefix location"),
])
def test_a_media_location_without_what_it_needs_fails(nginx_t, server_extra, needle):
    rc, err = nginx_t(_media_conf(nginx_t, server_extra))
    assert rc != 0, err
    assert "[emerg]" in err and "whatsapp_media" in err and needle in err, err


def test_whatsapp_fetch_names_another_location(nginx_t):
    extra = MEDIA_LOCATIONS.replace("= /_whatsapp/fetch", "= /_internal/file")
    conf = _media_conf(nginx_t, extra)
    conf = conf.replace("whatsapp_callback_allow", "whatsapp_fetch /_internal/file;\n    "
                        "whatsapp_callback_allow")
    rc, err = nginx_t(conf)
    assert rc == 0, err


# ---- the simulator -----------------------------------------------------------------------------

def test_the_simulator_takes_a_multipart_upload(graph):
    boundary = "sim-test-boundary"
    body = ("--{b}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\n"
            "whatsapp\r\n--{b}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n"
            "image/png\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").format(b=boundary).encode()
    body += b"\x89PNG\r\n--not-the-boundary" + b"\r\n--%s--\r\n" % boundary.encode()
    headers = {"Content-Type": "multipart/form-data; boundary=" + boundary,
               "Authorization": "Bearer t"}
    status, _, answer = http_request("POST", graph.url + "/v21.0/%s/media" % PHONE_NUMBER_ID,
                                     body, headers)
    assert status == 200, answer
    media_id = json.loads(answer)["id"]
    (up,) = graph.uploads
    assert up["id"] == media_id and up["phone_number_id"] == PHONE_NUMBER_ID
    assert up["fields"] == {"messaging_product": "whatsapp", "type": "image/png"}
    assert up["filename"] == "a.png" and up["content_type"] == "image/png"
    assert up["data"] == b"\x89PNG\r\n--not-the-boundary"
    # What was uploaded downloads like added media.
    status, _, info = http_request("GET", graph.url + "/v21.0/" + media_id, None,
                                   {"Authorization": "Bearer t"})
    assert status == 200 and json.loads(info)["mime_type"] == "image/png"
    assert http_request("GET", graph.url + "/v21.0/" + media_id)[0] == 401  # no token
