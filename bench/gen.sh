#!/bin/bash
# bench/gen.sh - generate the benchmark captures from real software on loopback.
#
#   sudo bench/gen.sh [NAME...]        NAME: many-small bulk mixed eth many-small-tls
#                                      (default: all five)
#
# Writes $BENCH_DIR/NAME.pcap and NAME.meta.json (BENCH_DIR defaults to /var/tmp/wstap-bench,
# outside the repository: the captures are hundreds of MB and never committed). Each capture is
# node-ws / node http traffic (bench/traffic.js, server and client as two processes) recorded by
# `tcpdump -i lo -B 524288` with a `tcp port P` filter; a capture with any packet dropped by the
# kernel, or below its size targets, fails. `eth` is many-small with the loopback MTU at 1500 and
# TSO/GSO off while it runs; the EXIT trap restores both, also on failure or interruption.
# Every process runs under `timeout`; the trap kills what is left.
# `many-small-tls` is many-small over TLS (wss://, node's https server, a throwaway self-signed
# RSA certificate made by openssl for the run) and writes NAME.keys beside NAME.pcap: the key log
# node's clients wrote (node --tls-keylog), for wstap --keylog and tshark -o tls.keylog_file.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_DIR="${BENCH_DIR:-/var/tmp/wstap-bench}"
export NODE_PATH=/usr/share/nodejs
NODE=/usr/bin/node
LIMIT_S=${BENCH_GEN_LIMIT_S:-480}
export BENCH_GEN_LIMIT_S=$LIMIT_S

if [[ $EUID -ne 0 ]]; then
    echo "bench-gen: must run as root (packet capture, loopback MTU)" >&2
    exit 1
fi
mkdir -p "$BENCH_DIR"
WORK="$(mktemp -d /tmp/wstap-bench-gen.XXXXXX)"
PIDS=()
CAP_PID=""
LO_MTU=""
LO_TSO=""
LO_GSO=""

restore_lo() {
    if [[ -n "$LO_MTU" ]]; then
        ip link set dev lo mtu "$LO_MTU" || echo "bench-gen: could not restore lo mtu $LO_MTU" >&2
        ethtool -K lo tso "$LO_TSO" gso "$LO_GSO" 2>/dev/null ||
            echo "bench-gen: could not restore lo tso $LO_TSO gso $LO_GSO" >&2
        echo "bench-gen: lo restored: $(ip -o link show lo | grep -o 'mtu [0-9]*')," \
            "$(ethtool -k lo | grep -E '^(tcp-segmentation|generic-segmentation)-offload' | tr '\n' ' ')" >&2
        LO_MTU=""
    fi
}

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$CAP_PID" ]] && kill -0 "$CAP_PID" 2>/dev/null; then
        kill -INT "$CAP_PID"; wait "$CAP_PID"
    fi
    for p in "${PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && kill -TERM "$p"
    done
    sleep 0.2
    for p in "${PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && kill -KILL "$p"
        wait "$p" 2>/dev/null
    done
    restore_lo
    if [[ $rc -ne 0 ]]; then
        echo "bench-gen: FAILED (rc=$rc); logs:" >&2
        for f in "$WORK"/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# NAME -> port, traffic mode, payload target (bytes), minimum file size (MB), minimum packets
declare -A PORT=([many-small]=19201 [bulk]=19202 [mixed]=19203 [eth]=19204 [many-small-tls]=19205)
declare -A MODE=([many-small]=many-small [bulk]=bulk [mixed]=mixed [eth]=many-small
                 [many-small-tls]=many-small)
declare -A TARGET=([many-small]=470000000 [bulk]=600000000 [mixed]=340000000 [eth]=470000000
                   [many-small-tls]=470000000)
SCALE=${BENCH_SCALE:-1}  # e.g. 0.05 for a quick trial run (the size checks are scaled too)
declare -A MIN_MB=([many-small]=250 [bulk]=500 [mixed]=300 [eth]=250 [many-small-tls]=250)
declare -A MIN_PKTS=([many-small]=2000000 [bulk]=0 [mixed]=0 [eth]=2000000 [many-small-tls]=2000000)

# await_line LOG PATTERN PID WHAT: block until the process PID wrote a line matching PATTERN to
# LOG (its readiness report: tcpdump's "listening on", traffic.js server's "listening", which it
# prints once every cluster worker accepts), at most 10 s; fail early if PID died meanwhile.
await_line() {
    local log=$1 pat=$2 pid=$3 what=$4 deadline=$((SECONDS + 10))
    until grep -q -- "$pat" "$log" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "bench-gen: $what is not ready:" >&2
            tail -n 5 "$log" >&2
            exit 1
        fi
        sleep 0.05
    done
}

eth_setup() {
    LO_MTU=$(cat /sys/class/net/lo/mtu)
    LO_TSO=$(ethtool -k lo | awk '/^tcp-segmentation-offload:/ {print $2}')
    LO_GSO=$(ethtool -k lo | awk '/^generic-segmentation-offload:/ {print $2}')
    [[ -n "$LO_TSO" && -n "$LO_GSO" ]] || { echo "bench-gen: cannot read lo offloads" >&2; exit 1; }
    echo "bench-gen: lo was mtu $LO_MTU tso $LO_TSO gso $LO_GSO; now mtu 1500, tso off, gso off" >&2
    ip link set dev lo mtu 1500
    ethtool -K lo tso off gso off
}

gen_one() {
    local name=$1 port=${PORT[$1]} mode=${MODE[$1]}
    local target min_mb min_pkts
    target=$(awk -v t="${TARGET[$1]}" -v s="$SCALE" 'BEGIN {printf "%d", t * s}')
    min_mb=$(awk -v t="${MIN_MB[$1]}" -v s="$SCALE" 'BEGIN {printf "%d", t * s}')
    min_pkts=$(awk -v t="${MIN_PKTS[$1]}" -v s="$SCALE" 'BEGIN {printf "%d", t * s}')
    local out="$BENCH_DIR/$name.pcap" tmp="$BENCH_DIR/.$name.pcap.tmp"
    local t0 t1
    echo "bench-gen: $name: $mode traffic on 127.0.0.1:$port, payload target $target bytes" >&2
    [[ $name == eth ]] && eth_setup
    local tls=() tlsenv=()
    if [[ $name == many-small-tls ]]; then
        mkdir -p "$WORK/tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>/dev/null
        tlsenv=(env "BENCH_TLS_DIR=$WORK/tls")
        rm -f "$WORK"/keys*.log
    fi
    rm -f "$tmp"
    : >"$WORK/tcpdump.log"
    timeout $((LIMIT_S + 30)) tcpdump -i lo -n -B 524288 -w "$tmp" "tcp port $port" \
        2>"$WORK/tcpdump.log" &
    CAP_PID=$!
    await_line "$WORK/tcpdump.log" 'listening on' "$CAP_PID" tcpdump
    sleep 0.3 # the BPF filter is attached before the message; let the ring settle
    timeout $((LIMIT_S + 20)) "${tlsenv[@]}" "$NODE" "$HERE/traffic.js" server "$mode" "$port" \
        >"$WORK/server.log" 2>&1 &
    local spid=$!
    PIDS+=("$spid")
    await_line "$WORK/server.log" '^listening$' "$spid" "traffic.js server"
    # many-small: two client processes of 100 connections each (one core each at most)
    local k=1 i cpids=()
    [[ $mode == many-small ]] && k=2
    t0=$(date +%s.%N)
    for ((i = 0; i < k; i++)); do
        [[ ${#tlsenv[@]} -gt 0 ]] && tls=(--tls-keylog="$WORK/keys$i.log")
        timeout "$LIMIT_S" "${tlsenv[@]}" "$NODE" "${tls[@]}" "$HERE/traffic.js" client "$mode" \
            "$port" "$target" "$i/$k" >"$WORK/client$i.log" 2>&1 &
        cpids+=($!)
        PIDS+=($!)
    done
    for p in "${cpids[@]}"; do
        wait "$p" || { echo "bench-gen: $name: a client failed" >&2; exit 1; }
    done
    t1=$(date +%s.%N)
    sleep 1
    kill -TERM "$spid"; wait "$spid" || true
    sleep 0.5
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || { echo "bench-gen: tcpdump exited with $?" >&2; cat "$WORK/tcpdump.log" >&2; exit 1; }
    CAP_PID=""
    [[ $name == eth ]] && restore_lo
    cat "$WORK/tcpdump.log" >&2
    local captured dropped ifdropped
    captured=$(awk '/packets captured/ {print $1}' "$WORK/tcpdump.log")
    dropped=$(awk '/packets dropped by kernel/ {print $1}' "$WORK/tcpdump.log")
    ifdropped=$(awk '/packets dropped by interface/ {print $1}' "$WORK/tcpdump.log")
    if [[ -z "$dropped" || "$dropped" != 0 || "${ifdropped:-0}" != 0 ]]; then
        echo "bench-gen: $name: the kernel dropped packets (${dropped:-?}); not kept" >&2
        exit 1
    fi
    local bytes mb
    bytes=$(stat -c %s "$tmp")
    mb=$((bytes / 1000000))
    if (( mb < min_mb || captured < min_pkts )); then
        echo "bench-gen: $name: $mb MB, $captured packets: below the target" \
            "($min_mb MB, $min_pkts packets)" >&2
        exit 1
    fi
    mv -f "$tmp" "$out"
    local keyfile=""
    if [[ $name == many-small-tls ]]; then
        keyfile="$BENCH_DIR/$name.keys"
        cat "$WORK"/keys*.log >"$keyfile"
        echo "bench-gen: $name: key log $keyfile, $(grep -c CLIENT_TRAFFIC_SECRET_0 "$keyfile") sessions" >&2
    fi
    cat >"$BENCH_DIR/$name.meta.json" <<EOF
{"name": "$name", "mode": "$mode", "port": $port, "file": "$out", "bytes": $bytes,
 "packets": $captured, "kernel_dropped": $dropped, "interface_dropped": ${ifdropped:-0},
 "generator": "bench/traffic.js $mode (node $(node --version), node-ws $($NODE -p "require('/usr/share/nodejs/ws/package.json').version"))",
 "capture": "tcpdump -i lo -B 524288 'tcp port $port' ($(tcpdump --version 2>&1 | head -1))",
 "lo": "$( [[ $name == eth ]] && echo 'mtu 1500, tso off, gso off' || echo "mtu $(cat /sys/class/net/lo/mtu), offloads as configured")",
 "traffic_seconds": $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}'), "generated": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "keylog": "$keyfile",
 "kernel": "$(uname -r)"}
EOF
    echo "bench-gen: $name: ok: $out, $mb MB, $captured packets, 0 dropped" >&2
}

names=("$@")
[[ ${#names[@]} -eq 0 ]] && names=(many-small bulk mixed eth many-small-tls)
for n in "${names[@]}"; do
    [[ -n "${PORT[$n]:-}" ]] || { echo "bench-gen: unknown capture '$n' (many-small bulk mixed eth many-small-tls)" >&2; exit 2; }
done
for n in "${names[@]}"; do
    gen_one "$n"
done
