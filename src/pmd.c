/* pmd.c - permessage-deflate / deflate-frame inflation with zlib: capped output, context
 * takeover, and lost-history tracking with two inflaters after a gap (see pmd.h). */
#define ZLIB_CONST
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pmd.h"

#define PMD_MIN_ALLOC 4096

void pmd_buf_init(struct pmd_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->bud = NULL;
}

void pmd_buf_free(struct pmd_buf *b)
{
    struct wst_budget *bud = b->bud;
    free(b->p);
    budget_give(bud, b->cap);
    pmd_buf_init(b, b->max);
    b->bud = bud;
}

size_t pmd_buf_room(struct pmd_buf *b, size_t want)
{
    size_t left = b->max - b->len;
    if (want > left)
        want = left;
    if (b->cap - b->len >= want) {
        size_t room = b->cap - b->len;
        return room < left ? room : left;
    }
    size_t ncap = b->cap ? b->cap : PMD_MIN_ALLOC;
    while (ncap - b->len < want && ncap < b->max)
        ncap = ncap > b->max / 2 ? b->max : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    if (!budget_take(b->bud, ncap - b->cap))
        return 0;
    uint8_t *np = realloc(b->p, ncap);
    if (!np) {
        budget_give(b->bud, ncap - b->cap);
        return 0;
    }
    b->p = np;
    b->cap = ncap;
    return b->cap - b->len;
}

struct pmd {
    z_stream a;      /* the inflater whose output is reported */
    z_stream b;      /* lost mode only: the same input against a 0xff-filled history */
    bool b_ready;    /* b initialised */
    int wbits;       /* inflate window: 9..15 */
    bool takeover;   /* the sender keeps its context between messages */
    bool need_reset; /* history unknown: the next pmd_begin enters lost mode */
    bool lost;       /* running a and b in lockstep */
    bool ended;      /* the DEFLATE stream ended (BFINAL) in the last message */
    bool in_msg;
    bool tainted;       /* the current message produced a byte from unknown history */
    int st;             /* the current message's sticky status */
    uint64_t clean_run; /* correct bytes at the end of the output, in lost mode */
    uint8_t *scratch;   /* PMD_CHUNK bytes (>= window): b's output, filler, window copies */
    struct wst_budget *bud;
};

static void z_budget(z_stream *s, struct wst_budget *bud)
{
    if (bud) {
        s->zalloc = budget_zalloc;
        s->zfree = budget_zfree;
        s->opaque = bud;
    }
}

struct pmd *pmd_new(int window_bits, bool no_context_takeover)
{
    return pmd_new_budget(window_bits, no_context_takeover, NULL);
}

struct pmd *pmd_new_budget(int window_bits, bool no_context_takeover, struct wst_budget *bud)
{
    struct pmd *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->bud = bud;
    z_budget(&z->a, bud);
    if (window_bits == 8)
        window_bits = 9;
    if (window_bits < 9 || window_bits > 15)
        window_bits = 15;
    z->wbits = window_bits;
    z->takeover = !no_context_takeover;
    if (inflateInit2(&z->a, -z->wbits) != Z_OK) {
        free(z);
        return NULL;
    }
    return z;
}

void pmd_free(struct pmd *z)
{
    if (!z)
        return;
    inflateEnd(&z->a);
    if (z->b_ready)
        inflateEnd(&z->b);
    if (z->scratch) {
        free(z->scratch);
        budget_give(z->bud, PMD_CHUNK);
    }
    free(z);
}

static size_t window_size(const struct pmd *z)
{
    return (size_t)1 << z->wbits;
}

static bool ensure_scratch(struct pmd *z)
{
    if (!z->scratch && budget_take(z->bud, PMD_CHUNK)) {
        z->scratch = malloc(PMD_CHUNK);
        if (!z->scratch)
            budget_give(z->bud, PMD_CHUNK);
    }
    return z->scratch != NULL;
}

/* A failure of the current message: sticky, and the context is gone for the next one. */
static int fail(struct pmd *z, int st)
{
    if (z->st == PMD_OK)
        z->st = st;
    if (z->takeover)
        z->need_reset = true;
    return z->st;
}

/* Reset s and preset its window to filler bytes. */
static bool preset(struct pmd *z, z_stream *s, uint8_t filler)
{
    memset(z->scratch, filler, window_size(z));
    return inflateReset(s) == Z_OK &&
           inflateSetDictionary(s, z->scratch, (uInt)window_size(z)) == Z_OK;
}

static bool enter_lost(struct pmd *z)
{
    if (!ensure_scratch(z))
        return false;
    if (!z->b_ready) {
        memset(&z->b, 0, sizeof z->b);
        z_budget(&z->b, z->bud);
        if (inflateInit2(&z->b, -z->wbits) != Z_OK)
            return false;
        z->b_ready = true;
    }
    if (!preset(z, &z->a, 0x00) || !preset(z, &z->b, 0xff))
        return false;
    z->lost = true;
    z->clean_run = 0;
    return true;
}

/* After BFINAL: a new DEFLATE stream that may still copy from the old window. */
static bool restart_keep_window(struct pmd *z, z_stream *s)
{
    uInt n = 0;
    if (!ensure_scratch(z) || inflateGetDictionary(s, z->scratch, &n) != Z_OK)
        return false;
    if (inflateReset(s) != Z_OK)
        return false;
    return n == 0 || inflateSetDictionary(s, z->scratch, n) == Z_OK;
}

void pmd_begin(struct pmd *z)
{
    z->in_msg = true;
    z->st = PMD_OK;
    z->tainted = false;
    bool ok = true;

    if (!z->takeover) {
        ok = inflateReset(&z->a) == Z_OK;
        z->lost = false;
        z->need_reset = false;
    } else if (z->need_reset) {
        ok = enter_lost(z);
        if (ok)
            z->need_reset = false;
    } else if (z->ended) {
        ok = restart_keep_window(z, &z->a);
        if (ok && z->lost)
            ok = restart_keep_window(z, &z->b);
    }
    z->ended = false;
    if (!ok)
        fail(z, PMD_NOMEM);
}

/*
 * One inflate() step of a (and b in lost mode) over the same input, with room bytes of output
 * at dst (room <= PMD_CHUNK in lost mode). Returns a's zlib code, or Z_DATA_ERROR when the two
 * inflaters disagree on the structure (which valid or invalid input cannot cause).
 */
static int step(struct pmd *z, const uint8_t **in, size_t *inlen, uint8_t *dst, size_t room,
                size_t *produced)
{
    uInt ia = *inlen > UINT_MAX ? UINT_MAX : (uInt)*inlen;
    uInt oa = (uInt)room;

    z->a.next_in = *in;
    z->a.avail_in = ia;
    z->a.next_out = dst;
    z->a.avail_out = oa;
    int ra = inflate(&z->a, Z_SYNC_FLUSH);
    size_t used = ia - z->a.avail_in;
    size_t prod = oa - z->a.avail_out;

    if (z->lost) {
        z->b.next_in = *in;
        z->b.avail_in = ia;
        z->b.next_out = z->scratch;
        z->b.avail_out = oa;
        int rb = inflate(&z->b, Z_SYNC_FLUSH);
        if (rb != ra || ia - z->b.avail_in != used || oa - z->b.avail_out != prod) {
            z->tainted = true;
            z->clean_run = 0;
            ra = Z_DATA_ERROR;
        } else {
            size_t k = prod;
            while (k > 0 && dst[k - 1] == z->scratch[k - 1])
                k--;
            if (k > 0) {
                z->tainted = true;
                z->clean_run = prod - k;
            } else {
                z->clean_run += prod;
            }
        }
    }
    *in += used;
    *inlen -= used;
    *produced = prod;
    return ra;
}

static int run(struct pmd *z, const uint8_t *in, size_t inlen, struct pmd_buf *out)
{
    for (;;) {
        uint8_t probe_byte;
        uint8_t *dst;
        bool probe = false;
        /* Ask for room in proportion to the input (small messages keep small buffers); when
         * the output fills it, the next turn asks again and the buffer doubles. */
        size_t want = inlen >= PMD_CHUNK / 4 ? PMD_CHUNK : 4 * inlen + 256;
        size_t room = pmd_buf_room(out, want);

        if (room == 0) {
            if (out->len < out->max)
                return fail(z, PMD_NOMEM);
            /* at the cap: one more byte of output means the message is too big */
            dst = &probe_byte;
            room = 1;
            probe = true;
        } else {
            dst = out->p + out->len;
            if (room > PMD_CHUNK)
                room = PMD_CHUNK;
        }
        size_t prod;
        int r = step(z, &in, &inlen, dst, room, &prod);
        if (probe && prod > 0)
            return fail(z, PMD_TOO_BIG);
        if (!probe)
            out->len += prod;
        if (r == Z_STREAM_END) {
            z->ended = true; /* the rest (the appended 00 00 ff ff) is ignored */
            return PMD_OK;
        }
        if (r == Z_BUF_ERROR) /* no progress possible: everything consumed */
            return PMD_OK;
        if (r != Z_OK)
            return fail(z, r == Z_MEM_ERROR ? PMD_NOMEM : PMD_ERROR);
        if (inlen == 0 && prod < room)
            return PMD_OK; /* input consumed and no output pending */
    }
}

int pmd_feed(struct pmd *z, const uint8_t *in, size_t len, struct pmd_buf *out)
{
    if (z->st != PMD_OK || z->ended || len == 0)
        return z->st;
    return run(z, in, len, out);
}

int pmd_end(struct pmd *z, struct pmd_buf *out)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};

    if (z->st == PMD_OK && !z->ended)
        run(z, tail, sizeof tail, out);
    z->in_msg = false;
    int st = z->st;
    if (st == PMD_OK && z->tainted)
        st = PMD_LOST;
    if (z->lost && z->st == PMD_OK && z->clean_run >= window_size(z))
        z->lost = false; /* the window holds no unknown byte any more */
    return st;
}

int pmd_abort(struct pmd *z)
{
    if (!z->in_msg)
        return PMD_OK;
    z->in_msg = false;
    if (z->takeover)
        z->need_reset = true;
    if (z->st == PMD_OK && z->tainted)
        return PMD_LOST;
    return z->st;
}

void pmd_lose(struct pmd *z)
{
    if (z->takeover)
        z->need_reset = true;
}

int pmd_inflate_msg(struct pmd *z, const uint8_t *in, size_t len, struct pmd_buf *out)
{
    pmd_begin(z);
    pmd_feed(z, in, len, out);
    return pmd_end(z, out);
}

bool pmd_history_lost(const struct pmd *z)
{
    return z->lost;
}
