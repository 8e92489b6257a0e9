"""§8.3: Pipes.bot's REST send, POST /v1/messages/send in a whatsapp_send location, through the
one send path: a text, media by Meta id, by https link (judged by the SSRF guard, hostnames after
resolution, sent to Meta as the client wrote it) and as base64 (uploaded to the conversation's
number first, then sent by the id Meta gave; the tenant can download it); the Graph bodies; Pipes'
answers and codes for every refusal (keys, bodies, the window, tenants, credits, the rate) and for
§6.3's outcomes (Graph errors, an upload Meta refuses or never answers, no answer to the send);
Idempotency-Key; the body limit a 16 MiB file needs."""

import base64
import json
import os
import threading
import time

import pytest

import helpers as H
from helpers import CUSTOMER, PHONE_NUMBER_ID, api_key, http_request, number_block, post
from test_reply import dns  # noqa: F401  (inside.test, loop.test, mixed.test, nowhere.test)
from test_send_outcomes import SLOW_GRAPH
from tools import cloudapi_sim as sim

PATH = "/v1/messages/send"
LOCATION = "location = %s { whatsapp_send; }" % PATH
MEDIA_LOCATIONS = """location /v1/media/ { whatsapp_media; }
        location = /_whatsapp/fetch {
            internal;
            proxy_set_header Host $whatsapp_fetch_host;
            proxy_pass $whatsapp_fetch_url;
        }
        location /v1/messaging/ { whatsapp_messaging; }"""
SEND_SECRET, SEND_LINE = api_key("bot", scopes="messaging:messages:send")
ALL_SECRET, ALL_LINE = api_key("ada", scopes="*")
READ_SECRET, READ_LINE = api_key("reader", scopes="messaging:messages:read,events:stream")
GLOBEX_SECRET, GLOBEX_LINE = api_key("globex-bot", tenant="globex", scopes="*")
GLOBEX_NUMBER, GLOBEX_PNID = "+15550783999", "106540352249999"
GLOBEX_CUSTOMER = "33687654321"
UNKNOWN_CONV = "conv_01h455vb4pex5vsknk084sn02q"
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(3000) + b"\xff\xd9"


@pytest.fixture
def send_gw(nginx, graph):
    graph.expected_token = H.ACCESS_TOKEN

    def make(extra_keys=(), http_extra="", server_extra="", location=LOCATION, acme_extra="",
             **conf):
        numbers = number_block(extra=acme_extra) + "\n    " + number_block(
            number=GLOBEX_NUMBER, phone_number_id=GLOBEX_PNID, tenant="globex")
        ng = nginx(start=False, numbers=numbers,
                   http_extra="whatsapp_api_keys @PREFIX@/api.keys;\n    " + http_extra,
                   server_extra=location + "\n        " + MEDIA_LOCATIONS + "\n        "
                   + server_extra, **conf)
        H.write_keys(ng.prefix, [SEND_LINE, ALL_LINE, READ_LINE, GLOBEX_LINE] + list(extra_keys))
        ng.start()
        return ng
    return make


@pytest.fixture
def gw(send_gw):
    return send_gw()


def inbound(gw, receiver, text="hi", from_=CUSTOMER, pnid=PHONE_NUMBER_ID, timestamp=None):
    """An inbound text from the customer; -> the conversation's conv_ id (from its event)."""
    status, body = post(gw, H.text_body(text=text, from_=from_, phone_number_id=pnid,
                                        timestamp=timestamp))
    assert status == 200, body
    return H.wait_text(receiver, text)["payload"]["conversation"]["id"]


def send(gw, body, key=SEND_SECRET, headers=None, raw=None, method="POST"):
    """(status, headers, parsed JSON or None) of one REST send."""
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    data = raw if raw is not None else json.dumps(body).encode()
    status, rh, rb = http_request(method, gw.url(PATH), data, h)
    try:
        parsed = json.loads(rb) if rb else None
    except ValueError:
        parsed = None
    return status, rh, parsed


def assert_ok(result, conv):
    status, headers, body = result
    assert status == 200, result
    assert headers["content-type"] == "application/json"
    assert set(body) == {"success", "messageId", "conversationId"}, body
    assert body["success"] is True and body["conversationId"] == conv, body
    assert H.is_typeid(body["messageId"], "tx"), body
    return body


def assert_pipes_error(result, status, code, says=None):
    got, headers, body = result
    assert got == status, result
    assert headers["content-type"] == "application/json", headers
    assert isinstance(body, dict) and body["success"] is False and body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"], body
    assert set(body) <= {"success", "error", "code", "messageId"}, body
    if says is not None:
        assert says in body["error"], body
    return body


def graph_sends(graph):
    return [r["body"] for r in graph.requests]


def b64(data):
    return base64.b64encode(data).decode()


# ---- text and media ----------------------------------------------------------------------------

def test_text_send_is_200_and_goes_to_meta_as_a_text(gw, graph, receiver):
    conv = inbound(gw, receiver)
    result = send(gw, {"conversationId": conv, "text": "On its way!"},
                  headers={"Cookie": "session=client-secret", "X-Client": "mine"})
    body = assert_ok(result, conv)
    (sent,) = graph_sends(graph)
    assert sent == {"messaging_product": "whatsapp", "recipient_type": "individual",
                    "to": "+" + CUSTOMER, "type": "text", "text": {"body": "On its way!"},
                    "biz_opaque_callback_data": body["messageId"]}
    assert graph.requests[0]["phone_number_id"] == PHONE_NUMBER_ID
    # Built from nothing: the number's token, never the client's key or headers.
    assert graph.violations == []
    assert SEND_SECRET not in json.dumps(graph.requests[0]["headers"])
    (created,) = H.wait_events(receiver, 1, type_="transactional.message.created")
    assert created["payload"]["message_id"] == body["messageId"]


def test_media_by_id_with_caption_and_a_document_with_its_file_name(gw, graph, receiver):
    conv = inbound(gw, receiver)
    assert_ok(send(gw, {"conversationId": conv, "media": "1166846181421424",
                        "mimeType": "image/jpeg", "caption": "the blue one"}), conv)
    assert_ok(send(gw, {"conversationId": conv, "media": "622684793477189",
                        "mimeType": "application/pdf", "fileName": "invoice-42.pdf",
                        "caption": "your invoice"}), conv)
    image, document = graph_sends(graph)
    assert image["type"] == "image"
    assert image["image"] == {"id": "1166846181421424", "caption": "the blue one"}
    assert document["type"] == "document"
    assert document["document"] == {"id": "622684793477189", "caption": "your invoice",
                                    "filename": "invoice-42.pdf"}
    assert graph.uploads == []  # an id is Meta's already: nothing uploaded


def test_a_media_send_is_recorded_as_the_media_message_it_is(gw, graph, receiver):
    conv = inbound(gw, receiver)
    body = assert_ok(send(gw, {"conversationId": conv, "media": "1166846181421424",
                               "mimeType": "video/mp4", "caption": "how it works"}), conv)
    status, _, got = http_request("GET", gw.url("/v1/messaging/conversations/" + conv), None,
                                  {"Authorization": "Bearer " + ALL_SECRET})
    assert status == 200, got
    (msg,) = [m for m in json.loads(got)["data"]["messages"] if m["direction"] == "outbound"]
    assert msg["id"] == body["messageId"]
    assert msg["messageType"] == "video" and msg["text"] == "how it works", msg
    assert msg["deliveryStatus"] == "accepted"


# ---- links: the SSRF guard -----------------------------------------------------------------------

PRIVATE_LINKS = ["https://127.0.0.1:8443/cat.jpg", "https://10.0.0.7/cat.jpg",
                 "https://[::1]/cat.jpg", "https://169.254.169.254/latest/meta-data.jpg"]


def test_a_link_to_a_private_address_is_refused_by_default(gw, graph, receiver):
    conv = inbound(gw, receiver)
    for link in PRIVATE_LINKS:
        assert_pipes_error(send(gw, {"conversationId": conv, "media": link}), 400,
                           "INVALID_REQUEST", says="media URL")
    body = assert_pipes_error(send(gw, {"conversationId": conv, "media": PRIVATE_LINKS[0]}),
                              400, "INVALID_REQUEST")
    assert "not public" in body["error"], body
    # A name that is local by its suffix, and one without a resolver to check it.
    assert_pipes_error(send(gw, {"conversationId": conv, "media": "https://nas.local/a.jpg"}),
                       400, "INVALID_REQUEST", says="media URL")
    assert_pipes_error(send(gw, {"conversationId": conv,
                                 "media": "https://cdn.example.com/a.jpg"}),
                       400, "INVALID_REQUEST", says="resolver")
    assert graph.requests == []


def test_a_link_allowed_by_whatsapp_callback_allow_goes_to_meta_as_sent(send_gw, graph,
                                                                         receiver):
    gw = send_gw(http_extra="whatsapp_callback_allow 127.0.0.1;")
    conv = inbound(gw, receiver)
    link = "https://127.0.0.1:8443/media/cat.JPG?v=2&size=large"
    assert_ok(send(gw, {"conversationId": conv, "media": link, "caption": "a cat"}), conv)
    # Still refused: what the list does not name.
    assert_pipes_error(send(gw, {"conversationId": conv, "media": "https://10.0.0.7/a.jpg"}),
                       400, "INVALID_REQUEST")
    (sent,) = graph_sends(graph)
    assert sent["type"] == "image"  # by the path's extension
    assert sent["image"] == {"link": link, "caption": "a cat"}
    assert graph.uploads == []


def test_a_link_naming_a_host_is_judged_by_every_address_it_resolves_to(send_gw, graph,
                                                                         receiver, dns):
    resolver = "resolver 127.0.0.1:%d ipv6=on valid=1s; resolver_timeout 3s;" % dns.port
    gw = send_gw(location="location = %s { whatsapp_send; %s }" % (PATH, resolver),
                 http_extra="whatsapp_callback_allow 127.0.0.1;")
    conv = inbound(gw, receiver)
    for host in ("inside.test", "mixed.test", "unknown.test", "nowhere.test"):
        assert_pipes_error(send(gw, {"conversationId": conv,
                                     "media": "https://%s/report.pdf" % host}),
                           400, "INVALID_REQUEST", says="media URL")
    assert graph.requests == []
    # Every address allowed: Meta gets the link with its name, not the address checked
    # (Meta fetches it, not the gateway).
    link = "https://loop.test/files/report.pdf"
    assert_ok(send(gw, {"conversationId": conv, "media": link, "fileName": "Q3.pdf"}), conv)
    (sent,) = graph_sends(graph)
    assert sent["document"] == {"link": link, "filename": "Q3.pdf"}
    assert ("loop.test", 1) in dns.queries


# ---- base64: uploaded first ----------------------------------------------------------------------

def test_base64_media_is_uploaded_to_the_number_then_sent_by_its_id(send_gw, graph, receiver):
    # The allow list lets the download fetch from the simulator's loopback URL.
    gw = send_gw(http_extra="whatsapp_callback_allow 127.0.0.1;")
    conv = inbound(gw, receiver)
    body = assert_ok(send(gw, {"conversationId": conv, "media": b64(JPEG),
                               "mimeType": "image/jpeg", "caption": "from the gateway"}), conv)
    (up,) = graph.uploads
    assert up["data"] == JPEG
    assert up["phone_number_id"] == PHONE_NUMBER_ID
    assert up["fields"]["messaging_product"] == "whatsapp"
    assert up["fields"]["type"] == "image/jpeg" and up["content_type"] == "image/jpeg"
    (sent,) = graph_sends(graph)
    assert sent["type"] == "image"
    assert sent["image"] == {"id": up["id"], "caption": "from the gateway"}
    assert sent["biz_opaque_callback_data"] == body["messageId"]
    assert graph.violations == []  # the number's token on both calls, nothing of the client's
    # What the tenant sent, it may download; another tenant may not.
    status, headers, data = http_request("GET", gw.url("/v1/media/" + up["id"]), None,
                                         {"Authorization": "Bearer " + ALL_SECRET})
    assert status == 200 and data == JPEG, (status, data[:200])
    assert headers["content-type"] == "image/jpeg"
    status, _, _ = http_request("GET", gw.url("/v1/media/" + up["id"]), None,
                                {"Authorization": "Bearer " + GLOBEX_SECRET})
    assert status == 404


def test_a_data_url_document_keeps_its_file_name_at_meta_and_in_the_message(gw, graph,
                                                                           receiver):
    conv = inbound(gw, receiver)
    pdf = b"%PDF-1.7\n" + os.urandom(2000)
    assert_ok(send(gw, {"conversationId": conv,
                        "media": "data:application/pdf;base64," + b64(pdf),
                        "fileName": "invoice-42.pdf", "caption": "your invoice"}), conv)
    (up,) = graph.uploads
    assert up["data"] == pdf and up["filename"] == "invoice-42.pdf"
    assert up["fields"]["type"] == "application/pdf"
    (sent,) = graph_sends(graph)
    assert sent["document"] == {"id": up["id"], "caption": "your invoice",
                                "filename": "invoice-42.pdf"}


def test_a_file_over_nginxs_default_body_limit_is_sent(gw, graph, receiver):
    conv = inbound(gw, receiver)
    big = os.urandom(3 * 1024 * 1024)  # 4 MiB of base64: over client_max_body_size's 1m
    assert_ok(send(gw, {"conversationId": conv, "media": b64(big), "mimeType": "video/mp4"}),
              conv)
    (up,) = graph.uploads
    assert up["data"] == big
    assert graph_sends(graph)[0]["video"] == {"id": up["id"]}


def test_an_upload_meta_refuses_is_400_with_its_reason_and_nothing_is_sent(gw, graph,
                                                                         receiver):
    conv = inbound(gw, receiver)
    graph.fail(http_status=400, code=131053, endpoint="media_upload")
    body = assert_pipes_error(send(gw, {"conversationId": conv, "media": b64(JPEG),
                                        "mimeType": "image/jpeg"}), 400, "INVALID_REQUEST")
    assert "131053" in body["error"] and H.ACCESS_TOKEN not in body["error"], body
    assert graph.requests == []


def test_an_upload_meta_fails_is_502_and_nothing_is_sent(gw, graph, receiver):
    conv = inbound(gw, receiver)
    graph.fail(http_status=500, code=131000, endpoint="media_upload")
    assert_pipes_error(send(gw, {"conversationId": conv, "media": b64(JPEG),
                                 "mimeType": "image/jpeg"}), 502, "UPSTREAM_ERROR")
    assert graph.requests == []
    # A retry can succeed.
    assert_ok(send(gw, {"conversationId": conv, "media": b64(JPEG), "mimeType": "image/jpeg"}),
              conv)
    assert len(graph.requests) == 1


def test_an_upload_without_answer_is_502_and_no_message_is_sent(send_gw, graph, receiver):
    gw = send_gw(server_extra=SLOW_GRAPH["server_extra"] % graph.port,
                 http_extra=SLOW_GRAPH["http_extra"])
    conv = inbound(gw, receiver)
    graph.hang_next(3, endpoint="media_upload")
    assert_pipes_error(send(gw, {"conversationId": conv, "media": b64(JPEG),
                                 "mimeType": "image/jpeg"}), 502, "UPSTREAM_ERROR")
    assert graph.requests == []


def test_the_store_checks_come_before_the_upload(gw, graph, receiver):
    conv = inbound(gw, receiver, timestamp=int(time.time()) - 3 * 86400)
    assert_pipes_error(send(gw, {"conversationId": conv, "media": b64(JPEG),
                                 "mimeType": "image/jpeg"}), 403, "SERVICE_WINDOW_EXPIRED")
    assert_pipes_error(send(gw, {"conversationId": UNKNOWN_CONV, "media": b64(JPEG),
                                 "mimeType": "image/jpeg"}), 404, "CONVERSATION_NOT_FOUND")
    assert graph.media_requests == [] and graph.requests == []


# ---- refusals ------------------------------------------------------------------------------------

def test_keys_no_key_401_and_a_key_without_the_send_scope_403(gw, graph, receiver):
    conv = inbound(gw, receiver)
    body = {"conversationId": conv, "text": "hi"}
    assert_pipes_error(send(gw, body, key=None), 401, "UNAUTHORIZED")
    assert_pipes_error(send(gw, body, key="wa_not_a_key"), 401, "UNAUTHORIZED")
    # Pipes' REST send takes the key as a Bearer header only.
    st, _, _ = http_request("POST", gw.url(PATH + "?apiKey=" + SEND_SECRET),
                            json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert st == 401
    assert_pipes_error(send(gw, body, key=READ_SECRET), 403, "FORBIDDEN")
    assert graph.requests == []


def test_another_tenants_conversation_is_404_exactly_like_an_unknown_one(gw, graph, receiver):
    inbound(gw, receiver)
    theirs = inbound(gw, receiver, text="theirs", from_=GLOBEX_CUSTOMER, pnid=GLOBEX_PNID)
    answers = []
    for conv in (theirs, UNKNOWN_CONV, "im_01h455vb4pex5vsknk084sn02q", "not-an-id"):
        status, _, body = send(gw, {"conversationId": conv, "text": "hi"})
        answers.append((status, body))
    assert answers[0] == (404, {"success": False, "error": "conversation not found",
                                "code": "CONVERSATION_NOT_FOUND"}), answers
    assert all(a == answers[0] for a in answers), answers
    assert graph.requests == []
    # Their own key sends there.
    assert_ok(send(gw, {"conversationId": theirs, "text": "hi"}, key=GLOBEX_SECRET), theirs)


def test_a_conversation_key_sends_only_to_its_conversation(send_gw, graph, receiver):
    gw = send_gw()
    conv = inbound(gw, receiver)
    other = inbound(gw, receiver, text="other", from_="33600000009")
    secret, line = api_key("one", scopes="messaging:messages:send", conversation=conv)
    H.write_keys(gw.prefix, [SEND_LINE, ALL_LINE, READ_LINE, GLOBEX_LINE, line])
    gw.reload()
    assert_ok(send(gw, {"conversationId": conv, "text": "hi"}, key=secret), conv)
    # As in the inbox: the key's tenant's other conversations do not exist for it.
    result = send(gw, {"conversationId": other, "text": "hi"}, key=secret)
    assert_pipes_error(result, 404, "CONVERSATION_NOT_FOUND")
    assert result[2] == send(gw, {"conversationId": UNKNOWN_CONV, "text": "hi"}, key=secret)[2]
    assert len(graph.requests) == 1


@pytest.mark.parametrize("body,says", [
    (b"{not json", None),
    (b"[]", None),
    ({"text": "hi"}, "conversationId"),
    ({"conversationId": "@CONV@"}, None),
    ({"conversationId": "@CONV@", "text": "hi", "media": "1234"}, None),
    ({"conversationId": "@CONV@", "text": "   "}, None),
    ({"conversationId": "@CONV@", "text": "x" * 4097}, None),
    ({"conversationId": "@CONV@", "text": "hi", "extra": 1}, None),
    ({"conversationId": "@CONV@", "text": 5}, None),
    ({"conversationId": "@CONV@", "text": "hi", "caption": "c"}, None),
    ({"conversationId": "@CONV@", "media": "1234", "caption": "x" * 1025}, "caption"),
    ({"conversationId": "@CONV@", "media": b64(b"bytes without a type")}, "mimeType"),
    ({"conversationId": "@CONV@", "media": "ftp://cdn.example.com/a.jpg"}, None),
    ({"conversationId": "@CONV@", "media": "http://cdn.example.com/a.jpg"}, None),
    ({"conversationId": "@CONV@", "media": "1234", "mimeType": "audio/ogg", "caption": "no"},
     "caption"),
    ({"conversationId": "@CONV@", "media": "1234", "mimeType": "not a type"}, "mimeType"),
], ids=lambda v: None)
def test_a_bad_body_is_400_invalid_request_and_sends_nothing(gw, graph, receiver, body, says):
    conv = inbound(gw, receiver)
    if isinstance(body, dict):
        raw = json.dumps({k: (conv if v == "@CONV@" else v) for k, v in body.items()}).encode()
    else:
        raw = body
    assert_pipes_error(send(gw, None, raw=raw), 400, "INVALID_REQUEST", says=says)
    assert graph.requests == [] and graph.uploads == []


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(send_gw, graph):
    # An operator's own, larger client_max_body_size: the module's limit still holds.
    gw = send_gw(location="location = %s { whatsapp_send; client_max_body_size 64m; }" % PATH)
    st, headers, body = http_request("POST", gw.url(PATH), b"x" * (23 * 1024 * 1024),
                                     {"Authorization": "Bearer " + SEND_SECRET,
                                      "Content-Type": "application/json"})
    assert st == 400, (st, body[:200])
    assert json.loads(body)["code"] == "INVALID_REQUEST"


def test_other_methods_are_405_in_pipes_json(gw):
    status, headers, body = send(gw, None, raw=b"", method="GET")
    assert_pipes_error((status, headers, body), 405, "METHOD_NOT_ALLOWED")
    assert headers["allow"] == "POST"


# ---- §6.3 outcomes and the number's limits -------------------------------------------------------

def test_window_expired_is_403_and_nothing_is_sent(gw, graph, receiver):
    conv = inbound(gw, receiver, timestamp=int(time.time()) - 3 * 86400)
    body = assert_pipes_error(send(gw, {"conversationId": conv, "text": "hi"}), 403,
                              "SERVICE_WINDOW_EXPIRED")
    assert body["error"].startswith("Service window expired")
    assert graph.requests == []


def test_a_short_window_runs_out(send_gw, graph, receiver):
    gw = send_gw(window="2s")
    conv = inbound(gw, receiver)
    assert_ok(send(gw, {"conversationId": conv, "text": "in time"}), conv)
    time.sleep(2.2)
    assert_pipes_error(send(gw, {"conversationId": conv, "text": "too late"}), 403,
                       "SERVICE_WINDOW_EXPIRED")
    assert len(graph.requests) == 1


@pytest.mark.parametrize("failure,status,code", [
    ({"http_status": 500, "code": 131000}, 502, "UPSTREAM_ERROR"),
    ({"http_status": 401, "code": 190}, 502, "UPSTREAM_ERROR"),
    ({"http_status": 400, "code": 131047}, 403, "SERVICE_WINDOW_EXPIRED"),
    ({"http_status": 400, "code": 131026}, 400, "INVALID_REQUEST"),
    ({"http_status": 429, "code": 130429}, 429, "RATE_LIMITED"),
])
def test_graph_errors_in_pipes_codes(gw, graph, receiver, failure, status, code):
    conv = inbound(gw, receiver)
    graph.fail(**failure)
    result = send(gw, {"conversationId": conv, "text": "hi"})
    assert_pipes_error(result, status, code)
    assert "x-should-retry" not in result[1]  # Prelude's header, not Pipes'
    if code == "RATE_LIMITED":
        assert int(result[1]["retry-after"]) >= 1
    assert H.ACCESS_TOKEN not in json.dumps(result[2])


def test_no_answer_from_graph_is_504_naming_the_message(send_gw, graph, receiver):
    gw = send_gw(server_extra=SLOW_GRAPH["server_extra"] % graph.port,
                 http_extra=SLOW_GRAPH["http_extra"])
    conv = inbound(gw, receiver)
    graph.hang_next(3)
    body = assert_pipes_error(send(gw, {"conversationId": conv, "text": "hi"}), 504,
                              "UPSTREAM_TIMEOUT")
    assert H.is_typeid(body["messageId"], "tx") and body["messageId"] in body["error"]
    assert graph.wait_for(1)[0]["body"]["biz_opaque_callback_data"] == body["messageId"]


def test_the_numbers_rate_is_429_with_retry_after(send_gw, graph, receiver):
    gw = send_gw(acme_extra="rate 1r/s;")
    conv = inbound(gw, receiver)
    assert_ok(send(gw, {"conversationId": conv, "text": "one"}), conv)
    result = send(gw, {"conversationId": conv, "text": "two"})
    assert_pipes_error(result, 429, "RATE_LIMITED")
    assert int(result[1]["retry-after"]) >= 1
    assert len(graph.requests) == 1


def test_used_up_credits_are_402(send_gw, graph, receiver):
    gw = send_gw(acme_extra="credits 1;")
    conv = inbound(gw, receiver)
    assert_ok(send(gw, {"conversationId": conv, "text": "one"}), conv)
    assert_pipes_error(send(gw, {"conversationId": conv, "media": b64(JPEG),
                                 "mimeType": "image/jpeg"}), 402, "INSUFFICIENT_BALANCE")
    assert len(graph.requests) == 1 and graph.uploads == []


# ---- Idempotency-Key ----------------------------------------------------------------------------

def test_idempotency_key_replays_the_first_answer_and_sends_once(gw, graph, receiver):
    conv = inbound(gw, receiver)
    body = {"conversationId": conv, "media": b64(JPEG), "mimeType": "image/jpeg"}
    first = send(gw, body, headers={"Idempotency-Key": "order-42"})
    assert_ok(first, conv)
    again = send(gw, body, headers={"Idempotency-Key": "order-42"})
    assert again[0] == 200 and again[2] == first[2]
    assert again[1]["idempotent-replayed"] == "true"
    assert len(graph.requests) == 1 and len(graph.uploads) == 1
    # The same key for another body.
    assert_pipes_error(send(gw, {"conversationId": conv, "text": "other"},
                            headers={"Idempotency-Key": "order-42"}), 422,
                       "IDEMPOTENCY_KEY_REUSED")
    assert_pipes_error(send(gw, {"conversationId": conv, "text": "x"},
                            headers={"Idempotency-Key": "has space"}), 400, "INVALID_REQUEST")
    assert len(graph.requests) == 1


def test_idempotency_key_replays_an_error_too(gw, graph, receiver):
    conv = inbound(gw, receiver)
    graph.fail(http_status=500, code=131000)
    body = {"conversationId": conv, "text": "hi"}
    first = send(gw, body, headers={"Idempotency-Key": "k-err"})
    assert_pipes_error(first, 502, "UPSTREAM_ERROR")
    again = send(gw, body, headers={"Idempotency-Key": "k-err"})
    assert again[0] == 502 and again[2] == first[2]
    assert again[1]["idempotent-replayed"] == "true"
    assert "x-should-retry" not in again[1]  # Prelude's header, not Pipes'
    assert len(graph.requests) == 1


def test_idempotency_key_in_flight_is_409(gw, graph, receiver):
    conv = inbound(gw, receiver)
    graph.hang_next(1.0)
    body = {"conversationId": conv, "text": "hi"}
    results = {}
    t = threading.Thread(target=lambda: results.update(
        first=send(gw, body, headers={"Idempotency-Key": "inflight"})))
    t.start()
    graph.wait_for(1)
    second = send(gw, body, headers={"Idempotency-Key": "inflight"})
    t.join()
    assert_ok(results["first"], conv)
    assert_pipes_error(second, 409, "IDEMPOTENCY_KEY_IN_USE")
    assert len(graph.requests) == 1


# ---- configuration --------------------------------------------------------------------------------

def test_nginx_t_requires_the_graph_location_in_the_send_locations_server(nginx_t):
    rc, err = nginx_t(nginx_t.render(http_extra="whatsapp_graph /_nowhere;",
                                     server_extra=LOCATION))
    assert rc != 0, err
    assert PATH in err and "whatsapp_send" in err and "/_nowhere/" in err, err
    rc, err = nginx_t(nginx_t.render(server_extra="location = /x { whatsapp_send on; }"))
    assert rc != 0 and "whatsapp_send" in err, err
