# shellcheck shell=bash
# tests/gen/tls-common.sh - helpers for the TLS (wss/https) capture generators
# (tests/gen/gen-wss*.sh, gen-https-curl.sh).  Source it after lib.sh.
#
#   tls_certs            throwaway self-signed certificates made now with openssl, in $WORK:
#                        $WORK/rsa.{crt,key} (RSA 2048) and $WORK/ecdsa.{crt,key} (P-256),
#                        CN=localhost, SAN DNS:localhost,IP:127.0.0.1,IP:10.254.90.2;
#                        $WORK/dh.pem (RFC 7919 ffdhe2048 parameters, for DHE-RSA)
#   tls_publish NAME     copy $WORK/NAME.{pcap,keys,sent.jsonl,meta.json} into pcaps/
#                        (the ones that exist)
#
# The private keys never leave $WORK (deleted by the EXIT trap); only the key logs of the
# recorded sessions are committed, which is the point of these captures.

tls_certs() {
    local san="subjectAltName=DNS:localhost,IP:127.0.0.1,IP:10.254.90.2"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext "$san" \
        -keyout "$WORK/rsa.key" -out "$WORK/rsa.crt" 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -addext "$san" -keyout "$WORK/ecdsa.key" -out "$WORK/ecdsa.crt" \
        2>/dev/null
    openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$WORK/dh.pem" \
        2>/dev/null
    chmod 644 "$WORK"/*.key
}

tls_publish() {
    local n="$1" ext
    for ext in pcap keys sent.jsonl meta.json; do
        [[ -f "$WORK/$n.$ext" ]] && publish "$WORK/$n.$ext" "$PCAPS/$n.$ext"
    done
    echo "gen: wrote pcaps/$n.pcap"
}

# tls_check_capture FILE MIN_CONNS [rst-ok]: lib.sh's check_capture, after listing any TCP
# anomaly or RST.  rst-ok: a connection may end with a RST instead of its FINs (nginx resets
# the TLS connection when the client's close_notify arrives after nginx closed), still no
# loss, retransmission or reordering and every connection with its SYN.
tls_check_capture() {
    local f="$1" want="$2"
    tshark -r "$f" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order || tcp.flags.reset==1' >&2 2>/dev/null || true
    if [[ "${3:-}" != rst-ok ]]; then
        check_capture "$f" "$want"
        return
    fi
    local syns conns bad
    syns=$(tshark -r "$f" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)
    conns=$(tshark -r "$f" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
    bad=$(tshark -r "$f" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.retransmission || tcp.analysis.out_of_order' 2>/dev/null | wc -l)
    if [[ "$syns" -ne "$conns" || "$conns" -lt "$want" || "$bad" -ne 0 ]]; then
        echo "gen: $f: bad capture: conns=$conns syns=$syns anomalies=$bad" >&2
        return 1
    fi
    echo "gen: $(basename "$f"): ok: $(tshark -r "$f" 2>/dev/null | wc -l) packets, $conns TCP connection(s)" >&2
}
