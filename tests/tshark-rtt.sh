#!/bin/sh
# tshark-rtt.sh - wstap's ping round trips against tshark's ping/pong frames and packet times,
# over pcaps/ and the corpus (${WSTAP_CORPUS:-<repo>/../shared/corpus}). See tests/tshark_rtt.py.
# Skipped (neither passed nor failed) only when tshark is not installed.
# Environment: WSTAP_BIN, WSTAP_CORPUS, TSHARK.
# Last line: "latency: N passed, N failed, N skipped".
cd "$(dirname "$0")/.." || exit 2

CORPUS=${WSTAP_CORPUS:-$(pwd)/../shared/corpus}
WSTAP=${WSTAP_BIN:-./wstap}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

if ! command -v "${TSHARK:-tshark}" >/dev/null 2>&1; then
    echo "latency: SKIPPED: tshark is not installed (tools/deps.sh check installs it)"
    echo "latency: 0 passed, 0 failed"
    exit 0
fi
if [ ! -x "$WSTAP" ]; then
    echo "FAIL $WSTAP: not built (run: make wstap)"
    echo "latency: 0 passed, 1 failed"
    exit 1
fi
list=$(mktemp) || exit 2
trap 'rm -f "$list"' EXIT
for p in pcaps/*.pcap pcaps/*.pcapng; do
    [ -f "$p" ] && printf '%s\n' "$p"
done | LC_ALL=C sort >"$list"
extra_fail=0
if [ -d "$CORPUS" ]; then
    find "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | LC_ALL=C sort >>"$list"
else
    echo "FAIL corpus: directory $CORPUS does not exist (set WSTAP_CORPUS); only pcaps/ checked"
    extra_fail=1
fi
set --
while IFS= read -r f; do set -- "$@" "$f"; done <"$list"
out=$(WSTAP_BIN=$WSTAP "$PY" tests/tshark_rtt.py "$@" </dev/null)
rc=$?
printf '%s\n' "$out" | sed '$d'
last=$(printf '%s\n' "$out" | tail -n 1)
p=$(printf '%s\n' "$last" | sed -n 's/^latency: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
f=$(printf '%s\n' "$last" | sed -n 's/^latency: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
if [ -z "$p" ]; then
    printf '%s\n' "$last"
    echo "FAIL latency: tests/tshark_rtt.py crashed (exit $rc)"
    p=0
    f=1
fi
f=$((f + extra_fail))
echo "latency: $p passed, $f failed"
[ "$f" -eq 0 ]
