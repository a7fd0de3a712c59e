/* reasm.h - one direction's TCP byte stream: in-order delivery, out-of-order queue,
 * overlap checking against the first copy, explicit gaps, bounded memory. */
#ifndef WSTAP_REASM_H
#define WSTAP_REASM_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Policy (documented in the man page): the first copy of a byte wins. Bytes that arrive
 * again (retransmissions, overlaps) are compared with the first copy while it is still
 * held: queued out-of-order data always, delivered data while it is among the newest
 * bytes of the stream that the retention cap keeps. A difference is reported (REASM_MISMATCH); the first copy is
 * what the upper layers saw. Bytes that never appeared are delivered as a gap once the
 * receiver acknowledged past them, a cap forces progress, or the connection ends.
 */

struct reasm_seg;

/* Where delivered bytes go: each data call is one segment's bytes (one frame). */
struct reasm_out {
    void (*data)(void *ctx, uint64_t off, const uint8_t *p, uint32_t len, uint64_t frame);
    void (*gap)(void *ctx, uint64_t off, uint64_t len);
    void *ctx;
};

/* Shared accounting and caps for every stream of one analyzer. */
struct reasm_pool {
    uint64_t ooo_bytes;     /* queued out-of-order bytes, all streams */
    uint64_t ooo_max;       /* global cap */
    uint32_t ooo_max_conn;  /* per-direction cap */
    uint64_t ret_bytes;     /* retention buffers allocated, all streams */
    uint64_t ret_max;       /* global cap on retention */
    uint32_t ret_max_conn;  /* per-direction cap on retention (power of two) */
};

struct reasm {
    bool base_set;
    uint32_t base;  /* absolute sequence number of stream offset 0 */
    uint64_t next;  /* next offset to deliver */
    struct reasm_seg *q; /* out-of-order queue: sorted by offset, no overlaps */
    uint32_t qbytes;
    uint32_t qsegs;
    /* ring of the newest delivered bytes [ret_off, next) */
    uint8_t *ret;
    uint32_t ret_cap;
    uint64_t ret_off;
    bool fin_set;
    uint64_t fin_off; /* offset of the FIN's sequence number */
    bool done;        /* flushed at the end: nothing more is delivered */
};

/* Outcome bits of reasm_add. */
#define REASM_MISMATCH 0x1 /* some overlapping bytes differ from the first copy */
#define REASM_OLD 0x2      /* some bytes were already delivered or queued */
#define REASM_QUEUED 0x4   /* held out of order */
#define REASM_LIMIT 0x8    /* a cap forced a gap or dropped bytes */

void reasm_init(struct reasm *r);
void reasm_free(struct reasm *r, struct reasm_pool *pool);
/* Fix offset 0 at absolute sequence number seq (ISN + 1, or the first seen midstream). */
void reasm_set_base(struct reasm *r, uint32_t seq);
/* The 64-bit stream offset of an absolute sequence number (nearest to the stream's point). */
int64_t reasm_offset(const struct reasm *r, uint32_t seq);
/* A segment: len bytes on the wire at offset off, of which the first cap are in p. */
unsigned reasm_add(struct reasm *r, struct reasm_pool *pool, int64_t off, const uint8_t *p,
                   uint32_t len, uint32_t cap, uint64_t frame, const struct reasm_out *out);
/* The receiver acknowledged everything below offset ack: declare any hole below it a gap. */
void reasm_ack(struct reasm *r, struct reasm_pool *pool, int64_t ack, const struct reasm_out *out);
void reasm_fin(struct reasm *r, int64_t fin_off);
/* End of the connection: deliver everything queued, with the gaps between. */
void reasm_flush(struct reasm *r, struct reasm_pool *pool, const struct reasm_out *out);

#endif
