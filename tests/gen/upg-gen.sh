#!/bin/bash
# upg-gen.sh NAME - record one upgrade-failure / related-HTTP capture from
# real software over loopback (short-read: over a veth pair between two
# network namespaces).  Writes pcaps/upg-NAME.pcap, .meta.json (with the
# expected diagnosis) and, for WebSocket handshake attempts, .sent.jsonl.
#
# NAME: short-read short-read-2w short-read-3w 400 bad-accept nginx-ok nginx-noupgrade
#       nginx-noupgrade11 keepalive 426 version-400 no-response tls tls12 h2c h2c-ignored bad-key
#
# Usage (as root):  tests/gen/upg-gen.sh NAME      (all: make-upgrade.sh)
# Helpers: upg-apps.py (servers/clients), upg-keepalive-server.js (node),
# upg-check.py (tshark checks + meta), lib.sh, ws_py.py.  Ports 18300-18399.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 NAME" >&2; exit 2; }
what="$1"
name="upg-$what"
gen_init "$name"
out="$WORK/$name.pcap"
APPS="$GEN/upg-apps.py"
: >"$WORK/sent.jsonl"
sidecar=yes
ports=()

# tcpdump --immediate-mode -U -w (lib.sh) with a 32 MB buffer: in immediate
# mode the default 2 MB ring holds only a few snaplen-sized slots and a burst
# on lo was seen to be dropped ("10 packets dropped by kernel").
CAPDESC=""
cap() {
    CAPDESC="tcpdump -i ${CAP_IFACE:-lo}${CAP_NETNS:+ (in netns $CAP_NETNS, server side)} --immediate-mode -U -B 32768 -w FILE '$2'"
    cap_start "$@" -B 32768
}

# run the checks, write meta, publish
finish() {
    local pa=() p
    for p in "${ports[@]}"; do pa+=(--port "$p"); done
    "$PY" "$GEN/upg-check.py" "$what" "$out" "$WORK" "${pa[@]}" \
        --versions "$(tool_versions)" --openssl "$(openssl version)" \
        --capture "$CAPDESC"
    publish "$out" "$PCAPS/$name.pcap"
    publish "$WORK/meta.json" "$PCAPS/$name.meta.json"
    if [[ $sidecar == yes ]]; then
        publish "$WORK/sent.jsonl" "$PCAPS/$name.sent.jsonl"
    else
        rm -f "$PCAPS/$name.sent.jsonl"
    fi
    echo "gen: wrote pcaps/$name.pcap"
}

case "$what" in

short-read | short-read-2w | short-read-3w)
    # client ns (10.254.60.2) --veth, MTU 1500, no offloads-- server ns
    # (10.254.60.1:18300); the capture is taken on the server's veth.
    # short-read: python3-websockets writes the request at once; the server
    # reads 512 bytes of it 0.2 s later and closes with the rest unread: RST.
    # short-read-2w: a browser-like request in two writes 0.1 s apart; the
    # server reads the first (< 512 bytes, no key) as soon as it arrives and
    # closes: FIN; its kernel answers the second write's segments with RSTs.
    # short-read-3w: the same with the rest in two writes 0.1 s apart (Cookie
    # line, then the key): the RST answers the second write before the third,
    # which fails (ECONNRESET): the head's end never reaches the wire.
    port=18300; settle=0.2; writes=2
    [[ $what == short-read-2w ]] && { port=18313; settle=0; }
    [[ $what == short-read-3w ]] && { port=18314; settle=0; writes=3; }
    ports=("$port")
    tag="u$$"; [[ $what != short-read ]] && tag="p12u$$"
    nss="wstapns-$tag-srv"; nsc="wstapns-$tag-cli"
    ifs="s$tag"; ifc="c$tag"
    on_cleanup "ip netns del $nss"
    on_cleanup "ip netns del $nsc"
    ip netns add "$nss"; ip netns add "$nsc"
    ip -n "$nss" link set lo up; ip -n "$nsc" link set lo up
    ip link add "$ifs" netns "$nss" type veth peer name "$ifc" netns "$nsc"
    for pair in "$nss $ifs 10.254.60.1" "$nsc $ifc 10.254.60.2"; do
        read -r ns ifn addr <<<"$pair"
        ip -n "$ns" link set "$ifn" mtu 1500 up
        ip -n "$ns" addr add "$addr/24" dev "$ifn"
        ip netns exec "$ns" ethtool -K "$ifn" tso off gso off gro off tx off >/dev/null
    done
    echo "{\"server_if\": \"$(ip -n "$nss" -o link show "$ifs" | grep -o 'mtu [0-9]*')\"," \
         "\"offloads\": \"$(ip netns exec "$nss" ethtool -k "$ifs" | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|tx-checksumming):' | tr '\n' ' ')\"}" \
        >"$WORK/link.json"
    bg server ip netns exec "$nss" timeout 20 "$PY" "$APPS" short-read-server \
        --host 10.254.60.1 --port "$port" --bufsize 512 --settle "$settle" \
        --result "$WORK/server.json"
    wait_listen "$port" "$nss"
    CAP_NETNS="$nss" CAP_IFACE="$ifs" cap "$out" "tcp port $port" -n
    if [[ $what == short-read ]]; then
        bg client ip netns exec "$nsc" timeout 20 "$PY" "$APPS" ws-client \
            --url ws://10.254.60.1:$port/chat --cookie-bytes 3000 \
            --result "$WORK/client.json"
    else
        bg client ip netns exec "$nsc" timeout 20 "$PY" "$APPS" split-client \
            --host 10.254.60.1 --port "$port" --cookie-bytes 2500 --pause 0.1 \
            --writes "$writes" \
            --result "$WORK/client.json"
    fi
    bg_wait client
    bg_wait server
    cap_stop
    ;;

400)
    ports=(18301)
    bg server timeout 20 "$PY" "$APPS" ws-server --port 18301 --mode reject400 \
        --result "$WORK/server.json"
    wait_listen 18301
    cap "$out" "tcp port 18301"
    bg client timeout 20 "$PY" "$APPS" ws-client --url ws://127.0.0.1:18301/chat \
        --result "$WORK/client.json"
    bg_wait client
    bg_wait server
    cap_stop
    ;;

bad-accept)
    ports=(18302)
    bg server timeout 20 "$PY" "$APPS" bad-accept-server --port 18302 \
        --log "$WORK/server.jsonl" --result "$WORK/server.json"
    wait_listen 18302
    cap "$out" "tcp port 18302"
    bg client timeout 20 "$PY" "$APPS" ws-client --url ws://127.0.0.1:18302/chat \
        --result "$WORK/client.json"
    bg_wait client
    bg_wait server
    cap_stop
    "$PY" "$GEN/ws_py.py" merge --out "$WORK/sent.jsonl" "$WORK/server.jsonl"
    ;;

nginx-ok | nginx-noupgrade | nginx-noupgrade11)
    if [[ $what == nginx-ok ]]; then
        front=18303; back=18304
        loc="proxy_pass http://127.0.0.1:$back;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \"upgrade\";
            proxy_read_timeout 30s;"
        mode="echo"
    elif [[ $what == nginx-noupgrade ]]; then
        front=18305; back=18306
        # default proxy settings: HTTP/1.0, Connection: close, no Upgrade
        loc="proxy_pass http://127.0.0.1:$back;"
        mode=plain
    else
        front=18311; back=18312
        # the other common mistake: HTTP/1.1 upstream, headers not forwarded
        loc="proxy_pass http://127.0.0.1:$back;
            proxy_http_version 1.1;"
        mode=plain
    fi
    ports=("$front" "$back")
    bg server timeout 20 "$PY" "$APPS" ws-server --port "$back" --mode "$mode" \
        --log "$WORK/server.jsonl" --result "$WORK/server.json"
    nginx_start "
    server {
        listen 127.0.0.1:$front;
        location /ws {
            $loc
        }
    }"
    wait_listen "$back"
    wait_listen "$front"
    cap "$out" "tcp port $front or tcp port $back"
    if [[ $what == nginx-ok ]]; then
        bg client timeout 20 "$PY" "$GEN/ws_py.py" client --url "ws://127.0.0.1:$front/ws" \
            --scenario small --compression none --log "$WORK/client.jsonl" \
            --meta "$WORK/client.json"
    else
        bg client timeout 20 "$PY" "$APPS" ws-client --url "ws://127.0.0.1:$front/ws" \
            --result "$WORK/client.json"
    fi
    bg_wait client
    bg_wait server
    cap_stop
    nginx_stop
    cp "$WORK/nginx/logs/access.log" "$WORK/nginx-access.log"
    if [[ $what == nginx-ok ]]; then
        "$PY" "$GEN/ws_py.py" merge --proxy --out "$WORK/sent.jsonl" \
            "$WORK/client.jsonl" "$WORK/server.jsonl"
    fi
    ;;

keepalive)
    ports=(18307)
    bg server timeout 20 node "$GEN/upg-keepalive-server.js" 18307 "$WORK/server.json"
    wait_listen 18307
    cap "$out" "tcp port 18307"
    bg client timeout 20 "$PY" "$APPS" keepalive-client --port 18307 \
        --log "$WORK/client.jsonl" --result "$WORK/client.json"
    bg_wait client
    bg_wait server
    cap_stop
    "$PY" "$GEN/ws_py.py" merge --out "$WORK/sent.jsonl" "$WORK/client.jsonl"
    ;;

426 | version-400)
    if [[ $what == 426 ]]; then port=18308; mode=rfc426; else port=18310; mode=plain; fi
    ports=("$port")
    bg server timeout 20 "$PY" "$APPS" ws-server --port "$port" --mode "$mode" \
        --result "$WORK/server.json"
    wait_listen "$port"
    cap "$out" "tcp port $port"
    bg client timeout 20 "$PY" "$APPS" version-client --port "$port" --version 8 \
        --result "$WORK/client.json"
    bg_wait client
    bg_wait server
    cap_stop
    ;;

bad-key)
    # raw-socket client, Sec-WebSocket-Key "not-base64" (present, not base64 of 16 bytes)
    # -> python3-websockets server with no hook: the library's own 400.
    port=18355
    ports=("$port")
    bg server timeout 20 "$PY" "$APPS" ws-server --port "$port" --mode plain \
        --result "$WORK/server.json"
    wait_listen "$port"
    cap "$out" "tcp port $port"
    bg client timeout 20 "$PY" "$APPS" version-client --port "$port" --version 13 \
        --key not-base64 --result "$WORK/client.json"
    bg_wait client
    bg_wait server
    cap_stop
    ;;

no-response)
    ports=(18309)
    bg server timeout 25 "$PY" "$APPS" hang-server --port 18309 \
        --hold-file "$WORK/hold" --result "$WORK/server.json"
    wait_listen 18309
    cap "$out" "tcp port 18309"
    bg client timeout 20 "$PY" "$APPS" ws-client --url ws://127.0.0.1:18309/chat \
        --open-timeout 1 --result "$WORK/client.json"
    bg_wait client
    cap_stop
    touch "$WORK/hold"   # only now may the server close its side
    bg_wait server
    ;;

tls | tls12)
    sidecar=no
    if [[ $what == tls ]]; then port=18390; extra=(); else port=18391; extra=(-tls1_2); fi
    ports=("$port")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 \
        -subj /CN=ws.example.test -addext subjectAltName=DNS:ws.example.test \
        2>"$WORK/req.err"
    # s_server: one connection; what the script writes to its stdin (a FIFO)
    # is sent to the client.  The client sends its line at once, gets the
    # server's line 1 s later and quits (close_notify + FIN) when its stdin
    # ends 2 s after its start; s_server then exits (-naccept 1).
    mkfifo "$WORK/srv.in"
    exec 7<>"$WORK/srv.in"   # read-write: never blocks; EOF when closed
    bg server bash -c "exec timeout 15 openssl s_server -accept 127.0.0.1:$port \
        -naccept 1 -cert '$WORK/cert.pem' -key '$WORK/key.pem' -alpn http/1.1 \
        <'$WORK/srv.in'"
    wait_listen "$port"
    cap "$out" "tcp port $port"
    bg client bash -c "(echo 'hello from s_client'; sleep 2) |
        timeout 10 openssl s_client -connect 127.0.0.1:$port -servername ws.example.test \
        -alpn h2,http/1.1 -nocommands ${extra[*]:-}"
    sleep 1
    echo 'hello from s_server' >&7
    bg_wait client
    exec 7>&-
    bg_wait server
    cap_stop
    cp "$WORK/client.log" "$WORK/s_client.out"
    cp "$WORK/server.log" "$WORK/s_server.out"
    ;;

h2c | h2c-ignored)
    sidecar=no
    if [[ $what == h2c ]]; then
        port=18392; lst="listen 127.0.0.1:$port http2;"; copt=--http2-prior-knowledge
    else
        port=18393; lst="listen 127.0.0.1:$port;"; copt=--http2
    fi
    ports=("$port")
    nginx_start "
    server {
        $lst
        location / { return 200 \"hello over \$server_protocol\\n\"; }
    }"
    wait_listen "$port"
    cap "$out" "tcp port $port"
    urls=("http://127.0.0.1:$port/")
    # curl 7.88 fails ("Error in the HTTP2 framing layer") when it reuses a
    # prior-knowledge h2c connection for a 2nd URL: one request there.
    [[ $what == h2c-ignored ]] && urls+=("http://127.0.0.1:$port/second")
    bg client timeout 10 curl -sS -v "$copt" "${urls[@]}"
    bg_wait client
    cap_stop
    nginx_stop
    cp "$WORK/client.log" "$WORK/curl.out"
    cp "$WORK/nginx/logs/access.log" "$WORK/nginx-access.log"
    ;;

*)
    echo "unknown capture $what" >&2
    exit 2
    ;;
esac

finish
