#!/bin/bash
# make-loopback.sh - regenerate every loopback sample capture in pcaps/
# (http-keepalive, ws-python-*, ws-node-*, ws-nginx-proxy, ws-ipv6,
# ws-pcapng, ws-sll, ws-sll2, ws-midstream-deflate) with their .sent.jsonl / .meta.json sidecars.
# Each generator records real traffic between real programs (curl, nginx,
# python3-websockets, node-ws), checks the capture with tshark and the
# sidecar with ws_verify.py, and stops on its own.
#
# Usage (as root):  tests/gen/make-loopback.sh
# Needs: tcpdump, tshark/dumpcap, nginx, curl, python3-websockets, nodejs,
# node-ws, iproute2 (apt-get install -y tcpdump tshark nginx-light curl
# python3-websockets nodejs node-ws iproute2).  Takes about 40 seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

run() {
    echo "== $*" >&2
    timeout 60 bash "$here/$1" "${@:2}"
}

run gen-http-keepalive.sh
run gen-ws-python.sh plain
run gen-ws-python.sh deflate
run gen-ws-python.sh ipv6
run gen-ws-python.sh pcapng
run gen-ws-node.sh deflate
run gen-ws-node.sh plain
run gen-ws-nginx-proxy.sh
run gen-ws-sll.sh sll
run gen-ws-sll.sh sll2
run gen-ws-midstream.sh
echo "make-loopback: all captures regenerated" >&2
