#!/usr/bin/env python3
"""Checks the README's directive reference against the module's directive table.

The table is `commands[]` in src/ngx/module.cpp; the reference is README.md's "## Directives"
section, one block per directive as nginx's documentation writes them:

    ### whatsapp_store

    ```
    Syntax:  whatsapp_store PATH [max_size=SIZE];
    Default: —
    Context: http
    ```

What must agree:
  - the names: every directive of the table has a block, and every block a directive;
  - Context: http / server / location, as NGX_HTTP_MAIN_CONF / SRV_CONF / LOC_CONF say;
  - the arguments in Syntax, as NGX_CONF_NOARGS / TAKEn / TAKE12... / 1MORE / 2MORE / BLOCK say.
    A word is a required argument, [word] an optional one, "word ..." repeats, and a syntax
    ending in "{ ... }" is a block. TAKE flags must match the syntax's fewest and most arguments
    exactly; 1MORE / 2MORE need at least that many and no fewer possible. As in nginx's own
    documentation (ssl_protocols), a syntax of optional arguments only means "one or more of":
    its fewest is 1 — except for ANY, which takes none as well, so optional arguments only (or
    none) are what it must show;
  - Phase: present exactly for the directives whose handler installs the location's content
    handler (it sets clcf->handler in src/ngx/*.cpp), and it says "content"; or for those
    defined in a file that adds an access-phase handler (NGX_HTTP_ACCESS_PHASE), and it says
    "access";
  - Default: "—", or the directive written with its default value, ending in ";".

Usage: check_directives.py [--readme README.md] [--module src/ngx/module.cpp] [--src src/ngx]
Exit 0 when they agree; 1 with one line per mismatch on stderr; 2 when a file cannot be parsed.
"""

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONTEXT_FLAGS = {
    "NGX_HTTP_MAIN_CONF": "http",
    "NGX_HTTP_SRV_CONF": "server",
    "NGX_HTTP_LOC_CONF": "location",
}
INF = float("inf")
# flag -> (fewest, most) arguments
ARITY_FLAGS = {
    "NGX_CONF_NOARGS": (0, 0),
    "NGX_CONF_TAKE1": (1, 1),
    "NGX_CONF_TAKE2": (2, 2),
    "NGX_CONF_TAKE3": (3, 3),
    "NGX_CONF_TAKE12": (1, 2),
    "NGX_CONF_TAKE13": (1, 3),
    "NGX_CONF_TAKE23": (2, 3),
    "NGX_CONF_TAKE123": (1, 3),
    "NGX_CONF_FLAG": (1, 1),
    "NGX_CONF_1MORE": (1, INF),
    "NGX_CONF_2MORE": (2, INF),
    "NGX_CONF_ANY": (0, INF),
}
OPEN_ENDED = {"NGX_CONF_1MORE", "NGX_CONF_2MORE", "NGX_CONF_ANY"}


class ParseError(Exception):
    pass


# --- the directive table ---------------------------------------------------

COMMAND_RE = re.compile(
    r'\{\s*ngx_string\("(?P<name>[a-z_0-9]+)"\)\s*,\s*(?P<flags>[A-Z_0-9|\s]+?)\s*,'
    r'\s*(?P<handler>[A-Za-z_0-9:]+)\s*,', re.S)


def parse_table(module_cpp):
    """{name: {"contexts": set, "arity": flag, "block": bool, "handler": str}} from commands[]."""
    m = re.search(r"ngx_command_t\s+commands\[\]\s*=\s*\{(.*?)ngx_null_command", module_cpp, re.S)
    if not m:
        raise ParseError("module.cpp: no commands[] table ending in ngx_null_command")
    table = {}
    for c in COMMAND_RE.finditer(m.group(1)):
        flags = {f.strip() for f in c.group("flags").split("|")}
        arity = [f for f in flags if f in ARITY_FLAGS]
        if len(arity) != 1:
            raise ParseError("module.cpp: %s: expected one argument flag, got %s"
                             % (c.group("name"), sorted(flags)))
        table[c.group("name")] = {
            "contexts": {CONTEXT_FLAGS[f] for f in flags if f in CONTEXT_FLAGS},
            "arity": arity[0],
            "block": "NGX_CONF_BLOCK" in flags,
            "handler": c.group("handler"),
        }
    if not table:
        raise ParseError("module.cpp: commands[] has no entries")
    return table


def handler_phase(handler, sources):
    """"content" when the directive handler's body sets the location's content handler,
    "access" when it is defined beside an access-phase handler, else None."""
    pattern = re.compile(r"char\*\s+" + re.escape(handler) + r"\s*\([^)]*\)\s*noexcept\s*\{"
                         r"(?P<body>.*?)\n\}", re.S)
    for text in sources:
        m = pattern.search(text)
        if m:
            if re.search(r"(clcf|core_loc_conf\(cf\))->handler\s*=", m.group("body")):
                return "content"
            return "access" if "NGX_HTTP_ACCESS_PHASE" in text else None
    return None


# --- the README's reference ------------------------------------------------

def parse_reference(readme):
    """{name: {"syntax", "default", "context", "phase"}} from the "## Directives" section."""
    m = re.search(r"^## Directives\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    if not m:
        raise ParseError('README: no "## Directives" section')
    blocks = {}
    for b in re.finditer(r"^### `?(?P<name>whatsapp_[a-z_0-9]+)`?\s*\n(?P<body>.*?)(?=^### |\Z)",
                         m.group(1), re.S | re.M):
        name = b.group("name")
        fence = re.search(r"^```[a-z]*\n(.*?)^```", b.group("body"), re.S | re.M)
        fields = {}
        if fence:
            for line in fence.group(1).splitlines():
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("Syntax", "Default", "Context", "Phase"):
                    fields[key.strip().lower()] = value.strip()
        if name in blocks:
            raise ParseError("README: directive %s documented twice" % name)
        blocks[name] = fields
    return blocks


def syntax_arity(name, syntax):
    """(fewest, most, is_block) arguments of a Syntax line, or a problem string."""
    s = syntax.strip()
    is_block = bool(re.search(r"\{\s*(\.\.\.|…)\s*\}$", s))
    if is_block:
        s = re.sub(r"\{\s*(\.\.\.|…)\s*\}$", "", s).strip()
    elif not s.endswith(";"):
        return "Syntax must end in ';' (or '{ ... }' for a block): %r" % syntax
    s = s.rstrip(";").strip()
    words = re.findall(r"\[[^\]]*\]|\.\.\.|…|[^\s\[\]]+", s)
    if not words or words[0] != name:
        return "Syntax must start with the directive's name: %r" % syntax
    fewest, most = 0, 0
    for w in words[1:]:
        if w in ("...", "…"):
            most = INF
        elif w.startswith("["):
            most += 1
        else:
            fewest += 1
            most += 1
    return fewest, most, is_block


def check(module_cpp, readme, sources):
    """The mismatches, one message each (empty when the README and the table agree)."""
    table = parse_table(module_cpp)
    ref = parse_reference(readme)
    problems = []
    for name in sorted(set(table) - set(ref)):
        problems.append("%s: in module.cpp's directive table, missing from the README's "
                        "reference" % name)
    for name in sorted(set(ref) - set(table)):
        problems.append("%s: documented in the README, not in module.cpp's directive table"
                        % name)
    for name in sorted(set(table) & set(ref)):
        problems += ["%s: %s" % (name, p) for p in check_one(name, table[name], ref[name],
                                                             sources)]
    return problems


def check_one(name, cmd, doc, sources):
    problems = []
    for field in ("syntax", "default", "context"):
        if field not in doc:
            problems.append("no %s line in its block" % field.capitalize())
    if problems:
        return problems

    contexts = {c.strip() for c in doc["context"].split(",")}
    if contexts != cmd["contexts"]:
        problems.append("Context is %s in the README, %s in module.cpp"
                        % (", ".join(sorted(contexts)), ", ".join(sorted(cmd["contexts"]))))

    arity = syntax_arity(name, doc["syntax"])
    if isinstance(arity, str):
        problems.append(arity)
    else:
        fewest, most, is_block = arity
        want_fewest, want_most = ARITY_FLAGS[cmd["arity"]]
        if cmd["arity"] == "NGX_CONF_ANY":
            ok = fewest == 0  # optional arguments only (or none), however many
        else:
            if fewest == 0 and most > 0:
                fewest = 1  # nginx's convention: one or more of the optional arguments
            if cmd["arity"] in OPEN_ENDED:
                ok = fewest == want_fewest and most >= want_fewest
            else:
                ok = (fewest, most) == (want_fewest, want_most)
        if not ok:
            problems.append("Syntax %r takes %s argument(s); module.cpp says %s"
                            % (doc["syntax"], span(fewest, most), cmd["arity"]))
        if is_block != cmd["block"]:
            problems.append("Syntax %s a block; module.cpp %s NGX_CONF_BLOCK"
                            % ("is" if is_block else "is not", "has" if cmd["block"] else
                               "has no"))

    default = doc["default"]
    if default not in ("—", "-") and not (default.startswith(name + " ") and
                                          default.endswith(";")):
        problems.append("Default must be '—' or '%s VALUE;': %r" % (name, default))

    phase = handler_phase(cmd["handler"], sources)
    installs = {"content": "installs the content handler",
                "access": "adds an access-phase handler"}
    if phase and "phase" not in doc:
        problems.append("%s %s: its block needs 'Phase: %s'"
                        % (cmd["handler"], installs[phase], phase))
    elif phase and not doc["phase"].startswith(phase):
        problems.append("Phase is %r; %s %s" % (doc["phase"], cmd["handler"], installs[phase]))
    elif not phase and "phase" in doc:
        problems.append("Phase %r, but %s installs no handler" % (doc["phase"], cmd["handler"]))
    return problems


def span(fewest, most):
    if most == INF:
        return "%d or more" % fewest
    return "%d" % fewest if fewest == most else "%d to %d" % (fewest, most)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", default=str(REPO / "README.md"))
    ap.add_argument("--module", default=str(REPO / "src" / "ngx" / "module.cpp"))
    ap.add_argument("--src", default=str(REPO / "src" / "ngx"),
                    help="where the directive handlers are defined (*.cpp)")
    args = ap.parse_args(argv)
    try:
        module_cpp = Path(args.module).read_text()
        readme = Path(args.readme).read_text()
        sources = [p.read_text() for p in sorted(Path(args.src).glob("*.cpp"))]
        problems = check(module_cpp, readme, sources)
    except (OSError, ParseError) as e:
        print("check_directives: %s" % e, file=sys.stderr)
        return 2
    for p in problems:
        print("check_directives: %s" % p, file=sys.stderr)
    if problems:
        print("check_directives: the README's directive reference (%s) and the directive table "
              "(%s) disagree" % (args.readme, args.module), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
