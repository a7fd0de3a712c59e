#!/bin/bash
# gen-wss.sh - record WebSocket-over-TLS (wss) sessions between real programs on loopback,
# with the NSS key log the programs wrote, for wstap's TLS decryption (issue #19).
#
# Usage (as root):  tests/gen/gen-wss.sh VARIANT...   (tests/gen/make-tls.sh runs them all)
#
# Writes pcaps/NAME.pcap, NAME.keys (key log), NAME.sent.jsonl (every WebSocket frame each
# side sent, see README.md) and NAME.meta.json (expected TLS version, IANA suite, ALPN,
# resumption, HRR, key updates, decryption outcome and message counts per connection).
# Certificates are throwaway (tls-common.sh: made per run, deleted with the run's temp dir).
#
#   VARIANT            NAME                          what
#   py12-rsa-aes128    wss-py-tls12-rsa-aes128       python3-websockets, TLS 1.2 ECDHE-RSA-AES128-GCM
#   py12-rsa-aes256    wss-py-tls12-rsa-aes256       ... ECDHE-RSA-AES256-GCM-SHA384
#   py12-rsa-chacha    wss-py-tls12-rsa-chacha       ... ECDHE-RSA-CHACHA20-POLY1305
#   py12-ecdsa-aes128  wss-py-tls12-ecdsa-aes128     ... ECDHE-ECDSA-AES128-GCM (P-256 cert)
#   py12-ecdsa-aes256  wss-py-tls12-ecdsa-aes256     ... ECDHE-ECDSA-AES256-GCM-SHA384
#   py12-ecdsa-chacha  wss-py-tls12-ecdsa-chacha     ... ECDHE-ECDSA-CHACHA20-POLY1305
#   py12-dhe-aes128    wss-py-tls12-dhe-rsa-aes128   ... DHE-RSA-AES128-GCM (ffdhe2048)
#   py13-deflate       wss-py-tls13-deflate          python, TLS 1.3 default suite, ALPN
#                                                    http/1.1, permessage-deflate
#   two-onekey         wss-two-onekey                python, TLS 1.3, two connections; the
#                                                    key log lacks the 2nd one's lines
#   wrongkeys          wss-wrongkeys                 python, TLS 1.3; the key log is that of
#                                                    another session (not in the capture)
#   badkey             wss-badkey                    as wrongkeys, but the other session's
#                                                    client random is replaced by this one's:
#                                                    the right client random with the wrong
#                                                    secrets (AEAD tags fail: bad_key)
#   node13-aes128      wss-node-tls13-aes128         node-ws over https, TLS_AES_128_GCM_SHA256,
#                                                    ALPN http/1.1, key log by the server
#                                                    (node --tls-keylog)
#   node13-aes256-deflate wss-node-tls13-aes256-deflate  ... TLS_AES_256_GCM_SHA384, deflate
#   node13-chacha      wss-node-tls13-chacha         ... TLS_CHACHA20_POLY1305_SHA256, ECDSA
#   node-hrr           wss-node-tls13-hrr            node client offers a P-256 key share, the
#                                                    server takes only X25519: HelloRetryRequest
#   keyupdate          wss-sclient-keyupdate         openssl s_client (TLS 1.3) sends a WebSocket
#                                                    session to python3-websockets and KeyUpdates
#                                                    between messages (K twice, k once)
#   resume12-sessid    wss-sclient-resume-tls12-sessid   two s_client connections, the 2nd
#                                                    resumes by TLS 1.2 session id (-no_ticket)
#   resume12-ticket    wss-sclient-resume-tls12-ticket   ... by TLS 1.2 session ticket
#   resume13-psk       wss-sclient-resume-tls13-psk  ... by TLS 1.3 PSK (ticket)
#   nginx-term         wss-nginx-term                python client --wss--> nginx (TLS
#                                                    terminator) --ws--> python backend
# Every run finishes in a few seconds; servers, clients and the capture run under timeout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls-common.sh"

[[ $# -ge 1 ]] || { sed -n '2,/^set -euo/p' "$0" | grep '^#' >&2; exit 2; }
if [[ $# -gt 1 ]]; then
    for v in "$@"; do "$0" "$v"; done
    exit 0
fi
variant=$1

# defaults (python server and client, TLS 1.3, RSA, no ALPN, no compression, one connection)
impl=py; tls12=0; ciphers=""; cert=rsa; alpn=""; compression=none; conns=1; scen=tls
version=1.3; suite=TLS_AES_256_GCM_SHA384; dh=""; hrr=false; resumption=""
case "$variant" in
py12-rsa-aes128)   name=wss-py-tls12-rsa-aes128;   port=18301; tls12=1; ciphers=ECDHE-RSA-AES128-GCM-SHA256
                   suite=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 ;;
py12-rsa-aes256)   name=wss-py-tls12-rsa-aes256;   port=18302; tls12=1; ciphers=ECDHE-RSA-AES256-GCM-SHA384
                   suite=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 ;;
py12-rsa-chacha)   name=wss-py-tls12-rsa-chacha;   port=18303; tls12=1; ciphers=ECDHE-RSA-CHACHA20-POLY1305
                   suite=TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 ;;
py12-ecdsa-aes128) name=wss-py-tls12-ecdsa-aes128; port=18304; tls12=1; cert=ecdsa; ciphers=ECDHE-ECDSA-AES128-GCM-SHA256
                   suite=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ;;
py12-ecdsa-aes256) name=wss-py-tls12-ecdsa-aes256; port=18305; tls12=1; cert=ecdsa; ciphers=ECDHE-ECDSA-AES256-GCM-SHA384
                   suite=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ;;
py12-ecdsa-chacha) name=wss-py-tls12-ecdsa-chacha; port=18306; tls12=1; cert=ecdsa; ciphers=ECDHE-ECDSA-CHACHA20-POLY1305
                   suite=TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 ;;
py12-dhe-aes128)   name=wss-py-tls12-dhe-rsa-aes128; port=18307; tls12=1; ciphers=DHE-RSA-AES128-GCM-SHA256; dh=1
                   suite=TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 ;;
py13-deflate)      name=wss-py-tls13-deflate;      port=18308; alpn=http/1.1; compression=deflate; scen=deflate ;;
two-onekey)        name=wss-two-onekey;            port=18309; conns=2; scen=small ;;
wrongkeys)         name=wss-wrongkeys;             port=18310; scen=small ;;
badkey)            name=wss-badkey;                port=18322; scen=small ;;
node13-aes128)     name=wss-node-tls13-aes128;     port=18311; impl=node; ciphers=TLS_AES_128_GCM_SHA256
                   suite=$ciphers; alpn=http/1.1 ;;
node13-aes256-deflate) name=wss-node-tls13-aes256-deflate; port=18312; impl=node; ciphers=TLS_AES_256_GCM_SHA384
                   suite=$ciphers; alpn=http/1.1; compression=deflate; scen=deflate ;;
node13-chacha)     name=wss-node-tls13-chacha;     port=18313; impl=node; ciphers=TLS_CHACHA20_POLY1305_SHA256
                   suite=$ciphers; cert=ecdsa ;;
node-hrr)          name=wss-node-tls13-hrr;        port=18314; impl=node; ciphers=TLS_AES_128_GCM_SHA256
                   suite=$ciphers; hrr=true ;;
keyupdate)         name=wss-sclient-keyupdate;     port=18315; impl=sclient; scen=keyupdate ;;
resume12-sessid)   name=wss-sclient-resume-tls12-sessid; port=18316; impl=sclient; resumption=session_id; tls12=1; conns=2; scen=resume
                   suite=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384; ciphers=ECDHE-RSA-AES256-GCM-SHA384 ;;
resume12-ticket)   name=wss-sclient-resume-tls12-ticket; port=18317; impl=sclient; resumption=ticket; tls12=1; conns=2; scen=resume
                   suite=TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256; ciphers=ECDHE-RSA-CHACHA20-POLY1305 ;;
resume13-psk)      name=wss-sclient-resume-tls13-psk; port=18318; impl=sclient; resumption=psk; conns=2; scen=resume ;;
nginx-term)        name=wss-nginx-term;            port=18319; impl=nginx; scen=small ;;
*) echo "gen-wss: unknown variant $variant" >&2; exit 2 ;;
esac
[[ $tls12 == 1 ]] && version=1.2

gen_init "$name"
tls_certs
out="$WORK/$name.pcap"
keys="$WORK/$name.keys"
: >"$keys"
tls_args=()
[[ $tls12 == 1 ]] && tls_args+=(--tls12)
[[ -n $ciphers && $impl == py ]] && tls_args+=(--ciphers "$ciphers")
[[ -n $alpn ]] && tls_args+=(--alpn "$alpn")
srv_args=(--host 127.0.0.1 --port "$port" --cert "$WORK/$cert.crt" --key "$WORK/$cert.key"
          --log "$WORK/server.jsonl" --compression "$compression" --conns "$conns")
[[ -n $dh ]] && srv_args+=(--dh "$WORK/dh.pem")
filter="tcp port $port"
keylog_writer="python3 ssl SSLContext.keylog_filename (client)"
client_sw=python3-websockets; server_sw=python3-websockets
key_updates=""; resumed_2nd=false
logs=("$WORK/client.jsonl" "$WORK/server.jsonl")

case "$impl" in
py)
    extra_srv=()
    [[ $variant == wrongkeys || $variant == badkey ]] && extra_srv=(--conns 2)
    bg server timeout 40 "$PY" "$GEN/wss_py.py" server "${srv_args[@]}" "${tls_args[@]}" \
        "${extra_srv[@]}"
    wait_listen "$port"
    cap_start "$out" "$filter"
    bg client timeout 40 "$PY" "$GEN/wss_py.py" client --url "wss://localhost:$port/wss" \
        --ca "$WORK/$cert.crt" --keylog "$keys" --scenario "$scen" --conns "$conns" \
        --compression "$compression" --log "$WORK/client.jsonl" --meta "$WORK/cm.json" \
        "${tls_args[@]}"
    bg_wait client
    if [[ $variant == wrongkeys || $variant == badkey ]]; then
        cap_stop
        # a second session with the same programs, not captured: its key log is the one
        # published beside the capture ("keys of another session")
        bg client2 timeout 40 "$PY" "$GEN/wss_py.py" client --url "wss://localhost:$port/wss" \
            --ca "$WORK/$cert.crt" --keylog "$WORK/other.keys" --scenario "$scen" \
            --log "$WORK/client2.jsonl" "${tls_args[@]}"
        bg_wait client2
        bg_wait server
        grep -v '"conn": 2' "$WORK/server.jsonl" >"$WORK/server1.jsonl" || true
        logs=("$WORK/client.jsonl" "$WORK/server1.jsonl")
        cp "$keys" "$WORK/own.keys"
        cp "$WORK/other.keys" "$keys"
        if [[ $variant == badkey ]]; then
            # constructed: the other session's secrets under this session's client random
            cr=$(tshark -r "$out" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.random | head -n1)
            cro=$(awk '$1 == "CLIENT_TRAFFIC_SECRET_0" {print $2; exit}' "$WORK/other.keys")
            [[ -n $cr && -n $cro && $cr != "$cro" ]] || { echo "gen-wss: no client randoms" >&2; exit 1; }
            sed "s/ $cro / $cr /" "$WORK/other.keys" >"$keys"
            grep -q " $cr " "$keys" || { echo "gen-wss: substitution failed" >&2; exit 1; }
        fi
    else
        bg_wait server
        cap_stop
    fi
    ;;
node)
    nopts() { # nopts ROLE: the JSON options of wss_node.js
        "$PY" - "$@" <<PYEOF
import json, sys
o = {"port": $port, "conns": $conns, "scenario": "$scen", "deflate": "$compression" == "deflate",
     "minVersion": "TLSv1.3", "maxVersion": "TLSv1.3", "ciphers": "$ciphers" or None,
     "alpn": "$alpn" or None}
if sys.argv[1] == "server":
    o.update(cert="$WORK/$cert.crt", key="$WORK/$cert.key", log="$WORK/server.jsonl")
    if "$hrr" == "true":
        o["ecdhCurve"] = "X25519"
else:
    o.update(ca="$WORK/$cert.crt", log="$WORK/client.jsonl", meta="$WORK/cm.json")
    if "$hrr" == "true":
        o["ecdhCurve"] = "P-256:X25519"
print(json.dumps({k: v for k, v in o.items() if v is not None}))
PYEOF
    }
    bg server timeout 40 /usr/bin/node --tls-keylog="$keys" "$GEN/wss_node.js" server "$(nopts server)"
    wait_listen "$port"
    cap_start "$out" "$filter"
    bg client timeout 40 /usr/bin/node "$GEN/wss_node.js" client "$(nopts client)"
    bg_wait client
    bg_wait server
    cap_stop
    client_sw=node-ws; server_sw="node-ws on node https"
    keylog_writer="node --tls-keylog (server process)"
    ;;
sclient)
    bg server timeout 40 "$PY" "$GEN/wss_py.py" server "${srv_args[@]}" "${tls_args[@]}" \
        $([[ $variant == resume12-sessid ]] && echo --no-ticket)
    wait_listen "$port"
    cap_start "$out" "$filter"
    sc=(-connect "127.0.0.1:$port" -servername localhost -CAfile "$WORK/$cert.crt"
        -verify_return_error -keylogfile "$keys")
    if [[ $tls12 == 1 ]]; then sc+=(-tls1_2 -cipher "$ciphers"); else sc+=(-tls1_3); fi
    [[ $variant == resume12-sessid ]] && sc+=(-no_ticket)
    logs=("$WORK/server.jsonl")
    for c in $(seq 1 "$conns"); do
        sess=()
        if [[ $conns -gt 1 && $c == 1 ]]; then sess=(-sess_out "$WORK/sess.pem"); fi
        if [[ $c -gt 1 ]]; then sess=(-sess_in "$WORK/sess.pem"); fi
        # the feeder writes the WebSocket session to s_client's stdin, pausing between pieces;
        # s_client sends it, prints what it receives, and sends close_notify at stdin's EOF
        timeout 30 "$PY" "$GEN/wss_py.py" feed --host 127.0.0.1 --port "$port" \
            --scenario "$scen" --conn "$c" --log "$WORK/feed$c.jsonl" |
            timeout 35 openssl s_client "${sc[@]}" "${sess[@]}" >"$WORK/sclient$c.log" 2>&1
        logs+=("$WORK/feed$c.jsonl")
        grep -aE '^(New|Reused),|KEYUPDATE|Protocol  *:|Cipher  *:' "$WORK/sclient$c.log" >&2 || true
        if [[ $c -gt 1 ]] && ! grep -aq '^Reused,' "$WORK/sclient$c.log"; then
            echo "gen-wss: connection $c was not resumed" >&2; exit 1
        fi
        sleep 0.3
    done
    bg_wait server
    cap_stop
    [[ $conns -gt 1 ]] && resumed_2nd=true
    if [[ $variant == keyupdate ]]; then
        ku=$(grep -ao KEYUPDATE "$WORK/sclient1.log" | wc -l)
        [[ $ku -eq 3 ]] || { echo "gen-wss: s_client reported $ku key updates, want 3" >&2; exit 1; }
        # K (update_requested) twice: the server answers each with its own KeyUpdate
        key_updates='{"c2s": 3, "s2c": 2}'
    fi
    client_sw="openssl s_client (fed by tests/gen/wss_py.py feed)"
    keylog_writer="openssl s_client -keylogfile"
    ;;
nginx)
    back=$((port + 100))
    bg server timeout 40 "$PY" "$GEN/ws_py.py" server --host 127.0.0.1 --port "$back" \
        --compression none --log "$WORK/backend.jsonl"
    nginx_start "
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $WORK/$cert.crt;
        ssl_certificate_key $WORK/$cert.key;
        ssl_protocols TLSv1.3;
        location /wss {
            proxy_pass http://127.0.0.1:$back;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \"upgrade\";
            proxy_set_header Host \$host;
            proxy_read_timeout 30s;
        }
    }"
    wait_listen "$back"
    wait_listen "$port"
    filter="tcp port $port or tcp port $back"
    cap_start "$out" "$filter"
    bg client timeout 40 "$PY" "$GEN/wss_py.py" client --url "wss://localhost:$port/wss" \
        --ca "$WORK/$cert.crt" --keylog "$keys" --scenario "$scen" --conns 1 \
        --log "$WORK/client.jsonl" --meta "$WORK/cm.json"
    bg_wait client
    bg_wait server
    cap_stop
    nginx_stop
    # the backend's log (ws_py.py: no conn) is the same frames as seen on conn 2
    "$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); r["conn"] = 1; print(json.dumps(r, ensure_ascii=False))' \
        "$WORK/backend.jsonl" >"$WORK/server.jsonl"
    server_sw="nginx (TLS terminator) -> python3-websockets backend"
    ;;
esac

if [[ $impl == nginx ]]; then
    tls_check_capture "$out" 2 rst-ok
else
    tls_check_capture "$out" "$conns"
fi
if [[ $impl == nginx ]]; then
    "$PY" "$GEN/wss_py.py" merge --proxy --out "$WORK/$name.sent.jsonl" "${logs[@]}"
else
    "$PY" "$GEN/wss_py.py" merge --out "$WORK/$name.sent.jsonl" "${logs[@]}"
fi

if [[ $variant == two-onekey ]]; then
    # keep only the first connection's secrets: drop every line of the 2nd ClientHello's
    # client random (tshark reads it from the capture)
    cr2=$(tshark -r "$out" -Y 'tcp.stream==1 && tls.handshake.type==1' -T fields \
        -e tls.handshake.random | head -n1)
    [[ -n $cr2 ]] || { echo "gen-wss: no 2nd ClientHello" >&2; exit 1; }
    grep -q "$cr2" "$keys" || { echo "gen-wss: key log lacks the 2nd session" >&2; exit 1; }
    cp "$keys" "$WORK/full.keys"
    grep -v "$cr2" "$WORK/full.keys" >"$keys"
fi

# connections and what is expected of each
conn_json=$("$PY" - "$WORK/cm.json" <<PYEOF
import json, os, sys
cm = json.load(open(sys.argv[1])) if os.path.exists(sys.argv[1]) else {"connections": []}
byc = {c["conn"]: c for c in cm["connections"]}
impl, variant, conns = "$impl", "$variant", $conns
key_updates = json.loads('$key_updates' or 'null')
out = []
for n in range(1, conns + 1):
    keyed = not (variant == "two-onekey" and n == 2) and variant not in ("wrongkeys", "badkey")
    c = {"conn": n, "tls": True, "version": "$version", "cipher": "$suite",
         "alpn": "$alpn" or None, "resumed": n > 1 and "$resumed_2nd" == "true",
         "resumption": ("$resumption" if n > 1 else None) or None,
         "hrr": "$hrr" == "true", "key_updates": key_updates or {"c2s": 0, "s2c": 0},
         "keys": keyed,
         "expect_decrypt": "ok" if keyed else "bad_key" if variant == "badkey" else "no_key",
         "app": "websocket",
         "server_port": $port}
    if n in byc:
        c["client_meta"] = byc[n]
    out.append(c)
if impl == "nginx":
    out.append({"conn": 2, "tls": False, "app": "websocket", "server_port": $port + 100,
                "expect_decrypt": None})
print(json.dumps(out))
PYEOF
)
spec=$("$PY" - "$conn_json" "$(tool_versions)" <<PYEOF
import json, sys
conns, versions = json.loads(sys.argv[1]), json.loads(sys.argv[2])
notes = {
    "two-onekey": "two TLS 1.3 connections; the key log has only the first one's secrets "
                  "(the lines of the second client random were removed): conn 2 cannot be "
                  "decrypted (no_key)",
    "wrongkeys": "the key log is the one written by the same client for another session "
                 "(made right after the capture, not in it): no client random matches (no_key)",
    "badkey": "CONSTRUCTED key log: the one the same client wrote for another session (made "
              "right after the capture, not in it) with that session's client random replaced "
              "by this capture's: the client random matches, the secrets are wrong, every AEAD "
              "tag fails (bad_key)",
    "keyupdate": "openssl s_client sends 'K' (KeyUpdate update_requested) twice and 'k' "
                 "(update_not_requested) once between WebSocket frames; the server "
                 "(OpenSSL via python ssl) answers each K with its own KeyUpdate",
    "node-hrr": "the client's first key share is P-256, the server accepts only X25519: "
                "HelloRetryRequest, then a second ClientHello",
}
spec = {
    "generator": "tests/gen/gen-wss.sh $variant",
    "description": "WebSocket over TLS $version ($suite): $client_sw -> $server_sw, "
                   "scenario $scen, compression $compression"
                   + ("; " + notes["$variant"] if "$variant" in notes else ""),
    "server": {"addr": "127.0.0.1", "port": $port, "software": "$server_sw", "cert": "$cert (throwaway, self-signed)"},
    "client": {"software": "$client_sw"},
    "capture_tool": "tcpdump -i lo",
    "filter": "$filter",
    "tls_ports": [$port],
    "http_ports": [$port] + ([$port + 100] if "$impl" == "nginx" else []),
    "compression": "$compression",
    "keylog": {"file": "$name.keys", "writer": "$keylog_writer"},
    "connections": conns,
    "versions": versions,
}
print(json.dumps(spec))
PYEOF
)
"$PY" "$GEN/tls_meta.py" "$WORK/$name.meta.json" "$spec" "$WORK/$name.sent.jsonl"
"$PY" "$REPO/tests/tshark_tls.py" --capture "$out" --keys "$keys" \
    --sidecar "$WORK/$name.sent.jsonl" --meta "$WORK/$name.meta.json"
tls_publish "$name"
