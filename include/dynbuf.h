/* dynbuf.h - a growable byte buffer with a hard maximum given at init (curl's dynbuf idea). */
#ifndef WSTAP_DYNBUF_H
#define WSTAP_DYNBUF_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"

struct dynbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max;             /* never grows past this */
    struct wst_budget *bud; /* charged for the allocation; NULL: none (dynbuf_init) */
};

void dynbuf_init(struct dynbuf *b, size_t max);
void dynbuf_free(struct dynbuf *b);
/* Append n bytes. Returns 0, or -1 when the maximum would be exceeded or memory ran out
 * (the buffer is unchanged then). */
int dynbuf_add(struct dynbuf *b, const void *p, size_t n);
/* Drop the first n bytes (n <= len). */
void dynbuf_consume(struct dynbuf *b, size_t n);
static inline void dynbuf_reset(struct dynbuf *b)
{
    b->len = 0;
}

#endif
