/* test_wsmid.c - mid-stream WebSocket recognition: chains of frames, masking per direction,
 * a start in the middle of a frame (at every split point and in one-byte segments), a single
 * large first frame, the end of the stream, and streams that must never be taken for
 * WebSocket (random bytes, TLS records, an SSH banner and packets, DNS over TCP). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "wsbuild.h"
#include "wsmid.h"

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);                                     \
    } while (0)

static uint32_t rnd_state;
static uint8_t rnd8(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (uint8_t)(rnd_state >> 16);
}

static void wb_random(struct wb *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = rnd8();
        wb_raw(w, &b, 1);
    }
}

/* A client's stream of chat-like frames: texts, a binary, a ping, compressed (RSV1) ones. */
static void client_frames(struct wb *w, int n)
{
    static const uint8_t z[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    for (int i = 0; i < n; i++) {
        switch (i % 4) {
        case 0:
            wb_frame(w, true, 0, 1, KEY, "hello from the client", 21);
            break;
        case 1:
            wb_frame(w, true, 4, 1, KEY, z, sizeof z);
            break;
        case 2:
            wb_frame(w, true, 0, 9, KEY, "ping", 4);
            break;
        default:
            wb_frame(w, true, 0, 2, KEY, "\x01\x02\x03\x04\x05", 5);
            break;
        }
    }
}

static void server_frames(struct wb *w, int n)
{
    for (int i = 0; i < n; i++)
        wb_frame(w, true, 0, i % 2 ? 2 : 1, NULL, i % 2 ? "\xff\x00\x10" : "hi there", i % 2 ? 3 : 8);
}

/* Feed side's bytes in segments of seg bytes (the last one shorter). */
static void feed(struct wsmid *m, int side, const uint8_t *p, size_t n, size_t seg, uint64_t *fr)
{
    for (size_t off = 0; off < n; off += seg) {
        size_t k = n - off < seg ? n - off : seg;
        ++*fr;
        wsmid_add(m, side, p + off, k, *fr, (int64_t)*fr * 1000);
    }
}

START_TEST(test_chain_from_first_byte)
{
    struct wb w = {0};
    client_frames(&w, 6);
    struct wsmid *m = wsmid_new(0, NULL);
    uint64_t fr = 0;
    feed(m, 0, w.p, w.n, w.n, &fr);
    ck_assert_int_eq(wsmid_decide(m), WSMID_YES);
    ck_assert_int_eq(m->rule, WSMID_BY_CHAIN);
    ck_assert_int_eq(m->by_side, 0);
    ck_assert_int_eq(wsmid_accepted(m, 0), 0);
    ck_assert_int_eq(wsmid_accepted(m, 1), -1); /* the server has sent nothing yet */
    wsmid_end(m, 1);
    ck_assert_int_eq(wsmid_decide(m), WSMID_YES);
    ck_assert_int_eq(wsmid_accepted(m, 1), -2);
    wsmid_free(m);

    /* the same bytes from the server: masked frames are not a server's */
    m = wsmid_new(0, NULL);
    feed(m, 1, w.p, w.n, w.n, &fr);
    ck_assert_int_eq(wsmid_decide(m), WSMID_MORE);
    wsmid_end(m, 0);
    wsmid_end(m, 1);
    ck_assert_int_eq(wsmid_decide(m), WSMID_NO);
    wsmid_free(m);

    /* unmasked frames are not a client's */
    wb_free(&w);
    server_frames(&w, 6);
    m = wsmid_new(0, NULL);
    feed(m, 0, w.p, w.n, w.n, &fr);
    wsmid_end(m, 0);
    wsmid_end(m, 1);
    ck_assert_int_eq(wsmid_decide(m), WSMID_NO);
    wsmid_free(m);
    wb_free(&w);
}
END_TEST

START_TEST(test_both_directions)
{
    struct wb c = {0}, s = {0};
    client_frames(&c, 2);
    server_frames(&s, 2);
    struct wsmid *m = wsmid_new(0, NULL);
    uint64_t fr = 0;
    feed(m, 0, c.p, c.n, c.n, &fr);
    ck_assert_int_eq(wsmid_decide(m), WSMID_MORE); /* two headers alone prove nothing */
    feed(m, 1, s.p, s.n, s.n, &fr);
    ck_assert_int_eq(wsmid_decide(m), WSMID_YES);
    ck_assert_int_eq(m->rule, WSMID_BY_BOTH);
    ck_assert_int_eq(wsmid_accepted(m, 0), 0);
    ck_assert_int_eq(wsmid_accepted(m, 1), 0);
    wsmid_free(m);
    wb_free(&c);
    wb_free(&s);
}
END_TEST

/* The capture starts inside a 3000-byte masked frame: its tail, then frames. */
static void midframe_stream(struct wb *w, size_t *tail, size_t cut)
{
    struct wb big = {0};
    uint8_t pl[3000];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = rnd8();
    wb_frame(&big, true, 4, 2, KEY, pl, sizeof pl);
    *tail = cut;
    wb_raw(w, big.p + big.n - *tail, *tail);
    client_frames(w, 8);
    wb_free(&big);
}

START_TEST(test_mid_frame_every_split)
{
    struct wb w = {0};
    size_t tail;
    rnd_state = 7;
    midframe_stream(&w, &tail, 1234);
    int proven = 0;
    for (size_t k = 0; k <= w.n; k++) { /* two segments split at k */
        struct wsmid *m = wsmid_new(0, NULL);
        uint64_t fr = 0;
        if (k)
            wsmid_add(m, 0, w.p, k, ++fr, 1);
        if (k < w.n)
            wsmid_add(m, 0, w.p + k, w.n - k, ++fr, 2);
        wsmid_end(m, 0);
        wsmid_end(m, 1);
        int r = wsmid_decide(m);
        ck_assert(r == WSMID_YES || r == WSMID_NO);
        if (r == WSMID_YES) { /* never anywhere but where the frames start */
            ck_assert_int_eq(wsmid_accepted(m, 0), (long)tail);
            proven++;
        }
        wsmid_free(m);
    }
    ck_assert_int_eq(proven, (int)w.n + 1); /* 8 headers prove it whatever the split */
    wb_free(&w);
}
END_TEST

START_TEST(test_mid_frame_one_byte_segments)
{
    struct wb w = {0};
    size_t tail;
    rnd_state = 11;
    midframe_stream(&w, &tail, 300); /* (held in fewer than WSMID_SEGS segments) */
    struct wsmid *m = wsmid_new(0, NULL);
    uint64_t fr = 0;
    feed(m, 0, w.p, w.n, 1, &fr); /* every byte starts a segment: the weakest case */
    ck_assert_int_eq(wsmid_decide(m), WSMID_YES);
    ck_assert_int_eq(wsmid_accepted(m, 0), (long)tail);
    const struct wsmid_seg *sg = wsmid_seg_at(m, 0, tail);
    REQUIRE(sg != NULL);
    ck_assert_uint_eq(sg->frame, tail + 1);
    wsmid_free(m);

    /* a chain that starts inside a segment needs WSMID_CHAIN_ANY headers */
    struct wb v = {0};
    wb_raw(&v, w.p, tail);
    client_frames(&v, WSMID_CHAIN_ANY - 1);
    m = wsmid_new(0, NULL);
    feed(m, 0, v.p, v.n, v.n, &fr);
    ck_assert_int_eq(wsmid_decide(m), WSMID_MORE);
    wb_free(&v);
    wsmid_free(m);
    wb_free(&w);
}
END_TEST

START_TEST(test_single_large_first_frame)
{
    size_t big = 100000;
    uint8_t *pl = malloc(big);
    REQUIRE(pl != NULL);
    for (size_t i = 0; i < big; i++)
        pl[i] = rnd8();
    struct wb c = {0}, s = {0};
    wb_frame(&c, true, 0, 2, KEY, pl, big);
    server_frames(&s, 4);
    struct wsmid *m = wsmid_new(0, NULL);
    uint64_t fr = 0;
    feed(m, 0, c.p, c.n, 1448, &fr);
    ck_assert_int_eq(wsmid_decide(m), WSMID_MORE);
    feed(m, 1, s.p, s.n, s.n, &fr); /* the server's frames prove the connection */
    ck_assert_int_eq(wsmid_decide(m), WSMID_YES);
    ck_assert_int_eq(wsmid_accepted(m, 1), 0);
    ck_assert_int_eq(wsmid_accepted(m, 0), -1); /* one header, not followed yet */
    client_frames(&c, 1);
    size_t more = c.n - (2 + 8 + 4 + big);
    feed(m, 0, c.p + c.n - more, more, more, &fr); /* the frame that follows confirms it */
    ck_assert_int_eq(wsmid_decide(m), WSMID_YES);
    ck_assert_int_eq(wsmid_accepted(m, 0), 0);
    wsmid_free(m);

    /* alone, the large frame and the end of the stream right after it */
    m = wsmid_new(0, NULL);
    feed(m, 0, c.p, 2 + 8 + 4 + big, 1448, &fr);
    wsmid_end(m, 0);
    wsmid_end(m, 1);
    ck_assert_int_eq(wsmid_decide(m), WSMID_YES);
    ck_assert_int_eq(m->rule, WSMID_BY_END);
    ck_assert_int_eq(wsmid_accepted(m, 0), 0);
    wsmid_free(m);

    /* ... but not when the stream ends inside it */
    m = wsmid_new(0, NULL);
    feed(m, 0, c.p, 2 + 8 + 4 + big - 1, 1448, &fr);
    wsmid_end(m, 0);
    wsmid_end(m, 1);
    ck_assert_int_eq(wsmid_decide(m), WSMID_NO);
    wsmid_free(m);
    wb_free(&c);
    wb_free(&s);
    free(pl);
}
END_TEST

/* Feed both directions, end them, and require WSMID_NO. */
static void never(const uint8_t *c, size_t cn, const uint8_t *s, size_t sn, size_t seg)
{
    struct wsmid *m = wsmid_new(0, NULL);
    uint64_t fr = 0;
    feed(m, 0, c, cn, seg, &fr);
    feed(m, 1, s, sn, seg, &fr);
    ck_assert_int_ne(wsmid_decide(m), WSMID_YES);
    wsmid_end(m, 0);
    wsmid_end(m, 1);
    ck_assert_int_eq(wsmid_decide(m), WSMID_NO);
    wsmid_free(m);
}

START_TEST(test_random_never)
{
    struct wb c = {0}, s = {0};
    rnd_state = 1000u + (uint32_t)_i;
    wb_random(&c, 65536);
    wb_random(&s, 65536);
    never(c.p, c.n, s.p, s.n, 1448);
    never(c.p, 3000, s.p, 3000, 1);
    wb_free(&c);
    wb_free(&s);
}
END_TEST

START_TEST(test_protocols_never)
{
    struct wb c = {0}, s = {0};
    rnd_state = 99;
    /* TLS application data records both ways */
    for (int i = 0; i < 40; i++) {
        uint8_t h[5] = {0x17, 0x03, 0x03, 0x01, (uint8_t)(i * 7)};
        size_t n = 256 + (size_t)h[4];
        wb_raw(i % 2 ? &s : &c, h, 5);
        wb_random(i % 2 ? &s : &c, n);
    }
    never(c.p, c.n, s.p, s.n, 1448);
    wb_free(&c);
    wb_free(&s);
    /* SSH: banners, then binary packets (4-byte length, padding length, random) */
    const char *ban = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
    wb_raw(&c, ban, strlen(ban));
    wb_raw(&s, ban, strlen(ban));
    for (int i = 0; i < 40; i++) {
        uint8_t h[5] = {0, 0, 0x01, (uint8_t)(0x10 + i), 0x08};
        wb_raw(i % 2 ? &s : &c, h, 5);
        wb_random(i % 2 ? &s : &c, 0x110u + (size_t)i - 1);
    }
    never(c.p, c.n, s.p, s.n, 1448);
    wb_free(&c);
    wb_free(&s);
    /* DNS over TCP: 2-byte length, then the message; its server side looks like unmasked
     * continuation frames, which never open a message */
    for (int i = 0; i < 20; i++) {
        uint8_t q[31] = {0x00, 0x1d, (uint8_t)i, 0x2a, 0x01, 0x00, 0x00, 0x01};
        memcpy(q + 14, "\x07" "example" "\x03" "com", 13);
        wb_raw(&c, q, sizeof q);
        uint8_t r[47] = {0x00, 0x2d, (uint8_t)i, 0x2a, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01};
        wb_raw(&s, r, sizeof r);
    }
    never(c.p, c.n, s.p, s.n, 1448);
    never(c.p, c.n, s.p, s.n, 31);
    wb_free(&c);
    wb_free(&s);
}
END_TEST

START_TEST(test_hold_cap)
{
    struct wb w = {0};
    rnd_state = 5;
    wb_random(&w, WSMID_HOLD_MAX + 5000);
    struct wsmid *m = wsmid_new(0, NULL);
    uint64_t fr = 0;
    feed(m, 0, w.p, w.n, 1448, &fr);
    ck_assert(m->d[0].full);
    ck_assert_uint_le(m->d[0].len, WSMID_HOLD_MAX);
    ck_assert_uint_gt(m->d[0].dropped, 0);
    wsmid_end(m, 1);
    ck_assert_int_eq(wsmid_decide(m), WSMID_NO); /* a full side cannot change any more */
    wsmid_free(m);
    wb_free(&w);
}
END_TEST

START_TEST(test_restart_after_hole)
{
    struct wb w = {0};
    rnd_state = 3;
    wb_random(&w, 700);
    struct wb f = {0};
    client_frames(&f, 4);
    struct wsmid *m = wsmid_new(0, NULL);
    uint64_t fr = 0;
    feed(m, 0, w.p, w.n, w.n, &fr);
    wsmid_restart(m, 0); /* a hole: what follows is a new start */
    feed(m, 0, f.p, f.n, f.n, &fr);
    ck_assert_int_eq(wsmid_decide(m), WSMID_YES);
    ck_assert_int_eq(wsmid_accepted(m, 0), 0);
    ck_assert_uint_eq(wsmid_seg_at(m, 0, 0)->frame, 2);
    wsmid_free(m);
    wb_free(&w);
    wb_free(&f);
}
END_TEST

static Suite *wsmid_suite(void)
{
    Suite *s = suite_create("wsmid");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_chain_from_first_byte);
    tcase_add_test(tc, test_both_directions);
    tcase_add_test(tc, test_mid_frame_every_split);
    tcase_add_test(tc, test_mid_frame_one_byte_segments);
    tcase_add_test(tc, test_single_large_first_frame);
    tcase_add_loop_test(tc, test_random_never, 0, 20);
    tcase_add_test(tc, test_protocols_never);
    tcase_add_test(tc, test_hold_cap);
    tcase_add_test(tc, test_restart_after_hole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(wsmid_suite());
}
