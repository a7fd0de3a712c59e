#!/bin/bash
# make-lossy.sh - regenerate every lossy-path / TCP edge-case capture
# (see "Lossy-path captures" in tests/gen/README.md).
#
#   sudo tests/gen/make-lossy.sh              # writes into pcaps/
#   sudo PCAP_DIR=/tmp/x tests/gen/make-lossy.sh
#   sudo tests/gen/make-lossy.sh tcp-rst lossy-ws-recv   # only these
#
# Needs root, iproute2, ethtool, tcpdump, tshark, gcc, curl, nginx,
# /usr/bin/python3 with python3-websockets.  Each step runs under
# `timeout 100` (each takes 5-10 s; all of them about a minute and a half)
# and deletes its namespaces (wsl-cli, wsl-rtr, wsl-srv) itself.
set -euo pipefail
GEN_DIR=$(cd "$(dirname "$0")" && pwd)
export PCAP_DIR=${PCAP_DIR:-$(cd "$GEN_DIR/../.." && pwd)/pcaps}
mkdir -p "$PCAP_DIR"

missing=()
for t in ip ethtool tcpdump tshark cc curl nginx timeout ss; do
	command -v "$t" >/dev/null || missing+=("$t")
done
/usr/bin/python3 -c 'import websockets' 2>/dev/null || missing+=("python3-websockets")
if [ ${#missing[@]} -gt 0 ]; then
	echo "make-lossy.sh: missing: ${missing[*]}" >&2
	echo "  apt-get install -y iproute2 ethtool tcpdump tshark gcc curl nginx-light python3-websockets" >&2
	exit 1
fi

all=(lossy-ws-recv lossy-ws-send lossy-ws-deflate-recv lossy-http-recv lossy-http-send
	tcp-keepalive tcp-rst tcp-halfclose tcp-midstream tcp-zerowindow tcp-finloss)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]}")

for n in "${want[@]}"; do
	case $n in
	lossy-ws-recv)         cmd=(lossy-ws.sh recv) ;;
	lossy-ws-send)         cmd=(lossy-ws.sh send) ;;
	lossy-ws-deflate-recv) cmd=(lossy-ws.sh deflate) ;;
	lossy-http-recv)       cmd=(lossy-http.sh) ;;
	lossy-http-send)       cmd=(lossy-http.sh send) ;;
	tcp-keepalive)         cmd=(lossy-tcp.sh keepalive) ;;
	tcp-rst)               cmd=(lossy-tcp.sh rst) ;;
	tcp-halfclose)         cmd=(lossy-tcp.sh halfclose) ;;
	tcp-midstream)         cmd=(lossy-tcp.sh midstream) ;;
	tcp-zerowindow)        cmd=(lossy-tcp.sh zerowindow) ;;
	tcp-finloss)           cmd=(lossy-tcp.sh finloss) ;;
	*) echo "make-lossy.sh: unknown capture $n" >&2; exit 2 ;;
	esac
	echo "== $n: ${cmd[*]}" >&2
	timeout 100 bash "$GEN_DIR/${cmd[0]}" "${cmd[@]:1}"
done

left=$(ip netns list | grep -cE '^wsl-(cli|rtr|srv)( |$)' || true)
[ "$left" = 0 ] || { echo "make-lossy.sh: $left wsl-* namespaces left behind" >&2; exit 1; }

echo "== summary" >&2
total=0
for n in "${want[@]}"; do
	p=$PCAP_DIR/$n.pcap
	sz=$(stat -c %s "$p")
	total=$((total + sz))
	/usr/bin/python3 - "$PCAP_DIR/$n.meta.json" "$sz" <<'EOF' >&2
import json, sys
m = json.load(open(sys.argv[1]))
e = m["tshark_expert"]
keys = ["retransmission", "lost_segment", "out_of_order", "duplicate_ack",
        "zero_window", "keep_alive", "rst"]
print("%-22s %4d pkts %d conn %7s B  %s" % (m["name"], m["packets"], m["tcp_connections"],
      sys.argv[2], " ".join("%s=%d" % (k, e[k]) for k in keys)))
EOF
done
echo "total capture bytes: $total" >&2
[ "$total" -lt 3145728 ] || { echo "make-lossy.sh: captures total $total bytes (>= 3 MB)" >&2; exit 1; }
