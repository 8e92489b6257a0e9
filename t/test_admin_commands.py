"""§10.2 / §6.3: every whatsapp-admin command end to end — key list/revoke (and a rotation
through nginx -s reload), conversations list, conversation show, sends unknown, stats, backup
(taken while nginx writes, then restored) and prune — each in text and with --json, and the
exit codes of the usage text.

WA_ADMIN overrides the tool's path (default <repo>/build/core/whatsapp-admin)."""

import datetime
import hashlib
import json
import os
import shutil
import stat
import subprocess
import threading
import time

import pytest

import helpers as H
from helpers import (CREATED_AT_RE, TIMEOUT_SCALE, is_typeid, metric, post, text_body,
                     wait_events, wait_metric, wait_text)
from test_admin import WA_ADMIN, kill_event, wait_dead
from test_messaging import (ALL_SECRET, GLOBEX_PNID, call, customer, inbox_gw,  # noqa: F401
                            listing, say)
from test_reply import SEND_LINE, SEND_SECRET, gateway, inbound, reply_body  # noqa: F401
from test_send_outcomes import slow_gateway, status_webhook

pytestmark = pytest.mark.skipif(not os.path.exists(WA_ADMIN),
                                reason="whatsapp-admin not built: %s" % WA_ADMIN)


def admin(*args, store=None):
    """-> (returncode, stdout, stderr) of whatsapp-admin [--store store] args..."""
    cmd = [WA_ADMIN] + (["--store", store] if store else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120 * TIMEOUT_SCALE)
    return r.returncode, r.stdout, r.stderr


def store_of(gw):
    return os.path.join(gw.prefix, "store")


def ok(*args, store=None):
    rc, out, err = admin(*args, store=store)
    assert rc == 0, (args, out, err)
    return out


def doc(*args, store=None):
    """The one JSON document of a command run with --json."""
    return json.loads(ok(*args, "--json", store=store))


def rows(out):
    return [line.split("\t") for line in out.splitlines()]


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat()


# ---- the command line ------------------------------------------------------------------------

COMMANDS = ["key create", "key list", "key revoke", "conversations list", "conversation show",
            "events dead", "events replay", "sends unknown", "stats", "backup", "prune"]


def test_help_shows_every_command_its_options_and_the_exit_codes():
    out = ok("--help")
    for name in COMMANDS:
        assert "\n  " + name + " " in out or "\n  " + name + "\n" in out, name
    for option in ("--keys FILE", "[--tenant T]", "[--status S]", "[--older-than DURATION]",
                   "--before TIME", "conv_ID", "DIR", "--json"):
        assert option in out, option
    assert "0 ok, 1 error" in out and "2 usage" in out and "3 not found" in out
    rc, _, err = admin()
    assert rc == 2 and err == out  # no command: the usage on stderr


@pytest.mark.parametrize("args, why", [
    (["nothing"], 'unknown command "nothing"'),
    (["conversations"], "conversations: list?"),
    (["conversations", "drop"], 'conversations: unknown command "drop"'),
    (["events", "--limit", "1"], "events: dead? replay?"),
    (["key"], "key: create? list? revoke?"),
    (["stats", "extra"], 'stats: unexpected "extra"'),
    (["stats", "--all"], 'stats: unknown option "--all"'),
    (["conversation", "show"], "conversation show: conv_ID expected"),
    (["conversation", "show", "im_01h455vb4pex5vsknk084sn02q"], "not a conv_ id"),
    (["conversation", "show", "conv_01h455vb4pex5vsknk084sn02q", "--limit", "0"],
     "--limit needs a positive number"),
    (["conversations", "list", "--status", "archived"], "--status"),
    (["conversations", "list", "--tenant", "a b"], 'invalid tenant "a b"'),
    (["conversations", "list", "--limit="], "--limit needs a value"),
    (["sends", "unknown", "--older-than", "soon"], "--older-than"),
    (["backup"], "backup: DIR expected"),
    (["backup", "a", "b"], 'backup: unexpected "b"'),
    (["prune"], "prune: --before is required"),
    (["prune", "--before", "yesterday"], "--before: an RFC 3339 time or a duration"),
    (["key", "list"], "key list: --keys is required"),
    (["key", "revoke", "--keys", "f"], "key revoke: NAME expected"),
    (["key", "revoke", "--keys", "f", "a:b"], 'invalid name "a:b"'),
])
def test_usage_errors_exit_2(tmp_path, args, why):
    rc, out, err = admin(*args, store=str(tmp_path))
    assert rc == 2, (out, err)
    assert out == ""
    assert why in err, err


def test_store_commands_need_a_store_that_exists(tmp_path):
    for args in (["conversations", "list"], ["sends", "unknown"], ["backup", str(tmp_path / "b")],
                 ["prune", "--before", "30d"]):
        rc, _, err = admin(*args)
        assert rc == 2 and "--store PATH is required" in err, args
        rc, _, err = admin(*args, store=str(tmp_path / "none"))
        assert rc == 1 and "no store" in err, args
    assert not (tmp_path / "none").exists() and not (tmp_path / "b").exists()


# ---- keys ------------------------------------------------------------------------------------

CONV = "conv_01h455vb4pex5vsknk084sn02q"


def keys_file(tmp_path, mode=0o640):
    _, a = H.api_key("app", scopes="messaging:messages:send")
    _, b = H.api_key("reader", tenant="globex", scopes="messaging:messages:read,events:stream",
                     conversation=CONV)
    _, c = H.api_key("ops", scopes="*")
    text = "# production keys\n%s\n\n%s   # until May\n  # ops:\n%s" % (a, b, c)
    path = tmp_path / "api.keys"
    path.write_text(text)
    os.chmod(path, mode)
    return path, text, (a, b, c)


def test_key_list_shows_names_tenants_scopes_and_conversations_not_hashes(tmp_path):
    path, _, lines = keys_file(tmp_path)
    out = ok("key", "list", "--keys", str(path))
    assert rows(out) == [
        ["app", "acme", "messaging:messages:send", "-"],
        ["reader", "globex", "messaging:messages:read,events:stream", CONV],
        ["ops", "acme", "*", "-"],
    ]
    for line in lines:
        assert line.split()[2] not in out  # no hash
    assert doc("key", "list", "--keys", str(path)) == {"keys": [
        {"name": "app", "tenant": "acme", "scopes": ["messaging:messages:send"],
         "conversation": None},
        {"name": "reader", "tenant": "globex",
         "scopes": ["messaging:messages:read", "events:stream"], "conversation": CONV},
        {"name": "ops", "tenant": "acme", "scopes": ["*"], "conversation": None},
    ], "more": False}


def test_key_list_errors(tmp_path):
    rc, _, err = admin("key", "list", "--keys", str(tmp_path / "none"))
    assert rc == 1 and "none" in err
    bad = tmp_path / "bad.keys"
    bad.write_text("app acme nothex *\n")
    rc, _, err = admin("key", "list", "--keys", str(bad))
    assert rc == 1 and "line 1" in err


def test_key_revoke_removes_only_its_line_and_keeps_the_mode(tmp_path):
    path, text, (a, b, c) = keys_file(tmp_path)
    rc, out, err = admin("key", "revoke", "--keys", str(path), "reader")
    assert rc == 0, err
    assert out == "key reader revoked\n"
    assert "nginx -s reload" in err
    assert path.read_text() == text.replace("%s   # until May\n" % b, "")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["api.keys"]  # no temporary file left
    assert [r[0] for r in rows(ok("key", "list", "--keys", str(path)))] == ["app", "ops"]

    # Through a link: the file it points to is rewritten, the link stays.
    link = tmp_path / "current.keys"
    link.symlink_to(path)
    assert doc("key", "revoke", "--keys", str(link), "ops") == {
        "revoked": "ops", "keys_file": os.path.realpath(path)}
    assert link.is_symlink()
    assert path.read_text() == "# production keys\n%s\n\n  # ops:\n" % a

    # Unknown (or already revoked): 3, nothing written.
    before = path.read_text()
    rc, out, err = admin("key", "revoke", "--keys", str(path), "ops")
    assert rc == 3 and out == "" and 'no key named "ops"' in err
    assert path.read_text() == before


def test_key_revoke_refuses_a_file_nginx_would_refuse(tmp_path):
    path = tmp_path / "api.keys"
    path.write_text(H.api_key("app")[1] + "\napp acme nothex *\n")
    rc, _, err = admin("key", "revoke", "--keys", str(path), "app")
    assert rc == 1 and "line 2" in err
    assert "nothex" in path.read_text()
    rc, _, err = admin("key", "revoke", "--keys", str(tmp_path / "none"), "app")
    assert rc == 1


def test_key_create_json():
    d = doc("key", "create", "--tenant", "acme", "--scopes", "*", "--name", "bot")
    assert set(d) == {"name", "secret", "line"} and d["name"] == "bot"
    assert d["line"] == "bot acme %s *" % hashlib.sha256(d["secret"].encode()).hexdigest()


def test_key_rotation_with_create_revoke_and_reload(gateway, receiver):
    gw = gateway(keys=[SEND_LINE])
    keys = os.path.join(gw.prefix, "api.keys")
    ev = inbound(gw, receiver)
    new = doc("key", "create", "--tenant", H.TENANT, "--scopes", "messaging:messages:send",
              "--name", "app-2")
    with open(keys, "a") as f:
        f.write(new["line"] + "\n")
    gw.reload()
    assert H.reply(gw, reply_body(ev), key=new["secret"])[0] == 200
    assert H.reply(gw, reply_body(ev), key=SEND_SECRET)[0] == 200  # both, until revoked

    ok("key", "revoke", "--keys", keys, "app")
    assert H.reply(gw, reply_body(ev), key=SEND_SECRET)[0] == 200  # until the reload
    gw.reload()
    H.assert_reply_error(H.reply(gw, reply_body(ev), key=SEND_SECRET), 401, "invalid_api_token")
    assert H.reply(gw, reply_body(ev), key=new["secret"])[0] == 200


# ---- conversations ---------------------------------------------------------------------------

def test_conversations_list_and_show(inbox_gw, receiver):
    gw = inbox_gw()
    store = store_of(gw)
    say(gw, 1, text="first from 1", name="Ada Lovelace")
    say(gw, 2, text="only from 2")
    say(gw, 3, text="globex's", pnid=GLOBEX_PNID)
    say(gw, 1, text="second\tfrom 1", name="Ada Lovelace")
    acme = {c["customerPhone"]: c["id"] for c in listing(gw)["data"]}
    one, two = acme["+" + customer(1)], acme["+" + customer(2)]
    assert call(gw, "PATCH", "conversations/" + two, body={"status": "closed"})[0] == 200

    # Every tenant's, oldest first.
    got = rows(ok("conversations", "list", store=store))
    assert [r[3] for r in got] == ["+" + customer(n) for n in (1, 2, 3)]
    assert [r[1] for r in got] == ["acme", "acme", "globex"]
    r = got[0]
    assert len(r) == 10 and r[0] == one and r[2] == H.NUMBER and r[4] == "Ada Lovelace"
    assert r[5:9] == ["open", "human", "-", "2"] and CREATED_AT_RE.match(r[9])
    assert got[1][5] == "closed"

    # One tenant's, newest activity first; filters; the limit.
    assert [r[0] for r in rows(ok("conversations", "list", "--tenant", "acme", store=store))] \
        == [one, two]  # 1 spoke last (a patch is no activity)
    assert [r[0] for r in rows(ok("conversations", "list", "--tenant", "acme", "--status",
                                  "closed", store=store))] == [two]
    assert [r[3] for r in rows(ok("conversations", "list", "--status", "open", store=store))] \
        == ["+" + customer(1), "+" + customer(3)]
    rc, out, err = admin("conversations", "list", "--limit", "1", store=store)
    assert rc == 0 and len(rows(out)) == 1 and "--limit" in err
    assert doc("conversations", "list", "--limit", "1", store=store)["more"] is True

    # --json: the inbox API's objects, the same as its own listing.
    d = doc("conversations", "list", "--tenant", "acme", store=store)
    assert d == {"conversations": listing(gw)["data"], "more": False}

    # show: the conversation, then its messages newest first, text included.
    out = ok("conversation", "show", one, store=store)
    head, _, messages = out.partition("\n\n")
    fields = dict(line.split(" ", 1) for line in head.splitlines())
    assert fields["id"] == one and fields["tenant"] == "acme"
    assert fields["customer_name"] == "Ada Lovelace" and fields["unread_count"] == "2"
    assert fields["assignee"] == "-" and CREATED_AT_RE.match(fields["window_expires_at"])
    msgs = rows(messages)
    assert [m[5] for m in msgs] == ["second from 1", "first from 1"]  # the tab is a space
    assert is_typeid(msgs[0][0], "im") and msgs[0][1:4] == ["inbound", "text", "received"]
    assert CREATED_AT_RE.match(msgs[0][4])

    shown = doc("conversation", "show", one, "--limit", "1", store=store)
    assert shown["more"] is True and len(shown["conversation"]["messages"]) == 1
    shown = doc("conversation", "show", one, store=store)
    status, _, api = call(gw, "GET", "conversations/" + one)
    assert status == 200
    assert shown["conversation"]["unreadCount"] == 2 and api["data"]["unreadCount"] == 0
    shown["conversation"]["unreadCount"] = 0  # the API's read marked them read
    assert shown == {"conversation": api["data"], "more": False}

    rc, out, err = admin("conversation", "show", CONV, store=store)
    assert rc == 3 and out == "" and "no conversation " + CONV in err


def test_sends_unknown(gateway, graph, receiver):
    gw = slow_gateway(gateway, graph)
    store = store_of(gw)
    ev = inbound(gw, receiver)
    assert ok("sends", "unknown", store=store) == ""
    graph.hang_next(3)
    status, _, body = H.reply(gw, reply_body(ev), key=SEND_SECRET)
    assert status == 504 and body["code"] == "upstream_timeout", body
    tx = body["message_id"]

    (r,) = rows(ok("sends", "unknown", store=store))
    assert r[0] == tx and is_typeid(r[1], "conv") and r[2] == "+" + H.CUSTOMER
    assert CREATED_AT_RE.match(r[3])
    assert doc("sends", "unknown", store=store) == {"sends": [
        {"id": tx, "conversation_id": r[1], "to": r[2], "created_at": r[3]}], "more": False}
    assert ok("sends", "unknown", "--older-than", "1h", store=store) == ""

    # Meta had it after all: its status webhook names the tx_ id, and it is no longer unknown.
    sends = graph.wait_for(1)
    status_webhook(gw, sends[0]["wamid"], "sent", tx)
    wait_events(receiver, 1, type_="transactional.message.sent")
    assert doc("sends", "unknown", store=store) == {"sends": [], "more": False}


# ---- events, stats ---------------------------------------------------------------------------

def test_events_dead_and_replay_json(gw, receiver):
    evt = kill_event(gw, receiver, "dead, in JSON")
    wait_dead(gw, 1)
    d = doc("events", "dead", store=store_of(gw))
    assert d["more"] is False
    (e,) = d["events"]
    assert e["id"] == evt and e["attempts"] == 1 and e["last_status"] == 400
    assert e["type"] == "inbound.message.received" and e["number"] == H.NUMBER
    assert e["callback_url"] == "http://127.0.0.1:%d/events" % receiver.port
    assert CREATED_AT_RE.match(e["created_at"])
    assert doc("events", "replay", "--all", store=store_of(gw)) == {"queued": 1}
    wait_text(receiver, "dead, in JSON", timeout=10)
    assert doc("events", "dead", store=store_of(gw)) == {"events": [], "more": False}


def test_stats_counts_conversations_and_messages(gw, receiver):
    for n, who in enumerate(("33600000001", "33600000002", "33600000001")):
        assert post(gw, text_body(text="stats %d" % n, from_=who))[0] == 200
    text = {k: float(v) for k, v in (line.split() for line in ok("stats", store=store_of(gw))
                                     .splitlines())}
    assert text["conversations"] == 2 and text["messages"] == 3
    d = doc("stats", store=store_of(gw))
    assert set(d) == set(text)
    assert d["conversations"] == 2 and d["messages"] == 3
    assert d["store_map_size_bytes"] == 64 << 20


# ---- prune -----------------------------------------------------------------------------------

def test_prune_before_removes_messages_and_delivered_events_not_conversations(gw, receiver):
    store = store_of(gw)
    for n in range(3):
        assert post(gw, text_body(text="old %d" % n))[0] == 200
        wait_text(receiver, "old %d" % n)
    # Delivered, as the store says (a moment after the receiver saw them).
    wait_metric(gw, lambda m: metric(m, "whatsapp_outbox_pending") == 0, what="all delivered")
    (conv,) = [r[0] for r in rows(ok("conversations", "list", store=store))]
    assert doc("prune", "--before", "1d", store=store)["messages"] == 0  # none that old

    time.sleep(0.01)
    cutoff = rfc3339(time.time())
    rc, out, err = admin("prune", "--before", cutoff, store=store)
    assert rc == 0, err
    assert out.startswith("3 messages and 3 events created before ") and out.endswith(
        " pruned\n"), out
    head, _, messages = ok("conversation", "show", conv, store=store).partition("\n\n")
    assert messages == "" and "id " + conv in head
    assert [r[0] for r in rows(ok("conversations", "list", store=store))] == [conv]
    d = doc("prune", "--before", cutoff, store=store)  # nothing left to prune
    assert d["messages"] == 0 and d["events"] == 0 and CREATED_AT_RE.match(d["before"])
    assert doc("stats", store=store)["messages"] == 0

    # nginx goes on: the conversation takes new messages.
    assert post(gw, text_body(text="new"))[0] == 200
    wait_text(receiver, "new")
    shown = doc("conversation", "show", conv, store=store)["conversation"]
    assert [m["text"] for m in shown["messages"]] == ["new"]


# ---- backup ----------------------------------------------------------------------------------

CUSTOMERS = ["33600000011", "33600000012", "33600000013"]


def all_texts(store):
    """Every message text of the store at store, by conversation (whatsapp-admin --json)."""
    out = {}
    for c in doc("conversations", "list", store=store)["conversations"]:
        shown = doc("conversation", "show", c["id"], "--limit", "100000", store=store)
        out[c["customerPhone"]] = {m["text"] for m in shown["conversation"]["messages"]}
    return out


def test_backup_taken_while_nginx_writes_restores_every_message(gw, receiver, tmp_path):
    posted = []  # (text, customer, monotonic time its 200 came back)
    for i in range(30):
        who = CUSTOMERS[i % 3]
        assert post(gw, text_body(text="before %d" % i, from_=who))[0] == 200
        posted.append(("before %d" % i, who, time.monotonic()))

    stop = threading.Event()

    def keep_posting():
        i = 0
        while not stop.is_set():
            who = CUSTOMERS[i % 3]
            status, _ = post(gw, text_body(text="during %d" % i, from_=who))
            assert status == 200
            posted.append(("during %d" % i, who, time.monotonic()))
            i += 1

    def wait_posted(predicate, what):
        deadline = time.monotonic() + 30 * TIMEOUT_SCALE
        while not predicate():
            assert writer.is_alive() and time.monotonic() < deadline, what
            time.sleep(0.01)

    writer = threading.Thread(target=keep_posting, daemon=True)
    writer.start()
    try:
        wait_posted(lambda: len(posted) >= 40, "the writer posting")
        began = time.monotonic()
        backup = tmp_path / "backup"
        rc, out, err = admin("backup", str(backup), store=store_of(gw))
        ended = time.monotonic()
        wait_posted(lambda: any(at > ended for _, _, at in posted), "the writer after it")
    finally:
        stop.set()
        writer.join(30 * TIMEOUT_SCALE)
    assert rc == 0, err
    assert out.startswith(str(backup / "data.mdb") + " ") and out.endswith(" bytes\n")
    assert os.listdir(backup) == ["data.mdb"]
    assert stat.S_IMODE(os.stat(backup / "data.mdb").st_mode) == 0o600

    # Every message acknowledged before the backup began is in it.
    want = {}
    for text, who, at in posted:
        if at < began:
            want.setdefault("+" + who, set()).add(text)
    got = all_texts(str(backup))
    assert set(got) == set(want)
    for who in want:
        assert want[who] <= got[who], who
    assert {t for texts in got.values() for t in texts} <= {text for text, _, _ in posted}

    # A second backup into it is refused; an empty directory is fine.
    rc, _, err = admin("backup", str(backup), store=store_of(gw))
    assert rc == 1 and "not empty" in err
    (tmp_path / "empty").mkdir()
    assert doc("backup", str(tmp_path / "empty"), store=store_of(gw))["bytes"] > 0

    # Restore: nginx stopped, the backup's data.mdb as the store's only file, nginx started.
    gw.stop()
    shutil.rmtree(store_of(gw))
    os.mkdir(store_of(gw))
    shutil.copy(backup / "data.mdb", os.path.join(store_of(gw), "data.mdb"))
    gw.start()
    assert all_texts(store_of(gw)) == got
    # A new customer: the backed-up conversations' queues may wait for an event that was in
    # flight when the backup was taken (sent again when its lease runs out, up to 30 s).
    assert post(gw, text_body(text="after the restore", from_="33600000014"))[0] == 200
    wait_text(receiver, "after the restore")
    assert all_texts(store_of(gw)) == dict(got, **{"+33600000014": {"after the restore"}})
