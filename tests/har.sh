#!/bin/sh
# har.sh - wstap --har over pcaps/: HAR 1.2 schema, entries, _webSocketMessages against the
# generators' records, -C, and a real HAR consumer (har-validator); see tests/har_check.py.
cd "$(dirname "$0")/.." || exit 2
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" tests/har_check.py
