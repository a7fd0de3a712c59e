/* test_tcp.c - flow table and TCP connection tracking through the public analyzer API,
 * on hand-built segments: roles, handshake options, teardown kinds, reuse, caps. */
#include <stdlib.h>

#include "core.h"
#include "pktbuild.h"
#include "util.h"

#define C "10.0.0.1"
#define S "10.0.0.2"
#define CP 40000
#define SP 80

static const uint8_t c_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7}; /* 1460, SACK, ws7 */
static const uint8_t s_opts[] = {2, 4, 0x05, 0x64, 4, 2, 1, 1, 1, 3, 3, 8}; /* 1380, SACK, ws8 */
static const uint8_t s_opts_nows[] = {2, 4, 0x05, 0x64, 1, 1, 1, 1};

struct rig {
    struct wst_analyzer *a;
    struct evlog log;
    int64_t t;
};

static void rig_init(struct rig *r, const struct wst_limits *lim)
{
    struct wst_limits def;
    wst_limits_default(&def);
    memset(r, 0, sizeof *r);
    r->a = wst_new(lim ? lim : &def, evlog_fn, &r->log);
    ck_assert_ptr_nonnull(r->a);
    wst_set_link(r->a, WST_LINK_ETHERNET);
    r->t = 1000000000;
}

static void rig_free(struct rig *r)
{
    wst_free(r->a);
}

/* Send one segment; from_client picks the direction of the C:CP <-> S:SP pair. */
static void tx(struct rig *r, bool from_client, uint32_t seq, uint32_t ack, uint8_t flags,
               const uint8_t *opts, size_t optlen, const char *payload, int64_t dt_us)
{
    uint8_t b[2048];
    struct seg s = {4,     from_client ? C : S,
                    from_client ? S : C,
                    from_client ? CP : SP,
                    from_client ? SP : CP,
                    seq,   ack,
                    flags, 0,
                    opts,  optlen,
                    (const uint8_t *)payload,
                    payload ? strlen(payload) : 0};
    size_t n = pb_eth(b, &s);
    r->t += dt_us;
    struct wst_pkthdr h = {r->t, (uint32_t)n, (uint32_t)n};
    wst_packet(r->a, &h, b);
}

#define ISN_C 1000u
#define ISN_S 5000u

static void handshake(struct rig *r, const uint8_t *sopts, size_t soptlen)
{
    tx(r, true, ISN_C, 0, TCPF_SYN, c_opts, sizeof c_opts, NULL, 0);
    tx(r, false, ISN_S, ISN_C + 1, TCPF_SYN | TCPF_ACK, sopts, soptlen, NULL, 100);
    tx(r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK, NULL, 0, NULL, 150);
}

START_TEST(test_full_handshake)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_SYN), 2);
    const struct wst_event *syn = evlog_find(&r.log, WST_EV_TCP_SYN, 0);
    ck_assert_int_eq(syn->dir, WST_DIR_C2S);
    ck_assert(!syn->u.syn.synack);
    ck_assert_int_eq(syn->u.syn.opts.wscale, 7);
    const struct wst_event *sa = evlog_find(&r.log, WST_EV_TCP_SYN, 1);
    ck_assert_int_eq(sa->dir, WST_DIR_S2C);
    ck_assert(sa->u.syn.synack);
    const struct wst_event *o = evlog_find(&r.log, WST_EV_TCP_OPEN, 0);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->conn, 1);
    ck_assert_uint_eq(o->frame, 3);
    ck_assert(!o->u.open.midstream);
    ck_assert_int_eq(o->u.open.irtt_us, 250);
    ck_assert_int_eq(o->u.open.mss_c, 1460);
    ck_assert_int_eq(o->u.open.mss_s, 1380);
    ck_assert_int_eq(o->u.open.wscale_c, 7);
    ck_assert_int_eq(o->u.open.wscale_s, 8);
    ck_assert(o->u.open.sack);
    wst_finish(r.a, NULL);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_OPEN);
    ck_assert_int_eq(cl->u.close.by, WST_BY_NONE);
    const struct wst_event *end = evlog_find(&r.log, WST_EV_CAPTURE_END, 0);
    ck_assert_uint_eq(end->u.end.packets, 3);
    ck_assert_uint_eq(end->u.end.tcp_conns, 1);
    ck_assert_int_eq(r.log.ev[r.log.n - 1].type, WST_EV_CAPTURE_END);
    rig_free(&r);
}
END_TEST

/* Window scaling is in effect only when both SYNs carry it (RFC 7323 1.3). */
START_TEST(test_wscale_needs_both)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts_nows, sizeof s_opts_nows);
    const struct wst_event *o = evlog_find(&r.log, WST_EV_TCP_OPEN, 0);
    ck_assert_int_eq(o->u.open.wscale_c, -1);
    ck_assert_int_eq(o->u.open.wscale_s, -1);
    ck_assert(!o->u.open.wscale_unknown);
    ck_assert(!o->u.open.sack);
    rig_free(&r);
}
END_TEST

START_TEST(test_wscale_clamped)
{
    static const uint8_t big[] = {1, 3, 3, 255};
    struct rig r;
    rig_init(&r, NULL);
    tx(&r, true, ISN_C, 0, TCPF_SYN, big, sizeof big, NULL, 0);
    tx(&r, false, ISN_S, ISN_C + 1, TCPF_SYN | TCPF_ACK, big, sizeof big, NULL, 10);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK, NULL, 0, NULL, 10);
    const struct wst_event *o = evlog_find(&r.log, WST_EV_TCP_OPEN, 0);
    ck_assert_int_eq(o->u.open.wscale_c, 14);
    ck_assert_int_eq(evlog_find(&r.log, WST_EV_TCP_SYN, 0)->u.syn.opts.wscale, 255);
    rig_free(&r);
}
END_TEST

START_TEST(test_teardown_4way)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_PSH, NULL, 0, "hello", 10);
    tx(&r, false, ISN_S + 1, ISN_C + 6, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    tx(&r, true, ISN_C + 6, ISN_S + 2, TCPF_ACK, NULL, 0, NULL, 10);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 0);
    tx(&r, true, ISN_C + 6, ISN_S + 2, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 0);
    tx(&r, false, ISN_S + 2, ISN_C + 7, TCPF_ACK, NULL, 0, NULL, 10);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_ptr_nonnull(cl);
    ck_assert_uint_eq(cl->frame, 8);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_FIN);
    ck_assert_int_eq(cl->u.close.by, WST_BY_SERVER);
    ck_assert_int_eq(cl->u.close.teardown, WST_TEARDOWN_4WAY);
    ck_assert_uint_eq(cl->u.close.bytes_c2s, 5);
    ck_assert_uint_eq(cl->u.close.pkts_c2s, 5);
    ck_assert_uint_eq(cl->u.close.pkts_s2c, 3);
    ck_assert_int_eq(cl->u.close.duration_us, 300);
    /* a late retransmitted FIN goes to the closed connection, not a new one */
    tx(&r, true, ISN_C + 6, ISN_S + 2, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    wst_finish(r.a, NULL);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 1);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 1);
    rig_free(&r);
}
END_TEST

START_TEST(test_teardown_3way_and_simultaneous)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    tx(&r, false, ISN_S + 1, ISN_C + 2, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    tx(&r, true, ISN_C + 2, ISN_S + 2, TCPF_ACK, NULL, 0, NULL, 10);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_int_eq(cl->u.close.teardown, WST_TEARDOWN_3WAY);
    ck_assert_int_eq(cl->u.close.by, WST_BY_CLIENT);
    rig_free(&r);

    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    tx(&r, false, ISN_S + 1, ISN_C + 1, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 1);
    tx(&r, true, ISN_C + 2, ISN_S + 2, TCPF_ACK, NULL, 0, NULL, 10);
    tx(&r, false, ISN_S + 2, ISN_C + 2, TCPF_ACK, NULL, 0, NULL, 10);
    cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_ptr_nonnull(cl);
    ck_assert_int_eq(cl->u.close.teardown, WST_TEARDOWN_SIMULTANEOUS);
    rig_free(&r);
}
END_TEST

START_TEST(test_half_close_at_end)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    tx(&r, false, ISN_S + 1, ISN_C + 2, TCPF_ACK, NULL, 0, "still talking", 10);
    wst_finish(r.a, NULL);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_FIN);
    ck_assert_int_eq(cl->u.close.teardown, WST_TEARDOWN_HALF);
    ck_assert_int_eq(cl->u.close.by, WST_BY_CLIENT);
    ck_assert_uint_eq(cl->u.close.bytes_s2c, 13);
    rig_free(&r);
}
END_TEST

START_TEST(test_rst)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, false, ISN_S + 1, ISN_C + 1, TCPF_RST | TCPF_ACK, NULL, 0, NULL, 10);
    /* the connection waits for data still in flight; the end of the input closes it */
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 0);
    wst_finish(r.a, NULL);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_RST);
    ck_assert_int_eq(cl->u.close.by, WST_BY_SERVER);
    rig_free(&r);

    /* A reset in SYN-SENT that does not acknowledge the SYN is not acceptable
     * (RFC 9293); the real SYN-ACK that follows opens the connection. */
    rig_init(&r, NULL);
    tx(&r, true, ISN_C, 0, TCPF_SYN, c_opts, sizeof c_opts, NULL, 0);
    tx(&r, false, 1, 0, TCPF_RST, NULL, 0, NULL, 10);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 0);
    tx(&r, false, ISN_S, ISN_C + 1, TCPF_SYN | TCPF_ACK, s_opts, sizeof s_opts, NULL, 10);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK, NULL, 0, NULL, 10);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 1);
    ck_assert(!evlog_find(&r.log, WST_EV_TCP_OPEN, 0)->u.open.midstream);
    rig_free(&r);

    /* connection refused: SYN answered by an acceptable RST; no tcp.open */
    rig_init(&r, NULL);
    tx(&r, true, ISN_C, 0, TCPF_SYN, c_opts, sizeof c_opts, NULL, 0);
    tx(&r, false, 0, ISN_C + 1, TCPF_RST | TCPF_ACK, NULL, 0, NULL, 10);
    wst_finish(r.a, NULL);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 0);
    ck_assert_int_eq(evlog_find(&r.log, WST_EV_TCP_CLOSE, 0)->u.close.how, WST_CLOSE_RST);
    ck_assert_uint_eq(evlog_find(&r.log, WST_EV_CAPTURE_END, 0)->u.end.tcp_conns, 1);
    rig_free(&r);
}
END_TEST

/* Without a handshake the HTTP requester is the client even from the lower port. */
START_TEST(test_midstream_roles)
{
    struct rig r;
    rig_init(&r, NULL);
    /* here the "server" side (port 80) sends a request: it is the client */
    tx(&r, false, 7000, 9000, TCPF_ACK, NULL, 0, NULL, 0);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 0);
    tx(&r, false, 7000, 9000, TCPF_ACK | TCPF_PSH, NULL, 0, "GET / HTTP/1.1\r\n", 10);
    const struct wst_event *o = evlog_find(&r.log, WST_EV_TCP_OPEN, 0);
    ck_assert_ptr_nonnull(o);
    ck_assert(o->u.open.midstream);
    ck_assert(o->u.open.wscale_unknown);
    ck_assert_int_eq(o->u.open.irtt_us, -1);
    wst_finish(r.a, NULL);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_uint_eq(cl->u.close.pkts_c2s, 2);
    ck_assert_uint_eq(cl->u.close.bytes_c2s, 16);
    rig_free(&r);

    /* an HTTP status line marks its sender as the server */
    rig_init(&r, NULL);
    tx(&r, true, 7000, 9000, TCPF_ACK | TCPF_PSH, NULL, 0, "HTTP/1.1 200 OK\r\n", 0);
    wst_finish(r.a, NULL);
    cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_uint_eq(cl->u.close.bytes_s2c, 17);
    ck_assert_uint_eq(cl->u.close.bytes_c2s, 0);
    rig_free(&r);

    /* otherwise the higher port is the client; a lone ACK still shows up at the end */
    rig_init(&r, NULL);
    tx(&r, false, 7000, 9000, TCPF_ACK, NULL, 0, NULL, 0);
    wst_finish(r.a, NULL);
    o = evlog_find(&r.log, WST_EV_TCP_OPEN, 0);
    ck_assert_ptr_nonnull(o);
    cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_uint_eq(cl->u.close.pkts_s2c, 1);
    rig_free(&r);
}
END_TEST

/* Zeek-style history: letters in order of first appearance, client upper case. */
START_TEST(test_history)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_PSH, NULL, 0, "hello", 10);
    tx(&r, false, ISN_S + 1, ISN_C + 6, TCPF_ACK, NULL, 0, NULL, 10);
    tx(&r, false, ISN_S + 1, ISN_C + 6, TCPF_ACK | TCPF_PSH, NULL, 0, "world", 10);
    /* the same client data again: one retransmission, T */
    tx(&r, true, ISN_C + 1, ISN_S + 6, TCPF_ACK | TCPF_PSH, NULL, 0, "hello", 10);
    tx(&r, false, ISN_S + 6, ISN_C + 6, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    tx(&r, true, ISN_C + 6, ISN_S + 7, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    tx(&r, false, ISN_S + 7, ISN_C + 7, TCPF_ACK, NULL, 0, NULL, 10);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_ptr_nonnull(cl);
    ck_assert_str_eq(cl->u.close.history, "ShADadTfF");
    rig_free(&r);

    /* midstream: the lone ACK is recorded before the roles are known and flips with them */
    rig_init(&r, NULL);
    tx(&r, true, 9000, 7000, TCPF_ACK, NULL, 0, NULL, 0);
    tx(&r, false, 7000, 9000, TCPF_ACK | TCPF_PSH, NULL, 0, "GET / HTTP/1.1\r\n", 10);
    tx(&r, false, 7016, 9000, TCPF_ACK | TCPF_RST, NULL, 0, NULL, 10);
    wst_finish(r.a, NULL);
    cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_ptr_nonnull(cl);
    ck_assert_str_eq(cl->u.close.history, "aDR");
    rig_free(&r);
}
END_TEST

struct streamcap {
    char c2s[256], s2c[256];
    size_t nc, ns;
};

static void cap_data(void *user, uint64_t conn, enum wst_dir dir, const uint8_t *p, size_t len)
{
    struct streamcap *sc = user;
    (void)conn;
    char *b = dir == WST_DIR_C2S ? sc->c2s : sc->s2c;
    size_t *n = dir == WST_DIR_C2S ? &sc->nc : &sc->ns;
    for (size_t i = 0; i < len && *n + 1 < sizeof sc->c2s; i++)
        b[(*n)++] = (char)p[i];
    b[*n] = '\0';
}

/* A packet of an unrelated connection dt_us later (lets time pass for every other one). */
static void tx_other(struct rig *r, int64_t dt_us)
{
    uint8_t b[256];
    struct seg s = {4, "10.9.9.9", S, 1234, SP, 1, 1, TCPF_ACK, 0, NULL, 0, NULL, 0};
    size_t n = pb_eth(b, &s);
    r->t += dt_us;
    struct wst_pkthdr h = {r->t, (uint32_t)n, (uint32_t)n};
    wst_packet(r->a, &h, b);
}

static int count_anomaly(const struct evlog *log, enum wst_anomaly k)
{
    int n = 0;
    for (int i = 0; i < log->n; i++)
        if (log->ev[i].type == WST_EV_TCP_ANOMALY && log->ev[i].u.anomaly.kind == k)
            n++;
    return n;
}

/* Data after a RST: in-window bytes (the rest of what the sender had in flight, or the real
 * stream after an injected reset) are delivered and flagged; out-of-window bytes are not;
 * the connection ends RST_LINGER_US after its last acceptable segment. */
START_TEST(test_data_after_rst)
{
    struct rig r;
    struct streamcap sc;
    memset(&sc, 0, sizeof sc);
    rig_init(&r, NULL);
    struct wst_stream_hooks hk = {cap_data, NULL, NULL, &sc};
    wst_set_stream_hooks(r.a, &hk);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_PSH, NULL, 0, "hello", 10);
    tx(&r, false, ISN_S + 1, ISN_C + 6, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    tx(&r, false, ISN_S + 2, ISN_C + 6, TCPF_ACK | TCPF_RST, NULL, 0, NULL, 10);
    /* the client's next write was in flight: in the window the server last advertised */
    tx(&r, true, ISN_C + 6, ISN_S + 2, TCPF_ACK | TCPF_PSH, NULL, 0, " world", 10);
    /* junk far outside the window (an attacker after its injected reset): left out */
    tx(&r, true, ISN_C + 0x40000000u, ISN_S + 2, TCPF_ACK | TCPF_PSH, NULL, 0, "JUNK", 10);
    /* a second reset answering the late write */
    tx(&r, false, ISN_S + 2, 0, TCPF_RST, NULL, 0, NULL, 10);
    ck_assert_str_eq(sc.c2s, "hello world");
    ck_assert_int_eq(count_anomaly(&r.log, WST_AN_DATA_AFTER_RST), 1);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 0);
    /* each RST is an event at its own packet: the first one, then the answer to the write */
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_RST), 2);
    const struct wst_event *rst = evlog_find(&r.log, WST_EV_TCP_RST, 0);
    ck_assert_int_eq(rst->dir, WST_DIR_S2C);
    ck_assert_uint_eq(rst->u.rst.seq, 2);
    ck_assert(rst->u.rst.first);
    ck_assert_uint_eq(rst->u.rst.len, 0);
    ck_assert(!evlog_find(&r.log, WST_EV_TCP_RST, 1)->u.rst.first);
    /* other traffic within the linger keeps it; after it, the close comes */
    tx_other(&r, RST_LINGER_US / 2);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 0);
    tx_other(&r, RST_LINGER_US);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_ptr_nonnull(cl);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_RST);
    ck_assert_int_eq(cl->u.close.by, WST_BY_SERVER);
    ck_assert_uint_eq(cl->u.close.anomalies[WST_AN_DATA_AFTER_RST], 1);
    ck_assert_str_eq(cl->u.close.history, "ShADfr");
    rig_free(&r);

    /* data carried by the RST itself is in the stream too */
    memset(&sc, 0, sizeof sc);
    rig_init(&r, NULL);
    wst_set_stream_hooks(r.a, &hk);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_RST, NULL, 0, "bye", 10);
    wst_finish(r.a, NULL);
    ck_assert_str_eq(sc.c2s, "bye");
    ck_assert_int_eq(count_anomaly(&r.log, WST_AN_DATA_AFTER_RST), 1);
    rig_free(&r);

    /* no window seen from the receiver: only data continuing the stream counts */
    memset(&sc, 0, sizeof sc);
    rig_init(&r, NULL);
    wst_set_stream_hooks(r.a, &hk);
    tx(&r, true, 9000, 7000, TCPF_PSH, NULL, 0, "GET / HTTP/1.1\r\n", 0);
    tx(&r, false, 7000, 0, TCPF_RST, NULL, 0, NULL, 10);
    tx(&r, true, 9100, 7000, TCPF_PSH, NULL, 0, "far", 10);
    tx(&r, true, 9016, 7000, TCPF_PSH, NULL, 0, "\r\n", 10);
    wst_finish(r.a, NULL);
    ck_assert_str_eq(sc.c2s, "GET / HTTP/1.1\r\n\r\n");
    rig_free(&r);
}
END_TEST

START_TEST(test_port_reuse)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_RST, NULL, 0, NULL, 10);
    tx(&r, true, ISN_C + 777, 0, TCPF_SYN, c_opts, sizeof c_opts, NULL, 10);
    tx(&r, false, ISN_S + 777, ISN_C + 778, TCPF_SYN | TCPF_ACK, s_opts, sizeof s_opts, NULL,
       10);
    tx(&r, true, ISN_C + 778, ISN_S + 778, TCPF_ACK, NULL, 0, NULL, 10);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 2);
    ck_assert_uint_eq(evlog_find(&r.log, WST_EV_TCP_OPEN, 1)->conn, 2);
    /* the retransmitted SYN of the live connection is not a third one */
    tx(&r, true, ISN_C + 777, 0, TCPF_SYN, c_opts, sizeof c_opts, NULL, 10);
    wst_finish(r.a, NULL);
    ck_assert_uint_eq(evlog_find(&r.log, WST_EV_CAPTURE_END, 0)->u.end.tcp_conns, 2);
    rig_free(&r);
}
END_TEST

START_TEST(test_idle_timeout)
{
    struct wst_limits lim;
    wst_limits_default(&lim);
    lim.idle_timeout_us = 1000000;
    struct rig r;
    rig_init(&r, &lim);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK, NULL, 0, NULL, 2000000);
    const struct wst_event *cl = evlog_find(&r.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_ptr_nonnull(cl);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_TIMEOUT);
    ck_assert_uint_eq(cl->frame, 4);
    /* the packet after the timeout starts a new, midstream connection */
    wst_finish(r.a, NULL);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 2);
    ck_assert(evlog_find(&r.log, WST_EV_TCP_OPEN, 1)->u.open.midstream);
    rig_free(&r);
}
END_TEST

/* A full table evicts the least recently active connection, and says so. */
START_TEST(test_max_flows_eviction)
{
    struct wst_limits lim;
    wst_limits_default(&lim);
    lim.max_flows = 4;
    struct wst_analyzer *a;
    struct evlog *log = calloc(1, sizeof *log);
    a = wst_new(&lim, evlog_fn, log);
    wst_set_link(a, WST_LINK_ETHERNET);
    uint8_t b[256];
    for (int i = 0; i < 10; i++) {
        struct seg s = {4, C, S, (uint16_t)(30000 + i), SP, 1, 0, TCPF_SYN, 0, NULL, 0, NULL, 0};
        size_t n = pb_eth(b, &s);
        struct wst_pkthdr h = {1000 + i, (uint32_t)n, (uint32_t)n};
        wst_packet(a, &h, b);
    }
    struct flowtab *ft = &a->ft;
    ck_assert_uint_eq(ft->count, 4);
    ck_assert_int_eq(evlog_count(log, WST_EV_TCP_CLOSE), 6);
    const struct wst_event *cl = evlog_find(log, WST_EV_TCP_CLOSE, 0);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_EVICTED);
    ck_assert_uint_eq(cl->conn, 1);
    wst_finish(a, NULL);
    const struct wst_event *end = evlog_find(log, WST_EV_CAPTURE_END, 0);
    ck_assert_uint_eq(end->u.end.evicted, 6);
    ck_assert_uint_eq(end->u.end.tcp_conns, 10);
    /* the end-of-input closes come in connection order */
    cl = evlog_find(log, WST_EV_TCP_CLOSE, 6);
    ck_assert_uint_eq(cl->conn, 7);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_OPEN);
    wst_free(a);
    free(log);
}
END_TEST

START_TEST(test_flow_table)
{
    struct flowtab ft;
    ck_assert_int_eq(flow_init(&ft, 1000, 42), 0);
    struct pkt p;
    memset(&p, 0, sizeof p);
    p.family = 4;
    p.src[0] = 10;
    p.dst[0] = 9;
    p.sport = 1;
    p.dport = 2;
    struct flow_key k1, k2;
    bool sw1, sw2;
    flow_key_make(&k1, &p, &sw1);
    /* the reverse direction maps to the same key */
    struct pkt q = p;
    memcpy(q.src, p.dst, 16);
    memcpy(q.dst, p.src, 16);
    q.sport = p.dport;
    q.dport = p.sport;
    flow_key_make(&k2, &q, &sw2);
    ck_assert_mem_eq(&k1, &k2, sizeof k1);
    ck_assert(sw1 != sw2);
    uint64_t h;
    ck_assert_ptr_null(flow_lookup(&ft, &k1, &h));
    struct conn *c = flow_insert(&ft, &k1, h);
    ck_assert_ptr_eq(flow_lookup(&ft, &k2, &h), c);
    /* many records, then all removed: the pool is reused */
    struct conn *all[600];
    for (int i = 0; i < 600; i++) {
        p.sport = (uint16_t)(100 + i);
        flow_key_make(&k1, &p, &sw1);
        ck_assert_ptr_null(flow_lookup(&ft, &k1, &h));
        all[i] = flow_insert(&ft, &k1, h);
    }
    ck_assert_uint_eq(ft.count, 601);
    ck_assert_ptr_eq(ft.lru_head, c);
    flow_touch(&ft, c);
    ck_assert_ptr_eq(ft.lru_tail, c);
    ck_assert_ptr_eq(ft.lru_head, all[0]);
    for (int i = 0; i < 600; i++)
        flow_remove(&ft, all[i]);
    ck_assert_uint_eq(ft.count, 1);
    ck_assert_ptr_eq(ft.id_head, c);
    ck_assert_ptr_eq(ft.id_tail, c);
    uint64_t chunks = ft.nchunks;
    for (int i = 0; i < 600; i++) {
        p.sport = (uint16_t)(100 + i);
        flow_key_make(&k1, &p, &sw1);
        flow_lookup(&ft, &k1, &h);
        flow_insert(&ft, &k1, h);
    }
    ck_assert_uint_eq(ft.nchunks, chunks);
    flow_free(&ft);
}
END_TEST

/* tcp.fin: the first FIN half-closes, the peer's answers it, a FIN sent again says so. */
START_TEST(test_fin_events)
{
    struct rig r;
    rig_init(&r, NULL);
    handshake(&r, s_opts, sizeof s_opts);
    tx(&r, true, ISN_C + 1, ISN_S + 1, TCPF_ACK | TCPF_PSH | TCPF_FIN, NULL, 0, "hello", 10);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_FIN), 1);
    const struct wst_event *f = evlog_find(&r.log, WST_EV_TCP_FIN, 0);
    ck_assert_int_eq(f->dir, WST_DIR_C2S);
    ck_assert_uint_eq(f->frame, 4);
    ck_assert_uint_eq(f->u.fin.seq, 6); /* 5 bytes, then the FIN */
    ck_assert(!f->u.fin.retransmitted);
    ck_assert(!f->u.fin.peer_fin);
    /* the server goes on sending after the half-close, then the client's FIN comes again */
    tx(&r, false, ISN_S + 1, ISN_C + 6, TCPF_ACK, NULL, 0, "more", 10);
    tx(&r, true, ISN_C + 1, ISN_S + 5, TCPF_ACK | TCPF_PSH | TCPF_FIN, NULL, 0, "hello", 200000);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_FIN), 2);
    f = evlog_find(&r.log, WST_EV_TCP_FIN, 1);
    ck_assert_int_eq(f->dir, WST_DIR_C2S);
    ck_assert_uint_eq(f->u.fin.seq, 6);
    ck_assert(f->u.fin.retransmitted);
    ck_assert(!f->u.fin.peer_fin);
    /* a FIN-less segment and a plain ACK are no FIN */
    tx(&r, true, ISN_C + 7, ISN_S + 5, TCPF_ACK, NULL, 0, NULL, 10);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_FIN), 2);
    /* the server's FIN answers the client's */
    tx(&r, false, ISN_S + 5, ISN_C + 7, TCPF_ACK | TCPF_FIN, NULL, 0, NULL, 10);
    f = evlog_find(&r.log, WST_EV_TCP_FIN, 2);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->dir, WST_DIR_S2C);
    ck_assert_uint_eq(f->u.fin.seq, 5);
    ck_assert(!f->u.fin.retransmitted);
    ck_assert(f->u.fin.peer_fin);
    /* every FIN comes before the close */
    tx(&r, true, ISN_C + 7, ISN_S + 6, TCPF_ACK, NULL, 0, NULL, 10);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 1);
    ck_assert_int_eq(r.log.ev[r.log.n - 1].type, WST_EV_TCP_CLOSE);
    rig_free(&r);
}
END_TEST

/* Tagged frames: the VLAN ids are part of the flow key and reach tcp.open. */
static void tx_vlan(struct rig *r, const uint16_t *vids, int nvid, bool from_client, uint32_t seq,
                    uint32_t ack, uint8_t flags)
{
    uint8_t b[256], t[300];
    struct seg sg = {4, from_client ? C : S, from_client ? S : C, from_client ? CP : SP,
                     from_client ? SP : CP, seq, ack, flags, 0, NULL, 0, NULL, 0};
    size_t n = pb_eth(b, &sg);
    memcpy(t, b, 12);
    for (int i = 0; i < nvid; i++) {
        pb_put16(t + 12 + 4 * i, i + 1 < nvid ? 0x88a8 : 0x8100);
        pb_put16(t + 14 + 4 * i, vids[i]);
    }
    memcpy(t + 12 + 4 * nvid, b + 12, n - 12);
    n += 4 * (size_t)nvid;
    r->t += 10;
    struct wst_pkthdr h = {r->t, (uint32_t)n, (uint32_t)n};
    wst_packet(r->a, &h, t);
}

START_TEST(test_vlan_flows)
{
    struct rig r;
    rig_init(&r, NULL);
    const uint16_t v100[] = {100}, qinq[] = {200, 100};
    /* the same 5-tuple, untagged, on VLAN 100 and in QinQ 200/100: three connections */
    tx_vlan(&r, v100, 0, true, ISN_C, 0, TCPF_SYN);
    tx_vlan(&r, v100, 1, true, ISN_C, 0, TCPF_SYN);
    tx_vlan(&r, qinq, 2, true, ISN_C, 0, TCPF_SYN);
    tx_vlan(&r, v100, 1, false, ISN_S, ISN_C + 1, TCPF_SYN | TCPF_ACK);
    tx_vlan(&r, v100, 1, true, ISN_C + 1, ISN_S + 1, TCPF_ACK);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 1);
    const struct wst_event *o = evlog_find(&r.log, WST_EV_TCP_OPEN, 0);
    ck_assert_uint_eq(o->conn, 2);
    ck_assert(!o->u.open.midstream);
    ck_assert_uint_eq(o->u.open.nvlan, 1);
    ck_assert_uint_eq(o->u.open.vlan[0], 100);
    tx_vlan(&r, qinq, 2, false, ISN_S, ISN_C + 1, TCPF_SYN | TCPF_ACK);
    tx_vlan(&r, qinq, 2, true, ISN_C + 1, ISN_S + 1, TCPF_ACK);
    wst_finish(r.a, NULL);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_CLOSE), 3);
    ck_assert_int_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 2); /* the untagged SYN: no open */
    o = evlog_find(&r.log, WST_EV_TCP_OPEN, 1);
    ck_assert_uint_eq(o->conn, 3);
    ck_assert(!o->u.open.midstream);
    ck_assert_uint_eq(o->u.open.nvlan, 2);
    ck_assert_uint_eq(o->u.open.vlan[0], 200);
    ck_assert_uint_eq(o->u.open.vlan[1], 100);
    rig_free(&r);
}
END_TEST

/* capture.end counts the fragments and the datagrams made of them; the interruption flag
 * comes from the front end's stats. */
START_TEST(test_ipfrag_counts_and_interrupted)
{
    struct rig r;
    rig_init(&r, NULL);
    wst_set_link(r.a, WST_LINK_RAW);
    uint8_t ip[256], fr[3][128];
    size_t flen[3];
    const char *body = "0123456789abcdef0123456789abcdef0123456789";
    for (int d = 0; d < 2; d++) {
        struct seg sg = {4,    C, S, CP, SP, ISN_C + 1, ISN_S + 1, TCPF_ACK, 0, NULL, 0,
                         (const uint8_t *)body, strlen(body)};
        size_t n = pb_ip(ip, &sg);
        /* three fragments: 24 + 24 + the rest of the 62-byte TCP segment */
        for (int k = 0; k < 3; k++) {
            size_t off = 24 * (size_t)k, len = k < 2 ? 24 : n - 20 - 48;
            memcpy(fr[k], ip, 20);
            pb_put16(fr[k] + 2, (uint16_t)(20 + len));
            pb_put16(fr[k] + 4, (uint16_t)(0x100 + d));
            pb_put16(fr[k] + 6, (uint16_t)((k < 2 ? 0x2000 : 0) | off / 8));
            memcpy(fr[k] + 20, ip + 20 + off, len);
            flen[k] = 20 + len;
        }
        for (int k = 2; k >= 0; k--) {
            r.t += 10;
            struct wst_pkthdr h = {r.t, (uint32_t)flen[k], (uint32_t)flen[k]};
            wst_packet(r.a, &h, fr[k]);
        }
    }
    /* one fragment of a third datagram that never completes */
    r.t += 10;
    pb_put16(fr[0] + 4, 0x1ff);
    struct wst_pkthdr h = {r.t, (uint32_t)flen[0], (uint32_t)flen[0]};
    wst_packet(r.a, &h, fr[0]);
    struct wst_capture_stats st = {.interrupted = true};
    wst_finish(r.a, &st);
    const struct wst_event *e = evlog_find(&r.log, WST_EV_CAPTURE_END, 0);
    ck_assert_uint_eq(e->u.end.packets, 7);
    ck_assert_uint_eq(e->u.end.ip_fragments, 7);
    ck_assert_uint_eq(e->u.end.ip_datagrams, 2);
    ck_assert(e->u.end.interrupted);
    ck_assert(!e->u.end.have_stats);
    ck_assert_uint_eq(evlog_count(&r.log, WST_EV_TCP_OPEN), 1);
    rig_free(&r);

    rig_init(&r, NULL);
    wst_finish(r.a, NULL);
    e = evlog_find(&r.log, WST_EV_CAPTURE_END, 0);
    ck_assert(!e->u.end.interrupted);
    ck_assert_uint_eq(e->u.end.ip_datagrams, 0);
    rig_free(&r);
}
END_TEST

START_TEST(test_ipv6_endpoints)
{
    struct wst_endpoint ep = {6, {0}, 443};
    ep.addr[15] = 1;
    char buf[WST_EP_STRLEN];
    wst_endpoint_str(&ep, buf, sizeof buf);
    ck_assert_str_eq(buf, "[::1]:443");
    struct wst_endpoint ep4 = {4, {127, 0, 0, 1}, 80};
    wst_endpoint_str(&ep4, buf, sizeof buf);
    ck_assert_str_eq(buf, "127.0.0.1:80");
}
END_TEST

static Suite *tcp_suite(void)
{
    Suite *s = suite_create("tcp");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_full_handshake);
    tcase_add_test(tc, test_wscale_needs_both);
    tcase_add_test(tc, test_wscale_clamped);
    tcase_add_test(tc, test_teardown_4way);
    tcase_add_test(tc, test_teardown_3way_and_simultaneous);
    tcase_add_test(tc, test_half_close_at_end);
    tcase_add_test(tc, test_rst);
    tcase_add_test(tc, test_midstream_roles);
    tcase_add_test(tc, test_history);
    tcase_add_test(tc, test_data_after_rst);
    tcase_add_test(tc, test_port_reuse);
    tcase_add_test(tc, test_idle_timeout);
    tcase_add_test(tc, test_max_flows_eviction);
    tcase_add_test(tc, test_flow_table);
    tcase_add_test(tc, test_ipv6_endpoints);
    tcase_add_test(tc, test_fin_events);
    tcase_add_test(tc, test_vlan_flows);
    tcase_add_test(tc, test_ipfrag_counts_and_interrupted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(tcp_suite());
}
