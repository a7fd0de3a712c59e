# shellcheck shell=bash
# tests/gen/lib.sh - shared helpers for the loopback capture generators
# (tests/gen/gen-*.sh).  Source it from a script that uses `set -euo pipefail`.
#
# Provides:
#   gen_init NAME        temp dir ($WORK), paths ($REPO, $PCAPS, $GEN), EXIT trap
#   bg NAME CMD...       start CMD in the background (own process group),
#                        remember its pid; killed by the trap if still alive
#   bg_wait NAME         wait for a background job, fail on non-zero status
#   wait_listen PORT     poll `ss` (no connection is made) until PORT listens
#   cap_start FILE FILTER [TOOL-ARGS...]   start tcpdump (or dumpcap, see
#                        CAP_TOOL) and wait until it is really capturing
#   cap_stop             sleep 0.5 s, SIGINT the capture, wait for it
#   on_cleanup CMD       extra command run by the trap (e.g. `ip netns del`)
#   check_capture FILE   tshark sanity checks: every TCP connection has its
#                        SYN and FINs, no lost segments / missing packets
#   publish SRC DST      copy a file into pcaps/ (root-owned)
#   tool_versions        JSON object with the tool versions used
#
# Everything is bounded: captures run under `timeout`, and the trap kills
# every child and stops the capture even when the script fails.

GEN="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$GEN/../.." && pwd)"
PCAPS="$REPO/pcaps"
PY=/usr/bin/python3
export NODE_PATH=/usr/share/nodejs

declare -A _BG_PIDS=()
_CAP_PID=""
_CLEANUP_CMDS=()
WORK=""

_gen_cleanup() {
    local rc=$?
    set +e
    if [[ -n "$_CAP_PID" ]] && kill -0 "$_CAP_PID" 2>/dev/null; then
        kill -INT "$_CAP_PID" 2>/dev/null
        wait "$_CAP_PID" 2>/dev/null
    fi
    local n p
    for n in "${!_BG_PIDS[@]}"; do
        p="${_BG_PIDS[$n]}"
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
        fi
    done
    for n in "${!_BG_PIDS[@]}"; do
        p="${_BG_PIDS[$n]}"
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    local c
    for c in "${_CLEANUP_CMDS[@]}"; do
        eval "$c" >/dev/null 2>&1
    done
    if [[ $rc -ne 0 && -n "$WORK" && -d "$WORK" ]]; then
        echo "gen: FAILED (rc=$rc); logs in $WORK:" >&2
        local f
        for f in "$WORK"/*.log "$WORK"/*.err; do
            [[ -f "$f" ]] || continue
            echo "--- $f" >&2
            tail -n 20 "$f" >&2
        done
    fi
    [[ -n "$WORK" && -d "$WORK" ]] && rm -rf "$WORK"
    exit "$rc"
}

gen_init() {
    GEN_NAME="$1"
    if [[ $EUID -ne 0 ]]; then
        echo "gen: must run as root (packet capture)" >&2
        exit 1
    fi
    WORK="$(mktemp -d "/tmp/wstap-gen-$GEN_NAME.XXXXXX")"
    chmod 755 "$WORK"
    mkdir -p "$PCAPS"
    trap _gen_cleanup EXIT
    trap 'exit 130' INT TERM
}

on_cleanup() { _CLEANUP_CMDS+=("$1"); }

bg() {
    local name="$1"; shift
    set -m
    "$@" >"$WORK/$name.log" 2>&1 &
    _BG_PIDS[$name]=$!
    set +m
}

bg_wait() {
    local name="$1" p="${_BG_PIDS[$1]}" rc=0
    wait "$p" || rc=$?
    unset "_BG_PIDS[$name]"
    if [[ $rc -ne 0 ]]; then
        echo "gen: $name exited with status $rc" >&2
        tail -n 30 "$WORK/$name.log" >&2
        return "$rc"
    fi
}

# wait_listen PORT [NETNS]
wait_listen() {
    local port="$1" ns="${2:-}"
    for _ in $(seq 1 100); do
        if [[ -n "$ns" ]]; then
            ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q . && return 0
        else
            ss -Hltn "sport = :$port" | grep -q . && return 0
        fi
        sleep 0.1
    done
    echo "gen: nothing listening on port $port" >&2
    return 1
}

# cap_start FILE FILTER [extra args...]
# CAP_TOOL=tcpdump (default) or dumpcap; CAP_IFACE (default lo);
# CAP_NETNS: run the capture inside that network namespace.
cap_start() {
    local file="$1" filter="$2"; shift 2
    local tool="${CAP_TOOL:-tcpdump}" iface="${CAP_IFACE:-lo}"
    local pre=()
    [[ -n "${CAP_NETNS:-}" ]] && pre=(ip netns exec "$CAP_NETNS")
    : >"$WORK/capture.err"
    set -m
    if [[ "$tool" == dumpcap ]]; then
        "${pre[@]}" timeout 50 dumpcap -q -i "$iface" -f "$filter" "$@" -w "$file" \
            2>"$WORK/capture.err" &
    else
        "${pre[@]}" timeout 50 tcpdump -i "$iface" -U --immediate-mode "$@" -w "$file" "$filter" \
            2>"$WORK/capture.err" &
    fi
    _CAP_PID=$!
    set +m
    for _ in $(seq 1 100); do
        if grep -qE 'listening on|Capturing on' "$WORK/capture.err"; then
            sleep 0.3
            return 0
        fi
        kill -0 "$_CAP_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "gen: capture did not start:" >&2
    cat "$WORK/capture.err" >&2
    return 1
}

cap_stop() {
    sleep 1
    kill -INT "$_CAP_PID"
    local rc=0
    wait "$_CAP_PID" || rc=$?
    _CAP_PID=""
    # tcpdump exits 0 on SIGINT; timeout reports 124 if it had to kill it.
    if [[ $rc -ne 0 ]]; then
        echo "gen: capture exited with status $rc" >&2
        cat "$WORK/capture.err" >&2
        return 1
    fi
    grep -E 'captured|dropped|Packets' "$WORK/capture.err" >&2 || true
    if grep -qE '^[1-9][0-9]* packets? dropped' "$WORK/capture.err"; then
        echo "gen: capture dropped packets" >&2
        return 1
    fi
}

# check_capture FILE [MIN_CONNS]
check_capture() {
    local f="$1" want="${2:-1}"
    local syns fins conns bad
    syns=$(tshark -r "$f" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)
    fins=$(tshark -r "$f" -Y 'tcp.flags.fin==1' 2>/dev/null | wc -l)
    conns=$(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
    bad=$(tshark -r "$f" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' 2>/dev/null | wc -l)
    if [[ "$syns" -ne "$conns" || "$conns" -lt "$want" || "$fins" -lt $((2 * conns)) || "$bad" -ne 0 ]]; then
        echo "gen: $f: bad capture: conns=$conns syns=$syns fins=$fins anomalies=$bad" >&2
        tshark -r "$f" -q -z conv,tcp >&2
        return 1
    fi
    echo "gen: $(basename "$f"): ok: $(tshark -r "$f" 2>/dev/null | wc -l) packets, $conns TCP connection(s)" >&2
}

publish() {
    cp -f "$1" "$2"
    chmod 644 "$2"
}

tool_versions() {
    $PY - <<'EOF'
import json, subprocess, platform, re
def out(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip()
    except Exception as e:
        return None
def first(cmd, pat):
    s = out(cmd) or ""
    m = re.search(pat, s)
    return m.group(1) if m else None
v = {
    "tcpdump": first(["tcpdump", "--version"], r"tcpdump version (\S+)"),
    "libpcap": first(["tcpdump", "--version"], r"libpcap version (\S+)"),
    "dumpcap": first(["dumpcap", "--version"], r"Dumpcap \(Wireshark\) (\S+)"),
    "tshark": first(["tshark", "--version"], r"TShark \(Wireshark\) (\S+)"),
    "python": platform.python_version(),
    "python-websockets": first(["/usr/bin/python3", "-c", "import websockets;print(websockets.__version__)"], r"(\S+)"),
    "node": first(["/usr/bin/node", "--version"], r"v(\S+)"),
    "node-ws": first(["/usr/bin/node", "-p", "require('/usr/share/nodejs/ws/package.json').version"], r"(\S+)"),
    "nginx": first(["nginx", "-v"], r"nginx/(\S+)"),
    "curl": first(["curl", "--version"], r"curl (\S+)"),
    "kernel": platform.release(),
}
print(json.dumps(v))
EOF
}

# nginx_start SERVER_BLOCKS
# Runs nginx-light in the foreground with its own prefix ($WORK/nginx),
# config, pid file, logs and temp dirs (never the system config).  The
# argument is inserted into the http{} block.  Stop it with nginx_stop.
nginx_start() {
    local d="$WORK/nginx"
    mkdir -p "$d/logs" "$d/tmp" "$d/html"
    cat >"$d/nginx.conf" <<NGX
worker_processes 1;
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
$1
}
NGX
    nginx -t -q -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log"
    bg nginx timeout 50 nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" \
        -g 'daemon off;'
}

nginx_stop() {
    kill -QUIT "${_BG_PIDS[nginx]}"
    bg_wait nginx
}
