#!/bin/sh
# upgrade-expect.sh - WebSocket upgrade outcomes against the generators' records; see
# tests/upgrade_expect.py. Environment: WSTAP_BIN. Last line: "upgrade: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" tests/upgrade_expect.py
