"""The architecture, checked on the source: src/core's layers depend one way
(api -> domain -> meta, store -> base), only store/ knows LMDB, no nginx header
enters src/core, and src/ngx reaches the core only through its public headers."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "src" / "core"
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)

# What each layer may include, besides itself.
ALLOWED = {
    "base": set(),
    "store": {"base"},
    "meta": {"base"},
    "domain": {"base", "store", "meta"},
    "api": {"base", "domain", "meta"},
}


def includes(path):
    return INCLUDE.findall(path.read_text(errors="replace"))


def core_files():
    return sorted(p for p in CORE.rglob("*") if p.suffix in (".cpp", ".hpp"))


def test_every_core_file_is_in_a_layer():
    stray = [str(p.relative_to(REPO)) for p in core_files()
             if p.parent.parent != CORE or p.parent.name not in ALLOWED]
    assert not stray, stray


def violations(files):
    out = []
    for path in files:
        layer = path.parent.name
        for kind, name in includes(path):
            if kind == "<":
                if name == "lmdb.h" and layer != "store":
                    out.append("%s includes <lmdb.h>" % path.name)
                if name.startswith("ngx_"):
                    out.append("%s includes nginx's %s" % (path.name, name))
                continue
            target = name.split("/", 1)[0] if "/" in name else None
            if target is None:
                out.append("%s includes %r without its layer" % (path.name, name))
            elif target != layer and target not in ALLOWED.get(layer, set()):
                out.append("%s/%s includes %s" % (layer, path.name, name))
    return out


def test_core_layers_depend_one_way():
    assert violations(core_files()) == []


def test_only_store_cpp_files_know_lmdb_and_store_hpp_does_not():
    assert "lmdb.h" not in (CORE / "store" / "store.hpp").read_text()


def test_the_check_catches_a_wrong_way_include(tmp_path):
    bad = tmp_path / "base"
    bad.mkdir()
    f = bad / "x.hpp"
    f.write_text('#include "domain/outbox.hpp"\n#include <lmdb.h>\n')
    assert len(violations([f])) == 2


def test_ngx_glue_includes_core_headers_by_layer():
    bad = []
    for path in sorted((REPO / "src" / "ngx").glob("*.[ch]pp")):
        for kind, name in includes(path):
            if kind == '"' and "/" not in name and not (REPO / "src" / "ngx" / name).exists():
                bad.append("%s includes %s" % (path.name, name))
            if kind == "<" and name == "lmdb.h":
                bad.append("%s includes <lmdb.h>" % path.name)
    assert bad == []
