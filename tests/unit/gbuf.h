/* gbuf.h - one guard-page region per test input, reused so every prefix (or piece) of the input
 * can be placed so that its last byte sits right before a PROT_NONE page. */
#ifndef WSTAP_TEST_GBUF_H
#define WSTAP_TEST_GBUF_H

#include <check.h>
#include <string.h>

#include "pktbuild.h"

struct gbuf {
    struct guard g;
    uint8_t *fence; /* first byte of the PROT_NONE page */
    size_t cap;
};

/* Room for up to cap bytes (src gives the first contents; it may be NULL when cap is 0). */
static inline void gbuf_init(struct gbuf *b, const uint8_t *src, size_t cap)
{
    static const uint8_t none[1] = {0};
    const uint8_t *p = guard_copy(&b->g, src ? src : none, src ? cap : 0);
    ck_assert_ptr_nonnull(p);
    b->fence = (uint8_t *)p + (src ? cap : 0);
    b->cap = src ? cap : 0;
}

/* Copy n bytes so they end at the guard page; returns where they start. */
static inline const uint8_t *gbuf_place(struct gbuf *b, const uint8_t *src, size_t n)
{
    ck_assert_uint_le(n, b->cap);
    uint8_t *dst = b->fence - n;
    if (n)
        memmove(dst, src, n);
    return dst;
}

static inline void gbuf_free(struct gbuf *b)
{
    guard_free(&b->g);
}

#endif
