/* rd.h - the one bounds-checked reading idiom for packet and stream bytes. */
#ifndef WSTAP_RD_H
#define WSTAP_RD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/*
 * A cursor over bytes we do not trust. Every read checks the remaining length
 * as (end - p >= n), never (p + n <= end), so a huge n cannot wrap the pointer.
 * A short read sets the sticky error flag, returns 0 and leaves the cursor at
 * the end; decoders check rd.err once per header instead of after every field.
 */
struct rd {
    const uint8_t *p;
    const uint8_t *end;
    bool err;
};

static inline struct rd rd_make(const uint8_t *buf, size_t len)
{
    struct rd r = {buf, buf + len, false};
    return r;
}

static inline size_t rd_left(const struct rd *r)
{
    return (size_t)(r->end - r->p);
}

static inline bool rd_has(const struct rd *r, size_t n)
{
    return !r->err && (size_t)(r->end - r->p) >= n;
}

static inline void rd_fail(struct rd *r)
{
    r->err = true;
    r->p = r->end;
}

static inline uint8_t rd_u8(struct rd *r)
{
    if (!rd_has(r, 1)) {
        rd_fail(r);
        return 0;
    }
    return *r->p++;
}

static inline uint16_t rd_be16(struct rd *r)
{
    if (!rd_has(r, 2)) {
        rd_fail(r);
        return 0;
    }
    uint16_t v = (uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
    r->p += 2;
    return v;
}

static inline uint16_t rd_le16(struct rd *r)
{
    if (!rd_has(r, 2)) {
        rd_fail(r);
        return 0;
    }
    uint16_t v = (uint16_t)((uint16_t)r->p[1] << 8 | r->p[0]);
    r->p += 2;
    return v;
}

static inline uint32_t rd_be32(struct rd *r)
{
    if (!rd_has(r, 4)) {
        rd_fail(r);
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
                 (uint32_t)r->p[3];
    r->p += 4;
    return v;
}

static inline uint64_t rd_be64(struct rd *r)
{
    uint64_t hi = rd_be32(r);
    uint64_t lo = rd_be32(r);
    return hi << 32 | lo;
}

/* Copy n bytes out; on a short read the destination is zeroed. */
static inline void rd_copy(struct rd *r, void *dst, size_t n)
{
    uint8_t *d = dst;
    if (!rd_has(r, n)) {
        for (size_t i = 0; i < n; i++)
            d[i] = 0;
        rd_fail(r);
        return;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = r->p[i];
    r->p += n;
}

static inline void rd_skip(struct rd *r, size_t n)
{
    if (!rd_has(r, n)) {
        rd_fail(r);
        return;
    }
    r->p += n;
}

/* Pointer to the next n bytes (and advance), or NULL with the error set. */
static inline const uint8_t *rd_ptr(struct rd *r, size_t n)
{
    if (!rd_has(r, n)) {
        rd_fail(r);
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}

/* A sub-cursor over the next n bytes; the parent advances past them. */
static inline struct rd rd_sub(struct rd *r, size_t n)
{
    struct rd s = {r->p, r->p, false};
    if (!rd_has(r, n)) {
        rd_fail(r);
        s.err = true;
        return s;
    }
    s.end = r->p + n;
    r->p += n;
    return s;
}

/* The value of one hexadecimal digit (either case), -1 for any other byte. */
static inline int rd_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Peek a byte at offset off without moving; -1 when out of range. */
static inline int rd_peek(const struct rd *r, size_t off)
{
    if (r->err || (size_t)(r->end - r->p) <= off)
        return -1;
    return r->p[off];
}

#endif
