"""The README's directive reference agrees with the directive table (src/ngx/module.cpp), and
tools/check_directives.py, which says so, rejects a reference that does not.

No nginx needed: the checker reads the two texts."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHECKER = REPO / "tools" / "check_directives.py"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools import check_directives  # noqa: E402

README = (REPO / "README.md").read_text()
MODULE = (REPO / "src" / "ngx" / "module.cpp").read_text()
SOURCES = [p.read_text() for p in sorted((REPO / "src" / "ngx").glob("*.cpp"))]


def run_checker(*args):
    return subprocess.run([sys.executable, str(CHECKER)] + list(args), capture_output=True,
                          text=True, timeout=60)


def problems(readme=README, module=MODULE):
    return check_directives.check(module, readme, SOURCES)


def block(name, readme=README):
    """The README's reference block of one directive (heading to the next heading)."""
    m = re.search(r"^### %s\n.*?(?=^###? )" % re.escape(name), readme, re.S | re.M)
    assert m, name
    return m.group(0)


def edit_block(name, old, new, readme=README):
    b = block(name, readme)
    assert old in b, (name, old)
    return readme.replace(b, b.replace(old, new, 1), 1)


def test_the_reference_matches_the_directive_table():
    r = run_checker()
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


def test_every_directive_of_the_table_has_a_block():
    table = check_directives.parse_table(MODULE)
    ref = check_directives.parse_reference(README)
    assert set(table) == set(ref)
    # The table really was read: the directives every configuration uses are there.
    assert {"whatsapp_store", "whatsapp_number", "whatsapp_webhook", "whatsapp_reply"} <= set(table)


def test_a_missing_directive_is_rejected(tmp_path):
    readme = README.replace(block("whatsapp_window"), "", 1)
    assert problems(readme) == ["whatsapp_window: in module.cpp's directive table, missing "
                                "from the README's reference"]
    # The command line says so too, and exits non-zero.
    path = tmp_path / "README.md"
    path.write_text(readme)
    r = run_checker("--readme", str(path))
    assert r.returncode == 1
    assert "whatsapp_window: in module.cpp's directive table, missing" in r.stderr


# (directive, text of its block, replaced by, the one problem the checker must report)
BAD_BLOCKS = {
    "wrong context": (
        "whatsapp_reply", "Context: location", "Context: http, server, location",
        "whatsapp_reply: Context is http, location, server in the README, location in module.cpp"),
    "block written as a plain directive": (
        "whatsapp_number", "whatsapp_number E164 { ... }", "whatsapp_number E164;",
        "whatsapp_number: Syntax is not a block; module.cpp has NGX_CONF_BLOCK"),
    "handler without its phase": (
        "whatsapp_metrics", "Phase:   content (the location's handler)\n", "",
        "whatsapp_metrics: metrics_directive installs the content handler: its block needs "
        "'Phase: content'"),
    "phase on a directive that installs no handler": (
        "whatsapp_window", "Context: http\n", "Context: http\nPhase:   content\n",
        "whatsapp_window: Phase 'content', but conf_seconds installs no handler"),
    "no Default line": (
        "whatsapp_graph", "Default: whatsapp_graph /_whatsapp/graph;\n", "",
        "whatsapp_graph: no Default line in its block"),
    "Default not written as the directive": (
        "whatsapp_graph", "Default: whatsapp_graph /_whatsapp/graph;", "Default: /_whatsapp/graph",
        "whatsapp_graph: Default must be '—' or 'whatsapp_graph VALUE;': '/_whatsapp/graph'"),
}


@pytest.mark.parametrize("name,old,new,problem", BAD_BLOCKS.values(), ids=BAD_BLOCKS.keys())
def test_a_wrong_block_is_rejected(name, old, new, problem):
    assert problems(edit_block(name, old, new)) == [problem]


def test_a_wrong_argument_count_is_rejected():
    readme = edit_block("whatsapp_window", "whatsapp_window TIME;", "whatsapp_window TIME [LATER];")
    (p,) = problems(readme)
    assert p.startswith("whatsapp_window: Syntax 'whatsapp_window TIME [LATER];' takes 1 to 2 "
                        "argument(s); module.cpp says NGX_CONF_TAKE1"), p
    readme = edit_block("whatsapp_callback_allow", "CIDR ...;", "CIDR;")
    assert problems(readme) == []  # 1MORE: one CIDR is a valid reading of "one or more"
    readme = edit_block("whatsapp_callback_allow", "CIDR ...;", ";")
    assert len(problems(readme)) == 1
    # ANY (whatsapp_stream): optional arguments only, or none; a required one is wrong.
    for syntax in ("whatsapp_stream;", "whatsapp_stream [ping=TIME];"):
        readme = edit_block("whatsapp_stream", "whatsapp_stream [ping=TIME] [max_output=SIZE];",
                            syntax)
        assert problems(readme) == [], syntax
    readme = edit_block("whatsapp_stream", "[ping=TIME] [max_output=SIZE]", "ping=TIME")
    (p,) = problems(readme)
    assert "NGX_CONF_ANY" in p, p


def test_a_directive_the_table_lacks_is_rejected():
    extra = block("whatsapp_window").replace("whatsapp_window", "whatsapp_nonesuch")
    readme = README.replace(block("whatsapp_window"), block("whatsapp_window") + extra, 1)
    assert problems(readme) == ["whatsapp_nonesuch: documented in the README, not in "
                                "module.cpp's directive table"]


def test_a_directive_added_to_the_table_needs_a_block():
    module = MODULE.replace(
        "    ngx_null_command,",
        '    {ngx_string("whatsapp_nonesuch"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, guard_directive,\n'
        "     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},\n    ngx_null_command,", 1)
    assert problems(module=module) == ["whatsapp_nonesuch: in module.cpp's directive table, "
                                       "missing from the README's reference"]


@pytest.mark.parametrize("text", ["no such section", "## Directives\n\nnothing here\n"])
def test_an_unreadable_reference_is_an_error(tmp_path, text):
    path = tmp_path / "README.md"
    path.write_text(text)
    r = run_checker("--readme", str(path))
    assert r.returncode != 0
    assert "check_directives:" in r.stderr
