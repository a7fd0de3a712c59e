/* wsframe.c - resumable RFC 6455 frame decoder: one receive state per header field. */
#include <string.h>

#include "rd.h"
#include "wsframe.h"

void wsf_init(struct wsf_dec *d)
{
    memset(d, 0, sizeof *d);
    d->st = WSF_ST_HDR;
}

/* Header length at which the field of the current state is complete. */
static size_t field_end(const struct wsf_dec *d)
{
    size_t ext = 0;

    switch (d->st) {
    case WSF_ST_HDR:
        return 2;
    case WSF_ST_LEN16:
        return 4;
    case WSF_ST_LEN64:
        return 10;
    case WSF_ST_MASK:
        if ((d->raw[1] & 0x7F) == 126)
            ext = 2;
        else if ((d->raw[1] & 0x7F) == 127)
            ext = 8;
        return 2 + ext + 4;
    default:
        return 0;
    }
}

/* The state after the length is known: the masking key, or the payload. */
static enum wsf_state after_length(const struct wsf_dec *d)
{
    return d->hdr.masked ? WSF_ST_MASK : WSF_ST_PAYLOAD;
}

/*
 * The field of the current state is complete in d->raw: decode and check it (RFC 6455 5.2,
 * 5.5), and pick the next state. Returns false when the header is fatal.
 */
static bool decode_field(struct wsf_dec *d)
{
    struct wsf_hdr *h = &d->hdr;
    struct rd r;

    switch (d->st) {
    case WSF_ST_HDR: {
        r = rd_make(d->raw, 2);
        uint8_t b0 = rd_u8(&r);
        uint8_t b1 = rd_u8(&r);
        h->fin = (b0 & 0x80) != 0;
        h->rsv = (uint8_t)((b0 >> 4) & 0x7);
        h->opcode = b0 & 0x0F;
        h->masked = (b1 & 0x80) != 0;
        h->len = b1 & 0x7F;
        if (!wsf_opcode_known(h->opcode))
            h->flags |= WSF_F_BAD_OPCODE;
        if (wsf_is_control(h->opcode) && !h->fin)
            h->flags |= WSF_F_CTRL_FRAG;
        if (h->len == 126)
            d->st = WSF_ST_LEN16;
        else if (h->len == 127)
            d->st = WSF_ST_LEN64;
        else
            d->st = after_length(d);
        return true;
    }
    case WSF_ST_LEN16:
        r = rd_make(d->raw + 2, 2);
        h->len = rd_be16(&r);
        if (h->len < 126)
            h->flags |= WSF_F_NONMINIMAL;
        if (wsf_is_control(h->opcode) && h->len > 125)
            h->flags |= WSF_F_CTRL_LONG;
        d->st = after_length(d);
        return true;
    case WSF_ST_LEN64:
        r = rd_make(d->raw + 2, 8);
        h->len = rd_be64(&r);
        if (h->len >> 63) {
            h->flags |= WSF_F_LEN_TOPBIT;
            d->st = WSF_ST_FATAL;
            return false;
        }
        if (h->len <= 0xFFFF)
            h->flags |= WSF_F_NONMINIMAL;
        if (wsf_is_control(h->opcode) && h->len > 125)
            h->flags |= WSF_F_CTRL_LONG;
        d->st = after_length(d);
        return true;
    case WSF_ST_MASK:
        r = rd_make(d->raw + d->nraw - 4, 4);
        rd_copy(&r, h->key, 4);
        d->st = WSF_ST_PAYLOAD;
        return true;
    default:
        return false;
    }
}

void wsf_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t off)
{
    uint8_t k[8];
    for (unsigned i = 0; i < 8; i++)
        k[i] = key[(off + i) & 3];
    uint64_t kw;
    memcpy(&kw, k, sizeof kw);

    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, sizeof w);
        w ^= kw;
        memcpy(dst + i, &w, sizeof w);
    }
    /* i is a multiple of 8, so (off + i + j) % 4 == (off + j) % 4 and k[] still lines up */
    for (; i < n; i++)
        dst[i] = src[i] ^ k[i & 7];
}

static size_t min_size(size_t a, uint64_t b)
{
    return b < a ? (size_t)b : a;
}

size_t wsf_decode(struct wsf_dec *d, const uint8_t *p, size_t len, uint8_t *out, size_t outcap,
                  enum wsf_ev *ev, struct wsf_piece *pc)
{
    size_t used = 0;

    while (d->st != WSF_ST_PAYLOAD) {
        if (d->st == WSF_ST_FATAL) {
            *ev = WSF_EV_FATAL;
            return used;
        }
        if (d->st == WSF_ST_HDR && d->nraw == 0)
            memset(&d->hdr, 0, sizeof d->hdr);
        size_t end = field_end(d);
        size_t take = min_size(len - used, end - d->nraw);
        if (take) {
            memcpy(d->raw + d->nraw, p + used, take);
            d->nraw = (uint8_t)(d->nraw + take);
            used += take;
        }
        if (d->nraw < end) {
            *ev = WSF_EV_NONE;
            return used;
        }
        if (!decode_field(d)) {
            d->hdr.hdr_len = d->nraw;
            *ev = WSF_EV_FATAL;
            return used;
        }
        if (d->st == WSF_ST_PAYLOAD) {
            d->hdr.hdr_len = d->nraw;
            d->off = 0;
            *ev = WSF_EV_HEADER;
            return used;
        }
    }

    uint64_t left = d->hdr.len - d->off;
    if (left == 0) {
        d->st = WSF_ST_HDR;
        d->nraw = 0;
        d->off = 0;
        *ev = WSF_EV_END;
        return used;
    }
    size_t n = min_size(len - used, left);
    if (out)
        n = n < outcap ? n : outcap;
    if (n == 0) {
        *ev = WSF_EV_NONE;
        return used;
    }
    const uint8_t *src = p + used;
    pc->off = d->off;
    pc->len = n;
    if (out) {
        if (d->hdr.masked)
            wsf_unmask(out, src, n, d->hdr.key, d->off);
        else
            memcpy(out, src, n);
        pc->data = out;
    } else {
        pc->data = d->hdr.masked ? NULL : src;
    }
    d->off += n;
    *ev = WSF_EV_PAYLOAD;
    return used + n;
}

void wsf_skip(struct wsf_dec *d, uint64_t n)
{
    uint64_t left = wsf_remaining(d);
    d->off += n < left ? n : left;
}

int wsf_peek_header(const uint8_t *p, size_t len, struct wsf_hdr *h)
{
    struct wsf_dec d;
    enum wsf_ev ev;
    struct wsf_piece pc;

    wsf_init(&d);
    wsf_decode(&d, p, len < WSF_MAX_HDR ? len : WSF_MAX_HDR, NULL, 0, &ev, &pc);
    *h = d.hdr;
    if (ev == WSF_EV_FATAL)
        return -1;
    if (ev != WSF_EV_HEADER)
        return 0;
    return d.hdr.hdr_len;
}
