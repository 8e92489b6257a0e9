"""§7.4: whatsapp_template blocks are checked at `nginx -t`, each error naming the block and
the file:line of the field at fault (or of the block, for what it lacks)."""

from test_config import _assert_fails, _line_of

GOOD = """whatsapp_template order_shipped {
        name       order_shipped_v2;
        languages  en_US fr-FR;
        parameters order_id eta;
        header_image https://cdn.example/ship.png;
        tenant     acme;
    }
    whatsapp_template welcome {
        name      welcome_v1;
        languages en;
        positional;
        parameters first_name;
    }"""


def block(*fields, key="order_shipped"):
    return "whatsapp_template %s {\n        %s\n    }" % (key, "\n        ".join(fields))


def test_good_templates_pass(nginx_t):
    rc, err = nginx_t(nginx_t.render(http_extra=GOOD))
    assert rc == 0, err


def test_unknown_field(nginx_t):
    conf = nginx_t.render(http_extra=block("name x;", "languages en;", "colour red;"))
    line = _line_of(conf, "colour red;")
    err = _assert_fails(nginx_t, conf, ['unknown field "colour"'], (line, line))
    assert "order_shipped" in err


def test_no_name(nginx_t):
    conf = nginx_t.render(http_extra=block("languages en_US;"))
    line = _line_of(conf, "whatsapp_template order_shipped")
    _assert_fails(nginx_t, conf, ['has no "name"'], (line, line))


def test_no_languages(nginx_t):
    conf = nginx_t.render(http_extra=block("name x;"))
    _assert_fails(nginx_t, conf, ['has no "languages"'])


def test_duplicate_key(nginx_t):
    extra = block("name a;", "languages en;") + "\n    " + block("name b;", "languages en;")
    conf = nginx_t.render(http_extra=extra)
    second = _line_of(conf, "whatsapp_template order_shipped",
                      conf.index("whatsapp_template order_shipped") + 1)
    _assert_fails(nginx_t, conf, ['duplicate template "order_shipped"'], (second, second))


def test_bad_language_code(nginx_t):
    conf = nginx_t.render(http_extra=block("name x;", "languages en_US english;"))
    line = _line_of(conf, "languages en_US english;")
    _assert_fails(nginx_t, conf, ['invalid language code "english"'], (line, line))


def test_bad_values(nginx_t):
    for field, needle in (("name Order Shipped;", "one value"),
                          ("name Order;", "invalid name"),
                          ("parameters order-id;", "invalid parameter"),
                          ("parameters a b a;", "twice"),
                          ("header_image http://cdn.example/x.png;", "https"),
                          ("tenant a/b;", "invalid tenant"),
                          ("positional yes;", "no value")):
        conf = nginx_t.render(http_extra=block("languages en;", field))
        line = _line_of(conf, field)
        _assert_fails(nginx_t, conf, [needle], (line, line))


def test_bad_key(nginx_t):
    conf = nginx_t.render(http_extra=block("name x;", "languages en;", key="has/slash"))
    _assert_fails(nginx_t, conf, ['invalid key "has/slash"'])


def test_template_only_at_http_level(nginx_t):
    conf = nginx_t.render(server_extra=block("name x;", "languages en;"))
    _assert_fails(nginx_t, conf, ['"whatsapp_template" directive is not allowed here'])
