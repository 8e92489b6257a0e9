#!/usr/bin/python3
"""Writes N signed single-message webhooks with distinct wamids, one per line:
"<X-Hub-Signature-256 value> <body>" (bodies are compact JSON: no newline).

usage: gen.py N APP_SECRET OUT [FIRST [CUSTOMERS]]: the wamids are numbered from
FIRST (default 0), so files made with disjoint ranges never share a message;
message i comes from customer i % CUSTOMERS (default 1000)."""
import hashlib
import hmac
import json
import sys

count, secret, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
customers = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
with open(out, "w") as f:
    for i in range(first, first + count):
        body = json.dumps({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881",
                             "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Bench Customer"}, "wa_id": f"3361{i % customers:07d}"}],
                "messages": [{"from": f"3361{i % customers:07d}", "id": f"wamid.BENCH{i:012d}",
                              "timestamp": str(1763700000 + i), "type": "text",
                              "text": {"body": "Hello, does it come in another colour?"}}],
            }}]}],
        }, separators=(",", ":"))
        sig = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        f.write(f"sha256={sig} {body}\n")
