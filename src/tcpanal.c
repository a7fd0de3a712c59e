/* tcpanal.c - per-segment TCP sequence analysis with Wireshark's definitions (retransmission,
 * out-of-order, lost and unseen segments, duplicate ACKs, windows, keep-alives). */
#include <string.h>

#include "core.h"
#include "tcpanal.h"

#define FAST_RTX_WINDOW_US 20000 /* a fast retransmission follows the dup ACKs within 20 ms */
#define OOO_DEFAULT_US 3000      /* out-of-order threshold without a measured handshake RTT */
#define WSCALE_MAX 14

static inline bool seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

static inline bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static inline bool seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

#define BIT(k) (1u << (k))

/* The shift that applies to side s's windows: -1 unknown (a SYN missing), 0 when the two
 * SYNs did not both ask for scaling. */
int tcp_window_shift(const struct conn *c, int s)
{
    const struct tcp_side *cs = &c->side[SIDE_C], *ss = &c->side[SIDE_S];
    if (!cs->syn_seen || !ss->syn_seen)
        return -1;
    if (cs->wscale < 0 || ss->wscale < 0)
        return 0;
    int w = c->side[s].wscale;
    return w > WSCALE_MAX ? WSCALE_MAX : w;
}

/* Relative sequence number of seq in side s's stream: its first data byte is 1. */
uint64_t tcp_rel_seq(const struct conn *c, int s, uint32_t seq)
{
    const struct reasm *r = &c->side[s].rs;
    if (!r->base_set)
        return 0;
    int64_t off = reasm_offset(r, seq) + 1;
    return off < 0 ? 0 : (uint64_t)off;
}

static void emit_anomaly(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p,
                         enum wst_anomaly kind, uint32_t dup_num)
{
    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_TCP_ANOMALY, c, s == SIDE_C ? WST_DIR_C2S : WST_DIR_S2C);
    struct wst_ev_anomaly *an = &ev.u.anomaly;
    an->kind = kind;
    an->seq = (p->flags & TCPF_SYN) ? 0 : tcp_rel_seq(c, s, p->seq);
    an->len = p->payload_len;
    an->dup_num = dup_num;
    an->win_raw = p->win;
    int shift = (p->flags & TCPF_SYN) ? 0 : tcp_window_shift(c, s);
    an->win_shift = shift;
    an->win = (uint64_t)p->win << (shift > 0 ? shift : 0);
    for (int i = 0; i < p->opts.nsack && i < WST_MAX_SACK; i++) {
        an->sack[i].left = tcp_rel_seq(c, 1 - s, p->opts.sack[i].left);
        an->sack[i].right = tcp_rel_seq(c, 1 - s, p->opts.sack[i].right);
        an->nsack++;
    }
    c->anomalies[kind]++;
    if (kind == WST_AN_RETRANSMISSION || kind == WST_AN_FAST_RETRANSMISSION ||
        kind == WST_AN_SPURIOUS_RETRANSMISSION)
        tcp_hist(c, s, 'T');
    else if (kind == WST_AN_ZERO_WINDOW)
        tcp_hist(c, s, 'W');
    an_emit(a, &ev);
}

/*
 * Classify one segment from side s. Returns the anomaly bits (by enum wst_anomaly) and the
 * duplicate ACK number; tcp_emit_anomalies reports them. The order of the checks and the state updated afterwards
 * follow Wireshark's tcp_analyze_sequence_number, so counts can be compared with tshark.
 */
unsigned tcp_analyze(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p,
                     uint32_t *dup_out)
{
    struct tcp_anal *fwd = &c->side[s].an, *rev = &c->side[1 - s].an;
    uint32_t seq = p->seq, ack = p->ack, seglen = p->payload_len;
    uint16_t window = p->win;
    bool ctl = (p->flags & (TCPF_SYN | TCPF_FIN | TCPF_RST)) != 0;
    bool synfin = (p->flags & (TCPF_SYN | TCPF_FIN)) != 0;
    unsigned fl = 0;
    uint32_t dup_num = 0;

    /* zero window probe: one byte at the next sequence number into a closed window */
    if (seglen == 1 && fwd->nextseq_set && seq == fwd->nextseq && rev->window_set &&
        rev->window == 0) {
        fl |= BIT(WST_AN_ZERO_WINDOW_PROBE);
        goto finished_fwd;
    }
    if (window == 0 && !ctl)
        fl |= BIT(WST_AN_ZERO_WINDOW);
    if (fwd->nextseq_set && seq_gt(seq, fwd->nextseq) && !(p->flags & TCPF_RST))
        fl |= BIT(WST_AN_LOST_SEGMENT);
    if (seglen <= 1 && fwd->nextseq_set && seq == fwd->nextseq - 1 && !ctl)
        fl |= BIT(WST_AN_KEEP_ALIVE);
    if (seglen == 0 && window && fwd->window_set && window != fwd->window && fwd->nextseq_set &&
        seq == fwd->nextseq && fwd->lastack_set && ack == fwd->lastack && !ctl)
        fl |= BIT(WST_AN_WINDOW_UPDATE);
    if (seglen > 0 && !ctl && rev->lastack_set && rev->window_set) {
        int shift = tcp_window_shift(c, 1 - s);
        if (shift >= 0) {
            uint32_t win = (uint32_t)rev->window << (rev->window_from_syn ? 0 : shift);
            if (seq + seglen == rev->lastack + win)
                fl |= BIT(WST_AN_WINDOW_FULL);
        }
    }
    bool same_ack = seglen == 0 && fwd->window_set && fwd->nextseq_set &&
                    seq == fwd->nextseq && fwd->lastack_set && ack == fwd->lastack && !ctl;
    if (same_ack && window && window == fwd->window &&
        (rev->lastflags & BIT(WST_AN_KEEP_ALIVE))) {
        fl |= BIT(WST_AN_KEEP_ALIVE_ACK);
        goto finished_fwd;
    }
    if (same_ack && window == 0 && window == fwd->window &&
        (rev->lastflags & BIT(WST_AN_ZERO_WINDOW_PROBE)))
        goto finished_fwd; /* the ACK of a zero window probe: not a duplicate */
    if (same_ack && window && window == fwd->window) {
        fwd->dupacknum = fwd->dupacknum == -1 ? 1 : fwd->dupacknum + 1;
        dup_num = (uint32_t)fwd->dupacknum;
        fl |= BIT(WST_AN_DUP_ACK);
    }

finished_fwd:
    if (!fwd->lastack_set || ack != fwd->lastack)
        fwd->dupacknum = 0;

    /* an ACK beyond anything seen from the peer: we missed some of its segments */
    if ((p->flags & TCPF_ACK) && rev->maxack_set && seq_gt(ack, rev->maxseqtobeacked)) {
        if (rev->maxseqtobeacked > rev->nextseq) { /* Wireshark compares these unsigned */
            rev->maxseqtobeacked = rev->nextseq;
            fl |= BIT(WST_AN_ACKED_UNSEEN);
        } else {
            if (rev->dupacknum == 0)
                fl |= BIT(WST_AN_ACKED_UNSEEN);
            rev->dupacknum = -1;
        }
    }

    if (seglen > 0 || synfin) {
        bool not_advanced = fwd->nextseq_set && seq_lt(seq, fwd->nextseq);
        if (fl & BIT(WST_AN_KEEP_ALIVE))
            goto finished_rtx;
        if (seglen > 1 && fwd->nextseq_set && fwd->nextseq - 1 == seq)
            not_advanced = false;
        if (seglen > 0 && rev->lastack_set && rev->lastack != 0 &&
            seq_le(seq + seglen, rev->lastack)) {
            fl |= BIT(WST_AN_SPURIOUS_RETRANSMISSION);
            goto finished_rtx;
        }
        if (not_advanced && rev->dupacknum >= 2 && rev->lastack == seq &&
            a->now - rev->lastack_time < FAST_RTX_WINDOW_US) {
            fl |= BIT(WST_AN_FAST_RETRANSMISSION);
            goto finished_rtx;
        }
        int64_t thres = c->irtt_us > 0 ? c->irtt_us : OOO_DEFAULT_US;
        if (not_advanced && a->now - fwd->nextseq_time < thres &&
            fwd->nextseq != seq + seglen + (synfin ? 1 : 0)) {
            fl |= BIT(WST_AN_OUT_OF_ORDER);
            goto finished_rtx;
        }
        if (not_advanced)
            fl |= BIT(WST_AN_RETRANSMISSION);
    }

finished_rtx:;
    uint32_t nextseq = seq + seglen + (synfin ? 1 : 0);
    bool zwp = (fl & BIT(WST_AN_ZERO_WINDOW_PROBE)) != 0;
    if ((!fwd->nextseq_set || seq_gt(nextseq, fwd->nextseq)) && !zwp) {
        fwd->nextseq = nextseq;
        fwd->nextseq_set = true;
        fwd->nextseq_time = a->now;
    }
    if ((!fwd->maxack_set || seq == fwd->maxseqtobeacked) && !zwp) {
        fwd->maxseqtobeacked = fwd->nextseq;
        fwd->maxack_set = true;
    }
    fwd->window = window;
    fwd->window_set = true;
    fwd->window_from_syn = (p->flags & TCPF_SYN) != 0;
    fwd->lastack = ack;
    fwd->lastack_set = (p->flags & TCPF_ACK) != 0;
    fwd->lastack_time = a->now;
    fwd->lastflags = fl;
    *dup_out = dup_num;
    return fl;
}

void tcp_emit_anomalies(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p,
                        unsigned fl, uint32_t dup_num)
{
    for (int k = 0; k < WST_AN__COUNT; k++)
        if (fl & BIT(k))
            emit_anomaly(a, c, s, p, (enum wst_anomaly)k, k == WST_AN_DUP_ACK ? dup_num : 0);
}

void tcp_emit_stream_anomaly(struct wst_analyzer *a, struct conn *c, int s,
                             const struct pkt *p, enum wst_anomaly kind)
{
    emit_anomaly(a, c, s, p, kind, 0);
}
