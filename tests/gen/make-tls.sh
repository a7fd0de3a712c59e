#!/bin/bash
# make-tls.sh - regenerate every TLS capture of pcaps/ (NAME.pcap + NAME.keys + NAME.meta.json
# [+ NAME.sent.jsonl]) as root: tests/gen/gen-wss.sh, gen-https-curl.sh and lossy-wss.sh.
# About 8 minutes on a loaded 2-core machine.  Usage: tests/gen/make-tls.sh [VARIANT...] (gen-wss.sh variants, or
# curl-h1, curl-h2, lossy).  A run the generator rejects (tshark saw a retransmission: rare
# on a loaded machine's loopback, and these captures must be lossless) is tried again, at
# most 3 times.
set -euo pipefail
GEN="$(cd "$(dirname "$0")" && pwd)"
all=(py12-rsa-aes128 py12-rsa-aes256 py12-rsa-chacha py12-ecdsa-aes128 py12-ecdsa-aes256
     py12-ecdsa-chacha py12-dhe-aes128 py13-deflate two-onekey wrongkeys node13-aes128
     node13-aes256-deflate node13-chacha node-hrr keyupdate resume12-sessid resume12-ticket
     resume13-psk nginx-term badkey curl-h1 curl-h2 lossy)
[[ $# -gt 0 ]] && all=("$@")
for v in "${all[@]}"; do
    case "$v" in
    curl-h1) cmd=("$GEN/gen-https-curl.sh" h1) ;;
    curl-h2) cmd=("$GEN/gen-https-curl.sh" h2) ;;
    lossy) cmd=("$GEN/lossy-wss.sh") ;;
    *) cmd=("$GEN/gen-wss.sh" "$v") ;;
    esac
    ok=0
    for try in 1 2 3; do
        echo "== $v (try $try)" >&2
        if timeout 120 "${cmd[@]}"; then ok=1; break; fi
    done
    [[ $ok == 1 ]] || { echo "make-tls: $v failed 3 times" >&2; exit 1; }
done
