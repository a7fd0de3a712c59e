#!/bin/bash
# make-upgrade.sh - regenerate every upgrade-failure / related-HTTP capture
# (pcaps/upg-*.pcap with .meta.json and, for WebSocket handshake attempts,
# .sent.jsonl) by running tests/gen/upg-gen.sh for each of them.  Real
# traffic between real programs (python3-websockets, node http + node-ws,
# nginx, curl, openssl s_client/s_server, small plain-socket servers and
# clients of our own where the brief needs misbehaviour), checked with
# tshark by upg-check.py against the failure each capture must show.
#
# Usage (as root):  tests/gen/make-upgrade.sh [NAME...]   (default: all)
# Needs: tcpdump, tshark, nginx-light (with http_v2), curl, openssl,
# /usr/bin/python3 + python3-websockets, nodejs + node-ws, iproute2, ethtool.
# Takes about a minute; each capture stops on its own in well under one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

all=(short-read short-read-2w short-read-3w 400 bad-accept nginx-ok nginx-noupgrade nginx-noupgrade11
     keepalive 426 version-400 no-response tls tls12 h2c h2c-ignored bad-key)
[[ $# -gt 0 ]] && all=("$@")

for n in "${all[@]}"; do
    for try in 1 2 3; do
        echo "== upg-gen.sh $n (try $try)" >&2
        rc=0
        timeout 60 bash "$here/upg-gen.sh" "$n" || rc=$?
        # 3 = upg-check.py saw a (real, rare) TCP retransmission: record again
        [[ $rc -eq 3 ]] || break
    done
    [[ $rc -eq 0 ]] || { echo "make-upgrade: $n failed (status $rc)" >&2; exit "$rc"; }
done
echo "make-upgrade: ${#all[@]} capture(s) written" >&2
