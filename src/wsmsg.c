/* wsmsg.c - one WebSocket direction: messages, control frames, RFC 6455 checks, compression,
 * gaps and resynchronization on top of the frame decoder. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsmsg.h"

/* What the current frame's payload is for. */
enum { FK_NONE, FK_DATA, FK_CONTROL, FK_SKIP };

#define SCRATCH_SIZE 16384
#define MIN_RESYNC_WINDOW 256
#define TEXT_CHECK_MAX 256    /* payload bytes a resync candidate's UTF-8 is checked over */
#define RESYNC_CHAIN 4        /* consecutive plausible headers that confirm a resync */
#define VERIFY_AFTER_RESYNC 8 /* headers after a resync still checked for plausibility */
#define RB_MIN 4096           /* first allocation of the resync buffer */
#define BUF_KEEP (1u << 20)   /* a bigger message buffer is freed after a small message */

/* ------------------------------------------------------------------------------------------ */
/* UTF-8: a DFA over byte classes (RFC 3629 / Unicode Table 3-7), resumable across pieces.   */

enum {
    U8_ACCEPT, /* between characters */
    U8_REJECT, /* invalid: stays here */
    U8_NEED1,  /* one continuation byte 80..BF to go */
    U8_NEED2,
    U8_NEED3,
    U8_E0, /* after E0: A0..BF, then one more */
    U8_ED, /* after ED: 80..9F (no surrogates), then one more */
    U8_F0, /* after F0: 90..BF, then two more */
    U8_F4, /* after F4: 80..8F (<= U+10FFFF), then two more */
    U8__STATES
};

/* 0: 00..7F, 1: 80..8F, 2: 90..9F, 3: A0..BF, 4: never valid (C0 C1 F5..FF), 5: C2..DF,
 * 6: E0, 7: E1..EC EE EF, 8: ED, 9: F0, 10: F1..F3, 11: F4 */
/* clang-format off */
static const uint8_t u8_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 7, 9, 10, 10, 10, 11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

#define R U8_REJECT
static const uint8_t u8_next[U8__STATES][12] = {
    /*             00 80 90 A0 xx C2       E0     E1       ED     F0     F1       F4 */
    [U8_ACCEPT] = {0, R, R, R, R, U8_NEED1, U8_E0, U8_NEED2, U8_ED, U8_F0, U8_NEED3, U8_F4},
    [U8_REJECT] = {R, R, R, R, R, R, R, R, R, R, R, R},
    [U8_NEED1] = {R, 0, 0, 0, R, R, R, R, R, R, R, R},
    [U8_NEED2] = {R, U8_NEED1, U8_NEED1, U8_NEED1, R, R, R, R, R, R, R, R},
    [U8_NEED3] = {R, U8_NEED2, U8_NEED2, U8_NEED2, R, R, R, R, R, R, R, R},
    [U8_E0] = {R, R, R, U8_NEED1, R, R, R, R, R, R, R, R},
    [U8_ED] = {R, U8_NEED1, U8_NEED1, R, R, R, R, R, R, R, R, R},
    [U8_F0] = {R, R, U8_NEED2, U8_NEED2, R, R, R, R, R, R, R, R},
    [U8_F4] = {R, U8_NEED2, R, R, R, R, R, R, R, R, R, R},
};
#undef R
/* clang-format on */

/* Run the DFA from state st over p[0..n); on rejection *bad is the offending byte's index. */
static uint8_t u8_run(uint8_t st, const uint8_t *p, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        if (st == U8_ACCEPT) {
            /* ASCII runs eight bytes at a time */
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, sizeof w);
                if (w & 0x8080808080808080ULL)
                    break;
                i += 8;
            }
            if (i == n)
                break;
        }
        st = u8_next[st][u8_class[p[i]]];
        if (st == U8_REJECT) {
            *bad = i;
            return st;
        }
        i++;
    }
    return st;
}

bool wsmsg_utf8_valid(const uint8_t *p, size_t n)
{
    size_t bad;
    return u8_run(U8_ACCEPT, p, n, &bad) == U8_ACCEPT;
}

/* ------------------------------------------------------------------------------------------ */
/* Plausible headers, for resynchronization and sniffing.                                     */

#define COMP_ANY (-1)

struct plaus {
    bool masked; /* the direction's mask bit */
    int comp;    /* enum wst_compression, or COMP_ANY (sniffing) */
    uint64_t max;
};

static bool rsv1_allowed(int comp, unsigned opcode)
{
    if (wsf_is_control(opcode))
        return false;
    if (comp == WST_COMP_PMD)
        return opcode != WSF_OP_CONT; /* only on a message's first frame (RFC 7692 6) */
    return comp == WST_COMP_DEFLATE_FRAME || comp == COMP_ANY;
}

/* in_msg: 1 a fragmented message is open, 0 none is, -1 unknown. */
static bool plausible(const struct plaus *pl, const struct wsf_hdr *h, int in_msg)
{
    if (h->flags & (WSF_F_LEN_TOPBIT | WSF_F_BAD_OPCODE | WSF_F_CTRL_FRAG | WSF_F_CTRL_LONG |
                    WSF_F_NONMINIMAL))
        return false;
    if (h->masked != pl->masked)
        return false;
    if (h->rsv & (WSF_RSV2 | WSF_RSV3))
        return false;
    if ((h->rsv & WSF_RSV1) && !rsv1_allowed(pl->comp, h->opcode))
        return false;
    if (wsf_is_control(h->opcode))
        return true;
    if (h->len > pl->max || (h->len == 0 && !h->fin))
        return false; /* (an empty non-final fragment is legal but useless: zero runs look so) */
    if (h->opcode == WSF_OP_CONT)
        return in_msg != 0;
    return in_msg != 1;
}

/* The first n (1..13) bytes of a header that did not fit: the checks they allow. */
static bool prefix_plausible(const struct plaus *pl, const uint8_t *q, size_t n, int in_msg)
{
    if (n == 0)
        return true;
    unsigned opcode = q[0] & 0x0F;
    bool fin = (q[0] & 0x80) != 0;
    unsigned rsv = (q[0] >> 4) & 0x7;
    if (!wsf_opcode_known(opcode) || (rsv & (WSF_RSV2 | WSF_RSV3)))
        return false;
    if ((rsv & WSF_RSV1) && !rsv1_allowed(pl->comp, opcode))
        return false;
    if (wsf_is_control(opcode) && !fin)
        return false;
    if (opcode == WSF_OP_CONT && in_msg == 0)
        return false;
    if ((opcode == WSF_OP_TEXT || opcode == WSF_OP_BINARY) && in_msg == 1)
        return false;
    if (n >= 2) {
        if (((q[1] & 0x80) != 0) != pl->masked)
            return false;
        if (wsf_is_control(opcode) && (q[1] & 0x7F) > 125)
            return false;
        if (!wsf_is_control(opcode) && !fin && (q[1] & 0x7F) == 0)
            return false;
    }
    return true;
}

/* An uncompressed text frame's payload must start as UTF-8 (checked over a bounded prefix). */
static bool text_prefix_ok(const struct wsf_hdr *h, const uint8_t *body, size_t avail)
{
    uint8_t tmp[TEXT_CHECK_MAX];
    size_t bad;

    if (h->opcode != WSF_OP_TEXT || (h->rsv & WSF_RSV1))
        return true;
    size_t n = avail < TEXT_CHECK_MAX ? avail : TEXT_CHECK_MAX;
    if (h->len < n)
        n = (size_t)h->len;
    const uint8_t *t = body;
    if (h->masked) {
        wsf_unmask(tmp, body, n, h->key, 0);
        t = tmp;
    }
    uint8_t st = u8_run(U8_ACCEPT, t, n, &bad);
    if (st == U8_REJECT)
        return false;
    return !(n == h->len && h->fin && st != U8_ACCEPT);
}

static struct plaus plaus_of(const struct wsmsg *m)
{
    struct plaus pl = {m->cfg.dir == WST_DIR_C2S, (int)m->cfg.comp, m->cfg.max_message};
    return pl;
}

/* ------------------------------------------------------------------------------------------ */
/* Callbacks.                                                                                 */

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void
err(struct wsmsg *m, const char *kind, uint64_t off, uint64_t count, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->detail, sizeof m->detail, fmt, ap);
    va_end(ap);
    m->n_errors++;
    if (!m->cb.error)
        return;
    struct wsmsg_error e;
    memset(&e, 0, sizeof e);
    e.ev.kind = kind;
    e.ev.detail = m->detail;
    e.off = off;
    e.count = count;
    m->cb.error(m->cb.user, &e);
}

static const char *opname(unsigned opcode)
{
    switch (opcode) {
    case WSF_OP_CONT:
        return "continuation";
    case WSF_OP_TEXT:
        return "text";
    case WSF_OP_BINARY:
        return "binary";
    case WSF_OP_CLOSE:
        return "close";
    case WSF_OP_PING:
        return "ping";
    case WSF_OP_PONG:
        return "pong";
    default:
        return "reserved";
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Messages.                                                                                  */

static bool msg_inflating(const struct wsmsg *m)
{
    return m->frame_z || (m->compressed && m->cfg.comp == WST_COMP_PMD);
}

/* Validate the decoded bytes appended since from (unless deferred to the message's end). */
static void u8_check(struct wsmsg *m, size_t from)
{
    size_t bad;

    if (m->opcode != WSF_OP_TEXT || m->u8 == U8_REJECT || m->buf.len <= from)
        return;
    if (m->u8_defer)
        return;
    if (msg_inflating(m) && pmd_history_lost(m->z)) {
        m->u8_defer = true; /* bytes may be unknown until the end says otherwise */
        return;
    }
    m->u8 = u8_run(m->u8, m->buf.p + from, m->buf.len - from, &bad);
    if (m->u8 == U8_REJECT && !m->u8_reported) {
        m->u8_reported = true;
        err(m, WSMSG_E_INVALID_UTF8, m->start, 0,
            "The text message is not valid UTF-8 at decoded byte %zu (RFC 6455 8.1).", from + bad);
    }
}

/* An outcome of the inflater for the current message: report each kind once. */
static void z_status(struct wsmsg *m, int st)
{
    switch (st) {
    case PMD_TOO_BIG:
        if (!m->too_big) {
            m->too_big = true;
            err(m, WSMSG_E_TOO_BIG, m->start, 0,
                "The compressed message inflates to more than %" PRIu64
                " bytes (--max-message); the rest is not decoded.",
                m->cfg.max_message);
        }
        break;
    case PMD_LOST:
        if (!m->z_lost) {
            m->z_lost = true;
            err(m, WSMSG_E_LOST_CONTEXT, m->start, 0,
                "The compressed message copies from compression history lost in a capture gap, "
                "so its content is unknown.");
        }
        break;
    case PMD_ERROR:
    case PMD_NOMEM:
        if (!m->z_err) {
            m->z_err = true;
            err(m, WSMSG_E_INFLATE, m->start, 0,
                st == PMD_NOMEM
                    ? "Inflating the message ran out of memory (or over --max-app-total)."
                    : "The compressed message is not valid DEFLATE data (RFC 7692 7.2.2).");
        }
        break;
    default:
        break;
    }
}

static void msg_start(struct wsmsg *m, const struct wsf_hdr *h, bool pmd_compressed)
{
    m->in_msg = true;
    m->opcode = h->opcode;
    m->compressed = pmd_compressed;
    m->fragments = 1;
    m->wire_len = h->len;
    m->len = 0;
    m->start = m->hdr_start;
    m->end = m->pos;
    m->too_big = m->z_lost = m->z_err = m->u8_reported = m->u8_defer = false;
    m->u8 = U8_ACCEPT;
    m->buf.len = 0;
    if (pmd_compressed)
        pmd_begin(m->z);
}

/* The current message ends: complete (its FIN frame ended) or partial. */
static void msg_deliver(struct wsmsg *m, bool partial)
{
    size_t before = m->buf.len;
    size_t bad;

    if (!m->in_msg)
        return;
    if (m->frame_z) {
        z_status(m, pmd_abort(m->z));
        m->frame_z = false;
    }
    if (m->compressed && m->cfg.comp == WST_COMP_PMD) {
        z_status(m, partial ? pmd_abort(m->z) : pmd_end(m->z, &m->buf));
        m->len += m->buf.len - before;
        u8_check(m, before);
    }
    bool nodata = m->z_lost || m->z_err;
    bool text = m->opcode == WSF_OP_TEXT;
    if (text && !nodata) {
        if (m->u8_defer) {
            m->u8 = u8_run(U8_ACCEPT, m->buf.p, m->buf.len, &bad);
            if (m->u8 == U8_REJECT && !m->u8_reported) {
                m->u8_reported = true;
                err(m, WSMSG_E_INVALID_UTF8, m->start, 0,
                    "The text message is not valid UTF-8 at decoded byte %zu (RFC 6455 8.1).", bad);
            }
        }
        if (!partial && !m->too_big && m->u8 != U8_ACCEPT && m->u8 != U8_REJECT) {
            m->u8 = U8_REJECT;
            if (!m->u8_reported) {
                m->u8_reported = true;
                err(m, WSMSG_E_INVALID_UTF8, m->start, 0,
                    "The text message ends inside a UTF-8 character (RFC 6455 8.1).");
            }
        }
    }

    struct wsmsg_message mm;
    memset(&mm, 0, sizeof mm);
    mm.ev.opcode = m->opcode;
    mm.ev.fragments = m->fragments;
    mm.ev.compressed = m->compressed;
    mm.ev.utf8_valid = text && !nodata && m->u8 != U8_REJECT;
    mm.ev.wire_len = m->wire_len;
    mm.ev.len = m->len;
    if (!nodata) {
        mm.ev.data.p = m->buf.p;
        mm.ev.data.len = m->buf.len;
    }
    mm.start = m->start;
    mm.end = m->end;
    mm.flags = (partial ? WSMSG_M_PARTIAL : 0) | (m->too_big ? WSMSG_M_TRUNCATED : 0) |
               (nodata ? WSMSG_M_NODATA : 0);
    m->n_messages++;
    if (m->cb.message)
        m->cb.message(m->cb.user, &mm);
    m->in_msg = false;
    m->compressed = false;
    /* keep the buffer for the next message, unless a big one is left after a small message */
    if (m->buf.cap > BUF_KEEP && m->buf.len < m->buf.cap / 4)
        pmd_buf_free(&m->buf);
    m->buf.len = 0;
}

static bool close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

static void control_deliver(struct wsmsg *m)
{
    const struct wsf_hdr *h = &m->dec.hdr;
    struct wsmsg_control c;
    size_t bad;

    memset(&c, 0, sizeof c);
    c.ev.opcode = h->opcode;
    c.ev.len = h->len;
    c.ev.data.p = m->ctrl;
    c.ev.data.len = m->ctrl_len;
    c.ev.code = -1;
    c.ev.rtt_us = -1;
    c.start = m->hdr_start;
    c.truncated = h->len > m->ctrl_len;
    c.code_valid = true;
    c.reason_valid = true;
    if (h->opcode == WSF_OP_CLOSE) {
        m->close_seen = true;
        if (h->len == 1) {
            c.code_valid = false;
            err(m, WSMSG_E_BAD_CLOSE_CODE, m->hdr_start, 0,
                "The close frame has a 1-byte payload; a status code takes 2 bytes "
                "(RFC 6455 5.5.1).");
        } else if (m->ctrl_len >= 2) {
            c.ev.code = m->ctrl[0] << 8 | m->ctrl[1];
            c.ev.reason.p = m->ctrl + 2;
            c.ev.reason.len = m->ctrl_len - 2;
            if (!close_code_ok((unsigned)c.ev.code)) {
                c.code_valid = false;
                err(m, WSMSG_E_BAD_CLOSE_CODE, m->hdr_start, 0,
                    "Close code %d may not be sent on the wire (RFC 6455 7.4).", c.ev.code);
            }
            uint8_t st = u8_run(U8_ACCEPT, m->ctrl + 2, m->ctrl_len - 2, &bad);
            if (st == U8_REJECT || (st != U8_ACCEPT && !c.truncated)) {
                c.reason_valid = false;
                err(m, WSMSG_E_INVALID_UTF8, m->hdr_start, 0,
                    "The close reason is not valid UTF-8 (RFC 6455 5.5.1).");
            }
        }
    }
    m->n_controls++;
    if (m->cb.control)
        m->cb.control(m->cb.user, &c);
}

/* ------------------------------------------------------------------------------------------ */
/* Frames in sync.                                                                            */

static void resync_enter(struct wsmsg *m);

/* The current frame and message end where they are (a gap, the end, a lost framing). */
static void frame_cut(struct wsmsg *m)
{
    if (m->in_msg)
        msg_deliver(m, true);
    m->fkind = FK_NONE;
    m->frame_z = false;
    wsf_init(&m->dec);
}

/* The header just decoded cannot be a frame: scan again from its second byte. */
static void reject_header(struct wsmsg *m)
{
    uint8_t n = m->dec.nraw;
    m->pb_len = n > 1 ? n - 1u : 0;
    memcpy(m->pb, m->dec.raw + 1, m->pb_len);
    frame_cut(m);
    resync_enter(m);
    m->pos -= m->pb_len;
    m->skipped += 1;
}

static void on_header(struct wsmsg *m)
{
    const struct wsf_hdr *h = &m->dec.hdr;
    uint64_t at = m->hdr_start;

    if (m->verify_left > 0) {
        struct plaus pl = plaus_of(m);
        m->verify_left--;
        if (!plausible(&pl, h, m->in_msg ? 1 : m->orphan ? -1 : 0)) {
            reject_header(m); /* framing was not regained after all */
            return;
        }
    }
    m->n_frames++;
    if (m->cb.frame) {
        struct wsmsg_frame f;
        memset(&f, 0, sizeof f);
        f.ev.fin = h->fin;
        f.ev.masked = h->masked;
        f.ev.rsv = h->rsv;
        f.ev.opcode = h->opcode;
        f.ev.len = h->len;
        f.start = at;
        f.hdr_len = h->hdr_len;
        f.flags = h->flags;
        m->cb.frame(m->cb.user, &f);
    }
    m->fkind = FK_SKIP;
    m->frame_z = false;

    if (m->cfg.dir == WST_DIR_C2S && !h->masked)
        err(m, WSMSG_E_UNMASKED, at, 0, "A client-to-server %s frame is not masked (RFC 6455 5.1).",
            opname(h->opcode));
    else if (m->cfg.dir == WST_DIR_S2C && h->masked)
        err(m, WSMSG_E_MASKED, at, 0, "A server-to-client %s frame is masked (RFC 6455 5.1).",
            opname(h->opcode));

    bool rsv1 = false;
    if (h->rsv & (WSF_RSV2 | WSF_RSV3))
        err(m, WSMSG_E_BAD_RSV, at, 0,
            "RSV2 or RSV3 is set, and no negotiated extension defines them (RFC 6455 5.2).");
    if ((h->rsv & WSF_RSV1) && wsf_opcode_known(h->opcode)) {
        if (rsv1_allowed((int)m->cfg.comp, h->opcode))
            rsv1 = true;
        else if (m->cfg.comp == WST_COMP_NONE)
            err(m, WSMSG_E_BAD_RSV, at, 0,
                "RSV1 is set, and no compression extension was negotiated (RFC 6455 5.2).");
        else if (wsf_is_control(h->opcode))
            err(m, WSMSG_E_BAD_RSV, at, 0,
                "RSV1 is set on a %s frame; control frames are "
                "never compressed (RFC 7692 6.1).",
                opname(h->opcode));
        else
            err(m, WSMSG_E_BAD_RSV, at, 0,
                "RSV1 is set on a continuation frame; permessage-deflate sets it on a "
                "message's first frame only (RFC 7692 6.1).");
    }
    if (!wsf_opcode_known(h->opcode)) {
        err(m, WSMSG_E_BAD_OPCODE, at, 0,
            "Opcode 0x%X is reserved (RFC 6455 5.2); its %" PRIu64 " payload bytes are skipped.",
            h->opcode, h->len);
        return;
    }
    if (wsf_is_control(h->opcode)) {
        if (h->flags & WSF_F_CTRL_FRAG)
            err(m, WSMSG_E_CTRL_FRAG, at, 0,
                "A %s frame has FIN clear; control frames must not be fragmented "
                "(RFC 6455 5.5).",
                opname(h->opcode));
        if (h->flags & WSF_F_CTRL_LONG)
            err(m, WSMSG_E_CTRL_LONG, at, 0,
                "A %s frame carries %" PRIu64 " payload bytes; control frames carry at most 125 "
                "(RFC 6455 5.5).",
                opname(h->opcode), h->len);
        m->fkind = FK_CONTROL;
        m->ctrl_len = 0;
        return;
    }
    if (m->close_seen)
        err(m, WSMSG_E_AFTER_CLOSE, at, 0,
            "A %s frame follows this direction's close frame (RFC 6455 5.5.1).", opname(h->opcode));
    if (h->opcode == WSF_OP_CONT) {
        if (!m->in_msg) {
            if (!m->orphan)
                err(m, WSMSG_E_CONT_NO_START, at, 0,
                    "A continuation frame arrived with no fragmented message open "
                    "(RFC 6455 5.4); its payload is skipped.");
            if (m->z)
                pmd_lose(m->z); /* it may carry compressed bytes of the sender's stream */
            return;
        }
        m->fragments++;
        m->wire_len = m->wire_len + h->len < m->wire_len ? UINT64_MAX : m->wire_len + h->len;
        m->end = m->pos;
    } else {
        if (m->in_msg) {
            err(m, WSMSG_E_NEW_IN_FRAG, at, 0,
                "A %s frame starts a new message before the fragmented message's final frame "
                "(RFC 6455 5.4); the open message is reported partial.",
                opname(h->opcode));
            msg_deliver(m, true);
        }
        m->orphan = false;
        msg_start(m, h, rsv1 && m->cfg.comp == WST_COMP_PMD);
    }
    m->fkind = FK_DATA;
    if (rsv1 && m->cfg.comp == WST_COMP_DEFLATE_FRAME) {
        m->compressed = true;
        if (!m->too_big && !m->z_err) {
            pmd_begin(m->z);
            m->frame_z = true;
        } else {
            pmd_lose(m->z);
        }
    }
}

/* Where the next payload bytes go (NULL: consumed without copying). */
static uint8_t *choose_out(struct wsmsg *m, size_t avail, size_t *outcap)
{
    *outcap = 0;
    if (m->fkind == FK_CONTROL) {
        *outcap = sizeof m->ctrl - m->ctrl_len;
        return *outcap ? m->ctrl + m->ctrl_len : NULL;
    }
    if (m->fkind != FK_DATA || avail == 0)
        return NULL;
    if (msg_inflating(m)) {
        if (m->too_big || m->z_err || !m->dec.hdr.masked)
            return NULL; /* skipped, or inflated straight from the input */
        *outcap = SCRATCH_SIZE;
        return m->scratch;
    }
    if (m->too_big)
        return NULL;
    uint64_t left = wsf_remaining(&m->dec);
    size_t want = left < avail ? (size_t)left : avail;
    if (want == 0)
        return NULL;
    size_t room = pmd_buf_room(&m->buf, want);
    if (room == 0) {
        m->too_big = true;
        if (m->buf.len < m->buf.max)
            err(m, WSMSG_E_TOO_BIG, m->start, 0,
                "Out of memory (or over --max-app-total for all connections) after %zu bytes of "
                "the message; the rest is not kept.", m->buf.len);
        else
            err(m, WSMSG_E_TOO_BIG, m->start, 0,
                "The message is longer than %" PRIu64
                " bytes (--max-message); only those are kept.",
                m->cfg.max_message);
        return NULL;
    }
    *outcap = room;
    return m->buf.p + m->buf.len;
}

static void on_payload(struct wsmsg *m, const struct wsf_piece *pc, const uint8_t *out)
{
    bool copied = out != NULL && pc->data == out;

    if (m->fkind == FK_CONTROL) {
        if (copied)
            m->ctrl_len += pc->len;
        return;
    }
    if (m->fkind != FK_DATA)
        return;
    m->end = m->pos;
    if (msg_inflating(m)) {
        if (m->too_big || m->z_err || !pc->data)
            return;
        size_t before = m->buf.len;
        int st = pmd_feed(m->z, pc->data, pc->len, &m->buf);
        m->len += m->buf.len - before;
        u8_check(m, before);
        z_status(m, st);
        return;
    }
    m->len += pc->len;
    if (copied) {
        size_t before = m->buf.len;
        m->buf.len += pc->len;
        u8_check(m, before);
    }
}

static void on_frame_end(struct wsmsg *m)
{
    const struct wsf_hdr *h = &m->dec.hdr;

    switch (m->fkind) {
    case FK_CONTROL:
        control_deliver(m);
        break;
    case FK_DATA:
        if (m->frame_z) {
            size_t before = m->buf.len;
            int st = pmd_end(m->z, &m->buf);
            m->frame_z = false;
            m->len += m->buf.len - before;
            u8_check(m, before);
            z_status(m, st);
        }
        if (h->fin)
            msg_deliver(m, false);
        break;
    case FK_SKIP:
        if (h->fin && h->opcode <= WSF_OP_BINARY)
            m->orphan = false;
        break;
    default:
        break;
    }
    m->fkind = FK_NONE;
}

static void on_fatal(struct wsmsg *m)
{
    if (!m->verify_left)
        err(m, WSMSG_E_BAD_LENGTH, m->hdr_start, 0,
            "The 64-bit payload length has its most significant bit set (RFC 6455 5.2); "
            "looking for the next frame.");
    m->verify_left = 0;
    reject_header(m);
}

/* Decode in sync; returns the bytes consumed (fewer than len only when resync started). */
static size_t run_normal(struct wsmsg *m, const uint8_t *p, size_t len)
{
    size_t used = 0;

    while (m->mode == WSMSG_NORMAL) {
        uint8_t *out = NULL;
        size_t outcap = 0;
        enum wsf_ev ev;
        struct wsf_piece pc;

        if (m->dec.st == WSF_ST_PAYLOAD)
            out = choose_out(m, len - used, &outcap);
        else if (wsf_at_boundary(&m->dec))
            m->hdr_start = m->pos;
        size_t n = wsf_decode(&m->dec, p + used, len - used, out, outcap, &ev, &pc);
        used += n;
        m->pos += n;
        switch (ev) {
        case WSF_EV_NONE:
            return used;
        case WSF_EV_HEADER:
            on_header(m);
            break;
        case WSF_EV_PAYLOAD:
            on_payload(m, &pc, out);
            break;
        case WSF_EV_END:
            on_frame_end(m);
            break;
        case WSF_EV_FATAL:
            on_fatal(m);
            break;
        }
    }
    return used;
}

/* ------------------------------------------------------------------------------------------ */
/* Resynchronization.                                                                         */

enum { J_REJECT, J_ACCEPT, J_MORE };

static size_t window_of(const struct wsmsg *m)
{
    return m->cfg.resync_window;
}

/* Where a walk along a chain of frame headers stopped. */
enum { CW_REJECT, CW_MAX, CW_HDR, CW_FRAME };

struct cwalk {
    int st;          /* CW_*: an implausible header, max headers checked, the data ends in (or
                        right before) a header, or inside a frame's payload */
    int checked;     /* plausible headers */
    bool data_start; /* one of them opens a message or is a control frame */
    size_t off;      /* of the header where it stopped */
    size_t left;     /* bytes from off to the end of the view */
    size_t hl;       /* CW_FRAME: that header's length */
    uint64_t flen;   /* CW_FRAME: its payload length */
};

/* Walk the frames from p[0] while every header is plausible after the one before it
 * (continuations only inside a message, text payloads starting as UTF-8), at most max of
 * them, within view bytes. The one chain rule, used by resynchronization, sniffing and
 * mid-stream recognition. */
static void chain_walk(const struct plaus *pl, const uint8_t *p, size_t view, int max,
                       struct cwalk *r)
{
    size_t off = 0;
    int in_msg = -1;

    memset(r, 0, sizeof *r);
    for (;;) {
        struct wsf_hdr h;
        size_t left = view - off;
        int hl = wsf_peek_header(p + off, left, &h);
        r->off = off;
        r->left = left;
        if (hl < 0) {
            r->st = CW_REJECT;
            return;
        }
        if (hl == 0) {
            r->st = prefix_plausible(pl, p + off, left, in_msg) ? CW_HDR : CW_REJECT;
            return;
        }
        if (!plausible(pl, &h, in_msg) || !text_prefix_ok(&h, p + off + hl, left - (size_t)hl)) {
            r->st = CW_REJECT;
            return;
        }
        r->checked++;
        if (h.opcode != WSF_OP_CONT)
            r->data_start = true;
        if (r->checked >= max) {
            r->st = CW_MAX;
            return;
        }
        if (!wsf_is_control(h.opcode))
            in_msg = !h.fin;
        if (h.len > left - (size_t)hl) {
            r->st = CW_FRAME;
            r->hl = (size_t)hl;
            r->flen = h.len;
            return;
        }
        off += (size_t)hl + (size_t)h.len;
    }
}

/*
 * Decide on the candidate header at p, with avail bytes buffered and eof when no more bytes
 * follow (a gap or the end). The candidate and the frames after it are walked as a chain
 * (chain_walk). Taken when RESYNC_CHAIN headers check out; when the data ends (eof) exactly
 * after a frame, or with at least two headers checked; when the window ends with at least two
 * headers checked, or inside the candidate's own frame (a frame larger than the window is
 * taken on its own). Only bytes within the window are looked at, so the outcome depends on
 * the bytes and not on how they were chunked. J_MORE sets *need.
 */
static int judge(const struct wsmsg *m, const uint8_t *p, size_t avail, bool eof, size_t *need)
{
    struct plaus pl = plaus_of(m);
    size_t win = window_of(m);
    size_t view = avail < win ? avail : win;
    bool at_limit = avail >= win;
    struct cwalk r;

    chain_walk(&pl, p, view, RESYNC_CHAIN, &r);
    switch (r.st) {
    case CW_MAX:
        return J_ACCEPT;
    case CW_HDR:
        if (eof)
            return (r.left == 0 || r.checked >= 2) ? J_ACCEPT : J_REJECT;
        if (at_limit)
            return r.checked >= 2 || (r.left == 0 && r.checked >= 1) ? J_ACCEPT : J_REJECT;
        *need = r.off + (r.left < 2 ? 2 : r.left + 1);
        return J_MORE;
    case CW_FRAME:
        if (r.flen > win - r.off - r.hl) /* cannot end inside the window */
            return r.checked >= 2 || r.off == 0 ? J_ACCEPT : J_REJECT;
        if (eof)
            return r.checked >= 2 ? J_ACCEPT : J_REJECT;
        *need = r.off + r.hl + (size_t)r.flen + 2;
        return J_MORE;
    default:
        return J_REJECT;
    }
}

/* Scan the buffered bytes; true when a frame header was found at rb_pos. */
static bool scan(struct wsmsg *m, bool eof)
{
    size_t win = window_of(m);

    for (;;) {
        size_t avail = m->rb_len - m->rb_pos;
        if (avail == 0) {
            m->rs_need = 0;
            return false;
        }
        if (!eof && avail < m->rs_need && avail < win)
            return false;
        size_t need = 0;
        int j = judge(m, m->rb + m->rb_pos, avail, eof, &need);
        if (j == J_ACCEPT) {
            m->rs_need = 0;
            return true;
        }
        if (j == J_MORE) {
            m->rs_need = need;
            return false;
        }
        m->rb_pos++;
        m->pos++;
        m->skipped++;
        m->rs_need = 0;
    }
}

static void resync_enter(struct wsmsg *m)
{
    m->mode = WSMSG_RESYNC;
    wsf_init(&m->dec);
    m->fkind = FK_NONE;
    m->frame_z = false;
    m->orphan = false;
    m->verify_left = 0;
    m->rs_need = 0;
    if (m->z)
        pmd_lose(m->z);
}

/* The resync buffer: allocated while needed, growing up to twice the window (plus room for a
 * header pushed back), so compaction stays amortized. */
static size_t rb_max(const struct wsmsg *m)
{
    return 2 * (size_t)window_of(m) + 2 * WSF_MAX_HDR;
}

static bool rb_reserve(struct wsmsg *m, size_t n)
{
    if (n <= m->rb_cap)
        return true;
    size_t ncap = m->rb_cap ? m->rb_cap : RB_MIN;
    while (ncap < n)
        ncap *= 2;
    if (ncap > rb_max(m))
        ncap = rb_max(m);
    if (ncap < n)
        return false;
    if (!budget_take(m->cfg.budget, ncap - m->rb_cap))
        return false;
    uint8_t *np = realloc(m->rb, ncap);
    if (!np) {
        budget_give(m->cfg.budget, ncap - m->rb_cap);
        return false;
    }
    m->rb = np;
    m->rb_cap = ncap;
    return true;
}

static void rb_release(struct wsmsg *m)
{
    free(m->rb);
    budget_give(m->cfg.budget, m->rb_cap);
    m->rb = NULL;
    m->rb_cap = m->rb_len = m->rb_pos = 0;
}

static void rb_no_memory(struct wsmsg *m)
{
    m->mode = WSMSG_DONE;
    m->pb_len = 0;
    rb_release(m);
    err(m, WSMSG_E_RESYNC, m->pos, 0,
        "Out of memory (or over --max-app-total) for resynchronization; the rest of this "
        "direction is ignored.");
}

static void resync_found(struct wsmsg *m)
{
    m->mode = WSMSG_NORMAL;
    wsf_init(&m->dec);
    m->fkind = FK_NONE;
    m->orphan = true; /* continuation frames now belong to a message whose start was lost */
    m->verify_left = VERIFY_AFTER_RESYNC; /* still suspect: check the next headers too */
    if (m->skipped) {
        m->n_skipped += m->skipped;
        err(m, WSMSG_E_RESYNC, m->pos, m->skipped,
            "Skipped %" PRIu64
            " bytes to the next plausible frame header, at stream offset %" PRIu64 ".",
            m->skipped, m->pos);
        m->skipped = 0;
    }
}

/* Put the rejected header's bytes back in front of what is buffered. */
static void pushback(struct wsmsg *m)
{
    if (m->mode == WSMSG_DONE) {
        m->pb_len = 0;
        return;
    }
    size_t tail = m->rb_len - m->rb_pos;
    if (!rb_reserve(m, m->pb_len + tail)) {
        rb_no_memory(m);
        return;
    }
    memmove(m->rb + m->pb_len, m->rb + m->rb_pos, tail);
    memcpy(m->rb, m->pb, m->pb_len);
    m->rb_pos = 0;
    m->rb_len = m->pb_len + tail;
    m->pb_len = 0;
}

static size_t rb_append(struct wsmsg *m, const uint8_t *p, size_t len)
{
    size_t win = window_of(m);
    size_t avail = m->rb_len - m->rb_pos;
    if (avail >= win)
        return 0;
    size_t k = len < win - avail ? len : win - avail;
    if (m->rb_len + k > m->rb_cap) {
        if (m->rb_pos > 0 && m->rb_pos >= m->rb_cap / 2) { /* half spent: slide (amortized) */
            memmove(m->rb, m->rb + m->rb_pos, avail);
            m->rb_len = avail;
            m->rb_pos = 0;
        }
        if (!rb_reserve(m, m->rb_len + k)) {
            rb_no_memory(m);
            return len;
        }
    }
    memcpy(m->rb + m->rb_len, p, k);
    m->rb_len += k;
    return k;
}

/* Push bytes through whichever mode is current; eof: no byte follows these (gap, end). */
static void pump(struct wsmsg *m, const uint8_t *p, size_t len, bool eof)
{
    for (;;) {
        if (m->mode == WSMSG_DONE)
            return;
        if (m->mode == WSMSG_NORMAL) {
            if (m->rb_pos < m->rb_len) {
                size_t n = run_normal(m, m->rb + m->rb_pos, m->rb_len - m->rb_pos);
                m->rb_pos += n;
                if (m->rb_pos == m->rb_len)
                    rb_release(m); /* in sync again: no buffer held */
            } else if (len > 0) {
                size_t n = run_normal(m, p, len);
                p += n;
                len -= n;
            } else {
                return;
            }
            if (m->pb_len)
                pushback(m);
            continue;
        }
        if (len > 0) {
            size_t k = rb_append(m, p, len);
            p += k;
            len -= k;
        }
        if (scan(m, eof && len == 0)) {
            resync_found(m);
            continue;
        }
        if (len == 0)
            return;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* API.                                                                                       */

int wsmsg_init(struct wsmsg *m, const struct wsmsg_config *cfg, const struct wsmsg_cbs *cbs)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (cbs)
        m->cb = *cbs;
    if (m->cfg.max_message == 0)
        m->cfg.max_message = WSMSG_DEFAULT_MAX_MESSAGE;
    if (m->cfg.max_message > SIZE_MAX / 2)
        m->cfg.max_message = SIZE_MAX / 2;
    if (m->cfg.resync_window == 0)
        m->cfg.resync_window = WSMSG_DEFAULT_RESYNC_WINDOW;
    if (m->cfg.resync_window < MIN_RESYNC_WINDOW)
        m->cfg.resync_window = MIN_RESYNC_WINDOW;
    m->mode = WSMSG_NORMAL;
    m->pos = cfg->base_off;
    wsf_init(&m->dec);
    pmd_buf_init(&m->buf, (size_t)m->cfg.max_message);
    m->buf.bud = m->cfg.budget;
    if (m->cfg.comp == WST_COMP_PMD || m->cfg.comp == WST_COMP_DEFLATE_FRAME) {
        bool c2s = m->cfg.dir == WST_DIR_C2S;
        int bits = c2s ? m->cfg.pmd.client_max_window_bits : m->cfg.pmd.server_max_window_bits;
        bool nct =
            c2s ? m->cfg.pmd.client_no_context_takeover : m->cfg.pmd.server_no_context_takeover;
        m->z = pmd_new_budget(bits, nct, m->cfg.budget);
        if (budget_take(m->cfg.budget, SCRATCH_SIZE)) {
            m->scratch = malloc(SCRATCH_SIZE);
            if (!m->scratch)
                budget_give(m->cfg.budget, SCRATCH_SIZE);
        }
        if (!m->z || !m->scratch) {
            wsmsg_free(m);
            return -1;
        }
    }
    return 0;
}

void wsmsg_free(struct wsmsg *m)
{
    pmd_free(m->z);
    m->z = NULL;
    if (m->scratch) {
        free(m->scratch);
        budget_give(m->cfg.budget, SCRATCH_SIZE);
    }
    m->scratch = NULL;
    free(m->rb);
    budget_give(m->cfg.budget, m->rb_cap);
    m->rb = NULL;
    m->rb_cap = 0;
    pmd_buf_free(&m->buf);
}

size_t wsmsg_feed(struct wsmsg *m, const uint8_t *p, size_t len)
{
    if (len)
        pump(m, p, len, false);
    return len;
}

/* A gap inside the current frame's payload: framing survives, the data does not. */
static void gap_in_payload(struct wsmsg *m, uint64_t n)
{
    const struct wsf_hdr *h = &m->dec.hdr;

    if (m->fkind == FK_DATA) {
        msg_deliver(m, true);
        m->orphan = !h->fin;
        m->fkind = FK_SKIP;
    } else if (m->fkind == FK_CONTROL) {
        m->fkind = FK_SKIP; /* a control frame with a hole is dropped */
    }
    wsf_skip(&m->dec, n);
    m->pos += n;
    if (m->verify_left < 1)
        m->verify_left = 1;
}

void wsmsg_gap(struct wsmsg *m, uint64_t n)
{
    if (n == 0 || m->mode == WSMSG_DONE) {
        m->pos += n;
        return;
    }
    if (m->mode == WSMSG_RESYNC)
        pump(m, NULL, 0, true);
    if (m->mode == WSMSG_NORMAL) {
        if (m->dec.st == WSF_ST_PAYLOAD && n <= wsf_remaining(&m->dec)) {
            gap_in_payload(m, n);
            return;
        }
        frame_cut(m);
        resync_enter(m);
    }
    if (m->mode == WSMSG_RESYNC) {
        size_t left = m->rb_len - m->rb_pos;
        m->skipped += left;
        m->pos += left;
        rb_release(m);
        m->rs_need = 0;
    }
    m->pos += n;
}

void wsmsg_midstream(struct wsmsg *m)
{
    if (m->mode != WSMSG_NORMAL)
        return;
    frame_cut(m);
    resync_enter(m);
}

void wsmsg_finish(struct wsmsg *m)
{
    if (m->mode == WSMSG_DONE)
        return;
    if (m->mode == WSMSG_RESYNC)
        pump(m, NULL, 0, true);
    if (m->mode == WSMSG_NORMAL)
        frame_cut(m);
    if (m->mode == WSMSG_RESYNC) {
        size_t left = m->rb_len - m->rb_pos;
        m->skipped += left;
        m->pos += left;
        rb_release(m);
        if (m->skipped) {
            m->n_skipped += m->skipped;
            err(m, WSMSG_E_RESYNC, m->pos, m->skipped,
                "The last %" PRIu64 " bytes of the stream held no recognizable frame header.",
                m->skipped);
            m->skipped = 0;
        }
    }
    m->mode = WSMSG_DONE;
}

int wsmsg_sniff(const uint8_t *p, size_t len, enum wst_dir dir)
{
    struct plaus pl = {dir == WST_DIR_C2S, COMP_ANY, WSMSG_DEFAULT_MAX_MESSAGE};
    struct cwalk r;

    chain_walk(&pl, p, len, 3, &r);
    switch (r.st) {
    case CW_REJECT:
        return WSMSG_SNIFF_NO;
    case CW_MAX:
        return WSMSG_SNIFF_YES;
    case CW_HDR:
        return r.left == 0 && r.checked >= 2 ? WSMSG_SNIFF_YES : WSMSG_SNIFF_INCOMPLETE;
    default:
        return WSMSG_SNIFF_INCOMPLETE;
    }
}

void wsmsg_chain(const uint8_t *p, size_t len, enum wst_dir dir, uint64_t max_message, int max,
                 struct wsmsg_chain *out)
{
    struct plaus pl = {dir == WST_DIR_C2S, WST_COMP_PMD,
                       max_message ? max_message : WSMSG_DEFAULT_MAX_MESSAGE};
    struct cwalk r;

    chain_walk(&pl, p, len, max, &r);
    memset(out, 0, sizeof *out);
    out->headers = r.checked;
    out->data_start = r.data_start;
    switch (r.st) {
    case CW_REJECT:
        out->rejected = true;
        break;
    case CW_MAX:
        break;
    case CW_HDR:
        out->exact_end = r.left == 0;
        out->need = r.off + (r.left < 2 ? 2 : r.left + 1);
        break;
    case CW_FRAME:
        out->need = r.off + r.hl + (size_t)r.flen; /* (no wrap: flen <= max_message) */
        break;
    }
}

void wsmsg_midstream_at_header(struct wsmsg *m, bool verify)
{
    if (m->mode != WSMSG_NORMAL)
        return;
    frame_cut(m);
    m->orphan = true; /* continuations belong to a message whose start was not captured */
    m->verify_left = verify ? VERIFY_AFTER_RESYNC : 0;
    if (m->z)
        pmd_lose(m->z); /* the compression history before this point was not seen */
}
