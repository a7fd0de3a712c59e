#!/bin/bash
# ns-vlan.sh: real WebSocket traffic between two network namespaces whose
# veth link carries VLAN-tagged frames:
#   pcaps/ws-vlan.pcap  - 802.1Q, VID 100
#   pcaps/ws-qinq.pcap  - 802.1ad outer VID 200 + 802.1Q inner VID 100 (QinQ)
#
#   client ns  10.254.1.1 --veth-- 10.254.1.2  server ns  (ws-vlan)
#   client ns  10.254.3.1 --veth-- 10.254.3.2  server ns  (ws-qinq)
#
# This kernel has neither CONFIG_VLAN_8021Q ("ip link add ... type vlan"
# fails with "Unknown device type") nor bridge VLAN filtering, so the tags
# are added by the kernel's skb_vlan_push() on each veth's egress and
# removed by skb_vlan_pop() on the peer's ingress, driven by a tiny tc
# cls_bpf program (ns-vlan-bpf.c).  The IP/TCP/WebSocket packets are
# produced by the normal socket stack; tcpdump runs on the veth in the
# server namespace, so it records the frames as they cross the link, with
# their tags (the tag is pushed before the packet tap on egress and popped
# after it on ingress).
#
# Usage: ns-vlan.sh            (writes into ../../pcaps, or $PCAP_DIR)
. "$(dirname "$0")/ns-common.sh"
ns_init
command -v clang >/dev/null || ns_die "clang is needed to build ns-vlan-bpf.c (apt-get install clang)"

for m in 1 2 3; do
	clang -O2 -g0 -target bpf -I/usr/include/"$(uname -m)"-linux-gnu \
		-DMODE=$m -c "$GEN_DIR/ns-vlan-bpf.c" -o "$NS_TMP/vlan$m.o"
done

# run_one NAME PUSHOBJ SUBNET PORT FILTER DESCRIPTION
run_one() {
	local name=$1 push=$2 net=$3 port=$4 filt=$5 desc=$6
	local c s cif=vc$NS_TAG sif=vs$NS_TAG
	ns_add c "$name-c"
	ns_add s "$name-s"
	ns_veth "$c" "$cif" "$s" "$sif"
	ip -n "$c" addr add "$net.1/24" dev "$cif"
	ip -n "$s" addr add "$net.2/24" dev "$sif"
	local ns ifc
	for ns in "$c" "$s"; do
		if [ "$ns" = "$c" ]; then ifc=$cif; else ifc=$sif; fi
		ns_offloads_off "$ns" "$ifc"
		ip netns exec "$ns" tc qdisc add dev "$ifc" clsact
		ip netns exec "$ns" tc filter add dev "$ifc" egress bpf da \
			obj "$NS_TMP/$push" sec tc
		ip netns exec "$ns" tc filter add dev "$ifc" ingress bpf da \
			obj "$NS_TMP/vlan3.o" sec tc
	done

	local out="$PCAP_DIR/$name.pcap" clog="$NS_TMP/$name.c.jsonl"
	local slog="$NS_TMP/$name.s.jsonl" ready="$NS_TMP/$name.ready"
	: >"$clog"; : >"$slog"
	ns_bg "$s" 40 $PY "$GEN_DIR/ns-ws.py" server --host "$net.2" --port "$port" \
		--log "$slog" --ready "$ready"
	ns_wait_file "$ready" || ns_die "ws server did not start"

	ns_cap_start "$s" "$sif" "$out" "$filt"
	ip netns exec "$c" timeout 20 $PY "$GEN_DIR/ns-ws.py" client \
		--url "ws://$net.2:$port/vlan" --log "$clog" --scenario full
	ns_cap_stop

	$TOOL sidecar "$out" "$clog" "$slog" --out "$PCAP_DIR/$name.sent.jsonl"
	$TOOL verify-ws "$out" "$PCAP_DIR/$name.sent.jsonl" --port "$port"
	ns_check_size "$out"
	ns_conv "$out" >&2
	$TOOL meta "$PCAP_DIR/$name.meta.json" --pcap "$out" \
		--kv "made_by=tests/gen/ns-vlan.sh" \
		--kv "description=$desc" \
		--kv "capture_point=the veth in the server namespace (the tagged link)" \
		--kv "capture_filter=$filt" \
		--json "client={\"addr\":\"$net.1\"}" \
		--json "server={\"addr\":\"$net.2\",\"port\":$port}" \
		--json "software={\"client\":\"python3-websockets $($PY -c 'import websockets;print(websockets.__version__)') (compression=None)\",\"server\":\"python3-websockets (compression=None)\"}" \
		--kv "notes=VLAN tags pushed/popped by the kernel (bpf_skb_vlan_push/pop in tc clsact on the veths) because this kernel lacks CONFIG_VLAN_8021Q; TSO/GSO/GRO and tx checksum offload off, so frames are <= MTU and checksums are valid." \
		"${@:7}"
}

# 802.1Q, VID 100
run_one ws-vlan vlan1.o 10.254.1 18200 "vlan 100 and tcp port 18200" \
	"Real python3-websockets exchange (1 connection) between two netns over a veth whose frames carry an 802.1Q tag, VID 100." \
	--json 'vlan={"tags":[{"tpid":"0x8100","vid":100}]}'
tshark -r "$PCAP_DIR/ws-vlan.pcap" -T fields -e vlan.id 2>/dev/null | sort -u |
	grep -qx 100 || ns_die "ws-vlan.pcap: no vlan.id 100"
ns_teardown

# QinQ: outer 802.1ad VID 200, inner 802.1Q VID 100
run_one ws-qinq vlan2.o 10.254.3 18201 "vlan 200 and vlan 100 and tcp port 18201" \
	"Real python3-websockets exchange (1 connection) between two netns over a veth whose frames carry QinQ: outer 802.1ad (0x88a8) VID 200, inner 802.1Q (0x8100) VID 100." \
	--json 'vlan={"tags":[{"tpid":"0x88a8","vid":200},{"tpid":"0x8100","vid":100}]}'
v=$(tshark -r "$PCAP_DIR/ws-qinq.pcap" -Y tcp -T fields -e eth.type \
	-e ieee8021ad.id -e vlan.id -e vlan.etype 2>/dev/null | sort -u)
[ "$v" = "$(printf '0x88a8\t200\t100\t0x0800')" ] || ns_die "ws-qinq.pcap: unexpected tags: $v"
ns_log "ok: ws-vlan.pcap ws-qinq.pcap"
