#!/bin/sh
# cli.sh - the command line against --help and the man page, the exit statuses of --strict and
# --fail-on, and terminal safety of the timeline over pcaps/ and the corpus
# (${WSTAP_CORPUS:-<repo>/../shared/corpus}). See tests/cli_check.py.
# Environment: WSTAP_BIN, WSTAP_CORPUS.
# Last line: "cli: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
CORPUS=${WSTAP_CORPUS:-$(pwd)/../shared/corpus}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
if [ ! -x "${WSTAP_BIN:-./wstap}" ]; then
    echo "FAIL ${WSTAP_BIN:-./wstap}: not built (run: make wstap)"
    echo "cli: 0 passed, 1 failed"
    exit 1
fi
if [ ! -d "$CORPUS" ]; then
    echo "FAIL corpus: directory $CORPUS does not exist (set WSTAP_CORPUS)"
    echo "cli: 0 passed, 1 failed"
    exit 1
fi
"$PY" tests/cli_check.py "$CORPUS"
