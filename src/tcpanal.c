/* tcpanal.c - per-segment TCP sequence analysis: retransmission and out-of-order by the bytes
 * seen before, the rest with Wireshark's definitions (lost and unseen segments, duplicate ACKs,
 * windows, keep-alives). */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tcpanal.h"

/* a fast retransmission follows the peer's newest ACK within the round trip time + this */
#define FAST_RTX_WINDOW_US 20000
#define OOO_DEFAULT_US 3000  /* reorder window without a measured handshake RTT */
#define SEEN_SPAN (1u << 30) /* how far below nextseq the seen-bytes record reaches */
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

/* Side t's loss record, allocated on first use; NULL when the cap or memory refuses. */
static struct tcp_loss *loss_get(struct wst_analyzer *a, struct tcp_anal *t)
{
    if (t->loss)
        return t->loss;
    if (a->loss_records >= TCP_LOSS_RECORDS)
        return NULL;
    t->loss = calloc(1, sizeof *t->loss);
    if (t->loss)
        a->loss_records++;
    return t->loss;
}

void tcp_anal_free(struct wst_analyzer *a, struct conn *c)
{
    for (int s = 0; s < 2; s++) {
        struct tcp_anal *t = &c->side[s].an;
        if (t->loss) {
            free(t->loss);
            t->loss = NULL;
            a->loss_records--;
        }
    }
}

/* Remember [lo, hi) of side t's stream as jumped over (not seen) by segment p at time now. */
static void holes_add(struct wst_analyzer *a, struct tcp_anal *t, uint32_t lo, uint32_t hi,
                      const struct pkt *p, int64_t now)
{
    struct tcp_loss *l = loss_get(a, t);
    if (!l) {
        t->loss_failed = true;
        return;
    }
    if (l->nholes == TCP_AN_HOLES) {
        l->hole[TCP_AN_HOLES - 1].hi = hi; /* merge: the bytes between count as unseen too */
        return;
    }
    l->hole[l->nholes].lo = lo;
    l->hole[l->nholes].hi = hi;
    l->hole[l->nholes].opened = now;
    l->hole[l->nholes].has_ts = p->opts.has_ts;
    l->hole[l->nholes].ts = p->opts.ts_val;
    l->hole[l->nholes].has_ack = (p->flags & TCPF_ACK) != 0;
    l->hole[l->nholes].ack = p->ack;
    l->nholes++;
}

/*
 * Does [lo, hi) hold bytes never seen before (below seen_lo or in a hole)? If so, returns the
 * earliest such hole's index (-1 for below seen_lo) in *which and when it was first known to
 * be missing in *opened.
 */
static bool seen_fills(const struct tcp_anal *t, uint32_t lo, uint32_t hi, int *which,
                       int64_t *opened)
{
    bool fills = false;
    if (!t->seen_set)
        return false;
    if (seq_lt(lo, t->seen_lo)) {
        fills = true;
        *which = -1;
        *opened = t->seen_lo_time;
    }
    const struct tcp_loss *l = t->loss;
    for (int i = 0; l && i < l->nholes; i++) {
        if (seq_lt(lo, l->hole[i].hi) && seq_gt(hi, l->hole[i].lo)) {
            if (!fills || l->hole[i].opened < *opened) {
                *which = i;
                *opened = l->hole[i].opened;
            }
            fills = true;
        }
    }
    return fills;
}

/*
 * Was segment p sent before (-1) or after (+1) the opener of hole h, by what the sender wrote
 * in it (RFC 7323 timestamps, else its ACK number, both of which a sender never moves back)?
 * 0 when they do not tell. Equal timestamps tell "before" only when this side's clock is
 * known to tick faster than one round trip: then the two left the sender less than a round
 * trip apart, too soon for any retransmission of bytes sent before the opener.
 */
static int sent_order(const struct tcp_anal *t, int h, const struct pkt *p, int64_t rtt)
{
    const struct tcp_loss *l = t->loss;
    if (h < 0 || !l)
        return 0;
    if (l->hole[h].has_ts && p->opts.has_ts) {
        if (seq_lt(p->opts.ts_val, l->hole[h].ts))
            return -1;
        if (seq_gt(p->opts.ts_val, l->hole[h].ts))
            return 1;
        uint32_t ticks = p->opts.ts_val - t->ts_first;
        int64_t span = l->hole[h].opened - t->ts_first_time;
        if (t->ts_first_set && ticks >= 100 && span > 0 && span / ticks < rtt)
            return -1;
        return 0;
    }
    if (l->hole[h].has_ack && (p->flags & TCPF_ACK)) {
        if (seq_lt(p->ack, l->hole[h].ack))
            return -1;
        if (seq_gt(p->ack, l->hole[h].ack))
            return 1;
    }
    return 0;
}

/* [lo, hi) has now been seen: shrink, split or drop the holes it covers. */
static void seen_mark(struct tcp_anal *t, uint32_t lo, uint32_t hi)
{
    if (seq_lt(lo, t->seen_lo) && !seq_lt(hi, t->seen_lo))
        t->seen_lo = lo; /* contiguous with what was seen: the record reaches further down */
    struct tcp_loss *l = t->loss;
    for (int i = 0; l && i < l->nholes; i++) {
        uint32_t hlo = l->hole[i].lo, hhi = l->hole[i].hi;
        if (!seq_lt(lo, hhi) || !seq_gt(hi, hlo))
            continue;
        if (seq_le(lo, hlo) && !seq_lt(hi, hhi)) { /* covered: drop it */
            memmove(&l->hole[i], &l->hole[i + 1], (size_t)(l->nholes - i - 1) * sizeof l->hole[0]);
            l->nholes--;
            i--;
        } else if (seq_le(lo, hlo)) {
            l->hole[i].lo = hi;
        } else if (!seq_lt(hi, hhi)) {
            l->hole[i].hi = lo;
        } else if (l->nholes < TCP_AN_HOLES) { /* in the middle: two holes */
            memmove(&l->hole[i + 2], &l->hole[i + 1],
                    (size_t)(l->nholes - i - 1) * sizeof l->hole[0]);
            l->hole[i + 1] = l->hole[i]; /* the same opener: its time, TSval and ACK */
            l->hole[i + 1].lo = hi;
            l->hole[i].hi = lo;
            l->nholes++;
            i++;
        } /* no room to split: the hole stays whole (unseen is the safe side) */
    }
}

/* Keep the record within SEEN_SPAN below nextseq, so that wrap-safe comparisons hold. */
static void seen_trim(struct tcp_anal *t)
{
    uint32_t floor = t->nextseq - SEEN_SPAN;
    if (seq_lt(t->seen_lo, floor))
        t->seen_lo = floor;
    struct tcp_loss *l = t->loss;
    if (!l)
        return;
    int k = 0;
    for (int i = 0; i < l->nholes; i++) {
        if (seq_le(l->hole[i].hi, floor))
            continue; /* now below seen_lo, which counts it as unseen anyway */
        if (seq_lt(l->hole[i].lo, floor))
            l->hole[i].lo = floor; /* a jump of up to 2^31: keep comparisons within range */
        l->hole[k++] = l->hole[i];
    }
    l->nholes = (uint8_t)k;
}

/*
 * Has the peer (rev) asked for the bytes at seq with its newest ACK, seen at *when: either
 * that ACK was at least its second duplicate ACK of exactly seq, or its SACK blocks show the
 * peer holds bytes above seq but not the byte at seq (a hole it reported, RFC 2018 / RFC
 * 6675). Without a loss record (the peer never sent SACK) its latest ACK is the newest.
 */
static bool peer_asked(const struct tcp_anal *rev, uint32_t seq, int64_t *when)
{
    const struct tcp_loss *l = rev->loss;
    if (!l || !l->ask_set) {
        *when = rev->lastack_time;
        return rev->lastack_set && rev->dupacknum >= 2 && rev->lastack == seq;
    }
    *when = l->ask_time;
    if (l->ask_dup >= 2 && l->ask_ack == seq)
        return true;
    if (l->nsack == 0 || seq_lt(seq, l->ask_ack))
        return false;
    bool above = false;
    for (int i = 0; i < l->nsack; i++) {
        uint32_t lf = l->sack[i].left, rt = l->sack[i].right;
        if (!seq_lt(lf, rt) || seq_le(lf, l->ask_ack))
            continue; /* not a block above the cumulative ACK */
        if (seq_le(lf, seq) && seq_lt(seq, rt))
            return false; /* the peer holds this byte */
        if (seq_lt(seq, lf))
            above = true;
    }
    return above;
}

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
 * duplicate ACK number; tcp_emit_anomalies reports them. The order of the checks and the state
 * updated afterwards follow Wireshark's tcp_analyze_sequence_number, so counts can be compared
 * with tshark, except for a segment below the highest sequence number seen: Wireshark calls it
 * out-of-order when it comes soon after the last new one, whatever its bytes; here resent
 * bytes are a retransmission and only a hole's fill can be out-of-order (man wstap, TCP
 * ANALYSIS).
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
        if (!not_advanced)
            goto finished_rtx;
        /* Below the highest sequence number seen: classified by its bytes. Bytes all seen
         * before are resent (a sender does not reorder its own stream): a retransmission,
         * never out-of-order. Bytes never seen fill a hole: out-of-order when the segment
         * says it was sent before the one that jumped over the hole (sent_order), or, when it
         * does not say, while within one round trip of the moment the hole was jumped over,
         * since no retransmission can arrive sooner; otherwise a retransmission. */
        int64_t rtt = c->irtt_us > 0 ? c->irtt_us : OOO_DEFAULT_US;
        int64_t opened = 0;
        int hole = -1;
        uint32_t end = seq + seglen + (synfin ? 1 : 0);
        bool fills = seen_fills(fwd, seq, end, &hole, &opened);
        if (fwd->loss_failed) {
            fills = true; /* a hole went unrecorded: Wireshark's timing from then on */
            hole = -1;
            opened = fwd->nextseq_time;
        }
        if (fills) {
            int order = sent_order(fwd, hole, p, rtt);
            if (order < 0 || (order == 0 && a->now - opened < rtt)) {
                fl |= BIT(WST_AN_OUT_OF_ORDER);
                goto finished_rtx;
            }
        }
        /* fast: the peer's newest ACK asked for these bytes (duplicate ACKs or SACK) and
         * the resend follows it within a round trip + 20 ms; otherwise a timeout */
        int64_t asked_at = 0;
        if (peer_asked(rev, seq, &asked_at) && a->now - asked_at < rtt + FAST_RTX_WINDOW_US)
            fl |= BIT(WST_AN_FAST_RETRANSMISSION);
        else
            fl |= BIT(WST_AN_RETRANSMISSION);
    }

finished_rtx:;
    uint32_t nextseq = seq + seglen + (synfin ? 1 : 0);
    bool zwp = (fl & BIT(WST_AN_ZERO_WINDOW_PROBE)) != 0;
    if (!zwp) {
        if (!fwd->seen_set) {
            fwd->seen_set = true;
            fwd->seen_lo = seq;
            fwd->seen_lo_time = a->now;
        } else {
            if (seglen > 0 || synfin)
                seen_mark(fwd, seq, nextseq);
            if (fwd->nextseq_set && seq_gt(seq, fwd->nextseq))
                holes_add(a, fwd, fwd->nextseq, seq, p, a->now);
        }
    }
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
    struct tcp_loss *l = fwd->loss;
    if (!l && p->opts.nsack > 0 && (p->flags & TCPF_ACK))
        l = loss_get(a, fwd);
    if (p->opts.has_ts && !fwd->ts_first_set && !zwp) {
        fwd->ts_first_set = true;
        fwd->ts_first = p->opts.ts_val;
        fwd->ts_first_time = a->now;
    }
    if (l && (p->flags & TCPF_ACK) && (!l->ask_set || !seq_lt(ack, l->ask_ack))) {
        l->ask_set = true;
        l->ask_ack = ack;
        l->ask_dup = fwd->dupacknum;
        l->ask_time = a->now;
        l->nsack = 0;
        for (int i = 0; i < p->opts.nsack && i < WST_MAX_SACK; i++) {
            l->sack[i].left = p->opts.sack[i].left;
            l->sack[i].right = p->opts.sack[i].right;
            l->nsack++;
        }
    }
    if (fwd->seen_set && fwd->nextseq_set)
        seen_trim(fwd);
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
