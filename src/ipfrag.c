/* ipfrag.c - bounded IPv4/IPv6 fragment reassembly: fixed slots, first copy of a byte wins. */
#include "ipfrag.h"

#include <stdlib.h>
#include <string.h>

#define FRAG_MAX_DATAGRAM 65535u                    /* bytes of fragmentable part */
#define FRAG_BLOCKS ((FRAG_MAX_DATAGRAM + 7u) / 8u) /* 8-byte units */

struct frag_slot {
    bool used;
    struct ipfrag_key key;
    int64_t first_ts;
    uint32_t total; /* known once the last fragment arrived; 0 before */
    uint32_t held;  /* bytes accounted against max_bytes */
    uint8_t *buf;   /* FRAG_MAX_DATAGRAM bytes, allocated once per slot and reused */
    uint8_t seen[(FRAG_BLOCKS + 7u) / 8u];
};

struct ipfrag {
    struct frag_slot *slots;
    uint32_t nslots;
    uint32_t max_bytes;
    uint32_t held;
    int64_t timeout_us;
    uint64_t dropped;
};

struct ipfrag *ipfrag_new(uint32_t max_datagrams, uint32_t max_bytes, int64_t timeout_us)
{
    struct ipfrag *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (max_datagrams == 0)
        max_datagrams = 1;
    f->slots = calloc(max_datagrams, sizeof *f->slots);
    if (!f->slots) {
        free(f);
        return NULL;
    }
    f->nslots = max_datagrams;
    f->max_bytes = max_bytes;
    f->timeout_us = timeout_us;
    return f;
}

void ipfrag_free(struct ipfrag *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->nslots; i++)
        free(f->slots[i].buf);
    free(f->slots);
    free(f);
}

uint64_t ipfrag_dropped(const struct ipfrag *f)
{
    return f->dropped;
}

static void slot_release(struct ipfrag *f, struct frag_slot *s)
{
    f->held -= s->held;
    s->used = false;
    s->held = 0;
    s->total = 0;
}

static bool key_eq(const struct ipfrag_key *a, const struct ipfrag_key *b)
{
    return a->family == b->family && a->proto == b->proto && a->id == b->id &&
           memcmp(a->src, b->src, sizeof a->src) == 0 &&
           memcmp(a->dst, b->dst, sizeof a->dst) == 0 && a->nvlan == b->nvlan &&
           memcmp(a->vlan, b->vlan, sizeof a->vlan) == 0;
}

static bool block_seen(const struct frag_slot *s, uint32_t b)
{
    return (s->seen[b / 8] >> (b % 8)) & 1u;
}

static void block_mark(struct frag_slot *s, uint32_t b)
{
    s->seen[b / 8] = (uint8_t)(s->seen[b / 8] | (1u << (b % 8)));
}

/* Find the datagram's slot, or claim one: a free slot, else a timed-out one, else the oldest. */
static struct frag_slot *slot_get(struct ipfrag *f, const struct ipfrag_key *k, int64_t ts)
{
    struct frag_slot *free_slot = NULL, *oldest = NULL;

    for (uint32_t i = 0; i < f->nslots; i++) {
        struct frag_slot *s = &f->slots[i];
        if (s->used && ts - s->first_ts > f->timeout_us) {
            slot_release(f, s);
            f->dropped++;
        }
        if (s->used && key_eq(&s->key, k))
            return s;
        if (!s->used && !free_slot)
            free_slot = s;
        if (s->used && (!oldest || s->first_ts < oldest->first_ts))
            oldest = s;
    }
    if (!free_slot) {
        slot_release(f, oldest);
        f->dropped++;
        free_slot = oldest;
    }
    if (!free_slot->buf) {
        free_slot->buf = malloc(FRAG_MAX_DATAGRAM);
        if (!free_slot->buf)
            return NULL;
    }
    free_slot->used = true;
    free_slot->key = *k;
    free_slot->first_ts = ts;
    free_slot->total = 0;
    free_slot->held = 0;
    memset(free_slot->seen, 0, sizeof free_slot->seen);
    return free_slot;
}

enum ipfrag_res ipfrag_add(struct ipfrag *f, const struct ipfrag_key *k, int64_t ts_us,
                           uint32_t off, bool more, const uint8_t *data, uint32_t len,
                           const uint8_t **out, uint32_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (off > FRAG_MAX_DATAGRAM || len > FRAG_MAX_DATAGRAM - off)
        return IPFRAG_BAD;
    if (more && (len == 0 || len % 8 != 0))
        return IPFRAG_BAD;
    if (len > f->max_bytes)
        return IPFRAG_LIMIT;

    struct frag_slot *s = slot_get(f, k, ts_us);
    if (!s)
        return IPFRAG_LIMIT;
    /* Make room under the byte cap by dropping other datagrams, oldest first. */
    while (f->held + len > f->max_bytes) {
        struct frag_slot *oldest = NULL;
        for (uint32_t i = 0; i < f->nslots; i++) {
            struct frag_slot *o = &f->slots[i];
            if (o->used && o != s && (!oldest || o->first_ts < oldest->first_ts))
                oldest = o;
        }
        if (!oldest) {
            slot_release(f, s);
            f->dropped++;
            return IPFRAG_LIMIT;
        }
        slot_release(f, oldest);
        f->dropped++;
    }
    if (!more) {
        uint32_t end = off + len;
        if ((s->total != 0 && s->total != end)) {
            slot_release(f, s);
            f->dropped++;
            return IPFRAG_BAD;
        }
        s->total = end;
    }
    /* Copy only 8-byte blocks not seen before: the first copy of a byte wins. */
    uint32_t first = off / 8, last = (off + len + 7) / 8;
    for (uint32_t b = first; b < last; b++) {
        if (block_seen(s, b))
            continue;
        uint32_t from = b * 8, to = from + 8;
        if (to > off + len)
            to = off + len;
        memcpy(s->buf + from, data + (from - off), to - from);
        block_mark(s, b);
    }
    s->held += len;
    f->held += len;
    if (s->total == 0)
        return IPFRAG_HELD;
    uint32_t need = (s->total + 7) / 8;
    for (uint32_t b = 0; b < need; b++)
        if (!block_seen(s, b))
            return IPFRAG_HELD;
    *out = s->buf;
    *outlen = s->total;
    slot_release(f, s); /* the buffer stays valid until this slot is claimed again */
    return IPFRAG_DONE;
}
