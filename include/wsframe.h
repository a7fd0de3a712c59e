/* wsframe.h - resumable RFC 6455 section 5 frame decoder: headers checked as they are decoded,
 * payload handed out in pieces, unmasked with the mask index taken from the frame offset. */
#ifndef WSTAP_WSFRAME_H
#define WSTAP_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSF_MAX_HDR 14 /* 2 + 8 (64-bit length) + 4 (masking key) */

/* Opcodes (RFC 6455 5.2); the same values as enum wst_ws_opcode. */
#define WSF_OP_CONT 0x0
#define WSF_OP_TEXT 0x1
#define WSF_OP_BINARY 0x2
#define WSF_OP_CLOSE 0x8
#define WSF_OP_PING 0x9
#define WSF_OP_PONG 0xA

/* RSV bits as wsf_hdr.rsv holds them (and wst_ev_ws_frame.rsv): RSV1..RSV3 = bits 2..0. */
#define WSF_RSV1 0x4
#define WSF_RSV2 0x2
#define WSF_RSV3 0x1

/* What the header checks found, set at the moment the field is decoded (wsf_hdr.flags). */
#define WSF_F_NONMINIMAL 0x01 /* length in a longer form than needed: flagged, not fatal */
#define WSF_F_LEN_TOPBIT 0x02 /* 64-bit length with the most significant bit set: fatal */
#define WSF_F_BAD_OPCODE 0x04 /* reserved opcode 0x3-0x7 or 0xB-0xF */
#define WSF_F_CTRL_FRAG 0x08  /* control frame with FIN clear */
#define WSF_F_CTRL_LONG 0x10  /* control frame payload longer than 125 bytes */

static inline bool wsf_is_control(unsigned opcode)
{
    return (opcode & 0x8) != 0;
}

/* True for the six opcodes RFC 6455 defines. */
static inline bool wsf_opcode_known(unsigned opcode)
{
    return opcode <= WSF_OP_BINARY || (opcode >= WSF_OP_CLOSE && opcode <= WSF_OP_PONG);
}

struct wsf_hdr {
    bool fin;
    bool masked;
    uint8_t rsv;     /* WSF_RSV1 | WSF_RSV2 | WSF_RSV3 */
    uint8_t opcode;  /* 0..15 */
    uint8_t hdr_len; /* header bytes on the wire: 2..14 */
    uint8_t key[4];  /* masking key when masked */
    uint64_t len;    /* payload length as decoded (meaningless when WSF_F_LEN_TOPBIT) */
    unsigned flags;  /* WSF_F_* */
};

/* Receive states, each needing a fixed number of bytes (wslay's idea). */
enum wsf_state {
    WSF_ST_HDR,     /* the two fixed header bytes */
    WSF_ST_LEN16,   /* 16-bit extended length */
    WSF_ST_LEN64,   /* 64-bit extended length */
    WSF_ST_MASK,    /* masking key */
    WSF_ST_PAYLOAD, /* payload bytes (possibly none left) */
    WSF_ST_FATAL,   /* a header could not be accepted; wsf_init before decoding again */
};

struct wsf_dec {
    enum wsf_state st;
    uint8_t nraw;             /* header bytes collected so far */
    uint8_t raw[WSF_MAX_HDR]; /* the header bytes as received (for resynchronization) */
    struct wsf_hdr hdr;       /* valid from WSF_EV_HEADER until the frame ends */
    uint64_t off;             /* payload bytes of the current frame consumed so far */
};

/* What one wsf_decode call produced. */
enum wsf_ev {
    WSF_EV_NONE,    /* every input byte consumed (or no room in out): call again with more */
    WSF_EV_HEADER,  /* d->hdr is complete and checked */
    WSF_EV_PAYLOAD, /* a piece of payload: see struct wsf_piece */
    WSF_EV_END,     /* the frame's payload is complete; the decoder waits for the next header */
    WSF_EV_FATAL,   /* WSF_F_LEN_TOPBIT: d->raw[0..nraw) holds the rejected header bytes */
};

struct wsf_piece {
    const uint8_t *data; /* unmasked bytes, or NULL (masked frame decoded without out) */
    uint64_t off;        /* offset of data[0] within the frame's payload */
    size_t len;
};

void wsf_init(struct wsf_dec *d);

/* At a frame boundary: no header byte of the next frame has been consumed yet. */
static inline bool wsf_at_boundary(const struct wsf_dec *d)
{
    return d->st == WSF_ST_HDR && d->nraw == 0;
}

/* Payload bytes of the current frame still to come (0 outside WSF_ST_PAYLOAD). */
static inline uint64_t wsf_remaining(const struct wsf_dec *d)
{
    return d->st == WSF_ST_PAYLOAD ? d->hdr.len - d->off : 0;
}

/*
 * Decode from p[0..len) until one event happens; returns the bytes consumed and sets *ev.
 * Call in a loop until *ev is WSF_EV_NONE; a zero-length frame gives HEADER then END with
 * nothing consumed. Payload: with out, up to outcap bytes are copied there unmasked and
 * pc->data == out; without out (NULL), the bytes are consumed in place and pc->data points
 * into p when the frame is unmasked, or is NULL when it is masked (skipping). pc is set only
 * for WSF_EV_PAYLOAD. The decoder keeps no pointer into p or out after returning.
 */
size_t wsf_decode(struct wsf_dec *d, const uint8_t *p, size_t len, uint8_t *out, size_t outcap,
                  enum wsf_ev *ev, struct wsf_piece *pc);

/* Skip n <= wsf_remaining(d) payload bytes that were never seen (a capture gap). */
void wsf_skip(struct wsf_dec *d, uint64_t n);

/*
 * Decode one header from the start of p without any state (for scanning and sniffing).
 * Returns its length (2..14), 0 when more bytes are needed, or -1 when it is fatal
 * (WSF_F_LEN_TOPBIT). h is filled as far as decoded.
 */
int wsf_peek_header(const uint8_t *p, size_t len, struct wsf_hdr *h);

/*
 * dst[i] = src[i] ^ key[(off + i) % 4] for i < n, eight bytes at a time. off is the payload
 * offset of src[0] within its frame. dst may equal src (in place), other overlaps are not allowed.
 */
void wsf_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t off);

#endif
