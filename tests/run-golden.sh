#!/bin/sh
# run-golden.sh - golden regression: run every tests/TESTLIST case and diff stdout with its golden.
# Usage: tests/run-golden.sh [--update] [CASE...]
#   (no CASE: every case, plus the check that each capture in pcaps/ has its two default cases)
#   --update  rewrite the expected files from the current ./wstap and list which ones changed;
#             read `git diff tests/golden` before committing and justify every change.
# TESTLIST: one case per line, "name pcap-path expected-file options...", '#' starts a comment.
#   pcap-path is relative to the repo root, expected-file to tests/golden/. The options are
#   split like shell words (quotes work). An option token "exit=N" is not passed to wstap: it
#   states the expected exit status (default 0).
# A case passes when wstap exits with the expected status, writes nothing to stderr, its stdout
# equals the expected file byte for byte and, for --json cases that exit 0, every line passes
# tests/check_events.py. Each case runs as TZ=UTC LC_ALL=C $WSTAP_WRAP ./wstap -r PCAP OPTIONS.
# Environment: WSTAP_BIN (default ./wstap), WSTAP_WRAP (e.g. "valgrind -q --error-exitcode=99"),
#   WSTAP_TIMEOUT (seconds per run, default 300).
# Last line: "golden: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2

TESTLIST=tests/TESTLIST
GOLDEN=tests/golden
OUT=tests/out/golden
WSTAP=${WSTAP_BIN:-./wstap}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
TMO=
if command -v timeout >/dev/null 2>&1; then TMO="timeout ${WSTAP_TIMEOUT:-300}"; fi

update=0
if [ "${1:-}" = --update ]; then
    update=1
    shift
fi
only="$*"

passed=0
failed=0
changed=0

finish() {
    if [ "$update" -eq 1 ]; then
        echo "golden: $changed expected file(s) changed; read 'git diff $GOLDEN' and justify each change in the commit message"
    fi
    echo "golden: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

fail() { # fail NAME REASON...
    n=$1
    shift
    echo "FAIL $n: $*"
    failed=$((failed + 1))
}

if [ ! -f "$TESTLIST" ]; then
    fail "$TESTLIST" "missing"
    finish
fi
if [ ! -x "$WSTAP" ]; then
    fail "$WSTAP" "not built (run: make wstap)"
    finish
fi
mkdir -p "$OUT" "$GOLDEN" || exit 2

# quote WORD: print WORD as one single-quoted shell word
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

selected() { # selected NAME: true when NAME is to run
    [ -z "$only" ] && return 0
    for s in $only; do
        [ "$s" = "$1" ] && return 0
    done
    return 1
}

# ---- TESTLIST sanity: unique names and expected files --------------------------------------
dups=$(grep -v '^[[:space:]]*#' "$TESTLIST" | awk 'NF >= 3 { print $1 }' | sort | uniq -d)
for d in $dups; do fail "$d" "case name used more than once in $TESTLIST"; done
dups=$(grep -v '^[[:space:]]*#' "$TESTLIST" | awk 'NF >= 3 { print $3 }' | sort | uniq -d)
for d in $dups; do fail "$d" "expected file used by more than one case in $TESTLIST"; done

# ---- the cases ---------------------------------------------------------------------------
lineno=0
while read -r name pcap exp opts || [ -n "$name" ]; do
    lineno=$((lineno + 1))
    case "$name" in '' | '#'*) continue ;; esac
    if [ -z "$exp" ]; then
        fail "$TESTLIST:$lineno" "want 'name pcap-path expected-file options...'"
        continue
    fi
    expected=$GOLDEN/$exp
    selected "$name" || continue
    set -f
    if ! eval "set -- $opts" 2>/dev/null; then
        set +f
        fail "$name" "$TESTLIST:$lineno: options do not parse as shell words: $opts"
        continue
    fi
    want_rc=0
    args=
    json=0
    for a in "$@"; do
        case "$a" in
        exit=*) want_rc=${a#exit=} ;;
        *)
            [ "$a" = --json ] && json=1
            args="$args $(quote "$a")"
            ;;
        esac
    done
    eval "set -- $args"
    set +f
    if [ ! -f "$pcap" ]; then
        fail "$name" "capture $pcap does not exist"
        continue
    fi
    out=$OUT/$name.out
    err=$OUT/$name.err
    # shellcheck disable=SC2086
    env TZ=UTC LC_ALL=C $TMO $WSTAP_WRAP "$WSTAP" -r "$pcap" "$@" >"$out" 2>"$err" </dev/null
    rc=$?
    why=
    [ "$rc" = "$want_rc" ] || why="${why}exit status $rc (want $want_rc); "
    [ "$rc" = 124 ] && [ -n "$TMO" ] && why="${why}timed out; "
    [ -s "$err" ] && why="${why}wrote to stderr; "
    if [ "$json" -eq 1 ] && [ "$rc" -eq 0 ]; then
        if ! "$PY" tests/check_events.py --offline --label "$name" "$out" >"$OUT/$name.check" 2>&1 </dev/null; then
            why="${why}JSON does not follow EVENTS.md; "
        fi
    fi
    if [ "$update" -eq 1 ]; then
        if [ ! -f "$expected" ]; then
            cp "$out" "$expected" && echo "created $expected ($name)"
            changed=$((changed + 1))
        elif ! cmp -s "$out" "$expected"; then
            nd=$(diff "$expected" "$out" | grep -c '^[<>]')
            cp "$out" "$expected" && echo "updated $expected ($name): $nd lines differ"
            changed=$((changed + 1))
        fi
    else
        if [ ! -f "$expected" ]; then
            why="${why}no expected file $expected (run: tests/run-golden.sh --update $name); "
        elif ! cmp -s "$out" "$expected"; then
            why="${why}stdout differs from $expected; "
        fi
    fi
    if [ -z "$why" ]; then
        echo "ok   $name"
        passed=$((passed + 1))
        continue
    fi
    fail "$name" "${why%; }"
    echo "  command: TZ=UTC LC_ALL=C ${WSTAP_WRAP:+$WSTAP_WRAP }$WSTAP -r $pcap$args"
    if [ -s "$err" ]; then
        echo "  stderr (first 10 lines, all in $err):"
        head -n 10 "$err" | sed 's/^/    /'
    fi
    [ -s "$OUT/$name.check" ] && head -n 10 "$OUT/$name.check" | sed 's/^/  /'
    if [ "$update" -eq 0 ] && [ -f "$expected" ] && ! cmp -s "$out" "$expected"; then
        diff -u -L "$expected" -L "$out" "$expected" "$out" | head -n 40
    fi
done <"$TESTLIST"

# ---- coverage: every capture in pcaps/ has a default (.out) and a --json case ------------------
if [ -z "$only" ]; then
    for p in pcaps/*.pcap pcaps/*.pcapng; do
        [ -f "$p" ] || continue
        has=$(grep -v '^[[:space:]]*#' "$TESTLIST" | awk -v p="$p" '
            $2 == p && NF == 3 { d = 1 }
            $2 == p && NF == 4 && $4 == "--json" { j = 1 }
            END { printf "%d%d", d, j }')
        case "$has" in
        11) ;;
        *)
            what=
            [ "${has%?}" = 1 ] || what="the default timeline case"
            [ "${has#?}" = 1 ] || what="${what:+$what and }the --json case"
            fail "$p" "no TESTLIST entry for $what (run: tests/golden-add.sh $p)"
            ;;
        esac
    done
    # expected files that no case uses: stale, report them (not a failure)
    for g in "$GOLDEN"/*; do
        [ -f "$g" ] || continue
        b=${g#"$GOLDEN"/}
        if ! grep -v '^[[:space:]]*#' "$TESTLIST" | awk -v b="$b" '$3 == b { f = 1 } END { exit !f }'; then
            echo "note: $g is not used by any TESTLIST case"
        fi
    done
fi
finish
