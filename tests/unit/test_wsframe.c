/* test_wsframe.c - the RFC 6455 frame decoder: RFC 5.7 examples, every split point and one
 * byte at a time, unmasking from the running payload offset, header checks, guard pages. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pktbuild.h"
#include "util.h"
#include "wsframe.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Check records every passing ck_assert; hot loops check with this instead. */
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);                                     \
    } while (0)

/* A transcript of decoder events, compared between feeding patterns. */
struct tr {
    char *s;
    size_t n, cap;
};

static void tr_add(struct tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tr_add(struct tr *t, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    REQUIRE(k >= 0);
    size_t len = (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
    if (t->n + len + 1 > t->cap) {
        t->cap = (t->n + len + 1) * 2;
        t->s = realloc(t->s, t->cap);
        REQUIRE(t->s != NULL);
    }
    memcpy(t->s + t->n, line, len);
    t->n += len;
    t->s[t->n] = '\0';
}

static void tr_free(struct tr *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A reusable guard region: bytes placed so that they end right before a PROT_NONE page. */
struct gregion {
    struct guard g;
    uint8_t *fence;
};

static void gr_init(struct gregion *r, size_t max)
{
    uint8_t *zero = calloc(1, max + 1);
    ck_assert_ptr_nonnull(guard_copy(&r->g, zero, max + 1));
    free(zero);
    r->fence = r->g.base + r->g.size - (size_t)sysconf(_SC_PAGESIZE);
}

static const uint8_t *gr_place(struct gregion *r, const uint8_t *src, size_t n)
{
    uint8_t *dst = r->fence - n;
    if (n)
        memcpy(dst, src, n);
    return dst;
}

/* Build a frame: minimal length encoding, masked with key when key != NULL. */
static size_t mkframe(uint8_t *out, bool fin, unsigned rsv, unsigned op, const uint8_t *key,
                      const uint8_t *pl, size_t len)
{
    size_t o = 0;
    out[o++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
    uint8_t m = key ? 0x80 : 0;
    if (len < 126) {
        out[o++] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[o++] = m | 126;
        out[o++] = (uint8_t)(len >> 8);
        out[o++] = (uint8_t)len;
    } else {
        out[o++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[o++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (key) {
        memcpy(out + o, key, 4);
        o += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[o + i] = key ? pl[i] ^ key[i & 3] : pl[i];
    return o + len;
}

/* Decode in chunks (chunk == 0: whole), with out buffers of outcap bytes (0: no out). */
static void decode_run(const uint8_t *in, size_t len, size_t split, size_t chunk, size_t outcap,
                       bool guard, struct tr *t)
{
    struct wsf_dec d;
    struct gregion gr;
    memset(&gr, 0, sizeof gr);
    uint8_t *outbuf = outcap ? malloc(outcap) : NULL;
    uint8_t *pay = NULL;
    size_t paycap = 0, paylen = 0;
    uint64_t expect_off = 0;

    wsf_init(&d);
    if (guard)
        gr_init(&gr, len);
    size_t pos = 0;
    bool fatal = false;
    while (pos < len && !fatal) {
        size_t n = len - pos;
        if (split && pos < split)
            n = split - pos;
        else if (chunk && n > chunk)
            n = chunk;
        const uint8_t *p = guard ? gr_place(&gr, in + pos, n) : in + pos;
        size_t used = 0;
        for (;;) {
            enum wsf_ev ev;
            struct wsf_piece pc;
            size_t k = wsf_decode(&d, p + used, n - used, outbuf, outcap, &ev, &pc);
            used += k;
            if (ev == WSF_EV_NONE)
                break;
            if (ev == WSF_EV_HEADER) {
                const struct wsf_hdr *h = &d.hdr;
                tr_add(t, "H fin=%d rsv=%u op=%u mask=%d len=%" PRIu64 " hl=%u fl=%x\n", h->fin,
                       h->rsv, h->opcode, h->masked, h->len, h->hdr_len, h->flags);
                paylen = 0;
                expect_off = 0;
            } else if (ev == WSF_EV_PAYLOAD) {
                REQUIRE(pc.off == expect_off); /* contiguous, from the frame's start */
                REQUIRE(pc.len > 0);
                REQUIRE(!outcap || pc.len <= outcap);
                expect_off += pc.len;
                if (paylen + pc.len > paycap) {
                    paycap = (paylen + pc.len) * 2;
                    pay = realloc(pay, paycap);
                }
                if (pc.data)
                    memcpy(pay + paylen, pc.data, pc.len);
                else
                    memset(pay + paylen, '?', pc.len);
                paylen += pc.len;
            } else if (ev == WSF_EV_END) {
                REQUIRE(expect_off == d.hdr.len);
                if (paylen <= 40) {
                    tr_add(t, "P %zu:", paylen);
                    for (size_t i = 0; i < paylen; i++)
                        tr_add(t, "%02x", pay[i]);
                    tr_add(t, "\n");
                } else {
                    tr_add(t, "P %zu #%016" PRIx64 "\n", paylen,
                           fnv(14695981039346656037ULL, pay, paylen));
                }
            } else if (ev == WSF_EV_FATAL) {
                tr_add(t, "X nraw=%u fl=%x\n", d.nraw, d.hdr.flags);
                fatal = true;
                break;
            }
        }
        REQUIRE(fatal || used == n); /* everything consumed */
        pos += n;
    }
    tr_add(t, "S st=%d nraw=%u off=%" PRIu64 "\n", (int)d.st, d.nraw, d.off);
    if (guard)
        guard_free(&gr.g);
    free(outbuf);
    free(pay);
}

/* Feed at every split point, in chunks of 1, 2, 3, 5 and 8 bytes, with several out sizes and
 * guard pages: every transcript must equal the whole-buffer one, which must equal expect. */
static void check_all(const uint8_t *in, size_t len, const char *expect)
{
    static const size_t outcaps[] = {4096, 1, 3, 7, 8, 9, 17, 70000};
    static const size_t chunks[] = {1, 2, 3, 5, 8};
    struct tr ref = {0};

    decode_run(in, len, 0, 0, 70000, false, &ref);
    if (expect)
        ck_assert_str_eq(ref.s, expect);
    for (size_t oc = 0; oc < sizeof outcaps / sizeof outcaps[0]; oc++) {
        size_t step = len > 4096 ? 509 : 1;
        for (size_t k = 1; k < len; k += (k < 40 || len - k < 40) ? 1 : step) {
            struct tr t = {0};
            decode_run(in, len, k, 0, outcaps[oc], len <= 4096 || oc == 0, &t);
            REQUIRE(strcmp(t.s, ref.s) == 0);
            tr_free(&t);
        }
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            struct tr t = {0};
            decode_run(in, len, 0, chunks[c], outcaps[oc], len <= 4096 || oc < 2, &t);
            REQUIRE(strcmp(t.s, ref.s) == 0);
            tr_free(&t);
        }
    }
    tr_free(&ref);
}

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* ---- RFC 6455 5.7 examples ---------------------------------------------------------------- */

START_TEST(test_rfc_unmasked_hello)
{
    static const uint8_t in[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    check_all(in, sizeof in,
              "H fin=1 rsv=0 op=1 mask=0 len=5 hl=2 fl=0\nP 5:48656c6c6f\nS st=0 nraw=0 off=0\n");
}
END_TEST

START_TEST(test_rfc_masked_hello)
{
    static const uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    check_all(in, sizeof in,
              "H fin=1 rsv=0 op=1 mask=1 len=5 hl=6 fl=0\nP 5:48656c6c6f\nS st=0 nraw=0 off=0\n");
}
END_TEST

START_TEST(test_rfc_fragmented)
{
    static const uint8_t in[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    check_all(in, sizeof in,
              "H fin=0 rsv=0 op=1 mask=0 len=3 hl=2 fl=0\nP 3:48656c\n"
              "H fin=1 rsv=0 op=0 mask=0 len=2 hl=2 fl=0\nP 2:6c6f\nS st=0 nraw=0 off=0\n");
}
END_TEST

START_TEST(test_rfc_ping_pong)
{
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    check_all(ping, sizeof ping,
              "H fin=1 rsv=0 op=9 mask=0 len=5 hl=2 fl=0\nP 5:48656c6c6f\nS st=0 nraw=0 off=0\n");
    check_all(pong, sizeof pong,
              "H fin=1 rsv=0 op=10 mask=1 len=5 hl=6 fl=0\nP 5:48656c6c6f\nS st=0 nraw=0 off=0\n");
    /* a masked ping and an unmasked pong */
    uint8_t buf[32];
    size_t n = mkframe(buf, true, 0, 0x9, KEY, (const uint8_t *)"Hello", 5);
    n += mkframe(buf + n, true, 0, 0xA, NULL, (const uint8_t *)"Hello", 5);
    check_all(buf, n,
              "H fin=1 rsv=0 op=9 mask=1 len=5 hl=6 fl=0\nP 5:48656c6c6f\n"
              "H fin=1 rsv=0 op=10 mask=0 len=5 hl=2 fl=0\nP 5:48656c6c6f\n"
              "S st=0 nraw=0 off=0\n");
}
END_TEST

START_TEST(test_rfc_256_and_64k)
{
    size_t big = 65536;
    uint8_t *pl = malloc(big);
    uint8_t *in = malloc(big + 32);
    for (size_t i = 0; i < big; i++)
        pl[i] = (uint8_t)(i * 7 + 3);

    /* 256 bytes: 0x82 0x7E 0x01 0x00 */
    size_t n = mkframe(in, true, 0, 2, NULL, pl, 256);
    ck_assert_uint_eq(in[1], 0x7E);
    ck_assert_uint_eq(in[2], 0x01);
    ck_assert_uint_eq(in[3], 0x00);
    char exp[256];
    snprintf(exp, sizeof exp,
             "H fin=1 rsv=0 op=2 mask=0 len=256 hl=4 fl=0\nP 256 #%016" PRIx64
             "\nS st=0 nraw=0 off=0\n",
             fnv(14695981039346656037ULL, pl, 256));
    check_all(in, n, exp);
    n = mkframe(in, true, 0, 2, KEY, pl, 256);
    snprintf(exp, sizeof exp,
             "H fin=1 rsv=0 op=2 mask=1 len=256 hl=8 fl=0\nP 256 #%016" PRIx64
             "\nS st=0 nraw=0 off=0\n",
             fnv(14695981039346656037ULL, pl, 256));
    check_all(in, n, exp);

    /* 64 KiB: 0x82 0x7F 00 00 00 00 00 01 00 00 */
    n = mkframe(in, true, 0, 2, NULL, pl, big);
    static const uint8_t hdr64[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
    ck_assert_mem_eq(in, hdr64, sizeof hdr64);
    snprintf(exp, sizeof exp,
             "H fin=1 rsv=0 op=2 mask=0 len=65536 hl=10 fl=0\nP 65536 #%016" PRIx64
             "\nS st=0 nraw=0 off=0\n",
             fnv(14695981039346656037ULL, pl, big));
    check_all(in, n, exp);
    n = mkframe(in, true, 0, 2, KEY, pl, big);
    snprintf(exp, sizeof exp,
             "H fin=1 rsv=0 op=2 mask=1 len=65536 hl=14 fl=0\nP 65536 #%016" PRIx64
             "\nS st=0 nraw=0 off=0\n",
             fnv(14695981039346656037ULL, pl, big));
    check_all(in, n, exp);
    free(pl);
    free(in);
}
END_TEST

/* ---- unmasking ----------------------------------------------------------------------------- */

START_TEST(test_unmask_offsets)
{
    uint8_t src[80], dst[80], ref[80], inpl[80];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 31 + 1);
    for (uint64_t off = 0; off < 12; off++) {
        for (size_t n = 0; n <= 70; n++) {
            for (size_t i = 0; i < n; i++)
                ref[i] = src[i] ^ KEY[(off + i) % 4];
            memset(dst, 0xEE, sizeof dst);
            wsf_unmask(dst, src, n, KEY, off);
            ck_assert_mem_eq(dst, ref, n);
            ck_assert_uint_eq(dst[n], 0xEE); /* nothing written past n */
            memcpy(inpl, src, n);
            wsf_unmask(inpl, inpl, n, KEY, off);
            ck_assert_mem_eq(inpl, ref, n);
        }
    }
    /* a huge offset: only off % 4 matters */
    wsf_unmask(dst, src, 20, KEY, (1ULL << 62) + 3);
    wsf_unmask(ref, src, 20, KEY, 3);
    ck_assert_mem_eq(dst, ref, 20);
}
END_TEST

/* The mask index follows the frame offset, not the chunk offset: masked payload decoded with
 * odd out sizes at odd split points equals the plain text (covered by check_all), and here
 * the decoder is driven by hand with pieces that start at every offset. */
START_TEST(test_unmask_running_offset)
{
    uint8_t pl[300], in[320], out[300];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)('a' + i % 26);
    size_t n = mkframe(in, true, 0, 1, KEY, pl, sizeof pl);
    for (size_t first = 1; first < 20; first++) {
        struct wsf_dec d;
        enum wsf_ev ev;
        struct wsf_piece pc;
        wsf_init(&d);
        size_t used = wsf_decode(&d, in, n, NULL, 0, &ev, &pc);
        ck_assert_int_eq(ev, WSF_EV_HEADER);
        size_t got = 0;
        size_t piece = first;
        while (got < sizeof pl) {
            size_t k = wsf_decode(&d, in + used, n - used, out + got, piece, &ev, &pc);
            ck_assert_int_eq(ev, WSF_EV_PAYLOAD);
            ck_assert_uint_eq(pc.off, got);
            used += k;
            got += pc.len;
            piece = piece % 13 + 1;
        }
        ck_assert_mem_eq(out, pl, sizeof pl);
        wsf_decode(&d, in + used, n - used, NULL, 0, &ev, &pc);
        ck_assert_int_eq(ev, WSF_EV_END);
    }
}
END_TEST

/* Without an out buffer a masked frame is skipped (data NULL), an unmasked one zero-copy. */
START_TEST(test_no_out)
{
    uint8_t in[32];
    size_t n = mkframe(in, true, 0, 2, KEY, (const uint8_t *)"abcdef", 6);
    struct wsf_dec d;
    enum wsf_ev ev;
    struct wsf_piece pc;
    wsf_init(&d);
    size_t used = wsf_decode(&d, in, n, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_HEADER);
    used += wsf_decode(&d, in + used, n - used, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_PAYLOAD);
    ck_assert_ptr_null(pc.data);
    ck_assert_uint_eq(pc.len, 6);
    ck_assert_uint_eq(used, n);

    n = mkframe(in, true, 0, 2, NULL, (const uint8_t *)"abcdef", 6);
    wsf_init(&d);
    used = wsf_decode(&d, in, n, NULL, 0, &ev, &pc);
    used += wsf_decode(&d, in + used, n - used, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_PAYLOAD);
    ck_assert_ptr_eq(pc.data, in + 2);
    wsf_decode(&d, in + used, n - used, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_END);
}
END_TEST

/* ---- header checks ------------------------------------------------------------------------- */

START_TEST(test_nonminimal_lengths)
{
    /* 5 bytes in the 16-bit form, 300 bytes in the 64-bit form: flagged, decoded */
    uint8_t in[400];
    size_t n = 0;
    in[n++] = 0x82;
    in[n++] = 126;
    in[n++] = 0;
    in[n++] = 5;
    memcpy(in + n, "abcde", 5);
    n += 5;
    in[n++] = 0x82;
    in[n++] = 127;
    for (int i = 0; i < 6; i++)
        in[n++] = 0;
    in[n++] = 0x01;
    in[n++] = 0x2C;
    memset(in + n, 'z', 300);
    n += 300;
    struct tr t = {0};
    decode_run(in, n, 0, 0, 4096, false, &t);
    ck_assert_ptr_nonnull(strstr(t.s, "H fin=1 rsv=0 op=2 mask=0 len=5 hl=4 fl=1\n"));
    ck_assert_ptr_nonnull(strstr(t.s, "H fin=1 rsv=0 op=2 mask=0 len=300 hl=10 fl=1\n"));
    tr_free(&t);
    check_all(in, n, NULL);
}
END_TEST

START_TEST(test_len_top_bit_fatal)
{
    static const uint8_t in[] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x00};
    check_all(in, sizeof in, "X nraw=10 fl=2\nS st=5 nraw=10 off=0\n");
    struct wsf_dec d;
    enum wsf_ev ev;
    struct wsf_piece pc;
    wsf_init(&d);
    size_t used = wsf_decode(&d, in, sizeof in, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_FATAL);
    ck_assert_uint_eq(used, 10);
    ck_assert_mem_eq(d.raw, in, 10); /* the header bytes, for a resync to rescan */
    /* stays fatal until re-initialised */
    ck_assert_uint_eq(wsf_decode(&d, in + used, 2, NULL, 0, &ev, &pc), 0);
    ck_assert_int_eq(ev, WSF_EV_FATAL);
    struct wsf_hdr h;
    ck_assert_int_eq(wsf_peek_header(in, sizeof in, &h), -1);
    /* 2^63 - 1 is legal */
    static const uint8_t ok[] = {0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    ck_assert_int_eq(wsf_peek_header(ok, sizeof ok, &h), 10);
    ck_assert_uint_eq(h.len, 0x7FFFFFFFFFFFFFFFULL);
    ck_assert_uint_eq(h.flags, 0);
}
END_TEST

START_TEST(test_control_checks)
{
    struct wsf_hdr h;
    static const uint8_t frag_ping[] = {0x09, 0x00};
    ck_assert_int_eq(wsf_peek_header(frag_ping, 2, &h), 2);
    ck_assert_uint_eq(h.flags, WSF_F_CTRL_FRAG);

    uint8_t in[200];
    uint8_t pl[126];
    memset(pl, 'p', sizeof pl);
    size_t n = mkframe(in, true, 0, 0x9, NULL, pl, 126);
    ck_assert_int_eq(wsf_peek_header(in, n, &h), 4);
    ck_assert_uint_eq(h.flags, WSF_F_CTRL_LONG);
    check_all(in, n, NULL);
    n = mkframe(in, true, 0, 0x8, NULL, pl, 125);
    ck_assert_int_eq(wsf_peek_header(in, n, &h), 2);
    ck_assert_uint_eq(h.flags, 0);
    /* a control frame with a non-minimal 16-bit length of 5: non-minimal, not long */
    static const uint8_t nm[] = {0x89, 126, 0, 5, 1, 2, 3, 4, 5};
    ck_assert_int_eq(wsf_peek_header(nm, sizeof nm, &h), 4);
    ck_assert_uint_eq(h.flags, WSF_F_NONMINIMAL);
}
END_TEST

START_TEST(test_reserved_opcodes)
{
    for (unsigned op = 0; op < 16; op++) {
        uint8_t in[2] = {(uint8_t)(0x80 | op), 0};
        struct wsf_hdr h;
        ck_assert_int_eq(wsf_peek_header(in, 2, &h), 2);
        bool known = op <= 2 || (op >= 8 && op <= 10);
        ck_assert_int_eq((h.flags & WSF_F_BAD_OPCODE) != 0, !known);
        ck_assert_int_eq(wsf_opcode_known(op), known);
    }
    static const uint8_t rsv[] = {0xF1, 0x00};
    struct wsf_hdr h;
    ck_assert_int_eq(wsf_peek_header(rsv, 2, &h), 2);
    ck_assert_uint_eq(h.rsv, 7);
    ck_assert_uint_eq(h.opcode, 1);
}
END_TEST

/* Every prefix of a header is "need more", placed before a PROT_NONE page. */
START_TEST(test_peek_prefixes_guard)
{
    uint8_t in[64];
    size_t lens[] = {0, 5, 125, 126, 300, 65535, 65536, 100000};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        for (int masked = 0; masked < 2; masked++) {
            /* header only: build with a dummy payload pointer and keep the header bytes */
            uint8_t hdr[WSF_MAX_HDR];
            size_t hl = 2 + (lens[li] >= 126 ? (lens[li] > 0xFFFF ? 8 : 2) : 0) + 4u * masked;
            hdr[0] = 0x82;
            hdr[1] = (uint8_t)((masked ? 0x80 : 0) | (lens[li] < 126      ? lens[li]
                                                      : lens[li] > 0xFFFF ? 127
                                                                          : 126));
            size_t o = 2;
            if (lens[li] >= 126 && lens[li] <= 0xFFFF) {
                hdr[o++] = (uint8_t)(lens[li] >> 8);
                hdr[o++] = (uint8_t)lens[li];
            } else if (lens[li] > 0xFFFF) {
                for (int i = 7; i >= 0; i--)
                    hdr[o++] = (uint8_t)((uint64_t)lens[li] >> (8 * i));
            }
            if (masked)
                memcpy(hdr + o, KEY, 4);
            memcpy(in, hdr, hl);
            for (size_t k = 0; k <= hl; k++) {
                struct guard g;
                const uint8_t *p = guard_copy(&g, in, k);
                ck_assert_ptr_nonnull(p);
                struct wsf_hdr h;
                int r = wsf_peek_header(p, k, &h);
                ck_assert_int_eq(r, k == hl ? (int)hl : 0);
                if (k == hl) {
                    ck_assert_uint_eq(h.len, lens[li]);
                    ck_assert_int_eq(h.masked, masked);
                }
                /* the stateful decoder on the same prefix */
                struct wsf_dec d;
                enum wsf_ev ev;
                struct wsf_piece pc;
                wsf_init(&d);
                ck_assert_uint_eq(wsf_decode(&d, p, k, NULL, 0, &ev, &pc), k);
                ck_assert_int_eq(ev, k == hl ? WSF_EV_HEADER : WSF_EV_NONE);
                guard_free(&g);
            }
        }
    }
}
END_TEST

/* Whole frames on every prefix, guard-paged: no read past the end, consistent states. */
START_TEST(test_frames_every_prefix_guard)
{
    uint8_t in[600];
    uint8_t pl[300];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)i;
    size_t n = mkframe(in, false, 0, 1, KEY, pl, 3);
    n += mkframe(in + n, true, 0, 9, NULL, pl, 0);
    n += mkframe(in + n, true, 0, 0, KEY, pl, 300);
    n += mkframe(in + n, true, 4, 2, NULL, pl, 10);
    for (size_t k = 0; k <= n; k++) {
        struct tr t = {0};
        decode_run(in, k, 0, 0, 64, true, &t);
        decode_run(in, k, 0, 1, 3, true, &t);
        tr_free(&t);
    }
    check_all(in, n, NULL);
}
END_TEST

START_TEST(test_skip_and_zero_length)
{
    uint8_t in[64];
    size_t n = mkframe(in, true, 0, 2, NULL, (const uint8_t *)"0123456789", 10);
    struct wsf_dec d;
    enum wsf_ev ev;
    struct wsf_piece pc;
    wsf_init(&d);
    ck_assert(wsf_at_boundary(&d));
    size_t used = wsf_decode(&d, in, 5, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_HEADER);
    used += wsf_decode(&d, in + used, 5 - used, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_PAYLOAD);
    ck_assert_uint_eq(wsf_remaining(&d), 7);
    wsf_skip(&d, 4); /* a capture gap of 4 bytes */
    ck_assert_uint_eq(wsf_remaining(&d), 3);
    used = wsf_decode(&d, in + 9, n - 9, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_PAYLOAD);
    ck_assert_uint_eq(pc.off, 7);
    ck_assert_uint_eq(pc.len, 3);
    ck_assert_mem_eq(pc.data, "789", 3);
    wsf_decode(&d, in + n, 0, NULL, 0, &ev, &pc);
    ck_assert_int_eq(ev, WSF_EV_END);
    ck_assert(wsf_at_boundary(&d));
    (void)used;

    /* zero-length frames: HEADER then END with nothing consumed */
    static const uint8_t z[] = {0x81, 0x00, 0x8A, 0x80, 1, 2, 3, 4};
    check_all(z, sizeof z,
              "H fin=1 rsv=0 op=1 mask=0 len=0 hl=2 fl=0\nP 0:\n"
              "H fin=1 rsv=0 op=10 mask=1 len=0 hl=6 fl=0\nP 0:\nS st=0 nraw=0 off=0\n");
}
END_TEST

static Suite *wsframe_suite(void)
{
    Suite *s = suite_create("wsframe");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rfc_unmasked_hello);
    tcase_add_test(tc, test_rfc_masked_hello);
    tcase_add_test(tc, test_rfc_fragmented);
    tcase_add_test(tc, test_rfc_ping_pong);
    tcase_add_test(tc, test_rfc_256_and_64k);
    tcase_add_test(tc, test_unmask_offsets);
    tcase_add_test(tc, test_unmask_running_offset);
    tcase_add_test(tc, test_no_out);
    tcase_add_test(tc, test_nonminimal_lengths);
    tcase_add_test(tc, test_len_top_bit_fatal);
    tcase_add_test(tc, test_control_checks);
    tcase_add_test(tc, test_reserved_opcodes);
    tcase_add_test(tc, test_peek_prefixes_guard);
    tcase_add_test(tc, test_frames_every_prefix_guard);
    tcase_add_test(tc, test_skip_and_zero_length);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(wsframe_suite());
}
