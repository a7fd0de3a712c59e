#!/bin/bash
# gen-ws-node.sh - record a WebSocket exchange between a node-ws echo server
# and a node-ws client (tests/gen/ws_node.js) over loopback.
#
# Usage (as root):  tests/gen/gen-ws-node.sh deflate|plain
#
#   deflate -> pcaps/ws-node-deflate.pcap  127.0.0.1:18085, perMessageDeflate
#              (threshold 0, client_no_context_takeover, server_max_window_bits
#              =10); text + binary, fragmented messages with pings between
#              fragments in both directions; client closes with 1001 + reason
#   plain   -> pcaps/ws-node-plain.pcap    127.0.0.1:18086, no compression;
#              text/binary, a fragmented binary; the server closes (1000)
#
# Also writes pcaps/NAME.sent.jsonl and pcaps/NAME.meta.json.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant="${1:?usage: $0 deflate|plain}"
case "$variant" in
    deflate) name=ws-node-deflate; port=18085 ;;
    plain)   name=ws-node-plain;   port=18086 ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
esac

gen_init "$name"
out="$WORK/$name.pcap"

cap_start "$out" "tcp port $port"
bg node timeout 30 /usr/bin/node "$GEN/ws_node.js" "$variant" "$port" \
    "$WORK/sent.jsonl" "$WORK/hs.json"
bg_wait node
cap_stop
check_capture "$out" 1

"$PY" - "$WORK/hs.json" "$WORK/meta.json" "$variant" "$port" "$(tool_versions)" <<'PYEOF'
import json, sys
hs = json.load(open(sys.argv[1]))
variant, port, versions = sys.argv[3:6]
meta = {
    "generator": "tests/gen/gen-ws-node.sh " + variant,
    "description": {
        "deflate": "node-ws echo, perMessageDeflate threshold 0, client_no_context_takeover, "
                   "server_max_window_bits=10, fragmented messages with pings between "
                   "fragments, client closes 1001",
        "plain": "node-ws echo, no compression, fragmented binary, server initiates close 1000",
    }[variant],
    "server": {"addr": "127.0.0.1", "port": int(port), "software": "node-ws"},
    "client": {"software": "node-ws"},
    "capture_tool": "tcpdump -i lo",
    "compression": "permessage-deflate" if variant == "deflate" else "none",
    "extensions_offered": hs.get("request_extensions"),
    "extensions_negotiated": hs.get("extensions_negotiated"),
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
