#!/bin/sh
# deps.sh - install wstap's build and test dependencies (Debian 12 package names).
# As root: installs what is missing with apt-get. Otherwise: prints the one command to run.
# Usage: tools/deps.sh [build|check|bench]   (build: compile only; check: also the test oracles;
#        bench: also what bench/gen.sh and bench/run.sh need, see bench/README.md)
set -eu
mode=${1:-check}
pkgs="build-essential pkg-config libpcap-dev zlib1g-dev libssl-dev check"
if [ "$mode" = check ]; then
    # tshark is the test oracle, python3 parses JSON in tests, clang/libclang-rt for the
    # fuzzers, valgrind for make valgrind, groff/man-db to lint the man page; the live capture
    # test (tests/live.sh) needs tcpdump, python3-websockets, iproute2 (ip netns, ss) and
    # procps (pgrep). The TLS capture generators (tests/gen/make-tls.sh, issue #19) run real
    # programs: nodejs + node-ws, nginx-light (TLS terminator, h2), curl and openssl
    # (s_client, throwaway certificates).
    pkgs="$pkgs tshark python3 clang libclang-rt-14-dev valgrind groff man-db"
    pkgs="$pkgs tcpdump python3-websockets iproute2 procps"
    pkgs="$pkgs nodejs node-ws nginx-light curl openssl"
    # The --har suite (tests/har.sh): python3-jsonschema validates the archives against the
    # HAR 1.2 schema; npm installs har-validator (a real HAR consumer, tests/har/package.json
    # and its lock file) into tests/har/node_modules with npm ci. npm is Debian's package
    # unless the installed nodejs brings its own (NodeSource's does; the two conflict).
    pkgs="$pkgs python3-jsonschema"
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
elif [ "$mode" = bench ]; then
    # bench/gen.sh: node-ws and node's http for traffic, tcpdump, ip/ss and ethtool for lo,
    # openssl for many-small-tls's throwaway certificate;
    # bench/run.sh: tshark and tcpflow to compare with, GNU time for wall time and peak RSS.
    pkgs="$pkgs nodejs node-ws tcpdump tshark tcpflow time ethtool iproute2 python3 openssl"
elif [ "$mode" != build ]; then
    echo "usage: tools/deps.sh [build|check|bench]" >&2
    exit 2
fi
# tests/har/node_modules from tests/har/package-lock.json (check mode; needs npm and the
# registry once, here, never at test time).
har_npm() {
    [ "$mode" = check ] || return 0
    here=$(cd "$(dirname "$0")/.." && pwd)
    [ -d "$here/tests/har/node_modules/har-validator" ] && return 0
    command -v npm >/dev/null 2>&1 || return 0
    echo "wstap: npm ci in tests/har (har-validator for make har)" >&2
    (cd "$here/tests/har" && npm ci --no-audit --no-fund >&2)
}
missing=""
for p in $pkgs; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
if [ -z "$missing" ]; then
    har_npm
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "wstap: missing packages:$missing" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "wstap: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
har_npm
