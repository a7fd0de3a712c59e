#!/bin/sh
# sanitize.sh - the regression suites again with the AddressSanitizer + UndefinedBehaviorSanitizer
# build (make san: build-san/), failing on any sanitizer report.
# Usage: tests/sanitize.sh SAN_WSTAP [SAN_UNIT_BIN...]   (make sanitize and make check pass them)
# Runs, each with its own checks and counts:
#   unit     the Check unit tests built with the sanitizers (run-unit.sh fails a binary whose
#            stderr holds a sanitizer report)
#   golden   every tests/TESTLIST case (stdout must still equal the golden file, stderr be empty:
#            a report on stderr fails the case)
#   corpus   every capture of ../shared/corpus, timeline and --json (stderr must be empty)
#   fuzz     the fuzzers' reproducers, tests/fuzz-regress/pcap (fuzz-regress.sh greps stderr)
#   hostile  tests/hostile.sh --no-rss (the sanitizer's shadow memory makes RSS meaningless)
#   har      tests/har.sh: wstap --har over pcaps/ (stderr must be empty)
# ASan's leak checker is on (LeakSanitizer: a leak at exit is a report, exit 23); UBSan stops at
# the first finding (-fno-sanitize-recover). Last line: "sanitize: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2

bin=${1:?usage: tests/sanitize.sh SAN_WSTAP [SAN_UNIT_BIN...]}
shift
export ASAN_OPTIONS="detect_leaks=1:exitcode=23:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export WSTAP_BIN=$bin

total_p=0
total_f=0
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

sub() { # sub NAME SCRIPT ARGS...: run one suite, add its "NAME: N passed, N failed"
    n=$1
    shift
    echo "--- sanitize/$n: sh $*"
    { sh "$@" 2>&1; echo $? >"$tmp/rc"; } | tee "$tmp/log" | grep -Ev '^ok ' | grep -v '^     '
    line=$(grep -E "^$n: [0-9]+ passed, [0-9]+ failed" "$tmp/log" | tail -n 1)
    p=$(printf '%s\n' "$line" | sed -n 's/^[a-z-]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
    f=$(printf '%s\n' "$line" | sed -n 's/^[a-z-]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
    if [ -z "$p" ]; then
        echo "sanitize/$n: CRASHED (no count line, exit $(cat "$tmp/rc"))"
        p=0
        f=1
    elif [ "$(cat "$tmp/rc")" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    total_p=$((total_p + p))
    total_f=$((total_f + f))
}

if [ ! -x "$bin" ]; then
    echo "FAIL sanitize: $bin is not built (run: make san)"
    echo "sanitize: 0 passed, 1 failed"
    exit 1
fi
if [ $# -gt 0 ]; then
    sub unit tests/run-unit.sh "$@"
fi
sub golden tests/run-golden.sh
sub corpus tests/run-corpus.sh
sub fuzz-regress tests/fuzz-regress.sh
sub hostile tests/hostile.sh --no-rss
sub har tests/har.sh
echo "sanitize: $total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
