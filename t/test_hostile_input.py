"""Hostile input in signed webhooks: what it may not do to the error log (log injection)."""

import json
import re

from helpers import post, text_body

FORGED = "2026/12/01 00:00:00 [alert] 1#1: forged"
# A line nginx itself would write: timestamp, then the level.
LOG_LINE_START = re.compile(rb"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\]")


def log_bytes(ng):
    with open(ng.error_log_path, "rb") as f:
        return f.read()


def forged_lines(log):
    """Lines that start like an nginx [alert] and carry the forged text."""
    return [line for line in log.split(b"\n")
            if (m := LOG_LINE_START.match(line)) and m.group(1) == b"alert" and b"forged" in line]


def test_newline_in_unknown_phone_number_id_cannot_forge_a_log_line(nginx):
    # The warn line quotes the id escaped; it contains "[alert]" only inside the quotes.
    ng = nginx(allow_log=[r'unknown phone_number_id "999\\x0a2026/12/01 '])
    status, text = post(ng, text_body(phone_number_id="999\n" + FORGED))
    assert status == 200, text
    assert json.loads(text)["unrouted"] == 1
    log = log_bytes(ng)
    assert forged_lines(log) == [], log[-2000:]
    assert b'unknown phone_number_id "999\\x0a' + FORGED.encode() + b'"' in log, log[-2000:]


def test_nul_in_unknown_phone_number_id_does_not_cut_the_log_line(gw):
    status, text = post(gw, text_body(phone_number_id="999\u0000tail"))
    assert status == 200, text
    assert json.loads(text)["unrouted"] == 1
    log = log_bytes(gw)
    assert b"\0" not in log
    assert b'unknown phone_number_id "999\\x00tail" acknowledged' in log, log[-2000:]


def test_quote_and_backslash_in_unknown_phone_number_id_are_escaped(gw):
    status, _ = post(gw, text_body(phone_number_id='9" injected \\ x\u00e9'))
    assert status == 200
    assert b'unknown phone_number_id "9\\" injected \\\\ x\\xc3\\xa9" acknowledged' \
        in log_bytes(gw)


def test_long_unknown_phone_number_id_is_cut_in_the_log(gw):
    status, _ = post(gw, text_body(phone_number_id="7" * 5000))
    assert status == 200
    log = log_bytes(gw)
    assert b'"' + b"7" * 256 + b'..." acknowledged' in log, log[-2000:]
    assert b"7" * 257 not in log

