#!/bin/sh
# ws-sidecar.sh - decoded WebSocket messages against what the generators recorded sending
# (pcaps/*.sent.jsonl); see tests/ws_sidecar.py.
cd "$(dirname "$0")/.." || exit 2
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" tests/ws_sidecar.py
