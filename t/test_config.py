"""§3: misconfiguration fails `nginx -t`, naming the directive and file:line."""

import re

from helpers import number_block


def _line_of(text, needle, start=0):
    idx = text.index(needle, start)
    return text.count("\n", 0, idx) + 1


def _reported(stderr):
    """(file, line) of every 'in FILE:LINE' in nginx's [emerg] output."""
    return [(f, int(n)) for f, n in re.findall(r" in (\S+nginx\.conf):(\d+)", stderr)]


def _assert_fails(nginx_t, conf, names, lines=None):
    rc, err = nginx_t(conf)
    assert rc != 0, "nginx -t accepted a bad config:\n" + err
    assert "[emerg]" in err, err
    assert any(n in err for n in names), "none of %r in:\n%s" % (names, err)
    where = _reported(err)
    assert where, "no file:line in:\n" + err
    assert all(f == nginx_t.last_conf_path for f, _ in where), err
    if lines is not None:
        lo, hi = lines
        assert any(lo <= n <= hi for _, n in where), "line not in %d..%d:\n%s" % (lo, hi, err)
    return err


def test_default_test_config_is_valid(nginx_t):
    rc, err = nginx_t(nginx_t.render())
    assert rc == 0, err
    assert "test is successful" in err


def test_number_without_phone_number_id(nginx_t):
    conf = nginx_t.render(numbers=number_block(omit=("phone_number_id",)))
    start = _line_of(conf, "whatsapp_number ")
    end = _line_of(conf, "}", conf.index("whatsapp_number "))
    _assert_fails(nginx_t, conf, ["phone_number_id"], (start, end))


def test_two_blocks_same_number(nginx_t):
    numbers = number_block() + "\n    " + number_block(phone_number_id="106540352242999")
    conf = nginx_t.render(numbers=numbers)
    _assert_fails(nginx_t, conf, ["whatsapp_number", "+15550783881"])


def test_two_blocks_same_phone_number_id(nginx_t):
    numbers = number_block() + "\n    " + number_block(number="+14155551234")
    conf = nginx_t.render(numbers=numbers)
    _assert_fails(nginx_t, conf, ["phone_number_id", "106540352242922"])


def test_unreadable_app_secret_file(nginx_t):
    numbers = number_block(app_secret_file="@PREFIX@/does/not/exist.secret")
    conf = nginx_t.render(numbers=numbers)
    line = _line_of(conf, "app_secret_file")
    _assert_fails(nginx_t, conf, ["app_secret_file"], (line, line))


def test_unreadable_access_token_file(nginx_t):
    numbers = number_block(access_token_file="@PREFIX@/missing.token")
    conf = nginx_t.render(numbers=numbers)
    line = _line_of(conf, "access_token_file")
    _assert_fails(nginx_t, conf, ["access_token_file"], (line, line))


def test_invalid_e164_too_short(nginx_t):
    conf = nginx_t.render(numbers=number_block(number="+12"))
    line = _line_of(conf, "whatsapp_number ")
    _assert_fails(nginx_t, conf, ["whatsapp_number"], (line, line))


def test_invalid_e164_without_plus(nginx_t):
    conf = nginx_t.render(numbers=number_block(number="14155551234"))
    line = _line_of(conf, "whatsapp_number ")
    _assert_fails(nginx_t, conf, ["whatsapp_number"], (line, line))


def test_invalid_e164_letters(nginx_t):
    conf = nginx_t.render(numbers=number_block(number="+1415555CALL"))
    line = _line_of(conf, "whatsapp_number ")
    _assert_fails(nginx_t, conf, ["whatsapp_number"], (line, line))


def test_store_max_size_banana(nginx_t):
    conf = nginx_t.render(store_line="whatsapp_store @PREFIX@/store max_size=banana;")
    line = _line_of(conf, "whatsapp_store ")
    _assert_fails(nginx_t, conf, ["whatsapp_store", "max_size"], (line, line))


def test_window_not_a_time(nginx_t):
    conf = nginx_t.render(window="forever")
    line = _line_of(conf, "whatsapp_window ")
    _assert_fails(nginx_t, conf, ["whatsapp_window"], (line, line))


def test_unknown_directive_in_number_block(nginx_t):
    numbers = number_block(extra="colour blue;")
    conf = nginx_t.render(numbers=numbers)
    line = _line_of(conf, "colour blue;")
    _assert_fails(nginx_t, conf, ["colour"], (line, line))


def test_missing_callback_location(nginx_t):
    """Events are delivered through the whatsapp_callback location: no location, no start."""
    conf = nginx_t.render()
    start = conf.index("location = /_whatsapp/callback {")
    end = conf.index("}", start) + 1
    _assert_fails(nginx_t, conf[:start] + conf[end:], ["whatsapp_callback"])


def test_client_max_body_size_after_whatsapp_webhook_is_accepted(nginx_t):
    conf = nginx_t.render()
    old = "whatsapp_webhook;"
    assert old in conf
    rc, err = nginx_t(conf.replace(old, old + " client_max_body_size 5m;", 1))
    assert rc == 0, err


def test_whatsapp_delivery_twice(nginx_t):
    conf = nginx_t.render(http_extra="whatsapp_delivery max_age=1h;\n    whatsapp_delivery timeout=5s;")
    _assert_fails(nginx_t, conf, ["whatsapp_delivery"])
