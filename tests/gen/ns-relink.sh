#!/bin/bash
# ns-relink.sh: one real loopback capture, re-encapsulated with libpcap
# (tests/gen/relink.c) into other link-layer header types.
#
#   pcaps/ws-relink-src.pcap  EN10MB, the capture on lo (source of the rest)
#   pcaps/ws-raw.pcap         DLT_RAW  (LINKTYPE_RAW 101), IPv4 + IPv6
#   pcaps/ws-null.pcap        DLT_NULL (0), IPv4 + IPv6, AF in host order
#   pcaps/ws-loop.pcap        DLT_LOOP (108), IPv4 + IPv6, AF in network order
#   pcaps/ws-ipv4dlt.pcap     DLT_IPV4 (228), the IPv4 connection only
#   pcaps/ws6-ipv6dlt.pcap    DLT_IPV6 (229), the IPv6 connection only
#
# Traffic: python3-websockets (compression=None), inside a private network
# namespace (so nothing else on the host's lo can interfere):
#   conn 1: 127.0.0.1 -> 127.0.0.1:18190
#   conn 2: ::1       -> [::1]:18191
# captured with tcpdump on that namespace's lo.  Also captured at the same
# time on "any" as LINUX_SLL2 and LINUX_SLL; those two only serve to check
# that relink's SLL/SLL2 parsing gives the same result (not kept).
. "$(dirname "$0")/ns-common.sh"
ns_init
RELINK=$NS_TMP/relink
cc -O2 -Wall -Wextra -Werror -o "$RELINK" "$GEN_DIR/relink.c" \
	$(pkg-config --cflags --libs libpcap) || ns_die "building relink.c failed"

ns_add L relink-lo
P4=18190 P6=18191
FILT="tcp port $P4 or tcp port $P6"
SRC=$PCAP_DIR/ws-relink-src.pcap
for fam in 4 6; do
	if [ $fam = 4 ]; then host=127.0.0.1 port=$P4; else host=::1 port=$P6; fi
	: >"$NS_TMP/s$fam.jsonl"
	ns_bg "$L" 40 $PY "$GEN_DIR/ns-ws.py" server --host $host --port $port \
		--log "$NS_TMP/s$fam.jsonl" --ready "$NS_TMP/ready$fam"
	ns_wait_file "$NS_TMP/ready$fam" || ns_die "ws server $host did not start"
done

ns_cap_start "$L" lo "$SRC" "$FILT"
ns_cap_start "$L" any "$NS_TMP/src-sll2.pcap" "$FILT" -y LINUX_SLL2
ns_cap_start "$L" any "$NS_TMP/src-sll.pcap" "$FILT" -y LINUX_SLL
: >"$NS_TMP/c.jsonl"
ip netns exec "$L" timeout 20 $PY "$GEN_DIR/ns-ws.py" client --scenario small \
	--url "ws://127.0.0.1:$P4/relink4" --log "$NS_TMP/c.jsonl"
ip netns exec "$L" timeout 20 $PY "$GEN_DIR/ns-ws.py" client --scenario small \
	--url "ws://[::1]:$P6/relink6" --log "$NS_TMP/c.jsonl"
ns_cap_stop

$TOOL sidecar "$SRC" "$NS_TMP/c.jsonl" "$NS_TMP/s4.jsonl" "$NS_TMP/s6.jsonl" \
	--out "$PCAP_DIR/ws-relink-src.sent.jsonl"
$TOOL verify-ws "$SRC" "$PCAP_DIR/ws-relink-src.sent.jsonl" --port $P4 --port $P6
ns_check_size "$SRC"
ns_conv "$SRC" >&2
# conn 1 must be the IPv4 one, conn 2 the IPv6 one
conv=$($TOOL conv "$SRC")
grep -q "^127.0.0.1:.* <-> 127.0.0.1:$P4 " <<<"$conv" || ns_die "no IPv4 conn"
grep -q "^::1:.* <-> ::1:$P6 " <<<"$conv" || ns_die "no IPv6 conn"
[ "$(wc -l <<<"$conv")" = 2 ] || ns_die "expected exactly 2 connections"

LO_NOTE="Loopback: TCP checksums are not filled in by the kernel (CHECKSUM_PARTIAL on lo), as in any capture taken on lo."
RELINK_NOTE="Real traffic: captured with tcpdump on lo inside a private netns (ws-relink-src.pcap), then re-encapsulated by tests/gen/relink.c (libpcap: pcap_open_offline, strip the link header, pcap_open_dead + pcap_dump_open + pcap_dump). Timestamps kept. $LO_NOTE"
meta() { # meta NAME DLTDESC DESCRIPTION [NOTE]
	$TOOL meta "$PCAP_DIR/$1.meta.json" --pcap "$PCAP_DIR/$1.pcap" \
		--kv "made_by=tests/gen/ns-relink.sh" \
		--kv "description=$3" \
		--kv "encapsulation=$2" \
		--kv "source_capture=ws-relink-src.pcap" \
		--kv "capture_point=lo inside a private netns (tcpdump -i lo)" \
		--kv "capture_filter=$FILT" \
		--kv "notes=${4:-$RELINK_NOTE}" \
		--json "endpoints={\"ipv4\":{\"client\":\"127.0.0.1\",\"server\":\"127.0.0.1\",\"port\":$P4},\"ipv6\":{\"client\":\"::1\",\"server\":\"::1\",\"port\":$P6}}" \
		--kv "software=python3-websockets $($PY -c 'import websockets;print(websockets.__version__)') (compression=None), client and server"
}
meta ws-relink-src "Ethernet (EN10MB) as captured on Linux lo (zero MAC addresses)" \
	"Source for the relinked captures: 2 WebSocket connections over loopback, conn 1 IPv4 127.0.0.1:$P4, conn 2 IPv6 [::1]:$P6." \
	"Real traffic captured with tcpdump on lo inside a private netns. $LO_NOTE"

# relink TYPE NAME FAMILY(-|4|6) DLTDESC
relink_one() {
	local type=$1 name=$2 fam=$3 desc=$4 out=$PCAP_DIR/$2.pcap
	"$RELINK" "$type" "$SRC" "$out"
	if [ "$fam" = - ]; then
		$TOOL conv-compare "$SRC" "$out"
		cp "$PCAP_DIR/ws-relink-src.sent.jsonl" "$PCAP_DIR/$name.sent.jsonl"
		meta "$name" "$desc" "Relinked copy of ws-relink-src.pcap: both connections (conn 1 IPv4 127.0.0.1:$P4, conn 2 IPv6 [::1]:$P6)."
	else
		$TOOL conv-compare "$SRC" "$out" --family "$fam"
		if [ "$fam" = 4 ]; then
			$TOOL subset "$PCAP_DIR/ws-relink-src.sent.jsonl" "$PCAP_DIR/$name.sent.jsonl" --conns 1
			meta "$name" "$desc" "Relinked copy of ws-relink-src.pcap, IPv4 packets only: 1 connection 127.0.0.1:$P4 (conn 1 of the source)."
		else
			$TOOL subset "$PCAP_DIR/ws-relink-src.sent.jsonl" "$PCAP_DIR/$name.sent.jsonl" --conns 2
			meta "$name" "$desc" "Relinked copy of ws-relink-src.pcap, IPv6 packets only: 1 connection [::1]:$P6 (conn 2 of the source, conn 1 here)."
		fi
	fi
	$TOOL verify-ws "$out" "$PCAP_DIR/$name.sent.jsonl" --port $P4 --port $P6
	ns_check_size "$out"
	ns_conv "$out" >&2
}
relink_one raw ws-raw - "DLT_RAW: no link header, IP version from the first nibble (LINKTYPE_RAW = 101 in the file)"
relink_one null ws-null - "DLT_NULL (0): 4-byte address family in host byte order of the writer (little-endian here): AF_INET = 2, AF_INET6 = 24 (BSD value)"
relink_one loop ws-loop - "DLT_LOOP (108): 4-byte address family in network byte order: AF_INET = 2, AF_INET6 = 24"
relink_one ipv4 ws-ipv4dlt 4 "DLT_IPV4 (228): bare IPv4 packets"
relink_one ipv6 ws6-ipv6dlt 6 "DLT_IPV6 (229): bare IPv6 packets"

# link types as tshark/capinfos see them
want="ws-relink-src:ether ws-raw:rawip ws-null:null ws-loop:loop ws-ipv4dlt:rawip4 ws6-ipv6dlt:rawip6"
for w in $want; do
	got=$(capinfos -T -r -E "$PCAP_DIR/${w%%:*}.pcap" | cut -f2)
	[ "$got" = "${w#*:}" ] || ns_die "${w%%:*}.pcap: encapsulation $got, want ${w#*:}"
done
# DLT_NULL: host order (little-endian: 02 00 00 00 / 18 00 00 00);
# DLT_LOOP: network order (00 00 00 02 / 00 00 00 18)
for f in ws-null ws-loop; do
	fams=$(tshark -r "$PCAP_DIR/$f.pcap" -T fields -e null.family 2>/dev/null | sort -u | tr '\n' ' ')
	[ "$fams" = "2 24 " ] || ns_die "$f.pcap: unexpected null.family values: $fams"
done

# --- self-checks of relink (outputs not kept)
# SLL and SLL2 input: same result as from the Ethernet capture
for sll in sll sll2; do
	"$RELINK" raw "$NS_TMP/src-$sll.pcap" "$NS_TMP/$sll-raw.pcap"
	$TOOL conv-compare "$SRC" "$NS_TMP/$sll-raw.pcap"
	$TOOL verify-ws "$NS_TMP/$sll-raw.pcap" "$PCAP_DIR/ws-relink-src.sent.jsonl" --port $P4 --port $P6
	# same packets byte for byte (timestamps differ: separate captures)
	cmp -s <(tcpdump -r "$NS_TMP/$sll-raw.pcap" -nn -t -x 2>/dev/null) \
		<(tcpdump -r "$PCAP_DIR/ws-raw.pcap" -nn -t -x 2>/dev/null) ||
		ns_die "relink of the $sll capture differs from relink of the lo capture"
done
# round trip: loop -> null -> raw gives the same bytes as raw
"$RELINK" null "$PCAP_DIR/ws-loop.pcap" "$NS_TMP/rt-null.pcap"
"$RELINK" raw "$NS_TMP/rt-null.pcap" "$NS_TMP/rt-raw.pcap"
cmp -s <(tcpdump -r "$NS_TMP/rt-raw.pcap" -nn -tt -x 2>/dev/null) \
	<(tcpdump -r "$PCAP_DIR/ws-raw.pcap" -nn -tt -x 2>/dev/null) ||
	ns_die "relink round trip loop->null->raw changed packets"
# VLAN / QinQ input, when ns-vlan.sh has run
for v in ws-vlan ws-qinq; do
	[ -f "$PCAP_DIR/$v.pcap" ] || continue
	"$RELINK" raw "$PCAP_DIR/$v.pcap" "$NS_TMP/$v-raw.pcap"
	$TOOL conv-compare "$PCAP_DIR/$v.pcap" "$NS_TMP/$v-raw.pcap"
	$TOOL verify-ws "$NS_TMP/$v-raw.pcap" "$PCAP_DIR/$v.sent.jsonl" --port 18200 --port 18201
done
ns_log "ok: ws-relink-src ws-raw ws-null ws-loop ws-ipv4dlt ws6-ipv6dlt"
