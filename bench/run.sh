#!/bin/bash
# bench/run.sh - time wstap against tshark, tcpflow and a bare libpcap loop (issue #7).
#
#   bench/run.sh [NAME|FILE.pcap ...]     default: every *.pcap of $BENCH_DIR
#
# For each capture, on the same file in one run: wstap -r F (timeline), wstap -r F --json,
# tshark -Y websocket (fields; -d tcp.port==P,http with P from NAME.meta.json), tcpflow -r F -o TMP,
# and pcapfloor F. Each under /usr/bin/time -f '%e %M' (wall seconds, peak RSS KiB). Prints a
# Markdown table for bench/RESULTS.md and PASS/FAIL per target of the issue; exits 1 if a target
# fails or a tool fails.
#   BENCH_DIR          captures (default /var/tmp/wstap-bench)
#   BENCH_SKIP_TSHARK=1  skip tshark (its targets are reported as SKIP)
#   WSTAP, PCAPFLOOR, ZFLOOR  binaries (default ./wstap, build/bench/pcapfloor, build/bench/zfloor)
# Where the capture has permessage-deflate messages, a "zlib alone" row gives bench/zfloor's
# inflate time for them (the streams written by wstap --streams), on 1 and on 2 threads.
# A capture with a key log beside it (NAME.keys: many-small-tls) is read with --keylog NAME.keys
# (tshark with -o tls.keylog_file), and when its plaintext twin (the name without "-tls") is in
# the same run, a row compares them: decryption may add at most 15% wall time (issue #19).
#   BENCH_TIMEOUT      per-command limit in seconds (default 900)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/var/tmp/wstap-bench}"
WSTAP="${WSTAP:-$REPO/wstap}"
PCAPFLOOR="${PCAPFLOOR:-$REPO/build/bench/pcapfloor}"
ZFLOOR="${ZFLOOR:-$REPO/build/bench/zfloor}"
TMO="${BENCH_TIMEOUT:-900}"
SKIP_TSHARK="${BENCH_SKIP_TSHARK:-0}"
RSS_LIMIT_KIB=$((64 * 1024))

for t in /usr/bin/time tcpflow python3; do
    command -v "$t" >/dev/null || { echo "bench: $t missing (tools/deps.sh bench)" >&2; exit 2; }
done
[[ $SKIP_TSHARK == 1 ]] || command -v tshark >/dev/null || { echo "bench: tshark missing" >&2; exit 2; }
[[ -x $WSTAP && -x $PCAPFLOOR && -x $ZFLOOR ]] || { echo "bench: build first: make bench" >&2; exit 2; }

files=()
if [[ $# -eq 0 ]]; then
    for f in "$BENCH_DIR"/*.pcap; do [[ -f $f ]] && files+=("$f"); done
else
    for a in "$@"; do
        if [[ -f $a ]]; then files+=("$a"); else files+=("$BENCH_DIR/$a.pcap"); fi
    done
fi
[[ ${#files[@]} -gt 0 ]] || { echo "bench: no capture in $BENCH_DIR (make bench-gen)" >&2; exit 2; }

TMP="$(mktemp -d /tmp/wstap-bench-run.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

# meta FILE KEY: a value of NAME.meta.json
meta() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
        "${1%.pcap}.meta.json" "$2" 2>/dev/null || true
}

# timed LABEL CMD...: run CMD (stdout to /dev/null) under time; sets T_WALL, T_RSS (KiB), T_RC
timed() {
    local label=$1; shift
    T_RC=0
    timeout "$TMO" /usr/bin/time -f '%e %M' -o "$TMP/time" "$@" >/dev/null 2>"$TMP/$label.err" || T_RC=$?
    read -r T_WALL T_RSS < <(tail -n 1 "$TMP/time")
    if [[ ! $T_WALL =~ ^[0-9.]+$ ]]; then T_WALL=nan; T_RSS=0; fi
}

fails=0
rows=()
checks=()
declare -A R
declare -A JW
for f in "${files[@]}"; do
    name=$(basename "$f" .pcap)
    port=$(meta "$f" port)
    bytes=$(stat -c %s "$f")
    echo "bench: $name ($((bytes / 1000000)) MB)..." >&2
    cat "$f" >/dev/null # page cache warm for every tool alike
    # not timed: pcapfloor's packet count, wstap's event count and summary
    pkts=$("$PCAPFLOOR" "$f" | awk '{print $2}')
    keys="${f%.pcap}.keys"
    kl=()
    tk=()
    if [[ -f $keys ]]; then
        kl=(--keylog "$keys")
        tk=(-o "tls.keylog_file:$keys" -d "tcp.port==$port,tls" -d "tls.port==$port,http")
    fi
    events=$("$WSTAP" -r "$f" "${kl[@]}" --json | wc -l)
    read -r wsmsgs conns < <("$WSTAP" -r "$f" "${kl[@]}" -q |
        awk '/WebSocket messages/ {m = $3} /^ *TCP connections/ {c = $3} END {print m, c}')

    timed floor "$PCAPFLOOR" "$f"; R[floor]="$T_WALL $T_RSS $T_RC"
    timed text "$WSTAP" -r "$f" "${kl[@]}"; R[text]="$T_WALL $T_RSS $T_RC"
    timed json "$WSTAP" -r "$f" "${kl[@]}" --json; R[json]="$T_WALL $T_RSS $T_RC"
    JW[$name]=${R[json]%% *}
    if [[ $SKIP_TSHARK == 1 || -z $port ]]; then
        R[tshark]="nan 0 0"
    else
        timed tshark tshark -r "$f" -Y websocket -T fields -e frame.number -e websocket.opcode \
            -e websocket.payload_length "${tk[@]}" -d "tcp.port==$port,http"
        R[tshark]="$T_WALL $T_RSS $T_RC"
    fi
    mkdir -p "$TMP/flow"
    timed tcpflow tcpflow -r "$f" -o "$TMP/flow"; R[tcpflow]="$T_WALL $T_RSS $T_RC"
    rm -rf "$TMP/flow"
    # not timed by time(1): zlib alone over the capture's compressed messages (bench/zfloor.c)
    zrow=""
    z1=""
    if [[ ${#kl[@]} -eq 0 ]]; then # --streams writes what is on the wire: ciphertext for TLS
        "$WSTAP" -q --streams "$TMP/streams" -r "$f" >/dev/null
        z1=$("$ZFLOOR" -j 1 "$TMP/streams") && z2=$("$ZFLOOR" -j 2 "$TMP/streams") ||
            { echo "bench: $name: zfloor failed" >&2; fails=$((fails + 1)); z1=""; }
        rm -rf "$TMP/streams"
    fi
    zmsgs=$(awk '{print $6}' <<<"$z1")
    if [[ ${zmsgs:-0} -gt 0 ]]; then
        zw1=$(sed -n 's/.*inflate wall \([0-9.]*\) s.*/\1/p' <<<"$z1")
        zw2=$(sed -n 's/.*inflate wall \([0-9.]*\) s.*/\1/p' <<<"$z2")
        zrow="| $name | *zlib alone* | $zmsgs messages | 1 thread $zw1 s | 2 threads $zw2 s | (bench/zfloor.c) |"
    fi

    for tool in text json tshark tcpflow floor; do
        read -r w rss rc <<<"${R[$tool]}"
        # wstap: 0 is success (1 would be a --strict/--fail-on finding, not asked for here)
        if [[ $rc != 0 ]]; then
            echo "bench: $name: $tool exited with status $rc:" >&2; tail -n 5 "$TMP/$tool.err" >&2
            fails=$((fails + 1))
        fi
    done
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b <= 0) print "-"; else printf "%.1f", a / b }'; }
    read -r wt rt _ <<<"${R[text]}"; read -r wj rj _ <<<"${R[json]}"
    read -r ws _ _ <<<"${R[tshark]}"; read -r wf _ _ <<<"${R[tcpflow]}"; read -r wp _ _ <<<"${R[floor]}"
    for tool in text json tshark tcpflow floor; do
        read -r w rss _ <<<"${R[$tool]}"
        case $tool in text) label="wstap" ;; json) label="wstap --json" ;; floor) label="pcapfloor" ;; *) label=$tool ;; esac
        rows+=("$(awk -v n="$name" -v l="$label" -v w="$w" -v r="$rss" -v b="$bytes" -v p="$pkts" 'BEGIN {
            if (w == "nan") { printf "| %s | %s | skipped | | | |", n, l; exit }
            d = (w > 0) ? w : 0.001
            printf "| %s | %s | %.2f | %.0f | %.2f | %.1f |", n, l, w, b / 1e6 / d, p / 1e6 / d, r / 1024 }')")
    done
    rows+=("| $name | *ratios* | tshark/json $(ratio "$ws" "$wj") | tcpflow/json $(ratio "$wf" "$wj") | json/floor $(ratio "$wj" "$wp") | text/floor $(ratio "$wt" "$wp") |")
    [[ -z $zrow ]] || rows+=("$zrow")
    rows+=("| $name | *output* | $((bytes / 1000000)) MB | $pkts packets | $events JSON events | $wsmsgs ws messages, $conns TCP conns |")

    verdict() { # verdict LABEL COND(awk) VALUES
        local label=$1 cond=$2 v
        if awk -v a="$3" -v b="$4" "BEGIN { exit !($cond) }"; then v=PASS; else v=FAIL; fails=$((fails + 1)); fi
        checks+=("$v  $name: $label")
    }
    base=${name%%-*}
    case $name in
    bulk*)
        verdict "wstap --json within 3x of pcapfloor ($(ratio "$wj" "$wp")x)" 'a <= 3 * (b > 0.01 ? b : 0.01)' "$wj" "$wp" ;;
    *)
        if [[ $ws == nan ]]; then checks+=("SKIP  $name: wstap --json >= 20x faster than tshark")
        else verdict "wstap --json >= 20x faster than tshark ($(ratio "$ws" "$wj")x)" 'a >= 20 * b' "$ws" "$wj"; fi
        verdict "wstap --json no slower than tcpflow ($(ratio "$wf" "$wj")x)" 'b <= a' "$wf" "$wj" ;;
    esac
    : "$base"
    verdict "wstap peak RSS <= 64 MiB (text $((rt / 1024)) MiB, json $((rj / 1024)) MiB)" 'a <= 65536 && b <= 65536' "$rt" "$rj"
    if [[ ${events:-0} -lt 2 || -z $wsmsgs ]]; then
        checks+=("FAIL  $name: wstap output trivial ($events events)"); fails=$((fails + 1))
    fi
done

# decryption overhead: a TLS capture against its plaintext twin (the same traffic)
for n in "${!JW[@]}"; do
    plain=${n%-tls}
    [[ $n != "$plain" && -n ${JW[$plain]:-} ]] || continue
    o=$(awk -v a="${JW[$n]}" -v b="${JW[$plain]}" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 0.001) }')
    rows+=("| $n | *decryption* | wstap --json --keylog ${JW[$n]} s | plaintext $plain ${JW[$plain]} s | ratio $o | (issue #19: <= 1.15) |")
    if awk -v o="$o" 'BEGIN { exit !(o <= 1.15) }'; then checks+=("PASS  $n: decryption adds <= 15% wall time over $plain (${o}x)")
    else checks+=("FAIL  $n: decryption adds more than 15% wall time over $plain (${o}x)"); fails=$((fails + 1)); fi
done

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
echo "## wstap benchmark ($(date -u +%Y-%m-%d))"
echo
echo "Machine: $(nproc) CPUs, $cpu, $mem RAM, Linux $(uname -r)."
echo "Tools: $("$WSTAP" --version 2>&1 | head -1 | tr '\n' ' '); $(tshark --version 2>/dev/null | head -1);" \
    "$(tcpflow --version 2>&1 | head -1); $(pcap_v=$("$WSTAP" --version 2>&1 | grep -io 'libpcap[^,;]*' | head -1); echo "${pcap_v:-libpcap}")."
echo "Each tool once, page cache warm, output to /dev/null (tcpflow writes its files to a temp dir)."
echo
echo "| capture | tool | wall s | MB/s | Mpkt/s | peak RSS MiB |"
echo "|---|---|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "Targets (issue #7):"
echo
printf -- '- %s\n' "${checks[@]}"
[[ $fails -eq 0 ]]
