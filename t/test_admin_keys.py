"""§3.1 / §10.2: whatsapp-admin key create prints a secret once and the keys-file line.

No nginx and no store needed. WA_ADMIN overrides the tool's path
(default <repo>/build/core/whatsapp-admin)."""

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WA_ADMIN = os.environ.get("WA_ADMIN", str(REPO / "build" / "core" / "whatsapp-admin"))

pytestmark = pytest.mark.skipif(not os.path.exists(WA_ADMIN),
                                reason="whatsapp-admin not built: %s" % WA_ADMIN)

CONV = "conv_01h455vb4pex5vsknk084sn02q"
SECRET_RE = re.compile(r"^wa_[A-Za-z0-9_-]{43}$")
LINE_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]{1,64}) (?P<tenant>[A-Za-z0-9_.-]{1,64}) "
                     r"(?P<hash>[0-9a-f]{64}) (?P<scopes>\S+)(?: conversation=(?P<conv>\S+))?$")


def admin(*args):
    """-> (returncode, stdout, stderr) of whatsapp-admin args... (no --store)."""
    r = subprocess.run([WA_ADMIN] + list(args), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def create(*args):
    """key create args... -> (secret, line match), checking the output's shape."""
    rc, out, err = admin("key", "create", *args)
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert lines[0].startswith("secret: ")
    secret = lines[0][len("secret: "):]
    assert SECRET_RE.match(secret), secret
    m = LINE_RE.match(lines[1])
    assert m, lines[1]
    assert hashlib.sha256(secret.encode()).hexdigest() == m["hash"]
    assert secret not in lines[1]      # the file never holds the key in clear
    assert secret not in err
    assert "nginx -s reload" in err
    return secret, m


def test_create_prints_secret_and_line():
    secret, m = create("--tenant", "acme", "--scopes",
                       "messaging:messages:read,messaging:messages:send")
    assert m["tenant"] == "acme"
    assert m["scopes"] == "messaging:messages:read,messaging:messages:send"
    assert m["conv"] is None
    assert re.match(r"^key_[0-9a-hjkmnp-tv-z]{26}$", m["name"]), m["name"]


def test_each_run_is_a_new_key():
    a, ma = create("--tenant", "acme", "--scopes", "*")
    b, mb = create("--tenant", "acme", "--scopes", "*")
    assert a != b and ma["hash"] != mb["hash"] and ma["name"] != mb["name"]
    assert ma["scopes"] == mb["scopes"] == "*"


def test_name_conversation_and_option_forms():
    _, m = create("--tenant=t.1", "--scopes=events:stream,events:stream", "--name=bot-1",
                  "--conversation", CONV)
    assert (m["name"], m["tenant"], m["scopes"], m["conv"]) == ("bot-1", "t.1", "events:stream",
                                                                CONV)


def test_store_is_not_needed_but_tolerated(tmp_path):
    rc, out, err = admin("--store", str(tmp_path / "nowhere"), "key", "create", "--tenant", "a",
                         "--scopes", "*")
    assert rc == 0, err
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("args, why", [
    ([], "key: create?"),
    (["delete"], "unknown command"),
    (["create"], "--tenant and --scopes are required"),
    (["create", "--tenant", "a"], "--tenant and --scopes are required"),
    (["create", "--scopes", "*"], "--tenant and --scopes are required"),
    (["create", "--tenant", "a b", "--scopes", "*"], 'invalid tenant "a b"'),
    (["create", "--tenant", "x" * 65, "--scopes", "*"], "invalid tenant"),
    (["create", "--tenant", "a", "--scopes", "messaging:messages:write"],
     'unknown scope "messaging:messages:write"'),
    (["create", "--tenant", "a", "--scopes", "events:stream,"], "empty scope"),
    (["create", "--tenant", "a", "--scopes", "*", "--conversation",
      "im_01h455vb4pex5vsknk084sn02q"], "not a conv_ id"),
    (["create", "--tenant", "a", "--scopes", "*", "--name", "a:b"], 'invalid name "a:b"'),
    (["create", "--tenant", "a", "--scopes", "*", "--name="], "--name needs a value"),
    (["create", "--tenant", "a", "--scopes", "*", "--tenant"], "--tenant needs a value"),
    (["create", "--tenant", "a", "--scopes", "*", "extra"], 'unexpected "extra"'),
])
def test_usage_errors(args, why):
    rc, out, err = admin("key", *args)
    assert rc == 2, (out, err)
    assert out == ""          # no secret printed for a key that was not made
    assert why in err, err


def test_other_commands_still_need_a_store():
    rc, _, err = admin("stats")
    assert rc == 2 and "--store PATH is required" in err
    rc, out, _ = admin("--help")
    assert rc == 0 and "key create" in out
