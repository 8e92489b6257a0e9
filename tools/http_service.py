"""The HTTP server plumbing the test tools share: a ThreadingHTTPServer on a loopback port,
served from a daemon thread, usable as a context manager."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, as nginx's upstreams use it) and no access log on stderr."""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass


class _Server(ThreadingHTTPServer):
    # The gateway opens hundreds of connections at once in a burst; the default listen
    # backlog (5) would turn that into SYN retransmits and seconds of delay.
    request_queue_size = 1024


class HttpService:
    """Subclasses set self.host and self._want_port, and call self._serve(handler_class) from
    start()."""
    _server = None
    _thread = None

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def _serve(self, handler):
        self._server = _Server((self.host, self._want_port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
