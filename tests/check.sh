#!/bin/sh
# check.sh - every test suite in order: unit, golden, corpus, tshark oracle, tshark follow,
# tshark TCP analysis, tshark http, WebSocket picked up mid-stream (cut captures),
# WebSocket upgrades and messages against the generators' records, WebSocket frames against
# tshark and the corpus peers, connection history against Zeek, the command line and
# terminal safety, hostile captures (with memory bounds), live capture, and the sanitizer pass.
# Usage: tests/check.sh UNIT_BIN... [-- SAN_WSTAP SAN_UNIT_BIN...]
#   (make check passes the Check binaries, then the sanitizer build's binary and unit tests)
# Each suite prints its own results and ends with "NAME: N passed, N failed"; this script adds
# them up and ends with exactly one line "N passed, N failed". It exits non-zero when a check
# failed or a suite crashed (exited non-zero without a count of failures, or printed no count).
cd "$(dirname "$0")/.." || exit 2

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

total_p=0
total_f=0
bad_suites=

run_suite() { # run_suite NAME SCRIPT ARGS...
    name=$1
    shift
    echo "=== $name: sh $*"
    { sh "$@" 2>&1; echo $? >"$tmp/rc"; } | tee "$tmp/log"
    rc=$(cat "$tmp/rc")
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$tmp/log" | tail -n 1)
    p=$(printf '%s\n' "$line" | sed -n 's/^[a-z]*: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p')
    f=$(printf '%s\n' "$line" | sed -n 's/^[a-z]*: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p')
    if [ -z "$p" ]; then
        echo "=== $name: CRASHED: no '$name: N passed, N failed' line (exit $rc)"
        p=0
        f=1
        bad_suites="$bad_suites $name"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "=== $name: exit $rc with no failed check: counted as one failure"
        f=1
        bad_suites="$bad_suites $name"
    elif [ "$f" -ne 0 ]; then
        bad_suites="$bad_suites $name"
    fi
    total_p=$((total_p + p))
    total_f=$((total_f + f))
    echo
}

units=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    units="$units $1"
    shift
done
[ "${1:-}" = -- ] && shift
# shellcheck disable=SC2086
run_suite unit tests/run-unit.sh $units
run_suite golden tests/run-golden.sh
run_suite corpus tests/run-corpus.sh
run_suite oracle tests/tshark-tcpopen.sh
run_suite follow tests/tshark-follow.sh
run_suite tcpanal tests/tshark-tcpanal.sh
run_suite http tests/tshark-http.sh
run_suite upgrade tests/upgrade-expect.sh
run_suite wsmsg tests/ws-sidecar.sh
run_suite har tests/har.sh
run_suite wsframes tests/tshark-ws.sh
run_suite tlsoracle tests/tshark-tls.sh
run_suite latency tests/tshark-rtt.sh
run_suite midstream tests/midstream.sh
run_suite zeekconn tests/zeek-conn.sh
run_suite cli tests/cli.sh
run_suite hostile tests/hostile.sh
run_suite live tests/live.sh
if [ $# -gt 0 ]; then
    run_suite sanitize tests/sanitize.sh "$@"
else
    echo "=== sanitize: no sanitizer build given (make check builds one: make san)"
    total_f=$((total_f + 1))
    bad_suites="$bad_suites sanitize"
fi

[ -n "$bad_suites" ] && echo "failing suites:$bad_suites"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
