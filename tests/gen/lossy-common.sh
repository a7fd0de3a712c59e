# shellcheck shell=bash
# tests/gen/lossy-common.sh - shared code for the lossy-path capture
# generators (lossy-ws.sh, lossy-http.sh, lossy-tcp.sh).  Sourced, not run.
#
# Topology (all created here, all deleted by the EXIT trap, even on failure):
#
#   netns wsl-cli            netns wsl-rtr                   netns wsl-srv
#   cli0 10.254.90.1/24 ==== rtr-c  [impair bridge]  rtr-s ==== srv0 10.254.90.2/24
#        02:00:0a:fe:5a:01    (no IP, no kernel bridge,          02:00:0a:fe:5a:02
#                              no forwarding: pure L2 copy
#                              by impair.c on AF_PACKET)
#
# MTU 1500 everywhere; IPv6 disabled in the three namespaces (no ND/MLD
# noise); TSO/GSO/GRO and rx/tx checksum offload off on all four veth ends,
# so every frame is at most 1514 bytes and carries its real checksums.
#
# Functions:
#   lossy_init NAME          root check, temp dir $LW, EXIT trap, build impair
#   topo_up                  create the namespaces and links
#   bridge_start SEED C2S_SPEC S2C_SPEC   start impair in wsl-rtr (c2s = frames
#                            from the client side; spec syntax: see impair.c)
#   bridge_stop              SIGTERM the bridge, wait, keep log + summary
#   nsbg NS SECS NAME CMD... run CMD in NS in the background under timeout
#   nswait NAME              wait for it, fail on non-zero status
#   wait_file FILE [TENTHS]  wait for a file to appear
#   wait_listen NS PORT      poll ss until PORT listens (no probe connection)
#   cap_start NS IF FILE FILTER / cap_stop   tcpdump --immediate-mode -U
#   finish NAME [meta args]  expert counts, ground-truth check, meta, publish
set -euo pipefail

LGEN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LREPO=$(cd "$LGEN/../.." && pwd)
LPCAPS=${PCAP_DIR:-$LREPO/pcaps}
PY=/usr/bin/python3
APPS="$LGEN/lossy-apps.py"
# LOSSY_NS=PREFIX names the namespaces PREFIX-cli/-rtr/-srv (default wsl), so that two runs
# on one machine do not meet; the meta records the default names either way
NS_C=${LOSSY_NS:-wsl}-cli
NS_R=${LOSSY_NS:-wsl}-rtr
NS_S=${LOSSY_NS:-wsl}-srv
IP_C=10.254.90.1
IP_S=10.254.90.2
LW=""
IMPAIR=""
BR_PID=""
CAP_PID=""
LNAME=""
declare -A BGP=()

lossy_log() { printf '[%s] %s\n' "${LNAME:-lossy}" "$*" >&2; }
lossy_die() { lossy_log "ERROR: $*"; exit 1; }

_lossy_cleanup() {
	local rc=$? p n ns
	set +e
	if [[ -n "$CAP_PID" ]] && kill -0 "$CAP_PID" 2>/dev/null; then
		kill -INT "$CAP_PID"; wait "$CAP_PID" 2>/dev/null
	fi
	for n in "${!BGP[@]}"; do
		p=${BGP[$n]}
		kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
	done
	if [[ -n "$BR_PID" ]] && kill -0 "$BR_PID" 2>/dev/null; then
		kill -TERM "$BR_PID"
	fi
	for n in "${!BGP[@]}"; do
		p=${BGP[$n]}
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
	done
	if [[ -n "$BR_PID" ]]; then
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$BR_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$BR_PID" 2>/dev/null; wait "$BR_PID" 2>/dev/null
	fi
	for ns in $NS_C $NS_R $NS_S; do
		ip netns list 2>/dev/null | grep -qw "^$ns" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if [[ $rc -ne 0 && -n "$LW" && -d "$LW" ]]; then
		lossy_log "FAILED (rc=$rc); logs:"
		for n in "$LW"/*.log "$LW"/*.err; do
			[[ -f "$n" ]] || continue
			echo "--- $n" >&2; tail -n 15 "$n" >&2
		done
	fi
	[[ -n "$LW" && -d "$LW" ]] && rm -rf "$LW"
	exit "$rc"
}

lossy_init() {
	LNAME=$1
	[[ $EUID -eq 0 ]] || lossy_die "must run as root (network namespaces, capture)"
	local t
	for t in ip tcpdump tshark ethtool cc timeout ss; do
		command -v "$t" >/dev/null || lossy_die "missing tool: $t (apt-get install -y iproute2 tcpdump tshark ethtool gcc)"
	done
	$PY -c 'import websockets' 2>/dev/null || lossy_die "/usr/bin/python3 lacks websockets (apt-get install python3-websockets)"
	# A previous run killed with SIGKILL may have left our namespaces: remove
	# them only if nothing runs inside (a concurrent run would have processes).
	for t in $NS_C $NS_R $NS_S; do
		if ip netns list | grep -qw "^$t"; then
			[[ -z "$(ip netns pids "$t")" ]] || lossy_die "netns $t is in use (another lossy run?)"
			ip netns del "$t"
		fi
	done
	trap _lossy_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	LW=$(mktemp -d "/tmp/wstap-lossy-$LNAME.XXXXXX")
	chmod 755 "$LW"
	mkdir -p "$LPCAPS"
	IMPAIR=$LW/impair
	cc -O2 -Wall -Wextra -Werror -o "$IMPAIR" "$LGEN/impair.c"
}

topo_up() {
	local ns
	for ns in $NS_C $NS_R $NS_S; do
		ip netns add "$ns"
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip link add cli0 netns $NS_C type veth peer name rtr-c netns $NS_R
	ip link add srv0 netns $NS_S type veth peer name rtr-s netns $NS_R
	ip -n $NS_C link set cli0 address 02:00:0a:fe:5a:01 mtu 1500
	ip -n $NS_S link set srv0 address 02:00:0a:fe:5a:02 mtu 1500
	ip -n $NS_R link set rtr-c mtu 1500
	ip -n $NS_R link set rtr-s mtu 1500
	local pair
	for pair in "$NS_C cli0" "$NS_R rtr-c" "$NS_R rtr-s" "$NS_S srv0"; do
		# shellcheck disable=SC2086  # split "NS IF"
		set -- $pair
		ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off \
			>/dev/null 2>&1 || lossy_die "ethtool -K $2 failed"
		ip -n "$1" link set "$2" up
	done
	# the router has no IP stack configuration at all and does not forward
	ip netns exec $NS_R sysctl -qw net.ipv4.ip_forward=0
	ip -n $NS_C addr add $IP_C/24 dev cli0
	ip -n $NS_S addr add $IP_S/24 dev srv0
}

# bridge_start SEED C2S_SPEC S2C_SPEC [SECONDS]
bridge_start() {
	BR_SEED=$1; BR_C2S=$2; BR_S2C=$3
	local secs=${4:-90}
	rm -f "$LW/bridge.ready"
	ip netns exec $NS_R timeout $((secs + 5)) "$IMPAIR" -a rtr-c -b rtr-s -n c2s -m s2c \
		-A "$BR_C2S" -B "$BR_S2C" -s "$BR_SEED" -t "$secs" \
		-l "$LW/impair.log" -j "$LW/impair.json" -r "$LW/bridge.ready" \
		2>"$LW/bridge.err" &
	BR_PID=$!
	wait_file "$LW/bridge.ready" 50 || lossy_die "bridge did not start"
	# Resolve ARP both ways now, before any capture starts, with one UDP
	# datagram each way to the discard port (not TCP, so never impaired and
	# not counted as TCP by the bridge; answered by ICMP port unreachable).
	local ns dst
	for ns in $NS_C $NS_S; do
		dst=$IP_S; [[ $ns == "$NS_S" ]] && dst=$IP_C
		ip netns exec "$ns" $PY -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"arp", (sys.argv[1], 9))' "$dst"
		for _ in $(seq 1 30); do
			ip -n "$ns" neigh show "$dst" | grep -q lladdr && break
			sleep 0.1
		done
		ip -n "$ns" neigh show "$dst" | grep -q lladdr || lossy_die "no L2 path through the bridge ($ns -> $dst)"
	done
}

bridge_stop() {
	kill -TERM "$BR_PID"
	local rc=0
	wait "$BR_PID" || rc=$?
	BR_PID=""
	[[ $rc -eq 0 ]] || { cat "$LW/bridge.err" >&2; lossy_die "bridge exited with $rc"; }
	[[ -s "$LW/impair.json" ]] || lossy_die "no bridge summary"
	grep -v '^#' "$LW/bridge.err" >&2 || true
	$PY -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(1 if j["socket_drops"] or any(c["send_errors"] for c in j["counts"].values()) else 0)' \
		"$LW/impair.json" || lossy_die "bridge lost frames itself (socket drops / send errors)"
	grep '^# c2s\|^# s2c' "$LW/impair.log" >&2
}

nsbg() {
	local ns=$1 secs=$2 name=$3
	shift 3
	ip netns exec "$ns" timeout "$secs" "$@" >"$LW/$name.log" 2>&1 &
	BGP[$name]=$!
}

nswait() {
	local p=${BGP[$1]} rc=0
	wait "$p" || rc=$?
	unset "BGP[$1]"
	if [[ $rc -ne 0 ]]; then
		tail -n 30 "$LW/$1.log" >&2
		lossy_die "$1 exited with status $rc"
	fi
}

wait_file() {
	local n=${2:-100}
	while ((n > 0)); do
		[[ -e "$1" ]] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

wait_listen() {
	local ns=$1 port=$2
	for _ in $(seq 1 100); do
		ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	lossy_die "nothing listening on $port in $ns"
}

# cap_start NS IF FILE FILTER: -B 32768 because in immediate mode libpcap
# uses one ring slot per snaplen-sized frame (the default 2 MB ring is small).
cap_start() {
	local ns=$1 ifc=$2 out=$3 filt=$4
	CAP_NS=$ns; CAP_IF=$ifc; CAP_FILTER=$filt
	: >"$LW/capture.err"
	ip netns exec "$ns" timeout 100 tcpdump --immediate-mode -U -n -Z root -B 32768 -s 0 \
		-i "$ifc" -w "$out" "$filt" 2>"$LW/capture.err" &
	CAP_PID=$!
	for _ in $(seq 1 50); do
		if grep -q 'listening on' "$LW/capture.err"; then
			sleep 0.5
			return 0
		fi
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$LW/capture.err" >&2
	lossy_die "tcpdump did not start"
}

cap_stop() {
	sleep 0.7
	kill -INT "$CAP_PID"
	local rc=0
	wait "$CAP_PID" || rc=$?
	CAP_PID=""
	[[ $rc -eq 0 ]] || { cat "$LW/capture.err" >&2; lossy_die "tcpdump exited with $rc"; }
	grep -E 'packets (captured|dropped)' "$LW/capture.err" >&2 || true
	grep -q '^0 packets dropped by kernel' "$LW/capture.err" ||
		lossy_die "tcpdump reported kernel drops: $(tr '\n' ' ' <"$LW/capture.err")"
}

# finish NAME PCAP [lossy-apps.py meta options...]
# Checks the capture against the bridge log, writes NAME.meta.json and
# publishes NAME.pcap, NAME.impair.log (+ NAME.sent.jsonl if $LW/sent.jsonl).
finish() {
	local name=$1 pcap=$2
	shift 2
	local side=cli
	[[ "$CAP_NS" == "$NS_S" ]] && side=srv
	# CHECK_NO_TOTAL=1: the bridge also saw traffic from before the capture
	$PY "$APPS" check-log --pcap "$pcap" --log "$LW/impair.log" --side "$side" \
		${CHECK_NO_TOTAL:+--no-total}
	local sz
	sz=$(stat -c %s "$pcap")
	((sz < 614400)) || lossy_die "$pcap is $sz bytes (>= 600 KB)"
	local sc=()
	[[ -s "$LW/sent.jsonl" ]] && sc=(--sidecar "$LW/sent.jsonl" --sidecar-name "$name.sent.jsonl")
	$PY "$APPS" meta --pcap "$pcap" --name "$name" --out "$LW/meta.json" "${sc[@]}" \
		--summary "$LW/impair.json" --capture-ns "$CAP_NS" --capture-if "$CAP_IF" \
		--filter "$CAP_FILTER" "$@"
	install -m 644 "$pcap" "$LPCAPS/$name.pcap"
	install -m 644 "$LW/meta.json" "$LPCAPS/$name.meta.json"
	install -m 644 "$LW/impair.log" "$LPCAPS/$name.impair.log"
	if [[ -s "$LW/sent.jsonl" ]]; then
		install -m 644 "$LW/sent.jsonl" "$LPCAPS/$name.sent.jsonl"
	fi
	tshark -r "$pcap" -q -z conv,tcp 2>/dev/null | sed -n '/<->/p' >&2
	$PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print("%s: %d packets, %d TCP conns, expert %s" % (sys.argv[2], m["packets"], m["tcp_connections"], json.dumps(m["tshark_expert"])))' \
		"$LW/meta.json" "$name" >&2
	lossy_log "wrote pcaps/$name.pcap"
}
