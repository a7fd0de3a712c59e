/* core.h - the analyzer's internal state shared by the flow table, TCP and analyzer modules. */
#ifndef WSTAP_CORE_H
#define WSTAP_CORE_H

#include "budget.h"
#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "reasm.h"
#include "wstap/wstap.h"

/* Canonical flow key: endpoint 0 sorts before endpoint 1, so both directions map to it.
 * The VLAN ids are part of it (as in Suricata): the same 5-tuple on two VLANs is two
 * connections. */
struct flow_key {
    uint8_t family;
    uint8_t addr[2][16];
    uint16_t port[2];
    uint8_t nvlan;
    uint16_t vlan[WST_MAX_VLAN]; /* outermost first; unused entries are 0 */
};

#define TCP_AN_HOLES 8         /* unfilled sequence holes remembered per direction */
#define TCP_LOSS_RECORDS 65536 /* loss records at once, over all connections */

/* What a direction with loss needs remembered, allocated only once it shows some (a hole, a
 * SACK block), so that connections without loss stay small. Holes are kept in ascending
 * order; when they do not fit, the highest two merge (a merged hole covers seen bytes too: it
 * may call seen bytes unseen, never the other way round). */
struct tcp_loss {
    uint8_t nholes;
    uint8_t nsack;
    /* what this side last asked the peer for: its newest ACK (a segment whose ACK went back,
     * a late reordered one, is skipped), its SACK blocks, duplicate ACK number and time */
    bool ask_set;
    int32_t ask_dup;
    uint32_t ask_ack;
    int64_t ask_time;
    struct {
        uint32_t lo, hi; /* [lo, hi) in sequence space, never seen */
        int64_t opened;  /* when the segment that jumped over it (the opener) was seen */
        bool has_ts, has_ack;
        uint32_t ts, ack; /* the opener's TSval and ACK: the order in which it was sent */
    } hole[TCP_AN_HOLES];
    struct {
        uint32_t left, right;
    } sack[WST_MAX_SACK];
};

/* Sequence analysis of one direction, mirroring Wireshark's tcp_analyze_seq_info so the
 * anomaly counts mean what tshark's tcp.analysis.* flags mean (retransmission and
 * out-of-order excepted: those are decided by the bytes seen, below). */
struct tcp_anal {
    bool nextseq_set;
    bool maxack_set;
    bool lastack_set;
    bool window_set;
    bool window_from_syn; /* the stored window came from a SYN: never scaled */
    uint32_t nextseq;     /* highest seq + len (+1 for SYN/FIN) sent so far */
    uint32_t maxseqtobeacked;
    uint32_t lastack;
    uint16_t window;
    int32_t dupacknum;
    unsigned lastflags; /* anomaly bits of this direction's previous segment */
    int64_t nextseq_time;
    int64_t lastack_time;
    /* What this side's stream has shown, to classify a segment below nextseq by its bytes:
     * every sequence number from seen_lo up to nextseq was seen on a segment, except the holes
     * in loss (ranges a later segment jumped over and nothing has filled yet). */
    bool seen_set;
    bool loss_failed; /* a hole without a record (its cap): classified by time, as Wireshark */
    bool ts_first_set;
    uint32_t seen_lo;
    int64_t seen_lo_time;
    uint32_t ts_first; /* this side's first TSval and when it was seen: its clock's tick */
    int64_t ts_first_time;
    struct tcp_loss *loss; /* allocated at this side's first hole or SACK block */
};

/* What one side (the sender of one direction) has shown us. */
struct tcp_side {
    bool syn_seen;
    bool fin_seen;
    bool fin_acked;
    bool rst_seen;
    bool isn_known;
    uint32_t isn;
    uint32_t fin_seq;  /* sequence number of the FIN itself */
    bool fin_has_ack;  /* the FIN acknowledged the peer's FIN (merged FIN+ACK) */
    bool fin_after_peer_acked; /* the peer's FIN had been acknowledged before this FIN */
    bool fin_peer_first;       /* the peer's FIN had been seen before this FIN */
    uint64_t fin_frame;
    int64_t end_ts; /* time of this side's FIN or RST */
    int mss;           /* from the SYN, -1 absent */
    int wscale;        /* raw shift from the SYN, -1 absent */
    bool opts_cut;     /* the SYN's options were cut by the snapshot length */
    bool sack_perm;
    bool ts_ok;
    uint64_t bytes, pkts;
    uint64_t gap_bytes;
    uint16_t hist_seen;           /* history letters already recorded for this side */
    uint32_t hist_t, hist_g, hist_w; /* retransmissions, gaps, zero windows: counted so the
                                        letter repeats at 1, 10, 100, ... (as in Zeek) */
    struct tcp_anal an;
    struct reasm rs; /* the byte stream this side sends */
    /* Teardown facts for diagnoses: FIN and first RST (time, frame), and how much of the
     * peer's stream this side had acknowledged when it sent its FIN. */
    int64_t fin_ts, rst_ts;
    uint64_t rst_frame;
    bool fin_ack_known;
    uint64_t fin_ack_off; /* peer stream offset acknowledged by the FIN */
    uint64_t peer_next_at_fin; /* peer stream bytes delivered when the FIN was seen */
    uint64_t peer_next_at_rst; /* ... and when the first RST was seen */
    /* The receive window this side last advertised (not on a RST): RFC 9293's acceptability
     * test for the peer's segments after a reset. */
    bool adv_set;
    uint32_t adv_ack; /* absolute acknowledgment number */
    uint64_t adv_win; /* bytes, scaled when the scale is known */
    uint64_t after_rst_bytes; /* payload accepted after (or on) a RST */
};

enum conn_phase {
    PH_NEW,       /* created, nothing decided */
    PH_SYN,       /* client SYN seen */
    PH_SYNACK,    /* server SYN-ACK seen */
    PH_OPEN,      /* tcp.open emitted */
    PH_CLOSED,    /* tcp.close emitted; lingers to absorb late packets */
};

#define SIDE_C 0 /* index of the client in ep[] and side[] */
#define SIDE_S 1

struct conn {
    struct conn *hnext;               /* hash chain */
    struct conn *lru_prev, *lru_next; /* least recently active first */
    struct conn *id_prev, *id_next;   /* all tracked connections, by id */
    uint64_t hash;
    uint64_t id;
    struct flow_key key;
    struct wst_endpoint ep[2]; /* [SIDE_C] client, [SIDE_S] server (tentative before open) */
    bool roles_known;
    enum conn_phase phase;
    bool first_payload_seen;
    int64_t first_ts, last_ts, syn_ts;
    int64_t irtt_us; /* SYN to the ACK of the SYN-ACK; 0 when unknown */
    uint64_t anomalies[WST_AN__COUNT];
    struct app_conn *app; /* application layers, allocated with the first payload */
    bool app_refused;     /* the application-layer memory cap refused app */
    uint64_t first_frame;
    uint8_t nhist;
    char hist[WST_HISTORY_MAX + 1]; /* Zeek-style history: upper case client, lower server */
    struct tcp_side side[2];
    /* After a RST the connection stays for in-window data until it has been quiet for
     * RST_LINGER_US (flowtab's reset list, oldest first). */
    bool reset;
    int8_t rst_side;
    int64_t rst_touch_ts;
    struct conn *rst_prev, *rst_next;
};

struct flowtab {
    struct conn **buckets;
    uint64_t nbuckets; /* power of two */
    uint64_t count;
    uint64_t max;
    uint64_t seed;
    struct conn *lru_head, *lru_tail;
    struct conn *id_head, *id_tail;
    struct conn *free_list; /* recycled connection records */
    struct conn *rst_head, *rst_tail; /* reset connections, least recently active first */
    struct conn_chunk *chunks;
    uint64_t nchunks;
};

struct wst_analyzer {
    struct wst_limits lim;
    wst_event_fn fn;
    void *user;
    enum wst_link link;
    struct decoder dec;
    struct flowtab ft;
    struct reasm_pool pool;
    struct wst_stream_hooks hooks;
    uint64_t next_conn_id;
    /* the packet being processed */
    uint64_t frame;
    int64_t now;
    bool have_first;
    int64_t first_ts;
    /* totals for capture.end */
    uint64_t bytes;
    uint64_t non_tcp, truncated, malformed, ip_fragments, evicted;
    uint64_t ip_datagrams; /* reassembled from ip_fragments */
    uint64_t tcp_conns, ws_conns;
    struct wst_budget app_budget; /* --max-app-total */
    uint32_t loss_records;        /* struct tcp_loss allocated (at most TCP_LOSS_RECORDS) */
    /* TLS: the key table (NULL without --keylog) and one decryption buffer for all sessions */
    const struct keylog *keylog;
    const char *keylog_name;
    bool (*keylog_more)(void *user, int64_t ts, bool new_session);
    void *keylog_user;
    uint8_t *tls_scratch;
    uint64_t pkt_conn;            /* wst_packet_conn: the current packet's connection, or 0 */
};

/* flow.c */
int flow_init(struct flowtab *ft, uint64_t max, uint64_t seed);
void flow_free(struct flowtab *ft);
void flow_key_make(struct flow_key *k, const struct pkt *p, bool *swapped);
struct conn *flow_lookup(struct flowtab *ft, const struct flow_key *k, uint64_t *hash);
/* Insert a fresh record (NULL when out of memory); the caller makes room first. */
struct conn *flow_insert(struct flowtab *ft, const struct flow_key *k, uint64_t hash);
void flow_remove(struct flowtab *ft, struct conn *c);
void flow_touch(struct flowtab *ft, struct conn *c);
/* A reset connection showed activity: (re)append it to the reset list. */
void flow_rst_touch(struct flowtab *ft, struct conn *c, int64_t now);
/* Take it off the reset list (when it ends). */
void flow_rst_unlink(struct flowtab *ft, struct conn *c);

/* tcp.c */
void tcp_conn_init(struct wst_analyzer *a, struct conn *c, const struct pkt *p);
/* Returns true when this packet starts a new connection on the same tuple (port reuse). */
bool tcp_is_reuse(const struct conn *c, const struct pkt *p);
/* After reuse: a SYN-ACK that answers the old connection's SYN keeps that SYN's options. */
void tcp_conn_inherit_syn(struct wst_analyzer *a, struct conn *c, const struct conn *old,
                          const struct pkt *p);
void tcp_segment(struct wst_analyzer *a, struct conn *c, const struct pkt *p);
/* After a RST: does side s's segment pass the receiver's window (RFC 9293 3.10.7.4)? */
bool tcp_after_rst_acceptable(const struct conn *c, int s, const struct pkt *p);
/* End the reset connections that have been quiet for RST_LINGER_US. */
void tcp_reset_expire(struct wst_analyzer *a);
/* How long a reset connection waits for data still in flight (refreshed by each
 * acceptable segment). */
#define RST_LINGER_US (1LL * 1000000)
/* Record history letter L (Zeek's S H A D F R T G W, upper case) for side s. */
void tcp_hist(struct conn *c, int s, char L);
/* End of a connection's tracking: emits tcp.open (when pending) and tcp.close if not yet. */
void tcp_conn_end(struct wst_analyzer *a, struct conn *c, enum wst_close_how how);

/* analyzer.c: the application side of the reassembler */
void an_stream_data(struct wst_analyzer *a, struct conn *c, int side, uint64_t off,
                    const uint8_t *p, uint32_t len, uint64_t frame);
void an_stream_gap(struct wst_analyzer *a, struct conn *c, int side, uint64_t off, uint64_t len);
void an_conn_released(struct wst_analyzer *a, struct conn *c);

/* analyzer.c */
void an_emit(struct wst_analyzer *a, struct wst_event *ev);
void an_event_init(struct wst_analyzer *a, struct wst_event *ev, enum wst_ev_type t,
                   const struct conn *c, enum wst_dir dir);

#endif
