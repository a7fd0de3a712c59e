#!/bin/sh
# fuzz-regress.sh - replay the inputs the fuzzers found bugs with (tests/fuzz-regress/TARGET/).
#
#   pcap/    whole captures (fuzz_pcap inputs). Each is run through $WSTAP_BIN -r, with the
#            default limits and with the fuzzer's small ones, timeline and JSON, and with
#            everything shown (-v -x --payload-max 0). One check per run: the exit status is
#            0 or 2 (an input error is fine, a crash is not) and stderr holds no sanitizer
#            report. When build-fuzz/fuzz_pcap is built (make fuzz) each is replayed through
#            it as well.
#   stream/  fuzz_stream inputs (the format is at the top of fuzz/fuzz_stream.c); they reach the
#            application layers without a capture around them, so they are replayed through
#            build-fuzz/fuzz_stream, or reported as SKIPPED when it is not built.
# A replay through a fuzzer passes when it exits 0 with no sanitizer report.
#
# Environment: WSTAP_BIN (./wstap; use a sanitizer build to see sanitizer reports), WSTAP_WRAP
# (e.g. valgrind), WSTAP_TIMEOUT (300 s per run), FUZZ_BUILD (build-fuzz).
# Ends with one line "fuzz-regress: N passed, N failed" and exits 1 when any check failed.
set -u

WSTAP_BIN=${WSTAP_BIN:-./wstap}
WSTAP_WRAP=${WSTAP_WRAP:-}
WSTAP_TIMEOUT=${WSTAP_TIMEOUT:-300}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
DIR=tests/fuzz-regress
OUT=tests/out/fuzz-regress
# The limits fuzz_pcap runs with (fuzz/fuzz_pcap.c, fuzz_pcap_limits).
FUZZ_LIMITS="--max-flows 64 --max-message 65536 --max-app-total 1048576 --max-ooo-bytes 65536 --max-ooo-total 1048576 --ws-port 9001"
SAN_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|SUMMARY: [A-Za-z]*Sanitizer'

export TZ=UTC LC_ALL=C
pass=0
fail=0
mkdir -p "$OUT"

TO=""
if command -v timeout >/dev/null 2>&1; then
    TO="timeout $WSTAP_TIMEOUT"
fi

# check NAME ALLOWED_STATUSES CMD...: run CMD, stdout discarded, stderr kept in $OUT/NAME.err
check() {
    name=$1
    allowed=$2
    shift 2
    err="$OUT/$name.err"
    # shellcheck disable=SC2086
    $TO "$@" >/dev/null 2>"$err"
    rc=$?
    ok=0
    for a in $allowed; do
        [ "$rc" = "$a" ] && ok=1
    done
    if [ $ok = 1 ] && grep -Eq "$SAN_RE" "$err"; then
        ok=0
    fi
    if [ $ok = 1 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name (exit $rc; stderr in $err)"
        grep -E "$SAN_RE" "$err" | head -n 5
    fi
}

for f in "$DIR"/pcap/*; do
    [ -f "$f" ] || continue
    b=$(basename "$f")
    i=0
    for opts in "" "--json" "$FUZZ_LIMITS" "$FUZZ_LIMITS --json" \
        "$FUZZ_LIMITS -v -x --payload-max 0" "$FUZZ_LIMITS --json --payload-max 0"; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        check "pcap-$b-$i" "0 2" $WSTAP_WRAP "$WSTAP_BIN" -r "$f" $opts
    done
    if [ -x "$FUZZ_BUILD/fuzz_pcap" ]; then
        check "pcap-$b-fuzzer" "0" "$FUZZ_BUILD/fuzz_pcap" "$f"
    fi
done

for f in "$DIR"/stream/*; do
    [ -f "$f" ] || continue
    b=$(basename "$f")
    if [ -x "$FUZZ_BUILD/fuzz_stream" ]; then
        check "stream-$b" "0" "$FUZZ_BUILD/fuzz_stream" "$f"
    else
        echo "SKIPPED stream/$b ($FUZZ_BUILD/fuzz_stream is not built: make fuzz)"
    fi
done

echo "fuzz-regress: $pass passed, $fail failed"
[ "$fail" = 0 ]
