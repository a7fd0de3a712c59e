#!/bin/sh
# hostile.sh - wstap against hostile captures: every one ends, with a clear message or a flagged
# event, and (unless --no-rss) its peak RSS under the bound its documented caps give.
# Usage: tests/hostile.sh [--no-rss]
#   --no-rss  skip the memory bounds (for sanitizer and valgrind builds, whose RSS is not ours)
# The captures are made afresh by tests/hostile/mkall.sh into tests/out/hostile/ (hand-built
# packets; see tests/hostile/mkhostile.c) and the big ones are removed at the end.
# Each capture runs once as TZ=UTC LC_ALL=C $WSTAP_WRAP $WSTAP_BIN -r F --json [options] under
# tests/hostile/runrss.c, which reports the exit status and the peak RSS.
# Memory bounds (KiB) are the caps of man/wstap.1 LIMITS that the capture can reach, plus
# BASE = 16 MiB for the program itself (binary, libraries, I/O buffers: about 5 MiB measured
# on an empty capture) plus the 4 MiB file read-ahead of LIMITS, and the state of the connections it holds (1.1 KiB each).
# Environment: WSTAP_BIN (./wstap), WSTAP_WRAP, WSTAP_TIMEOUT (300 s per run).
# Last line: "hostile: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2

WSTAP=${WSTAP_BIN:-./wstap}
WRAP=${WSTAP_WRAP:-}
TMO=${WSTAP_TIMEOUT:-300}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
DIR=tests/out/hostile
SAN_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|SUMMARY: [A-Za-z]*Sanitizer|definitely lost|Invalid read|Invalid write'
export TZ=UTC LC_ALL=C

rss_on=1
[ "${1:-}" = --no-rss ] && rss_on=0

passed=0
failed=0
finish() {
    echo "hostile: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}
ok() { echo "ok   $cur: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $cur: $*"; failed=$((failed + 1)); }
# check DESCRIPTION COMMAND...: one check on the current case
check() {
    d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi
}

if [ ! -x "$WSTAP" ]; then
    cur=setup
    bad "$WSTAP is not built (run: make wstap)"
    finish
fi
cur=mkall
if ! sh tests/hostile/mkall.sh "$DIR" >"$DIR.mkall.log" 2>&1; then
    bad "tests/hostile/mkall.sh failed:"
    sed 's/^/    /' "$DIR.mkall.log" | head -n 20
    finish
fi

MIB=1024
BASE=$((16 * MIB + 4 * MIB)) # the program, and the file read-ahead
CONN=2 # KiB per tracked connection, rounded up from the 1.1 of LIMITS
LOSS=1 # KiB per loss record (LIMITS: a direction that shows loss, about 270 B)

# run NAME FILE WANT_RC BOUND_KIB [wstap options...]: run one case, then check that it ended
# with WANT_RC, that stderr holds no sanitizer or valgrind report, and the RSS bound.
# Leaves $out, $err for the case's own checks.
run() {
    cur=$1
    f=$DIR/$2
    want=$3
    bound=$4
    shift 4
    out=$DIR/$cur.json
    err=$DIR/$cur.err
    # shellcheck disable=SC2086
    res=$("$DIR/runrss" "$out" "$err" "$TMO" $WRAP "$WSTAP" -r "$f" --json "$@")
    rc=${res#rc=}
    rc=${rc%% *}
    rss=${res#*rss_kib=}
    rss=${rss%% *}
    secs=${res##*seconds=}
    echo "     $cur: wstap -r $f --json $* -> exit $rc, peak RSS $rss KiB, $secs s"
    if [ "$rc" = "$want" ]; then
        ok "ended with exit status $want"
    else
        bad "exit status $rc, want $want (stderr: $(head -c 300 "$err"))"
    fi
    if grep -Eq "$SAN_RE" "$err"; then
        bad "sanitizer/valgrind report on stderr:"
        grep -E -m 5 "$SAN_RE" "$err" | sed 's/^/    /'
    else
        ok "no sanitizer or valgrind report"
    fi
    if [ "$rss_on" -eq 1 ]; then
        if [ "$rss" -le "$bound" ]; then
            ok "peak RSS $rss KiB <= bound $bound KiB"
        else
            bad "peak RSS $rss KiB > bound $bound KiB"
        fi
    fi
}
has() { grep -q -- "$1" "$out"; }
count() { grep -c -- "$1" "$out"; }
stderr_has() { grep -q -- "$1" "$err"; }
stderr_empty() { [ ! -s "$err" ] || ! grep -qv '^==[0-9]*==' "$err"; }
events_ok() { "$PY" tests/check_events.py --offline --label "$cur" "$out"; }
count_is() { [ "$(count "$1")" -eq "$2" ]; }
end_is() { # end_is FIELD VALUE: capture.end has "FIELD":VALUE
    grep '"ev":"capture.end"' "$out" | grep -q "\"$1\":$2[,}]"
}

# ---- 1,000,000 SYNs: the flow table stays at --max-flows, the oldest are evicted --------------
# bound: the full default table (LIMITS: about 140 MiB) and the summary rows (5 MiB)
run synflood synflood.pcap 0 $((BASE + 140 * MIB + 5 * MIB))
check "1000000 connections seen" end_is tcp_conns 1000000
check "868928 evicted (1000000 - 131072 tracked at once)" end_is evicted 868928
check "every eviction is a tcp.close how evicted" count_is '"ev":"tcp.close".*"how":"evicted"' 868928
check "the 131072 left are reported open at the end" count_is '"ev":"tcp.close".*"how":"open"' 131072
check "nothing on stderr" stderr_empty

run synflood-10k synflood.pcap 0 $((BASE + 10000 * CONN + 5 * MIB)) --max-flows 10000
check "990000 evicted with --max-flows 10000" end_is evicted 990000
check "nothing on stderr" stderr_empty

# ---- out-of-order floods: the per-direction and the total cap -------------------------------
# bound: 1 MiB out of order in the one direction, 32 KiB of retained delivered data
run oooflood oooflood.pcap 0 $((BASE + 1 * MIB + 32 + CONN))
check "tcp.anomaly ooo_limit" has '"kind":"ooo_limit"'
check "the missing segment is a tcp.gap" has '"ev":"tcp.gap"'
check "JSON follows EVENTS.md" events_ok
check "nothing on stderr" stderr_empty

# The file (read ahead by a second thread, in 1 MiB blocks) and the same bytes on standard input
# (read packet by packet) must give the same events, also when -c stops in the middle.
same_as_stdin() { # same_as_stdin FILE [wstap options...]
    sf=$1
    shift
    # shellcheck disable=SC2086
    $WRAP "$WSTAP" -r "$sf" --json "$@" >"$DIR/ra-file.json" 2>/dev/null &&
        $WRAP "$WSTAP" -r - --json "$@" <"$sf" >"$DIR/ra-stdin.json" 2>/dev/null &&
        [ -s "$DIR/ra-file.json" ] && cmp -s "$DIR/ra-file.json" "$DIR/ra-stdin.json"
}
check "read-ahead of the file ($(($(wc -c <"$f") / 1048576)) MiB) = standard input" same_as_stdin "$f"
check "... with -c 30000" same_as_stdin "$f" -c 30000
check "-c 30000 stops after 30000 packets" sh -c "grep -q '\"packets\":30000[,}]' '$DIR/ra-file.json'"
rm -f "$DIR/ra-file.json" "$DIR/ra-stdin.json"

# bound: 64 MiB out of order in all, 32 MiB of retained delivered data in all, 2000 connections
# with a hole each (so a loss record each)
run oooconns oooconns.pcap 0 $((BASE + 64 * MIB + 32 * MIB + 2000 * CONN + 2000 * LOSS))
check "tcp.anomaly ooo_limit" has '"kind":"ooo_limit"'
check "every connection's hole becomes a tcp.gap" count_is '"ev":"tcp.gap"' 2000
check "every connection reported at the end" count_is '"ev":"tcp.close"' 2000
check "JSON follows EVENTS.md" events_ok

# ---- decompression bomb: inflation stops at --max-message -----------------------------------
# bound: the 16 MiB message cap, plus the 1 MiB compressed frame being decoded
run bomb bomb.pcap 0 $((BASE + 16 * MIB + 1 * MIB))
check "1 KB inflated to 1 MiB" has '"wire_len":1034,"len":1048576'
check "ws.error message_too_big" has '"kind":"message_too_big"'
check "the 1 GiB message is kept to 16777216 bytes" has '"compressed":true,"wire_len":1042053,"len":16777216'
check "the message after the bomb is decoded" has '"text":"Hello"'
check "JSON follows EVENTS.md" events_ok
run bomb-1m bomb.pcap 0 $((BASE + 1 * MIB + 1 * MIB)) --max-message 1048576
check "ws.error message_too_big at --max-message 1048576" has '"kind":"message_too_big"'
check "no message holds more than 1048576 bytes" "$PY" -c '
import json, sys
sys.exit(any(json.loads(l).get("len", 0) > 1048576 for l in open(sys.argv[1]) if "ws.message" in l))' "$out"

# ---- frame lengths of 2^63 and 2^63 - 1 ------------------------------------------------------
run len64 len64.pcap 0 "$BASE"
check "ws.error bad_length for 2^63" has '"kind":"bad_length"'
check "2^63 - 1: the part captured is a partial message" has '"wire_len":9223372036854775807,"len":5792'
check "... flagged partial" sh -c "grep 9223372036854775807 '$out' | grep -q '\"partial\":true'"
check "JSON follows EVENTS.md" events_ok

# ---- overlapping retransmissions with other bytes -------------------------------------------
run overlap overlap.pcap 0 "$BASE"
check "three tcp.anomaly overlap_mismatch" count_is '"kind":"overlap_mismatch"' 3
check "the first copy is what is decoded" has '"wire_len":4340,"len":4340'
check "the message after the overlaps is decoded" has '"text":"after the overlaps"'
check "JSON follows EVENTS.md" events_ok

# ---- a frame header split across a lost segment ---------------------------------------------
run splitgap splitgap.pcap 0 "$BASE"
check "the lost segment is a tcp.gap of 1448 B" has '"ev":"tcp.gap".*"len":1448'
check "ws.error resync after the gap" has '"kind":"resync"'
check "frames after the gap are decoded again" sh -c "[ \$(grep -c '\"opcode\":\"text\",\"fragments\":1,\"compressed\":false,\"wire_len\":200,' '$out') -ge 7 ]"
check "the client's message is decoded" has '"text":"client still talking"'
check "JSON follows EVENTS.md" events_ok

# ---- a capture file cut off in a packet record ----------------------------------------------
run truncated truncated.pcap 2 "$BASE"
check "stderr names the file and says it is truncated" stderr_has 'truncated.pcap: truncated dump file'
check "what was read is reported: the connection is closed how open" has '"how":"open"'
check "capture.end is written" has '"ev":"capture.end"'

# ---- snapshot length 64: headers cut inside the TCP options ---------------------------------
run snap64 snap64.pcap 0 "$BASE"
check "SYNs flagged opts_cut" count_is '"opts_cut":true' 2
check "the connection is tracked to its FIN" has '"how":"fin"'
check "the uncaptured payload is reported as gaps" has '"ev":"tcp.gap"'
check "no packet is dropped as truncated" end_is truncated 0
check "JSON follows EVENTS.md" events_ok

# ---- not a capture: the pcap magic and garbage ----------------------------------------------
run garbage garbage.pcap 2 "$BASE"
check "stderr: wstap: FILE: the reason" stderr_has '^wstap: .*garbage.pcap: '
check "nothing on stdout" sh -c "[ ! -s '$out' ]"

run badrecord badrecord.pcap 2 "$BASE"
check "stderr: the impossible record length" stderr_has 'badrecord.pcap: invalid packet capture length'
check "the packet before it is analyzed" has '"ev":"tcp.syn"'
check "capture.end is written" has '"ev":"capture.end"'

# ---- pcapng with unknown and custom blocks between the packets ------------------------------
run pcapng-unknown pcapng-unknown.pcapng 0 "$BASE"
check "all 4 packets read" end_is packets 4
check "the HTTP request after the blocks is decoded" has '"ev":"http.request"'
check "JSON follows EVENTS.md" events_ok
check "nothing on stderr" stderr_empty

# ---- TLS: impossible record lengths, endless handshake fragments, many ClientHellos ---------
# bound: per direction two of the largest records (LIMITS: TLS records) and a handshake message
# of at most 64 KiB, for two connections: well under 1 MiB
run tlsbig tlsbig.pcap 0 $((BASE + 1 * MIB))
check "both TLS connections are seen" count_is '"ev":"tls.client_hello"' 2
check "the ServerHello before the oversized records is read" has '"ev":"tls.server_hello"'
check "records beyond the TLS maximum lose the framing: tls.decrypt gap" has '"ev":"tls.decrypt".*"status":"gap"'
check "JSON follows EVENTS.md" events_ok
check "nothing on stderr" stderr_empty

run tlshs tlshs.pcap 0 $((BASE + 1 * MIB))
check "the session is reported" has '"ev":"tls.server_hello"'
check "64 MiB of one handshake message are read to the end" has '"bytes_c2s":67129394'
check "JSON follows EVENTS.md" events_ok
check "nothing on stderr" stderr_empty

# bound: 10001 connections with their application and TLS state (LIMITS: about 16 KiB each
# with the retained bytes), charged to --max-app-total
run tlshellos tlshellos.pcap 0 $((BASE + 10001 * (CONN + 16)))
check "one tls.client_hello per connection (10001), not per ClientHello" count_is '"ev":"tls.client_hello"' 10001
check "JSON follows EVENTS.md" events_ok
check "nothing on stderr" stderr_empty

rm -f "$DIR"/tlsbig.pcap "$DIR"/tlshs.pcap "$DIR"/tlshellos.pcap "$DIR"/tls*.json
rm -f "$DIR"/synflood.pcap "$DIR"/oooflood.pcap "$DIR"/oooconns.pcap "$DIR"/bomb.pcap \
    "$DIR"/synflood*.json "$DIR"/ooo*.json "$DIR"/bomb*.json
finish
