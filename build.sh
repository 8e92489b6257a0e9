#!/usr/bin/env bash
# ngx_whatsapp build driver.
#   ./build.sh          install packages (apt-get), build the module, core, tests, tools
#   ./build.sh test     unit tests (ctest) + end-to-end suite (pytest), then both
#                       again against an ASan/UBSan build, then a short fuzz smoke run, then
#                       (as root on Debian) the package and package_check, as `package-check`
#   ./build.sh serve    run nginx in the foreground with conf.example/ on 127.0.0.1, beside the
#                       Graph stand-in and the callback receiver; Ctrl-C or SIGTERM stops all three
#       WA_SERVE_NO_BUILD=1   serve what build/ holds, without building first
#       WA_SERVE_MODULE=FILE  serve FILE instead of build/nginx's module (no build), from a scratch
#                             nginx prefix under $TMPDIR whose var/ holds the logs and the store
#                             (conf.example/ unchanged: the prefix links to it)
#   ./build.sh package  build, then the Debian package
#                       build/package/libnginx-mod-http-whatsapp_<VERSION file>_<arch>.deb
#   ./build.sh package-check   build, package, then install the .deb with apt-get, run it under
#                       Debian's stock /etc/nginx/nginx.conf on 127.0.0.1, and purge it (root, Debian)
#   ./build.sh bench    run the benchmarks in bench/
#   ./build.sh fuzz     build the libFuzzer targets in fuzz/ with clang (build/fuzz) and
#                       run each for FUZZ_SECONDS (default 30) on a copy of its seeds
# NGINX_SRC=/path/to/nginx/source builds against another nginx (default: Debian's nginx-dev).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")" && pwd)
BUILD=$ROOT/build
NGINX_SRC=${NGINX_SRC:-/usr/share/nginx/src}
JOBS=${JOBS:-$(nproc)}    # JOBS=N ./build.sh ...: parallel compile jobs
PY=/usr/bin/python3

PACKAGES=(
    build-essential cmake pkg-config
    nginx nginx-dev libpcre2-dev zlib1g-dev libssl-dev
    liblmdb-dev lmdb-utils rapidjson-dev libphonenumber-dev libicu-dev libgtest-dev
    python3 python3-pytest python3-prometheus-client python3-websockets
    openssl curl wrk
    dpkg-dev    # dpkg-shlibdeps, for the package's Depends
)
# Only for the libFuzzer targets (`fuzz`, and the smoke run of `test`):
# clang-14, and libclang-rt-14-dev for libclang_rt.fuzzer (libFuzzer).
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
# Seconds per target in `test` (10 targets; keeps the clang build plus the
# runs within about 2 minutes).
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-5}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# install_packages [PACKAGE...]: the missing ones of PACKAGE... (default: PACKAGES).
install_packages() {
    local wanted=("$@") missing=()
    [ ${#wanted[@]} -gt 0 ] || wanted=("${PACKAGES[@]}")
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    log "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# build_core DIR [cmake args...]
build_core() {
    local dir=$1
    shift
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

# build_module DIR EXTRA_CFLAGS EXTRA_LDFLAGS [PRELOAD]: the .so against $NGINX_SRC,
# configured with the installed nginx's own flags so the binary accepts it.
# PRELOAD (sanitized builds): the runtimes the uninstrumented nginx needs first.
build_module() {
    local dir=$1 cflags=$2 ldflags=$3 preload=${4:-}
    local stamp
    stamp=$( (cat "$ROOT/config" "$ROOT/config.make"; find "$ROOT/src" -name "*.[ch]pp" | sort;
              echo "$NGINX_SRC $cflags $ldflags") | sha256sum | cut -d' ' -f1)
    if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.stamp" 2>/dev/null)" != "$stamp" ]; then
        log "configuring the module in $dir"
        mkdir -p "$dir"
        local flags=()
        if [ -f "$NGINX_SRC/conf_flags" ]; then
            # shellcheck disable=SC1091
            . "$NGINX_SRC/conf_flags"
            flags=("${NGX_CONF_FLAGS[@]}")
        else
            flags=(--with-compat)
        fi
        (cd "$NGINX_SRC" && ./configure \
            --with-cc-opt="$(dpkg-buildflags --get CFLAGS) -fPIC $(dpkg-buildflags --get CPPFLAGS) $cflags" \
            --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC $ldflags" \
            "${flags[@]}" --add-dynamic-module="$ROOT" --builddir="$dir" >"$dir/configure.log" 2>&1) ||
            { cat "$dir/configure.log"; exit 1; }
        echo "$stamp" >"$dir/.stamp"
    fi
    make -s -f "$dir/Makefile" -C "$NGINX_SRC" -j "$JOBS" modules
    # Debian's own smoke test: the binary must accept the module.
    printf 'load_module %s;\nevents{}\n' "$dir/ngx_http_whatsapp_module.so" >"$dir/load-test.conf"
    if [ -n "$preload" ]; then
        LD_PRELOAD="$preload" ASAN_OPTIONS="$SAN_ASAN_OPTIONS" UBSAN_OPTIONS="$SAN_UBSAN_OPTIONS" \
            nginx -t -q -g 'error_log /dev/null; pid /dev/null;' -c "$dir/load-test.conf"
    else
        nginx -t -q -g 'error_log /dev/null; pid /dev/null;' -c "$dir/load-test.conf"
    fi
}

SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
# nginx itself is not instrumented and frees its pools at exit in ways
# LeakSanitizer cannot follow: leaks are checked by the unit tests.
SAN_ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:log_path=stderr"
SAN_UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# The sanitizer runtimes an uninstrumented binary loading the sanitized module
# needs preloaded: ASan first (it insists), then the UBSAN_OPTIONS keeper
# (t/ubsan_options.c; before libubsan so its hook wins), then UBSan.
san_preload() {
    echo "$(gcc -print-file-name=libasan.so):$BUILD/ubsan_options.so:$(gcc -print-file-name=libubsan.so)"
}

build_all() {
    install_packages
    log "building core, unit tests and tools"
    build_core "$BUILD/core"
    log "building ngx_http_whatsapp_module.so"
    build_module "$BUILD/nginx" "" ""
}

build_sanitized() {
    log "building the ASan/UBSan variants"
    build_core "$BUILD/core-asan" -DWA_SANITIZE=ON
    gcc -shared -fPIC -O2 -Wall -Werror "$ROOT/t/ubsan_options.c" -o "$BUILD/ubsan_options.so"
    build_module "$BUILD/nginx-asan" "$SAN_FLAGS" "-fsanitize=address,undefined" "$(san_preload)"
}

# The libFuzzer targets (fuzz/*.cpp): clang, core built with
# -fsanitize=fuzzer-no-link,address,undefined (CMake WA_FUZZ).
build_fuzz() {
    install_packages "${FUZZ_PACKAGES[@]}"
    log "building the libFuzzer targets (clang) in $BUILD/fuzz"
    build_core "$BUILD/fuzz" -DWA_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14
}

# run_fuzz SECONDS: every target for SECONDS. The working corpus is
# build/fuzz/corpus/<target>, seeded from fuzz/corpus/<target> and kept
# between runs; crashing inputs go to build/fuzz/artifacts. Nothing is
# written into the source tree.
run_fuzz() {
    local seconds=$1 failed=() src name corpus logf seed
    mkdir -p "$BUILD/fuzz/artifacts"
    for src in "$ROOT"/fuzz/*.cpp; do
        name=$(basename "$src" .cpp)
        corpus=$BUILD/fuzz/corpus/$name
        logf=$BUILD/fuzz/$name.log
        mkdir -p "$corpus"
        for seed in "$ROOT/fuzz/corpus/$name"/*; do
            [ ! -f "$seed" ] || [ -e "$corpus/${seed##*/}" ] || cp "$seed" "$corpus/"
        done
        log "fuzzing $name for ${seconds}s"
        if (cd "$BUILD/fuzz" &&
            UBSAN_OPTIONS=print_stacktrace=1 "./$name" -max_total_time="$seconds" \
                -timeout=10 -print_final_stats=1 \
                -artifact_prefix="$BUILD/fuzz/artifacts/$name-" "$corpus" >"$logf" 2>&1); then
            grep -E '^#[0-9]+[[:space:]]+DONE' "$logf" >&2 || true
        else
            tail -n 40 "$logf" >&2
            failed+=("$name")
        fi
    done
    if [ ${#failed[@]} -gt 0 ]; then
        echo "fuzz targets failed: ${failed[*]} (logs in $BUILD/fuzz, inputs in $BUILD/fuzz/artifacts)" >&2
        return 1
    fi
}

# --- Debian package --------------------------------------------------------------------------
# Laid out as Debian packages its own nginx modules (dh_nginx): the .so in /usr/lib/nginx/modules,
# its load line in /usr/share/nginx/modules-available/mod-http-whatsapp.conf, linked from
# /etc/nginx/modules-enabled/50-mod-http-whatsapp.conf by the maintainer scripts (nginx-dev's
# dh_nginx autoscripts), a Depends on the nginx-abi-… the source was compiled against.
# Built with dpkg-deb alone from packaging/deb/; the version is the VERSION file.
PKG_NAME=libnginx-mod-http-whatsapp
PKG_MODCONF=mod-http-whatsapp.conf
PKG_LINK=50-$PKG_MODCONF
PKG_DIR=$BUILD/package

pkg_version() { tr -d '[:space:]' <"$ROOT/VERSION"; }
package_file() { echo "$PKG_DIR/${PKG_NAME}_$(pkg_version)_$(dpkg --print-architecture).deb"; }

# nginx_abi: the nginx-abi-… virtual package of the nginx source the module is compiled against
# ($NGINX_SRC: nginx-dev's debian/libnginx-mod.abisubstvars, what dh_nginx reads), which the
# installed nginx must provide too (else it could not load the module, nor install the package).
nginx_abi() {
    local sv=$NGINX_SRC/debian/libnginx-mod.abisubstvars abi nginx_pkg provides
    if [ ! -f "$sv" ]; then
        echo "package: $sv not found: the package needs Debian's nginx-dev source" \
            "(NGINX_SRC=/usr/share/nginx/src)" >&2
        return 1
    fi
    abi=$(sed -n 's/^nginx:abi=//p' "$sv")
    [ -n "$abi" ] || { echo "package: no nginx:abi= line in $sv" >&2; return 1; }
    nginx_pkg=$(dpkg-query -S "$(readlink -f "$(command -v nginx)")" 2>/dev/null | cut -d: -f1)
    provides=$(dpkg-query -W -f='${Provides}' "$nginx_pkg" 2>/dev/null || true)
    if ! printf '%s\n' "$provides" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qxF "$abi"; then
        echo "package: the module is compiled against $abi ($sv), but the installed nginx" \
            "(${nginx_pkg:-not a Debian package}) provides '${provides}'" >&2
        return 1
    fi
    echo "$abi"
}

# build_package: build/package/<name>_<version>_<arch>.deb from what build_all built.
build_package() {
    local version arch abi deb sde stage doc shlibs depends maintainer size s
    local so=$BUILD/nginx/ngx_http_whatsapp_module.so admin=$BUILD/core/whatsapp-admin
    version=$(pkg_version)
    dpkg --validate-version "$version" || { echo "VERSION: '$version' is no Debian version" >&2; return 1; }
    arch=$(dpkg --print-architecture)
    abi=$(nginx_abi)
    if [ ! -f "$so" ] || [ ! -x "$admin" ]; then
        echo "package: build first ($so, $admin)" >&2
        return 1
    fi
    deb=$(package_file)
    log "packaging $(basename "$deb") (nginx ABI $abi)"

    # Every timestamp in the .deb is the last commit's (reproducible builds).
    sde=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}
    stage=$PKG_DIR/root
    doc=$stage/usr/share/doc/$PKG_NAME
    rm -rf "$stage" "$PKG_DIR/shlibs" "$PKG_DIR"/*.deb
    install -d -m 0755 "$stage/DEBIAN" "$stage/usr/lib/nginx/modules" \
        "$stage/usr/share/nginx/modules-available" "$stage/usr/bin" "$doc/examples"

    # Stripped as dh_strip does; build/ keeps the binaries with their debug info.
    strip --remove-section=.comment --remove-section=.note --strip-unneeded \
        -o "$stage/usr/lib/nginx/modules/ngx_http_whatsapp_module.so" "$so"
    strip --remove-section=.comment --remove-section=.note -o "$stage/usr/bin/whatsapp-admin" "$admin"
    chmod 0644 "$stage/usr/lib/nginx/modules/ngx_http_whatsapp_module.so"
    chmod 0755 "$stage/usr/bin/whatsapp-admin"
    # dh_nginx's load line (relative to the prefix /usr/share/nginx: modules -> /usr/lib/nginx/modules).
    echo 'load_module modules/ngx_http_whatsapp_module.so;' \
        >"$stage/usr/share/nginx/modules-available/$PKG_MODCONF"

    # Docs: the README, and examples that configure nothing until copied (no secrets: the
    # example reads them from /etc/nginx/whatsapp/, which the package does not create).
    gzip -9n <"$ROOT/README.md" >"$doc/README.md.gz"
    install -m 0644 "$ROOT/packaging/deb/copyright" "$doc/copyright"
    install -m 0644 "$ROOT/packaging/deb/whatsapp.conf" "$ROOT/conf.example/whatsapp-internal.conf" \
        "$doc/examples/"
    maintainer="${DEBFULLNAME:-$(git -C "$ROOT" config user.name || echo "ngx_whatsapp maintainers")}"
    maintainer+=" <${DEBEMAIL:-$(git -C "$ROOT" config user.email || echo "root@localhost")}>"
    printf '%s (%s) unstable; urgency=medium\n\n  * Built from ngx_whatsapp %s by ./build.sh package.\n\n -- %s  %s\n' \
        "$PKG_NAME" "$version" "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "(no git)")" \
        "$maintainer" "$(date -u -R -d "@$sde")" | gzip -9n >"$doc/changelog.gz"

    # Maintainer scripts: nginx-dev's dh_nginx autoscripts, as in Debian's own module packages
    # (link on install; moved aside to .removed on remove; both gone on purge; nginx-reload trigger).
    for s in postinst prerm postrm; do
        [ -f "/usr/share/debhelper/autoscripts/$s-nginx" ] ||
            { echo "package: /usr/share/debhelper/autoscripts/$s-nginx (nginx-dev) not found" >&2; return 1; }
        {
            printf '#!/bin/sh\nset -e\n# Automatically added by dh_nginx (nginx-dev autoscript %s-nginx)\n' "$s"
            sed "s/#NAMES#/$PKG_MODCONF:$PKG_LINK/" "/usr/share/debhelper/autoscripts/$s-nginx"
            printf '# End automatically added section\n'
        } >"$stage/DEBIAN/$s"
        chmod 0755 "$stage/DEBIAN/$s"
        sh -n "$stage/DEBIAN/$s"
    done

    # Runtime libraries: dpkg-shlibdeps on both binaries (it wants a debian/control to read).
    mkdir -p "$PKG_DIR/shlibs/debian"
    printf 'Source: ngx-whatsapp\n\nPackage: %s\nArchitecture: any\n' "$PKG_NAME" \
        >"$PKG_DIR/shlibs/debian/control"
    shlibs=$(cd "$PKG_DIR/shlibs" && dpkg-shlibdeps -O \
        -e"$stage/usr/lib/nginx/modules/ngx_http_whatsapp_module.so" -e"$stage/usr/bin/whatsapp-admin")
    shlibs=${shlibs#shlibs:Depends=}
    [ -n "$shlibs" ] || { echo "package: dpkg-shlibdeps found no libraries" >&2; return 1; }
    depends="$abi, $shlibs"

    (cd "$stage" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
    size=$(du -s --apparent-size --block-size=1024 --exclude=DEBIAN "$stage" | cut -f1)
    "$PY" - "$ROOT/packaging/deb/control.in" "$stage/DEBIAN/control" \
        "$version" "$arch" "$maintainer" "$size" "$depends" <<'EOF'
import sys
src, dst, version, arch, maintainer, size, depends = sys.argv[1:]
text = open(src).read()
for key, value in (("VERSION", version), ("ARCH", arch), ("MAINTAINER", maintainer),
                   ("INSTALLED_SIZE", size), ("DEPENDS", depends)):
    text = text.replace("@%s@" % key, value)
if "@" in text.replace(maintainer, ""):
    sys.exit("%s: a placeholder is left" % src)
open(dst, "w").write(text)
EOF
    chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
    find "$stage" -exec touch -h -d "@$sde" {} +
    SOURCE_DATE_EPOCH=$sde dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
    dpkg-deb --info "$deb" | sed -n '/^ Package:/,/^ Description:/p' >&2
    dpkg-deb --contents "$deb" >&2
    if command -v lintian >/dev/null; then
        log "lintian (information only)"
        lintian --info "$deb" >&2 || true
    fi
    log "built $deb"
}

PKG_CHECK_CONF=/etc/nginx/conf.d/whatsapp-pkgcheck.conf
PKG_CHECK_STORE=/var/lib/ngx-whatsapp-pkgcheck

# package_check_skip: why package_check cannot run here (nothing when it can).
package_check_skip() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "needs root (it installs the package, starts the system nginx, then purges it)"
    elif [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null; then
        echo "needs Debian (apt-get, dpkg, /etc/debian_version)"
    fi
}

# etc_nginx_state: every path under /etc/nginx with its type, link target and checksum.
etc_nginx_state() {
    find /etc/nginx -printf '%p %y %l\n' | LC_ALL=C sort
    find /etc/nginx -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum
}

# nginx_var_state: what a start of the system nginx changes outside /etc: its temp directories
# (created, or handed to its user) and its logs; path, type, owner, mode, size.
nginx_var_state() {
    find /var/lib/nginx /var/log/nginx -printf '%p %y %u:%g %m %s\n' 2>/dev/null | LC_ALL=C sort
}

# restore_nginx_var STATE: back to STATE (nginx_var_state's): new paths removed, owners and modes
# put back, logs cut to their former size. Only paths the stock nginx's worker user owns now are
# touched (what that nginx made or took over), not those of another nginx running meanwhile.
restore_nginx_var() {
    local p y o m n bo bm bn user
    local -A before=()
    user=$(sed -n 's/^[[:space:]]*user[[:space:]]\+\([^[:space:];]*\).*/\1/p' /etc/nginx/nginx.conf | head -n 1)
    user=${user:-nobody}
    while read -r p y o m n; do before[$p]="$y $o $m $n"; done <<<"$1"
    while read -r p y o m n; do
        if [ ! -e "$p" ] || [ "${o%%:*}" != "$user" ]; then continue; fi
        if [ -z "${before[$p]+set}" ]; then
            rm -rf "$p"
            continue
        fi
        read -r _ bo bm bn <<<"${before[$p]}"
        [ "$o" = "$bo" ] || chown -h "$bo" "$p"
        [ "$m" = "$bm" ] || chmod "$bm" "$p"
        [ "$y" != f ] || [ "$n" = "$bn" ] || truncate -s "$bn" "$p"
    done <<<"$(nginx_var_state)"
}

# package_check DEB: install DEB with apt-get, nginx -t and start the system nginx with Debian's
# stock /etc/nginx/nginx.conf plus a conf.d snippet (packaging/deb/whatsapp.conf pointed at a
# temporary store, secrets and port), one signed webhook on 127.0.0.1, then stop, purge, and show
# that nothing is left. A running system nginx is stopped first and started again at the end.
# Runs in a subshell: its EXIT trap undoes whatever a failure left.
package_check() (
    deb=$(realpath -m "$1")
    why=$(package_check_skip)
    if [ -n "$why" ]; then
        log "package check skipped: $why"
        exit 0
    fi
    t0=$SECONDS
    step() { printf '\033[1m--> package check: %s\033[0m\n' "$*" >&2; }
    fail() {
        printf '\033[1;31mpackage check FAILED: %s\033[0m\n' "$*" >&2
        exit 1
    }
    tmp="" made="" started="" installed="" system_nginx="" errlog_size=0 var_before=""
    # stop_nginx SIGNAL: the nginx of /run/nginx.pid (TERM: fast, QUIT: graceful), waited for.
    stop_nginx() {
        local pid
        pid=$(cat /run/nginx.pid 2>/dev/null) || return 0
        kill -"$1" "$pid" 2>/dev/null || return 0
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
        echo "nginx (pid $pid) did not stop within 10s" >&2
        return 1
    }
    start_system_nginx() {
        case $system_nginx in
            systemd) step "starting the system nginx again (systemctl start nginx)"; systemctl start nginx ;;
            direct) step "starting the system nginx again (nginx)"; nginx ;;
        esac
        system_nginx=""
    }
    # shellcheck disable=SC2317  # run by the EXIT trap
    cleanup() {
        local rc=$?
        trap - EXIT
        if [ "$rc" -ne 0 ]; then
            [ ! -f /var/log/nginx/error.log ] ||
                { echo "--- /var/log/nginx/error.log since the check started:"; tail -c +"$((errlog_size + 1))" /var/log/nginx/error.log | tail -n 30; } >&2
            echo "package check: undoing what it did" >&2
        fi
        [ -z "$started" ] || stop_nginx TERM || true
        [ -z "$var_before" ] || restore_nginx_var "$var_before" || true
        [ -z "$made" ] || rm -rf "$PKG_CHECK_CONF" "$PKG_CHECK_STORE"
        [ -z "$tmp" ] || rm -rf "$tmp"
        [ -z "$installed" ] || DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o Dpkg::Use-Pty=0 "$PKG_NAME" >&2 || true
        start_system_nginx || true
        exit "$rc"
    }
    trap cleanup EXIT

    step "preconditions"
    [ -f "$deb" ] || fail "$deb not found (./build.sh package)"
    if dpkg -l | awk -v p="$PKG_NAME" '$2 == p || index($2, p ":") == 1 { f = 1 } END { exit !f }'; then
        fail "$PKG_NAME is already known to dpkg ($(dpkg -l "$PKG_NAME" | tail -n 1 | cut -c1-60)):" \
            "the check installs and purges it; apt-get purge $PKG_NAME first"
    fi
    for p in "$PKG_CHECK_CONF" "$PKG_CHECK_STORE"; do
        [ ! -e "$p" ] || fail "$p exists (left by an earlier run?): remove it first"
    done
    stock=$(dpkg-query -W -f='${Conffiles}\n' nginx-common | awk '$1 == "/etc/nginx/nginx.conf" { print $2 }')
    if [ -n "$stock" ] && [ "$(md5sum </etc/nginx/nginx.conf | cut -d' ' -f1)" = "$stock" ]; then
        echo "/etc/nginx/nginx.conf is Debian's stock file (nginx-common's conffile checksum)" >&2
    else
        echo "note: /etc/nginx/nginx.conf differs from nginx-common's stock file; used as it is" >&2
    fi
    etc_before=$(etc_nginx_state)
    if pid=$(cat /run/nginx.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
        if [ -d /run/systemd/system ] && systemctl -q is-active nginx 2>/dev/null; then
            step "stopping the running system nginx (systemctl stop nginx; started again at the end)"
            systemctl stop nginx
            system_nginx=systemd
        else
            step "stopping the running system nginx (pid $pid; started again at the end)"
            system_nginx=direct
            stop_nginx QUIT || fail "the system nginx did not stop"
        fi
    fi
    made=1    # from here on, $PKG_CHECK_CONF and $PKG_CHECK_STORE are the check's own
    var_before=$(nginx_var_state)

    step "apt-get install -y $deb"
    installed=1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 "$deb" >&2
    dpkg -l "$PKG_NAME" | tail -n 1 >&2
    [ "$(readlink "/etc/nginx/modules-enabled/$PKG_LINK")" = "/usr/share/nginx/modules-available/$PKG_MODCONF" ] ||
        fail "/etc/nginx/modules-enabled/$PKG_LINK is not the link to modules-available/$PKG_MODCONF"
    ls -l "/etc/nginx/modules-enabled/$PKG_LINK" >&2
    files=$(dpkg -L "$PKG_NAME")

    step "secrets in a temporary directory; an API key from /usr/bin/whatsapp-admin"
    tmp=$(mktemp -d /tmp/wa-pkgcheck.XXXXXX)
    openssl rand -hex 32 >"$tmp/app.secret"
    openssl rand -hex 24 >"$tmp/acme.token"
    printf 'whsec_%s\n' "$(openssl rand -base64 32)" >"$tmp/acme.whsec"
    /usr/bin/whatsapp-admin key create --tenant acme --scopes messaging:conversations:read |
        tail -n 1 >"$tmp/api.keys"
    chmod 0600 "$tmp"/*
    # The internal locations, plus the number's callback answered by the same server.
    cp "$ROOT/conf.example/whatsapp-internal.conf" "$tmp/whatsapp-internal.conf"
    printf '\n# package check: the number'"'"'s callback\nlocation = /_pkgcheck/events {\n    return 204;\n}\n' \
        >>"$tmp/whatsapp-internal.conf"
    ls -l "$tmp" >&2

    port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    verify=pkgcheck-$(openssl rand -hex 8)
    step "$PKG_CHECK_CONF: packaging/deb/whatsapp.conf on 127.0.0.1:$port, store $PKG_CHECK_STORE"
    "$PY" - "$ROOT/packaging/deb/whatsapp.conf" "$PKG_CHECK_CONF" "$tmp" "$PKG_CHECK_STORE" \
        "$port" "$verify" <<'EOF'
import sys
src, dst, tmp, store, port, verify = sys.argv[1:]
text = open(src).read()
for old, new in (("/etc/nginx/whatsapp/", tmp + "/"),
                 ("/var/lib/nginx/whatsapp", store),
                 ("listen 127.0.0.1:8080;", "listen 127.0.0.1:%s;" % port),
                 ("http://127.0.0.1:8092/events", "http://127.0.0.1:%s/_pkgcheck/events" % port),
                 ("whatsapp_verify_token CHANGE-ME;", "whatsapp_verify_token %s;" % verify),
                 ("include snippets/whatsapp-internal.conf;", "include %s/whatsapp-internal.conf;" % tmp)):
    if old not in text:
        sys.exit("%s no longer holds %r: update the package check" % (src, old))
    text = text.replace(old, new)
open(dst, "w").write("# ./build.sh package check (removed at its end), from %s\n%s" % (src, text))
EOF
    grep -v '^\s*#' "$PKG_CHECK_CONF" | grep -v '^\s*$' >&2
    pnid=$(sed -n 's/^ *phone_number_id *\([0-9]*\);.*/\1/p' "$PKG_CHECK_CONF")

    step "nginx -t (stock /etc/nginx/nginx.conf)"
    nginx -t >&2 || fail "nginx -t"

    step "starting nginx (stock /etc/nginx/nginx.conf, pid /run/nginx.pid)"
    [ ! -f /var/log/nginx/error.log ] || errlog_size=$(stat -c %s /var/log/nginx/error.log)
    started=1
    nginx || fail "nginx did not start"
    url=http://127.0.0.1:$port/webhook
    for _ in $(seq 50); do
        curl -s -o /dev/null --max-time 1 "$url" && break
        sleep 0.1
    done
    pid=$(cat /run/nginx.pid) || fail "no /run/nginx.pid"
    ps -o pid,user,args -p "$pid" --ppid "$pid" >&2

    step "GET $url (Meta's subscription check)"
    answer=$(curl -sS --max-time 5 -w ' %{http_code}' \
        "$url?hub.mode=subscribe&hub.verify_token=$verify&hub.challenge=1158201444")
    echo "$answer" >&2
    [ "$answer" = "1158201444 200" ] || fail "subscription check answered '$answer'"

    step "tools/cloudapi_sim.py send --url $url (one signed webhook)"
    answer=$("$PY" "$ROOT/tools/cloudapi_sim.py" send --url "$url" --secret-file "$tmp/app.secret" \
        --phone-number-id "$pnid" --from 33612345678 --name "Package Check" \
        --text "Hello from the package check") || true
    echo "$answer" >&2
    if [ "$(head -n 1 <<<"$answer")" != 200 ] || ! grep -q '"received":1' <<<"$answer"; then
        fail "the webhook was not answered 200 with \"received\":1"
    fi

    step "the event delivered to the callback (whatsapp-admin stats)"
    for _ in $(seq 50); do
        stats=$(/usr/bin/whatsapp-admin --store "$PKG_CHECK_STORE" stats) ||
            fail "whatsapp-admin stats"
        grep -qx 'outbox_pending 0' <<<"$stats" && break
        sleep 0.2
    done
    echo "$stats" >&2
    if ! grep -qx 'outbox_pending 0' <<<"$stats" || ! grep -qx 'outbox_dead 0' <<<"$stats"; then
        fail "the event was not delivered"
    fi

    step "stopping nginx; removing the snippet, the secrets and the store"
    stop_nginx TERM || fail "nginx did not stop"
    started=""
    rm -rf "$PKG_CHECK_CONF" "$PKG_CHECK_STORE" "$tmp"
    tmp="" made=""
    restore_nginx_var "$var_before"

    step "apt-get purge -y $PKG_NAME"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o Dpkg::Use-Pty=0 "$PKG_NAME" >&2
    installed=""

    step "nothing is left"
    if dpkg -l | awk -v p="$PKG_NAME" '$2 == p || index($2, p ":") == 1 { f = 1 } END { exit !f }'; then
        fail "dpkg -l still lists $PKG_NAME"
    fi
    echo "dpkg -l: no $PKG_NAME" >&2
    left=0 kept=0 gone=0
    while IFS= read -r p; do
        [ "$p" != /. ] || continue
        if [ -d "$p" ] && [ ! -L "$p" ]; then
            # A directory stays only while another package owns it too (/usr/bin, ...).
            if dpkg-query -S "$p" >/dev/null 2>&1; then kept=$((kept + 1)); else echo "left: $p/" >&2; left=1; fi
        elif [ -e "$p" ] || [ -L "$p" ]; then
            echo "left: $p" >&2
            left=1
        else
            gone=$((gone + 1))
        fi
    done <<<"$files"
    [ "$left" = 0 ] || fail "paths of the package are left"
    echo "dpkg -L's $((gone + kept)) paths: $gone gone; $kept directories stay, owned by other packages too ($(
        while IFS= read -r p; do [ ! -d "$p" ] || [ "$p" = /. ] || printf '%s ' "$p"; done <<<"$files"))" >&2
    left=$(find /etc/nginx/modules-enabled -mindepth 1 -iname '*whatsapp*')
    [ -z "$left" ] || fail "left in /etc/nginx/modules-enabled: $left"
    left=$(find /etc/nginx/modules-enabled -mindepth 1 -printf '%f ')
    echo "/etc/nginx/modules-enabled: no whatsapp link (it holds: ${left:-nothing})" >&2
    diff <(echo "$etc_before") <(etc_nginx_state) >&2 || fail "/etc/nginx differs from before the check"
    echo "/etc/nginx: every path and checksum as before the check" >&2
    diff <(echo "$var_before") <(nginx_var_state) >&2 || fail "/var/lib/nginx or /var/log/nginx differ from before"
    echo "/var/lib/nginx, /var/log/nginx: as before (temp directories the start made removed, logs cut back)" >&2
    [ ! -e /run/nginx.pid ] || [ -n "$system_nginx" ] || fail "/run/nginx.pid is left"
    start_system_nginx
    trap - EXIT
    log "package check passed in $((SECONDS - t0))s"
)

run_pytest() {
    # pytest exits 5 when it collected nothing: that is a failure here too.
    (cd "$ROOT" && "$PY" -m pytest -q -p no:cacheprovider t/ "$@")
}

run_tests() {
    log "unit tests"
    (cd "$BUILD/core" && ctest --output-on-failure -j "$JOBS")
    log "end-to-end tests"
    WA_MODULE="$BUILD/nginx/ngx_http_whatsapp_module.so" run_pytest

    build_sanitized
    log "unit tests under ASan/UBSan"
    (cd "$BUILD/core-asan" && ctest --output-on-failure -j "$JOBS")
    log "end-to-end tests under ASan/UBSan"
    WA_MODULE="$BUILD/nginx-asan/ngx_http_whatsapp_module.so" \
        WA_LD_PRELOAD="$(san_preload)" \
        WA_ASAN_OPTIONS="$SAN_ASAN_OPTIONS" \
        WA_UBSAN_OPTIONS="$SAN_UBSAN_OPTIONS" \
        WA_SANITIZED=1 run_pytest

    build_fuzz
    log "fuzz smoke run (${FUZZ_SMOKE_SECONDS}s per target)"
    run_fuzz "$FUZZ_SMOKE_SECONDS"

    # Last, as root on Debian (CI): the .deb built, installed, run under the stock nginx.conf, purged.
    local why
    why=$(package_check_skip)
    if [ -z "$why" ]; then
        log "Debian package: build, install, run, purge"
        build_package
        package_check "$(package_file)"
    else
        log "Debian package check skipped: $why"
    fi
}

# serve_prefix MODULE: a scratch nginx prefix in which conf.example/nginx.conf (a link to
# the repository's) loads MODULE as its build/nginx/ngx_http_whatsapp_module.so.
serve_prefix() {
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ngxwa-serve.XXXXXX")
    mkdir -p "$dir/build/nginx"
    ln -s "$(realpath "$1")" "$dir/build/nginx/ngx_http_whatsapp_module.so"
    ln -s "$ROOT/conf.example" "$dir/conf.example"
    echo "$dir"
}

SERVE_PIDS=()

# serve_stop [STATUS]: TERM to nginx (fast shutdown) and the helpers, then waits for them, so
# that no process of serve outlives it and the ports are free; exits with STATUS (default $?).
serve_stop() {
    local status=$?
    [ $# -eq 0 ] || status=$1
    trap - INT TERM HUP EXIT
    if [ ${#SERVE_PIDS[@]} -gt 0 ]; then
        kill -TERM "${SERVE_PIDS[@]}" 2>/dev/null || true
        wait "${SERVE_PIDS[@]}" 2>/dev/null || true
    fi
    exit "$status"
}

# nginx runs in the background and the script waits for it: a foreground nginx would keep the
# shell from running any trap (and a TERM sent to the script would never reach nginx).
serve() {
    local module=${WA_SERVE_MODULE:-} prefix=$ROOT/
    if [ -n "$module" ]; then
        prefix=$(serve_prefix "$module")/
        log "serving $module from the prefix $prefix"
    elif [ "${WA_SERVE_NO_BUILD:-}" != 1 ]; then
        build_all
    fi
    mkdir -p "$prefix/var/tmp"
    trap 'serve_stop 130' INT
    trap 'serve_stop 143' TERM
    trap 'serve_stop 129' HUP
    trap serve_stop EXIT
    log "starting the Cloud API simulator (Graph stand-in) on 127.0.0.1:8091"
    "$PY" "$ROOT/tools/cloudapi_sim.py" serve --port 8091 &
    SERVE_PIDS+=("$!")
    log "starting the callback receiver on 127.0.0.1:8092"
    "$PY" "$ROOT/tools/callback_receiver.py" --port 8092 &
    SERVE_PIDS+=("$!")
    log "nginx on http://127.0.0.1:8080 (Ctrl-C or SIGTERM stops everything)"
    nginx -p "$prefix" -c conf.example/nginx.conf -e var/error.log -g 'daemon off;' &
    local nginx_pid=$! status=0
    SERVE_PIDS+=("$nginx_pid")
    # Returns early when a trapped signal arrives; the trap then stops everything.
    wait "$nginx_pid" || status=$?
    log "nginx exited with status $status"
    # nginx -g 'daemon off;' ends with 0 only when told to stop. A signal sent to the script
    # alone ran its trap above; so this was a Ctrl-C, which reached nginx too: when nginx exits
    # (0) before bash acts on the SIGINT, bash takes it as handled and skips the trap.
    [ "$status" != 0 ] || status=130
    serve_stop "$status"
}

case "${1:-build}" in
    build) build_all ;;
    test) build_all && run_tests ;;
    serve) serve ;;
    package)
        build_all
        build_package
        ;;
    package-check)
        build_all
        build_package
        package_check "$(package_file)"
        ;;
    bench) build_all && "$ROOT/bench/run.sh" "${@:2}" ;;
    fuzz)
        install_packages
        build_fuzz
        run_fuzz "$FUZZ_SECONDS"
        ;;
    *) echo "usage: $0 [build|test|serve|package|package-check|bench|fuzz]" >&2; exit 2 ;;
esac
