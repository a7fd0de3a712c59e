#!/bin/bash
# ws-frames.sh - record WebSocket framing edge cases between a node-ws server
# and a node-ws client (tests/gen/ws_frames.js) over loopback.
#
# Usage (as root):  tests/gen/ws-frames.sh [frag|nocontext|big64]...
#                   (no argument: all three)
#
#   frag      -> pcaps/ws-frag-ping.pcap  127.0.0.1:18410, no compression:
#                payload lengths 0/125/126, a text in 3 fragments cut inside
#                UTF-8 characters with a ping and an unsolicited pong between
#                fragments (echoed in 3 fragments with a server ping between),
#                a binary of empty + 300-byte + empty fragments with a ping
#                between, pings of 0 and 125 bytes, close 4001 + UTF-8 reason
#   nocontext -> pcaps/ws-nocontext.pcap  127.0.0.1:18411, permessage-deflate
#                server_no_context_takeover; client_no_context_takeover;
#                server_max_window_bits=9; client_max_window_bits=9,
#                threshold 32 (short messages uncompressed); identical and
#                similar texts both ways, a compressed text in 3 fragments
#                with pings between (both ways); the server closes 1001
#   big64     -> pcaps/ws-big64.pcap      127.0.0.1:18412, permessage-deflate
#                with context takeover, client_max_window_bits=11: binaries of
#                65535 and 65536 bytes sent uncompressed (16- / 64-bit
#                lengths), a 70000-byte compressed binary (64-bit wire
#                length), a 100000-byte compressed text echoed, a 90000-byte
#                compressed text in 3 fragments with a ping between, echoed;
#                empty compressed text and binary; close 1000 + reason
#
# Writes pcaps/NAME.pcap, NAME.sent.jsonl and NAME.meta.json.  Every run stops
# on its own: the capture and the node process run under `timeout`, and the
# lib.sh EXIT trap stops them even on failure.  Each capture is checked with
# tshark (check_capture: SYN and both FINs, no lost/retransmitted segments),
# by tests/gen/ws_verify.py (own frame parser + inflate against the sidecar)
# and for its size (< 300 KB).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

one() {
    local variant="$1" name port
    case "$variant" in
        frag)      name=ws-frag-ping; port=18410 ;;
        nocontext) name=ws-nocontext; port=18411 ;;
        big64)     name=ws-big64;     port=18412 ;;
        *) echo "unknown variant $variant (frag|nocontext|big64)" >&2; return 2 ;;
    esac
    local out="$WORK/$name.pcap"
    rm -f "$WORK/sent.jsonl" "$WORK/hs.json" "$WORK/meta.json"

    cap_start "$out" "tcp port $port"
    bg node timeout 30 /usr/bin/node "$GEN/ws_frames.js" "$variant" "$port" \
        "$WORK/sent.jsonl" "$WORK/hs.json"
    bg_wait node
    cap_stop
    check_capture "$out" 1
    local size
    size=$(stat -c %s "$out")
    if [[ "$size" -ge 300000 ]]; then
        echo "gen: $name.pcap is $size bytes (limit 300000)" >&2
        return 1
    fi

    "$PY" - "$WORK/hs.json" "$WORK/meta.json" "$variant" "$port" "$name" \
        "$(tool_versions)" <<'PYEOF'
import json, sys
hs = json.load(open(sys.argv[1]))
variant, port, name, versions = sys.argv[3:7]
desc = {
    "frag": "node-ws client + echo server, no compression: payload lengths 0, 125 (largest "
            "7-bit) and 126 (smallest 16-bit); a text message in 3 fragments whose cuts fall "
            "inside a 4-byte and a 3-byte UTF-8 character, with a ping between fragments 1 and "
            "2 and an unsolicited pong between 2 and 3, echoed by the server in 3 fragments "
            "(cut elsewhere) with its own ping between; a binary message made of an empty first "
            "fragment, a 300-byte fragment and an empty final continuation, with a ping between; "
            "pings of 0 and 125 bytes; the client closes with 4001 and a UTF-8 reason",
    "nocontext": "node-ws, permessage-deflate with server_no_context_takeover, "
                 "client_no_context_takeover, server_max_window_bits=9 and "
                 "client_max_window_bits=9, threshold 32: 12 identical and 6 similar JSON texts "
                 "echoed (each compressed on its own), a 4-byte text sent uncompressed (RSV1 "
                 "clear), a text with 600-byte repeats, a compressed binary, a compressed text in "
                 "3 fragments with a ping between in both directions; the server closes 1001",
    "big64": "node-ws, permessage-deflate with context takeover both ways, "
             "client_max_window_bits=11, threshold 0: binaries of 65535 and 65536 bytes sent "
             "uncompressed (16-bit and 64-bit length), a 70000-byte random binary compressed "
             "(64-bit length on the wire), each acknowledged by a short text; a 100000-byte "
             "JSON-lines text echoed; a 90000-byte compressed text in 3 fragments with a ping "
             "between, echoed in 3 fragments with a ping between; an empty text and an empty binary, "
             "compressed; 10 similar texts; close 1000",
}[variant]
covers = {
    "frag": ["text", "binary", "empty text", "empty binary", "len 125/126 (7/16-bit)",
             "fragmented text with ping and unsolicited pong between fragments",
             "fragment cuts inside UTF-8 characters", "empty first and last fragments",
             "server fragmented echo with ping between", "ping 0 and 125 bytes",
             "close 4001 with UTF-8 reason"],
    "nocontext": ["permessage-deflate", "server_no_context_takeover",
                  "client_no_context_takeover", "server_max_window_bits=9",
                  "client_max_window_bits=9", "uncompressed message in a deflate connection",
                  "compressed fragmented messages with a ping between, both directions",
                  "server-initiated close 1001"],
    "big64": ["permessage-deflate with context takeover", "client_max_window_bits=11",
              "len 65535 (16-bit max) and 65536 (64-bit) uncompressed",
              "compressed message with 64-bit wire length", "decoded messages > 65535 bytes",
              "compressed fragmented 90000-byte message with a ping between, both directions",
              "empty compressed text and binary",
              "close 1000 with reason"],
}[variant]
meta = {
    "generator": "tests/gen/ws-frames.sh " + variant,
    "description": desc,
    "covers": covers,
    "server": {"addr": "127.0.0.1", "port": int(port), "software": "node-ws"},
    "client": {"software": "node-ws"},
    "capture_tool": "tcpdump -i lo -U --immediate-mode",
    "compression": "none" if variant == "frag" else "permessage-deflate",
    "extensions_offered": hs.get("request_extensions"),
    "extensions_negotiated": hs.get("extensions_negotiated"),
    "response_headers": hs.get("response_headers"),
    "http_port": int(port),
    "versions": json.loads(versions),
}
json.dump(meta, open(sys.argv[2], "w"), indent=2, ensure_ascii=False)
open(sys.argv[2], "a").write("\n")
PYEOF

    "$PY" "$GEN/ws_verify.py" "$out" "$WORK/sent.jsonl" "$WORK/meta.json"
    publish "$out" "$PCAPS/$name.pcap"
    publish "$WORK/sent.jsonl" "$PCAPS/$name.sent.jsonl"
    publish "$WORK/meta.json" "$PCAPS/$name.meta.json"
    echo "gen: wrote pcaps/$name.pcap ($size bytes)"
}

gen_init ws-frames
[[ $# -gt 0 ]] || set -- frag nocontext big64
for v in "$@"; do
    one "$v"
done
