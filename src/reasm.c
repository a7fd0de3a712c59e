/* reasm.c - one direction's TCP byte stream: first copy wins, explicit gaps, capped memory. */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#define RET_MIN 4096u /* first retention buffer; grows by doubling to ret_max_conn */

struct reasm_seg {
    struct reasm_seg *next;
    uint64_t off;
    uint64_t frame;
    uint32_t len; /* bytes of sequence space */
    uint32_t cap; /* of which the first cap were captured and are held in data */
    uint8_t data[];
};

void reasm_init(struct reasm *r)
{
    memset(r, 0, sizeof *r);
}

void reasm_set_base(struct reasm *r, uint32_t seq)
{
    r->base = seq;
    r->base_set = true;
}

int64_t reasm_offset(const struct reasm *r, uint32_t seq)
{
    uint32_t here = r->base + (uint32_t)r->next;
    return (int64_t)r->next + (int32_t)(seq - here);
}

static void seg_free(struct reasm *r, struct reasm_pool *pool, struct reasm_seg *s)
{
    r->qbytes -= s->cap;
    r->qsegs--;
    pool->ooo_bytes -= s->cap;
    free(s);
}

void reasm_free(struct reasm *r, struct reasm_pool *pool)
{
    while (r->q) {
        struct reasm_seg *s = r->q;
        r->q = s->next;
        seg_free(r, pool, s);
    }
    if (r->ret) {
        pool->ret_bytes -= r->ret_cap;
        free(r->ret);
        r->ret = NULL;
        r->ret_cap = 0;
    }
}

/* ---- retention of delivered, unacknowledged bytes ---- */

static bool ret_grow(struct reasm *r, struct reasm_pool *pool, uint64_t want)
{
    uint32_t ncap = r->ret_cap ? r->ret_cap : RET_MIN;
    while (ncap < want && ncap < pool->ret_max_conn)
        ncap <<= 1;
    if (ncap > pool->ret_max_conn)
        ncap = pool->ret_max_conn;
    if (ncap <= r->ret_cap || pool->ret_bytes + (ncap - r->ret_cap) > pool->ret_max)
        return r->ret_cap != 0;
    uint8_t *nb = malloc(ncap);
    if (!nb)
        return r->ret_cap != 0;
    /* move the valid range [ret_off, next) to its place in the larger ring, in at most
     * three pieces (where either ring wraps) */
    for (uint64_t o = r->ret_off; o < r->next;) {
        uint64_t so = o & (r->ret_cap - 1), no = o & (ncap - 1);
        uint64_t k = r->next - o;
        if (k > r->ret_cap - so)
            k = r->ret_cap - so;
        if (k > ncap - no)
            k = ncap - no;
        memcpy(nb + no, r->ret + so, (size_t)k);
        o += k;
    }
    free(r->ret);
    pool->ret_bytes += ncap - r->ret_cap;
    r->ret = nb;
    r->ret_cap = ncap;
    return true;
}

/* Called before r->next advances over n delivered bytes at p. */
static void ret_append(struct reasm *r, struct reasm_pool *pool, const uint8_t *p, uint32_t n)
{
    if (pool->ret_max_conn == 0)
        return;
    uint64_t want = r->next + n - r->ret_off;
    if (want > r->ret_cap)
        ret_grow(r, pool, want);
    if (!r->ret_cap) {
        r->ret_off = r->next + n;
        return;
    }
    uint32_t mask = r->ret_cap - 1;
    uint32_t skip = n > r->ret_cap ? n - r->ret_cap : 0;
    /* the last (at most ret_cap) bytes into the ring: two memcpy where it wraps */
    uint32_t at = (uint32_t)((r->next + skip) & mask), k = n - skip;
    uint32_t first = k < r->ret_cap - at ? k : r->ret_cap - at;
    memcpy(r->ret + at, p + skip, first);
    memcpy(r->ret, p + skip + first, k - first);
    if (r->next + n - r->ret_off > r->ret_cap)
        r->ret_off = r->next + n - r->ret_cap;
}

/* Compare bytes at [off, off+n) that were delivered before; returns REASM_MISMATCH if a held
 * byte differs. Bytes no longer held are not compared. */
static unsigned ret_compare(const struct reasm *r, uint64_t off, const uint8_t *p, uint32_t n)
{
    if (!r->ret_cap)
        return 0;
    uint64_t lo = off > r->ret_off ? off : r->ret_off;
    uint64_t hi = off + n < r->next ? off + n : r->next;
    uint32_t mask = r->ret_cap - 1;
    for (uint64_t o = lo; o < hi; o++)
        if (r->ret[o & mask] != p[o - off])
            return REASM_MISMATCH;
    return 0;
}

/* ---- delivery ---- */

/* In-order bytes: cap captured bytes, then len - cap never captured (a gap). */
static void deliver(struct reasm *r, struct reasm_pool *pool, const uint8_t *p, uint32_t len,
                    uint32_t cap, uint64_t frame, const struct reasm_out *out)
{
    if (cap > 0) {
        out->data(out->ctx, r->next, p, cap, frame);
        ret_append(r, pool, p, cap);
        r->next += cap;
    }
    if (len > cap) {
        out->gap(out->ctx, r->next, len - cap);
        r->next += len - cap;
        r->ret_off = r->next; /* the ring cannot hold a hole */
    }
}

static void gap_to(struct reasm *r, uint64_t to, const struct reasm_out *out)
{
    if (to <= r->next)
        return;
    out->gap(out->ctx, r->next, to - r->next);
    r->next = to;
    r->ret_off = r->next;
}

/* Deliver queued segments that are now in order. */
static void drain(struct reasm *r, struct reasm_pool *pool, const struct reasm_out *out)
{
    while (r->q && r->q->off <= r->next) {
        struct reasm_seg *s = r->q;
        r->q = s->next;
        if (s->off + s->len > r->next) { /* deliver what is not behind r->next already */
            uint64_t skip = r->next - s->off;
            uint32_t cap = skip < s->cap ? s->cap - (uint32_t)skip : 0;
            deliver(r, pool, s->data + (skip < s->cap ? skip : s->cap), (uint32_t)(s->len - skip),
                    cap, s->frame, out);
        }
        seg_free(r, pool, s);
    }
}

/* Make room by skipping ahead to the first queued segment: the hole becomes a gap. */
static bool force_progress(struct reasm *r, struct reasm_pool *pool, const struct reasm_out *out)
{
    if (!r->q)
        return false;
    gap_to(r, r->q->off, out);
    drain(r, pool, out);
    return true;
}

/* Compare [a, b) of the new segment (captured up to ncap_end) with queued segment s. */
static unsigned q_compare(const struct reasm_seg *s, uint64_t a, uint64_t b, uint64_t off,
                          const uint8_t *p, uint64_t ncap_end)
{
    uint64_t hi = b;
    if (hi > ncap_end)
        hi = ncap_end;
    if (hi > s->off + s->cap)
        hi = s->off + s->cap;
    for (uint64_t o = a; o < hi; o++)
        if (s->data[o - s->off] != p[o - off])
            return REASM_MISMATCH;
    return 0;
}

static struct reasm_seg *seg_new(uint64_t a, uint64_t b, uint64_t off, const uint8_t *p,
                                 uint64_t ncap_end, uint64_t frame)
{
    uint64_t cend = ncap_end < b ? ncap_end : b;
    uint32_t cap = cend > a ? (uint32_t)(cend - a) : 0;
    struct reasm_seg *s = malloc(sizeof *s + cap);
    if (!s)
        return NULL;
    s->off = a;
    s->len = (uint32_t)(b - a);
    s->cap = cap;
    s->frame = frame;
    if (cap)
        memcpy(s->data, p + (a - off), cap);
    return s;
}

/* Insert the parts of [off, off+len) not already queued; compare the parts that are. */
static unsigned q_insert(struct reasm *r, struct reasm_pool *pool, uint64_t off,
                         const uint8_t *p, uint32_t len, uint32_t cap, uint64_t frame)
{
    unsigned flags = 0;
    uint64_t cur = off, end = off + len, ncap_end = off + cap;
    struct reasm_seg **pp = &r->q;

    while (cur < end) {
        while (*pp && (*pp)->off + (*pp)->len <= cur)
            pp = &(*pp)->next;
        struct reasm_seg *s = *pp;
        uint64_t piece_end = (!s || s->off >= end) ? end : (s->off > cur ? s->off : cur);
        if (piece_end > cur) {
            struct reasm_seg *n = seg_new(cur, piece_end, off, p, ncap_end, frame);
            if (!n)
                return flags | REASM_LIMIT;
            n->next = s;
            *pp = n;
            pp = &n->next;
            r->qbytes += n->cap;
            r->qsegs++;
            pool->ooo_bytes += n->cap;
            cur = piece_end;
            continue;
        }
        /* s covers cur: the queued bytes are the first copy */
        uint64_t ov_end = s->off + s->len < end ? s->off + s->len : end;
        flags |= REASM_OLD | q_compare(s, cur, ov_end, off, p, ncap_end);
        cur = ov_end;
    }
    return flags;
}

unsigned reasm_add(struct reasm *r, struct reasm_pool *pool, int64_t soff, const uint8_t *p,
                   uint32_t len, uint32_t cap, uint64_t frame, const struct reasm_out *out)
{
    unsigned flags = 0;

    if (r->done || len == 0)
        return 0;
    if (cap > len)
        cap = len;
    if (soff < 0) { /* starts before the stream's first byte (midstream pick-up) */
        uint64_t cut = (uint64_t)-soff;
        if (cut >= len)
            return REASM_OLD;
        p += cut < cap ? cut : cap;
        cap = cut < cap ? cap - (uint32_t)cut : 0;
        len -= (uint32_t)cut;
        soff = 0;
        flags |= REASM_OLD;
    }
    uint64_t off = (uint64_t)soff;
    if (off < r->next) { /* some or all of it was delivered already */
        uint64_t old = r->next - off;
        uint32_t cmp = old < cap ? (uint32_t)old : cap;
        flags |= REASM_OLD | ret_compare(r, off, p, cmp);
        if (old >= len)
            return flags;
        p += old < cap ? old : cap;
        cap = old < cap ? cap - (uint32_t)old : 0;
        len -= (uint32_t)old;
        off = r->next;
    }
    uint64_t end = off + len;
    if (off == r->next && (!r->q || r->q->off >= end)) {
        deliver(r, pool, p, len, cap, frame, out); /* the common case: no copy */
        drain(r, pool, out);
        return flags;
    }
    /* Out of order (or overlapping queued data): copy it into the queue, within the caps. */
    while (r->qbytes + cap > pool->ooo_max_conn || pool->ooo_bytes + cap > pool->ooo_max) {
        flags |= REASM_LIMIT;
        if (!force_progress(r, pool, out))
            return flags; /* nothing queued here to give up: drop it (a gap later) */
        if (r->next >= end)
            return flags | REASM_OLD;
        if (off < r->next)
            return flags | reasm_add(r, pool, (int64_t)off, p, len, cap, frame, out);
    }
    flags |= q_insert(r, pool, off, p, len, cap, frame);
    if (off > r->next)
        flags |= REASM_QUEUED;
    drain(r, pool, out);
    return flags;
}

void reasm_ack(struct reasm *r, struct reasm_pool *pool, int64_t ack, const struct reasm_out *out)
{
    if (r->done || ack <= 0)
        return;
    uint64_t a = (uint64_t)ack;
    if (r->fin_set && a > r->fin_off)
        a = r->fin_off; /* the FIN's own sequence number carries no data */
    /* Acknowledged bytes stay retained (newest first out of the ring): an injected copy
     * and the real one often arrive after the first was acknowledged. */
    while (a > r->next) {
        uint64_t to = r->q && r->q->off < a ? r->q->off : a;
        gap_to(r, to, out);
        drain(r, pool, out);
    }
}

void reasm_fin(struct reasm *r, int64_t fin_off)
{
    if (fin_off < 0 || r->fin_set)
        return;
    r->fin_set = true;
    r->fin_off = (uint64_t)fin_off;
}

void reasm_flush(struct reasm *r, struct reasm_pool *pool, const struct reasm_out *out)
{
    if (r->done)
        return;
    while (r->q) {
        gap_to(r, r->q->off, out);
        drain(r, pool, out);
    }
    if (r->fin_set)
        gap_to(r, r->fin_off, out);
    r->done = true;
    reasm_free(r, pool);
}
