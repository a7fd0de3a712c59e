#!/bin/bash
# make-netns.sh: regenerate every network-namespace / relinked capture
# (see "Network-namespace and relinked captures" in tests/gen/README.md).
#
#   sudo tests/gen/make-netns.sh          # writes into pcaps/
#   PCAP_DIR=/tmp/x tests/gen/make-netns.sh
#
# Needs root, iproute2, tcpdump, tshark/capinfos, ethtool, curl, clang (BPF
# target), gcc + libpcap-dev, /usr/bin/python3 with python3-websockets.
# Each step runs bounded (timeout 60) and cleans up its namespaces itself.
set -euo pipefail
GEN_DIR=$(cd "$(dirname "$0")" && pwd)
export PCAP_DIR=${PCAP_DIR:-$(cd "$GEN_DIR/../.." && pwd)/pcaps}
mkdir -p "$PCAP_DIR"

missing=()
for t in ip tcpdump tshark capinfos ethtool tc curl clang cc pkg-config nstat; do
	command -v "$t" >/dev/null || missing+=("$t")
done
/usr/bin/python3 -c 'import websockets' 2>/dev/null || missing+=("python3-websockets")
pkg-config --exists libpcap || missing+=("libpcap-dev")
if [ ${#missing[@]} -gt 0 ]; then
	echo "make-netns.sh: missing: ${missing[*]}" >&2
	echo "  apt-get install -y iproute2 tcpdump tshark ethtool curl clang gcc libpcap-dev pkg-config python3-websockets" >&2
	exit 1
fi

# ns-relink.sh goes last: it also checks relink.c on ws-vlan/ws-qinq.
for step in ns-vlan.sh ns-ipfrag.sh ns-relink.sh; do
	echo "== $step" >&2
	timeout 60 bash "$GEN_DIR/$step"
done

left=$(ip netns list | grep -c '^wstapns-' || true)
[ "$left" = 0 ] || { echo "make-netns.sh: $left wstapns-* namespaces left behind" >&2; exit 1; }

echo "== summary" >&2
for f in ws-vlan ws-qinq http-ipfrag ws-relink-src ws-raw ws-null ws-loop ws-ipv4dlt ws6-ipv6dlt; do
	p=$PCAP_DIR/$f.pcap
	printf '%-16s %-8s %4s packets %7s bytes\n' "$f" \
		"$(capinfos -T -r -E "$p" | cut -f2)" \
		"$(capinfos -T -r -M -c "$p" | cut -f2)" "$(stat -c %s "$p")"
done
