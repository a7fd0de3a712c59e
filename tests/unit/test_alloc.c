/* test_alloc.c - no allocation per packet in steady state.
 *
 * This binary is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free (see
 * the Makefile), so every allocation the core and the sinks make goes through the counters
 * below. A permessage-deflate WebSocket session with context takeover (hand-built segments:
 * masked compressed client messages, compressed server replies, fragmented messages, pings,
 * pure ACKs) runs through wst_packet and both sinks; after a warm-up, where buffers reach
 * their working sizes, thousands of further packets must not allocate at all. Twice: with the
 * sinks in the callback (as for a pipe), and behind the formatting thread's queue (evq, as
 * for a capture file).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "core.h"
#include "evq.h"
#include "outbuf.h"
#include "pktbuild.h"
#include "sink.h"
#include "util.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

/* atomic: with the formatting thread (evq) both threads would count */
static _Atomic unsigned long n_alloc, n_free;

/* Check's assertions allocate (it is linked statically, so the wrappers see that too): the
 * helpers below only note the first failed line, the test asserts on it afterwards. */
static int failed_line;
#define REQUIRE(c)                                                                              \
    do {                                                                                       \
        if (!(c) && !failed_line)                                                              \
            failed_line = __LINE__;                                                            \
    } while (0)

void *__wrap_malloc(size_t n)
{
    n_alloc++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    n_alloc++;
    return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    n_alloc++;
    return __real_realloc(p, n);
}

void __wrap_free(void *p)
{
    if (p)
        n_free++;
    __real_free(p);
}

#define C "10.0.0.1"
#define S "10.0.0.2"
#define CP 40000
#define SP 8080

struct rig {
    struct wst_analyzer *a;
    struct outbuf *json, *text;
    unsigned long events, messages;
    int64_t t;
    uint32_t cseq, sseq;
    unsigned long packets;
    z_stream zc, zs; /* the client's and the server's compressors (context takeover) */
    struct evq *q;   /* NULL: the sinks run in the callback, as for a pipe; else on evq */
};

static bool format(void *user, const struct wst_event *ev)
{
    struct rig *r = user;
    sink_json_event(r->json, &sink_opts_default, ev);
    sink_text_event(r->text, &sink_opts_default, ev);
    return !outbuf_failed(r->json) && !outbuf_failed(r->text);
}

static void on_event(const struct wst_event *ev, void *user)
{
    struct rig *r = user;
    r->events++;
    if (ev->type == WST_EV_WS_MESSAGE)
        r->messages++;
    if (r->q) {
        if (evq_push(r->q, ev))
            return;
        evq_drain(r->q);
    }
    format(r, ev);
}

static void tx(struct rig *r, bool from_client, const uint8_t *p, size_t n)
{
    static uint8_t b[4096];
    struct seg s = {4,
                    from_client ? C : S,
                    from_client ? S : C,
                    from_client ? CP : SP,
                    from_client ? SP : CP,
                    from_client ? r->cseq : r->sseq,
                    from_client ? r->sseq : r->cseq,
                    (uint8_t)(TCPF_ACK | (n ? TCPF_PSH : 0)),
                    65535,
                    NULL,
                    0,
                    p,
                    n};
    size_t len = pb_eth(b, &s);
    REQUIRE(len <= sizeof b);
    if (from_client)
        r->cseq += (uint32_t)n;
    else
        r->sseq += (uint32_t)n;
    r->t += 50;
    struct wst_pkthdr h = {r->t, (uint32_t)len, (uint32_t)len};
    wst_packet(r->a, &h, b);
    r->packets++;
}

/* One frame (opcode op, fin, rsv1) from one side; client frames are masked. */
static void frame(struct rig *r, bool from_client, uint8_t op, bool fin, bool rsv1,
                  const uint8_t *p, size_t n)
{
    uint8_t f[2048];
    size_t h = 0;
    REQUIRE(n < 65536);
    f[h++] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
    uint8_t m = from_client ? 0x80 : 0;
    if (n < 126) {
        f[h++] = (uint8_t)(m | n);
    } else {
        f[h++] = m | 126;
        f[h++] = (uint8_t)(n >> 8);
        f[h++] = (uint8_t)n;
    }
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    if (from_client) {
        memcpy(f + h, key, 4);
        h += 4;
    }
    REQUIRE(h + n <= sizeof f);
    for (size_t i = 0; i < n; i++)
        f[h + i] = from_client ? (uint8_t)(p[i] ^ key[i & 3]) : p[i];
    tx(r, from_client, f, h + n);
}

/* Compress with the side's context, sync flush, without the 00 00 ff ff tail. */
static size_t squeeze(z_stream *z, const char *msg, uint8_t *out, size_t cap)
{
    z->next_in = (Bytef *)(uintptr_t)msg;
    z->avail_in = (uInt)strlen(msg);
    z->next_out = out;
    z->avail_out = (uInt)cap;
    REQUIRE(deflate(z, Z_SYNC_FLUSH) == Z_OK);
    REQUIRE(z->avail_in == 0);
    size_t n = cap - z->avail_out;
    REQUIRE(n >= 4);
    return n - 4;
}

static void exchange(struct rig *r, unsigned i)
{
    char msg[600];
    uint8_t z[1024];
    /* 50..500 bytes of JSON, varying */
    int len = snprintf(msg, sizeof msg,
                       "{\"type\":\"tick\",\"seq\":%u,\"symbol\":\"WSTAP\",\"price\":%u.%02u,"
                       "\"note\":\"%.*s\"}",
                       i, 100 + i % 37, i % 100, (int)(i * 7 % 420),
                       "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"
                       "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"
                       "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"
                       "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"
                       "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"
                       "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789");
    REQUIRE(len > 0);
    size_t n = squeeze(&r->zc, msg, z, sizeof z);
    if (i % 10 == 3 && n > 8) { /* a fragmented message: two frames, RSV1 on the first */
        frame(r, true, 1, false, true, z, n / 2);
        frame(r, true, 0, true, false, z + n / 2, n - n / 2);
    } else {
        frame(r, true, 1, true, true, z, n);
    }
    tx(r, false, NULL, 0); /* the server's ACK */
    n = squeeze(&r->zs, msg, z, sizeof z);
    frame(r, false, 1, true, true, z, n);
    if (i % 25 == 0) {
        frame(r, true, 9, true, false, (const uint8_t *)"hb", 2);
        frame(r, false, 10, true, false, (const uint8_t *)"hb", 2);
    }
    tx(r, true, NULL, 0); /* the client's ACK */
}

static void session(bool threaded)
{
    struct rig *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    struct wst_limits lim;
    wst_limits_default(&lim);
    unsigned long a_start = n_alloc;
    r->a = wst_new(&lim, on_event, r);
    ck_assert_ptr_nonnull(r->a);
    wst_set_link(r->a, WST_LINK_ETHERNET);
    int fd = open("/dev/null", O_WRONLY);
    ck_assert_int_ge(fd, 0);
    r->json = malloc(sizeof *r->json);
    r->text = malloc(sizeof *r->text);
    ck_assert_ptr_nonnull(r->json);
    ck_assert_ptr_nonnull(r->text);
    outbuf_init(r->json, fd);
    outbuf_init(r->text, fd);
    ck_assert_int_eq(deflateInit2(&r->zc, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    ck_assert_int_eq(deflateInit2(&r->zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    r->t = 1700000000000000;
    if (threaded) {
        r->q = evq_new(format, r);
        ck_assert_ptr_nonnull(r->q);
    }

    static const uint8_t syn_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7, 1, 1};
    uint8_t b[256];
    struct seg s = {4, C, S, CP, SP, 999, 0, TCPF_SYN, 65535, syn_opts, sizeof syn_opts, NULL, 0};
    struct wst_pkthdr h = {r->t, 0, 0};
    h.caplen = h.len = (uint32_t)pb_eth(b, &s);
    wst_packet(r->a, &h, b);
    struct seg sa = {4, S, C, SP, CP, 4999, 1000, TCPF_SYN | TCPF_ACK, 65535, syn_opts,
                     sizeof syn_opts, NULL, 0};
    h.ts_us += 20;
    h.caplen = h.len = (uint32_t)pb_eth(b, &sa);
    wst_packet(r->a, &h, b);
    r->t = h.ts_us;
    r->cseq = 1000;
    r->sseq = 5000;
    tx(r, true, NULL, 0);
    static const char req[] =
        "GET /feed HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    static const char resp[] =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    tx(r, true, (const uint8_t *)req, sizeof req - 1);
    tx(r, false, (const uint8_t *)resp, sizeof resp - 1);

    unsigned i = 0;
    for (; i < 1000; i++) /* warm-up: buffers grow to their working sizes */
        exchange(r, i);
    unsigned long a0 = n_alloc, f0 = n_free, p0 = r->packets, m0 = r->messages;
    for (; i < 6000; i++)
        exchange(r, i);
    if (r->q)
        evq_drain(r->q); /* everything formatted, on the other thread */
    unsigned long allocs = n_alloc - a0, frees = n_free - f0;
    ck_assert_int_eq(failed_line, 0);
    /* the wrappers do count: setting up the analyzer, the connection, the inflaters did */
    ck_assert_uint_gt(a0 - a_start, 3);
    unsigned long pkts = r->packets - p0, msgs = r->messages - m0;

    /* the session was decoded in full: two messages per exchange */
    ck_assert_uint_eq(msgs, 2 * 5000);
    ck_assert_uint_eq(pkts, 5000 * 4 + 500 + 2 * 200); /* + fragments, pings and pongs */
    ck_assert(!outbuf_failed(r->json));
    ck_assert(!outbuf_failed(r->text));
    printf("test_alloc%s: %lu packets, %lu messages in steady state: %lu allocations, %lu "
           "frees\n", threaded ? " (formatting thread)" : "", pkts, msgs, allocs, frees);
    ck_assert_uint_eq(allocs, 0);
    ck_assert_uint_eq(frees, 0);

    wst_finish(r->a, NULL);
    evq_free(r->q);
    wst_free(r->a);
    outbuf_flush(r->json);
    outbuf_flush(r->text);
    close(fd);
    deflateEnd(&r->zc);
    deflateEnd(&r->zs);
    free(r->json);
    free(r->text);
    free(r);
}

START_TEST(test_steady_state_no_alloc)
{
    session(false);
}
END_TEST

START_TEST(test_steady_state_no_alloc_threaded)
{
    session(true);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_steady_state_no_alloc);
    tcase_add_test(tc, test_steady_state_no_alloc_threaded);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
