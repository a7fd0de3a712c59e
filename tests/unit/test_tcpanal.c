/* test_tcpanal.c - retransmission and out-of-order classification by the bytes seen before,
 * on hand-built segments through the public analyzer API: resent bytes, fast (dup ACKs, SACK)
 * and timeout retransmissions, spurious ones, hole fills (reordered originals and resends),
 * partially new segments, and the record of holes when it overflows. */
#include <stdlib.h>

#include "core.h"
#include "pktbuild.h"
#include "util.h"

#define C "10.0.0.1"
#define S "10.0.0.2"
#define CP 40000
#define SP 80
#define ISN_C 1000u
#define ISN_S 5000u
#define D(rel) (ISN_S + (uint32_t)(rel)) /* server stream: relative seq 1 is ISN_S + 1 */

static const uint8_t c_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 1, 1};
static const uint8_t s_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 1, 1};

struct rig {
    struct wst_analyzer *a;
    struct evlog log;
    int64_t t;
};

static void rig_init(struct rig *r)
{
    struct wst_limits def;
    wst_limits_default(&def);
    memset(r, 0, sizeof *r);
    r->a = wst_new(&def, evlog_fn, &r->log);
    ck_assert_ptr_nonnull(r->a);
    wst_set_link(r->a, WST_LINK_ETHERNET);
    r->t = 1000000000;
}

static void rig_free(struct rig *r)
{
    wst_free(r->a);
}

static const uint8_t zeros[1500];

/* One segment of len payload bytes, dt_us after the previous one. */
static void tx(struct rig *r, bool from_client, uint32_t seq, uint32_t ack, uint8_t flags,
               const uint8_t *opts, size_t optlen, size_t len, int64_t dt_us)
{
    uint8_t b[2048];
    struct seg s = {4,
                    from_client ? C : S,
                    from_client ? S : C,
                    from_client ? CP : SP,
                    from_client ? SP : CP,
                    seq,
                    ack,
                    flags,
                    0,
                    opts,
                    optlen,
                    zeros,
                    len};
    size_t n = pb_eth(b, &s);
    r->t += dt_us;
    struct wst_pkthdr h = {r->t, (uint32_t)n, (uint32_t)n};
    wst_packet(r->a, &h, b);
}

/* Handshake with a 10 ms round trip (irtt 10 ms). */
static void handshake(struct rig *r)
{
    tx(r, true, ISN_C, 0, TCPF_SYN, c_opts, sizeof c_opts, 0, 0);
    tx(r, false, ISN_S, ISN_C + 1, TCPF_SYN | TCPF_ACK, s_opts, sizeof s_opts, 0, 5000);
    tx(r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK, NULL, 0, 0, 5000);
}

/* Server data [rel, rel + len) with no options. */
static void sdata(struct rig *r, uint32_t rel, size_t len, int64_t dt_us)
{
    tx(r, false, D(rel), ISN_C + 1, TCPF_ACK, NULL, 0, len, dt_us);
}

/* Server data carrying a timestamp option (TSval ts). */
static void sdata_ts(struct rig *r, uint32_t rel, size_t len, uint32_t ts, int64_t dt_us)
{
    uint8_t o[12] = {1, 1, 8, 10};
    pb_put32(o + 4, ts);
    tx(r, false, D(rel), ISN_C + 1, TCPF_ACK, o, sizeof o, len, dt_us);
}

/* A client ACK of server stream up to rel, with SACK blocks [l, r) relative (nsack pairs). */
static void cack(struct rig *r, uint32_t rel, const uint32_t *sack, int nsack, int64_t dt_us)
{
    uint8_t o[40] = {1, 1, 5, (uint8_t)(2 + 8 * nsack)};
    for (int i = 0; i < nsack; i++) {
        pb_put32(o + 4 + 8 * i, D(sack[2 * i]));
        pb_put32(o + 8 + 8 * i, D(sack[2 * i + 1]));
    }
    tx(r, true, ISN_C + 1, D(rel), TCPF_ACK, nsack ? o : NULL, nsack ? (size_t)(4 + 8 * nsack) : 0,
       0, dt_us);
}

/* The anomaly kind reported on frame fr among the retransmission/out-of-order kinds, or -1. */
static int rtx_kind(const struct rig *r, uint64_t fr)
{
    for (int i = 0; i < r->log.n; i++) {
        const struct wst_event *e = &r->log.ev[i];
        if (e->type != WST_EV_TCP_ANOMALY || e->frame != fr)
            continue;
        enum wst_anomaly k = e->u.anomaly.kind;
        if (k == WST_AN_RETRANSMISSION || k == WST_AN_FAST_RETRANSMISSION ||
            k == WST_AN_SPURIOUS_RETRANSMISSION || k == WST_AN_OUT_OF_ORDER)
            return (int)k;
    }
    return -1;
}

/* The frame number of the packet just sent: 3 handshake packets + n after them. */
#define FR(n) ((uint64_t)(3 + (n)))

/* A sender-side capture: the sender resends bytes a few microseconds after its newest
 * segment, well inside the reorder window (Wireshark: out-of-order). Resent bytes are a
 * retransmission; with nothing from the peer asking for them, not a fast one. */
START_TEST(test_resent_is_retransmission)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    sdata(&r, 1, 100, 1000); /* 4 */
    sdata(&r, 101, 100, 10); /* 5 */
    sdata(&r, 201, 100, 10); /* 6 */
    sdata(&r, 101, 100, 50); /* 7: resent, 50 us after the newest */
    ck_assert_int_eq(rtx_kind(&r, FR(4)), WST_AN_RETRANSMISSION);
    wst_finish(r.a, NULL);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_ptr_nonnull(cl);
    ck_assert_uint_eq(cl->u.close.anomalies[WST_AN_OUT_OF_ORDER], 0);
    ck_assert_uint_eq(cl->u.close.anomalies[WST_AN_RETRANSMISSION], 1);
    rig_free(&r);
}
END_TEST

/* The receiver's duplicate ACKs ask for the bytes at 101: the resend right after them is a
 * fast retransmission. The same resend half a second after the last ACK is a timeout one. */
START_TEST(test_fast_after_dup_acks)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    sdata(&r, 1, 100, 1000);      /* 4 */
    sdata(&r, 101, 100, 10);      /* 5 */
    sdata(&r, 201, 100, 10);      /* 6 */
    sdata(&r, 301, 100, 10);      /* 7 */
    cack(&r, 101, NULL, 0, 5000); /* 8: ACK */
    cack(&r, 101, NULL, 0, 10);   /* 9: dup #1 */
    cack(&r, 101, NULL, 0, 10);   /* 10: dup #2 */
    sdata(&r, 101, 100, 20);      /* 11 */
    ck_assert_int_eq(rtx_kind(&r, FR(8)), WST_AN_FAST_RETRANSMISSION);
    /* one duplicate ACK only is not enough */
    sdata(&r, 401, 100, 10);      /* 12 */
    cack(&r, 401, NULL, 0, 5000); /* 13 */
    cack(&r, 401, NULL, 0, 10);   /* 14: dup #1 */
    sdata(&r, 401, 100, 20);      /* 15 */
    ck_assert_int_eq(rtx_kind(&r, FR(12)), WST_AN_RETRANSMISSION);
    /* dup ACKs asked, but the resend comes after a timeout */
    sdata(&r, 501, 100, 10);      /* 16 */
    sdata(&r, 601, 100, 10);      /* 17 */
    cack(&r, 501, NULL, 0, 5000); /* 18 */
    cack(&r, 501, NULL, 0, 10);   /* 19 */
    cack(&r, 501, NULL, 0, 10);   /* 20 */
    sdata(&r, 501, 100, 500000);  /* 21: 0.5 s later */
    ck_assert_int_eq(rtx_kind(&r, FR(18)), WST_AN_RETRANSMISSION);
    rig_free(&r);
}
END_TEST

/* SACK blocks show the receiver holds [201, 301) and [401, 501): resending 301 (a hole it
 * reported) is fast although its cumulative ACK is 101; resending 201, which it holds, is not. */
START_TEST(test_fast_by_sack)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    for (uint32_t k = 0; k < 5; k++)
        sdata(&r, 1 + 100 * k, 100, 10); /* 4..8 */
    const uint32_t sk[] = {201, 301, 401, 501};
    cack(&r, 101, sk, 2, 5000); /* 9 */
    sdata(&r, 301, 100, 20);    /* 10 */
    ck_assert_int_eq(rtx_kind(&r, FR(7)), WST_AN_FAST_RETRANSMISSION);
    cack(&r, 101, sk, 2, 10); /* 11 */
    sdata(&r, 201, 100, 20);  /* 12 */
    ck_assert_int_eq(rtx_kind(&r, FR(9)), WST_AN_RETRANSMISSION);
    /* a late, reordered ACK (its number goes back) does not replace the newest one */
    cack(&r, 1, NULL, 0, 10); /* 13 */
    sdata(&r, 301, 100, 20);  /* 14 */
    ck_assert_int_eq(rtx_kind(&r, FR(11)), WST_AN_FAST_RETRANSMISSION);
    rig_free(&r);
}
END_TEST

/* Nothing acknowledged, the sender resends after its retransmission timer: retransmission. */
START_TEST(test_rto_retransmission)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    sdata(&r, 1, 100, 1000);   /* 4 */
    sdata(&r, 101, 100, 10);   /* 5 */
    sdata(&r, 1, 100, 300000); /* 6 */
    ck_assert_int_eq(rtx_kind(&r, FR(3)), WST_AN_RETRANSMISSION);
    wst_finish(r.a, NULL);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_str_eq(cl->u.close.history, "ShAdt");
    rig_free(&r);
}
END_TEST

/* The receiver had acknowledged all of it: a spurious retransmission. */
START_TEST(test_spurious)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    sdata(&r, 1, 100, 1000);      /* 4 */
    sdata(&r, 101, 100, 10);      /* 5 */
    cack(&r, 201, NULL, 0, 5000); /* 6 */
    sdata(&r, 101, 100, 10);      /* 7 */
    ck_assert_int_eq(rtx_kind(&r, FR(4)), WST_AN_SPURIOUS_RETRANSMISSION);
    rig_free(&r);
}
END_TEST

/* A receiver-side capture: [101, 201) was jumped over. Its fill within one round trip
 * (10 ms) of the jump is out-of-order; the fill of a second hole after 50 ms, with no ACK
 * asking for it, is a (timeout) retransmission; after dup ACKs, a fast one. */
START_TEST(test_hole_fill)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    sdata(&r, 1, 100, 1000);   /* 4 */
    sdata(&r, 201, 100, 10);   /* 5: lost segment */
    sdata(&r, 101, 100, 2000); /* 6 */
    ck_assert_int_eq(rtx_kind(&r, FR(3)), WST_AN_OUT_OF_ORDER);
    sdata(&r, 401, 100, 10);    /* 7: jumps [301, 401) */
    sdata(&r, 301, 100, 50000); /* 8 */
    ck_assert_int_eq(rtx_kind(&r, FR(5)), WST_AN_RETRANSMISSION);
    sdata(&r, 601, 100, 10);     /* 9: jumps [501, 601) */
    cack(&r, 501, NULL, 0, 100); /* 10 */
    cack(&r, 501, NULL, 0, 10);  /* 11 */
    cack(&r, 501, NULL, 0, 10);  /* 12 */
    sdata(&r, 501, 100, 12000);  /* 13: one round trip after the dup ACKs */
    ck_assert_int_eq(rtx_kind(&r, FR(10)), WST_AN_FAST_RETRANSMISSION);
    /* once filled, bytes seen again are resent bytes (above the ACK: not spurious) */
    sdata(&r, 601, 100, 10); /* 14 */
    ck_assert_int_eq(rtx_kind(&r, FR(11)), WST_AN_RETRANSMISSION);
    rig_free(&r);
}
END_TEST

/* Timestamps say in which order the sender sent: a fill whose TSval is below the one of the
 * segment that jumped the hole was sent before it (the original, reordered on the way: out-
 * of-order even 30 ms later); one with a higher TSval was sent after it (a retransmission,
 * even inside the round trip). */
START_TEST(test_hole_fill_timestamps)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    sdata_ts(&r, 1, 100, 1000, 1000);    /* 4 */
    sdata_ts(&r, 201, 100, 1001, 10);    /* 5: jumps [101, 201) */
    sdata_ts(&r, 101, 100, 1000, 30000); /* 6 */
    ck_assert_int_eq(rtx_kind(&r, FR(3)), WST_AN_OUT_OF_ORDER);
    sdata_ts(&r, 401, 100, 1002, 10);  /* 7: jumps [301, 401) */
    sdata_ts(&r, 301, 100, 1003, 100); /* 8 */
    ck_assert_int_eq(rtx_kind(&r, FR(5)), WST_AN_RETRANSMISSION);
    /* equal TSvals: sent in the same tick. 15 ms after the jump (beyond the 10 ms round
     * trip) that says nothing while the clock's tick is unknown: a retransmission by time */
    sdata_ts(&r, 601, 100, 1003, 10);    /* 9: jumps [501, 601) */
    sdata_ts(&r, 501, 100, 1003, 15000); /* 10 */
    ck_assert_int_eq(rtx_kind(&r, FR(7)), WST_AN_RETRANSMISSION);
    /* 200 ms and 200 ticks later the clock is known to tick every 1 ms, less than the round
     * trip: the same pattern is an original sent before the jump, reordered */
    sdata_ts(&r, 701, 100, 1203, 200000); /* 11 */
    sdata_ts(&r, 901, 100, 1203, 10);     /* 12: jumps [801, 901) */
    sdata_ts(&r, 801, 100, 1203, 15000);  /* 13 */
    ck_assert_int_eq(rtx_kind(&r, FR(10)), WST_AN_OUT_OF_ORDER);
    /* a hole split by a fill in its middle keeps its opener's TSval in both parts: an older
     * TSval on either part's fill still says "sent before" 30 ms later */
    sdata_ts(&r, 1301, 100, 1210, 10);    /* 14: jumps [1001, 1301) */
    sdata_ts(&r, 1101, 100, 1209, 30000); /* 15: the middle */
    ck_assert_int_eq(rtx_kind(&r, FR(12)), WST_AN_OUT_OF_ORDER);
    sdata_ts(&r, 1001, 100, 1209, 10); /* 16: the low part */
    ck_assert_int_eq(rtx_kind(&r, FR(13)), WST_AN_OUT_OF_ORDER);
    sdata_ts(&r, 1201, 100, 1209, 10); /* 17: the high part */
    ck_assert_int_eq(rtx_kind(&r, FR(14)), WST_AN_OUT_OF_ORDER);
    sdata_ts(&r, 1201, 100, 1230, 10); /* 18: now seen: resent */
    ck_assert_int_eq(rtx_kind(&r, FR(15)), WST_AN_RETRANSMISSION);
    rig_free(&r);
}
END_TEST

/* Partly new segments: [151, 301) resends 50 seen bytes and adds 100 beyond the highest:
 * a retransmission (nothing in it fills a hole), and the sequence then continues at 301. A
 * segment half in a hole and half seen is a fill; filling only the middle of a hole leaves
 * both ends unseen. */
START_TEST(test_partly_new)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    sdata(&r, 1, 100, 1000); /* 4 */
    sdata(&r, 101, 100, 10); /* 5 */
    sdata(&r, 151, 150, 50); /* 6 */
    ck_assert_int_eq(rtx_kind(&r, FR(3)), WST_AN_RETRANSMISSION);
    sdata(&r, 301, 100, 10); /* 7: in order */
    ck_assert_int_eq(rtx_kind(&r, FR(4)), -1);
    sdata(&r, 701, 100, 10);  /* 8: jumps [401, 701) */
    sdata(&r, 651, 100, 100); /* 9: [651, 701) new, [701, 751) seen: a fill, in the window */
    ck_assert_int_eq(rtx_kind(&r, FR(6)), WST_AN_OUT_OF_ORDER);
    sdata(&r, 501, 50, 100); /* 10: the middle of [401, 651) */
    ck_assert_int_eq(rtx_kind(&r, FR(7)), WST_AN_OUT_OF_ORDER);
    sdata(&r, 501, 50, 10); /* 11: the same again: resent */
    ck_assert_int_eq(rtx_kind(&r, FR(8)), WST_AN_RETRANSMISSION);
    sdata(&r, 401, 10, 10); /* 12: the low end is still a hole */
    ck_assert_int_eq(rtx_kind(&r, FR(9)), WST_AN_OUT_OF_ORDER);
    sdata(&r, 600, 10, 10); /* 13: and the high end */
    ck_assert_int_eq(rtx_kind(&r, FR(10)), WST_AN_OUT_OF_ORDER);
    rig_free(&r);
}
END_TEST

/* More holes than the record keeps: the highest ones merge, so bytes seen between them count
 * as unseen (a fill, decided by time and order) rather than as resent bytes they might not
 * be; bytes seen below the merged part are still known to be resent. */
START_TEST(test_hole_overflow)
{
    struct rig r;
    rig_init(&r);
    handshake(&r);
    sdata(&r, 1, 100, 1000); /* 4 */
    for (uint32_t k = 1; k <= TCP_AN_HOLES + 2; k++)
        sdata(&r, 1 + 200 * k, 100, 10); /* each jumps [200k - 99, 200k + 1) */
    uint64_t n = 1 + TCP_AN_HOLES + 2;
    /* [1801, 1901) was seen (k = 9) but now lies inside the merged last hole */
    sdata(&r, 1801, 100, 10);
    ck_assert_int_eq(rtx_kind(&r, FR(n + 1)), WST_AN_OUT_OF_ORDER);
    /* splitting the merged hole around it needs a ninth slot: it stays unseen */
    sdata(&r, 1801, 100, 10);
    ck_assert_int_eq(rtx_kind(&r, FR(n + 2)), WST_AN_OUT_OF_ORDER);
    /* [201, 301) (k = 1) lies below the merge: resent */
    sdata(&r, 201, 100, 10);
    ck_assert_int_eq(rtx_kind(&r, FR(n + 3)), WST_AN_RETRANSMISSION);
    rig_free(&r);
}
END_TEST

/* Anomaly kinds by frame, for frames from 'from' on (a capture too long for struct evlog). */
struct kinds {
    uint64_t from;
    int kind[16];
};

static void kinds_fn(const struct wst_event *ev, void *user)
{
    struct kinds *k = user;
    if (ev->type != WST_EV_TCP_ANOMALY || ev->frame < k->from || ev->frame >= k->from + 16)
        return;
    enum wst_anomaly a = ev->u.anomaly.kind;
    if (a == WST_AN_RETRANSMISSION || a == WST_AN_FAST_RETRANSMISSION ||
        a == WST_AN_SPURIOUS_RETRANSMISSION || a == WST_AN_OUT_OF_ORDER)
        k->kind[ev->frame - k->from] = (int)a;
}

/* One midstream server segment to client 10.(n >> 16).(n >> 8).n, port 40000. */
static void tx_n(struct wst_analyzer *a, int64_t *t, uint32_t n, uint32_t seq, size_t len)
{
    char cip[32];
    snprintf(cip, sizeof cip, "10.%u.%u.%u", 100 + ((n >> 16) & 0xff), (n >> 8) & 0xff, n & 0xff);
    uint8_t b[2048];
    struct seg sg = {4, S, cip, SP, CP, seq, 77, TCPF_ACK, 0, NULL, 0, zeros, len};
    size_t len_b = pb_eth(b, &sg);
    *t += 1;
    struct wst_pkthdr h = {*t, (uint32_t)len_b, (uint32_t)len_b};
    wst_packet(a, &h, b);
}

/* More directions with holes than TCP_LOSS_RECORDS: the first ones keep a record and know
 * resent bytes; past the cap a direction has no record of its holes, so it cannot know which
 * bytes were seen and falls back to Wireshark's timing rule (a resend within the window is
 * out-of-order there). */
START_TEST(test_loss_record_cap)
{
    struct wst_limits lim;
    wst_limits_default(&lim);
    struct kinds k;
    k.from = UINT64_MAX - 16;
    for (int i = 0; i < 16; i++)
        k.kind[i] = -1;
    struct wst_analyzer *a = wst_new(&lim, kinds_fn, &k);
    ck_assert_ptr_nonnull(a);
    wst_set_link(a, WST_LINK_ETHERNET);
    int64_t t = 1000000000;
    uint64_t frame = 0;
    for (uint32_t n = 0; n <= TCP_LOSS_RECORDS; n++) {
        tx_n(a, &t, n, 5001, 10);
        tx_n(a, &t, n, 5101, 10); /* jumps [5011, 5101): a record */
        frame += 2;
    }
    k.from = frame + 1;
    tx_n(a, &t, 0, 5001, 10);                /* resent, with a record */
    tx_n(a, &t, TCP_LOSS_RECORDS, 5001, 10); /* resent, no record */
    ck_assert_int_eq(k.kind[0], WST_AN_RETRANSMISSION);
    ck_assert_int_eq(k.kind[1], WST_AN_OUT_OF_ORDER);
    wst_free(a);
}
END_TEST

static Suite *tcpanal_suite(void)
{
    Suite *s = suite_create("tcpanal");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_resent_is_retransmission);
    tcase_add_test(tc, test_fast_after_dup_acks);
    tcase_add_test(tc, test_fast_by_sack);
    tcase_add_test(tc, test_rto_retransmission);
    tcase_add_test(tc, test_spurious);
    tcase_add_test(tc, test_hole_fill);
    tcase_add_test(tc, test_hole_fill_timestamps);
    tcase_add_test(tc, test_partly_new);
    tcase_add_test(tc, test_hole_overflow);
    tcase_add_test(tc, test_loss_record_cap);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(tcpanal_suite());
}
