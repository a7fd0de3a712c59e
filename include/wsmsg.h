/* wsmsg.h - one direction of a WebSocket connection: frames to messages and control frames,
 * RFC 6455 checks, permessage-deflate / deflate-frame, gaps and resynchronization. No I/O. */
#ifndef WSTAP_WSMSG_H
#define WSTAP_WSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "pmd.h"
#include "wsframe.h"
#include "wstap/wstap.h"

#define WSMSG_DEFAULT_MAX_MESSAGE (16u << 20) /* EVENTS --max-message */
#define WSMSG_DEFAULT_RESYNC_WINDOW (64u << 10)

/* Error kinds (wsmsg_error.ev.kind); the first ones are EVENTS.md's ws.error kinds. */
#define WSMSG_E_UNMASKED "unmasked_client_frame"
#define WSMSG_E_MASKED "masked_server_frame"
#define WSMSG_E_BAD_RSV "bad_rsv"
#define WSMSG_E_BAD_OPCODE "bad_opcode"
#define WSMSG_E_CTRL_LONG "control_too_long"
#define WSMSG_E_CTRL_FRAG "fragmented_control"
#define WSMSG_E_INVALID_UTF8 "invalid_utf8"
#define WSMSG_E_BAD_CLOSE_CODE "bad_close_code"
#define WSMSG_E_INFLATE "inflate_error"
#define WSMSG_E_LOST_CONTEXT "lost_context"
#define WSMSG_E_TOO_BIG "message_too_big"
#define WSMSG_E_CONT_NO_START "continuation_without_start"
#define WSMSG_E_NEW_IN_FRAG "new_message_in_fragmented"
#define WSMSG_E_AFTER_CLOSE "data_after_close"
#define WSMSG_E_BAD_LENGTH "bad_length" /* 64-bit length with the top bit set (then resync) */
#define WSMSG_E_RESYNC "resync"         /* bytes skipped to find a frame header (count) */

struct wsmsg_config {
    enum wst_dir dir;          /* WST_DIR_C2S: frames must be masked; WST_DIR_S2C: must not */
    enum wst_compression comp; /* negotiated extension */
    struct wst_pmd_params pmd; /* its parameters; the sender's side is used (server_* for s2c,
                                  client_* for c2s), for deflate-frame too */
    uint64_t max_message;      /* decoded bytes kept per message; 0: WSMSG_DEFAULT_MAX_MESSAGE */
    uint32_t resync_window;    /* bytes looked ahead for a frame header; 0: the default */
    uint64_t base_off;         /* stream offset of the first byte fed (offsets below use it) */
    struct wst_budget *budget; /* all buffers and the inflater are charged here; NULL: none */
};

/* A frame header, delivered as soon as it is decoded (before its payload). */
struct wsmsg_frame {
    struct wst_ev_ws_frame ev; /* fin, masked, rsv, opcode, len */
    uint64_t start;            /* stream offset of the header's first byte */
    uint8_t hdr_len;
    unsigned flags; /* WSF_F_*: WSF_F_NONMINIMAL is only flagged here, never an error */
};

/* wsmsg_message.flags:
 * PARTIAL: ended without its FIN frame (a gap, a new message started in the middle, the end of
 *   the stream); data is what arrived.
 * TRUNCATED: the decoded bytes passed max_message; data is the first max_message bytes
 *   (message_too_big was reported).
 * NODATA: no trustworthy bytes (lost_context or inflate_error was reported); data is empty,
 *   ev.len may still be known. */
#define WSMSG_M_PARTIAL 0x1
#define WSMSG_M_TRUNCATED 0x2
#define WSMSG_M_NODATA 0x4

/*
 * A data message. ev.len is the decoded length: for uncompressed messages every payload byte
 * (also past the cap), for compressed ones the bytes inflated (at most the cap; exact also for
 * lost_context). ev.data holds the kept bytes (valid during the callback only). ev.utf8_valid:
 * text messages whose kept bytes are valid UTF-8 (a character cut by a partial or truncated
 * end does not count against it); always false for binary messages.
 */
struct wsmsg_message {
    struct wst_ev_ws_message ev;
    uint64_t start; /* stream offset of the first fragment's header */
    uint64_t end;   /* stream offset just past the last byte that belongs to it */
    unsigned flags; /* WSMSG_M_* */
};

/*
 * A control frame, delivered when its payload is complete. ev.code is -1 without a status
 * code; ev.reason the bytes after it. ev.data holds at most 125 bytes (the rest of an
 * oversized frame is skipped: truncated). A control frame cut by a gap is not delivered.
 */
struct wsmsg_control {
    struct wst_ev_ws_control ev;
    uint64_t start;
    bool code_valid;   /* close: absent, or allowed on the wire (RFC 6455 7.4) */
    bool reason_valid; /* close: the reason is valid UTF-8 */
    bool truncated;
};

struct wsmsg_error {
    struct wst_ev_ws_error ev; /* kind (WSMSG_E_*), detail: one sentence, valid during the call */
    uint64_t off;              /* stream offset it concerns (a frame's start, a resync point) */
    uint64_t count;            /* resync: bytes skipped; 0 otherwise */
};

/*
 * Callbacks, any of them NULL. Order: for each frame, frame() when its header is decoded, then
 * the errors its header shows; errors found in the payload as they are found (invalid_utf8 at
 * the first bad byte, message_too_big at the cap); at the end of a control frame its close-code
 * and reason errors, then control(); at the end of a message lost_context / inflate_error /
 * invalid_utf8 (if only then known), then message(). Callbacks must not call back into the
 * same wsmsg.
 */
struct wsmsg_cbs {
    void (*frame)(void *user, const struct wsmsg_frame *f);
    void (*message)(void *user, const struct wsmsg_message *m);
    void (*control)(void *user, const struct wsmsg_control *c);
    void (*error)(void *user, const struct wsmsg_error *e);
    void *user;
};

enum wsmsg_mode { WSMSG_NORMAL, WSMSG_RESYNC, WSMSG_DONE };

/* Everything below is private; the struct is public so that it can be embedded. */
struct wsmsg {
    struct wsmsg_config cfg;
    struct wsmsg_cbs cb;
    struct wsf_dec dec;
    enum wsmsg_mode mode;
    uint64_t pos;       /* stream offset of the next byte to decode or scan */
    uint64_t hdr_start; /* stream offset of the current frame's header */
    int fkind;          /* what the current frame's payload is for */
    bool frame_z;       /* deflate-frame: the current frame is being inflated */
    int verify_left;    /* headers still to check for plausibility (after a gap/resync) */
    bool orphan;        /* continuation frames of a message whose start was lost */
    bool close_seen;
    /* the message being assembled */
    bool in_msg;
    uint8_t opcode;
    bool compressed;
    uint32_t fragments;
    uint64_t wire_len;
    uint64_t len;
    uint64_t start, end;
    bool too_big, z_lost, z_err, u8_reported, u8_defer;
    uint8_t u8; /* UTF-8 DFA state */
    struct pmd_buf buf;
    /* the control frame being assembled */
    uint8_t ctrl[125];
    size_t ctrl_len;
    /* compression */
    struct pmd *z;
    uint8_t *scratch; /* masked compressed payload is unmasked here before inflating */
    /* resynchronization */
    uint8_t *rb; /* buffered bytes [rb_pos, rb_len) are at stream offset pos */
    size_t rb_cap, rb_len, rb_pos;
    size_t rs_need; /* bytes from rb_pos the scanner waits for */
    uint64_t skipped;
    uint8_t pb[WSF_MAX_HDR]; /* header bytes to scan again after a rejected header */
    size_t pb_len;
    char detail[256];
    /* totals */
    uint64_t n_frames, n_messages, n_controls, n_errors, n_skipped;
};

/* 0, or -1 when out of memory. cbs is copied. */
int wsmsg_init(struct wsmsg *m, const struct wsmsg_config *cfg, const struct wsmsg_cbs *cbs);
void wsmsg_free(struct wsmsg *m);

/*
 * The next len bytes of the direction's stream, in any chunking (the same bytes in different
 * chunks give the same callbacks). Everything is consumed (the return value is len): what the
 * decoder still needs is kept inside, bounded by resync_window. Pointers into p are not kept.
 */
size_t wsmsg_feed(struct wsmsg *m, const uint8_t *p, size_t len);

/*
 * n bytes of the stream were never captured.
 *
 * Inside the payload of the current frame (the gap ends before the frame does, or with it),
 * framing survives: the frame's message is reported partial (WSMSG_M_PARTIAL, the bytes before
 * the gap), its remaining bytes and fragments are skipped, and the header expected after it is
 * checked for plausibility; when it fails, resync starts from its second byte.
 *
 * Otherwise the current frame and message end (a partial message is reported) and the decoder
 * resynchronizes. A header is plausible when its opcode is defined, RSV1 is set only where the
 * negotiated extension allows it and RSV2/RSV3 never, the mask bit is right for the direction,
 * a control frame is final and at most 125 bytes, the length is minimally encoded, a data frame
 * is at most max_message long and not an empty non-final fragment, a continuation comes only
 * inside a message and a new message only outside one, and an uncompressed text frame's
 * payload starts as valid UTF-8 (first 256 bytes). Each buffered position is tried in turn as
 * the start of a chain of frames, each header plausible after the one before. A position is
 * taken when 4 headers in a row check out; when the data ends (the next gap, or the end of the
 * stream) exactly at the end of one of its frames, or after at least 2 checked headers; when
 * the chain reaches the end of the resync_window with at least 2 checked headers; or when its
 * own frame is longer than the window (taken on its own). Otherwise the byte is skipped. The
 * decision depends only on the bytes (never on the chunking). The first 8 headers after a
 * resync are still checked, and an implausible one restarts the resync from its second byte.
 * Skipped bytes are reported once, as a "resync" error with their count, when a frame is found
 * (or at the end of the stream). Continuation frames right after a resync belong to a message
 * whose start was lost and are skipped without an error.
 */
void wsmsg_gap(struct wsmsg *m, uint64_t n);

/* Start (or restart) in resync: a stream picked up without its handshake or frame boundary. */
void wsmsg_midstream(struct wsmsg *m);

/* Start at a frame header of a stream picked up without its handshake (a chain found by
 * wsmsg_chain): continuation frames before the next message start are skipped, compressed
 * data that refers to bytes before this point is lost_context, and with verify the next
 * headers are checked for plausibility as after a resync (without it, a chain already proven
 * long enough is trusted: legal frames that plausibility refuses, such as an empty non-final
 * fragment, are then decoded). */
void wsmsg_midstream_at_header(struct wsmsg *m, bool verify);

/* End of the stream: a pending partial message is reported, skipped bytes counted. */
void wsmsg_finish(struct wsmsg *m);

/* Does a byte stream, from its first byte, look like WebSocket frames of this direction?
 * Several consecutive plausible headers (compression allowed, client frames masked). */
#define WSMSG_SNIFF_NO 0
#define WSMSG_SNIFF_YES 1
#define WSMSG_SNIFF_INCOMPLETE (-2) /* so far plausible; more bytes needed to decide */
int wsmsg_sniff(const uint8_t *p, size_t len, enum wst_dir dir);

/*
 * Mid-stream recognition: walk the chain of frames that would start at p[0] in direction dir
 * (client frames masked, server frames not; RSV1 only on a message's first frame, as
 * permessage-deflate allows; data frames at most max_message long) and count its plausible
 * headers, by the same rules as resynchronization (see wsmsg_gap), stopping after max.
 */
struct wsmsg_chain {
    int headers;     /* plausible headers in a row, at most max */
    bool rejected;   /* an implausible header follows them: the outcome is final */
    bool exact_end;  /* the len bytes end right after a frame */
    bool data_start; /* a frame other than a continuation is among the headers */
    size_t need;     /* not rejected and headers < max: the walk can go on once this many
                        bytes from p are there */
};
void wsmsg_chain(const uint8_t *p, size_t len, enum wst_dir dir, uint64_t max_message, int max,
                 struct wsmsg_chain *out);

/* Strict UTF-8 (RFC 3629) of a whole buffer, by the same DFA the messages use. */
bool wsmsg_utf8_valid(const uint8_t *p, size_t n);

#endif
