#!/usr/bin/python3
"""Records event deliveries (the tenant's callback URL) for ngx_whatsapp tests and demos.

Library: CallbackReceiver(port=0).start() records every POST as a Delivery (path, headers, raw
body, parsed JSON, the status it was answered with). wait_for(n) / wait_until(pred) synchronise
on a Condition. fail_next(status, count) and hang_next(seconds, count) script failures.

Times are time.time(). A hanging request watches its socket: when the gateway closes it first,
Delivery.peer_closed_at says when. max_in_progress is the most requests open at once.

CLI: callback_receiver.py [--host 127.0.0.1] --port P   prints each event as it arrives.
"""

import argparse
import json
import select
import socket
import sys
import threading
import time

try:
    from tools.http_service import HttpService, QuietHandler
except ImportError:  # run as a script: tools/ is the first entry of sys.path
    from http_service import HttpService, QuietHandler


class Delivery:
    __slots__ = ("path", "method", "headers", "body", "json", "status", "time", "arrived",
                 "peer_closed_at")

    def __init__(self, path, method, headers, body, status, arrived=None, peer_closed_at=None):
        self.path = path
        self.method = method
        self.headers = headers  # dict, lower-case names
        self.body = body        # raw bytes
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None
        self.status = status    # what we answered
        self.time = time.time()  # when it was recorded (after any hang)
        self.arrived = arrived if arrived is not None else self.time
        self.peer_closed_at = peer_closed_at  # the gateway closed it while we hung

    @property
    def delivered(self):
        return 200 <= self.status < 300

    @property
    def event_id(self):
        return self.json.get("id") if isinstance(self.json, dict) else None

    @property
    def type(self):
        return self.json.get("type") if isinstance(self.json, dict) else None

    @property
    def payload(self):
        return self.json.get("payload") if isinstance(self.json, dict) else None

    def __repr__(self):
        return "Delivery(%s %s -> %d %s)" % (self.method, self.path, self.status,
                                              self.body[:200])


class CallbackReceiver(HttpService):
    def __init__(self, port=0, host="127.0.0.1", on_delivery=None):
        self.host = host
        self._want_port = port
        self.on_delivery = on_delivery
        self._cond = threading.Condition()
        self._all = []       # every request, in arrival order
        self._script = []    # [kind, value, remaining]; kind "fail" or "hang"
        self._stopping = threading.Event()
        self._in_progress = 0
        self.max_in_progress = 0
        self.timeout_scale = 1.0  # slow runs (sanitizers) stretch every wait

    # -- properties ---------------------------------------------------------------------------
    @property
    def requests(self):
        """Every request received (including failed attempts)."""
        with self._cond:
            return list(self._all)

    @property
    def deliveries(self):
        """Requests answered 2xx."""
        with self._cond:
            return [d for d in self._all if d.delivered]

    @property
    def events(self):
        """Parsed JSON of the requests answered 2xx, in arrival order."""
        return [d.json for d in self.deliveries]

    # -- scripting ----------------------------------------------------------------------------
    def fail_next(self, status=503, count=1):
        with self._cond:
            self._script.append(["fail", int(status), int(count)])

    def hang_next(self, seconds, count=1):
        with self._cond:
            self._script.append(["hang", float(seconds), int(count)])

    def clear(self):
        with self._cond:
            self._all.clear()
            self._script.clear()
            self.max_in_progress = 0

    def _enter(self, delta):
        with self._cond:
            self._in_progress += delta
            self.max_in_progress = max(self.max_in_progress, self._in_progress)

    # -- synchronisation ----------------------------------------------------------------------
    def wait_until(self, predicate, timeout=10.0, what=None):
        """Wait until predicate(self) is true; raises AssertionError on timeout."""
        timeout *= self.timeout_scale
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate(self):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "CallbackReceiver: timed out after %.1fs waiting for %s; got %d requests "
                        "(%d delivered): %r" % (timeout, what or "predicate", len(self._all),
                                                sum(1 for d in self._all if d.delivered),
                                                [d.json for d in self._all][-10:]))
                self._cond.wait(min(left, 0.5))

    def wait_for(self, n, timeout=10.0, attempts=False):
        """Wait until at least n deliveries (2xx; any request when attempts=True) were seen.
        Returns the list of Delivery objects."""
        if attempts:
            self.wait_until(lambda r: len(r._all) >= n, timeout, "%d requests" % n)
            return self.requests
        self.wait_until(lambda r: sum(1 for d in r._all if d.delivered) >= n, timeout,
                        "%d deliveries" % n)
        return self.deliveries

    # -- lifecycle ----------------------------------------------------------------------------
    def _next_action(self):
        with self._cond:
            if not self._script:
                return None
            act = self._script[0]
            act[2] -= 1
            if act[2] <= 0:
                self._script.pop(0)
            return act[0], act[1]

    def _record(self, d):
        with self._cond:
            self._all.append(d)
            self._cond.notify_all()
        if self.on_delivery:
            try:
                self.on_delivery(d)
            except Exception as e:  # printing must never break the receiver
                print("on_delivery: %r" % e, file=sys.stderr)

    def start(self):
        rcv = self

        class Handler(QuietHandler):
            def _read_body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        line = self.rfile.readline()
                        size = int(line.split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _hang(self, seconds):
                """Waits, watching for the peer closing the connection; returns when it did
                (time.time()), or None."""
                deadline = time.monotonic() + seconds
                sock = self.connection
                while not rcv._stopping.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    readable, _, _ = select.select([sock], [], [], min(left, 0.05))
                    if readable:
                        try:
                            if sock.recv(1, socket.MSG_PEEK) == b"":
                                return time.time()
                        except OSError:
                            return time.time()
                        rcv._stopping.wait(min(left, 0.05))  # pipelined bytes: keep waiting
                return None

            def _handle(self):
                arrived = time.time()
                rcv._enter(1)
                self._open = True
                try:
                    self._answer(arrived)
                finally:
                    self._leave()

            def _leave(self):
                # before the answer is written: the gateway may start its next request as
                # soon as it has read it
                if self._open:
                    self._open = False
                    rcv._enter(-1)

            def _answer(self, arrived):
                body = self._read_body()
                action = rcv._next_action()
                status = 200
                closed_at = None
                if action is not None:
                    kind, value = action
                    if kind == "fail":
                        status = value
                    elif kind == "hang":
                        closed_at = self._hang(value)
                headers = {k.lower(): v for k, v in self.headers.items()}
                d = Delivery(self.path, self.command, headers, body, status, arrived, closed_at)
                rcv._record(d)
                out = b'{"ok":true}' if status < 300 else b'{"error":"scripted failure"}'
                self._leave()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = _handle
            do_PUT = _handle

        return self._serve(Handler)

    def stop(self):
        self._stopping.set()  # hanging requests end now
        super().stop()


def _summary(d):
    j = d.json
    if not isinstance(j, dict):
        return "%s %s (%d bytes, not JSON)" % (d.method, d.path, len(d.body))
    p = j.get("payload") or {}
    parts = ["%s %s" % (j.get("type"), j.get("id"))]
    for k in ("message_id", "status", "from", "to"):
        if k in p:
            parts.append("%s=%s" % (k, p[k]))
    c = p.get("content") or {}
    if c:
        parts.append("content.type=%s" % c.get("type"))
        if c.get("text") is not None:
            t = c["text"]
            parts.append("text=%r" % (t if len(t) <= 80 else t[:77] + "..."))
    conv = p.get("conversation") or {}
    if conv.get("window_expires_at"):
        parts.append("window_expires_at=%s" % conv["window_expires_at"])
    return "  ".join(parts)


def main(argv=None):
    p = argparse.ArgumentParser(description="print event deliveries as they arrive")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8082)
    p.add_argument("--raw", action="store_true", help="also print the raw body")
    a = p.parse_args(argv)

    def show(d):
        print("%s %s" % (time.strftime("%H:%M:%S"), _summary(d)), flush=True)
        if a.raw:
            print("  " + d.body.decode("utf-8", "replace"), flush=True)

    r = CallbackReceiver(port=a.port, host=a.host, on_delivery=show).start()
    print("callback receiver on http://%s:%d" % (a.host, r.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
