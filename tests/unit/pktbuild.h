/* pktbuild.h - hand-built packets for unit tests (crafted bytes, not captures), plus a
 * guard-page copier so that a one-byte over-read of a parser crashes the test. */
#ifndef WSTAP_TEST_PKTBUILD_H
#define WSTAP_TEST_PKTBUILD_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode.h"

struct seg {
    int family; /* 4 or 6 */
    const char *src, *dst; /* "10.0.0.1" style or "fd00::1"; parsed by pb_addr */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    const uint8_t *opts; /* raw TCP option bytes (multiple of 4) */
    size_t optlen;
    const uint8_t *payload;
    size_t plen;
};

static inline void pb_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void pb_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Minimal address parser for tests: dotted quad, or "fd00::N" (last group only). */
static inline void pb_addr(int family, const char *s, uint8_t *out)
{
    memset(out, 0, 16);
    if (family == 4) {
        unsigned v[4] = {0, 0, 0, 0};
        int i = 0;
        for (const char *c = s; *c && i < 4; c++) {
            if (*c == '.')
                i++;
            else
                v[i] = v[i] * 10 + (unsigned)(*c - '0');
        }
        for (i = 0; i < 4; i++)
            out[i] = (uint8_t)v[i];
    } else {
        out[0] = 0xfd;
        const char *c = strrchr(s, ':');
        unsigned v = 0;
        for (c = c ? c + 1 : s; *c; c++)
            v = v * 16 + (unsigned)(*c <= '9' ? *c - '0' : (*c | 0x20) - 'a' + 10);
        out[14] = (uint8_t)(v >> 8);
        out[15] = (uint8_t)v;
    }
}

/* TCP header + options + payload at out; returns its length. */
static inline size_t pb_tcp(uint8_t *out, const struct seg *s)
{
    size_t hl = 20 + s->optlen;
    memset(out, 0, hl);
    pb_put16(out, s->sport);
    pb_put16(out + 2, s->dport);
    pb_put32(out + 4, s->seq);
    pb_put32(out + 8, s->ack);
    out[12] = (uint8_t)((hl / 4) << 4);
    out[13] = s->flags;
    pb_put16(out + 14, s->win ? s->win : 65535);
    if (s->optlen)
        memcpy(out + 20, s->opts, s->optlen);
    if (s->plen)
        memcpy(out + hl, s->payload, s->plen);
    return hl + s->plen;
}

/* IPv4 or IPv6 header + TCP; returns the length. */
static inline size_t pb_ip(uint8_t *out, const struct seg *s)
{
    uint8_t a[16], b[16];
    pb_addr(s->family, s->src, a);
    pb_addr(s->family, s->dst, b);
    if (s->family == 4) {
        size_t tl = pb_tcp(out + 20, s);
        memset(out, 0, 20);
        out[0] = 0x45;
        pb_put16(out + 2, (uint16_t)(20 + tl));
        pb_put16(out + 6, 0x4000); /* DF */
        out[8] = 64;
        out[9] = 6;
        memcpy(out + 12, a, 4);
        memcpy(out + 16, b, 4);
        return 20 + tl;
    }
    size_t tl = pb_tcp(out + 40, s);
    memset(out, 0, 40);
    out[0] = 0x60;
    pb_put16(out + 4, (uint16_t)tl);
    out[6] = 6;
    out[7] = 64;
    memcpy(out + 8, a, 16);
    memcpy(out + 24, b, 16);
    return 40 + tl;
}

/* Ethernet frame around the IP packet. */
static inline size_t pb_eth(uint8_t *out, const struct seg *s)
{
    memset(out, 0, 14);
    out[0] = 0x02;
    out[6] = 0x02;
    out[11] = 1;
    pb_put16(out + 12, s->family == 4 ? 0x0800 : 0x86dd);
    return 14 + pb_ip(out + 14, s);
}

/* A page-aligned region whose next page is PROT_NONE. */
struct guard {
    uint8_t *base;
    size_t size;
};

static inline const uint8_t *guard_copy(struct guard *g, const uint8_t *src, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t pages = (len + (size_t)pg - 1) / (size_t)pg + 1;
    g->size = (pages + 1) * (size_t)pg;
    g->base = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->base == MAP_FAILED)
        return NULL;
    uint8_t *fence = g->base + pages * (size_t)pg;
    mprotect(fence, (size_t)pg, PROT_NONE);
    uint8_t *dst = fence - len;
    if (len)
        memcpy(dst, src, len);
    return dst;
}

static inline void guard_free(struct guard *g)
{
    munmap(g->base, g->size);
}

#endif
