# shellcheck shell=bash
# Common helpers for the ns-*.sh capture generators (sourced, not executed).
#
# Everything created here (network namespaces, veths inside them, background
# processes) is recorded and torn down by ns_cleanup, which every script
# installs as an EXIT/INT/TERM trap.  Processes are stopped by their own pid
# only.

set -euo pipefail

GEN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$GEN_DIR/../.." && pwd)
PCAP_DIR=${PCAP_DIR:-$REPO_DIR/pcaps}
PY=/usr/bin/python3          # Debian python with python3-websockets
TOOL="$PY $GEN_DIR/ns-pcaptool.py"

NS_LIST=()
NS_PIDS=()
NS_TMP=""
NS_TAG="w$$"                 # short, unique per run: used in netns/if names

ns_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
ns_die() { ns_log "ERROR: $*"; exit 1; }

# ns_teardown: stop recorded processes, delete recorded namespaces
ns_teardown() {
	local p ns i
	for ((i = ${#NS_PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${NS_PIDS[$i]}" 2>/dev/null || true
	done
	for p in "${NS_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for ns in "${NS_LIST[@]}"; do
		# anything still running inside a namespace this script created
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	NS_PIDS=()
	NS_LIST=()
}

ns_cleanup() {
	local rc=$?
	set +e
	ns_teardown
	[ -n "$NS_TMP" ] && rm -rf "$NS_TMP"
	return $rc
}

ns_init() {
	[ "$(id -u)" = 0 ] || ns_die "must run as root (network namespaces)"
	for t in ip tcpdump tshark ethtool tc; do
		command -v "$t" >/dev/null || ns_die "missing tool: $t"
	done
	trap ns_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	NS_TMP=$(mktemp -d /tmp/wstap-ns.XXXXXX)
	mkdir -p "$PCAP_DIR"
}

# ns_add VAR NAME: create netns "wstapns-$NS_TAG-NAME", store its name in VAR
# (not via $(...): the namespace must be recorded in this shell for cleanup)
ns_add() {
	local ns="wstapns-$NS_TAG-$2"
	ip netns add "$ns"
	NS_LIST+=("$ns")
	ip -n "$ns" link set lo up
	printf -v "$1" '%s' "$ns"
}

# ns_veth NS1 IF1 NS2 IF2: veth pair with ends inside two namespaces
ns_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# ns_offloads_off NS IF: no TSO/GSO/GRO (no oversized frames in captures)
# and no tx checksum offload (checksums in the capture are the real ones).
ns_offloads_off() {
	ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off \
		>/dev/null 2>&1 || ns_die "ethtool -K $2 failed"
}

# ns_bg NS SECONDS CMD...: run CMD in NS in the background (bounded)
ns_bg() {
	local ns=$1 secs=$2
	shift 2
	ip netns exec "$ns" timeout "$secs" "$@" &
	NS_PIDS+=($!)
}

# ns_wait_file FILE [TENTHS]: wait until FILE exists and is non-empty
ns_wait_file() {
	local n=${2:-100}
	while [ $n -gt 0 ]; do
		[ -s "$1" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# ns_cap_start NS IF OUTFILE FILTER [extra tcpdump args...]
# Several captures may run at once; ns_cap_stop stops all of them.
# --immediate-mode matters: without it TPACKET_V3 holds packets in a
# partly-filled block and the last ones are lost when tcpdump is stopped.
# -B: in immediate mode libpcap uses TPACKET_V2 with one ring slot per
# snaplen-sized frame; the default 2 MB ring then holds only ~8 frames on
# "any" and bursts get dropped.  ns_cap_stop fails on any kernel drop.
CAP_PIDS=()
CAP_ERRS=()
ns_cap_start() {
	local ns=$1 ifc=$2 out=$3 filt=$4 err
	shift 4
	err=$NS_TMP/tcpdump.${#CAP_PIDS[@]}.err
	rm -f "$out"
	ip netns exec "$ns" timeout 50 tcpdump --immediate-mode -Z root -U -n \
		-B 32768 -s 0 -i "$ifc" -w "$out" "$@" "$filt" 2>"$err" &
	CAP_PIDS+=($!)
	CAP_ERRS+=("$err")
	NS_PIDS+=($!)
	local n=50
	until grep -q 'listening on' "$err" 2>/dev/null; do
		n=$((n - 1))
		[ $n -gt 0 ] || { cat "$err" >&2; ns_die "tcpdump did not start"; }
		sleep 0.1
	done
	sleep 1
}

ns_cap_stop() {
	local p e
	sleep 0.5
	for p in "${CAP_PIDS[@]}"; do
		kill -INT "$p" 2>/dev/null || true
	done
	for p in "${CAP_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for e in "${CAP_ERRS[@]}"; do
		grep -E 'packets (captured|dropped)' "$e" >&2 || true
		grep -q '^0 packets dropped by kernel' "$e" ||
			ns_die "tcpdump reported kernel drops (or did not finish): $(tr '\n' ' ' <"$e")"
	done
	CAP_PIDS=()
	CAP_ERRS=()
}

# ns_conv FILE: the tshark TCP conversation table
ns_conv() { tshark -r "$1" -q -z conv,tcp 2>/dev/null; }

# ns_check_size FILE: captures must stay under 300 KB
ns_check_size() {
	local sz
	sz=$(stat -c %s "$1")
	[ "$sz" -lt 307200 ] || ns_die "$1 is $sz bytes (>= 300 KB)"
}
