#!/bin/bash
# gen-ws-python.sh - record a WebSocket exchange between a python3-websockets
# echo server and client (tests/gen/ws_py.py) over loopback.
#
# Usage (as root):  tests/gen/gen-ws-python.sh plain|deflate|ipv6|pcapng|hostile
#
#   plain   -> pcaps/ws-python-plain.pcap    127.0.0.1:18081, compression=None:
#              short text, 300-byte text (16-bit length), 70000-byte binary
#              (64-bit length), UTF-8 text, ping with data; echoes; client
#              closes with 1000 + reason
#   deflate -> pcaps/ws-python-deflate.pcap  127.0.0.1:18082, permessage-deflate
#              (library default, context takeover): 20 similar JSON texts and
#              two larger texts, echoed; normal close
#   ipv6    -> pcaps/ws-ipv6.pcap            [::1]:18083, small plain exchange
#   pcapng  -> pcaps/ws-pcapng.pcapng        127.0.0.1:18084, small plain
#              exchange captured by dumpcap (pcapng)
#   hostile -> pcaps/ws-hostile.pcap         127.0.0.1:18085, permessage-deflate:
#              texts, a binary, a ping and a close reason full of terminal escape
#              sequences, C0/C1 controls, bidi overrides and (binary) invalid UTF-8;
#              the timeline must show them escaped (tests/cli_check.py)
#
# Each also writes pcaps/NAME.sent.jsonl (frames sent, see README.md) and
# pcaps/NAME.meta.json.  Finishes in a few seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant="${1:?usage: $0 plain|deflate|ipv6|pcapng|hostile}"
host=127.0.0.1; urlhost=127.0.0.1; comp=none; ext=pcap
case "$variant" in
    plain)   name=ws-python-plain;   port=18081; scen=plain ;;
    deflate) name=ws-python-deflate; port=18082; scen=deflate; comp=deflate ;;
    ipv6)    name=ws-ipv6;           port=18083; scen=small; host=::1; urlhost='[::1]' ;;
    pcapng)  name=ws-pcapng;         port=18084; scen=small; ext=pcapng ;;
    hostile) name=ws-hostile;        port=18085; scen=hostile; comp=deflate ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
esac

gen_init "$name"
out="$WORK/$name.$ext"

bg server timeout 30 "$PY" "$GEN/ws_py.py" server --host "$host" --port "$port" \
    --compression "$comp" --log "$WORK/server.jsonl"
wait_listen "$port"

if [[ "$variant" == pcapng ]]; then
    CAP_TOOL=dumpcap cap_start "$out" "tcp port $port"
else
    cap_start "$out" "tcp port $port"
fi

bg client timeout 30 "$PY" "$GEN/ws_py.py" client --url "ws://$urlhost:$port/echo" \
    --scenario "$scen" --compression "$comp" --log "$WORK/client.jsonl" \
    --meta "$WORK/hs.json"
bg_wait client
bg_wait server
cap_stop

check_capture "$out" 1
"$PY" "$GEN/ws_py.py" merge --out "$WORK/sent.jsonl" "$WORK/client.jsonl" "$WORK/server.jsonl"

"$PY" - "$WORK/hs.json" "$WORK/meta.json" "$variant" "$host" "$port" "$comp" \
    "$(tool_versions)" <<'EOF'
import json, sys
hs = json.load(open(sys.argv[1]))
variant, host, port, comp, versions = sys.argv[3:8]
meta = {
    "generator": "tests/gen/gen-ws-python.sh " + variant,
    "description": {
        "plain": "python3-websockets echo, compression=None, client closes 1000",
        "deflate": "python3-websockets echo, permessage-deflate with context takeover",
        "ipv6": "python3-websockets echo over ::1, compression=None",
        "pcapng": "python3-websockets echo, compression=None, captured by dumpcap as pcapng",
        "hostile": "python3-websockets echo, permessage-deflate, payloads and close reason "
                   "full of terminal escape sequences, controls, bidi overrides and (binary) "
                   "invalid UTF-8",
    }[variant],
    "server": {"addr": host, "port": int(port), "software": "python3-websockets"},
    "client": {"software": "python3-websockets"},
    "capture_tool": "dumpcap" if variant == "pcapng" else "tcpdump -i lo",
    "compression": comp,
    "extensions_offered": hs["request_extensions"],
    "extensions_negotiated": hs["response_extensions"],
    "http_port": int(port),
    "versions": json.loads(versions),
}
json.dump(meta, open(sys.argv[2], "w"), indent=2, ensure_ascii=False)
EOF

"$PY" "$GEN/ws_verify.py" "$out" "$WORK/sent.jsonl" "$WORK/meta.json"
publish "$out" "$PCAPS/$name.$ext"
publish "$WORK/sent.jsonl" "$PCAPS/$name.sent.jsonl"
publish "$WORK/meta.json" "$PCAPS/$name.meta.json"
echo "gen: wrote pcaps/$name.$ext"
