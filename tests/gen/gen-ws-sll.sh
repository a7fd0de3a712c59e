#!/bin/bash
# gen-ws-sll.sh - record a small WebSocket exchange (python3-websockets,
# compression=None, tests/gen/ws_py.py scenario "small") with `tcpdump -i any`,
# which writes Linux "cooked" captures:
#
#   sll  -> pcaps/ws-sll.pcap   LINKTYPE_LINUX_SLL  (tcpdump -i any -y LINUX_SLL;
#           libpcap >= 1.10 defaults to SLL2 on "any", so -y is given for both)
#   sll2 -> pcaps/ws-sll2.pcap  LINKTYPE_LINUX_SLL2 (tcpdump -i any -y LINUX_SLL2)
#
# So that every packet appears exactly once (on lo, `-i any` would also show
# it twice: outgoing + incoming copy), the exchange runs between two network
# namespaces created here (wstap-lb<pid>-srv 10.254.77.1, wstap-lb<pid>-cli
# 10.254.77.2, joined by a veth pair); the capture runs inside the server
# namespace.  The namespaces are deleted at the end, even on failure.
#
# Usage (as root):  tests/gen/gen-ws-sll.sh sll|sll2
# Also writes pcaps/NAME.sent.jsonl and pcaps/NAME.meta.json.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant="${1:?usage: $0 sll|sll2}"
case "$variant" in
    sll)  name=ws-sll;  port=18087; ytype=(-y LINUX_SLL); linktype=LINUX_SLL; encap="Linux cooked-mode capture v1" ;;
    sll2) name=ws-sll2; port=18088; ytype=(-y LINUX_SLL2); linktype=LINUX_SLL2; encap="Linux cooked-mode capture v2" ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
esac

gen_init "$name"
out="$WORK/$name.pcap"

srv="wstap-lb$$-srv"
cli="wstap-lb$$-cli"
on_cleanup "ip netns del $srv"
on_cleanup "ip netns del $cli"
ip netns add "$srv"
ip netns add "$cli"
ip link add "wlb$$s" netns "$srv" type veth peer name "wlb$$c" netns "$cli"
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up
ip -n "$srv" addr add 10.254.77.1/24 dev "wlb$$s"
ip -n "$cli" addr add 10.254.77.2/24 dev "wlb$$c"
ip -n "$srv" link set "wlb$$s" up
ip -n "$cli" link set "wlb$$c" up

bg server ip netns exec "$srv" timeout 30 "$PY" "$GEN/ws_py.py" server \
    --host 10.254.77.1 --port "$port" --compression none --log "$WORK/server.jsonl"
wait_listen "$port" "$srv"

CAP_NETNS="$srv" CAP_IFACE=any cap_start "$out" "tcp port $port" "${ytype[@]}"
bg client ip netns exec "$cli" timeout 30 "$PY" "$GEN/ws_py.py" client \
    --url "ws://10.254.77.1:$port/echo" --scenario small --compression none \
    --log "$WORK/client.jsonl" --meta "$WORK/hs.json"
bg_wait client
bg_wait server
cap_stop
check_capture "$out" 1

got=$(capinfos -E "$out" | sed -n 's/^File encapsulation: *//p')
if [[ "$got" != "$encap" ]]; then
    echo "gen: wrong encapsulation: '$got', wanted '$encap'" >&2
    exit 1
fi
dups=$(tshark -r "$out" -T fields -e tcp.srcport -e tcp.seq_raw -e tcp.ack_raw -e tcp.len -e tcp.flags 2>/dev/null | sort | uniq -d | wc -l)
if [[ "$dups" -ne 0 ]]; then
    echo "gen: $dups duplicated packets in the -i any capture" >&2
    exit 1
fi

"$PY" "$GEN/ws_py.py" merge --out "$WORK/sent.jsonl" "$WORK/client.jsonl" "$WORK/server.jsonl"

"$PY" - "$WORK/hs.json" "$WORK/meta.json" "$variant" "$port" "$linktype" "$(tool_versions)" <<'PYEOF'
import json, sys
hs = json.load(open(sys.argv[1]))
variant, port, linktype, versions = sys.argv[3:7]
meta = {
    "generator": "tests/gen/gen-ws-sll.sh " + variant,
    "description": "python3-websockets echo, compression=None, small exchange between two "
                   "network namespaces joined by a veth pair, captured with tcpdump -i any "
                   "inside the server namespace (each packet appears once)",
    "server": {"addr": "10.254.77.1", "port": int(port), "software": "python3-websockets"},
    "client": {"addr": "10.254.77.2", "software": "python3-websockets"},
    "capture_tool": "tcpdump -i any -y " + linktype,
    "linktype": linktype,
    "compression": "none",
    "extensions_offered": hs["request_extensions"],
    "extensions_negotiated": hs["response_extensions"],
    "http_port": int(port),
    "versions": json.loads(versions),
}
json.dump(meta, open(sys.argv[2], "w"), indent=2, ensure_ascii=False)
PYEOF

"$PY" "$GEN/ws_verify.py" "$out" "$WORK/sent.jsonl" "$WORK/meta.json"
publish "$out" "$PCAPS/$name.pcap"
publish "$WORK/sent.jsonl" "$PCAPS/$name.sent.jsonl"
publish "$WORK/meta.json" "$PCAPS/$name.meta.json"
echo "gen: wrote pcaps/$name.pcap"
