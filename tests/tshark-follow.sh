#!/bin/sh
# tshark-follow.sh - wstap --streams against tshark -z follow,tcp,raw for every connection in
# pcaps/ and the corpus (see tests/tshark_follow.py for the rules and explained differences).
cd "$(dirname "$0")/.." || exit 2
if ! command -v tshark >/dev/null 2>&1; then
    echo "SKIPPED: tshark is not installed (tools/deps.sh installs it)"
    echo "follow: 0 passed, 0 failed"
    exit 0
fi
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" tests/tshark_follow.py
