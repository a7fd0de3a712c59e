#!/bin/bash
# gen-https-curl.sh - record curl fetching two files over HTTPS from nginx on loopback, with
# curl's key log (SSLKEYLOGFILE), for wstap's TLS decryption (issue #19).
#
# Usage (as root):  tests/gen/gen-https-curl.sh h1|h2
#   h1 -> pcaps/https-curl-h1.pcap  port 18320: curl --http1.1, ALPN http/1.1, GET /a.txt and
#         GET /b.bin on one keep-alive connection
#   h2 -> pcaps/https-curl-h2.pcap  port 18321: curl --http2, ALPN h2, the same two GETs as
#         two streams of one HTTP/2 connection (h2 inside TLS: never WebSocket)
# Writes NAME.pcap, NAME.keys and NAME.meta.json (the TLS version and suite curl reported,
# ALPN, and path, status, length and sha256 of each body served).  Throwaway RSA certificate
# (tls-common.sh).  Finishes in a few seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls-common.sh"

variant="${1:?usage: $0 h1|h2}"
case "$variant" in
h1) name=https-curl-h1; port=18320; cflag=--http1.1; alpn=http/1.1; app=http/1.1 ;;
h2) name=https-curl-h2; port=18321; cflag=--http2;   alpn=h2;       app=h2 ;;
*) echo "gen-https-curl: unknown variant $variant" >&2; exit 2 ;;
esac

gen_init "$name"
tls_certs
out="$WORK/$name.pcap"
keys="$WORK/$name.keys"
html="$WORK/nginx/html"
mkdir -p "$html"
"$PY" - "$html" <<'PYEOF'
import random, sys
d = sys.argv[1]
open(d + "/a.txt", "w").write("".join("line %04d of a.txt served by nginx over TLS\n" % i
                                      for i in range(70)))
rnd = random.Random(19)
open(d + "/b.bin", "wb").write(bytes(rnd.getrandbits(8) for _ in range(10000)))
PYEOF
nginx_start "
    server {
        listen 127.0.0.1:$port ssl http2;
        ssl_certificate $WORK/rsa.crt;
        ssl_certificate_key $WORK/rsa.key;
        ssl_protocols TLSv1.3;
        root $html;
    }"
wait_listen "$port"

cap_start "$out" "tcp port $port"
SSLKEYLOGFILE="$keys" timeout 20 curl -sS -v "$cflag" --cacert "$WORK/rsa.crt" \
    -o "$WORK/a.out" "https://localhost:$port/a.txt" \
    -o "$WORK/b.out" "https://localhost:$port/b.bin" 2>"$WORK/curl.log"
sleep 0.3
nginx_stop
cap_stop
tls_check_capture "$out" 1
cmp "$WORK/a.out" "$html/a.txt"
cmp "$WORK/b.out" "$html/b.bin"
grep -E 'SSL connection using|ALPN|Re-using|Connection #0' "$WORK/curl.log" >&2 || true
ssl=$(grep -o 'SSL connection using [^ ]* / [A-Z0-9_]*' "$WORK/curl.log" | head -n1)
tlsver=$(echo "$ssl" | awk '{print $4}'); suite=$(echo "$ssl" | awk '{print $6}')
grep -q "ALPN: server accepted $alpn" "$WORK/curl.log" || {
    echo "gen-https-curl: ALPN $alpn not accepted" >&2; exit 1; }

spec=$("$PY" - "$html" "$tlsver" "$suite" "$(tool_versions)" <<PYEOF
import hashlib, json, sys
html, tlsver, suite, versions = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
reqs = []
for p in ("a.txt", "b.bin"):
    b = open(html + "/" + p, "rb").read()
    reqs.append({"path": "/" + p, "status": 200, "body_len": len(b),
                 "body_sha256": hashlib.sha256(b).hexdigest()})
print(json.dumps({
    "generator": "tests/gen/gen-https-curl.sh $variant",
    "description": "curl $cflag (SSLKEYLOGFILE) -> nginx TLS 1.3, ALPN $alpn: GET /a.txt and "
                   "GET /b.bin on one connection",
    "server": {"addr": "127.0.0.1", "port": $port, "software": "nginx",
               "cert": "rsa (throwaway, self-signed)"},
    "client": {"software": "curl"},
    "capture_tool": "tcpdump -i lo",
    "filter": "tcp port $port",
    "tls_ports": [$port],
    "http_ports": [$port],
    "keylog": {"file": "$name.keys", "writer": "curl SSLKEYLOGFILE"},
    "connections": [{"conn": 1, "tls": True, "version": tlsver.replace("TLSv", ""),
                     "cipher": suite, "alpn": "$alpn", "resumed": False, "hrr": False,
                     "key_updates": {"c2s": 0, "s2c": 0}, "keys": True,
                     "expect_decrypt": "ok", "app": "$app", "server_port": $port,
                     "requests": reqs}],
    "versions": versions,
}))
PYEOF
)
"$PY" "$GEN/tls_meta.py" "$WORK/$name.meta.json" "$spec"
"$PY" "$REPO/tests/tshark_tls.py" --capture "$out" --keys "$keys" --meta "$WORK/$name.meta.json"
tls_publish "$name"
