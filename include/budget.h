/* budget.h - one shared cap on the bytes the application layers hold across all connections
 * (HTTP heads, bytes held while deciding, WebSocket messages and their resync buffers, zlib
 * inflaters). Buffers charge their allocation here before growing; a refused charge behaves
 * as an allocation failure, which every caller already reports. NULL means no budget. */
#ifndef WSTAP_BUDGET_H
#define WSTAP_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wst_budget {
    size_t used;
    size_t max;
    size_t peak;
    uint64_t refused; /* charges refused at the cap */
};

static inline bool budget_take(struct wst_budget *b, size_t n)
{
    if (!b)
        return true;
    if (n > b->max - b->used) {
        b->refused++;
        return false;
    }
    b->used += n;
    if (b->used > b->peak)
        b->peak = b->used;
    return true;
}

static inline void budget_give(struct wst_budget *b, size_t n)
{
    if (!b)
        return;
    b->used = n > b->used ? 0 : b->used - n;
}

/* zlib allocators charging a budget (z_stream.opaque = the budget). */
void *budget_zalloc(void *opaque, unsigned items, unsigned size);
void budget_zfree(void *opaque, void *p);

#endif
