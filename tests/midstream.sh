#!/bin/sh
# midstream.sh - WebSocket picked up without its handshake, without --ws-port: every pcaps/
# capture with a generator's record cut (editcap) at a frame boundary, inside a frame and
# inside a large frame must decode the messages after the cut byte for byte and invent none;
# no connection of pcaps/ or the corpus that is not WebSocket may become one when cut.
# See tests/midstream.py. Last line: "midstream: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
for tool in editcap capinfos; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL $tool not installed (tools/deps.sh installs tshark's tools)"
        echo "midstream: 0 passed, 1 failed"
        exit 1
    fi
done
exec "$PY" tests/midstream.py
