"""§10.3: every module log line about a request ends with its request id (a client's
$request_id; the evt_ id of a delivery), and the error log at info holds no message text,
no API key, no access token and no app secret after a whole conversation."""

import re
import time

import helpers as H
from helpers import post
from test_reply import READ_SECRET, SEND_SECRET, gateway, gw, inbound, reply_body  # noqa: F401
from tools import cloudapi_sim as sim

CUSTOMER_TEXT = "my secret order is 0047-SECRET-TEXT"
REPLY_TEXT = "your parcel REPLY-TEXT-9911 ships today"


def test_a_whole_conversation_leaves_no_secret_in_the_log_and_tags_every_line(gw, receiver,
                                                                              graph):
    ev = inbound(gw, receiver, CUSTOMER_TEXT)
    status, _, body = H.reply(gw, reply_body(ev, text=REPLY_TEXT), key=SEND_SECRET)
    assert status == 200, body
    wamid = graph.requests[-1]["wamid"]
    # A status for it, a refused key, a bad signature, a failed delivery: lines of each kind.
    assert post(gw, sim.body_bytes(sim.webhook(H.PHONE_NUMBER_ID, H.DISPLAY_PHONE, [],
                                               statuses=[sim.status(wamid, H.CUSTOMER)])))[0] == 200
    assert H.reply(gw, reply_body(ev), key=READ_SECRET)[0] == 403
    assert H.reply(gw, reply_body(ev), key="wa_not_a_key_" + "x" * 20)[0] == 401
    assert post(gw, H.text_body(text=CUSTOMER_TEXT), secret="wrong")[0] == 401
    receiver.fail_next(500, 1)
    inbound(gw, receiver, "another " + CUSTOMER_TEXT)  # delivered on the retry
    deadline = time.monotonic() + 10
    while "failed: status 500" not in gw.error_log() and time.monotonic() < deadline:
        time.sleep(0.05)

    log = gw.error_log()
    for secret in ("SECRET-TEXT", "REPLY-TEXT", SEND_SECRET, READ_SECRET, "wa_not_a_key_",
                   H.ACCESS_TOKEN, H.APP_SECRET):
        assert secret not in log, "%r is in the error log" % secret
    ours = [line for line in log.splitlines() if "whatsapp" in line and ", client: " in line]
    assert ours, log
    untagged = [line for line in ours if not re.search(r", request_id: [0-9a-z_]+", line)]
    assert untagged == [], untagged
    assert any(re.search(r"X-Hub-Signature-256.*request_id: [0-9a-f]{32}", line)
               for line in ours), ours
    # The module's own work (a delivery) has no client: its lines end with the event's id.
    assert re.search(r"failed: status 500.*request_id: evt_[0-9a-z]{26}$", log, re.M), log
