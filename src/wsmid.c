/* wsmid.c - recognizing a WebSocket connection picked up without its handshake (see wsmid.h):
 * held bytes per direction, every position followed as the start of a chain of frames, and
 * the rule that proves the connection. */
#include "wsmid.h"

#include <stdlib.h>
#include <string.h>

#include "wsmsg.h"

struct wsmid_cand {
    size_t off;
    size_t need; /* the walk can go on once the held bytes reach this; 0: final */
    int headers;
    bool seg;   /* off is the first byte of a captured segment */
    bool exact; /* the held bytes end right after one of its frames */
    bool data;  /* a frame other than a continuation is among its headers */
};

/* Grow an array of elem-byte entries (8, 16, ... up to max), charged to bud; false when it
 * is at max already or memory (or the budget) refuses. */
static bool grow(struct wst_budget *bud, void **arr, size_t *cap, size_t elem, size_t max)
{
    if (*cap >= max)
        return false;
    size_t ncap = *cap ? *cap * 2 : 8;
    if (ncap > max)
        ncap = max;
    if (!budget_take(bud, (ncap - *cap) * elem))
        return false;
    void *np = realloc(*arr, ncap * elem);
    if (!np) {
        budget_give(bud, (ncap - *cap) * elem);
        return false;
    }
    *arr = np;
    *cap = ncap;
    return true;
}

struct wsmid *wsmid_new(uint64_t max_message, struct wst_budget *bud)
{
    if (!budget_take(bud, sizeof(struct wsmid)))
        return NULL;
    struct wsmid *m = calloc(1, sizeof *m);
    if (!m) {
        budget_give(bud, sizeof(struct wsmid));
        return NULL;
    }
    m->bud = bud;
    m->max_message = max_message;
    for (int s = 0; s < 2; s++) {
        struct wsmid_dir *d = &m->d[s];
        d->accepted = -1;
        dynbuf_init(&d->hold, WSMID_HOLD_MAX);
        d->hold.bud = bud;
    }
    return m;
}

void wsmid_free(struct wsmid *m)
{
    if (!m)
        return;
    for (int s = 0; s < 2; s++) {
        struct wsmid_dir *d = &m->d[s];
        dynbuf_free(&d->hold);
        free(d->seg);
        free(d->cand);
        budget_give(m->bud, d->segcap * sizeof *d->seg + d->candcap * sizeof *d->cand);
    }
    budget_give(m->bud, sizeof *m);
    free(m);
}

/* Walk the chain at c->off over what is held; false when it is rejected. */
static bool walk(const struct wsmid *m, const struct wsmid_dir *d, int side,
                 struct wsmid_cand *c)
{
    struct wsmsg_chain ch;
    wsmsg_chain(d->buf + c->off, d->len - c->off, side == 0 ? WST_DIR_C2S : WST_DIR_S2C,
                m->max_message, WSMID_CHAIN_ANY, &ch);
    if (ch.rejected)
        return false;
    c->headers = ch.headers;
    c->exact = ch.exact_end;
    c->data = ch.data_start;
    c->need = ch.headers >= WSMID_CHAIN_ANY ? 0 : c->off + ch.need;
    return true;
}

/* Follow the new bytes of side: pending chains go on, new positions start. */
static void update(struct wsmid *m, int side)
{
    struct wsmid_dir *d = &m->d[side];
    size_t k = 0;

    for (size_t i = 0; i < d->ncand; i++) {
        struct wsmid_cand c = d->cand[i];
        if (c.need && c.need <= d->len && !walk(m, d, side, &c))
            continue;
        d->cand[k++] = c;
    }
    d->ncand = k;
    for (; d->scanned < d->len; d->scanned++) {
        while (d->scan_seg < d->nseg && d->seg[d->scan_seg].off < d->scanned)
            d->scan_seg++;
        struct wsmid_cand c = {.off = d->scanned};
        c.seg = d->scan_seg < d->nseg && d->seg[d->scan_seg].off == d->scanned;
        if (!walk(m, d, side, &c))
            continue;
        if (d->ncand < d->candcap ||
            grow(m->bud, (void **)&d->cand, &d->candcap, sizeof *d->cand, WSMID_CANDS))
            d->cand[d->ncand++] = c; /* (when full, later positions go unfollowed) */
    }
}

void wsmid_add(struct wsmid *m, int side, const uint8_t *p, size_t len, uint64_t frame,
               int64_t ts)
{
    struct wsmid_dir *d = &m->d[side];
    if (len == 0)
        return;
    if (d->full || d->eof ||
        (d->nseg == d->segcap &&
         !grow(m->bud, (void **)&d->seg, &d->segcap, sizeof *d->seg, WSMID_SEGS)) ||
        dynbuf_add(&d->hold, p, len) < 0) {
        d->full = true;
        d->dropped += len;
        return;
    }
    d->seg[d->nseg].frame = frame;
    d->seg[d->nseg].ts = ts;
    d->seg[d->nseg].off = d->len;
    d->seg[d->nseg].len = len;
    d->nseg++;
    d->buf = d->hold.p;
    d->len = d->hold.len;
    update(m, side);
}

void wsmid_restart(struct wsmid *m, int side)
{
    struct wsmid_dir *d = &m->d[side];
    dynbuf_reset(&d->hold);
    d->buf = d->hold.p;
    d->len = 0;
    d->nseg = d->scanned = d->scan_seg = d->ncand = 0;
    d->dropped = 0;
    d->full = false;
}

void wsmid_end(struct wsmid *m, int side)
{
    m->d[side].eof = true;
}

static bool finished(const struct wsmid_dir *d)
{
    return d->full || d->eof;
}

static bool proves_alone(const struct wsmid_cand *c)
{
    return c->data && (c->headers >= WSMID_CHAIN_ANY || (c->seg && c->headers >= WSMID_CHAIN_SEG));
}

static bool proves_at_end(const struct wsmid_dir *d, const struct wsmid_cand *c)
{
    if (!d->eof || d->full || !c->data || !c->exact)
        return false;
    return (c->seg && c->headers >= 3) || c->off == 0;
}

/* Once proven: a chain good enough for a direction of a WebSocket connection. */
static bool will_do(const struct wsmid_dir *d, const struct wsmid_cand *c)
{
    if (proves_alone(c))
        return true;
    if (!c->data || !c->seg)
        return false;
    return c->headers >= 2 || (d->eof && !d->full && c->exact && c->headers >= 1);
}

static const struct wsmid_cand *first_at0(const struct wsmid_dir *d)
{
    return d->ncand > 0 && d->cand[0].off == 0 ? &d->cand[0] : NULL;
}

static void accept(struct wsmid_dir *d, const struct wsmid_cand *c)
{
    d->accepted = (long)c->off;
    d->headers = c->headers;
}

int wsmid_decide(struct wsmid *m)
{
    if (!m->proven) {
        for (int s = 0; s < 2 && !m->proven; s++) {
            struct wsmid_dir *d = &m->d[s];
            for (size_t i = 0; i < d->ncand; i++) {
                if (proves_alone(&d->cand[i]) || proves_at_end(d, &d->cand[i])) {
                    accept(d, &d->cand[i]);
                    m->proven = true;
                    m->rule = proves_alone(&d->cand[i]) ? WSMID_BY_CHAIN : WSMID_BY_END;
                    m->by_side = s;
                    break;
                }
            }
        }
        if (!m->proven) {
            const struct wsmid_cand *c0 = first_at0(&m->d[0]), *c1 = first_at0(&m->d[1]);
            if (c0 && c1 && c0->data && c1->data && c0->headers >= 2 && c1->headers >= 2) {
                accept(&m->d[0], c0);
                accept(&m->d[1], c1);
                m->proven = true;
                m->rule = WSMID_BY_BOTH;
            }
        }
        if (!m->proven)
            return finished(&m->d[0]) && finished(&m->d[1]) ? WSMID_NO : WSMID_MORE;
    }
    for (int s = 0; s < 2; s++) {
        struct wsmid_dir *d = &m->d[s];
        if (d->accepted != -1)
            continue;
        for (size_t i = 0; i < d->ncand; i++) {
            if (will_do(d, &d->cand[i])) {
                accept(d, &d->cand[i]);
                break;
            }
        }
        if (d->accepted == -1 && finished(d))
            d->accepted = -2;
    }
    return WSMID_YES;
}

long wsmid_accepted(const struct wsmid *m, int side)
{
    return m->d[side].accepted;
}

const struct wsmid_seg *wsmid_seg_at(const struct wsmid *m, int side, size_t off)
{
    const struct wsmid_dir *d = &m->d[side];
    size_t lo = 0, hi = d->nseg;
    while (lo < hi) { /* the last segment starting at or before off */
        size_t mid = lo + (hi - lo) / 2;
        if (d->seg[mid].off <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 ? &d->seg[lo - 1] : NULL;
}
