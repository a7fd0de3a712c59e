/* wsmid.h - recognizing a WebSocket connection picked up without its handshake: each
 * direction's first bytes are held (capped) while chains of frame headers are followed from
 * every position, until the rule in wsmid_decide proves the connection or nothing can. No I/O. */
#ifndef WSTAP_WSMID_H
#define WSTAP_WSMID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "dynbuf.h"

#define WSMID_HOLD_MAX (256u << 10) /* bytes held per direction while undecided (man LIMITS) */
#define WSMID_SEGS 512              /* segments remembered per direction while undecided */
#define WSMID_CANDS 512             /* positions followed at once per direction */
#define WSMID_CHAIN_ANY 8           /* headers in a row that prove a chain from any position */
#define WSMID_CHAIN_SEG 4           /* ... from the first byte of a captured segment */

/* How the connection was proven. */
enum wsmid_rule {
    WSMID_NONE,
    WSMID_BY_CHAIN, /* one direction: WSMID_CHAIN_SEG / WSMID_CHAIN_ANY headers in a row */
    WSMID_BY_BOTH,  /* both directions: 2 headers each from their first captured byte */
    WSMID_BY_END,   /* one direction's stream ended exactly after its frames: 3 or more from a
                       segment start, or any number from its first captured byte */
};

struct wsmid_seg {
    uint64_t frame;
    int64_t ts;
    size_t off; /* of its first byte in the held bytes */
    size_t len;
};

struct wsmid_cand;

struct wsmid_dir {
    struct dynbuf hold;
    const uint8_t *buf; /* = hold.p, hold.len */
    size_t len;
    struct wsmid_seg *seg; /* segcap entries (grown up to WSMID_SEGS) */
    size_t nseg, segcap;
    size_t scanned, scan_seg; /* positions below scanned were walked at least once */
    struct wsmid_cand *cand; /* candcap entries (grown up to WSMID_CANDS) */
    size_t ncand, candcap;
    uint64_t dropped; /* bytes that arrived after the hold was full */
    bool full;        /* the hold (bytes or segments) is full: nothing changes any more */
    bool eof;         /* the direction ended (FIN, RST, end of capture) */
    long accepted;    /* offset of the chain taken for this direction, -1: none yet */
    int headers;      /* plausible headers of that chain (up to WSMID_CHAIN_ANY) */
};

struct wsmid {
    struct wsmid_dir d[2]; /* [0] client (masked frames), [1] server */
    uint64_t max_message;
    struct wst_budget *bud;
    bool proven;
    enum wsmid_rule rule;
    int by_side; /* the direction whose chain proved it (WSMID_BY_CHAIN / WSMID_BY_END) */
};

#define WSMID_MORE 0
#define WSMID_YES 1
#define WSMID_NO (-1)

/* NULL when out of memory or over the budget (everything is charged to bud). */
struct wsmid *wsmid_new(uint64_t max_message, struct wst_budget *bud);
void wsmid_free(struct wsmid *m);
/* The next bytes of side (0 client, 1 server), from the packet frame at ts. Bytes past the
 * hold cap are counted, not kept. */
void wsmid_add(struct wsmid *m, int side, const uint8_t *p, size_t len, uint64_t frame,
               int64_t ts);
/* A hole in side's stream (bytes never captured): what is held is forgotten and recognition
 * starts again with the bytes after it, as at the start of a capture. */
void wsmid_restart(struct wsmid *m, int side);
/* side will send nothing more (or nothing more that can be held). */
void wsmid_end(struct wsmid *m, int side);
/*
 * The rule. A chain is a run of plausible frame headers (wsmsg_chain: opcodes defined, RSV1
 * only on a message's first frame, RSV2/RSV3 clear, client frames masked and server frames
 * not, control frames final and at most 125 bytes, minimal length encodings, continuations
 * only inside a message, uncompressed text starting as UTF-8) that contains a frame other
 * than a continuation. The connection is proven by: a chain of WSMID_CHAIN_ANY headers from
 * any position, or of WSMID_CHAIN_SEG from the first byte of a captured segment (BY_CHAIN);
 * chains of 2 headers in both directions, each from its direction's first captured byte
 * (BY_BOTH); or a direction that ended exactly after a chain of 3 frames starting at a
 * segment, or after the frames of a chain from its first captured byte (BY_END). Once proven, a direction takes its first proving chain, else its first
 * chain of 2 headers from a segment start, else (when it ended) one that ends exactly with
 * it. Returns WSMID_YES once proven (wsmid_accepted then tells each direction's start),
 * WSMID_NO when both directions are finished without proof, else WSMID_MORE.
 */
int wsmid_decide(struct wsmid *m);
/* After WSMID_YES: the offset in side's held bytes where its frames start; -1 while it is
 * still undecided, -2 when it finished without a chain (its held bytes are not frames). */
long wsmid_accepted(const struct wsmid *m, int side);
/* The packet that held byte off of side (0 when none). */
const struct wsmid_seg *wsmid_seg_at(const struct wsmid *m, int side, size_t off);

#endif
