#!/bin/sh
# tshark-tcpopen.sh - oracle: wstap's tcp.open and tcp.fin events against tshark's view of every
# handshake and FIN.
# Usage: tests/tshark-tcpopen.sh
# Runs tests/tshark_tcpopen.py over every capture in pcaps/ and in the corpus
# (${WSTAP_CORPUS:-<repo>/../shared/corpus}); see that file for the rules. One check per
# connection. Skipped (neither passed nor failed) only when tshark is not installed; a missing
# corpus fails. Environment: WSTAP_BIN, WSTAP_WRAP, WSTAP_CORPUS, TSHARK.
# Last line: "oracle: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2

CORPUS=${WSTAP_CORPUS:-$(pwd)/../shared/corpus}
WSTAP=${WSTAP_BIN:-./wstap}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

if ! command -v "${TSHARK:-tshark}" >/dev/null 2>&1; then
    echo "oracle: SKIPPED: tshark is not installed (tools/deps.sh check installs it)"
    echo "oracle: 0 passed, 0 failed"
    exit 0
fi
if [ ! -x "$WSTAP" ]; then
    echo "FAIL $WSTAP: not built (run: make wstap)"
    echo "oracle: 0 passed, 1 failed"
    exit 1
fi
extra_fail=0
list=$(mktemp) || exit 2
trap 'rm -f "$list"' EXIT
for p in pcaps/*.pcap pcaps/*.pcapng; do
    [ -f "$p" ] && printf '%s\n' "$p"
done | LC_ALL=C sort >"$list"
if [ -d "$CORPUS" ]; then
    CORPUS=$(cd "$CORPUS" && pwd)
    find "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | LC_ALL=C sort >>"$list"
else
    echo "FAIL corpus: directory $CORPUS does not exist (set WSTAP_CORPUS); only pcaps/ checked"
    extra_fail=1
fi
# Capture paths never contain newlines; xargs-free: pass them as arguments.
set --
while IFS= read -r f; do set -- "$@" "$f"; done <"$list"
WSTAP_CORPUS_LABEL_ROOT=$CORPUS "$PY" tests/tshark_tcpopen.py "$@" >"$list.out" </dev/null
rc=$?
summary=$(tail -n 1 "$list.out")
pat='s/^oracle: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/'
p=$(printf '%s\n' "$summary" | sed -n "$pat\\1/p")
f=$(printf '%s\n' "$summary" | sed -n "$pat\\2/p")
if [ -n "$p" ]; then
    sed '$d' "$list.out"
else
    cat "$list.out"
    echo "FAIL oracle: tests/tshark_tcpopen.py crashed (exit $rc)"
    p=0
    f=1
fi
rm -f "$list.out"
f=$((f + extra_fail))
echo "oracle: $p passed, $f failed"
[ "$f" -eq 0 ]
