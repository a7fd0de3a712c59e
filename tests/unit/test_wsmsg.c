/* test_wsmsg.c - the WebSocket message layer: RFC 6455 5.7 and RFC 7692 7.2.3 examples, RFC
 * checks and error kinds, UTF-8 across fragments, caps and bombs, gaps and resynchronization,
 * lost compression context, sniffing. Every script is fed whole, at every split point and in
 * small chunks down to one byte (from guard pages), and must give the same callbacks. */
#define ZLIB_CONST
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

#include "pktbuild.h"
#include "util.h"
#include "wsbuild.h"
#include "wsmsg.h"

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);                                     \
    } while (0)

/* ---- transcripts ----------------------------------------------------------------------------- */

struct tr {
    char *s;
    size_t n, cap;
};

static void tr_add(struct tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tr_add(struct tr *t, const char *fmt, ...)
{
    char line[1024];
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

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Short data quoted with escapes, long data as length#hash. */
static const char *repr(char *buf, size_t cap, const uint8_t *p, size_t n)
{
    if (!p)
        return "-";
    if (n > 64) {
        snprintf(buf, cap, "%zu#%016" PRIx64, n, fnv(p, n));
        return buf;
    }
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
            buf[o++] = (char)p[i];
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", p[i]);
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static void cb_frame(void *u, const struct wsmsg_frame *f)
{
    tr_add(u, "F fin=%d rsv=%u op=%u mask=%d len=%" PRIu64 " @%" PRIu64 " fl=%x\n", f->ev.fin,
           f->ev.rsv, f->ev.opcode, f->ev.masked, f->ev.len, f->start, f->flags);
}

static void cb_message(void *u, const struct wsmsg_message *m)
{
    char b[300];
    tr_add(u,
           "M op=%u frags=%u comp=%d wire=%" PRIu64 " len=%" PRIu64 " utf8=%d fl=%x @%" PRIu64
           "-%" PRIu64 " data=%s\n",
           m->ev.opcode, m->ev.fragments, m->ev.compressed, m->ev.wire_len, m->ev.len,
           m->ev.utf8_valid, m->flags, m->start, m->end,
           repr(b, sizeof b, m->ev.data.p, m->ev.data.len));
}

static void cb_control(void *u, const struct wsmsg_control *c)
{
    char b[300], r[300];
    tr_add(u, "C op=%u len=%" PRIu64 " code=%d cv=%d rv=%d tr=%d data=%s reason=%s @%" PRIu64 "\n",
           c->ev.opcode, c->ev.len, c->ev.code, c->code_valid, c->reason_valid, c->truncated,
           repr(b, sizeof b, c->ev.data.p, c->ev.data.len),
           c->ev.reason.p ? repr(r, sizeof r, c->ev.reason.p, c->ev.reason.len) : "-", c->start);
}

static void cb_error(void *u, const struct wsmsg_error *e)
{
    tr_add(u, "E %s @%" PRIu64 " n=%" PRIu64 ": %s\n", e->ev.kind, e->off, e->count, e->ev.detail);
}

static int count(const char *s, const char *needle)
{
    int c = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        c++;
    return c;
}

/* ---- scripts ------------------------------------------------------------------------------- */

struct item {
    const uint8_t *p;
    size_t len;
    uint64_t gap; /* > 0: a gap of this many bytes instead of data */
};

#define MAX_ITEMS 16

struct script {
    struct wsmsg_config cfg;
    bool midstream;
    struct item it[MAX_ITEMS];
    size_t n;
};

static void sc_init(struct script *s, enum wst_dir dir, enum wst_compression comp)
{
    memset(s, 0, sizeof *s);
    s->cfg.dir = dir;
    s->cfg.comp = comp;
    s->cfg.pmd.server_max_window_bits = -1;
    s->cfg.pmd.client_max_window_bits = -1;
}

static void sc_data(struct script *s, const uint8_t *p, size_t len)
{
    ck_assert_uint_lt(s->n, MAX_ITEMS);
    s->it[s->n].p = p;
    s->it[s->n].len = len;
    s->it[s->n].gap = 0;
    s->n++;
}

static void sc_gap(struct script *s, uint64_t n)
{
    ck_assert_uint_lt(s->n, MAX_ITEMS);
    s->it[s->n].p = NULL;
    s->it[s->n].len = 0;
    s->it[s->n].gap = n;
    s->n++;
}

/*
 * Run a script: each data item in chunks of `chunk` bytes (0: whole), and additionally cut at
 * global data offset `split` (0: none). With guard, every chunk is fed from right before a
 * PROT_NONE page.
 */
static void run(const struct script *s, size_t split, size_t chunk, bool guard, struct tr *t,
                struct wsmsg *keep)
{
    static const struct wsmsg_cbs cbs0 = {cb_frame, cb_message, cb_control, cb_error, NULL};
    struct wsmsg_cbs cbs = cbs0;
    struct wsmsg m;
    struct guard g;
    uint8_t *fence = NULL;
    memset(&g, 0, sizeof g);
    size_t maxlen = 1;

    cbs.user = t;
    for (size_t i = 0; i < s->n; i++)
        maxlen = s->it[i].len > maxlen ? s->it[i].len : maxlen;
    if (guard) {
        uint8_t *zero = calloc(1, maxlen);
        REQUIRE(guard_copy(&g, zero, maxlen) != NULL);
        free(zero);
        fence = g.base + g.size - (size_t)sysconf(_SC_PAGESIZE);
    }
    REQUIRE(wsmsg_init(&m, &s->cfg, &cbs) == 0);
    if (s->midstream)
        wsmsg_midstream(&m);
    size_t global = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->it[i].gap) {
            wsmsg_gap(&m, s->it[i].gap);
            continue;
        }
        size_t pos = 0;
        while (pos < s->it[i].len) {
            size_t n = s->it[i].len - pos;
            if (chunk && n > chunk)
                n = chunk;
            if (split > global + pos && split < global + pos + n)
                n = split - (global + pos);
            const uint8_t *p = s->it[i].p + pos;
            if (guard) {
                memcpy(fence - n, p, n);
                p = fence - n;
            }
            REQUIRE(wsmsg_feed(&m, p, n) == n);
            pos += n;
        }
        global += s->it[i].len;
    }
    wsmsg_finish(&m);
    if (keep)
        *keep = m;
    else
        wsmsg_free(&m);
    if (guard)
        guard_free(&g);
}

/* The reference transcript (whole items) in ref; every other feeding must match it. */
static void check_all(const struct script *s, const char *expect, struct tr *ref)
{
    static const size_t chunks[] = {1, 2, 3, 5, 7, 16, 100, 4096};
    size_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        total += s->it[i].len;

    memset(ref, 0, sizeof *ref);
    run(s, 0, 0, true, ref, NULL);
    if (getenv("WSMSG_DUMP")) /* debugging aid: print every reference transcript */
        fprintf(stderr, "----\n%s", ref->s);
    if (expect)
        ck_assert_str_eq(ref->s, expect);
    size_t step = total > 3000 ? total / 300 : 1;
    for (size_t k = 1; k < total; k += (k < 64 || total - k < 64) ? 1 : step) {
        struct tr t = {0};
        run(s, k, 0, true, &t, NULL);
        if (strcmp(t.s, ref->s) != 0)
            ck_abort_msg("split at %zu differs:\n%s\nreference:\n%s", k, t.s, ref->s);
        tr_free(&t);
    }
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        struct tr t = {0};
        run(s, 0, chunks[c], total <= 70000 || chunks[c] > 1, &t, NULL);
        if (strcmp(t.s, ref->s) != 0)
            ck_abort_msg("chunks of %zu differ:\n%s\nreference:\n%s", chunks[c], t.s, ref->s);
        tr_free(&t);
    }
}

static void check_expect(const struct script *s, const char *expect)
{
    struct tr ref;
    check_all(s, expect, &ref);
    tr_free(&ref);
}

/* A zlib sender for permessage-deflate / deflate-frame payloads. */
struct sender {
    z_stream zs;
};

static void sender_init(struct sender *s)
{
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(
        deflateInit2(&s->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
}

static size_t sender_msg(struct sender *s, const void *in, size_t len, uint8_t *out, size_t cap)
{
    s->zs.next_in = in;
    s->zs.avail_in = (uInt)len;
    s->zs.next_out = out;
    s->zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&s->zs, Z_SYNC_FLUSH), Z_OK);
    ck_assert_uint_gt(s->zs.avail_out, 0);
    return cap - s->zs.avail_out - 4; /* without 00 00 ff ff */
}

/* ---- RFC 6455 5.7 ---------------------------------------------------------------------------- */

START_TEST(test_rfc_unmasked_hello)
{
    static const uint8_t in[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, in, sizeof in);
    check_expect(&s, "F fin=1 rsv=0 op=1 mask=0 len=5 @0 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=5 len=5 utf8=1 fl=0 @0-7 data=\"Hello\"\n");
}
END_TEST

START_TEST(test_rfc_masked_hello)
{
    static const uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct script s;
    sc_init(&s, WST_DIR_C2S, WST_COMP_NONE);
    s.cfg.base_off = 1000;
    sc_data(&s, in, sizeof in);
    check_expect(&s, "F fin=1 rsv=0 op=1 mask=1 len=5 @1000 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=5 len=5 utf8=1 fl=0 @1000-1011 data=\"Hello\"\n");
}
END_TEST

START_TEST(test_rfc_fragmented)
{
    static const uint8_t in[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, in, sizeof in);
    check_expect(&s, "F fin=0 rsv=0 op=1 mask=0 len=3 @0 fl=0\n"
                     "F fin=1 rsv=0 op=0 mask=0 len=2 @5 fl=0\n"
                     "M op=1 frags=2 comp=0 wire=5 len=5 utf8=1 fl=0 @0-9 data=\"Hello\"\n");
}
END_TEST

START_TEST(test_rfc_ping_pong)
{
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, ping, sizeof ping);
    check_expect(&s, "F fin=1 rsv=0 op=9 mask=0 len=5 @0 fl=0\n"
                     "C op=9 len=5 code=-1 cv=1 rv=1 tr=0 data=\"Hello\" reason=- @0\n");
    sc_init(&s, WST_DIR_C2S, WST_COMP_NONE);
    sc_data(&s, pong, sizeof pong);
    check_expect(&s, "F fin=1 rsv=0 op=10 mask=1 len=5 @0 fl=0\n"
                     "C op=10 len=5 code=-1 cv=1 rv=1 tr=0 data=\"Hello\" reason=- @0\n");
    /* a masked ping from the client, an unmasked pong from the server */
    struct wb w = {0};
    wb_frame(&w, true, 0, 9, KEY, "Hello", 5);
    sc_init(&s, WST_DIR_C2S, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    check_expect(&s, "F fin=1 rsv=0 op=9 mask=1 len=5 @0 fl=0\n"
                     "C op=9 len=5 code=-1 cv=1 rv=1 tr=0 data=\"Hello\" reason=- @0\n");
    wb_free(&w);
}
END_TEST

START_TEST(test_rfc_lengths)
{
    size_t big = 65536;
    uint8_t *pl = malloc(big);
    for (size_t i = 0; i < big; i++)
        pl[i] = (uint8_t)(i * 13 + 5);
    for (int dir = 0; dir < 2; dir++) {
        struct wb w = {0};
        const uint8_t *key = dir ? KEY : NULL;
        wb_frame(&w, true, 0, 2, key, pl, 256);
        wb_frame(&w, true, 0, 2, key, pl, big);
        struct script s;
        sc_init(&s, dir ? WST_DIR_C2S : WST_DIR_S2C, WST_COMP_NONE);
        sc_data(&s, w.p, w.n);
        char exp[1024];
        size_t h1 = dir ? 8 : 4, h2 = dir ? 14 : 10;
        snprintf(exp, sizeof exp,
                 "F fin=1 rsv=0 op=2 mask=%d len=256 @0 fl=0\n"
                 "M op=2 frags=1 comp=0 wire=256 len=256 utf8=0 fl=0 @0-%zu data=256#%016" PRIx64
                 "\n"
                 "F fin=1 rsv=0 op=2 mask=%d len=65536 @%zu fl=0\n"
                 "M op=2 frags=1 comp=0 wire=65536 len=65536 utf8=0 fl=0 @%zu-%zu "
                 "data=65536#%016" PRIx64 "\n",
                 dir, h1 + 256, fnv(pl, 256), dir, h1 + 256, h1 + 256, h1 + 256 + h2 + big,
                 fnv(pl, big));
        check_expect(&s, exp);
        wb_free(&w);
    }
    free(pl);
}
END_TEST

/* ---- RFC 7692 7.2.3 -------------------------------------------------------------------------- */

START_TEST(test_pmd_rfc_examples)
{
    static const uint8_t hello[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t hello2[] = {0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00};
    static const uint8_t frag[] = {0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80,
                                   0x04, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t stored[] = {0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff,
                                     0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00};
    static const uint8_t bfinal[] = {0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    static const uint8_t two[] = {0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00,
                                  0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00};
    struct script s;
    struct tr ref;

    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    sc_data(&s, hello, sizeof hello);
    sc_data(&s, hello2, sizeof hello2);
    check_expect(&s, "F fin=1 rsv=4 op=1 mask=0 len=7 @0 fl=0\n"
                     "M op=1 frags=1 comp=1 wire=7 len=5 utf8=1 fl=0 @0-9 data=\"Hello\"\n"
                     "F fin=1 rsv=4 op=1 mask=0 len=5 @9 fl=0\n"
                     "M op=1 frags=1 comp=1 wire=5 len=5 utf8=1 fl=0 @9-16 data=\"Hello\"\n");

    /* no context takeover: the same bytes twice */
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    s.cfg.pmd.server_no_context_takeover = true;
    sc_data(&s, hello, sizeof hello);
    sc_data(&s, hello, sizeof hello);
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "data=\"Hello\""), 2);
    ck_assert_ptr_null(strstr(ref.s, "E "));
    tr_free(&ref);
    /* ... where a sender that takes the context over anyway fails to inflate */
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    s.cfg.pmd.server_no_context_takeover = true;
    sc_data(&s, hello, sizeof hello);
    sc_data(&s, hello2, sizeof hello2);
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "E inflate_error"), 1);
    ck_assert_ptr_nonnull(strstr(ref.s, "fl=4 @9-16 data=-"));
    tr_free(&ref);

    /* fragmented, and the other examples */
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    sc_data(&s, frag, sizeof frag);
    sc_data(&s, stored, sizeof stored);
    sc_data(&s, bfinal, sizeof bfinal);
    sc_data(&s, two, sizeof two);
    sc_data(&s, hello, sizeof hello);
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(
        strstr(ref.s, "M op=1 frags=2 comp=1 wire=7 len=5 utf8=1 fl=0 @0-11 data=\"Hello\"\n"));
    ck_assert_int_eq(count(ref.s, "data=\"Hello\""), 5);
    ck_assert_ptr_null(strstr(ref.s, "E "));
    tr_free(&ref);
}
END_TEST

/* A big compressed text message from the client: masked, in four fragments. */
START_TEST(test_pmd_masked_fragments)
{
    size_t plen = 100000;
    char *plain = malloc(plen);
    for (size_t i = 0; i < plen; i++)
        plain[i] = "{\"key\": \"value\", \"n\": 12345}\n"[i % 30];
    uint8_t *c = malloc(plen);
    struct sender snd;
    sender_init(&snd);
    size_t n = sender_msg(&snd, plain, plen, c, plen);
    size_t n2 = sender_msg(&snd, plain, 3000, c + n, plen - n); /* refers to the first */
    deflateEnd(&snd.zs);
    struct wb w = {0};
    size_t q = n / 4;
    wb_frame(&w, false, 4, 1, KEY, c, q);
    wb_frame(&w, false, 0, 0, KEY, c + q, q);
    wb_frame(&w, true, 0, 9, KEY, "ping", 4); /* a control frame between fragments */
    wb_frame(&w, false, 0, 0, KEY, c + 2 * q, q);
    wb_frame(&w, true, 0, 0, KEY, c + 3 * q, n - 3 * q);
    wb_frame(&w, true, 4, 1, KEY, c + n, n2);
    struct script s;
    sc_init(&s, WST_DIR_C2S, WST_COMP_PMD);
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    char exp[256];
    snprintf(exp, sizeof exp,
             "frags=4 comp=1 wire=%zu len=100000 utf8=1 fl=0 @0-%zu data=%zu#%016" PRIx64, n,
             w.n - (6 + n2), plen, fnv((const uint8_t *)plain, plen));
    ck_assert_msg(strstr(ref.s, exp) != NULL, "%s\nnot in\n%s", exp, ref.s);
    snprintf(exp, sizeof exp, "len=3000 utf8=1 fl=0 @%zu-%zu data=3000#%016" PRIx64, w.n - (6 + n2),
             w.n, fnv((const uint8_t *)plain, 3000));
    ck_assert_msg(strstr(ref.s, exp) != NULL, "%s\nnot in\n%s", exp, ref.s);
    ck_assert_ptr_nonnull(strstr(ref.s, "C op=9 len=4"));
    ck_assert_ptr_null(strstr(ref.s, "E "));
    tr_free(&ref);
    wb_free(&w);
    free(c);
    free(plain);
}
END_TEST

/* x-webkit-deflate-frame: every RSV1 frame compressed on its own, one running context. */
START_TEST(test_deflate_frame)
{
    uint8_t c1[64], c2[64], c3[64];
    struct sender snd;
    sender_init(&snd);
    size_t n1 = sender_msg(&snd, "Hello, ", 7, c1, sizeof c1);
    size_t n2 = sender_msg(&snd, "Hello, world", 12, c2, sizeof c2);
    size_t n3 = sender_msg(&snd, "world world", 11, c3, sizeof c3);
    deflateEnd(&snd.zs);
    struct wb w = {0};
    wb_frame(&w, false, 4, 1, NULL, c1, n1);
    wb_frame(&w, false, 0, 0, NULL, " plain ", 7);
    wb_frame(&w, true, 4, 0, NULL, c2, n2); /* RSV1 on a continuation: fine here */
    wb_frame(&w, true, 4, 1, NULL, c3, n3);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_DEFLATE_FRAME);
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "frags=3 comp=1"));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"Hello,  plain Hello, world\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"world world\""));
    ck_assert_ptr_null(strstr(ref.s, "E "));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

/* ---- hostile input --------------------------------------------------------------------------- */

START_TEST(test_len_2_63)
{
    struct wb w = {0};
    static const uint8_t bad[] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0};
    wb_raw(&w, bad, sizeof bad);
    wb_frame(&w, true, 0, 1, NULL, "Hello", 5);
    wb_frame(&w, true, 0, 1, NULL, "Hi", 2);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E bad_length @0 n=0"));
    ck_assert_ptr_nonnull(strstr(ref.s, "E resync @10 n=10"));
    ck_assert_ptr_nonnull(strstr(ref.s, "@10-17 data=\"Hello\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "@17-21 data=\"Hi\""));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

/* 1 GB of zeros compressed to about 1 MB: stops at the cap, quickly, within the cap. */
START_TEST(test_bomb)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = 2u << 20;
    uint8_t *c = malloc(cap);
    uint8_t *zeros = calloc(1, 1 << 20);
    zs.next_out = c;
    zs.avail_out = (uInt)cap;
    for (int i = 0; i < 1024; i++) {
        zs.next_in = zeros;
        zs.avail_in = 1 << 20;
        ck_assert_int_eq(deflate(&zs, Z_NO_FLUSH), Z_OK);
    }
    ck_assert_int_eq(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
    size_t n = cap - zs.avail_out - 4;
    deflateEnd(&zs);
    free(zeros);

    struct wb w = {0};
    wb_frame(&w, true, 4, 2, NULL, c, n);
    static const uint8_t hello[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    wb_raw(&w, hello, sizeof hello);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    sc_data(&s, w.p, w.n);
    size_t chunks[] = {0, 1000, 65536};
    char *first = NULL;
    for (size_t i = 0; i < 3; i++) {
        struct tr t = {0};
        struct wsmsg m;
        clock_t t0 = clock();
        run(&s, 0, chunks[i], false, &t, &m);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        ck_assert_msg(secs < 3.0, "the bomb took %.2f s", secs);
        ck_assert_uint_le(m.buf.cap, WSMSG_DEFAULT_MAX_MESSAGE); /* never grew past the cap */
        wsmsg_free(&m);
        ck_assert_int_eq(count(t.s, "E message_too_big"), 1);
        char exp[128];
        snprintf(exp, sizeof exp, "len=%u utf8=0 fl=2 ", WSMSG_DEFAULT_MAX_MESSAGE);
        ck_assert_msg(strstr(t.s, exp) != NULL, "%s", t.s);
        /* the context is gone, yet the next (self-contained) message decodes */
        ck_assert_ptr_nonnull(strstr(t.s, "data=\"Hello\""));
        if (!first)
            first = strdup(t.s);
        else
            ck_assert_str_eq(t.s, first);
        tr_free(&t);
    }
    free(first);
    wb_free(&w);
    free(c);
}
END_TEST

START_TEST(test_message_cap_uncompressed)
{
    uint8_t big[300];
    memset(big, 'a', sizeof big);
    struct wb w = {0};
    wb_frame(&w, false, 0, 1, NULL, big, 60);
    wb_frame(&w, true, 0, 0, NULL, big, 240);
    wb_frame(&w, true, 0, 1, NULL, big, 100); /* exactly the cap */
    wb_frame(&w, true, 0, 1, NULL, "ok", 2);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    s.cfg.max_message = 100;
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "E message_too_big"), 1);
    ck_assert_ptr_nonnull(strstr(ref.s, "M op=1 frags=2 comp=0 wire=300 len=300 utf8=1 fl=2 "));
    ck_assert_ptr_nonnull(strstr(ref.s, "M op=1 frags=1 comp=0 wire=100 len=100 utf8=1 fl=0 "));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"ok\""));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

START_TEST(test_utf8_across_fragments)
{
    struct wb w = {0};
    /* E2 82 | 28: invalid, split across fragments */
    wb_frame(&w, false, 0, 1, NULL, "ab\xe2\x82", 4);
    wb_frame(&w, true, 0, 0, NULL, "(", 1);
    /* the euro sign in three fragments: valid */
    wb_frame(&w, false, 0, 1, NULL, "\xe2", 1);
    wb_frame(&w, false, 0, 0, NULL, "\x82", 1);
    wb_frame(&w, true, 0, 0, NULL, "\xac", 1);
    /* ends inside a character */
    wb_frame(&w, true, 0, 1, NULL, "a\xe2\x82", 3);
    /* surrogate, overlong, above U+10FFFF */
    wb_frame(&w, true, 0, 1, NULL, "\xed\xa0\x80", 3);
    wb_frame(&w, true, 0, 1, NULL, "\xc0\xaf", 2);
    wb_frame(&w, true, 0, 1, NULL, "\xf4\x90\x80\x80", 4);
    /* binary is never checked */
    wb_frame(&w, true, 0, 2, NULL, "\xff", 1);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "E invalid_utf8"), 5);
    ck_assert_ptr_nonnull(strstr(ref.s, "at decoded byte 4 "));
    ck_assert_ptr_nonnull(strstr(ref.s, "ends inside a UTF-8 character"));
    ck_assert_ptr_nonnull(strstr(ref.s, "utf8=1 fl=0 @9-18 data=\"\\xe2\\x82\\xac\""));
    ck_assert_int_eq(count(ref.s, "utf8=0"), 6);
    tr_free(&ref);
    wb_free(&w);

    /* compressed text: checked after inflating */
    uint8_t c[64];
    struct sender snd;
    sender_init(&snd);
    size_t n = sender_msg(&snd, "ok\xff", 3, c, sizeof c);
    deflateEnd(&snd.zs);
    memset(&w, 0, sizeof w);
    wb_frame(&w, true, 4, 1, NULL, c, n);
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    sc_data(&s, w.p, w.n);
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "E invalid_utf8"), 1);
    ck_assert_ptr_nonnull(strstr(ref.s, "utf8=0 fl=0 @0-"));
    tr_free(&ref);
    wb_free(&w);

    ck_assert(wsmsg_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80 ok", 7));
    ck_assert(!wsmsg_utf8_valid((const uint8_t *)"\xf0\x9f\x98", 3));
}
END_TEST

START_TEST(test_close_frames)
{
    struct wb w = {0};
    static const uint8_t one[] = {0x88, 0x01, 0x03};
    wb_raw(&w, one, sizeof one);
    static const unsigned good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                    1010, 1011, 3000, 3999, 4000, 4999};
    static const unsigned bad[] = {0,    999,  1004, 1005, 1006, 1012, 1013, 1014,
                                   1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t p[4] = {(uint8_t)(good[i] >> 8), (uint8_t)good[i], 'o', 'k'};
        wb_frame(&w, true, 0, 8, NULL, p, 4);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t p[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
        wb_frame(&w, true, 0, 8, NULL, p, 2);
    }
    static const uint8_t badreason[] = {0x03, 0xe8, 'b', 0xff, 'd'};
    wb_frame(&w, true, 0, 8, NULL, badreason, sizeof badreason);
    wb_frame(&w, true, 0, 8, NULL, "", 0);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "E bad_close_code"), 1 + (int)(sizeof bad / sizeof bad[0]));
    ck_assert_ptr_nonnull(strstr(ref.s, "1-byte payload"));
    ck_assert_int_eq(count(ref.s, "cv=1 rv=1 tr=0 data="), (int)(sizeof good / sizeof good[0]) + 1);
    ck_assert_int_eq(count(ref.s, "E invalid_utf8"), 1);
    ck_assert_ptr_nonnull(strstr(
        ref.s,
        "C op=8 len=5 code=1000 cv=1 rv=0 tr=0 data=\"\\x03\\xe8b\\xffd\" reason=\"b\\xffd\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "C op=8 len=0 code=-1 cv=1 rv=1 tr=0 data=\"\" reason=-"));
    ck_assert_ptr_nonnull(
        strstr(ref.s, "C op=8 len=4 code=4999 cv=1 rv=1 tr=0 data=\"\\x13\\x87ok\" reason=\"ok\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "code=1005 cv=0"));
    ck_assert_ptr_null(strstr(ref.s, "data_after_close")); /* control frames may follow */
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

START_TEST(test_control_errors)
{
    uint8_t pl[126];
    memset(pl, 'p', sizeof pl);
    struct wb w = {0};
    wb_frame(&w, true, 0, 9, NULL, pl, 126); /* too long */
    wb_frame(&w, false, 0, 9, NULL, "x", 1); /* fragmented */
    wb_frame(&w, true, 0, 1, NULL, "after", 5);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E control_too_long @0 n=0"));
    ck_assert_ptr_nonnull(strstr(ref.s, "C op=9 len=126 code=-1 cv=1 rv=1 tr=1 data=125#"));
    ck_assert_ptr_nonnull(strstr(ref.s, "E fragmented_control @130 n=0"));
    ck_assert_ptr_nonnull(strstr(ref.s, "C op=9 len=1 code=-1 cv=1 rv=1 tr=0 data=\"x\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"after\""));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

START_TEST(test_mask_and_rsv_errors)
{
    struct wb w = {0};
    struct script s;
    struct tr ref;

    /* client frames must be masked, server frames must not */
    wb_frame(&w, true, 0, 1, NULL, "plain", 5);
    sc_init(&s, WST_DIR_C2S, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E unmasked_client_frame @0"));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"plain\""));
    tr_free(&ref);
    wb_free(&w);
    wb_frame(&w, true, 0, 1, KEY, "mask", 4);
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E masked_server_frame @0"));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"mask\"")); /* still unmasked correctly */
    tr_free(&ref);
    wb_free(&w);

    /* RSV bits without an extension; RSV1 on a continuation or a control frame with one */
    wb_frame(&w, true, 4, 1, NULL, "r1", 2);
    wb_frame(&w, true, 2, 1, NULL, "r2", 2);
    wb_frame(&w, true, 1, 1, NULL, "r3", 2);
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "E bad_rsv"), 3);
    ck_assert_ptr_nonnull(strstr(ref.s, "no compression extension"));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"r1\""));
    tr_free(&ref);
    wb_free(&w);
    static const uint8_t cont_rsv1[] = {0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0,
                                        0x04, 0xc9, 0xc9, 0x07, 0x00};
    wb_raw(&w, cont_rsv1, sizeof cont_rsv1);
    wb_frame(&w, true, 4, 9, NULL, "", 0);
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    sc_data(&s, w.p, w.n);
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E bad_rsv @5 n=0: RSV1 is set on a continuation frame"));
    ck_assert_ptr_nonnull(strstr(ref.s, "E bad_rsv @11 n=0: RSV1 is set on a ping frame"));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"Hello\""));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

START_TEST(test_sequence_errors)
{
    struct wb w = {0};
    wb_frame(&w, true, 0, 3, NULL, "abc", 3); /* reserved opcode */
    wb_frame(&w, true, 0, 0, NULL, "lo", 2);  /* continuation without a start */
    wb_frame(&w, false, 0, 1, NULL, "Hel", 3);
    wb_frame(&w, true, 0, 9, NULL, "", 0); /* a ping between fragments */
    wb_frame(&w, true, 0, 0, NULL, "lo", 2);
    wb_frame(&w, false, 0, 1, NULL, "Hel", 3);
    wb_frame(&w, true, 0, 2, NULL, "Hi", 2); /* a new message inside a fragmented one */
    wb_frame(&w, true, 0, 8, NULL, "\x03\xe8", 2);
    wb_frame(&w, true, 0, 1, NULL, "late", 4); /* data after close */
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E bad_opcode @0 n=0: Opcode 0x3 is reserved"));
    ck_assert_ptr_nonnull(strstr(ref.s, "E continuation_without_start @5"));
    ck_assert_ptr_nonnull(strstr(ref.s, "C op=9 len=0"));
    ck_assert_ptr_nonnull(
        strstr(ref.s, "M op=1 frags=2 comp=0 wire=5 len=5 utf8=1 fl=0 @9-20 data=\"Hello\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "E new_message_in_fragmented @25"));
    ck_assert_ptr_nonnull(
        strstr(ref.s, "M op=1 frags=1 comp=0 wire=3 len=3 utf8=1 fl=1 @20-25 data=\"Hel\""));
    ck_assert_ptr_nonnull(
        strstr(ref.s, "M op=2 frags=1 comp=0 wire=2 len=2 utf8=0 fl=0 @25-29 data=\"Hi\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "E data_after_close @33"));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"late\""));
    /* the ping's C line comes before the message it interrupted */
    ck_assert(strstr(ref.s, "C op=9") < strstr(ref.s, "data=\"Hello\""));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

/* ---- gaps ------------------------------------------------------------------------------------ */

START_TEST(test_gap_in_header)
{
    uint8_t x[300];
    memset(x, 'x', sizeof x);
    struct wb w = {0};
    wb_frame(&w, true, 0, 1, NULL, "Hello", 5);  /* 0..7 */
    wb_frame(&w, true, 0, 2, NULL, x, sizeof x); /* 7..311: header 7..11 */
    wb_frame(&w, true, 0, 1, NULL, "abc", 3);    /* 311..316 */
    wb_frame(&w, true, 0, 1, NULL, "def", 3);    /* 316..321 */
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, 9);
    sc_gap(&s, 2);
    sc_data(&s, w.p + 11, w.n - 11);
    check_expect(&s, "F fin=1 rsv=0 op=1 mask=0 len=5 @0 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=5 len=5 utf8=1 fl=0 @0-7 data=\"Hello\"\n"
                     "E resync @311 n=300: Skipped 300 bytes to the next plausible frame header, "
                     "at stream offset 311.\n"
                     "F fin=1 rsv=0 op=1 mask=0 len=3 @311 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=3 len=3 utf8=1 fl=0 @311-316 data=\"abc\"\n"
                     "F fin=1 rsv=0 op=1 mask=0 len=3 @316 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=3 len=3 utf8=1 fl=0 @316-321 data=\"def\"\n");
    /* the same from the client side, masked: the payload bytes look nothing like headers */
    wb_free(&w);
    wb_frame(&w, true, 0, 1, KEY, "Hello", 5);  /* 0..11 */
    wb_frame(&w, true, 0, 2, KEY, x, sizeof x); /* 11..319 */
    wb_frame(&w, true, 0, 1, KEY, "abc", 3);    /* 319..328 */
    wb_frame(&w, true, 0, 1, KEY, "def", 3);
    sc_init(&s, WST_DIR_C2S, WST_COMP_NONE);
    sc_data(&s, w.p, 15);
    sc_gap(&s, 3);
    sc_data(&s, w.p + 18, w.n - 18);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E resync @319 n=301"));
    ck_assert_ptr_nonnull(strstr(ref.s, "@319-328 data=\"abc\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"def\""));
    ck_assert_int_eq(count(ref.s, "M "), 3);
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

START_TEST(test_gap_inside_payload)
{
    struct wb w = {0};
    wb_frame(&w, true, 0, 1, NULL, "0123456789", 10); /* 0..12 */
    wb_frame(&w, true, 0, 1, NULL, "hi", 2);          /* 12..16 */
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, 5);
    sc_gap(&s, 3);
    sc_data(&s, w.p + 8, w.n - 8);
    /* framing survives: no resync, the message is partial */
    check_expect(&s, "F fin=1 rsv=0 op=1 mask=0 len=10 @0 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=10 len=3 utf8=1 fl=1 @0-5 data=\"012\"\n"
                     "F fin=1 rsv=0 op=1 mask=0 len=2 @12 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=2 len=2 utf8=1 fl=0 @12-16 data=\"hi\"\n");
    wb_free(&w);

    /* inside a fragmented message: the rest of its fragments are skipped quietly */
    wb_frame(&w, false, 0, 1, NULL, "Hel", 3);   /* 0..5 */
    wb_frame(&w, false, 0, 0, NULL, "lo,", 3);   /* 5..10 */
    wb_frame(&w, true, 0, 9, NULL, "p", 1);      /* 10..13 */
    wb_frame(&w, true, 0, 0, NULL, " world", 6); /* 13..21 */
    wb_frame(&w, true, 0, 1, NULL, "hi", 2);     /* 21..25 */
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, 8);
    sc_gap(&s, 2);
    sc_data(&s, w.p + 10, w.n - 10);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(
        strstr(ref.s, "M op=1 frags=2 comp=0 wire=6 len=4 utf8=1 fl=1 @0-8 data=\"Hell\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "C op=9 len=1"));
    ck_assert_ptr_nonnull(strstr(ref.s, "F fin=1 rsv=0 op=0 mask=0 len=6 @13"));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"hi\""));
    ck_assert_ptr_null(strstr(ref.s, "E "));
    ck_assert_int_eq(count(ref.s, "M "), 2);
    tr_free(&ref);
    wb_free(&w);

    /* inside a control frame: it is dropped */
    wb_frame(&w, true, 0, 9, NULL, "Hello", 5);
    wb_frame(&w, true, 0, 1, NULL, "next", 4);
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, 3);
    sc_gap(&s, 2);
    sc_data(&s, w.p + 5, w.n - 5);
    check_all(&s, NULL, &ref);
    ck_assert_ptr_null(strstr(ref.s, "C "));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"next\""));
    ck_assert_ptr_null(strstr(ref.s, "E "));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

START_TEST(test_gap_past_payload)
{
    struct wb w = {0};
    wb_frame(&w, true, 0, 1, NULL, "0123456789", 10); /* 0..12 */
    wb_frame(&w, true, 0, 1, NULL, "Hello", 5);       /* 12..19 */
    wb_frame(&w, true, 0, 1, NULL, "hi", 2);          /* 19..23 */
    wb_frame(&w, true, 0, 1, NULL, "abc", 3);         /* 23..28 */
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, 7);
    sc_gap(&s, 8); /* the rest of the first frame and 81 05 48 */
    sc_data(&s, w.p + 15, w.n - 15);
    check_expect(&s, "F fin=1 rsv=0 op=1 mask=0 len=10 @0 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=10 len=5 utf8=1 fl=1 @0-7 data=\"01234\"\n"
                     "E resync @19 n=4: Skipped 4 bytes to the next plausible frame header, at "
                     "stream offset 19.\n"
                     "F fin=1 rsv=0 op=1 mask=0 len=2 @19 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=2 len=2 utf8=1 fl=0 @19-23 data=\"hi\"\n"
                     "F fin=1 rsv=0 op=1 mask=0 len=3 @23 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=3 len=3 utf8=1 fl=0 @23-28 data=\"abc\"\n");
    wb_free(&w);

    /* a gap at a frame boundary, one in the resync itself, and the end of the stream */
    wb_frame(&w, true, 0, 1, NULL, "one", 3);  /* 0..5 */
    wb_frame(&w, true, 0, 1, NULL, "two", 3);  /* 5..10 */
    wb_frame(&w, true, 0, 1, NULL, "six", 3);  /* 10..15 */
    wb_frame(&w, false, 0, 1, NULL, "sev", 3); /* 15..20 */
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, 5);
    sc_gap(&s, 5);
    sc_data(&s, w.p + 10, 7); /* "six" and 81 03 of the next */
    sc_gap(&s, 1);
    sc_data(&s, w.p + 18, 2);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"one\""));
    ck_assert_ptr_null(strstr(ref.s, "data=\"two\""));
    /* "six" is verified by the header after it; the gap then falls inside "sev" */
    ck_assert_ptr_nonnull(strstr(ref.s, "@10-15 data=\"six\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "len=0 utf8=1 fl=1 @15-17 data=\"\""));
    ck_assert_ptr_null(strstr(ref.s, "E "));
    tr_free(&ref);

    /* bytes after a gap that end the stream without a recognizable frame */
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, 5);
    sc_gap(&s, 6);
    sc_data(&s, w.p + 11, 4); /* the end of "six" */
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E resync @15 n=4: The last 4 bytes"));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

START_TEST(test_midstream)
{
    struct wb w = {0};
    const char *junk = "tail of a message we never saw the start of: \x01\x02 more text";
    wb_raw(&w, junk, strlen(junk));
    size_t j = w.n;
    wb_frame(&w, true, 0, 0, KEY, "orphan", 6); /* the end of a message begun before: skipped */
    wb_frame(&w, true, 0, 1, KEY, "Hello", 5);
    wb_frame(&w, true, 0, 9, KEY, "", 0);
    wb_frame(&w, true, 0, 2, KEY, "bin", 3);
    struct script s;
    sc_init(&s, WST_DIR_C2S, WST_COMP_NONE);
    s.midstream = true;
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    char exp[128];
    snprintf(exp, sizeof exp, "E resync @%zu n=%zu", j, j);
    ck_assert_msg(strstr(ref.s, exp) != NULL, "%s", ref.s);
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"Hello\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"bin\""));
    ck_assert_int_eq(count(ref.s, "M "), 2);
    ck_assert_int_eq(count(ref.s, "E "), 1); /* no continuation_without_start */
    tr_free(&ref);
    wb_free(&w);

    /* starting right at a frame: nothing skipped, nothing reported */
    wb_frame(&w, true, 0, 1, NULL, "first", 5);
    wb_frame(&w, true, 0, 1, NULL, "second", 6);
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    s.midstream = true;
    sc_data(&s, w.p, w.n);
    check_all(&s, NULL, &ref);
    ck_assert_ptr_null(strstr(ref.s, "E "));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"first\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"second\""));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

START_TEST(test_finish_partial)
{
    struct wb w = {0};
    wb_frame(&w, false, 0, 1, NULL, "Hel", 3);
    wb_frame(&w, true, 0, 0, NULL, "lo", 2);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, w.n - 1);
    check_expect(&s, "F fin=0 rsv=0 op=1 mask=0 len=3 @0 fl=0\n"
                     "F fin=1 rsv=0 op=0 mask=0 len=2 @5 fl=0\n"
                     "M op=1 frags=2 comp=0 wire=5 len=4 utf8=1 fl=1 @0-8 data=\"Hell\"\n");
    wb_free(&w);
}
END_TEST

/* ---- lost compression context ---------------------------------------------------------------- */

static const char *const LOSTMSG[] = {
    "The quick brown fox jumps over the lazy dog 0123456789",
    "SECRET-abcdefghijklmnopqrstuvwxyz-SECRET",
    "SECRET-abcdefghijklmnopqrstuvwxyz-SECRET, once more",
    "Zebra! Vivid QUAKE wax; jgmp yk",
    "Zebra! Vivid QUAKE wax; jgmp yk",
    "The quick brown fox jumps over the lazy dog 0123456789",
    "Zebra! Vivid QUAKE wax; jgmp yk",
};

START_TEST(test_lost_context_recovery)
{
    struct sender snd;
    sender_init(&snd);
    struct wb w = {0};
    size_t at[8];
    for (int i = 0; i < 7; i++) {
        uint8_t c[128];
        size_t n = sender_msg(&snd, LOSTMSG[i], strlen(LOSTMSG[i]), c, sizeof c);
        at[i] = w.n;
        wb_frame(&w, true, 4, 1, NULL, c, n);
    }
    at[7] = w.n;
    deflateEnd(&snd.zs);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    sc_data(&s, w.p, at[1]);
    sc_gap(&s, at[2] - at[1]); /* message 1 was never captured */
    sc_data(&s, w.p + at[2], w.n - at[2]);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "E lost_context"), 2);
    char exp[256];
    static const int lost[7] = {0, 0, 1, 0, 0, 1, 0};
    for (int i = 0; i < 7; i++) {
        if (i == 1)
            continue;
        if (lost[i])
            snprintf(exp, sizeof exp, "len=%zu utf8=0 fl=4 @%zu-%zu data=-", strlen(LOSTMSG[i]),
                     at[i], at[i + 1]);
        else
            snprintf(exp, sizeof exp, "len=%zu utf8=1 fl=0 @%zu-%zu data=\"%s\"",
                     strlen(LOSTMSG[i]), at[i], at[i + 1], LOSTMSG[i]);
        ck_assert_msg(strstr(ref.s, exp) != NULL, "message %d: %s\nnot in\n%s", i, exp, ref.s);
    }
    tr_free(&ref);

    /* with no_context_takeover nothing is ever lost */
    wb_free(&w);
    static const uint8_t hello[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    for (int i = 0; i < 3; i++)
        wb_raw(&w, hello, sizeof hello);
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    s.cfg.pmd.server_no_context_takeover = true;
    sc_data(&s, w.p, 9);
    sc_gap(&s, 9);
    sc_data(&s, w.p + 18, 9);
    check_all(&s, NULL, &ref);
    ck_assert_int_eq(count(ref.s, "data=\"Hello\""), 2);
    ck_assert_ptr_null(strstr(ref.s, "E "));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

/* A gap inside a compressed message: the part before it is reported, the context is lost. */
START_TEST(test_gap_in_compressed_message)
{
    struct sender snd;
    sender_init(&snd);
    struct wb w = {0};
    uint8_t c[256];
    size_t n = sender_msg(&snd, "alpha beta gamma delta epsilon", 30, c, sizeof c);
    wb_frame(&w, true, 4, 1, NULL, c, n);
    size_t m2 = w.n;
    n = sender_msg(&snd, "alpha beta gamma delta epsilon zeta", 35, c, sizeof c);
    wb_frame(&w, true, 4, 1, NULL, c, n);
    size_t m3 = w.n;
    n = sender_msg(&snd, "Kiwi!", 5, c, sizeof c);
    wb_frame(&w, true, 4, 1, NULL, c, n);
    deflateEnd(&snd.zs);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_PMD);
    sc_data(&s, w.p, m2 + 3);
    sc_gap(&s, 2);
    sc_data(&s, w.p + m2 + 5, w.n - (m2 + 5));
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"alpha beta gamma delta epsilon\""));
    char exp[64];
    snprintf(exp, sizeof exp, "fl=1 @%zu-%zu", m2, m2 + 3);
    ck_assert_msg(strstr(ref.s, exp) != NULL, "%s", ref.s);
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"Kiwi!\""));
    ck_assert_ptr_null(strstr(ref.s, "E resync"));
    (void)m3;
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

/* The gap's length puts the next header inside garbage: the check fails, a resync follows. */
START_TEST(test_gap_verify_fails)
{
    struct wb w = {0};
    wb_frame(&w, true, 0, 1, NULL, "0123456789", 10); /* 0..12 */
    size_t f2 = w.n;
    wb_frame(&w, true, 0, 1, NULL, "hi", 2);
    wb_frame(&w, true, 0, 1, NULL, "yo", 2);
    struct script s;
    sc_init(&s, WST_DIR_S2C, WST_COMP_NONE);
    sc_data(&s, w.p, 5);
    sc_gap(&s, 3);
    /* 6 bytes where the frame had 4 left: "ef" sits where the next header should be */
    sc_data(&s, (const uint8_t *)"abcdef", 6);
    sc_data(&s, w.p + f2, w.n - f2);
    check_expect(&s, "F fin=1 rsv=0 op=1 mask=0 len=10 @0 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=10 len=3 utf8=1 fl=1 @0-5 data=\"012\"\n"
                     "E resync @14 n=2: Skipped 2 bytes to the next plausible frame header, at "
                     "stream offset 14.\n"
                     "F fin=1 rsv=0 op=1 mask=0 len=2 @14 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=2 len=2 utf8=1 fl=0 @14-18 data=\"hi\"\n"
                     "F fin=1 rsv=0 op=1 mask=0 len=2 @18 fl=0\n"
                     "M op=1 frags=1 comp=0 wire=2 len=2 utf8=1 fl=0 @18-22 data=\"yo\"\n");
    wb_free(&w);
}
END_TEST

/* A frame larger than the resync window is taken on its own; the headers after it are still
 * checked, and a small window changes nothing for frames that fit. */
START_TEST(test_resync_big_frame)
{
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)('a' + i % 26);
    struct wb w = {0};
    wb_raw(&w, "garbage!", 8);
    wb_frame(&w, true, 0, 1, KEY, big, sizeof big); /* 8..1016 */
    wb_frame(&w, true, 0, 1, KEY, "after", 5);
    wb_frame(&w, true, 0, 1, KEY, "end", 3);
    struct script s;
    sc_init(&s, WST_DIR_C2S, WST_COMP_NONE);
    s.cfg.resync_window = 256;
    s.midstream = true;
    sc_data(&s, w.p, w.n);
    struct tr ref;
    check_all(&s, NULL, &ref);
    ck_assert_ptr_nonnull(strstr(ref.s, "E resync @8 n=8"));
    ck_assert_ptr_nonnull(strstr(ref.s, "len=1000 utf8=1 fl=0 @8-1016 data=1000#"));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"after\""));
    ck_assert_ptr_nonnull(strstr(ref.s, "data=\"end\""));
    tr_free(&ref);
    wb_free(&w);
}
END_TEST

/* Every prefix of a mixed stream, fed from right before a PROT_NONE page, then ended. */
START_TEST(test_every_prefix_guard)
{
    static const uint8_t hello[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    uint8_t pl[300];
    memset(pl, 'q', sizeof pl);
    for (int dir = 0; dir < 2; dir++) {
        const uint8_t *key = dir ? KEY : NULL;
        struct wb w = {0};
        wb_frame(&w, false, 0, 1, key, "Hel", 3);
        wb_frame(&w, true, 0, 9, key, "p", 1);
        wb_frame(&w, true, 0, 0, key, "lo", 2);
        wb_frame(&w, true, 0, 2, key, pl, sizeof pl);
        if (!dir)
            wb_raw(&w, hello, sizeof hello);
        wb_frame(&w, true, 0, 8, key, "\x03\xe8ok", 4);
        for (size_t k = 0; k <= w.n; k++) {
            struct script s;
            sc_init(&s, dir ? WST_DIR_C2S : WST_DIR_S2C, WST_COMP_PMD);
            sc_data(&s, w.p, k);
            struct tr t1 = {0}, t2 = {0};
            run(&s, 0, 0, true, &t1, NULL);
            run(&s, 0, 1, true, &t2, NULL);
            REQUIRE(t1.s == NULL ? t2.s == NULL : strcmp(t1.s, t2.s) == 0);
            tr_free(&t1);
            tr_free(&t2);
        }
        wb_free(&w);
    }
}
END_TEST

/* ---- sniffing -------------------------------------------------------------------------------- */

START_TEST(test_sniff)
{
    struct wb w = {0};
    wb_frame(&w, true, 0, 1, KEY, "Hello", 5);
    wb_frame(&w, true, 4, 2, KEY, "\x01\x02", 2);
    wb_frame(&w, true, 0, 9, KEY, "", 0);
    wb_frame(&w, true, 0, 1, KEY, "more", 4);
    ck_assert_int_eq(wsmsg_sniff(w.p, w.n, WST_DIR_C2S), WSMSG_SNIFF_YES);
    ck_assert_int_eq(wsmsg_sniff(w.p, w.n, WST_DIR_S2C), WSMSG_SNIFF_NO); /* masked */
    ck_assert_int_eq(wsmsg_sniff(w.p, 8, WST_DIR_C2S), WSMSG_SNIFF_INCOMPLETE);
    ck_assert_int_eq(wsmsg_sniff(w.p, 4, WST_DIR_C2S), WSMSG_SNIFF_INCOMPLETE);
    ck_assert_int_eq(wsmsg_sniff(w.p, 0, WST_DIR_C2S), WSMSG_SNIFF_INCOMPLETE);
    for (size_t k = 0; k <= w.n; k++) {
        struct guard g;
        const uint8_t *p = guard_copy(&g, w.p, k);
        int r = wsmsg_sniff(p, k, WST_DIR_C2S);
        ck_assert(r == WSMSG_SNIFF_YES || r == WSMSG_SNIFF_INCOMPLETE);
        guard_free(&g);
    }
    wb_free(&w);
    wb_frame(&w, true, 0, 1, NULL, "a", 1);
    wb_frame(&w, true, 0, 1, NULL, "b", 1);
    ck_assert_int_eq(wsmsg_sniff(w.p, w.n, WST_DIR_S2C), WSMSG_SNIFF_YES); /* two, exactly */
    ck_assert_int_eq(wsmsg_sniff(w.p, w.n, WST_DIR_C2S), WSMSG_SNIFF_NO);  /* unmasked */
    wb_free(&w);
    const char *http = "GET /chat HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq(wsmsg_sniff((const uint8_t *)http, strlen(http), WST_DIR_C2S), WSMSG_SNIFF_NO);
    ck_assert_int_eq(wsmsg_sniff((const uint8_t *)http, strlen(http), WST_DIR_S2C), WSMSG_SNIFF_NO);
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    ck_assert_int_eq(wsmsg_sniff(tls, sizeof tls, WST_DIR_C2S), WSMSG_SNIFF_NO);
    /* invalid UTF-8 in an uncompressed text frame */
    wb_frame(&w, true, 0, 1, NULL, "\xff\xfe", 2);
    ck_assert_int_eq(wsmsg_sniff(w.p, w.n, WST_DIR_S2C), WSMSG_SNIFF_NO);
    wb_free(&w);
}
END_TEST

/* ---- properties ------------------------------------------------------------------------------ */

static uint32_t rng_state;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Random valid traffic with random gaps: identical callbacks in every chunking. */
START_TEST(test_random_gaps_deterministic)
{
    rng_state = 0x12345678u + (uint32_t)_i;
    uint8_t pl[2000];
    for (int round = 0; round < 6; round++) {
        struct wb w = {0};
        bool c2s = rng() & 1;
        int nframes = 5 + (int)(rng() % 20);
        bool open = false;
        for (int f = 0; f < nframes; f++) {
            size_t len = rng() % 4 == 0 ? 126 + rng() % 600 : rng() % 40;
            for (size_t i = 0; i < len; i++)
                pl[i] = (uint8_t)(rng() % 3 ? 'a' + rng() % 26 : rng());
            unsigned op;
            bool fin = true;
            int kind = (int)(rng() % 6);
            if (kind == 0) {
                op = 9 + rng() % 2;
                len %= 126;
            } else if (open) {
                op = 0;
                fin = rng() % 2;
            } else {
                op = 2;
                fin = rng() % 3 != 0;
            }
            if (!wsf_is_control(op))
                open = !fin;
            wb_frame(&w, fin, 0, op, c2s ? KEY : NULL, pl, len);
        }
        struct script s;
        sc_init(&s, c2s ? WST_DIR_C2S : WST_DIR_S2C, WST_COMP_NONE);
        size_t pos = 0;
        for (int g = 0; g < 3 && pos < w.n; g++) {
            size_t d = rng() % (w.n - pos + 1);
            sc_data(&s, w.p + pos, d);
            pos += d;
            size_t gl = 1 + rng() % 50;
            if (pos + gl > w.n)
                gl = w.n - pos;
            if (gl) {
                sc_gap(&s, gl);
                pos += gl;
            }
        }
        sc_data(&s, w.p + pos, w.n - pos);
        struct tr ref;
        check_all(&s, NULL, &ref);
        tr_free(&ref);
        /* the same in midstream mode */
        s.midstream = true;
        check_all(&s, NULL, &ref);
        tr_free(&ref);
        wb_free(&w);
    }
}
END_TEST

/* Random bytes, with and without compression: no crash, no over-read, deterministic. */
START_TEST(test_random_garbage)
{
    rng_state = 0xdeadbeefu + (uint32_t)_i;
    uint8_t buf[1500];
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)rng();
        if (round & 1) /* bias towards header-like bytes */
            for (size_t i = 0; i < sizeof buf; i += 1 + rng() % 9)
                buf[i] = (uint8_t)(0x80 | (rng() % 3));
        struct script s;
        sc_init(&s, round & 2 ? WST_DIR_C2S : WST_DIR_S2C,
                round & 1 ? WST_COMP_PMD : WST_COMP_DEFLATE_FRAME);
        s.cfg.max_message = 4096;
        s.cfg.resync_window = 300;
        sc_data(&s, buf, 700);
        sc_gap(&s, 17);
        sc_data(&s, buf + 700, sizeof buf - 700);
        struct tr ref;
        check_all(&s, NULL, &ref);
        tr_free(&ref);
    }
}
END_TEST

/* Steady state: no allocation per frame or message once the buffers have grown. */
START_TEST(test_steady_state_buffers)
{
    struct wb w = {0};
    for (int i = 0; i < 200; i++)
        wb_frame(&w, true, 0, 1, KEY, "steady state message", 20);
    struct wsmsg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = WST_DIR_C2S;
    struct wsmsg m;
    ck_assert_int_eq(wsmsg_init(&m, &cfg, NULL), 0);
    wsmsg_feed(&m, w.p, 26 * 10);
    uint8_t *p = m.buf.p;
    size_t cap = m.buf.cap;
    wsmsg_feed(&m, w.p + 260, w.n - 260);
    ck_assert_ptr_eq(m.buf.p, p);
    ck_assert_uint_eq(m.buf.cap, cap);
    ck_assert_ptr_null(m.rb); /* no resync buffer without a resync */
    ck_assert_uint_eq(m.n_messages, 200);
    wsmsg_finish(&m);
    wsmsg_free(&m);
    wb_free(&w);
}
END_TEST

static Suite *wsmsg_suite(void)
{
    Suite *s = suite_create("wsmsg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_rfc_unmasked_hello);
    tcase_add_test(tc, test_rfc_masked_hello);
    tcase_add_test(tc, test_rfc_fragmented);
    tcase_add_test(tc, test_rfc_ping_pong);
    tcase_add_test(tc, test_rfc_lengths);
    tcase_add_test(tc, test_pmd_rfc_examples);
    tcase_add_test(tc, test_pmd_masked_fragments);
    tcase_add_test(tc, test_deflate_frame);
    tcase_add_test(tc, test_len_2_63);
    tcase_add_test(tc, test_bomb);
    tcase_add_test(tc, test_message_cap_uncompressed);
    tcase_add_test(tc, test_utf8_across_fragments);
    tcase_add_test(tc, test_close_frames);
    tcase_add_test(tc, test_control_errors);
    tcase_add_test(tc, test_mask_and_rsv_errors);
    tcase_add_test(tc, test_sequence_errors);
    tcase_add_test(tc, test_gap_in_header);
    tcase_add_test(tc, test_gap_inside_payload);
    tcase_add_test(tc, test_gap_past_payload);
    tcase_add_test(tc, test_midstream);
    tcase_add_test(tc, test_finish_partial);
    tcase_add_test(tc, test_lost_context_recovery);
    tcase_add_test(tc, test_gap_in_compressed_message);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_gap_verify_fails);
    tcase_add_test(tc, test_resync_big_frame);
    tcase_add_test(tc, test_every_prefix_guard);
    tcase_add_loop_test(tc, test_random_gaps_deterministic, 0, 4);
    tcase_add_loop_test(tc, test_random_garbage, 0, 3);
    tcase_add_test(tc, test_steady_state_buffers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(wsmsg_suite());
}
