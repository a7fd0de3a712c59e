#!/bin/bash
# gen-http-keepalive.sh - record plain HTTP/1.1 between curl and nginx over
# loopback (127.0.0.1:18080):
#   conn 1: `curl http://127.0.0.1:18080/a http://127.0.0.1:18080/b`, two GETs
#           of small static files over ONE keep-alive connection
#   conn 2: `curl -d ...` one POST with a small form body to /submit (nginx
#           answers 200 with a fixed body)
#
# Usage (as root):  tests/gen/gen-http-keepalive.sh
# Writes pcaps/http-keepalive.pcap and pcaps/http-keepalive.meta.json.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=http-keepalive
port=18080
gen_init "$name"
out="$WORK/$name.pcap"

nginx_start "
    server {
        listen 127.0.0.1:$port;
        root $WORK/nginx/html;
        keepalive_timeout 30s;
        location = /submit {
            return 200 \"thanks for posting\\n\";
        }
    }"
printf 'This is resource A.\n' >"$WORK/nginx/html/a"
printf 'Resource B is slightly longer than resource A.\n%.0s' 1 2 3 >"$WORK/nginx/html/b"
chmod 755 "$WORK/nginx" "$WORK/nginx/html"
chmod 644 "$WORK/nginx/html/a" "$WORK/nginx/html/b"
wait_listen "$port"

cap_start "$out" "tcp port $port"
timeout 10 curl -sS -o "$WORK/get.out" -o "$WORK/get2.out" \
    "http://127.0.0.1:$port/a" "http://127.0.0.1:$port/b"
timeout 10 curl -sS -o "$WORK/post.out" -d 'name=wstap&msg=hello+post' \
    "http://127.0.0.1:$port/submit"
cap_stop
nginx_stop
check_capture "$out" 2

conns=$(tshark -r "$out" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
reqs=$(tshark -r "$out" -Y http.request 2>/dev/null | wc -l)
resps=$(tshark -r "$out" -Y 'http.response.code == 200' 2>/dev/null | wc -l)
if [[ "$conns" -ne 2 || "$reqs" -ne 3 || "$resps" -ne 3 ]]; then
    echo "gen: expected 2 connections / 3 requests / 3 200-responses," \
        "got $conns / $reqs / $resps" >&2
    exit 1
fi

"$PY" - "$WORK/meta.json" "$port" "$WORK/nginx/html" "$(tool_versions)" <<'PYEOF'
import json, os, sys
out, port, html, versions = sys.argv[1:5]
size = lambda n: os.path.getsize(os.path.join(html, n))
meta = {
    "generator": "tests/gen/gen-http-keepalive.sh",
    "description": "curl -> nginx HTTP/1.1: two GETs on one keep-alive connection, "
                   "then one POST on a second connection",
    "server": {"addr": "127.0.0.1", "port": int(port), "software": "nginx"},
    "client": {"software": "curl"},
    "capture_tool": "tcpdump -i lo",
    "http_port": int(port),
    "exchanges": [
        {"conn": 1, "method": "GET", "uri": "/a", "status": 200, "response_body_len": size("a")},
        {"conn": 1, "method": "GET", "uri": "/b", "status": 200, "response_body_len": size("b")},
        {"conn": 2, "method": "POST", "uri": "/submit", "request_body": "name=wstap&msg=hello+post",
         "request_body_len": 25, "status": 200, "response_body": "thanks for posting\n"},
    ],
    "versions": json.loads(versions),
}
json.dump(meta, open(out, "w"), indent=2)
PYEOF

publish "$out" "$PCAPS/$name.pcap"
publish "$WORK/meta.json" "$PCAPS/$name.meta.json"
echo "gen: wrote pcaps/$name.pcap"
