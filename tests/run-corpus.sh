#!/bin/sh
# run-corpus.sh - run wstap over every capture of the peer corpus and check that it copes.
# Usage: tests/run-corpus.sh
# Corpus: ${WSTAP_CORPUS:-<repo>/../shared/corpus}, every *.pcap and *.pcapng under it.
# Two checks per capture:
#   timeline  TZ=UTC LC_ALL=C $WSTAP_WRAP ./wstap -r F           exits 0, nothing on stderr
#   json      TZ=UTC LC_ALL=C $WSTAP_WRAP ./wstap -r F --json    exits 0, nothing on stderr, and
#             tests/check_events.py accepts every line (EVENTS.md fields, one final capture.end)
# No output is compared: the goldens of our own captures are in tests/TESTLIST.
# Outputs are kept in tests/out/corpus/. Environment: WSTAP_BIN, WSTAP_WRAP, WSTAP_TIMEOUT.
# Last line: "corpus: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2

CORPUS=${WSTAP_CORPUS:-$(pwd)/../shared/corpus}
OUT=tests/out/corpus
WSTAP=${WSTAP_BIN:-./wstap}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
TMO=
if command -v timeout >/dev/null 2>&1; then TMO="timeout ${WSTAP_TIMEOUT:-300}"; fi

passed=0
failed=0
finish() {
    echo "corpus: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

if [ ! -d "$CORPUS" ]; then
    echo "************************************************************************"
    echo "FAIL corpus: directory $CORPUS does not exist."
    echo "     The corpus lives in shared/corpus beside the repo (set WSTAP_CORPUS"
    echo "     to point elsewhere). Refusing to pass without it."
    echo "************************************************************************"
    failed=1
    finish
fi
if [ ! -x "$WSTAP" ]; then
    echo "FAIL $WSTAP: not built (run: make wstap)"
    failed=1
    finish
fi
mkdir -p "$OUT" || exit 2
list=$OUT/captures.list
find "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | LC_ALL=C sort >"$list"
if [ ! -s "$list" ]; then
    echo "FAIL corpus: no *.pcap or *.pcapng under $CORPUS"
    failed=1
    finish
fi

show() { # show FILE: the first lines of FILE, indented
    head -n "${2:-10}" "$1" | sed 's/^/    /'
}

while IFS= read -r f; do
    rel=${f#"$CORPUS"/}
    key=$(printf '%s' "$rel" | tr '/ ' '__')
    # timeline
    # shellcheck disable=SC2086
    env TZ=UTC LC_ALL=C $TMO $WSTAP_WRAP "$WSTAP" -r "$f" >"$OUT/$key.out" 2>"$OUT/$key.out.err" </dev/null
    rc=$?
    if [ "$rc" -eq 0 ] && [ ! -s "$OUT/$key.out.err" ]; then
        passed=$((passed + 1))
        tl=ok
    else
        failed=$((failed + 1))
        tl=FAIL
        echo "FAIL $rel (timeline): exit $rc$([ -s "$OUT/$key.out.err" ] && echo ', wrote to stderr')"
        [ -s "$OUT/$key.out.err" ] && show "$OUT/$key.out.err"
    fi
    # JSON
    # shellcheck disable=SC2086
    env TZ=UTC LC_ALL=C $TMO $WSTAP_WRAP "$WSTAP" -r "$f" --json >"$OUT/$key.json" 2>"$OUT/$key.json.err" </dev/null
    rc=$?
    why=
    [ "$rc" -eq 0 ] || why="exit $rc"
    [ -s "$OUT/$key.json.err" ] && why="${why:+$why, }wrote to stderr"
    "$PY" tests/check_events.py --offline --label "$rel" "$OUT/$key.json" >"$OUT/$key.check" 2>&1 </dev/null ||
        why="${why:+$why, }JSON does not follow EVENTS.md"
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        [ "$tl" = ok ] && echo "ok   $rel"
        [ "$tl" = ok ] || echo "ok   $rel (json)"
    else
        failed=$((failed + 1))
        echo "FAIL $rel (json): $why"
        [ -s "$OUT/$key.json.err" ] && show "$OUT/$key.json.err"
        [ -s "$OUT/$key.check" ] && show "$OUT/$key.check" 20
    fi
done <"$list"
finish
