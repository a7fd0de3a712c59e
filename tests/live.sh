#!/bin/sh
# live.sh - live capture under test, inside a network namespace this script creates.
#
# A real WebSocket server and client (tests/gen/ws_py.py: Debian's python3-websockets, with
# permessage-deflate) exchange messages on the namespace's loopback while two captures run on
# it at once: `wstap -i lo --json -Z nobody tcp port P` and `tcpdump -i lo -w F tcp port P`.
# Checks:
#   - wstap prints "listening on lo" and runs as nobody: /proc/PID/status shows Uid and Gid
#     65534 (real, effective, saved, filesystem), no supplementary root group, CapEff 0;
#   - on SIGINT it ends with status 0 and its last event is capture.end (interrupted: true)
#     with the kernel's drop counts (numbers, not null), 0 dropped;
#   - every event of the live run equals the offline analysis (wstap -r F --json) of tcpdump's
#     file, line for line, except capture.end's dropped/ifdropped (a file has none);
#   - -w: the pcap wstap wrote during that run (as nobody, into a directory nobody may write)
#     holds exactly the packets tcpdump saw (compared by tshark's TCP fields, as multisets),
#     and capture.end's "written" counts them;
#   - a second run (timeline, no -Z) stopped by SIGTERM prints "interrupted after N packets"
#     and the summary with the "dropped by kernel" line, and exits 0.
# Skipped, with the reason printed, when not root, when a namespace cannot be made, or when
# tcpdump or python3-websockets is missing (tools/deps.sh check installs them).
# Traffic stays inside the namespace; every process runs under timeout; the namespace is
# deleted on exit. Last line: "live: N passed, N failed[, N skipped]".
cd "$(dirname "$0")/.." || exit 2

WSTAP=${WSTAP_BIN:-./wstap}
PY=/usr/bin/python3
OUT=tests/out/live
NS=wstap-live-$$
PORT=18765
passed=0
failed=0
export TZ=UTC LC_ALL=C

skip() {
    echo "SKIPPED live: $*"
    echo "live: 0 passed, 0 failed, 1 skipped"
    exit 0
}
ok() { echo "ok   live: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL live: $*"; failed=$((failed + 1)); }
finish() {
    echo "live: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

[ "$(id -u)" -eq 0 ] || skip "needs root (a network namespace, packet capture, -Z)"
command -v tcpdump >/dev/null 2>&1 || skip "tcpdump is not installed (tools/deps.sh check)"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets is not installed (tools/deps.sh check)"
[ -x "$WSTAP" ] || { bad "$WSTAP is not built"; finish; }
id nobody >/dev/null 2>&1 || skip "there is no user nobody for -Z"
if ! ip netns add "$NS" 2>"$OUT.err"; then
    skip "cannot create a network namespace here: $(cat "$OUT.err" 2>/dev/null)"
fi
cleanup() {
    for p in $pids; do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
}
pids=
trap cleanup EXIT
trap 'exit 130' INT TERM
ip -n "$NS" link set lo up
rm -rf "$OUT"
mkdir -p "$OUT"
NSX="ip netns exec $NS"

# child_of PID: the process timeout(1) started (timeout stays the parent; signals go to wstap)
child_of() {
    i=0
    while [ $i -lt 50 ]; do
        c=$(pgrep -P "$1" -n 2>/dev/null) && [ -n "$c" ] && { echo "$c"; return 0; }
        sleep 0.1
        i=$((i + 1))
    done
    echo "$1"
}

# start_server COMPRESSION NAME: the echo server in the namespace, in the background ($spid);
# returns once it listens (10 s at most)
start_server() {
    $NSX timeout 30 "$PY" tests/gen/ws_py.py server --host 127.0.0.1 --port $PORT \
        --compression "$1" --log "$OUT/$2.log" >"$OUT/$2.out" 2>&1 &
    spid=$!
    pids="$pids $spid"
    i=0
    while [ $i -lt 100 ] && ! $NSX ss -Hltn "sport = :$PORT" | grep -q .; do
        sleep 0.1
        i=$((i + 1))
    done
}

# wait_for FILE PATTERN: up to 10 s for PATTERN to appear in FILE
wait_for() {
    i=0
    while [ $i -lt 100 ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# ---- run 1: JSON, -Z nobody, -w, SIGINT; tcpdump beside it ---------------------------------
WDIR=$(mktemp -d)
chmod 777 "$WDIR" # -w opens the file after -Z, as tcpdump does
$NSX timeout 60 "$WSTAP" -i lo --json -Z nobody -w "$WDIR/w.pcap" tcp port $PORT >"$OUT/live.json" 2>"$OUT/live.err" &
tmo=$!
pids="$pids $tmo"
wpid=$(child_of $tmo)
$NSX timeout 60 tcpdump -i lo -n -U -w "$OUT/ref.pcap" tcp port $PORT 2>"$OUT/tcpdump.err" &
tpid=$!
pids="$pids $tpid"
tpid=$(child_of $tpid)
if wait_for "$OUT/live.err" "listening on lo"; then ok "wstap is listening on lo"; else bad "wstap did not start: $(head -c 300 "$OUT/live.err")"; fi
wait_for "$OUT/tcpdump.err" "listening on" || bad "tcpdump did not start: $(head -c 300 "$OUT/tcpdump.err")"

st=/proc/$wpid/status
if [ -r "$st" ]; then
    uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st")
    gid=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$st")
    groups=$(awk '/^Groups:/ {$1 = ""; print}' "$st")
    capeff=$(awk '/^CapEff:/ {print $2}' "$st")
    nuid=$(id -u nobody)
    ngid=$(id -g nobody)
    [ "$uid" = "$nuid $nuid $nuid $nuid" ] && ok "-Z nobody: Uid $uid" || bad "-Z nobody: Uid is '$uid', want $nuid x4"
    [ "$gid" = "$ngid $ngid $ngid $ngid" ] && ok "-Z nobody: Gid $gid" || bad "-Z nobody: Gid is '$gid', want $ngid x4"
    case " $groups " in
    *" 0 "*) bad "-Z nobody: still in group 0 (Groups:$groups)" ;;
    *) ok "-Z nobody: no root group (Groups:$groups)" ;;
    esac
    [ "$capeff" = 0000000000000000 ] && ok "-Z nobody: no effective capabilities" || bad "-Z nobody: CapEff $capeff"
else
    bad "wstap (pid $wpid) is not running: $(head -c 300 "$OUT/live.err")"
fi

start_server deflate server
if $NSX timeout 30 "$PY" tests/gen/ws_py.py client --url "ws://127.0.0.1:$PORT/live" \
    --scenario deflate --compression deflate --log "$OUT/client.log" >"$OUT/client.out" 2>&1; then
    ok "the WebSocket client ran its scenario"
else
    bad "the WebSocket client failed: $(tail -n 5 "$OUT/client.out")"
fi
wait "$spid" 2>/dev/null
sleep 1 # let both captures read the last packets
kill -INT "$wpid" "$tpid"
wait "$tmo"
wrc=$?
wait
[ "$wrc" -eq 0 ] && ok "SIGINT: wstap exited 0" || bad "SIGINT: wstap exited $wrc: $(tail -n 3 "$OUT/live.err")"
last=$(tail -n 1 "$OUT/live.json")
case "$last" in
*'"ev":"capture.end"'*'"dropped":0,"ifdropped":0'*'"interrupted":true'[,}]*) ok "SIGINT: capture.end with the kernel's drop counts, 0 dropped, interrupted" ;;
*) bad "SIGINT: last line is not capture.end with dropped 0: $(printf '%s' "$last" | head -c 300)" ;;
esac
n=$(grep -c '"ev":"ws.message"' "$OUT/live.json")
[ "$n" -ge 10 ] && ok "live: $n WebSocket messages decoded" || bad "live: only $n WebSocket messages"
grep -q '"compressed":true' "$OUT/live.json" && ok "live: permessage-deflate messages inflated" || bad "live: no compressed message"

"$WSTAP" -r "$OUT/ref.pcap" --json >"$OUT/offline.json" 2>"$OUT/offline.err"
orc=$?
[ "$orc" -eq 0 ] && ok "offline analysis of tcpdump's capture exited 0" || bad "offline analysis exited $orc"
# the same events (packet times within 2 ms; capture.end's drop counts are null for a file)
if "$PY" tests/live_cmp.py "$OUT/live.json" "$OUT/offline.json" >"$OUT/cmp.out" 2>&1; then
    ok "live JSON equals the offline analysis of tcpdump's capture: $(cat "$OUT/cmp.out")"
else
    bad "live JSON differs from the offline analysis of tcpdump's capture:"
    sed 's/^/    /' "$OUT/cmp.out"
fi

# every packet tcpdump saw is in wstap's -w file, and capture.end counts them
if "$PY" - "$OUT/ref.pcap" "$WDIR/w.pcap" "$last" >"$OUT/wcmp.out" 2>&1 <<'PYEOF'
import collections, json, subprocess, sys
F = ['frame.len', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags',
     'tcp.window_size_value', 'tcp.len', 'tcp.options.timestamp.tsval']
def rows(path):
    a = ['tshark', '-n', '-r', path, '-T', 'fields']
    for f in F:
        a += ['-e', f]
    p = subprocess.run(a, capture_output=True, text=True, check=True)
    return collections.Counter(p.stdout.splitlines())
ref, got = rows(sys.argv[1]), rows(sys.argv[2])
written = json.loads(sys.argv[3]).get('written')
n = sum(ref.values())
print('%d packets in tcpdump\'s file, %d in the -w file, capture.end written %s'
      % (n, sum(got.values()), written))
sys.exit(0 if n > 0 and ref == got and written == sum(got.values()) else 1)
PYEOF
then
    ok "-w: $(cat "$OUT/wcmp.out")"
else
    bad "-w: the written file differs from tcpdump's: $(cat "$OUT/wcmp.out")"
fi
rm -rf "$WDIR"

# ---- run 2: timeline, SIGTERM -----------------------------------------------------------------
$NSX timeout 60 "$WSTAP" -i lo tcp port $PORT >"$OUT/term.out" 2>"$OUT/term.err" &
tmo=$!
pids="$pids $tmo"
wpid=$(child_of $tmo)
wait_for "$OUT/term.err" "listening on lo" || bad "run 2: wstap did not start"
start_server none server2
$NSX timeout 30 "$PY" tests/gen/ws_py.py client --url "ws://127.0.0.1:$PORT/term" \
    --scenario plain --compression none --log "$OUT/client2.log" >"$OUT/client2.out" 2>&1 ||
    bad "run 2: the client failed"
wait "$spid" 2>/dev/null
sleep 1
kill -TERM "$wpid"
wait "$tmo"
wrc=$?
[ "$wrc" -eq 0 ] && ok "SIGTERM: wstap exited 0" || bad "SIGTERM: wstap exited $wrc"
grep -q "^[0-9.]* #[0-9]* *interrupted after [0-9]* packets\{0,1\}$" "$OUT/term.out" &&
    ok "SIGTERM: the timeline's last event line says 'interrupted after N packets'" ||
    bad "SIGTERM: no 'interrupted after N packets' line"
grep -q "dropped by kernel *0" "$OUT/term.out" && ok "SIGTERM: the summary has 'dropped by kernel 0'" ||
    bad "SIGTERM: no 'dropped by kernel' line in the summary"
grep -q "WebSocket open" "$OUT/term.out" && ok "SIGTERM: the session was decoded" || bad "SIGTERM: no WebSocket open"

# ---- run 3: wss with a key log that grows while wstap captures (--keylog re-read) ---------
# python3-websockets over Python's ssl (tests/gen/wss_py.py) with a throwaway certificate;
# the client writes its key log (SSLContext.keylog_filename) only as its sessions start, after
# wstap has read the (then empty) file: the sessions decrypt only if wstap re-reads it.
if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$OUT/tls.key" \
        -out "$OUT/tls.crt" 2>/dev/null
    : >"$OUT/live.keys"
    $NSX timeout 60 "$WSTAP" -i lo --json --keylog "$OUT/live.keys" tcp port $PORT \
        >"$OUT/tls.json" 2>"$OUT/tls.err" &
    tmo=$!
    pids="$pids $tmo"
    wpid=$(child_of $tmo)
    wait_for "$OUT/tls.err" "listening on lo" || bad "run 3: wstap did not start"
    $NSX timeout 30 "$PY" tests/gen/wss_py.py server --host 127.0.0.1 --port $PORT \
        --cert "$OUT/tls.crt" --key "$OUT/tls.key" --conns 2 --log "$OUT/tls-server.log" \
        >"$OUT/tls-server.out" 2>&1 &
    spid=$!
    pids="$pids $spid"
    i=0
    while [ $i -lt 100 ] && ! $NSX ss -Hltn "sport = :$PORT" | grep -q .; do
        sleep 0.1
        i=$((i + 1))
    done
    $NSX timeout 30 "$PY" tests/gen/wss_py.py client --url "wss://localhost:$PORT/wss" \
        --ca "$OUT/tls.crt" --keylog "$OUT/live.keys" --scenario small --conns 2 \
        --log "$OUT/tls-client.log" >"$OUT/tls-client.out" 2>&1 ||
        bad "run 3: the wss client failed: $(tail -n 3 "$OUT/tls-client.out")"
    wait "$spid" 2>/dev/null
    sleep 1
    kill -INT "$wpid"
    wait "$tmo"
    wrc=$?
    [ "$wrc" -eq 0 ] && ok "run 3: wstap --keylog exited 0" || bad "run 3: wstap exited $wrc: $(tail -n 3 "$OUT/tls.err")"
    nk=$(grep -c . "$OUT/live.keys")
    nok=$(grep -c '"ev":"tls.decrypt".*"status":"ok"' "$OUT/tls.json")
    [ "$nk" -gt 0 ] && [ "$nok" -eq 4 ] &&
        ok "run 3: both sessions decrypted (4 tls.decrypt ok) from a key log written during the capture ($nk lines)" ||
        bad "run 3: $nok tls.decrypt ok (want 4), key log $nk lines: $(grep '"ev":"tls.decrypt"' "$OUT/tls.json" | head -n 2)"
    n=$(grep -c '"ev":"ws.message"' "$OUT/tls.json")
    [ "$n" -ge 4 ] && ok "run 3: $n WebSocket messages decrypted live" || bad "run 3: only $n WebSocket messages"
    rm -f "$OUT/tls.key"
else
    echo "SKIPPED live run 3: openssl is not installed"
fi
finish
