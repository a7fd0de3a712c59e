#!/bin/bash
# gen-ws-nginx-proxy.sh - record a WebSocket exchange through nginx acting as
# a reverse proxy: python3-websockets client -> nginx (127.0.0.1:18090) ->
# python3-websockets echo backend (127.0.0.1:18091).  Both TCP connections
# are in one capture ('tcp port 18090 or tcp port 18091'): conn 1 is
# client<->nginx, conn 2 is nginx<->backend.  compression=None.
#
# Usage (as root):  tests/gen/gen-ws-nginx-proxy.sh
# Writes pcaps/ws-nginx-proxy.pcap, .sent.jsonl and .meta.json.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=ws-nginx-proxy
front=18090
back=18091
gen_init "$name"
out="$WORK/$name.pcap"

bg server timeout 30 "$PY" "$GEN/ws_py.py" server --host 127.0.0.1 --port "$back" \
    --compression none --log "$WORK/server.jsonl"
nginx_start "
    server {
        listen 127.0.0.1:$front;
        location /ws {
            proxy_pass http://127.0.0.1:$back;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \"upgrade\";
            proxy_set_header Host \$host;
            proxy_read_timeout 30s;
        }
    }"
wait_listen "$back"
wait_listen "$front"

cap_start "$out" "tcp port $front or tcp port $back"
bg client timeout 30 "$PY" "$GEN/ws_py.py" client --url "ws://127.0.0.1:$front/ws" \
    --scenario proxy --compression none --log "$WORK/client.jsonl" --meta "$WORK/hs.json"
bg_wait client
bg_wait server
cap_stop
nginx_stop
check_capture "$out" 2

"$PY" "$GEN/ws_py.py" merge --proxy --out "$WORK/sent.jsonl" \
    "$WORK/client.jsonl" "$WORK/server.jsonl"

"$PY" - "$WORK/hs.json" "$WORK/meta.json" "$front" "$back" "$(tool_versions)" <<'PYEOF'
import json, sys
hs = json.load(open(sys.argv[1]))
front, back, versions = sys.argv[3:6]
meta = {
    "generator": "tests/gen/gen-ws-nginx-proxy.sh",
    "description": "python3-websockets client -> nginx reverse proxy -> python3-websockets "
                   "echo backend, compression=None; conn 1 = client<->nginx, "
                   "conn 2 = nginx<->backend",
    "connections": [
        {"conn": 1, "client": "python3-websockets", "server": "nginx",
         "server_addr": "127.0.0.1", "server_port": int(front)},
        {"conn": 2, "client": "nginx", "server": "python3-websockets",
         "server_addr": "127.0.0.1", "server_port": int(back)},
    ],
    "http_ports": [int(front), int(back)],
    "capture_tool": "tcpdump -i lo",
    "compression": "none",
    "extensions_offered": hs["request_extensions"],
    "extensions_negotiated": hs["response_extensions"],
    "server_header_seen_by_client": hs["server_header"],
    "versions": json.loads(versions),
}
json.dump(meta, open(sys.argv[2], "w"), indent=2, ensure_ascii=False)
PYEOF

"$PY" "$GEN/ws_verify.py" "$out" "$WORK/sent.jsonl" "$WORK/meta.json"
publish "$out" "$PCAPS/$name.pcap"
publish "$WORK/sent.jsonl" "$PCAPS/$name.sent.jsonl"
publish "$WORK/meta.json" "$PCAPS/$name.meta.json"
echo "gen: wrote pcaps/$name.pcap"
