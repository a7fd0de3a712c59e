#!/bin/bash
# lossy-http.sh - curl downloads a ~300 KB file from nginx over the impairing
# bridge; captured on the receiver (client netns).  nginx sends at
# `limit_rate 1m` (~0.3 s for the file) so that the frames the bridge delays
# (reorders) arrive in the middle of the transfer, not after its end.
#
# Usage (root):  tests/gen/lossy-http.sh [recv] -> pcaps/lossy-http-recv.pcap (+ .meta.json,
#                                                 .impair.log), port 18904
#                tests/gen/lossy-http.sh send   -> pcaps/lossy-http-send.pcap, port 18940:
#                the same download captured on the sender (server netns), where every
#                resent segment is a retransmission (tshark calls some out-of-order)
set -euo pipefail
. "$(dirname "$0")/lossy-common.sh"

variant=${1:-recv}
case $variant in
recv) name=lossy-http-recv; port=18904; seed=9004; capns=$NS_C; capif=cli0
      S2C="lat=5,drop=0.025,dup=0.01,delay=0.02,dmin=5,dmax=20,dropseg=2:100" ;;
send) name=lossy-http-send; port=18940; seed=9040; capns=$NS_S; capif=srv0
      S2C="lat=5,drop=0.025,dup=0.01,delay=0.02,dmin=5,dmax=20,dropseg=2:100" ;;
*) echo "unknown variant $variant" >&2; exit 2 ;;
esac
C2S="lat=5,drop=0.005,dup=0.005,delay=0.005,dmin=5,dmax=20"
file=lossy-300k.txt

lossy_init "$name"
topo_up
bridge_start "$seed" "$C2S" "$S2C"

# deterministic 307200-byte text file: numbered lines, so any reassembly
# error is visible in the body
mkdir -p "$LW/www"
$PY - "$LW/www/$file" <<'EOF'
import sys
out = bytearray()
i = 0
while len(out) < 307200:
    out += b"line %06d of the wstap lossy-path download test: abcdefghijklmnopqrstuvwxyz\n" % i
    i += 1
open(sys.argv[1], "wb").write(bytes(out[:307200]))
EOF
chmod -R a+rX "$LW/www"

d=$LW/nginx
mkdir -p "$d/logs" "$d/tmp"
cat >"$d/nginx.conf" <<NGX
worker_processes 1;
master_process off;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log info;
events { worker_connections 64; }
http {
    access_log $d/logs/access.log;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    default_type text/plain;
    server {
        listen $IP_S:$port;
        root $LW/www;
        limit_rate 1m;
        keepalive_timeout 10s;
    }
}
NGX
nsbg $NS_S 60 server nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log"
wait_listen $NS_S $port

filt="tcp port $port"
out=$LW/$name.pcap
cap_start "$capns" "$capif" "$out" "$filt"
nsbg $NS_C 40 client curl -sS --max-time 35 -o "$LW/download" "http://$IP_S:$port/$file"
nswait client
cap_stop
bridge_stop
kill -TERM "${BGP[server]}"; wait "${BGP[server]}" 2>/dev/null || true; unset "BGP[server]"

cmp "$LW/download" "$LW/www/$file" || lossy_die "downloaded file differs"
sha=$(sha256sum "$LW/www/$file" | cut -d' ' -f1)

# the reassembled server->client stream must contain the whole body
$PY - "$out" "$LW/www/$file" <<'EOF'
import subprocess, sys
out = subprocess.run(["tshark", "-r", sys.argv[1], "-q", "-z", "follow,tcp,raw,0"],
                     capture_output=True, text=True, check=True).stdout
s2c = bytearray()
body = False
for line in out.splitlines():
    if line.startswith("Node 1:"):
        body = True
        continue
    if body and line.startswith("\t"):
        s2c += bytes.fromhex(line.strip())
data = open(sys.argv[2], "rb").read()
hdr_end = s2c.index(b"\r\n\r\n") + 4
if bytes(s2c[hdr_end:]) != data:
    raise SystemExit("follow,tcp,raw: s2c body differs from the file")
print("follow: s2c body == file (%d bytes)" % len(data), file=sys.stderr)
EOF

desc="curl GET (HTTP/1.1) of a 307200-byte text file from nginx (limit_rate 1m, keep-alive; curl closes the connection when done) over an impaired L2 path (base latency 5 ms each way), captured on the receiver (client netns). s2c frames dropped/duplicated/delayed by the bridge before the capture point; dropseg drops s2c data segment 2 (the first body segment; segment 1 is nginx's response header) and segment 100."
gen="tests/gen/lossy-http.sh"
expect=(--expect lost_segment\>=1 --expect out_of_order\>=1)
if [[ $variant == send ]]; then
	desc="the same curl download from nginx over the same impaired path, captured on the sender (server netns): every s2c frame appears as sent (the bridge drops, duplicates and delays after the capture point), so each resent s2c segment is a retransmission, also those tshark flags as out-of-order (resent within the handshake RTT of the newest segment); c2s (light impairment) arrives impaired. dropseg drops s2c data segments 2 and 100."
	gen="tests/gen/lossy-http.sh send"
	expect=(--expect out_of_order\>=1)  # tshark's label on resent segments: what this shows
fi

finish "$name" "$out" \
	--kv "generator=$gen" \
	--kv "description=$desc" \
	--json "server={\"addr\":\"$IP_S\",\"port\":$port,\"software\":\"nginx (limit_rate 1m)\"}" \
	--json "client={\"addr\":\"$IP_C\",\"software\":\"curl\"}" \
	--expect retransmission\>=1 --expect duplicate_ack\>=1 "${expect[@]}" \
	--json "http_port=$port" \
	--json "http={\"request\":\"GET /$file\",\"status\":200,\"body_len\":307200,\"body_sha256\":\"$sha\",\"body\":\"lines 'line %06d of the wstap lossy-path download test: abcdefghijklmnopqrstuvwxyz\\\\n', i from 0, cut at 307200 bytes\"}"
