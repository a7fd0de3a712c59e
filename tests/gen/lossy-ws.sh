#!/bin/bash
# lossy-ws.sh - a python3-websockets session over the impairing bridge
# (see lossy-common.sh / impair.c and "Lossy-path captures" in README.md).
#
# Usage (root):  tests/gen/lossy-ws.sh recv|send|deflate
#
#   recv    -> pcaps/lossy-ws-recv.pcap          port 18901, compression off,
#              captured in the client namespace (receiver of the bulk data)
#   send    -> pcaps/lossy-ws-send.pcap          port 18902, compression off,
#              captured in the server namespace (sender of the bulk data)
#   deflate -> pcaps/lossy-ws-deflate-recv.pcap  port 18903, permessage-deflate
#              (context takeover), captured on the receiver
#
# The server pushes ~40 binary messages of 4-15 KB plus texts (deflate: 200
# similar JSON texts of ~1.5 KB and a few binaries); the client echoes the
# "echo-me" texts and the binaries < 5000 bytes, pings, and closes.
# Writes NAME.pcap, NAME.sent.jsonl, NAME.meta.json, NAME.impair.log.
set -euo pipefail
. "$(dirname "$0")/lossy-common.sh"

variant=${1:?usage: $0 recv|send|deflate}
pace=8   # ms between the server's messages (see lossy-apps.py)
# impairments: mostly server->client; a little client->server
S2C="lat=5,drop=0.025,dup=0.01,delay=0.02,dmin=5,dmax=20"
C2S="lat=5,drop=0.005,dup=0.005,delay=0.005,dmin=5,dmax=20"
case $variant in
recv)    name=lossy-ws-recv;         port=18901; comp=none;    scen=lossy;   seed=9001
         capns=$NS_C; capif=cli0; S2C="$S2C,dropseg=1:60" ;;
send)    name=lossy-ws-send;         port=18902; comp=none;    scen=lossy;   seed=9002
         capns=$NS_S; capif=srv0; S2C="$S2C,dropseg=45" ;;
deflate) name=lossy-ws-deflate-recv; port=18903; comp=deflate; scen=deflate; seed=9003
         capns=$NS_C; capif=cli0; S2C="$S2C,dropseg=2:30" ;;
*) echo "unknown variant $variant" >&2; exit 2 ;;
esac

# what the capture must show (tshark expert counts)
expect=(--expect retransmission\>=1 --expect duplicate_ack\>=1)
[[ $capns == "$NS_C" ]] && expect+=(--expect lost_segment\>=1 --expect out_of_order\>=1)

lossy_init "$name"
topo_up
bridge_start "$seed" "$C2S" "$S2C"

nsbg $NS_S 60 server $PY "$APPS" ws-server --host $IP_S --port $port --scenario "$scen" \
	--compression $comp --log "$LW/server.jsonl" --ready "$LW/server.ready" --pace-ms "$pace"
wait_file "$LW/server.ready" 100 || lossy_die "ws server did not start"
wait_listen $NS_S $port

filt="tcp port $port"
out=$LW/$name.pcap
cap_start "$capns" "$capif" "$out" "$filt"
nsbg $NS_C 60 client $PY "$APPS" ws-client --url "ws://$IP_S:$port/lossy" --scenario "$scen" \
	--compression $comp --log "$LW/client.jsonl" --meta "$LW/hs.json"
nswait client
nswait server
cap_stop
bridge_stop

$PY "$APPS" merge --out "$LW/sent.jsonl" "$LW/client.jsonl" "$LW/server.jsonl"
$PY - "$LW/hs.json" "$LW/wsmeta.json" "$comp" <<'EOF'
import json, sys
hs = json.load(open(sys.argv[1]))
json.dump({"compression": sys.argv[3],
           "extensions_offered": hs["request_extensions"],
           "extensions_negotiated": hs["response_extensions"]}, open(sys.argv[2], "w"))
EOF
# independent check of the sidecar against the reassembled TCP streams
# (tshark follow,tcp,raw + own frame parser/inflater, tests/gen/ws_verify.py)
$PY "$LGEN/ws_verify.py" "$out" "$LW/sent.jsonl" "$LW/wsmeta.json"

case $variant in
recv) desc="python3-websockets session (compression off) over an impaired L2 path (base latency 5 ms each way), captured on the receiver (client netns). The server pushes 40 binary messages of 4-15 KB plus 3 small ones and texts (8 ms apart); the client echoes the 'echo-me' texts and every binary < 5000 bytes, then pings and closes 1000 'lossy done'. s2c frames are dropped / duplicated / delayed 5-20 ms extra (reordered) by the bridge before they reach the capture point; dropseg drops s2c data segment 1 (the 101 response, retransmitted after the RTO) and data segment 60." ;;
send) desc="the same python3-websockets session (compression off) over the same impaired path, captured on the sender (server netns): every s2c frame appears as sent (the impairment happens after the capture point), so the capture shows the sender's (fast) retransmissions and the receiver's duplicate ACKs with SACK blocks; the c2s direction (light impairment) arrives impaired. dropseg drops s2c data segment 45." ;;
deflate) desc="python3-websockets session with permessage-deflate (context takeover both ways) over an impaired L2 path (base latency 5 ms each way), captured on the receiver: 200 similar JSON texts (~1.5 KB each, compressed with context takeover) and a few binaries pushed by the server, the 'echo-me' texts and one 1500-byte binary echoed by the client (compressed too), ping, close 1000. Loss / duplication / reordering inside the compressed stream; dropseg drops s2c data segments 2 and 30." ;;
esac

finish "$name" "$out" \
	--kv "generator=tests/gen/lossy-ws.sh $variant" \
	--kv "description=$desc" \
	--json "server={\"addr\":\"$IP_S\",\"port\":$port,\"software\":\"python3-websockets\"}" \
	--json "client={\"addr\":\"$IP_C\",\"software\":\"python3-websockets\"}" \
	--json "http_port=$port" \
	--json-file "=$LW/wsmeta.json" \
	"${expect[@]}"
