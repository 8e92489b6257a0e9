#!/usr/bin/env python3
"""A tiny authoritative DNS server on loopback UDP, for tests of hostname checks.

DnsStub({"good.test": ["127.0.0.1"], "evil.test": ["10.0.0.1", "::1"]}).start() answers A and
AAAA queries from that table (any case), NOERROR with no answers for a known name without
addresses of the asked family, NXDOMAIN for unknown names. Nothing else of DNS is implemented."""

import ipaddress
import socket
import struct
import threading


class DnsStub:
    def __init__(self, records, host="127.0.0.1", port=0, ttl=1):
        self.records = {k.lower().rstrip("."): list(v) for k, v in records.items()}
        self.ttl = ttl
        self.queries = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._thread = None
        self._stop = False

    @property
    def port(self):
        return self._sock.getsockname()[1]

    def start(self):
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, name="DnsStub", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        if self._thread:
            self._thread.join(2)
        self._sock.close()

    def _serve(self):
        while not self._stop:
            try:
                data, peer = self._sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._answer(data)
            if reply:
                self._sock.sendto(reply, peer)

    def _answer(self, data):
        if len(data) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", data[:6])
        if qdcount != 1:
            return None
        labels, i = [], 12
        while i < len(data) and data[i]:
            n = data[i]
            labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        question_end = i + 5
        if question_end > len(data):
            return None
        qtype = struct.unpack("!H", data[i + 1:i + 3])[0]
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        question = data[12:question_end]
        addrs = self.records.get(name)
        rcode = 3 if addrs is None else 0
        answers = b""
        count = 0
        for a in addrs or ():
            ip = ipaddress.ip_address(a)
            if (qtype == 1 and ip.version == 4) or (qtype == 28 and ip.version == 6):
                answers += struct.pack("!HHHIH", 0xC00C, qtype, 1, self.ttl, len(ip.packed))
                answers += ip.packed
                count += 1
        rflags = 0x8400 | (flags & 0x0100) | rcode  # response, authoritative, RD echoed
        return struct.pack("!HHHHHH", qid, rflags, 1, count, 0, 0) + question + answers
