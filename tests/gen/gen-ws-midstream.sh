#!/bin/bash
# gen-ws-midstream.sh - a WebSocket capture that starts after the upgrade: python3-websockets
# client and echo server (tests/gen/ws_mid.py), permessage-deflate with context takeover, in
# a network namespace of its own whose loopback has MTU 1500 (so large frames span many
# packets); tcpdump starts after the handshake and two messages.
#
# Usage (as root):  tests/gen/gen-ws-midstream.sh
#   -> pcaps/ws-midstream-deflate.pcap   127.0.0.1:18931 in netns wstap-p3-mid
#      no SYN, no HTTP upgrade in the capture; first captured message: a 150000-byte random
#      binary (a single large first message, ~100 packets); then 8 similar JSON texts (their
#      DEFLATE data may refer to the two sent before the capture), a 3-fragment text, a
#      20000-byte hex text, a 30000-byte binary, a ping, close 1000; all echoed.
#      conn 2, 127.0.0.1:18932: not WebSocket - plain python sockets exchanging length-prefixed
#      binary records (2-byte length, like DNS over TCP), also set up before the capture: 20
#      records each way; wstap must say it is not recognized as WebSocket and decode nothing.
#   pcaps/ws-midstream-deflate.sent.jsonl  the frames sent after the capture started
#   pcaps/ws-midstream-deflate.meta.json
# Finishes in a few seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=ws-midstream-deflate
port=18931
rawport=18932
ns=wstap-p3-mid
gen_init "$name"
out="$WORK/$name.pcap"

ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
on_cleanup "ip netns del $ns"
ip netns exec "$ns" ip link set lo mtu 1500 txqueuelen 10000 up
# no segmentation offload: the capture sees the packets TCP sends (at most 1448 bytes)
ip netns exec "$ns" ethtool -K lo tso off gso off >/dev/null 2>&1 || true

bg server ip netns exec "$ns" timeout 40 "$PY" "$GEN/ws_mid.py" server --host 127.0.0.1 \
    --port "$port" --log "$WORK/server.jsonl"
wait_listen "$port" "$ns"
bg client ip netns exec "$ns" timeout 40 "$PY" "$GEN/ws_mid.py" client \
    --url "ws://127.0.0.1:$port/mid" --log "$WORK/client.jsonl" --meta "$WORK/hs.json" \
    --ready "$WORK/ready" --go "$WORK/go"
bg rawserver ip netns exec "$ns" timeout 40 "$PY" "$GEN/ws_mid.py" raw-server --host 127.0.0.1 \
    --port "$rawport"
wait_listen "$rawport" "$ns"
bg rawclient ip netns exec "$ns" timeout 40 "$PY" "$GEN/ws_mid.py" raw-client --host 127.0.0.1 \
    --port "$rawport" --ready "$WORK/rawready" --go "$WORK/rawgo"
for _ in $(seq 1 100); do [[ -e "$WORK/ready" && -e "$WORK/rawready" ]] && break; sleep 0.1; done
[[ -e "$WORK/ready" && -e "$WORK/rawready" ]] || { echo "gen: clients not ready" >&2; exit 1; }

CAP_NETNS="$ns" cap_start "$out" "tcp port $port or tcp port $rawport" -B 32768
after=$(date +%s%N)
touch "$WORK/go"
bg_wait client
bg_wait server
touch "$WORK/rawgo"  # after the WebSocket connection, so that it stays conn 1
bg_wait rawclient
bg_wait rawserver
cap_stop

syn=$(tshark -r "$out" -Y 'tcp.flags.syn==1' 2>/dev/null | wc -l)
http=$(tshark -r "$out" -Y 'http' 2>/dev/null | wc -l)
fins=$(tshark -r "$out" -Y 'tcp.flags.fin==1' 2>/dev/null | wc -l)
bad=$(tshark -r "$out" -Y 'tcp.analysis.lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' 2>/dev/null | wc -l)
if [[ $syn -ne 0 || $http -ne 0 || $fins -lt 4 || $bad -ne 0 ]]; then
    echo "gen: bad capture: syn=$syn http=$http fins=$fins anomalies=$bad" >&2
    tshark -r "$out" -Y 'tcp.analysis.lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' >&2 || true
    exit 1
fi
"$PY" "$GEN/ws_mid.py" merge --out "$WORK/sent.jsonl" --after "$after" \
    "$WORK/client.jsonl" "$WORK/server.jsonl"

"$PY" - "$WORK/hs.json" "$WORK/meta.json" "$port" "$(tool_versions)" <<'PYEOF'
import json, sys
hs = json.load(open(sys.argv[1]))
meta = {
    "generator": "tests/gen/gen-ws-midstream.sh",
    "description": "python3-websockets echo, permessage-deflate with context takeover, loopback "
                   "MTU 1500 in a namespace; the capture starts after the upgrade and two JSON "
                   "texts (no SYN, no handshake): a 150000-byte random binary first, 8 similar "
                   "JSON texts, a 3-fragment text, a 20000-byte hex text, a 30000-byte binary, "
                   "a ping, close 1000, all echoed. The sidecar lists the frames sent after the "
                   "capture started. conn 2 (port 18932) is not WebSocket: plain python "
                   "sockets exchanging 2-byte-length-prefixed random records (like DNS over "
                   "TCP), also set up before the capture; 20 records each way.",
    "server": {"addr": "127.0.0.1", "port": int(sys.argv[3]), "software": "python3-websockets"},
    "other_conns": [{"conn": 2, "port": int(sys.argv[3]) + 1, "websocket": False,
                     "software": "python3 socket (tests/gen/ws_mid.py raw-server/raw-client)"}],
    "client": {"software": "python3-websockets"},
    "capture_tool": "tcpdump -i lo (namespace wstap-p3-mid, lo mtu 1500), started after the "
                    "handshake",
    "compression": "deflate",
    "handshake_in_capture": False,
    "extensions_offered": hs["request_extensions"],
    "extensions_negotiated": hs["response_extensions"],
    "versions": json.loads(sys.argv[4]),
}
json.dump(meta, open(sys.argv[2], "w"), indent=2, ensure_ascii=False)
PYEOF

publish "$out" "$PCAPS/$name.pcap"
publish "$WORK/sent.jsonl" "$PCAPS/$name.sent.jsonl"
publish "$WORK/meta.json" "$PCAPS/$name.meta.json"
echo "gen: wrote pcaps/$name.pcap"
