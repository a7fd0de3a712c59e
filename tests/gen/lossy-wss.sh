#!/bin/bash
# lossy-wss.sh - a python3-websockets session over TLS 1.3 through the impairing bridge
# (lossy-common.sh / impair.c, "Lossy-path captures" in README.md), with the client's key log.
#
# Usage (root):  tests/gen/lossy-wss.sh
#   -> pcaps/lossy-wss-recv.pcap  port 18911, wss://10.254.90.2:18911, TLS 1.3
#      TLS_AES_256_GCM_SHA384, compression off, captured in the client namespace; the client
#      sends 20 binaries of 1.5-6 KB and 5 texts (up to 1.5 KB), the server echoes each, ping,
#      close.  s2c frames are dropped, duplicated and reordered before the capture point
#      (dropseg also drops the s2c data segment 3, inside the TLS handshake), so TLS records
#      arrive with gaps that the retransmissions fill later.
# Writes NAME.pcap, NAME.keys (SSLContext.keylog_filename of the client), NAME.sent.jsonl,
# NAME.meta.json, NAME.impair.log.
set -euo pipefail
. "$(dirname "$0")/lossy-common.sh"

name=lossy-wss-recv; port=18911; seed=9011
S2C="lat=5,drop=0.03,dup=0.01,delay=0.03,dmin=5,dmax=20,dropseg=3:25"
C2S="lat=5,drop=0.005,dup=0.005,delay=0.005,dmin=5,dmax=20"

lossy_init "$name"
# throwaway certificates (tls-common.sh's tls_certs writes into $WORK)
WORK=$LW
# shellcheck source=tls-common.sh
. "$LGEN/tls-common.sh"
tls_certs
topo_up
bridge_start "$seed" "$C2S" "$S2C"

nsbg $NS_S 60 server $PY "$LGEN/wss_py.py" server --host $IP_S --port $port \
	--cert "$LW/rsa.crt" --key "$LW/rsa.key" --log "$LW/server.jsonl"
wait_listen $NS_S $port

out=$LW/$name.pcap
cap_start "$NS_C" cli0 "$out" "tcp port $port"
nsbg $NS_C 60 client $PY "$LGEN/wss_py.py" client --url "wss://$IP_S:$port/lossy" \
	--ca "$LW/rsa.crt" --keylog "$LW/$name.keys" --scenario lossy \
	--log "$LW/client.jsonl" --meta "$LW/cm.json"
nswait client
nswait server
cap_stop
bridge_stop

$PY "$LGEN/wss_py.py" merge --out "$LW/sent.jsonl" "$LW/client.jsonl" "$LW/server.jsonl"
desc="python3-websockets over TLS 1.3 (client key log) through an impaired L2 path (5 ms each way), captured on the client (receiver of the impaired s2c direction): the client sends 20 binaries of 1.5-6 KB and 5 texts, the server echoes each, ping, close 1000. s2c frames dropped (3%), duplicated (1%), delayed 5-20 ms (3%, reordered); dropseg drops s2c data segments 3 and 25. The TLS records of s2c arrive with gaps filled by retransmissions."
finish "$name" "$out" \
	--kv "generator=tests/gen/lossy-wss.sh" \
	--kv "description=$desc" \
	--json "server={\"addr\":\"$IP_S\",\"port\":$port,\"software\":\"python3-websockets (TLS)\"}" \
	--json "client={\"addr\":\"$IP_C\",\"software\":\"python3-websockets (TLS)\"}" \
	--json "http_port=$port" \
	--expect retransmission\>=1 --expect lost_segment\>=1

# the TLS part of the meta (as gen-wss.sh writes it) and the key log
install -m 644 "$LW/$name.keys" "$LPCAPS/$name.keys"
$PY - "$LPCAPS/$name.meta.json" "$LW/cm.json" "$port" <<'PYEOF'
import json, sys
path, cm, port = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
m = json.load(open(path))
c = cm["connections"][0]
assert (c["tls_version"], c["cipher"]) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384"), c
m.update({
    "tls_ports": [port], "http_ports": [port], "compression": "none",
    "keylog": {"file": "lossy-wss-recv.keys",
               "writer": "python3 ssl SSLContext.keylog_filename (client)"},
    "connections": [{"conn": 1, "tls": True, "version": "1.3", "cipher": "TLS_AES_256_GCM_SHA384",
                     "alpn": None, "resumed": False, "resumption": None, "hrr": False,
                     "key_updates": {"c2s": 0, "s2c": 0}, "keys": True,
                     "expect_decrypt": "ok", "app": "websocket", "server_port": port}],
})
json.dump(m, open(path, "w"), indent=2, ensure_ascii=False)
PYEOF
$PY "$LGEN/tls_meta.py" "$LPCAPS/$name.meta.json" "$(cat "$LPCAPS/$name.meta.json")" \
	"$LPCAPS/$name.sent.jsonl"
$PY "$LREPO/tests/tshark_tls.py" --capture "$LPCAPS/$name.pcap" --keys "$LPCAPS/$name.keys" \
	--sidecar "$LPCAPS/$name.sent.jsonl" --meta "$LPCAPS/$name.meta.json" ||
	lossy_log "tshark does not decode every record of this lossy capture (see above)"
