/* flow.c - bidirectional 5-tuple table: seeded hash, LRU order, id order, pooled records. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define CONN_CHUNK 256 /* records allocated together; never per packet */

struct conn_chunk {
    struct conn_chunk *next;
    struct conn rec[CONN_CHUNK];
};

int flow_init(struct flowtab *ft, uint64_t max, uint64_t seed)
{
    memset(ft, 0, sizeof *ft);
    if (max == 0)
        max = 1;
    uint64_t n = 64;
    while (n < max && n < ((uint64_t)1 << 30))
        n <<= 1;
    ft->buckets = calloc(n, sizeof *ft->buckets);
    if (!ft->buckets)
        return -1;
    ft->nbuckets = n;
    ft->max = max;
    ft->seed = seed;
    return 0;
}

void flow_free(struct flowtab *ft)
{
    struct conn_chunk *ch = ft->chunks;
    while (ch) {
        struct conn_chunk *next = ch->next;
        free(ch);
        ch = next;
    }
    free(ft->buckets);
    memset(ft, 0, sizeof *ft);
}

/* Compare two endpoints (address then port) for canonical ordering. */
static int ep_cmp(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
    int c = memcmp(a, b, 16);
    if (c != 0)
        return c;
    return (pa > pb) - (pa < pb);
}

void flow_key_make(struct flow_key *k, const struct pkt *p, bool *swapped)
{
    memset(k, 0, sizeof *k);
    k->family = p->family;
    bool sw = ep_cmp(p->src, p->sport, p->dst, p->dport) > 0;
    memcpy(k->addr[0], sw ? p->dst : p->src, 16);
    memcpy(k->addr[1], sw ? p->src : p->dst, 16);
    k->port[0] = sw ? p->dport : p->sport;
    k->port[1] = sw ? p->sport : p->dport;
    k->nvlan = p->nvlan;
    for (uint8_t i = 0; i < p->nvlan && i < WST_MAX_VLAN; i++)
        k->vlan[i] = p->vlan[i];
    *swapped = sw;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t load64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static uint64_t key_hash(const struct flow_key *k, uint64_t seed)
{
    uint64_t h = mix64(seed ^ k->family);
    for (int e = 0; e < 2; e++) {
        h = mix64(h ^ load64(k->addr[e]));
        h = mix64(h ^ load64(k->addr[e] + 8));
    }
    h = mix64(h ^ ((uint64_t)k->port[0] << 16 | k->port[1]));
    if (k->nvlan > 0) {
        uint64_t v = k->nvlan;
        for (int i = 0; i < WST_MAX_VLAN; i++)
            v = v << 12 | k->vlan[i];
        h = mix64(h ^ v);
    }
    return h;
}

static bool key_eq(const struct flow_key *a, const struct flow_key *b)
{
    return a->family == b->family && a->port[0] == b->port[0] && a->port[1] == b->port[1] &&
           memcmp(a->addr, b->addr, sizeof a->addr) == 0 && a->nvlan == b->nvlan &&
           memcmp(a->vlan, b->vlan, sizeof a->vlan) == 0;
}

struct conn *flow_lookup(struct flowtab *ft, const struct flow_key *k, uint64_t *hash)
{
    uint64_t h = key_hash(k, ft->seed);
    *hash = h;
    for (struct conn *c = ft->buckets[h & (ft->nbuckets - 1)]; c; c = c->hnext)
        if (c->hash == h && key_eq(&c->key, k))
            return c;
    return NULL;
}

static void lru_unlink(struct flowtab *ft, struct conn *c)
{
    if (c->lru_prev)
        c->lru_prev->lru_next = c->lru_next;
    else
        ft->lru_head = c->lru_next;
    if (c->lru_next)
        c->lru_next->lru_prev = c->lru_prev;
    else
        ft->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
}

static void lru_append(struct flowtab *ft, struct conn *c)
{
    c->lru_prev = ft->lru_tail;
    c->lru_next = NULL;
    if (ft->lru_tail)
        ft->lru_tail->lru_next = c;
    else
        ft->lru_head = c;
    ft->lru_tail = c;
}

void flow_touch(struct flowtab *ft, struct conn *c)
{
    if (ft->lru_tail == c)
        return;
    lru_unlink(ft, c);
    lru_append(ft, c);
}

void flow_rst_unlink(struct flowtab *ft, struct conn *c)
{
    if (!c->rst_prev && ft->rst_head != c)
        return; /* not on the list */
    if (c->rst_prev)
        c->rst_prev->rst_next = c->rst_next;
    else
        ft->rst_head = c->rst_next;
    if (c->rst_next)
        c->rst_next->rst_prev = c->rst_prev;
    else
        ft->rst_tail = c->rst_prev;
    c->rst_prev = c->rst_next = NULL;
}

void flow_rst_touch(struct flowtab *ft, struct conn *c, int64_t now)
{
    c->rst_touch_ts = now;
    if (ft->rst_tail == c)
        return;
    flow_rst_unlink(ft, c);
    c->rst_prev = ft->rst_tail;
    c->rst_next = NULL;
    if (ft->rst_tail)
        ft->rst_tail->rst_next = c;
    else
        ft->rst_head = c;
    ft->rst_tail = c;
}

static struct conn *rec_alloc(struct flowtab *ft)
{
    if (!ft->free_list) {
        struct conn_chunk *ch = malloc(sizeof *ch);
        if (!ch)
            return NULL;
        ch->next = ft->chunks;
        ft->chunks = ch;
        ft->nchunks++;
        for (int i = CONN_CHUNK - 1; i >= 0; i--) {
            ch->rec[i].hnext = ft->free_list;
            ft->free_list = &ch->rec[i];
        }
    }
    struct conn *c = ft->free_list;
    ft->free_list = c->hnext;
    return c;
}

struct conn *flow_insert(struct flowtab *ft, const struct flow_key *k, uint64_t hash)
{
    struct conn *c = rec_alloc(ft);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    c->key = *k;
    c->hash = hash;
    struct conn **b = &ft->buckets[hash & (ft->nbuckets - 1)];
    c->hnext = *b;
    *b = c;
    lru_append(ft, c);
    c->id_prev = ft->id_tail;
    if (ft->id_tail)
        ft->id_tail->id_next = c;
    else
        ft->id_head = c;
    ft->id_tail = c;
    ft->count++;
    return c;
}

void flow_remove(struct flowtab *ft, struct conn *c)
{
    struct conn **pp = &ft->buckets[c->hash & (ft->nbuckets - 1)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    lru_unlink(ft, c);
    flow_rst_unlink(ft, c);
    if (c->id_prev)
        c->id_prev->id_next = c->id_next;
    else
        ft->id_head = c->id_next;
    if (c->id_next)
        c->id_next->id_prev = c->id_prev;
    else
        ft->id_tail = c->id_prev;
    ft->count--;
    c->hnext = ft->free_list;
    ft->free_list = c;
}
