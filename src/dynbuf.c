/* dynbuf.c - a growable byte buffer with a hard maximum; grows by doubling, reused after reset. */
#include "dynbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void dynbuf_init(struct dynbuf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->bud = NULL;
}

void dynbuf_free(struct dynbuf *b)
{
    free(b->p);
    budget_give(b->bud, b->cap);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

int dynbuf_add(struct dynbuf *b, const void *p, size_t n)
{
    if (n > b->max - b->len)
        return -1;
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n)
            ncap *= 2;
        if (ncap > b->max)
            ncap = b->max;
        if (!budget_take(b->bud, ncap - b->cap))
            return -1;
        uint8_t *np = realloc(b->p, ncap);
        if (!np) {
            budget_give(b->bud, ncap - b->cap);
            return -1;
        }
        b->p = np;
        b->cap = ncap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

void dynbuf_consume(struct dynbuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

void *budget_zalloc(void *opaque, unsigned items, unsigned size)
{
    if (size != 0 && items > (SIZE_MAX - sizeof(max_align_t)) / size)
        return NULL;
    size_t n = (size_t)items * size + sizeof(max_align_t);
    if (!budget_take(opaque, n))
        return NULL;
    max_align_t *h = malloc(n);
    if (!h) {
        budget_give(opaque, n);
        return NULL;
    }
    *(size_t *)(void *)h = n;
    return h + 1;
}

void budget_zfree(void *opaque, void *p)
{
    if (!p)
        return;
    max_align_t *h = (max_align_t *)p - 1;
    budget_give(opaque, *(size_t *)(void *)h);
    free(h);
}
