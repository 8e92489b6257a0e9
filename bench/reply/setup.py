#!/usr/bin/python3
"""Opens N conversations through the webhook and writes one reply per line for
bench/post_lines.lua: "<api key> <JSON body>", replying to each customer's message.

usage: setup.py WEBHOOK_URL APP_SECRET API_KEY N OUT RECEIVER_PORT
The number's callback must point at RECEIVER_PORT while this runs: the im_ ids
come from the inbound.message.received events."""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tools import cloudapi_sim as sim  # noqa: E402
from tools.callback_receiver import CallbackReceiver  # noqa: E402

url, secret, key, n, out, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
    sys.argv[5], int(sys.argv[6])
receiver = CallbackReceiver(port=port).start()
now = int(time.time())
for i in range(n):
    customer = "3361%07d" % i
    msg = sim.text_message(sim.new_wamid(), customer, "bench %d" % i, timestamp=now)
    status, text = sim.post_webhook(url, secret, sim.webhook("106540352242922", "15550783881",
                                                             [msg]))
    assert status == 200, text
receiver.wait_until(lambda r: len(r.events) >= n, timeout=120, what="%d events" % n)
with open(out, "w") as f:
    for ev in receiver.events:
        p = ev["payload"]
        body = {"to": p["from"], "text": "Yes, it comes in blue too.",
                "reply_to": p["message_id"]}
        f.write("%s %s\n" % (key, json.dumps(body, separators=(",", ":"))))
receiver.stop()
print("opened %d conversations" % n, file=sys.stderr)
