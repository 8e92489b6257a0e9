"""A raw RFC 6455 client for the e2e tests: the handshake by hand, masked frames out, frames in,
so that tests can send what a library would refuse to (unmasked frames, bad UTF-8, huge
declared lengths) and stop reading on purpose. Real-client tests use `websockets` instead."""

import base64
import json
import os
import socket
import struct
import time

TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0


class HandshakeRefused(Exception):
    def __init__(self, status, headers, body):
        super().__init__("handshake refused: %d %s" % (status, body[:200]))
        self.status, self.headers, self.body = status, headers, body


def _read_http_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One client frame; length overrides the declared payload length."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawSocket:
    def __init__(self, port, path, headers=None, rcvbuf=None, timeout=10.0, auto_pong=True):
        self.auto_pong = auto_pong
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        h = {"Host": "127.0.0.1", "Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}
        h.update(headers or {})
        req = "GET %s HTTP/1.1\r\n" % path + "".join(
            "%s: %s\r\n" % (k, v) for k, v in h.items() if v is not None) + "\r\n"
        self.sock.sendall(req.encode())
        self.status, self.headers, self.buf = _read_http_head(self.sock)
        if self.status != 101:
            body = self.buf
            try:
                while True:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                    if b"}" in body:
                        break
            except socket.timeout:
                pass
            self.sock.close()
            raise HandshakeRefused(self.status, self.headers, body.decode("utf-8", "replace"))
        self.close_code = None

    def send(self, data):
        self.sock.sendall(data)

    def send_json(self, obj):
        self.send(frame(TEXT, json.dumps(obj)))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def recv_frame(self, timeout=10.0):
        """(opcode, payload bytes); raises EOFError at the end, socket.timeout on silence."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "server frames are never masked"
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n, deadline)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        op = b0 & 0x0F
        if op == PING and self.auto_pong:
            self.send(frame(PONG, payload))  # as every client library does
        if op == CLOSE:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        return op, payload

    def recv_json(self, timeout=10.0, skip_pings=True):
        while True:
            op, payload = self.recv_frame(timeout)
            if op == PING and skip_pings:
                continue
            if op == CLOSE:
                raise EOFError("closed with %s" % self.close_code)
            assert op == TEXT, op
            return json.loads(payload)

    def wait_close(self, timeout=10.0):
        """Reads until the server's close frame (answered) or EOF; returns its code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                op, payload = self.recv_frame(deadline - time.monotonic())
                if op == CLOSE:
                    try:
                        self.send(frame(CLOSE, payload[:2]))
                    except OSError:
                        pass
                    return self.close_code
        except EOFError:
            return self.close_code
        raise AssertionError("no close within %.1f s" % timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
