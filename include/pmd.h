/* pmd.h - RFC 7692 permessage-deflate (and deflate-frame) inflation of one direction, with a
 * hard output cap and recovery of the LZ77 context after bytes of the stream were lost. */
#ifndef WSTAP_PMD_H
#define WSTAP_PMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"

/*
 * A growable byte buffer with a hard maximum given at init (never grows past it). It is
 * reused: set len = 0 between messages and the memory stays.
 */
struct pmd_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max;
    struct wst_budget *bud; /* charged for the allocation; NULL (pmd_buf_init): none */
};

void pmd_buf_init(struct pmd_buf *b, size_t max);
void pmd_buf_free(struct pmd_buf *b);
/* Make room for up to want more bytes, growing geometrically; returns the bytes writable at
 * b->p + b->len (it may exceed want, never max - len). 0 when the buffer is at max, or when
 * memory ran out (then len < max). */
size_t pmd_buf_room(struct pmd_buf *b, size_t want);

/* Outcome of a message (or of a deflate-frame frame):
 * TOO_BIG: the output reached the cap; what is in out is correct, the rest was not inflated
 *   (and the context is lost for later messages).
 * LOST: the message copied from history lost in a gap; out holds the right number of bytes
 *   but some of them are unknown: do not report them.
 * ERROR: invalid DEFLATE data. NOMEM: out of memory. */
#define PMD_OK 0
#define PMD_TOO_BIG 1
#define PMD_LOST (-1)
#define PMD_ERROR (-2)
#define PMD_NOMEM (-3)

/* Bytes of output produced per inflate() call; also the lost-mode comparison unit. */
#define PMD_CHUNK 32768

struct pmd;

/*
 * One direction's decompressor. window_bits: the negotiated *_max_window_bits of the sender
 * (server_max_window_bits for server-to-client, client_max_window_bits for client-to-server),
 * -1 when not negotiated (15). 8 is raised to 9: zlib, the usual peer, cannot deflate with a
 * 256-byte window and silently uses 512, and a 9-bit inflater reads 8-bit streams too.
 * The window is what zlib keeps between inflate() calls; zlib checks a distance against it only
 * when the copy reaches past the output of the current call, so a sender that exceeds its
 * negotiated window is caught when the reference crosses a piece boundary and tolerated
 * otherwise (conforming senders decode the same in any chunking).
 * no_context_takeover: the sender's *_no_context_takeover; every message then starts a
 * fresh stream. Returns NULL when out of memory.
 */
struct pmd *pmd_new(int window_bits, bool no_context_takeover);
/* The same, with zlib's and the scratch memory charged to bud (NULL: none). */
struct pmd *pmd_new_budget(int window_bits, bool no_context_takeover, struct wst_budget *bud);
void pmd_free(struct pmd *z);

/*
 * One message (permessage-deflate) or one RSV1 frame (deflate-frame): pmd_begin, any number
 * of pmd_feed calls with the unmasked payload in pieces, then pmd_end, which appends the
 * 00 00 ff ff that senders strip. Output is appended to out, whose max is the message cap.
 * pmd_feed returns PMD_OK, or the first failure of the message (later calls then ignore their
 * input and return it again). pmd_end returns the message's outcome.
 */
void pmd_begin(struct pmd *z);
int pmd_feed(struct pmd *z, const uint8_t *in, size_t len, struct pmd_buf *out);
int pmd_end(struct pmd *z, struct pmd_buf *out);
/* The message ended without its end (a gap, a new message, end of stream). Returns PMD_LOST
 * when what was inflated already depends on lost history, else the message's status. */
int pmd_abort(struct pmd *z);
/* Compressed bytes of this direction were lost or skipped: the history is unknown. */
void pmd_lose(struct pmd *z);
/* begin + feed + end in one call. */
int pmd_inflate_msg(struct pmd *z, const uint8_t *in, size_t len, struct pmd_buf *out);

/* The current message is inflated against an unknown history (lost mode, below): its output
 * may hold unknown bytes until pmd_end says PMD_OK. */
bool pmd_history_lost(const struct pmd *z);

/*
 * Lost context, the exact rule. With context takeover a message may copy strings from up to
 * 2^window_bits bytes of earlier output. When compressed bytes are lost (pmd_lose, pmd_abort,
 * a message stopped at the cap or by invalid data), the next pmd_begin resets the stream and
 * enters lost mode: two inflaters run in lockstep over the same input, one whose window is
 * preset (inflateSetDictionary) to 2^window_bits bytes of 0x00, the other to 0xff. DEFLATE's
 * structure does not depend on the window contents, so both produce the same number of bytes;
 * a byte derived from the unknown history is 0x00 in one and 0xff in the other, any other byte
 * is the same in both and correct. So:
 *   - a message whose outputs are identical is reported normally (PMD_OK): it used no lost data;
 *   - otherwise pmd_end returns PMD_LOST (report lost_context, no payload); its length is exact;
 *   - lost mode ends (the second inflater is idle again) at the end of a message once the last
 *     2^window_bits output bytes are all correct: the window then holds no unknown byte.
 * This recovers messages that copy only from correctly inflated output since the gap (which is
 * the "keep the last 32 KiB of good output" idea, without ever presenting a pre-gap window at
 * the wrong distance, which would yield garbage instead of an error). zlib's own "invalid
 * distance too far back" (Z_DATA_ERROR) can only fire for distances beyond the window, and is
 * reported as PMD_ERROR. A stream that ended with BFINAL keeps its window into the next message.
 */

#endif
