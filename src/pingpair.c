/* pingpair.c - pair pongs with pings by payload (see pingpair.h). */
#include "pingpair.h"

#include <string.h>

void pingpair_ping(struct pingpair *pp, const uint8_t *p, size_t len, int64_t ts_us)
{
    if (len > PINGPAIR_MAXLEN)
        return;
    if (pp->n == PINGPAIR_RING) {
        memmove(&pp->e[0], &pp->e[1], (PINGPAIR_RING - 1) * sizeof pp->e[0]);
        pp->n--;
    }
    struct pingpair_ent *e = &pp->e[pp->n++];
    e->ts_us = ts_us;
    e->len = (uint8_t)len;
    if (len)
        memcpy(e->p, p, len);
}

/* Forget entries 0..k. */
static void drop_through(struct pingpair *pp, size_t k)
{
    size_t keep = pp->n - (k + 1);
    if (keep)
        memmove(&pp->e[0], &pp->e[k + 1], keep * sizeof pp->e[0]);
    pp->n = keep;
}

int64_t pingpair_pong(struct pingpair *pp, const uint8_t *p, size_t len, int64_t ts_us)
{
    size_t matches = 0, last = 0;
    if (len > PINGPAIR_MAXLEN)
        return -1;
    for (size_t i = 0; i < pp->n; i++) {
        if (pp->e[i].len == len && (len == 0 || memcmp(pp->e[i].p, p, len) == 0)) {
            matches++;
            last = i;
        }
    }
    if (matches == 0)
        return -1;
    int64_t rtt = ts_us - pp->e[last].ts_us;
    drop_through(pp, last);
    if (matches > 1 || rtt < 0)
        return -1;
    return rtt;
}
