#!/bin/sh
# tshark-tls.sh - the TLS captures of pcaps/ (NAME.pcap + its key log NAME.keys) decrypted by
# tshark with their key log against the generators' records (NAME.sent.jsonl, NAME.meta.json);
# once ./wstap has --keylog, also wstap's decrypted WebSocket messages. See tests/tshark_tls.py.
# Skipped (neither passed nor failed) only when tshark is not installed.
# Environment: WSTAP_BIN, TSHARK.  Last line: "tlsoracle: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
if ! command -v "${TSHARK:-tshark}" >/dev/null 2>&1; then
    echo "tlsoracle: SKIPPED: tshark is not installed (tools/deps.sh check installs it)"
    echo "tlsoracle: 0 passed, 0 failed"
    exit 0
fi
exec "$py" tests/tshark_tls.py "$@"
