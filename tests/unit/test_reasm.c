/* test_reasm.c - the stream reassembler: orderings, overlaps against the first copy,
 * gaps from acknowledgements and caps, snaplen-cut segments, sequence wraparound. */
#include <stdio.h>
#include <stdlib.h>

#include "reasm.h"
#include "util.h"

/* What the reassembler delivered: bytes (gaps as '#') and a log of calls. */
struct sink {
    char bytes[70000];
    size_t n;
    uint64_t expect_off;
    int gaps;
    uint64_t gap_bytes;
    uint64_t frames[64];
    int nframes;
};

static void sink_data(void *ctx, uint64_t off, const uint8_t *p, uint32_t len, uint64_t frame)
{
    struct sink *s = ctx;
    ck_assert_uint_eq(off, s->expect_off); /* strictly in order, no holes unannounced */
    ck_assert_uint_le(s->n + len, sizeof s->bytes);
    memcpy(s->bytes + s->n, p, len);
    s->n += len;
    s->expect_off += len;
    if (s->nframes < 64)
        s->frames[s->nframes++] = frame;
}

static void sink_gap(void *ctx, uint64_t off, uint64_t len)
{
    struct sink *s = ctx;
    ck_assert_uint_eq(off, s->expect_off);
    ck_assert_uint_gt(len, 0);
    for (uint64_t i = 0; i < len && s->n < sizeof s->bytes; i++)
        s->bytes[s->n++] = '#';
    s->expect_off += len;
    s->gaps++;
    s->gap_bytes += len;
}

struct rs {
    struct reasm r;
    struct reasm_pool pool;
    struct sink sink;
    struct reasm_out out;
};

static void rs_init(struct rs *t, uint32_t base)
{
    memset(t, 0, sizeof *t);
    reasm_init(&t->r);
    reasm_set_base(&t->r, base);
    t->pool.ooo_max = 1 << 20;
    t->pool.ooo_max_conn = 1 << 16;
    t->pool.ret_max = 1 << 20;
    t->pool.ret_max_conn = 1 << 16;
    t->out.data = sink_data;
    t->out.gap = sink_gap;
    t->out.ctx = &t->sink;
}

static unsigned add(struct rs *t, int64_t off, const char *s, uint64_t frame)
{
    uint32_t n = (uint32_t)strlen(s);
    return reasm_add(&t->r, &t->pool, off, (const uint8_t *)s, n, n, frame, &t->out);
}

static void rs_end(struct rs *t)
{
    reasm_flush(&t->r, &t->pool, &t->out);
    t->sink.bytes[t->sink.n] = '\0';
    ck_assert_uint_eq(t->pool.ooo_bytes, 0);
    ck_assert_uint_eq(t->pool.ret_bytes, 0);
}

START_TEST(test_in_order)
{
    struct rs t;
    rs_init(&t, 1000);
    ck_assert_uint_eq(add(&t, 0, "hello ", 1), 0);
    ck_assert_uint_eq(add(&t, 6, "world", 2), 0);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "hello world");
    ck_assert_int_eq(t.sink.nframes, 2);
    ck_assert_uint_eq(t.sink.frames[1], 2);
}
END_TEST

/* Every permutation of four segments gives the same stream. */
START_TEST(test_all_orders)
{
    const char *parts[4] = {"abc", "defg", "hi", "jklmn"};
    int64_t offs[4] = {0, 3, 7, 9};
    int perm[4] = {0, 1, 2, 3};
    int count = 0;
    /* Heap's algorithm, iteratively */
    int c[4] = {0, 0, 0, 0};
    for (int i = 0;;) {
        struct rs t;
        rs_init(&t, 7);
        for (int k = 0; k < 4; k++)
            add(&t, offs[perm[k]], parts[perm[k]], (uint64_t)k + 1);
        ck_assert_uint_eq(t.r.qbytes, 0);
        rs_end(&t);
        ck_assert_str_eq(t.sink.bytes, "abcdefghijklmn");
        ck_assert_int_eq(t.sink.gaps, 0);
        count++;
        while (i < 4 && c[i] >= i) {
            c[i] = 0;
            i++;
        }
        if (i >= 4)
            break;
        int j = i % 2 ? c[i] : 0;
        int tmp = perm[j];
        perm[j] = perm[i];
        perm[i] = tmp;
        c[i]++;
        i = 1;
    }
    ck_assert_int_eq(count, 24);
}
END_TEST

START_TEST(test_retransmission_compared)
{
    struct rs t;
    rs_init(&t, 0);
    add(&t, 0, "GET / HTTP/1.1\r\n", 1);
    /* identical retransmission: old, no mismatch */
    ck_assert_uint_eq(add(&t, 0, "GET / HTTP/1.1\r\n", 2), REASM_OLD);
    /* a different copy of delivered bytes (still unacknowledged): mismatch, first copy kept */
    ck_assert_uint_eq(add(&t, 4, "/evil", 3), REASM_OLD | REASM_MISMATCH);
    /* acknowledged bytes are still compared (an injected copy often wins the race) */
    reasm_ack(&t.r, &t.pool, 16, &t.out);
    ck_assert_uint_eq(add(&t, 4, "/evil", 4), REASM_OLD | REASM_MISMATCH);
    /* partial overlap: the new tail is delivered */
    ck_assert_uint_eq(add(&t, 14, "\r\nHost", 5), REASM_OLD);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "GET / HTTP/1.1\r\nHost");
}
END_TEST

START_TEST(test_queue_overlaps)
{
    struct rs t;
    rs_init(&t, 0);
    ck_assert_uint_eq(add(&t, 10, "KLMNO", 1), REASM_QUEUED);
    /* overlaps the queued bytes with different content: first copy wins */
    ck_assert_uint_eq(add(&t, 8, "ijXXXXXpq", 2), REASM_QUEUED | REASM_OLD | REASM_MISMATCH);
    ck_assert_uint_eq(add(&t, 12, "MN", 3), REASM_QUEUED | REASM_OLD);
    ck_assert_uint_eq(t.sink.n, 0);
    /* an in-order segment that runs into the queue: queued bytes still win */
    ck_assert_uint_eq(add(&t, 0, "abcdefghZZ", 4), REASM_OLD | REASM_MISMATCH);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "abcdefghijKLMNOpq");
    ck_assert_int_eq(t.sink.gaps, 0);
}
END_TEST

START_TEST(test_gap_from_ack_and_flush)
{
    struct rs t;
    rs_init(&t, 0);
    add(&t, 0, "aaaa", 1);
    add(&t, 8, "cccc", 2); /* bytes 4..7 never captured */
    ck_assert_uint_eq(t.sink.n, 4);
    reasm_ack(&t.r, &t.pool, 14, &t.out); /* the receiver has all up to 14 */
    ck_assert_int_eq(t.sink.gaps, 2);
    ck_assert_uint_eq(t.sink.gap_bytes, 6);
    add(&t, 14, "ee", 3);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "aaaa####cccc##ee");

    /* at the end, queued data is delivered with the holes as gaps, up to the FIN */
    rs_init(&t, 0);
    add(&t, 5, "fff", 1);
    reasm_fin(&t.r, 12);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "#####fff####");
    ck_assert_int_eq(t.sink.gaps, 2);
    /* an ACK covering the FIN does not invent a byte for it */
    rs_init(&t, 0);
    add(&t, 0, "xy", 1);
    reasm_fin(&t.r, 2);
    reasm_ack(&t.r, &t.pool, 3, &t.out);
    ck_assert_int_eq(t.sink.gaps, 0);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "xy");
}
END_TEST

START_TEST(test_snaplen_cut)
{
    struct rs t;
    rs_init(&t, 0);
    /* 10 bytes on the wire, 4 captured */
    reasm_add(&t.r, &t.pool, 0, (const uint8_t *)"abcd", 10, 4, 1, &t.out);
    reasm_add(&t.r, &t.pool, 10, (const uint8_t *)"kl", 10, 2, 2, &t.out);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "abcd######kl########");
    ck_assert_int_eq(t.sink.gaps, 2);
}
END_TEST

START_TEST(test_caps)
{
    struct rs t;
    rs_init(&t, 0);
    t.pool.ooo_max_conn = 8;
    ck_assert_uint_eq(add(&t, 4, "1234", 1), REASM_QUEUED);
    ck_assert_uint_eq(add(&t, 10, "ab", 2), REASM_QUEUED);
    ck_assert_uint_eq(t.r.qbytes, 6);
    /* no room for 4 more: skip to the first queued byte (a gap) and deliver */
    unsigned f = add(&t, 20, "wxyz", 3);
    ck_assert(f & REASM_LIMIT);
    ck_assert(f & REASM_QUEUED);
    ck_assert_uint_eq(t.sink.gaps, 1);
    ck_assert_uint_le(t.r.qbytes, 8);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "####1234##ab########wxyz");

    /* a global cap is shared by all streams */
    rs_init(&t, 0);
    t.pool.ooo_max = 3;
    f = add(&t, 5, "toolong", 1);
    ck_assert(f & REASM_LIMIT);
    ck_assert_uint_eq(t.r.qbytes, 0);
    rs_end(&t);
    ck_assert_uint_eq(t.sink.n, 0);
}
END_TEST

START_TEST(test_wraparound)
{
    struct rs t;
    rs_init(&t, 0xfffffff0u);
    int64_t o1 = reasm_offset(&t.r, 0xfffffff0u);
    ck_assert_int_eq(o1, 0);
    char big[41];
    memset(big, 'w', 40);
    big[40] = '\0';
    add(&t, reasm_offset(&t.r, 0xfffffff0u), big, 1);
    /* the sequence number wrapped past zero; the offset keeps growing */
    ck_assert_int_eq(reasm_offset(&t.r, 0x18u), 40);
    ck_assert_int_eq(reasm_offset(&t.r, 0xfffffff8u), 8);
    add(&t, reasm_offset(&t.r, 0x18u), "after", 2);
    rs_end(&t);
    ck_assert_uint_eq(t.sink.n, 45);
    ck_assert_int_eq(t.sink.gaps, 0);
    /* before the base: ignored */
    rs_init(&t, 100);
    ck_assert_uint_eq(add(&t, reasm_offset(&t.r, 90), "0123456789ab", 1), REASM_OLD);
    rs_end(&t);
    ck_assert_str_eq(t.sink.bytes, "ab");
}
END_TEST

/* Retention grows up to its cap and keeps only the newest bytes. */
START_TEST(test_retention_cap)
{
    struct rs t;
    rs_init(&t, 0);
    t.pool.ret_max_conn = 8192;
    static char blk[5001];
    memset(blk, 'a', 5000);
    add(&t, 0, blk, 1);
    memset(blk, 'b', 5000);
    add(&t, 5000, blk, 2);
    ck_assert_uint_eq(t.r.ret_cap, 8192);
    ck_assert_uint_eq(t.pool.ret_bytes, 8192);
    /* the oldest bytes were dropped: no comparison there */
    ck_assert_uint_eq(add(&t, 0, "zz", 3), REASM_OLD);
    /* the newest are compared */
    ck_assert_uint_eq(add(&t, 9000, "zz", 4), REASM_OLD | REASM_MISMATCH);
    rs_end(&t);
}
END_TEST

static Suite *reasm_suite(void)
{
    Suite *s = suite_create("reasm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_in_order);
    tcase_add_test(tc, test_all_orders);
    tcase_add_test(tc, test_retransmission_compared);
    tcase_add_test(tc, test_queue_overlaps);
    tcase_add_test(tc, test_gap_from_ack_and_flush);
    tcase_add_test(tc, test_snaplen_cut);
    tcase_add_test(tc, test_caps);
    tcase_add_test(tc, test_wraparound);
    tcase_add_test(tc, test_retention_cap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(reasm_suite());
}
