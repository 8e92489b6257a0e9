"""`./build.sh serve` stops nginx and its two helpers on SIGTERM as well as on Ctrl-C: once the
script has exited, none of its processes is left and the ports 8080, 8091 and 8092 are free.

The script serves the module under test through WA_SERVE_MODULE (no build, nothing written into
the repository's build/ or var/: its prefix is a scratch directory under the test's TMPDIR). In
the sanitizer run (WA_LD_PRELOAD set) the sanitized module cannot load into a plain nginx, so the
plain build/nginx module serves instead: what is tested is the script, not the module.
Skipped when one of the ports is already in use (a `serve` of your own, say)."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import helpers as H
from tools.cloudapi_sim import http_request

REPO = Path(__file__).resolve().parent.parent
PLAIN_MODULE = REPO / "build" / "nginx" / "ngx_http_whatsapp_module.so"
PORTS = (8080, 8091, 8092)  # nginx, the Graph stand-in, the callback receiver
START_TIMEOUT = 30 * H.TIMEOUT_SCALE
STOP_TIMEOUT = 20 * H.TIMEOUT_SCALE


def module_to_serve():
    if os.environ.get("WA_LD_PRELOAD"):
        return str(PLAIN_MODULE)
    return os.environ.get("WA_MODULE", str(PLAIN_MODULE))


def port_free(port):
    """Nothing listens on 127.0.0.1:port (SO_REUSEADDR: connections in TIME_WAIT do not count)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def proc_stat(pid):
    """(state, ppid) of a live process, or None once it is gone (a zombie counts as gone)."""
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return None
    state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
    return None if state in "ZX" else (state, int(ppid))


def cmdline(pid):
    try:
        return Path("/proc/%d/cmdline" % pid).read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def descendants(root):
    """{pid: command line} of every live process below root."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = proc_stat(int(entry.name))
            if st:
                children.setdefault(st[1], []).append(int(entry.name))
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = cmdline(child)
            todo.append(child)
    return found


def wait_until(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def kinds(procs):
    """Which of serve's processes are among procs."""
    out = set()
    for cmd in procs.values():
        if cmd.startswith("nginx: master process"):
            out.add("nginx master")
        elif cmd.startswith("nginx: worker process"):
            out.add("nginx worker")
        elif "tools/cloudapi_sim.py serve" in cmd:
            out.add("simulator")
        elif "tools/callback_receiver.py" in cmd:
            out.add("receiver")
    return out


def start_serve(tmp_path):
    env = dict(os.environ, WA_SERVE_MODULE=module_to_serve(), WA_SERVE_NO_BUILD="1",
               TMPDIR=str(tmp_path))
    for var in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env.pop(var, None)
    log = open(tmp_path / "serve.log", "wb")
    # A session of its own: the signals below reach serve alone, never pytest.
    return subprocess.Popen([str(REPO / "build.sh"), "serve"], cwd=str(REPO), env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def send_term(p):
    os.kill(p.pid, signal.SIGTERM)  # the script only, as a service manager or `kill` does


def send_ctrl_c(p):
    os.killpg(p.pid, signal.SIGINT)  # the terminal's foreground process group


@pytest.mark.parametrize("stop,status", [(send_term, 128 + signal.SIGTERM),
                                         (send_ctrl_c, 128 + signal.SIGINT)],
                         ids=["SIGTERM", "Ctrl-C"])
def test_serve_stops_everything(tmp_path, stop, status):
    busy = [port for port in PORTS if not port_free(port)]
    if busy:
        pytest.skip("port(s) %s already in use: ./build.sh serve needs 8080, 8091 and 8092"
                    % ", ".join(map(str, busy)))
    p = start_serve(tmp_path)
    procs = {}
    try:
        wait_until("serve's ports", lambda: p.poll() is None and all(map(port_answers, PORTS)),
                   START_TIMEOUT)
        # nginx serves the example configuration with the module: Meta's subscription check.
        got = http_request("GET", "http://127.0.0.1:8080/webhook?hub.mode=subscribe"
                                  "&hub.verify_token=dev-verify-token&hub.challenge=42", timeout=10)
        assert (got[0], got[2]) == (200, b"42"), got
        procs = descendants(p.pid)
        assert kinds(procs) == {"nginx master", "nginx worker", "simulator", "receiver"}, procs

        stop(p)
        assert p.wait(timeout=STOP_TIMEOUT) == status, (tmp_path / "serve.log").read_text()
        wait_until("serve's processes to end",
                   lambda: all(proc_stat(pid) is None for pid in procs), STOP_TIMEOUT)
        assert all(map(port_free, PORTS)), [port for port in PORTS if not port_free(port)]
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        for pid in procs:
            if proc_stat(pid) is not None:
                os.kill(pid, signal.SIGKILL)
