/* test_pmd.c - permessage-deflate inflation: the RFC 7692 7.2.3 examples, context takeover and
 * no_context_takeover, window bits, every split point, guard pages, a decompression bomb,
 * and lost-context detection and recovery after a gap. */
#define ZLIB_CONST
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

#include "pktbuild.h"
#include "pmd.h"
#include "util.h"

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);                                     \
    } while (0)

/* ---- a sender: raw deflate with Z_SYNC_FLUSH, the trailing 00 00 ff ff stripped ----------- */

struct sender {
    z_stream zs;
    bool no_ctx;
};

static void sender_init(struct sender *s, int wbits, bool no_ctx)
{
    memset(s, 0, sizeof *s);
    s->no_ctx = no_ctx;
    ck_assert_int_eq(
        deflateInit2(&s->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -wbits, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
}

static void sender_free(struct sender *s)
{
    deflateEnd(&s->zs);
}

/* Compress one message into out (cap bytes); returns its length. */
static size_t sender_msg(struct sender *s, const void *in, size_t len, uint8_t *out, size_t cap)
{
    if (s->no_ctx)
        deflateReset(&s->zs);
    s->zs.next_in = in;
    s->zs.avail_in = (uInt)len;
    s->zs.next_out = out;
    s->zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&s->zs, Z_SYNC_FLUSH), Z_OK);
    ck_assert_uint_eq(s->zs.avail_in, 0);
    ck_assert_uint_gt(s->zs.avail_out, 0);
    size_t n = cap - s->zs.avail_out;
    ck_assert_uint_ge(n, 4);
    static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
    ck_assert_mem_eq(out + n - 4, tail, 4);
    return n - 4;
}

static int inflate_str(struct pmd *z, const uint8_t *in, size_t len, struct pmd_buf *out,
                       const char *expect)
{
    out->len = 0;
    int st = pmd_inflate_msg(z, in, len, out);
    if (expect && st == PMD_OK) {
        ck_assert_uint_eq(out->len, strlen(expect));
        ck_assert_mem_eq(out->p, expect, out->len);
    }
    return st;
}

/* ---- RFC 7692 7.2.3 ---------------------------------------------------------------------- */

static const uint8_t HELLO_Z[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
static const uint8_t HELLO_Z2[] = {0xf2, 0x00, 0x11, 0x00, 0x00}; /* with the window */

START_TEST(test_rfc_hello)
{
    struct pmd *z = pmd_new(-1, false);
    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 20);
    ck_assert_int_eq(inflate_str(z, HELLO_Z, sizeof HELLO_Z, &out, "Hello"), PMD_OK);
    /* 7.2.3.2: the same message again, sharing the LZ77 window */
    ck_assert_int_eq(inflate_str(z, HELLO_Z2, sizeof HELLO_Z2, &out, "Hello"), PMD_OK);
    ck_assert_int_eq(inflate_str(z, HELLO_Z2, sizeof HELLO_Z2, &out, "Hello"), PMD_OK);
    pmd_free(z);

    /* 7.2.3.3: a stored (uncompressed) block */
    static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                     0x65, 0x6c, 0x6c, 0x6f, 0x00};
    z = pmd_new(15, false);
    ck_assert_int_eq(inflate_str(z, stored, sizeof stored, &out, "Hello"), PMD_OK);
    pmd_free(z);

    /* 7.2.3.4: BFINAL set */
    static const uint8_t bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    z = pmd_new(15, false);
    ck_assert_int_eq(inflate_str(z, bfinal, sizeof bfinal, &out, "Hello"), PMD_OK);
    /* the next message is a new DEFLATE stream */
    ck_assert_int_eq(inflate_str(z, HELLO_Z, sizeof HELLO_Z, &out, "Hello"), PMD_OK);
    pmd_free(z);

    /* 7.2.3.5: two DEFLATE blocks in one message */
    static const uint8_t two[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff,
                                  0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00};
    z = pmd_new(15, false);
    ck_assert_int_eq(inflate_str(z, two, sizeof two, &out, "Hello"), PMD_OK);
    pmd_free(z);
    pmd_buf_free(&out);
}
END_TEST

START_TEST(test_no_context_takeover)
{
    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 20);
    /* negotiated: every message stands alone */
    struct pmd *z = pmd_new(15, true);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(inflate_str(z, HELLO_Z, sizeof HELLO_Z, &out, "Hello"), PMD_OK);
    /* a sender that references the previous message anyway: invalid DEFLATE here */
    ck_assert_int_eq(inflate_str(z, HELLO_Z2, sizeof HELLO_Z2, &out, NULL), PMD_ERROR);
    ck_assert_int_eq(inflate_str(z, HELLO_Z, sizeof HELLO_Z, &out, "Hello"), PMD_OK);
    /* and a gap changes nothing */
    pmd_lose(z);
    ck_assert(!pmd_history_lost(z));
    ck_assert_int_eq(inflate_str(z, HELLO_Z, sizeof HELLO_Z, &out, "Hello"), PMD_OK);
    pmd_free(z);

    /* zlib senders, both ways */
    struct sender s;
    uint8_t c[256];
    for (int nct = 0; nct < 2; nct++) {
        sender_init(&s, 15, nct);
        z = pmd_new(15, nct);
        for (int i = 0; i < 5; i++) {
            size_t n = sender_msg(&s, "a repeated message, a repeated message", 38, c, sizeof c);
            ck_assert_int_eq(inflate_str(z, c, n, &out, "a repeated message, a repeated message"),
                             PMD_OK);
        }
        pmd_free(z);
        sender_free(&s);
    }
    pmd_buf_free(&out);
}
END_TEST

/* Every split point, pieces fed from guard pages: the same output. */
START_TEST(test_split_points_guard)
{
    size_t plen = 5000;
    uint8_t *plain = malloc(plen);
    for (size_t i = 0; i < plen; i++)
        plain[i] = (uint8_t)("abcdefgh ijk lmnop"[i % 18] + (i / 1000));
    uint8_t c[8192];
    struct sender s;
    sender_init(&s, 15, false);
    size_t n1 = sender_msg(&s, plain, plen, c, sizeof c);
    size_t n2 = sender_msg(&s, plain, plen, c + n1, sizeof c - n1); /* refers to the first */
    sender_free(&s);

    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 20);
    for (size_t k = 0; k <= n1; k++) {
        struct pmd *z = pmd_new(15, false);
        struct guard g1, g2;
        const uint8_t *a = guard_copy(&g1, c, k);
        const uint8_t *b = guard_copy(&g2, c + k, n1 - k);
        out.len = 0;
        pmd_begin(z);
        REQUIRE(pmd_feed(z, a, k, &out) == PMD_OK);
        REQUIRE(pmd_feed(z, b, n1 - k, &out) == PMD_OK);
        REQUIRE(pmd_end(z, &out) == PMD_OK);
        REQUIRE(out.len == plen && memcmp(out.p, plain, plen) == 0);
        guard_free(&g1);
        guard_free(&g2);
        /* the second message, one byte at a time */
        if (k % 97 == 0) {
            out.len = 0;
            pmd_begin(z);
            for (size_t i = 0; i < n2; i++) {
                const uint8_t *p = guard_copy(&g1, c + n1 + i, 1);
                REQUIRE(pmd_feed(z, p, 1, &out) == PMD_OK);
                guard_free(&g1);
            }
            REQUIRE(pmd_end(z, &out) == PMD_OK);
            REQUIRE(out.len == plen && memcmp(out.p, plain, plen) == 0);
        }
        pmd_free(z);
    }
    pmd_buf_free(&out);
    free(plain);
}
END_TEST

START_TEST(test_window_bits)
{
    /* a repeat 10000 bytes back: fine with a 15-bit window, too far back for 9 bits */
    size_t plen = 10100;
    uint8_t *plain = malloc(plen);
    srand(7);
    for (size_t i = 0; i < 10000; i++)
        plain[i] = (uint8_t)rand();
    memcpy(plain + 10000, plain, 100);
    uint8_t *c = malloc(20000);
    struct sender s;
    sender_init(&s, 15, false);
    size_t n = sender_msg(&s, plain, plen, c, 20000);
    sender_free(&s);
    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 20);
    struct pmd *z = pmd_new(15, false);
    out.len = 0;
    ck_assert_int_eq(pmd_inflate_msg(z, c, n, &out), PMD_OK);
    ck_assert_mem_eq(out.p, plain, plen);
    pmd_free(z);
    /* a 9-bit inflater keeps a 512-byte window: the repeat, fed after its source, is too far
     * back (zlib checks distances against the window only, not within one call's output) */
    z = pmd_new(9, false);
    out.len = 0;
    pmd_begin(z);
    ck_assert_int_eq(pmd_feed(z, c, n / 2, &out), PMD_OK);
    ck_assert_int_eq(pmd_feed(z, c + n / 2, n - n / 2, &out), PMD_ERROR);
    ck_assert_int_eq(pmd_end(z, &out), PMD_ERROR);
    pmd_free(z);

    /* a sender that honours 9 bits (and zlib's "8", which is 9) */
    for (int bits = 8; bits <= 9; bits++) {
        sender_init(&s, 9, false); /* zlib cannot deflate raw with 8 bits: it would use 9 */
        z = pmd_new(bits, false);
        for (int i = 0; i < 3; i++) {
            n = sender_msg(&s, plain, plen, c, 20000);
            out.len = 0;
            ck_assert_int_eq(pmd_inflate_msg(z, c, n, &out), PMD_OK);
            ck_assert_uint_eq(out.len, plen);
            ck_assert_mem_eq(out.p, plain, plen);
        }
        pmd_free(z);
        sender_free(&s);
    }
    free(c);
    free(plain);
    pmd_buf_free(&out);
}
END_TEST

/* ---- the cap --------------------------------------------------------------------------------- */

/* 1 GB of zeros, compressed (about 1 MB). */
static uint8_t *make_bomb(size_t *len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = 2u << 20;
    uint8_t *out = malloc(cap);
    uint8_t *zeros = calloc(1, 1 << 20);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    for (int i = 0; i < 1024; i++) {
        zs.next_in = zeros;
        zs.avail_in = 1 << 20;
        ck_assert_int_eq(deflate(&zs, Z_NO_FLUSH), Z_OK);
    }
    ck_assert_int_eq(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
    *len = cap - zs.avail_out - 4;
    deflateEnd(&zs);
    free(zeros);
    return out;
}

START_TEST(test_bomb)
{
    size_t blen;
    uint8_t *bomb = make_bomb(&blen);
    ck_assert_uint_lt(blen, 1100000);
    size_t caps[] = {1u << 20, 16u << 20};
    for (size_t i = 0; i < 2; i++) {
        struct pmd_buf out;
        pmd_buf_init(&out, caps[i]);
        struct pmd *z = pmd_new(15, false);
        clock_t t0 = clock();
        pmd_begin(z);
        int st = PMD_OK;
        /* fed in 1000-byte pieces as frames would arrive */
        for (size_t o = 0; o < blen && st == PMD_OK; o += 1000)
            st = pmd_feed(z, bomb + o, blen - o < 1000 ? blen - o : 1000, &out);
        ck_assert_int_eq(st, PMD_TOO_BIG);
        /* later pieces are ignored, the end repeats the outcome */
        ck_assert_int_eq(pmd_feed(z, bomb, 1000, &out), PMD_TOO_BIG);
        ck_assert_int_eq(pmd_end(z, &out), PMD_TOO_BIG);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        ck_assert_uint_eq(out.len, caps[i]);
        ck_assert_uint_le(out.cap, caps[i]); /* memory never grew past the cap */
        for (size_t k = 0; k < out.len; k += 4099)
            REQUIRE(out.p[k] == 0);
        ck_assert_msg(secs < 2.0, "the bomb took %.2f s", secs);
        /* the context is lost now: the next message runs in lost mode and recovers */
        ck_assert_int_eq(inflate_str(z, HELLO_Z, sizeof HELLO_Z, &out, "Hello"), PMD_OK);
        ck_assert(pmd_history_lost(z));
        pmd_free(z);
        pmd_buf_free(&out);
    }
    /* one shot */
    struct pmd_buf out;
    pmd_buf_init(&out, 4096);
    struct pmd *z = pmd_new(15, true);
    ck_assert_int_eq(pmd_inflate_msg(z, bomb, blen, &out), PMD_TOO_BIG);
    ck_assert_uint_eq(out.len, 4096);
    ck_assert_int_eq(inflate_str(z, HELLO_Z, sizeof HELLO_Z, &out, "Hello"), PMD_OK);
    pmd_free(z);
    pmd_buf_free(&out);
    free(bomb);
}
END_TEST

START_TEST(test_exact_cap)
{
    uint8_t plain[1000], c[2000];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t)(i % 251);
    struct sender s;
    sender_init(&s, 15, true);
    size_t n = sender_msg(&s, plain, sizeof plain, c, sizeof c);
    sender_free(&s);
    for (size_t cap = 995; cap <= 1005; cap++) {
        struct pmd_buf out;
        pmd_buf_init(&out, cap);
        struct pmd *z = pmd_new(15, true);
        int st = pmd_inflate_msg(z, c, n, &out);
        ck_assert_int_eq(st, cap >= sizeof plain ? PMD_OK : PMD_TOO_BIG);
        ck_assert_uint_eq(out.len, cap < sizeof plain ? cap : sizeof plain);
        ck_assert_mem_eq(out.p, plain, out.len);
        pmd_free(z);
        pmd_buf_free(&out);
    }
}
END_TEST

START_TEST(test_invalid_data)
{
    static const uint8_t bad[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 16);
    struct pmd *z = pmd_new(15, false);
    ck_assert_int_eq(inflate_str(z, bad, sizeof bad, &out, NULL), PMD_ERROR);
    /* the history is unknown after it: a self-contained message is still fine */
    ck_assert_int_eq(inflate_str(z, HELLO_Z, sizeof HELLO_Z, &out, "Hello"), PMD_OK);
    ck_assert(pmd_history_lost(z));
    /* and one that copies from it is too */
    ck_assert_int_eq(inflate_str(z, HELLO_Z2, sizeof HELLO_Z2, &out, "Hello"), PMD_OK);
    pmd_free(z);
    pmd_buf_free(&out);
}
END_TEST

/* ---- lost context ---------------------------------------------------------------------------- */

static const char *const LOSTMSG[] = {
    "The quick brown fox jumps over the lazy dog 0123456789", /* M0: seen */
    "SECRET-abcdefghijklmnopqrstuvwxyz-SECRET",               /* M1: lost in a gap */
    "SECRET-abcdefghijklmnopqrstuvwxyz-SECRET, once more",    /* M2: copies M1: lost */
    "Zebra! Vivid QUAKE wax; jgmp yk",                        /* M3: all new: fine */
    "Zebra! Vivid QUAKE wax; jgmp yk",                        /* M4: copies M3: fine */
    "The quick brown fox jumps over the lazy dog 0123456789", /* M5: copies M0: lost */
    "Zebra! Vivid QUAKE wax; jgmp yk",                        /* M6: copies M3/M4: fine */
};

START_TEST(test_lost_context_recovery)
{
    struct sender s;
    uint8_t c[7][256];
    size_t n[7];
    sender_init(&s, 15, false);
    for (int i = 0; i < 7; i++)
        n[i] = sender_msg(&s, LOSTMSG[i], strlen(LOSTMSG[i]), c[i], sizeof c[i]);
    sender_free(&s);

    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 16);
    struct pmd *z = pmd_new(15, false);
    ck_assert_int_eq(inflate_str(z, c[0], n[0], &out, LOSTMSG[0]), PMD_OK);
    ck_assert(!pmd_history_lost(z));
    pmd_lose(z); /* M1 fell into a capture gap */
    static const int expect[7] = {0, 0, PMD_LOST, PMD_OK, PMD_OK, PMD_LOST, PMD_OK};
    for (int i = 2; i < 7; i++) {
        out.len = 0;
        int st = pmd_inflate_msg(z, c[i], n[i], &out);
        ck_assert_msg(st == expect[i], "message %d: %d, expected %d", i, st, expect[i]);
        /* the decoded length is exact even when the bytes are unknown */
        ck_assert_uint_eq(out.len, strlen(LOSTMSG[i]));
        if (st == PMD_OK)
            ck_assert_mem_eq(out.p, LOSTMSG[i], out.len);
        ck_assert(pmd_history_lost(z)); /* still under 32 KiB of clean output */
    }
    pmd_free(z);
    pmd_buf_free(&out);
}
END_TEST

/* Lost mode ends once a window's worth of correct output has passed. */
START_TEST(test_lost_mode_ends)
{
    size_t plen = 40000;
    uint8_t *plain = malloc(plen);
    srand(11);
    for (size_t i = 0; i < plen; i++)
        plain[i] = (uint8_t)('A' + rand() % 26); /* nothing in common with the prefix */
    uint8_t *c = malloc(2 * plen);
    struct sender s;
    sender_init(&s, 15, false);
    size_t n0 = sender_msg(&s, "prefix message", 14, c, 2 * plen);
    (void)n0;
    size_t n1 = sender_msg(&s, plain, plen, c, 2 * plen); /* no reference to the prefix */
    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 20);
    struct pmd *z = pmd_new(15, false);
    pmd_lose(z); /* as if picked up mid-stream, after the prefix */
    out.len = 0;
    ck_assert_int_eq(pmd_inflate_msg(z, c, n1, &out), PMD_OK);
    ck_assert_mem_eq(out.p, plain, plen);
    ck_assert(!pmd_history_lost(z)); /* 40000 clean bytes >= the 32 KiB window */
    /* from now on the stream is back to one inflater; more messages decode */
    for (int i = 0; i < 3; i++) {
        size_t n = sender_msg(&s, plain + 100, 5000, c, 2 * plen);
        out.len = 0;
        ck_assert_int_eq(pmd_inflate_msg(z, c, n, &out), PMD_OK);
        ck_assert_mem_eq(out.p, plain + 100, 5000);
    }
    sender_free(&s);
    pmd_free(z);
    pmd_buf_free(&out);
    free(plain);
    free(c);
}
END_TEST

/* A gap inside a message: what was inflated is right, the context is lost after it. */
START_TEST(test_abort_mid_message)
{
    struct sender s;
    uint8_t c[3][256];
    size_t n[3];
    sender_init(&s, 15, false);
    n[0] = sender_msg(&s, "alpha beta gamma delta", 22, c[0], 256);
    n[1] = sender_msg(&s, "epsilon alpha beta gamma zeta", 29, c[1], 256);
    n[2] = sender_msg(&s, "alpha beta gamma delta", 22, c[2], 256);
    sender_free(&s);
    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 16);
    struct pmd *z = pmd_new(15, false);
    ck_assert_int_eq(inflate_str(z, c[0], n[0], &out, "alpha beta gamma delta"), PMD_OK);
    out.len = 0;
    pmd_begin(z);
    ck_assert_int_eq(pmd_feed(z, c[1], 3, &out), PMD_OK);
    ck_assert_int_eq(pmd_abort(z), PMD_OK); /* a prefix of a good message */
    ck_assert_mem_eq(out.p, "epsilon", out.len < 7 ? out.len : 7);
    out.len = 0;
    ck_assert_int_eq(pmd_inflate_msg(z, c[2], n[2], &out), PMD_LOST);
    ck_assert_uint_eq(out.len, 22);
    pmd_free(z);
    pmd_buf_free(&out);
}
END_TEST

/* After BFINAL the next message may still copy from the old window. */
START_TEST(test_bfinal_keeps_window)
{
    uint8_t c1[256], c2[256];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (const uint8_t *)"window content here";
    zs.avail_in = 19;
    zs.next_out = c1;
    zs.avail_out = sizeof c1;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n1 = sizeof c1 - zs.avail_out;
    deflateReset(&zs);
    ck_assert_int_eq(deflateSetDictionary(&zs, (const uint8_t *)"window content here", 19), Z_OK);
    zs.next_in = (const uint8_t *)"window content here";
    zs.avail_in = 19;
    zs.next_out = c2;
    zs.avail_out = sizeof c2;
    ck_assert_int_eq(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
    size_t n2 = sizeof c2 - zs.avail_out - 4;
    deflateEnd(&zs);

    struct pmd_buf out;
    pmd_buf_init(&out, 1 << 16);
    struct pmd *z = pmd_new(15, false);
    ck_assert_int_eq(inflate_str(z, c1, n1, &out, "window content here"), PMD_OK);
    ck_assert_int_eq(inflate_str(z, c2, n2, &out, "window content here"), PMD_OK);
    pmd_free(z);
    pmd_buf_free(&out);
}
END_TEST

START_TEST(test_buf_room)
{
    struct pmd_buf b;
    pmd_buf_init(&b, 10000);
    ck_assert_uint_ge(pmd_buf_room(&b, 1), 1);
    ck_assert_uint_le(b.cap, 10000);
    b.len = b.cap;
    size_t r = pmd_buf_room(&b, 20000);
    ck_assert_uint_eq(b.cap, 10000);
    ck_assert_uint_eq(r, 10000 - b.len);
    b.len = 10000;
    ck_assert_uint_eq(pmd_buf_room(&b, 1), 0);
    pmd_buf_free(&b);
    pmd_buf_init(&b, 0);
    ck_assert_uint_eq(pmd_buf_room(&b, 5), 0);
    pmd_buf_free(&b);
}
END_TEST

static Suite *pmd_suite(void)
{
    Suite *s = suite_create("pmd");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rfc_hello);
    tcase_add_test(tc, test_no_context_takeover);
    tcase_add_test(tc, test_split_points_guard);
    tcase_add_test(tc, test_window_bits);
    tcase_add_test(tc, test_bomb);
    tcase_add_test(tc, test_exact_cap);
    tcase_add_test(tc, test_invalid_data);
    tcase_add_test(tc, test_lost_context_recovery);
    tcase_add_test(tc, test_lost_mode_ends);
    tcase_add_test(tc, test_abort_mid_message);
    tcase_add_test(tc, test_bfinal_keeps_window);
    tcase_add_test(tc, test_buf_room);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(pmd_suite());
}
