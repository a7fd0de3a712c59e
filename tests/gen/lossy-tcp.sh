#!/bin/bash
# lossy-tcp.sh - TCP edge cases over the same 3-namespace topology, with the
# bridge running but impairing nothing (it still logs its frame counts).
# All captured in the client namespace (cli0).
#
# Usage (root):  tests/gen/lossy-tcp.sh keepalive|rst|halfclose|midstream|zerowindow|finloss
#
#   keepalive  -> pcaps/tcp-keepalive.pcap   port 18905: client with SO_KEEPALIVE,
#                 TCP_KEEPIDLE=1, TCP_KEEPINTVL=1 idles 3.5 s -> probes + ACKs
#   rst        -> pcaps/tcp-rst.pcap         port 18906: conn 1 ends with the
#                 server's RST (SO_LINGER {1,0}), conn 2 with the client's RST
#                 (close() with unread data)
#   halfclose  -> pcaps/tcp-halfclose.pcap   port 18907: client shutdown(SHUT_WR)
#                 after its request; server sends 10 x 1200 B after that FIN
#   midstream  -> pcaps/tcp-midstream.pcap   ports 18908 (HTTP/1.1 keep-alive)
#                 and 18909 (WebSocket): capture starts after both handshakes
#   zerowindow -> pcaps/tcp-zerowindow.pcap  port 18910: receiver with
#                 SO_RCVBUF 2048 stops reading 2.5 s while the server sends 64 KB
#   finloss    -> pcaps/tcp-finloss.pcap     port 18911: the halfclose exchange, with
#                 the bridge dropping the client's first FIN (dropfin=1), so the
#                 capture shows that FIN and the kernel's retransmission of it
set -euo pipefail
. "$(dirname "$0")/lossy-common.sh"

variant=${1:?usage: $0 keepalive|rst|halfclose|midstream|zerowindow|finloss}
mode=$variant
c2s_spec=""
case $variant in
keepalive)  name=tcp-keepalive;  port=18905 ;;
rst)        name=tcp-rst;        port=18906 ;;
halfclose)  name=tcp-halfclose;  port=18907 ;;
midstream)  name=tcp-midstream;  port=18908; wsport=18909 ;;
zerowindow) name=tcp-zerowindow; port=18910 ;;
finloss)    name=tcp-finloss;    port=18911; mode=halfclose; c2s_spec="dropfin=1" ;;
*) echo "unknown variant $variant" >&2; exit 2 ;;
esac

lossy_init "$name"
topo_up
bridge_start 1 "$c2s_spec" ""     # no impairment (finloss: the client's first FIN)
out=$LW/$name.pcap
extra=()

# expert NAME: count of packets matching a tshark display filter
ex() { tshark -r "$out" -Y "$1" 2>/dev/null | wc -l; }

if [[ $variant != midstream ]]; then
	size=65536
	nsbg $NS_S 40 server $PY "$APPS" tcp-server --mode "$mode" --host $IP_S --port $port \
		--ready "$LW/server.ready" --size $size
	wait_file "$LW/server.ready" 100 || lossy_die "server did not start"
	wait_listen $NS_S $port
	filt="tcp port $port"
	cap_start $NS_C cli0 "$out" "$filt"
	nsbg $NS_C 40 client $PY "$APPS" tcp-client --mode "$mode" --host $IP_S --port $port --size $size
	nswait client
	nswait server
	cap_stop
	bridge_stop
	cat "$LW/client.log" "$LW/server.log" >&2
fi

case $variant in
keepalive)
	ka=$(ex tcp.analysis.keep_alive); kack=$(ex tcp.analysis.keep_alive_ack)
	((ka >= 2 && kack >= 2)) || lossy_die "keep-alive probes/acks: $ka/$kack"
	desc="python client with SO_KEEPALIVE, TCP_KEEPIDLE=1, TCP_KEEPINTVL=1, TCP_KEEPCNT=5 sends one line, reads the one-line answer, stays idle 3.5 s (the kernel sends keep-alive probes: zero-length, seq = snd.nxt - 1, each answered by an ACK), then closes normally (FIN)."
	extra=(--json 'app={"c2s":"PING keepalive test\\n","s2c":"PONG PING keepalive test\\n","idle_s":3.5}')
	;;
rst)
	r=$(ex tcp.flags.reset==1); c=$(tshark -r "$out" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
	((r >= 2 && c == 2)) || lossy_die "rst: $r RSTs, $c connections"
	desc="conn 1: client sends a request line, server answers 3000 bytes, waits 0.3 s, then sets SO_LINGER {1,0} and closes -> RST from the server (no FIN). conn 2: client sends a request line, the server answers 2000 bytes, the client sleeps 0.5 s without reading and close()s with the data unread -> RST from the client (no FIN); the server only sees ECONNRESET, so neither connection has a FIN."
	extra=(--json 'app={"conn1":{"c2s":"GET-DATA please\\n","s2c_len":3000,"end":"server RST via SO_LINGER 0"},"conn2":{"c2s":"SEND-MORE but I will not read it\\n","s2c_len":2000,"end":"client RST: close() with unread data"}}')
	;;
halfclose)
	fin=$(tshark -r "$out" -Y "tcp.flags.fin==1 && tcp.srcport!=$port" -T fields -e frame.number 2>/dev/null | head -1)
	after=$(ex "frame.number > ${fin:-999999} && tcp.srcport==$port && tcp.len > 0")
	((after >= 10)) || lossy_die "halfclose: only $after server data segments after the client's FIN"
	desc="client sends a request line and shutdown(SHUT_WR) (its FIN is frame $fin); the server reads to EOF, then sends 10 chunks of 1200 bytes 0.1 s apart ($after data segments after the client's FIN), then closes; the client reads all 12000 bytes to EOF and closes."
	extra=(--json 'app={"c2s":"REQUEST half-close test: answer after my FIN\\n","s2c_len":12000,"s2c_chunks":10}')
	;;
finloss)
	dropped=$(grep -c $'\tdropfin\t' "$LW/impair.log" || true)
	fins=$(ex "tcp.flags.fin==1 && tcp.srcport!=$port")
	refin=$(ex "tcp.flags.fin==1 && tcp.srcport!=$port && tcp.analysis.retransmission")
	((dropped == 1 && fins >= 2 && refin >= 1)) ||
		lossy_die "finloss: bridge dropped $dropped FINs; client FINs in capture $fins, retransmitted $refin"
	desc="the halfclose exchange (client request line, shutdown(SHUT_WR); server reads to EOF, sends 10 x 1200 B, closes) through the bridge dropping the client's first FIN frame (impair dropfin=1; the capture is on the client side, before the bridge, so it shows the lost FIN and then the kernel's retransmission of it: $fins client FIN frames, $refin flagged retransmission by tshark). The server sees EOF only with the retransmitted FIN, then answers."
	extra=(--json 'app={"c2s":"REQUEST half-close test: answer after my FIN\n","s2c_len":12000,"s2c_chunks":10,"impair":"c2s dropfin=1"}')
	;;
zerowindow)
	zw=$(ex tcp.analysis.zero_window); wu=$(ex tcp.analysis.window_update)
	((zw >= 1 && wu >= 1)) || lossy_die "zerowindow: zero_window=$zw window_update=$wu"
	desc="client sets SO_RCVBUF 2048 before connecting (tiny receive window), sends one line, then does not read for 2.5 s while the server sendall()s 65536 bytes: the window fills, the client advertises zero window, the server sends zero-window probes (Linux: zero-length, seq = snd.una - 1, so tshark calls them keep-alives) with exponential backoff; then the client reads 512 bytes every 4 ms (window updates) until EOF; server shutdown(SHUT_WR) after its data, client closes."
	extra=(--json 'app={"c2s":"GO send me a lot\\n","s2c_len":65536,"rcvbuf":2048,"stall_s":2.5}')
	;;
midstream)
	mkdir -p "$LW/www"
	$PY - "$LW/www" <<'EOF'
import os, random, sys
d = sys.argv[1]
open(os.path.join(d, "one.txt"), "w").write(("one " * 125))
open(os.path.join(d, "two.txt"), "w").write(("two: keep-alive request 2\n" * 77)[:2000])
open(os.path.join(d, "three.bin"), "wb").write(random.Random(3).randbytes(6000))
open(os.path.join(d, "four.txt"), "w").write("four: last request, Connection: close\n" * 8)
EOF
	chmod -R a+rX "$LW/www"
	nsbg $NS_S 40 hserver $PY "$APPS" http-server --host $IP_S --port $port --dir "$LW/www" \
		--ready "$LW/hserver.ready"
	nsbg $NS_S 40 wserver $PY "$APPS" ws-server --host $IP_S --port "$wsport" --scenario echo \
		--compression none --log "$LW/server.jsonl" --ready "$LW/wserver.ready"
	wait_file "$LW/hserver.ready" 100 || lossy_die "http server did not start"
	wait_file "$LW/wserver.ready" 100 || lossy_die "ws server did not start"
	wait_listen $NS_S $port
	wait_listen $NS_S "$wsport"
	# both connections set up (handshakes + first exchange) before the capture
	nsbg $NS_C 40 hclient $PY "$APPS" http-client --host $IP_S --port $port \
		--ready "$LW/hclient.ready" --go "$LW/hclient.go"
	wait_file "$LW/hclient.ready" 100 || lossy_die "http client not ready"
	nsbg $NS_C 40 wclient $PY "$APPS" ws-client --url "ws://$IP_S:$wsport/mid" --scenario midstream \
		--compression none --log "$LW/client.jsonl" --meta "$LW/hs.json" \
		--ready "$LW/wclient.ready" --go "$LW/wclient.go" --gotime "$LW/gotime" \
		--sent "$LW/wclient.sent" --close "$LW/wclient.close"
	wait_file "$LW/wclient.ready" 100 || lossy_die "ws client not ready"
	sleep 0.3
	filt="tcp port $port or tcp port $wsport"
	cap_start $NS_C cli0 "$out" "$filt"
	touch "$LW/hclient.go"           # GET /two.txt, /three.bin, /four.txt (close)
	nswait hclient
	nswait hserver
	touch "$LW/wclient.go"           # 7 WebSocket messages, echoed
	wait_file "$LW/wclient.sent" 200 || lossy_die "ws client did not finish"
	cap_stop                         # the WebSocket close is NOT captured
	touch "$LW/wclient.close"
	nswait wclient
	nswait wserver
	bridge_stop
	CHECK_NO_TOTAL=1
	$PY "$APPS" merge --conn 2 --after-file "$LW/gotime" \
		--before-file "$LW/wclient.sent" --out "$LW/sent.jsonl" \
		"$LW/client.jsonl" "$LW/server.jsonl"
	$PY "$APPS" verify-midstream --pcap "$out" --sidecar "$LW/sent.jsonl" --port "$wsport"
	cat "$LW/hclient.log" >&2
	syn=$(ex "tcp.flags.syn==1"); c=$(tshark -r "$out" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
	h=$(ex "http.request"); hf=$(ex "tcp.port==$port && tcp.flags.fin==1"); wf=$(ex "tcp.port==$wsport && tcp.flags.fin==1")
	((syn == 0 && c == 2 && h == 3 && hf == 2 && wf == 0)) ||
		lossy_die "midstream: syn=$syn conns=$c http_requests=$h http_fins=$hf ws_fins=$wf"
	desc="capture started in the middle of two established connections (no SYN, no handshake in the capture). conn 1 (port $port): HTTP/1.1 keep-alive to a python http.server (protocol HTTP/1.1); GET /one.txt happened before the capture; captured: GET /two.txt (2000 B), /three.bin (6000 B), /four.txt (304 B, request header 'Connection: close') and both FINs. conn 2 (port $wsport): python3-websockets echo (compression off); handshake and one message before the capture; captured: 7 client messages/pings and their echoes/pong; the capture stops before the WebSocket close (1000 'midstream done'), so that connection has no end in the capture. The sidecar lists only the frames sent after the capture started (conn 2)."
	hsx=$($PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$LW/hs.json")
	extra=(--json "http_port=$port"
		--json "http={\"before_capture\":[\"GET /one.txt (500 B)\"],\"captured\":[\"GET /two.txt (2000 B)\",\"GET /three.bin (6000 B)\",\"GET /four.txt (304 B, Connection: close)\"]}"
		--json "websocket={\"port\":$wsport,\"compression\":\"none\",\"handshake_in_capture\":false,\"close_in_capture\":false,\"before_capture\":[\"c2s text 'hello before the capture'\",\"s2c echo\"],\"handshake\":$hsx,\"sidecar\":\"$name.sent.jsonl\",\"sidecar_conn\":2}")
	;;
esac

finish "$name" "$out" \
	--kv "generator=tests/gen/lossy-tcp.sh $variant" \
	--kv "description=$desc" \
	--json "server={\"addr\":\"$IP_S\",\"port\":$port}" \
	--json "client={\"addr\":\"$IP_C\"}" \
	"${extra[@]}"
