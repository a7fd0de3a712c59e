/* tcp.c - per-connection TCP state: roles, handshake and options, teardown classification. */
#include <string.h>

#include "app.h"
#include "core.h"
#include "tcpanal.h"

/* Wrap-safe sequence comparisons (RFC 1982 style). */
static inline bool seq_geq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

#define WSCALE_MAX 14 /* RFC 7323 section 2.3 */

static void ep_from(struct wst_endpoint *ep, uint8_t family, const uint8_t *addr, uint16_t port)
{
    memset(ep, 0, sizeof *ep);
    ep->family = family;
    memcpy(ep->addr, addr, family == 4 ? 4 : 16);
    ep->port = port;
}

static bool ep_is_src(const struct wst_endpoint *ep, const struct pkt *p)
{
    return ep->port == p->sport && memcmp(ep->addr, p->src, p->family == 4 ? 4 : 16) == 0;
}

static void side_init(struct tcp_side *s)
{
    memset(s, 0, sizeof *s);
    s->mss = -1;
    s->wscale = -1;
    reasm_init(&s->rs);
}

/* The reassembler's output for one side of one connection. */
struct rs_ctx {
    struct wst_analyzer *a;
    struct conn *c;
    int side;
};

static void rs_data(void *ctx, uint64_t off, const uint8_t *p, uint32_t len, uint64_t frame)
{
    struct rs_ctx *x = ctx;
    an_stream_data(x->a, x->c, x->side, off, p, len, frame);
}

static void rs_gap(void *ctx, uint64_t off, uint64_t len)
{
    struct rs_ctx *x = ctx;
    x->c->side[x->side].gap_bytes += len;
    tcp_hist(x->c, x->side, 'G');
    an_stream_gap(x->a, x->c, x->side, off, len);
}

#define RS_OUT(name, ctxv) struct reasm_out name = {rs_data, rs_gap, &(ctxv)}

void tcp_conn_init(struct wst_analyzer *a, struct conn *c, const struct pkt *p)
{
    bool sender_is_server = (p->flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK);

    c->first_ts = c->last_ts = a->now;
    c->first_frame = a->frame;
    c->phase = PH_NEW;
    c->roles_known = (p->flags & TCPF_SYN) != 0;
    side_init(&c->side[SIDE_C]);
    side_init(&c->side[SIDE_S]);
    int snd = sender_is_server ? SIDE_S : SIDE_C;
    ep_from(&c->ep[snd], p->family, p->src, p->sport);
    ep_from(&c->ep[1 - snd], p->family, p->dst, p->dport);
}

/* Zeek's conn.log history: each of S (SYN), H (SYN-ACK), A (pure ACK), D (data), F (FIN)
 * and R (RST) once per side, in order of first appearance; T (retransmission), G (gap) and
 * W (zero window) again at the 1st, 10th, 100th, ... time. Client letters upper case,
 * server lower case. Bounded at WST_HISTORY_MAX letters. */
void tcp_hist(struct conn *c, int s, char L)
{
    struct tcp_side *side = &c->side[s];
    uint32_t *cnt = L == 'T' ? &side->hist_t : L == 'G' ? &side->hist_g : L == 'W' ? &side->hist_w
                                                                                     : NULL;
    if (cnt) {
        uint32_t n = ++*cnt;
        while (n % 10 == 0)
            n /= 10;
        if (n != 1)
            return; /* not a power of ten */
    } else {
        static const char letters[] = "SHADFR";
        const char *q = strchr(letters, L);
        if (!q || L == '\0')
            return;
        uint16_t bit = (uint16_t)(1u << (q - letters));
        if (side->hist_seen & bit)
            return;
        side->hist_seen |= bit;
    }
    if (c->nhist >= WST_HISTORY_MAX)
        return;
    c->hist[c->nhist++] = s == SIDE_C ? L : (char)(L | 0x20);
    c->hist[c->nhist] = '\0';
}

static void conn_swap_roles(struct conn *c)
{
    for (uint8_t i = 0; i < c->nhist; i++)
        c->hist[i] ^= 0x20; /* the other side's letters: flip the case */
    struct wst_endpoint ep = c->ep[0];
    c->ep[0] = c->ep[1];
    c->ep[1] = ep;
    struct tcp_side s = c->side[0];
    c->side[0] = c->side[1];
    c->side[1] = s;
}

static bool looks_like_http_request(const uint8_t *b, uint32_t n)
{
    static const char *const methods[] = {"GET ",     "POST ",    "PUT ",  "HEAD ",
                                          "DELETE ",  "OPTIONS ", "PATCH ", "CONNECT ",
                                          "TRACE ",   NULL};
    for (int i = 0; methods[i]; i++) {
        size_t l = strlen(methods[i]);
        if (n >= l && memcmp(b, methods[i], l) == 0)
            return true;
    }
    return false;
}

/*
 * Without a handshake, the client is the side that sent an HTTP request, else the side
 * that answered with an HTTP status line is the server, else the higher (ephemeral) port.
 * p may be NULL when the connection ends before any payload.
 */
static void conn_decide_roles(struct conn *c, const struct pkt *p)
{
    if (c->roles_known)
        return;
    c->roles_known = true;
    if (p && p->payload_cap > 0) {
        bool from_c = ep_is_src(&c->ep[SIDE_C], p);
        if (looks_like_http_request(p->payload, p->payload_cap)) {
            if (!from_c)
                conn_swap_roles(c);
            return;
        }
        if (p->payload_cap >= 5 && memcmp(p->payload, "HTTP/", 5) == 0) {
            if (from_c)
                conn_swap_roles(c);
            return;
        }
    }
    if (c->ep[SIDE_S].port > c->ep[SIDE_C].port)
        conn_swap_roles(c);
}

static void emit_open(struct wst_analyzer *a, struct conn *c, int64_t irtt_us)
{
    struct wst_event ev;
    struct tcp_side *cs = &c->side[SIDE_C], *ss = &c->side[SIDE_S];

    conn_decide_roles(c, NULL);
    an_event_init(a, &ev, WST_EV_TCP_OPEN, c, WST_DIR_NONE);
    ev.u.open.midstream = !(cs->syn_seen && ss->syn_seen);
    ev.u.open.irtt_us = ev.u.open.midstream ? -1 : irtt_us;
    ev.u.open.mss_c = cs->mss;
    ev.u.open.mss_s = ss->mss;
    if (cs->syn_seen && ss->syn_seen && cs->wscale >= 0 && ss->wscale >= 0) {
        ev.u.open.wscale_c = cs->wscale > WSCALE_MAX ? WSCALE_MAX : cs->wscale;
        ev.u.open.wscale_s = ss->wscale > WSCALE_MAX ? WSCALE_MAX : ss->wscale;
    } else {
        ev.u.open.wscale_c = ev.u.open.wscale_s = -1;
        ev.u.open.wscale_unknown = !(cs->syn_seen && ss->syn_seen) || cs->opts_cut || ss->opts_cut;
    }
    ev.u.open.sack = cs->sack_perm && ss->sack_perm;
    ev.u.open.nvlan = c->key.nvlan;
    memcpy(ev.u.open.vlan, c->key.vlan, sizeof ev.u.open.vlan);
    wst_community_id(a->lim.community_id_seed, &c->ep[SIDE_C], &c->ep[SIDE_S], 6,
                     ev.u.open.community_id);
    c->phase = PH_OPEN;
    a->tcp_conns++;
    an_emit(a, &ev);
}

static enum wst_teardown conn_teardown(const struct conn *c, enum wst_close_by *by)
{
    const struct tcp_side *cs = &c->side[SIDE_C], *ss = &c->side[SIDE_S];

    *by = WST_BY_NONE;
    if (!cs->fin_seen && !ss->fin_seen)
        return WST_TEARDOWN_NONE;
    int first;
    if (cs->fin_seen && ss->fin_seen)
        first = cs->fin_frame <= ss->fin_frame ? SIDE_C : SIDE_S;
    else
        first = cs->fin_seen ? SIDE_C : SIDE_S;
    *by = first == SIDE_C ? WST_BY_CLIENT : WST_BY_SERVER;
    if (!(cs->fin_seen && ss->fin_seen))
        return WST_TEARDOWN_HALF;
    const struct tcp_side *o = &c->side[1 - first];
    if (o->fin_has_ack)
        return WST_TEARDOWN_3WAY; /* the second FIN also acknowledged the first */
    if (o->fin_after_peer_acked)
        return WST_TEARDOWN_4WAY; /* the first FIN was acknowledged on its own before */
    return WST_TEARDOWN_SIMULTANEOUS; /* each FIN left before the other was acknowledged */
}

void tcp_conn_end(struct wst_analyzer *a, struct conn *c, enum wst_close_how how)
{
    if (c->phase == PH_CLOSED)
        return;
    flow_rst_unlink(&a->ft, c);
    if (c->reset)
        how = WST_CLOSE_RST; /* however its tracking ends, the connection was reset */
    if (c->phase == PH_NEW)
        emit_open(a, c, -1); /* midstream: the connection existed, say so first */
    else if (c->phase != PH_OPEN)
        a->tcp_conns++; /* a handshake that never completed still counts */

    /* Whatever is still queued goes up now, with the holes as gaps. */
    for (int side = 0; side < 2; side++) {
        struct rs_ctx x = {a, c, side};
        RS_OUT(out, x);
        reasm_flush(&c->side[side].rs, &a->pool, &out);
    }
    c->hist[c->nhist] = '\0';

    enum wst_close_by by;
    enum wst_teardown teardown = conn_teardown(c, &by);
    if (how == WST_CLOSE_OPEN && teardown != WST_TEARDOWN_NONE)
        how = WST_CLOSE_FIN;
    app_end(a, c, how); /* unanswered upgrades, unfinished messages */

    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_TCP_CLOSE, c, WST_DIR_NONE);
    struct wst_ev_close *cl = &ev.u.close;
    cl->teardown = teardown;
    cl->by = by;
    if (how == WST_CLOSE_RST) {
        cl->by = c->rst_side == SIDE_C ? WST_BY_CLIENT : WST_BY_SERVER;
        cl->teardown = WST_TEARDOWN_NONE;
    }
    cl->how = how;
    cl->bytes_c2s = c->side[SIDE_C].bytes;
    cl->bytes_s2c = c->side[SIDE_S].bytes;
    cl->pkts_c2s = c->side[SIDE_C].pkts;
    cl->pkts_s2c = c->side[SIDE_S].pkts;
    cl->duration_us = c->last_ts - c->first_ts;
    memcpy(cl->anomalies, c->anomalies, sizeof cl->anomalies);
    cl->gap_bytes_c2s = c->side[SIDE_C].gap_bytes;
    cl->gap_bytes_s2c = c->side[SIDE_S].gap_bytes;
    cl->history = c->hist;
    c->phase = PH_CLOSED;
    an_emit(a, &ev);
    app_free(c);
    tcp_anal_free(a, c);
    an_conn_released(a, c);
}

bool tcp_is_reuse(const struct conn *c, const struct pkt *p)
{
    if ((p->flags & (TCPF_SYN | TCPF_RST)) != TCPF_SYN)
        return false;
    if (p->flags & TCPF_ACK) {
        /* A SYN-ACK after the connection was closed (a reset the peers ignored, as in
         * evasion tricks) starts over, unless it repeats the SYN-ACK we saw. */
        if (c->phase != PH_CLOSED && !c->reset)
            return false;
        int s = ep_is_src(&c->ep[SIDE_C], p) ? SIDE_C : SIDE_S;
        return !(c->side[s].syn_seen && c->side[s].isn == p->seq);
    }
    bool ended = c->phase == PH_CLOSED || c->side[0].fin_seen || c->side[1].fin_seen ||
                 c->side[0].rst_seen || c->side[1].rst_seen;
    if (!ended)
        return false;
    /* The same SYN again is a retransmission into the old connection, not a new one. */
    int s = ep_is_src(&c->ep[SIDE_C], p) ? SIDE_C : SIDE_S;
    return !(c->side[s].syn_seen && c->side[s].isn == p->seq);
}

void tcp_conn_inherit_syn(struct wst_analyzer *a, struct conn *c, const struct conn *old,
                          const struct pkt *p)
{
    /* Only a SYN-ACK answering the old connection's SYN continues its handshake. */
    if ((p->flags & (TCPF_SYN | TCPF_ACK)) != (TCPF_SYN | TCPF_ACK))
        return;
    const struct tcp_side *oc = &old->side[SIDE_C];
    if (!oc->syn_seen || p->ack != oc->isn + 1)
        return;
    if (!ep_is_src(&c->ep[SIDE_S], p) ||
        memcmp(&old->ep[SIDE_C], &c->ep[SIDE_C], sizeof old->ep[SIDE_C]) != 0)
        return;
    struct tcp_side *nc = &c->side[SIDE_C];
    nc->syn_seen = nc->isn_known = true;
    nc->isn = oc->isn;
    nc->mss = oc->mss;
    nc->wscale = oc->wscale;
    nc->sack_perm = oc->sack_perm;
    nc->ts_ok = oc->ts_ok;
    reasm_set_base(&nc->rs, oc->isn + 1);
    c->syn_ts = old->syn_ts;
    c->phase = PH_SYN;
    (void)a;
}

static void handle_syn(struct wst_analyzer *a, struct conn *c, const struct pkt *p, int s)
{
    bool synack = (p->flags & TCPF_ACK) != 0;
    struct tcp_side *side = &c->side[s];

    if (side->syn_seen && side->isn == p->seq)
        return; /* retransmitted SYN */
    side->syn_seen = true;
    side->isn_known = true;
    side->isn = p->seq;
    side->mss = p->opts.mss;
    side->wscale = p->opts.wscale;
    side->opts_cut = p->opts.cut;
    side->sack_perm = p->opts.sack_perm;
    side->ts_ok = p->opts.has_ts;
    if (!side->rs.next && !side->rs.q)
        reasm_set_base(&side->rs, p->seq + 1); /* the SYN takes one sequence number */
    if (!synack) {
        c->syn_ts = a->now;
        if (c->phase < PH_SYN)
            c->phase = PH_SYN;
    } else if (c->phase < PH_SYNACK) {
        c->phase = PH_SYNACK;
    }

    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_TCP_SYN, c, s == SIDE_C ? WST_DIR_C2S : WST_DIR_S2C);
    ev.u.syn.synack = synack;
    ev.u.syn.seq = p->seq;
    ev.u.syn.win = p->win;
    ev.u.syn.opts = p->opts;
    an_emit(a, &ev);
}

/* tcp.fin: side s sent its FIN (again, when retransmitted). Whether it answers the peer's
 * FIN is decided by the first copy: a retransmission keeps what the original was. */
static void emit_fin(struct wst_analyzer *a, struct conn *c, int s, bool retransmitted)
{
    struct wst_event ev;
    const struct tcp_side *side = &c->side[s];

    an_event_init(a, &ev, WST_EV_TCP_FIN, c, s == SIDE_C ? WST_DIR_C2S : WST_DIR_S2C);
    ev.u.fin.seq = tcp_rel_seq(c, s, side->fin_seq);
    ev.u.fin.retransmitted = retransmitted;
    ev.u.fin.peer_fin = side->fin_peer_first;
    an_emit(a, &ev);
}

/* tcp.rst: side s sent a RST (the first of the connection, or a later one). */
static void emit_rst(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p)
{
    struct wst_event ev;

    an_event_init(a, &ev, WST_EV_TCP_RST, c, s == SIDE_C ? WST_DIR_C2S : WST_DIR_S2C);
    ev.u.rst.seq = tcp_rel_seq(c, s, p->seq);
    ev.u.rst.first = !c->reset;
    ev.u.rst.len = p->payload_len;
    an_emit(a, &ev);
}

/* Feed the segment's bytes, FIN and ACK to the two reassemblers. */
static void stream_segment(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p)
{
    struct tcp_side *side = &c->side[s], *peer = &c->side[1 - s];
    struct rs_ctx x = {a, c, s};
    RS_OUT(out, x);

    /* Midstream: offset 0 is the first sequence number seen (Wireshark's relative 1); an
     * ACK tells where the peer's stream stands before its first segment shows up. */
    if (!side->rs.base_set)
        reasm_set_base(&side->rs, p->seq);
    if (!peer->rs.base_set && (p->flags & TCPF_ACK))
        reasm_set_base(&peer->rs, p->ack);

    uint32_t seq = (p->flags & TCPF_SYN) ? p->seq + 1 : p->seq;
    int64_t off = reasm_offset(&side->rs, seq);
    if (p->payload_len > 0) {
        unsigned r = reasm_add(&side->rs, &a->pool, off, p->payload, p->payload_len,
                               p->payload_cap, a->frame, &out);
        if (r & REASM_MISMATCH)
            tcp_emit_stream_anomaly(a, c, s, p, WST_AN_OVERLAP_MISMATCH);
        if (r & REASM_LIMIT)
            tcp_emit_stream_anomaly(a, c, s, p, WST_AN_OOO_LIMIT);
    }
    if (p->flags & TCPF_FIN) {
        reasm_fin(&side->rs, off + p->payload_len);
        if (!side->fin_seen) {
            side->peer_next_at_fin = peer->rs.next;
            if ((p->flags & TCPF_ACK) && peer->rs.base_set) {
                int64_t ao = reasm_offset(&peer->rs, p->ack);
                side->fin_ack_known = ao >= 0;
                side->fin_ack_off = ao >= 0 ? (uint64_t)ao : 0;
            }
        }
    }
    if ((p->flags & TCPF_ACK) && peer->rs.base_set) {
        struct rs_ctx y = {a, c, 1 - s};
        RS_OUT(pout, y);
        reasm_ack(&peer->rs, &a->pool, reasm_offset(&peer->rs, p->ack), &pout);
    }
}

/* The receive window side s advertises for its peer's stream, from a segment that is not a
 * RST (a RST's window means nothing). Unknown scaling counts the raw window (strict). */
static void note_window(struct conn *c, int s, const struct pkt *p)
{
    struct tcp_side *side = &c->side[s];
    if (!(p->flags & TCPF_ACK) || (p->flags & TCPF_RST))
        return;
    int shift = (p->flags & TCPF_SYN) ? 0 : tcp_window_shift(c, s);
    side->adv_set = true;
    side->adv_ack = p->ack;
    side->adv_win = (uint64_t)p->win << (shift > 0 ? shift : 0);
}

/*
 * After a RST, a segment counts only if it passes RFC 9293's acceptability test (3.10.7.4)
 * against the receiver's last acknowledgment and window: the first or the last byte lies
 * in [ack, ack + window), or, without data, ack <= seq <= ack + window. Without a window
 * seen from the receiver, only a segment that continues the delivered stream counts. An
 * attacker's reset followed by junk at random sequence numbers is left out this way.
 */
bool tcp_after_rst_acceptable(const struct conn *c, int s, const struct pkt *p)
{
    const struct tcp_side *side = &c->side[s], *rcv = &c->side[1 - s];
    if (!side->rs.base_set)
        return false;
    uint32_t seq = (p->flags & TCPF_SYN) ? p->seq + 1 : p->seq;
    int64_t off = reasm_offset(&side->rs, seq);
    int64_t len = p->payload_len;
    if (!rcv->adv_set)
        return off == (int64_t)side->rs.next;
    int64_t lo = reasm_offset(&side->rs, rcv->adv_ack);
    int64_t hi = lo + (int64_t)rcv->adv_win;
    if (len == 0)
        return lo <= off && off <= hi;
    if (rcv->adv_win == 0)
        return false;
    return (lo <= off && off < hi) || (lo <= off + len - 1 && off + len - 1 < hi);
}

/* A RST: record it, deliver any in-window data it carries, keep the connection for what is
 * still in flight. */
static void handle_rst(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p,
                       unsigned fl, uint32_t dup_num)
{
    struct tcp_side *side = &c->side[s];

    tcp_hist(c, s, 'R');
    tcp_emit_anomalies(a, c, s, p, fl, dup_num);
    emit_rst(a, c, s, p);
    if (p->payload_len > 0 && tcp_after_rst_acceptable(c, s, p)) {
        /* RFC 9293 3.5.3 lets a reset carry data (a diagnostic); it is in the stream */
        tcp_emit_stream_anomaly(a, c, s, p, WST_AN_DATA_AFTER_RST);
        side->after_rst_bytes += p->payload_len;
        struct rs_ctx x = {a, c, s};
        RS_OUT(out, x);
        int64_t off = reasm_offset(&side->rs, p->seq);
        reasm_add(&side->rs, &a->pool, off, p->payload, p->payload_len, p->payload_cap,
                  a->frame, &out);
    }
    if (!side->rst_seen) {
        side->peer_next_at_rst = c->side[1 - s].rs.next;
        side->rst_seen = true;
        side->rst_ts = a->now;
        side->rst_frame = a->frame;
        side->end_ts = a->now;
    }
    if (!c->reset) {
        c->reset = true;
        c->rst_side = (int8_t)s;
    }
    flow_rst_touch(&a->ft, c, a->now);
}

void tcp_reset_expire(struct wst_analyzer *a)
{
    while (a->ft.rst_head && a->now - a->ft.rst_head->rst_touch_ts > RST_LINGER_US)
        tcp_conn_end(a, a->ft.rst_head, WST_CLOSE_RST);
}

void tcp_segment(struct wst_analyzer *a, struct conn *c, const struct pkt *p)
{
    /* A SYN fixes the roles of a connection first seen mid-stream. */
    if ((p->flags & TCPF_SYN) && !c->roles_known) {
        bool synack = (p->flags & TCPF_ACK) != 0;
        bool from_c = ep_is_src(&c->ep[SIDE_C], p);
        if (from_c == synack)
            conn_swap_roles(c);
        c->roles_known = true;
    }
    int s = ep_is_src(&c->ep[SIDE_C], p) ? SIDE_C : SIDE_S;
    struct tcp_side *side = &c->side[s], *peer = &c->side[1 - s];

    side->pkts++;
    side->bytes += p->payload_len;
    c->last_ts = a->now;
    if (c->phase == PH_CLOSED)
        return;
    if (c->reset && (p->flags & TCPF_SYN))
        return; /* a SYN again after the reset: not part of this connection's stream */

    uint32_t dup_num;
    if (p->flags & TCPF_SYN) {
        tcp_hist(c, s, (p->flags & TCPF_ACK) ? 'H' : 'S');
        if (p->payload_len > 0)
            tcp_hist(c, s, 'D');
        handle_syn(a, c, p, s);
        note_window(c, s, p);
        unsigned fl = tcp_analyze(a, c, s, p, &dup_num);
        tcp_emit_anomalies(a, c, s, p, fl, dup_num);
        if (p->payload_len > 0)
            stream_segment(a, c, s, p);
        return;
    }
    /* RFC 9293 3.10.7.3: in SYN-SENT a reset is acceptable only if it acknowledges the
     * SYN. Anything else (an injected or stale reset) does not end the connection and
     * is left out of the analysis. */
    if ((p->flags & TCPF_RST) && c->phase == PH_SYN && s == SIDE_S &&
        !((p->flags & TCPF_ACK) && p->ack == c->side[SIDE_C].isn + 1))
        return;
    /* After a reset only acceptable segments (and further resets) take part. */
    bool after_rst = c->reset && !(p->flags & TCPF_RST);
    if (after_rst && !tcp_after_rst_acceptable(c, s, p))
        return;
    unsigned fl = tcp_analyze(a, c, s, p, &dup_num);
    if (c->phase == PH_NEW &&
        (p->payload_len > 0 || (p->flags & (TCPF_FIN | TCPF_RST)) || fl)) {
        /* Midstream: the connection shows itself with data, a FIN/RST or a finding. */
        conn_decide_roles(c, p);
        emit_open(a, c, -1);
        s = ep_is_src(&c->ep[SIDE_C], p) ? SIDE_C : SIDE_S; /* roles may have swapped */
        side = &c->side[s];
        peer = &c->side[1 - s];
    }
    if (p->payload_len > 0)
        tcp_hist(c, s, 'D');
    else if ((p->flags & (TCPF_ACK | TCPF_FIN | TCPF_RST)) == TCPF_ACK)
        tcp_hist(c, s, 'A');
    if (p->flags & TCPF_FIN)
        tcp_hist(c, s, 'F');
    if (p->flags & TCPF_RST) {
        handle_rst(a, c, s, p, fl, dup_num);
        return;
    }
    if (after_rst) {
        flow_rst_touch(&a->ft, c, a->now);
        if (p->payload_len > 0) {
            tcp_emit_stream_anomaly(a, c, s, p, WST_AN_DATA_AFTER_RST);
            side->after_rst_bytes += p->payload_len;
        }
    }
    note_window(c, s, p);

    /* After the SYN alone, only a server segment or an acknowledging client segment shows
     * the connection got further (its SYN-ACK was not captured). */
    bool past_syn = c->phase == PH_SYNACK ||
                    (c->phase == PH_SYN && (s == SIDE_S || (p->flags & TCPF_ACK)));
    /* The first segment after the SYNs completes the handshake. */
    if (past_syn) {
        int64_t irtt = -1;
        if (s == SIDE_C && (p->flags & TCPF_ACK) && c->side[SIDE_S].syn_seen &&
            p->ack == c->side[SIDE_S].isn + 1) {
            irtt = a->now - c->syn_ts;
            c->irtt_us = irtt;
        }
        emit_open(a, c, irtt);
    }

    tcp_emit_anomalies(a, c, s, p, fl, dup_num);
    stream_segment(a, c, s, p);

    bool acks_peer_fin = (p->flags & TCPF_ACK) && peer->fin_seen &&
                         seq_geq(p->ack, peer->fin_seq + 1);
    if (p->flags & TCPF_FIN) {
        uint32_t fin_seq = p->seq + p->payload_len;
        if (!side->fin_seen) {
            side->fin_seen = true;
            side->fin_seq = fin_seq;
            side->fin_frame = a->frame;
            side->fin_ts = a->now;
            if (!side->rst_seen)
                side->end_ts = a->now;
            side->fin_has_ack = acks_peer_fin && !peer->fin_acked;
            side->fin_after_peer_acked = peer->fin_acked;
            side->fin_peer_first = peer->fin_seen;
            emit_fin(a, c, s, false);
        } else if (fin_seq == side->fin_seq) {
            emit_fin(a, c, s, true);
        }
    }
    if (acks_peer_fin)
        peer->fin_acked = true;
    if (!c->reset && c->side[0].fin_seen && c->side[1].fin_seen && c->side[0].fin_acked &&
        c->side[1].fin_acked)
        tcp_conn_end(a, c, WST_CLOSE_FIN);
}
