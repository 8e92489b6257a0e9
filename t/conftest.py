"""End-to-end harness (nginx-otel style): a real nginx with the module, per test.

Environment:
  NGINX_BIN         nginx binary (default /usr/sbin/nginx)
  WA_MODULE         the module (default <repo>/build/nginx/ngx_http_whatsapp_module.so)
  WA_LD_PRELOAD, WA_ASAN_OPTIONS, WA_UBSAN_OPTIONS
                    become nginx's LD_PRELOAD / ASAN_OPTIONS / UBSAN_OPTIONS (sanitizer run)
  NGINX_EXTRA_ENV   "K=V;K2=V2" added to nginx's environment only; the rest of the
                    environment is passed through as is.
  WA_SANITIZED=1    waits are 3x longer (or WA_TIMEOUT_SCALE=N)
  WA_TEST_TMP       where per-test prefixes go (default /tmp); WA_TEST_KEEP=1 keeps them all
                    (prefixes of failed tests are always kept and their path printed).

Fixtures:
  receiver   CallbackReceiver on a free port (the number's callback)
  graph      GraphSim on a free port (behind /_whatsapp/graph/)
  nginx      factory: nginx(workers=2, store_max_size="64m", http_extra="", server_extra="",
             numbers=None, start=True, allow_log=(), ...) -> Nginx; stopped (and its error.log
             checked) at teardown. allow_log: regexes of alert/crit lines a test expects (e.g.
             r"worker process \\d+ exited on signal 9" after it SIGKILLs a worker); only lines
             matching one of them are tolerated, every other marker still fails the test.
  gw         nginx() with the defaults, started
  nginx_t    callable: nginx_t(conf_text) -> (returncode, stderr) of `nginx -t`;
             nginx_t.render(**kw) gives the default config text (tokens @PREFIX@ etc.)
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from tools.callback_receiver import CallbackReceiver  # noqa: E402
from tools.cloudapi_sim import GraphSim, http_request  # noqa: E402
import helpers as H  # noqa: E402

NGINX_BIN = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
WA_MODULE = os.environ.get("WA_MODULE",
                           str(REPO / "build" / "nginx" / "ngx_http_whatsapp_module.so"))
TMP_BASE = os.environ.get("WA_TEST_TMP", "/tmp")
KEEP_ALL = os.environ.get("WA_TEST_KEEP") == "1"

BAD_LOG_MARKERS = ("[alert]", "[emerg]", "[crit]", "AddressSanitizer", "runtime error:",
                   "LeakSanitizer")

CONF_TEMPLATE = """\
load_module {module};
worker_processes {workers};
daemon on;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log {log_level};
{main_extra}
events {{ worker_connections 1024; }}

http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    {store_line}
    whatsapp_window {window};

    {numbers}

    {http_extra}

    server {{
        listen 127.0.0.1:{port};
        location = /webhook {{ whatsapp_webhook; whatsapp_verify_token {verify_token}; }}
        location = /_whatsapp/callback {{
            internal;
            proxy_set_header Host $whatsapp_callback_host;
            proxy_ssl_server_name on;
            proxy_ssl_name $whatsapp_callback_host;
            proxy_pass $whatsapp_callback_url;
        }}
        location /_whatsapp/graph/ {{ internal; proxy_pass http://127.0.0.1:{graph_port}/v21.0/; }}
        location = /metrics {{ whatsapp_metrics; }}
        location = /plain {{ return 200; }}
        {server_extra}
    }}
}}
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TIMEOUT_SCALE = float(os.environ.get("WA_TIMEOUT_SCALE",
                                    "3" if os.environ.get("WA_SANITIZED") == "1" else "1"))


def nginx_env():
    """The environment nginx runs with: ours, plus the sanitizer run's WA_LD_PRELOAD /
    WA_ASAN_OPTIONS / WA_UBSAN_OPTIONS (build.sh) and NGINX_EXTRA_ENV="K=V;K2=V2"."""
    env = dict(os.environ)
    for ours, theirs in (("WA_LD_PRELOAD", "LD_PRELOAD"), ("WA_ASAN_OPTIONS", "ASAN_OPTIONS"),
                         ("WA_UBSAN_OPTIONS", "UBSAN_OPTIONS")):
        if os.environ.get(ours):
            env[theirs] = os.environ[ours]
    extra = os.environ.get("NGINX_EXTRA_ENV", "")
    for item in extra.split(";"):
        if "=" in item:
            k, v = item.split("=", 1)
            env[k.strip()] = v
    return env


def make_prefix():
    p = tempfile.mkdtemp(prefix="ngxwa-", dir=TMP_BASE)
    os.chmod(p, 0o755)  # workers run as an unprivileged user: they must traverse it
    with open(os.path.join(p, "app.secret"), "w") as f:
        f.write(H.APP_SECRET)
    with open(os.path.join(p, "acme.token"), "w") as f:
        f.write(H.ACCESS_TOKEN)
    with open(os.path.join(p, "acme.whsec"), "w") as f:
        f.write(H.SIGNING_SECRET + "\n")
    for name in ("app.secret", "acme.token", "acme.whsec"):
        os.chmod(os.path.join(p, name), 0o600)
    return p


def substitute(text, prefix, port=0, callback_port=0, graph_port=0):
    return (text.replace("@PREFIX@", prefix).replace("@PORT@", str(port))
            .replace("@CALLBACK_PORT@", str(callback_port))
            .replace("@GRAPH_PORT@", str(graph_port)))


def render_conf(prefix, port, callback_port, graph_port, workers=2, store_max_size="64m",
                store_line=None, window="24h", numbers=None, http_extra="", server_extra="",
                main_extra="", verify_token=H.VERIFY_TOKEN, module=None, log_level="info"):
    if store_line is None:
        store_line = "whatsapp_store %s/store max_size=%s;" % (prefix, store_max_size)
    if numbers is None:
        numbers = H.number_block()
    text = CONF_TEMPLATE.format(
        module=module or WA_MODULE, workers=workers, prefix=prefix, log_level=log_level,
        main_extra=main_extra, store_line=store_line, window=window, numbers=numbers,
        http_extra=http_extra, server_extra=server_extra, port=port, graph_port=graph_port,
        verify_token=verify_token)
    return substitute(text, prefix, port, callback_port, graph_port)


def _proc_info(pid):
    """(ppid, state, cmdline) of a live process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = stat[stat.rfind(")") + 2:].split()
    return int(rest[1]), rest[0], cmd


def _alive(pid):
    info = _proc_info(pid)
    return info is not None and info[1] not in ("Z", "X")


class Nginx:
    def __init__(self, receiver_port, graph_port, allow_log=(), **conf):
        self.allowed_log = [re.compile(x) for x in allow_log]
        self.prefix = make_prefix()
        self.port = free_port()
        self.callback_port = receiver_port
        self.graph_port = graph_port
        self.conf = dict(conf)
        self.workers = self.conf.get("workers", 2)
        self.conf_path = os.path.join(self.prefix, "nginx.conf")
        self.error_log_path = os.path.join(self.prefix, "error.log")
        self.pid_path = os.path.join(self.prefix, "nginx.pid")
        self.master_pid = None
        self.problems = []
        self.write_conf()

    # -- config -------------------------------------------------------------------------------
    def render(self, **changes):
        conf = dict(self.conf)
        conf.update(changes)
        return render_conf(self.prefix, self.port, self.callback_port, self.graph_port, **conf)

    def write_conf(self, **changes):
        """Update the config parameters (e.g. store_max_size="64m") and rewrite nginx.conf."""
        self.conf.update(changes)
        self.workers = self.conf.get("workers", 2)
        with open(self.conf_path, "w") as f:
            f.write(self.render())

    def _cmd(self, *extra):
        return [NGINX_BIN, "-p", self.prefix + "/", "-c", self.conf_path,
                "-e", self.error_log_path] + list(extra)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout=15.0):
        r = subprocess.run(self._cmd(), env=nginx_env(), capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("nginx failed to start (rc=%d):\n%s\n--- error.log:\n%s" % (
                r.returncode, r.stderr.decode("utf-8", "replace"), self.error_log()))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(self.pid_path) as f:
                    self.master_pid = int(f.read().strip())
                break
            except (FileNotFoundError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("no pid file after %.0fs:\n%s" % (timeout, self.error_log()))
            time.sleep(0.02)
        self._wait_workers(set(), deadline)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("port %d not accepting:\n%s" % (self.port,
                                                                       self.error_log()))
                time.sleep(0.02)
        return self

    def worker_pids(self):
        """Pids of the current (not shutting down) workers."""
        if not self.master_pid:
            return []
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            info = _proc_info(int(d))
            if info and info[0] == self.master_pid and info[1] not in ("Z", "X") \
                    and info[2] == "nginx: worker process":
                out.append(int(d))
        return sorted(out)

    def _wait_workers(self, old, deadline):
        while True:
            pids = set(self.worker_pids())
            if len(pids) >= self.workers and not (pids & old):
                return sorted(pids)
            if self.master_pid and not _alive(self.master_pid):
                raise RuntimeError("nginx master died:\n%s" % self.error_log())
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not come up (have %r, old %r):\n%s" % (
                    sorted(pids), sorted(old), self.error_log()[-4000:]))
            time.sleep(0.02)

    def reload(self, timeout=20.0, **changes):
        """Optionally rewrite the config with changes, `nginx -s reload`, wait for new workers."""
        if changes:
            self.write_conf(**changes)
        old = set(self.worker_pids())
        r = subprocess.run(self._cmd("-s", "reload"), env=nginx_env(), capture_output=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("nginx -s reload failed: %s" % r.stderr.decode())
        return self._wait_workers(old, time.monotonic() + timeout)

    def stop(self, timeout=20.0):
        """Graceful stop (SIGQUIT); SIGKILL (and a recorded problem) after timeout."""
        pid = self.master_pid
        if not pid:
            return
        workers = self.worker_pids()
        try:
            os.kill(pid, signal.SIGQUIT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while _alive(pid) or any(_alive(w) for w in workers):
            if time.monotonic() > deadline:
                self.problems.append("nginx did not exit within %.0fs of SIGQUIT" % timeout)
                for p in [pid] + workers:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                break
            time.sleep(0.02)
        self.master_pid = None

    # -- inspection ---------------------------------------------------------------------------
    def error_log(self):
        try:
            with open(self.error_log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def bad_log_lines(self):
        return [line for line in self.error_log().splitlines()
                if any(m in line for m in BAD_LOG_MARKERS)
                and not any(rx.search(line) for rx in self.allowed_log)]

    # -- faults -------------------------------------------------------------------------------
    def kill_worker(self, pid=None, sig=signal.SIGKILL):
        """Send sig (SIGKILL) to one current worker (the first one unless pid); returns its pid.
        The master logs "[alert] ... worker process N exited on signal 9": create this nginx
        with allow_log=[r"worker process \\d+ exited on signal 9"]."""
        if pid is None:
            pids = self.worker_pids()
            if not pids:
                raise RuntimeError("no worker to kill:\n%s" % self.error_log()[-4000:])
            pid = pids[0]
        os.kill(pid, sig)
        return pid

    def wait_respawn(self, killed, timeout=20.0):
        """Wait until the master has replaced the killed worker pid(s): a full set of workers,
        none of them killed. Returns the current worker pids."""
        killed = {killed} if isinstance(killed, int) else set(killed)
        return self._wait_workers(killed, time.monotonic() + timeout * TIMEOUT_SCALE)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path, headers=None):
        """-> (status, headers dict lower-case, body bytes)"""
        return http_request("GET", self.url(path), headers=headers)

    def request(self, method, path, body=None, headers=None):
        return http_request(method, self.url(path), body, headers)


# ---- report hook: know whether the test failed (keep its prefix) ------------------------------

@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


# ---- fixtures -------------------------------------------------------------------------------

@pytest.fixture
def receiver():
    r = CallbackReceiver()
    r.timeout_scale = TIMEOUT_SCALE
    r.start()
    yield r
    r.stop()


@pytest.fixture
def graph():
    g = GraphSim()
    g.timeout_scale = TIMEOUT_SCALE
    g.start()
    yield g
    g.stop()


@pytest.fixture
def nginx(request, receiver, graph):
    instances = []

    def factory(start=True, **conf):
        ng = Nginx(receiver.port, graph.port, **conf)
        instances.append(ng)
        if start:
            ng.start()
        return ng

    yield factory

    problems = []
    for ng in instances:
        ng.stop()
        bad = ng.bad_log_lines()
        if ng.problems or bad:
            problems.append("%s:\n  %s" % (ng.error_log_path, "\n  ".join(ng.problems + bad)))
    failed = _failed(request) or bool(problems)
    for ng in instances:
        if failed or KEEP_ALL:
            sys.stderr.write("\n[kept nginx prefix %s]\n" % ng.prefix)
        else:
            shutil.rmtree(ng.prefix, ignore_errors=True)
    if problems:
        pytest.fail("error.log has alerts/sanitizer reports:\n" + "\n".join(problems),
                    pytrace=False)


@pytest.fixture
def gw(nginx):
    return nginx()


class NginxT:
    """nginx -t on a config text (tokens @PREFIX@, @PORT@, @CALLBACK_PORT@, @GRAPH_PORT@)."""

    def __init__(self):
        self.prefixes = []
        self.last_conf_path = None
        self.last_prefix = None

    def render(self, **kw):
        """The default test config as text with tokens, for tests to alter."""
        return render_conf("@PREFIX@", 18080, 18081, 18082, **kw)

    def __call__(self, conf_text):
        prefix = make_prefix()
        self.prefixes.append(prefix)
        text = substitute(conf_text, prefix, free_port(), 18081, 18082)
        path = os.path.join(prefix, "nginx.conf")
        with open(path, "w") as f:
            f.write(text)
        self.last_conf_path, self.last_prefix = path, prefix
        r = subprocess.run([NGINX_BIN, "-t", "-p", prefix + "/", "-c", path,
                            "-e", os.path.join(prefix, "error.log")],
                           env=nginx_env(), capture_output=True, timeout=60)
        return r.returncode, r.stderr.decode("utf-8", "replace")


@pytest.fixture
def nginx_t(request):
    t = NginxT()
    yield t
    for p in t.prefixes:
        if _failed(request) or KEEP_ALL:
            sys.stderr.write("\n[kept nginx -t prefix %s]\n" % p)
        else:
            shutil.rmtree(p, ignore_errors=True)


def pytest_report_header(config):
    exists = "present" if os.path.exists(WA_MODULE) else "MISSING"
    return ["nginx: %s" % NGINX_BIN, "module: %s (%s)" % (WA_MODULE, exists)]
