#!/bin/sh
# zeek-conn.sh - wstap's connection history against Zeek's conn.log baselines in the corpus
# (${WSTAP_CORPUS:-<repo>/../shared/corpus}); see tests/zeek_conn.py for the rules.
# Environment: WSTAP_BIN, WSTAP_WRAP, WSTAP_CORPUS.
# Last line: "zeekconn: N passed, N failed, N explained".
cd "$(dirname "$0")/.." || exit 2
CORPUS=${WSTAP_CORPUS:-$(pwd)/../shared/corpus}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
if [ ! -d "$CORPUS" ]; then
    echo "FAIL corpus: directory $CORPUS does not exist (set WSTAP_CORPUS)"
    echo "zeekconn: 0 passed, 1 failed"
    exit 1
fi
if [ ! -x "${WSTAP_BIN:-./wstap}" ]; then
    echo "FAIL ${WSTAP_BIN:-./wstap}: not built (run: make wstap)"
    echo "zeekconn: 0 passed, 1 failed"
    exit 1
fi
"$PY" tests/zeek_conn.py "$CORPUS"
