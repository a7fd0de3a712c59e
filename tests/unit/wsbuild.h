/* wsbuild.h - building WebSocket byte streams for the unit tests (test_wsmsg, test_wsmid):
 * a growable byte string and RFC 6455 frames with minimal lengths, masked or not. */
#ifndef WSTAP_TEST_WSBUILD_H
#define WSTAP_TEST_WSBUILD_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A byte string being built. */
struct wb {
    uint8_t *p;
    size_t n, cap;
};

static inline void wb_raw(struct wb *w, const void *src, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->p = realloc(w->p, w->cap);
        ck_assert_ptr_nonnull(w->p);
    }
    if (n)
        memcpy(w->p + w->n, src, n);
    w->n += n;
}

static inline void wb_free(struct wb *w)
{
    free(w->p);
    memset(w, 0, sizeof *w);
}

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A frame with a minimal length; masked with key when key != NULL. */
static inline void wb_frame(struct wb *w, bool fin, unsigned rsv, unsigned op,
                            const uint8_t *key, const void *payload, size_t len)
{
    uint8_t h[14];
    size_t o = 0;
    h[o++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
    uint8_t m = key ? 0x80 : 0;
    if (len < 126) {
        h[o++] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        h[o++] = m | 126;
        h[o++] = (uint8_t)(len >> 8);
        h[o++] = (uint8_t)len;
    } else {
        h[o++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[o++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (key) {
        memcpy(h + o, key, 4);
        o += 4;
    }
    wb_raw(w, h, o);
    size_t at = w->n;
    wb_raw(w, payload, len);
    if (key)
        for (size_t i = 0; i < len; i++)
            w->p[at + i] ^= key[i & 3];
}

#endif
