#!/bin/sh
# valgrind.sh - the golden suite, the corpus pass, the fuzzers' reproducers and the hostile
# captures with the ordinary ./wstap under valgrind's memcheck (make valgrind; not part of
# make check: it takes about ten times as long).
# A run fails on any memcheck error or definite/indirect leak (valgrind exits 99 then, and the
# suites fail a case whose exit status or stderr is not as expected).
# Last line: "valgrind: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
command -v valgrind >/dev/null 2>&1 || {
    echo "FAIL valgrind: valgrind is not installed (tools/deps.sh check installs it)"
    echo "valgrind: 0 passed, 1 failed"
    exit 1
}
export WSTAP_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
export WSTAP_TIMEOUT=${WSTAP_TIMEOUT:-1800}
p=0
f=0
for s in "run-golden.sh" "run-corpus.sh" "fuzz-regress.sh" "hostile.sh --no-rss"; do
    # shellcheck disable=SC2086
    line=$(sh tests/$s 2>&1 | tee /dev/stderr | grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
    sp=$(printf '%s\n' "$line" | sed -n 's/^[a-z-]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
    sf=$(printf '%s\n' "$line" | sed -n 's/^[a-z-]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
    [ -n "$sp" ] || { sp=0; sf=1; }
    p=$((p + sp))
    f=$((f + sf))
done
echo "valgrind: $p passed, $f failed"
[ "$f" -eq 0 ]
