#!/bin/sh
# run-unit.sh - run the Check unit-test binaries and total their "Checks: N, Failures: F, Errors: E".
# Usage: tests/run-unit.sh BIN...   (make unit passes build/tests/test_*)
# Each binary runs with Check's default fork mode (CK_FORK is left as the caller set it). A binary
# fails as a whole (one extra failure) when it prints no Check summary (it crashed before the
# end), exits non-zero although Check counted no failure, or a sanitizer reported on stderr.
# Last line: "unit: N passed, N failed" (N passed = checks that passed).
cd "$(dirname "$0")/.." || exit 2

OUT=tests/out/unit
mkdir -p "$OUT" || exit 2
TMO=
if command -v timeout >/dev/null 2>&1; then
    TMO="timeout ${WSTAP_UNIT_TIMEOUT:-300}"
fi

passed=0
failed=0
if [ $# -eq 0 ]; then
    echo "unit: no test binaries given (tests/unit/test_*.c is empty?)"
fi
for bin in "$@"; do
    name=$(basename "$bin")
    log="$OUT/$name.log"
    if [ ! -x "$bin" ]; then
        echo "FAIL $name: $bin is missing or not executable (make unit builds it)"
        failed=$((failed + 1))
        continue
    fi
    # stdout and stderr kept apart: a sanitizer report on stderr fails the binary.
    $TMO "$bin" >"$log" 2>"$log.err"
    rc=$?
    cat "$log"
    [ -s "$log.err" ] && sed 's/^/  stderr: /' "$log.err"
    # Check prints "NN%: Checks: N, Failures: F, Errors: E" once per suite run.
    sums=$(sed -n 's/.*Checks: \([0-9][0-9]*\), Failures: \([0-9][0-9]*\), Errors: \([0-9][0-9]*\).*/\1 \2 \3/p' "$log")
    if [ -z "$sums" ]; then
        echo "FAIL $name: no Check summary line (exit $rc: crashed, timed out or not a Check test)"
        failed=$((failed + 1))
        continue
    fi
    checks=$(printf '%s\n' "$sums" | awk '{ n += $1 } END { print n + 0 }')
    bad=$(printf '%s\n' "$sums" | awk '{ n += $2 + $3 } END { print n + 0 }')
    passed=$((passed + checks - bad))
    failed=$((failed + bad))
    extra=
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        extra="exit status $rc although Check counted no failure"
    elif grep -Eq 'runtime error:|Sanitizer|^==[0-9]+==ERROR' "$log.err"; then
        extra="sanitizer report on stderr"
    fi
    if [ -n "$extra" ]; then
        echo "FAIL $name: $extra"
        failed=$((failed + 1))
    elif [ "$bad" -ne 0 ]; then
        echo "FAIL $name: $bad of $checks checks failed"
    else
        echo "ok   $name: $checks checks"
    fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
