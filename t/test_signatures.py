"""§5.3: every delivery is signed; checked with independent implementations
(the openssl command line for RSASSA-PSS, Python's hmac for Standard Webhooks)."""

import base64
import hashlib
import hmac
import os
import subprocess
import time

import pytest

from helpers import SIGNING_KEY, number_block, post, text_body, wait_text


def _delivery_of(receiver, text):
    event = wait_text(receiver, text)
    for d in receiver.deliveries:
        if d.json and d.json.get("id") == event["id"]:
            return d
    raise AssertionError("no delivery for %s" % event["id"])


def test_standard_webhooks_headers(gw, receiver):
    assert post(gw, text_body(text="signed with a secret"))[0] == 200
    d = _delivery_of(receiver, "signed with a secret")
    msg_id, ts, sig = d.headers["webhook-id"], d.headers["webhook-timestamp"], \
        d.headers["webhook-signature"]
    assert msg_id == d.json["id"] and msg_id.startswith("evt_")
    assert abs(int(ts) - time.time()) < 300
    expected = base64.b64encode(hmac.new(SIGNING_KEY, b"%s.%s.%s" % (msg_id.encode(), ts.encode(),
                                                                    d.body),
                                         hashlib.sha256).digest()).decode()
    assert sig == "v1," + expected
    assert "x-webhook-signature" not in d.headers


@pytest.fixture
def rsa_key(tmp_path):
    key, pub = tmp_path / "events.pem", tmp_path / "events.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(key)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True,
                   capture_output=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(key, 0o644)  # the master reads it at config time; tmp_path is private otherwise
    return key, pub


def _openssl_verify(pub, body, header, tmp_path):
    assert header.startswith("rsassa-pss-sha256=")
    b64 = header[len("rsassa-pss-sha256="):]
    sig = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    (tmp_path / "sig.bin").write_bytes(sig)
    (tmp_path / "body.bin").write_bytes(body)
    return subprocess.run(["openssl", "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss",
                           "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256",
                           "-verify", str(pub), "-signature", str(tmp_path / "sig.bin"),
                           str(tmp_path / "body.bin")], capture_output=True, text=True)


def test_rsassa_pss_header_verifies_with_openssl(nginx, receiver, rsa_key, tmp_path):
    key, pub = rsa_key
    gw = nginx(numbers=number_block(signing_secret_file=None,
                                    extra="signing_key_file %s;" % key))
    assert post(gw, text_body(text="signed with a key: café 👍"))[0] == 200
    d = _delivery_of(receiver, "signed with a key: café 👍")
    header = d.headers["x-webhook-signature"]
    r = _openssl_verify(pub, d.body, header, tmp_path)
    assert r.returncode == 0 and "Verified OK" in r.stdout, r.stdout + r.stderr
    tampered = _openssl_verify(pub, d.body.replace(b"caf", b"cof"), header, tmp_path)
    assert tampered.returncode != 0
    assert "webhook-signature" not in d.headers


def test_number_without_signing_is_refused(nginx_t):
    conf = nginx_t.render(numbers=number_block(signing_secret_file=None))
    rc, err = nginx_t(conf)
    assert rc != 0 and "signing_key_file" in err and "signing_secret_file" in err, err


def test_bad_signing_key_is_refused(nginx_t, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    conf = nginx_t.render(numbers=number_block(signing_secret_file=None,
                                               extra="signing_key_file %s;" % bad))
    rc, err = nginx_t(conf)
    assert rc != 0 and "signing_key_file" in err, err


def test_bad_signing_secret_is_refused(nginx_t, tmp_path):
    bad = tmp_path / "bad.whsec"
    bad.write_text("not-a-whsec-secret\n")
    conf = nginx_t.render(numbers=number_block(signing_secret_file=str(bad)))
    rc, err = nginx_t(conf)
    assert rc != 0 and "signing_secret_file" in err, err
