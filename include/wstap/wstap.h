/* wstap.h - public API of the analyzer core: packets in, typed events out, no I/O. */
#ifndef WSTAP_WSTAP_H
#define WSTAP_WSTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSTAP_VERSION "0.1.0"

/* Link types the core decodes. The capture front end maps libpcap's DLT_* onto these. */
enum wst_link {
    WST_LINK_UNSUPPORTED = 0,
    WST_LINK_ETHERNET,  /* DLT_EN10MB, with 802.1Q / 802.1ad tags */
    WST_LINK_SLL,       /* DLT_LINUX_SLL */
    WST_LINK_SLL2,      /* DLT_LINUX_SLL2 */
    WST_LINK_NULL,      /* DLT_NULL: 4-byte family in the capturing host's byte order */
    WST_LINK_LOOP,      /* DLT_LOOP: 4-byte family in network byte order */
    WST_LINK_RAW,       /* DLT_RAW: IPv4 or IPv6 by version nibble */
    WST_LINK_IPV4,      /* DLT_IPV4 */
    WST_LINK_IPV6,      /* DLT_IPV6 */
};

/* Resource caps. Every cap is documented in the man page; hitting one emits an event. */
struct wst_limits {
    uint32_t max_flows;          /* connections tracked at once; the least recently active is
                                    evicted (tcp.close how "evicted") when a new one needs room */
    int64_t idle_timeout_us;     /* a connection idle this long (packet time) is closed "timeout" */
    uint32_t max_frag_datagrams; /* IP datagrams being reassembled at once */
    uint32_t max_frag_bytes;     /* bytes held for IP reassembly, all datagrams together */
    int64_t frag_timeout_us;     /* an incomplete datagram is dropped after this long */
    uint32_t max_ooo_conn;       /* out-of-order bytes queued per direction */
    uint64_t max_ooo_total;      /* out-of-order bytes queued, all connections */
    uint32_t max_retain_conn;    /* delivered-but-unacked bytes kept per direction to compare
                                    retransmissions with (a power of two) */
    uint64_t max_retain_total;   /* the same, all connections */
    uint64_t max_message;        /* decoded bytes kept per WebSocket message (and the cap
                                    on inflation: a decompression bomb stops here) */
    uint64_t max_app_total;      /* bytes held by the application layers, all connections:
                                    HTTP heads, WebSocket messages, inflaters */
    uint16_t ws_ports[8];        /* --ws-port: streams to these server ports are WebSocket
                                    even without a handshake (0 = unused) */
    uint64_t hash_seed;          /* flow hash key; any value gives the same output */
    uint16_t community_id_seed;  /* --community-id-seed: the Community ID's seed (default 0) */
};

void wst_limits_default(struct wst_limits *lim);

enum wst_dir { WST_DIR_NONE = 0, WST_DIR_C2S = 1, WST_DIR_S2C = 2 };

struct wst_endpoint {
    uint8_t family; /* 4 or 6 */
    uint8_t addr[16];
    uint16_t port;
};

#define WST_MAX_SACK 4
#define WST_HISTORY_MAX 31 /* letters kept in a connection's history */
#define WST_MAX_UNKNOWN_OPTS 8
#define WST_MAX_VLAN 4 /* 802.1Q / 802.1ad tags kept per packet, outermost first */

/* TCP options of one segment. Absent numeric options are -1. */
struct wst_tcp_opts {
    int mss;
    int wscale; /* the shift as sent (may exceed 14; the core clamps when it applies it) */
    bool sack_perm;
    bool has_ts;
    uint32_t ts_val, ts_ecr;
    uint8_t nsack;
    struct {
        uint32_t left, right; /* absolute sequence numbers as on the wire */
    } sack[WST_MAX_SACK];
    uint8_t nunknown;
    uint8_t unknown[WST_MAX_UNKNOWN_OPTS]; /* kinds of options we do not interpret */
    bool malformed;                        /* an option length byte was impossible */
    bool cut; /* the capture's snapshot length ended inside the options: the rest are unknown */
};

enum wst_ev_type {
    WST_EV_TCP_SYN,
    WST_EV_TCP_OPEN,
    WST_EV_TCP_ANOMALY,
    WST_EV_TCP_GAP,
    WST_EV_TCP_CLOSE,
    WST_EV_HTTP_REQUEST,
    WST_EV_HTTP_RESPONSE,
    WST_EV_HTTP_ERROR,   /* a message that could not be parsed, or a limit hit */
    WST_EV_TLS_HELLO,    /* a TLS ClientHello where HTTP was expected */
    WST_EV_H2_PREFACE,   /* the HTTP/2 connection preface */
    WST_EV_WS_OPEN,
    WST_EV_WS_FAIL,
    WST_EV_WS_FRAME,
    WST_EV_WS_MESSAGE,
    WST_EV_WS_CONTROL,
    WST_EV_WS_ERROR,
    WST_EV_PACKET_ERROR,
    WST_EV_CAPTURE_END,
    WST_EV_TCP_FIN, /* a side's FIN (first or retransmitted) */
    WST_EV_WS_MIDSTREAM, /* a connection without a captured handshake: WebSocket or not */
    WST_EV_TCP_RST,      /* a RST segment of a tracked connection */
    WST_EV_TLS_SERVER_HELLO, /* the negotiated TLS version, suite, ALPN, resumption */
    WST_EV_TLS_DECRYPT,      /* a decryption outcome (session or direction) */
    WST_EV_TLS_ALERT,        /* a TLS alert (plain or decrypted) */
    WST_EV_TLS_KEY_UPDATE,   /* TLS 1.3 KeyUpdate: the direction's next key generation */
    WST_EV__COUNT
};

enum wst_close_how {
    WST_CLOSE_FIN,
    WST_CLOSE_RST,
    WST_CLOSE_TIMEOUT,
    WST_CLOSE_OPEN,    /* still open at the end of the input */
    WST_CLOSE_EVICTED, /* pushed out of a full flow table (--max-flows) */
};

enum wst_close_by { WST_BY_NONE = 0, WST_BY_CLIENT, WST_BY_SERVER };

enum wst_teardown {
    WST_TEARDOWN_NONE = 0,
    WST_TEARDOWN_4WAY,
    WST_TEARDOWN_3WAY,
    WST_TEARDOWN_SIMULTANEOUS,
    WST_TEARDOWN_HALF,
};

/* TCP analysis findings, with Wireshark's tcp.analysis.* meanings. */
enum wst_anomaly {
    WST_AN_RETRANSMISSION,
    WST_AN_FAST_RETRANSMISSION,
    WST_AN_SPURIOUS_RETRANSMISSION,
    WST_AN_OUT_OF_ORDER,
    WST_AN_LOST_SEGMENT, /* previous segment not captured */
    WST_AN_ACKED_UNSEEN,
    WST_AN_DUP_ACK,
    WST_AN_ZERO_WINDOW,
    WST_AN_ZERO_WINDOW_PROBE,
    WST_AN_WINDOW_FULL,
    WST_AN_WINDOW_UPDATE,
    WST_AN_KEEP_ALIVE,
    WST_AN_KEEP_ALIVE_ACK,
    WST_AN_OVERLAP_MISMATCH, /* retransmitted bytes differ from the first copy */
    WST_AN_OOO_LIMIT,        /* an out-of-order cap forced a gap or dropped bytes */
    WST_AN_DATA_AFTER_RST,   /* in-window data carried by or following a RST */
    WST_AN__COUNT
};

enum wst_pkt_err_kind { WST_PKTERR_TRUNCATED, WST_PKTERR_MALFORMED, WST_PKTERR_LIMIT };

struct wst_ev_syn {
    bool synack;
    uint32_t seq; /* the ISN, absolute */
    uint32_t win; /* raw window field (never scaled in a SYN) */
    struct wst_tcp_opts opts;
};

#define WST_COMMUNITY_ID_LEN 31 /* "1:", 28 base64 characters, NUL */

struct wst_ev_open {
    bool midstream;
    int64_t irtt_us; /* SYN to the ACK of the SYN-ACK; -1 when unknown */
    int mss_c, mss_s;       /* -1 where absent */
    int wscale_c, wscale_s; /* the shift in effect (clamped to 14); -1 when not agreed/unknown */
    bool wscale_unknown;    /* midstream: whether scaling is on cannot be known */
    bool sack;              /* both sides sent SACK-permitted */
    uint8_t nvlan;          /* VLAN tags of the connection's packets (part of its key) */
    uint16_t vlan[WST_MAX_VLAN]; /* VLAN ids, outermost first (QinQ: outer, inner) */
    char community_id[WST_COMMUNITY_ID_LEN]; /* Community ID v1 ("1:..."), see below */
};

struct wst_ev_fin {
    uint64_t seq;       /* relative sequence number of the FIN (the side's byte count + 1) */
    bool retransmitted; /* the same FIN again */
    bool peer_fin;      /* the peer's FIN was seen before: this FIN answers a close; else the
                           connection is half-closed and the peer may still send */
};

struct wst_ev_rst {
    uint64_t seq;   /* relative sequence number of the RST */
    bool first;     /* the connection's first RST (later ones: the peer's or repeats) */
    uint32_t len;   /* payload bytes the RST carried (RFC 9293 3.5.3 allows a diagnostic) */
};

struct wst_ev_anomaly {
    enum wst_anomaly kind;
    uint64_t seq; /* relative: the first data byte of the direction is 1 */
    uint32_t len; /* segment payload bytes */
    uint32_t dup_num;  /* dup_ack: the how-manyth duplicate */
    uint64_t win;      /* the window the segment advertised, scaled when scaling is known */
    uint16_t win_raw;  /* the window field as sent */
    int win_shift;     /* the shift applied, -1 when unknown */
    uint8_t nsack;     /* SACK blocks on the segment, edges relative to the peer's stream */
    struct {
        uint64_t left, right;
    } sack[WST_MAX_SACK];
};

struct wst_ev_gap {
    uint64_t seq; /* relative, as in tcp.anomaly */
    uint64_t len;
};

/* A byte string from the capture: not NUL-terminated, not trusted to be text. */
struct wst_str {
    const uint8_t *p;
    size_t len;
};

struct wst_header {
    struct wst_str name, value;
};

/* One TCP segment's share of a reassembled header block. */
struct wst_segment {
    uint64_t frame;
    uint32_t bytes;
};

#define WST_HTTP_BARE_LF 0x1 /* lines ended in LF alone */
#define WST_HTTP_FOLDED 0x2  /* obsolete line folding */
#define WST_HTTP_PARTIAL 0x4 /* the head never completed: what the capture held of it */

struct wst_ev_http {
    struct wst_str method, target; /* requests */
    int status;                    /* responses */
    struct wst_str reason;
    int vmajor, vminor;
    const struct wst_header *headers;
    size_t nheaders;
    uint64_t hdr_bytes;
    const struct wst_segment *segments;
    size_t nsegments;       /* listed */
    uint64_t segments_more; /* segments beyond the list */
    unsigned flags;
    uint64_t txn; /* 1-based transaction number on the connection */
};

struct wst_ev_http_error {
    const char *kind;   /* "malformed", "too_large", "body" */
    const char *detail; /* a sentence (valid during the callback) */
};

#define WST_MAX_ALPN 8

struct wst_ev_tls {
    struct wst_str sni;
    struct wst_str alpn[WST_MAX_ALPN];
    size_t nalpn;
    unsigned version; /* legacy_version of the ClientHello */
};

enum wst_compression { WST_COMP_NONE, WST_COMP_PMD, WST_COMP_DEFLATE_FRAME };

struct wst_pmd_params {
    bool server_no_context_takeover, client_no_context_takeover;
    int server_max_window_bits, client_max_window_bits; /* -1 when not given */
};

struct wst_ev_ws_open {
    struct wst_str key, accept, version, protocol, extensions, origin, host;
    bool has_protocol, has_extensions, has_origin, has_host;
    bool accept_ok;
    enum wst_compression compression;
    struct wst_pmd_params params;
    uint64_t cookie_bytes; /* size of the request's Cookie header(s) */
};

enum wst_ws_fail {
    WST_WSFAIL_NO_RESPONSE_CLOSED,
    WST_WSFAIL_NO_RESPONSE_RESET,
    WST_WSFAIL_NO_RESPONSE_EOF,
    WST_WSFAIL_STATUS,
    WST_WSFAIL_ACCEPT_MISMATCH,
    WST_WSFAIL_MISSING_KEY,
    WST_WSFAIL_BAD_VERSION,
    WST_WSFAIL_BAD_UPGRADE_HEADERS,
    WST_WSFAIL_BAD_EXTENSION, /* the response accepted an extension that was not offered */
    WST_WSFAIL_BAD_KEY,       /* a Sec-WebSocket-Key present but not base64 of 16 bytes */
};

struct wst_ev_ws_fail {
    enum wst_ws_fail reason;
    int status;         /* -1: null */
    const char *detail; /* one sentence (valid during the callback) */
};

/* ws.midstream: what mid-stream recognition concluded about a connection picked up without
 * its handshake (man wstap, "Mid-stream WebSocket"). */
struct wst_ev_ws_midstream {
    bool recognized;
    const char *rule;    /* "chain", "both_directions", "end_of_stream", "ws_port"; NULL */
    uint64_t at_frame;   /* packet holding the first frame header taken; 0: none */
    const char *detail;  /* one sentence (valid during the callback) */
};

enum wst_ws_opcode {
    WST_WS_CONT = 0,
    WST_WS_TEXT = 1,
    WST_WS_BINARY = 2,
    WST_WS_CLOSE = 8,
    WST_WS_PING = 9,
    WST_WS_PONG = 10,
};

struct wst_ev_ws_frame {
    bool fin, masked;
    uint8_t rsv; /* RSV1..3 as bits 2..0 */
    uint8_t opcode;
    uint64_t len; /* payload bytes on the wire */
};

#define WST_WSMSG_PARTIAL 0x1 /* ended without its final fragment (gap, end of capture) */
#define WST_WSMSG_CAPPED 0x2  /* longer than --max-message: data holds the first bytes */
#define WST_WSMSG_NODATA 0x4  /* bytes could not be recovered (lost_context, inflate_error) */

struct wst_ev_ws_message {
    unsigned flags; /* WST_WSMSG_* */
    uint8_t opcode; /* WST_WS_TEXT or WST_WS_BINARY */
    uint32_t fragments;
    bool compressed;
    bool utf8_valid;
    uint64_t wire_len;
    uint64_t len;       /* decoded length */
    struct wst_str data; /* the decoded bytes (all of them, up to the message cap) */
};

struct wst_ev_ws_control {
    uint8_t opcode;
    uint64_t len;
    struct wst_str data;
    int code; /* close: -1 when the frame had no status code */
    struct wst_str reason;
    int64_t rtt_us; /* pong: since the ping with the same payload (pingpair.h); -1 unpaired */
};

struct wst_ev_ws_error {
    const char *kind;   /* EVENTS.md kinds: unmasked_client_frame, bad_rsv, ... */
    const char *detail; /* a sentence (valid during the callback) */
};

struct wst_ev_close {
    enum wst_close_how how;
    enum wst_close_by by;
    enum wst_teardown teardown;
    uint64_t bytes_c2s, bytes_s2c; /* TCP payload bytes seen, retransmissions included */
    uint64_t pkts_c2s, pkts_s2c;
    int64_t duration_us;
    uint64_t anomalies[WST_AN__COUNT]; /* per kind, both directions */
    uint64_t gap_bytes_c2s, gap_bytes_s2c;
    const char *history; /* Zeek conn.log-style history, e.g. "ShADadFf" (see wstap(1)) */
};

struct wst_ev_packet_error {
    enum wst_pkt_err_kind kind;
    const char *layer;  /* "link", "ipv4", "ipv6", "tcp", "ipfrag" */
    const char *detail; /* a static sentence */
};

struct wst_ev_capture_end {
    uint64_t packets;
    uint64_t bytes; /* original lengths on the wire */
    uint64_t tcp_conns;
    uint64_t ws_conns;
    uint64_t non_tcp;   /* packets that were not TCP over IP (counted, skipped) */
    uint64_t truncated; /* packets cut by the snaplen before the TCP header ended */
    uint64_t malformed;
    uint64_t ip_fragments;
    uint64_t evicted; /* connections evicted from a full table */
    bool have_stats;  /* live capture: dropped/ifdropped are valid */
    uint64_t dropped, ifdropped;
    uint64_t ip_datagrams; /* IP datagrams reassembled from the ip_fragments */
    bool interrupted;      /* the read or capture was stopped by a signal (SIGINT, SIGTERM) */
    bool have_written;     /* -w: packets were written to a file */
    uint64_t written;      /* how many */
};

/* tls.server_hello (man wstap, "TLS"). */
struct wst_ev_tls_server_hello {
    const char *version; /* "1.2", "1.3", or e.g. "0x0302" */
    const char *cipher;  /* IANA name, or "0x%04X" when unknown */
    bool has_alpn;
    struct wst_str alpn; /* the selected protocol (TLS 1.3: from EncryptedExtensions) */
    bool resumed;        /* 1.2: the session id echoed; 1.3: a PSK accepted */
    bool hrr;            /* a HelloRetryRequest came first */
    bool alpn_hidden;    /* TLS 1.3 not decrypted: the selection cannot be seen */
};

/* tls.decrypt: status "ok", "no_key", "tls13_needs_traffic_secrets", "bad_key",
 * "no_handshake", "unsupported_cipher", "gap"; dir none when it is the whole session's. */
struct wst_ev_tls_decrypt {
    const char *status;
    uint64_t record; /* the direction's record number (from 0) it applies from */
    const char *detail; /* one sentence (valid during the callback); never a secret */
    bool no_keylog;     /* no_key because no key log was given at all */
};

struct wst_ev_tls_alert {
    unsigned level; /* 1 warning, 2 fatal */
    unsigned desc;
    const char *name; /* IANA name, NULL when unknown */
    bool encrypted;   /* it came in a decrypted record */
};

struct wst_ev_tls_key_update {
    uint32_t generation; /* 1 after the first KeyUpdate */
    uint64_t record;     /* the first record under the new keys */
};

/* One event. Pointers inside are valid only during the callback. */
struct wst_event {
    enum wst_ev_type type;
    int64_t ts_us;  /* absolute packet time, microseconds since the epoch */
    int64_t rel_us; /* microseconds since the first packet of the input */
    uint64_t frame; /* 1-based packet number that completed the event */
    uint64_t conn;  /* 1-based connection id; 0 on capture and packet events */
    enum wst_dir dir;
    const struct wst_endpoint *client; /* NULL when no connection */
    const struct wst_endpoint *server;
    union {
        struct wst_ev_syn syn;
        struct wst_ev_open open;
        struct wst_ev_anomaly anomaly;
        struct wst_ev_gap gap;
        struct wst_ev_close close;
        struct wst_ev_http http;
        struct wst_ev_http_error http_error;
        struct wst_ev_tls tls;
        struct wst_ev_ws_open ws_open;
        struct wst_ev_ws_fail ws_fail;
        struct wst_ev_ws_frame ws_frame;
        struct wst_ev_ws_message ws_message;
        struct wst_ev_ws_control ws_control;
        struct wst_ev_ws_error ws_error;
        struct wst_ev_packet_error pkterr;
        struct wst_ev_capture_end end;
        struct wst_ev_fin fin;
        struct wst_ev_ws_midstream ws_midstream;
        struct wst_ev_rst rst;
        struct wst_ev_tls_server_hello tls_sh;
        struct wst_ev_tls_decrypt tls_dec;
        struct wst_ev_tls_alert tls_alert;
        struct wst_ev_tls_key_update tls_ku;
        struct {
            bool in_tls; /* http2.preface: inside a decrypted TLS session (ALPN h2) */
        } h2;
    } u;
};

typedef void (*wst_event_fn)(const struct wst_event *ev, void *user);

/* One captured packet as the front end hands it over. */
struct wst_pkthdr {
    int64_t ts_us;   /* absolute, microseconds */
    uint32_t caplen; /* bytes available at data */
    uint32_t len;    /* length on the wire */
};

struct wst_capture_stats {
    bool valid;
    uint64_t dropped, ifdropped;
    bool interrupted; /* stopped by a signal before the end of the input (any front end) */
    bool have_written; /* the front end wrote packets to a file (-w) */
    uint64_t written;
};

struct wst_analyzer;

/*
 * Optional: every connection's reassembled byte streams, as the application sent them
 * (retransmissions once; bytes never captured are reported through gap, not invented).
 * data is called in stream order; end when the connection is finished with.
 */
struct wst_stream_hooks {
    void (*data)(void *user, uint64_t conn, enum wst_dir dir, const uint8_t *p, size_t len);
    void (*gap)(void *user, uint64_t conn, enum wst_dir dir, uint64_t len);
    void (*end)(void *user, uint64_t conn);
    void *user;
};

/* Returns NULL when out of memory. The limits are copied. */
struct wst_analyzer *wst_new(const struct wst_limits *lim, wst_event_fn fn, void *user);
/* Set the link type of the packets that follow (one call per input file). */
void wst_set_link(struct wst_analyzer *a, enum wst_link link);
void wst_packet(struct wst_analyzer *a, const struct wst_pkthdr *h, const uint8_t *data);
/* End of input: closes what is open (how "open"), then emits capture.end. */
void wst_finish(struct wst_analyzer *a, const struct wst_capture_stats *stats);
void wst_free(struct wst_analyzer *a);
void wst_set_stream_hooks(struct wst_analyzer *a, const struct wst_stream_hooks *h);
/* The connection id of the packet last given to wst_packet: the connection its TCP segment
 * belongs to, 0 when it belongs to none (not TCP, malformed, truncated) or arrived in IP
 * fragments (those are not attributed). Lets a front end write one connection's packets. */
uint64_t wst_packet_conn(const struct wst_analyzer *a);

/* Community ID v1 (github.com/corelight/community-id-spec) of a flow between a and b (the
 * same for either order) with IP protocol proto: "1:" and 28 base64 characters. */
void wst_community_id(uint16_t seed, const struct wst_endpoint *a, const struct wst_endpoint *b,
                      uint8_t proto, char out[WST_COMMUNITY_ID_LEN]);

/*
 * TLS decryption keys: the key table (keylog.h) the front end fills from --keylog files; it
 * must outlive the analyzer. name says where the keys came from in verdicts ("keys.log"). more
 * (may be NULL) is called with the packet time when a session's client random is not in the
 * table (new_session: at its ServerHello; else at a later record still without keys), so a
 * live front end can re-read a growing file; it returns true when it added keys.
 */
struct keylog;
void wst_set_keylog(struct wst_analyzer *a, const struct keylog *kl, const char *name,
                    bool (*more)(void *user, int64_t ts, bool new_session), void *user);

/* Names for printing, shared by every sink. */
const char *wst_ev_name(enum wst_ev_type t);
const char *wst_close_how_name(enum wst_close_how h);
const char *wst_close_by_name(enum wst_close_by b); /* NULL for WST_BY_NONE */
const char *wst_teardown_name(enum wst_teardown t); /* NULL for WST_TEARDOWN_NONE */
const char *wst_pkterr_name(enum wst_pkt_err_kind k);
const char *wst_anomaly_name(enum wst_anomaly k);
const char *wst_ws_fail_name(enum wst_ws_fail r);
/* "text", "binary", "close", ...; NULL for reserved opcodes (print the number) */
const char *wst_ws_opcode_name(unsigned opcode);
const char *wst_compression_name(enum wst_compression c); /* NULL for none */
/* "1.2.3.4:80" or "[::1]:80"; buf must hold at least WST_EP_STRLEN bytes. */
#define WST_EP_STRLEN 56
void wst_endpoint_str(const struct wst_endpoint *ep, char *buf, size_t len);

#endif
