/* test_sink.c - JSON and text sinks byte for byte, the escapers on hostile bytes, outbuf. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "outbuf.h"
#include "sink.h"
#include "util.h"

/* The sinks write into ob->buf; with fd -1 nothing is flushed while under 64 KiB. */
static struct outbuf *ob;

static void setup(void)
{
    ob = malloc(sizeof *ob);
    ck_assert_ptr_nonnull(ob);
    outbuf_init(ob, -1);
}

static void teardown(void)
{
    free(ob);
    ob = NULL;
}

/* What the sink wrote since the last call, as a NUL-terminated string in a static buffer. */
static const char *taken(void)
{
    static char s[OUTBUF_SIZE + 1];
    ck_assert(!outbuf_failed(ob));
    memcpy(s, ob->buf, ob->len);
    s[ob->len] = '\0';
    ob->len = 0;
    return s;
}

static struct wst_endpoint ep4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    struct wst_endpoint e;
    memset(&e, 0, sizeof e);
    e.family = 4;
    e.addr[0] = a;
    e.addr[1] = b;
    e.addr[2] = c;
    e.addr[3] = d;
    e.port = port;
    return e;
}

static struct wst_endpoint ep6_loopback(uint16_t port)
{
    struct wst_endpoint e;
    memset(&e, 0, sizeof e);
    e.family = 6;
    e.addr[15] = 1;
    e.port = port;
    return e;
}

static struct wst_endpoint cli, srv;

static struct wst_event mkev(enum wst_ev_type t, int64_t rel_us, uint64_t frame, uint64_t conn,
                             enum wst_dir dir)
{
    struct wst_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = t;
    ev.ts_us = 1700000000000000LL + rel_us;
    ev.rel_us = rel_us;
    ev.frame = frame;
    ev.conn = conn;
    ev.dir = dir;
    if (conn) {
        cli = ep4(127, 0, 0, 1, 41234);
        srv = ep4(127, 0, 0, 1, 8080);
        ev.client = &cli;
        ev.server = &srv;
    }
    return ev;
}

static struct wst_event mksyn(void)
{
    struct wst_event ev = mkev(WST_EV_TCP_SYN, 123, 1, 1, WST_DIR_C2S);
    ev.u.syn.seq = 1000;
    ev.u.syn.win = 65535;
    ev.u.syn.opts.mss = 1460;
    ev.u.syn.opts.wscale = 7;
    ev.u.syn.opts.sack_perm = true;
    ev.u.syn.opts.has_ts = true;
    ev.u.syn.opts.ts_val = 100;
    ev.u.syn.opts.ts_ecr = 0;
    return ev;
}

static struct wst_event mkopen(void)
{
    struct wst_event ev = mkev(WST_EV_TCP_OPEN, 50, 3, 1, WST_DIR_NONE);
    ev.u.open.irtt_us = 50;
    ev.u.open.mss_c = 65483;
    ev.u.open.mss_s = 65483;
    ev.u.open.wscale_c = 7;
    ev.u.open.wscale_s = 7;
    ev.u.open.sack = true;
    return ev;
}

static struct wst_event mkclose(void)
{
    struct wst_event ev = mkev(WST_EV_TCP_CLOSE, 1234567, 20, 1, WST_DIR_NONE);
    ev.u.close.how = WST_CLOSE_FIN;
    ev.u.close.by = WST_BY_CLIENT;
    ev.u.close.teardown = WST_TEARDOWN_4WAY;
    ev.u.close.bytes_c2s = 517;
    ev.u.close.bytes_s2c = 2048;
    ev.u.close.pkts_c2s = 9;
    ev.u.close.pkts_s2c = 8;
    ev.u.close.duration_us = 1234517;
    return ev;
}

static struct wst_event mkend(void)
{
    struct wst_event ev = mkev(WST_EV_CAPTURE_END, 2000000, 42, 0, WST_DIR_NONE);
    ev.u.end.packets = 42;
    ev.u.end.bytes = 9000;
    ev.u.end.tcp_conns = 2;
    ev.u.end.ws_conns = 1;
    ev.u.end.non_tcp = 3;
    ev.u.end.truncated = 4;
    ev.u.end.malformed = 5;
    ev.u.end.ip_fragments = 6;
    ev.u.end.evicted = 7;
    ev.u.end.ip_datagrams = 2;
    return ev;
}

/* ---- JSON, one test per event ---- */

START_TEST(json_syn_full)
{
    struct wst_event ev = mksyn();
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.syn\",\"t\":0.000123,\"frame\":1,\"conn\":1,"
                              "\"dir\":\"c2s\",\"flags\":\"S\",\"win\":65535,\"mss\":1460,"
                              "\"wscale\":7,\"sack_perm\":true,\"tsopt\":{\"val\":100,"
                              "\"ecr\":0},\"seq\":1000}\n");
}
END_TEST

START_TEST(json_syn_bare)
{
    struct wst_event ev = mkev(WST_EV_TCP_SYN, 2000001, 7, 3, WST_DIR_S2C);
    ev.u.syn.synack = true;
    ev.u.syn.seq = 4294967295u;
    ev.u.syn.win = 0;
    ev.u.syn.opts.mss = -1;
    ev.u.syn.opts.wscale = -1;
    ev.u.syn.opts.nunknown = 2;
    ev.u.syn.opts.unknown[0] = 30;
    ev.u.syn.opts.unknown[1] = 253;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.syn\",\"t\":2.000001,\"frame\":7,\"conn\":3,"
                              "\"dir\":\"s2c\",\"flags\":\"SA\",\"win\":0,\"mss\":null,"
                              "\"wscale\":null,\"sack_perm\":false,\"tsopt\":null,"
                              "\"seq\":4294967295,\"opts_unknown\":[30,253]}\n");
}
END_TEST

START_TEST(json_open_full)
{
    struct wst_event ev = mkopen();
    wst_community_id(0, ev.client, ev.server, 6, ev.u.open.community_id);
    char want[512];
    /* the value the public API gives (checked against the spec's vectors in test_commid) */
    ck_assert_int_eq(strncmp(ev.u.open.community_id, "1:", 2), 0);
    snprintf(want, sizeof want,
             "{\"ev\":\"tcp.open\",\"t\":0.000050,\"frame\":3,\"conn\":1,"
             "\"client\":\"127.0.0.1:41234\",\"server\":\"127.0.0.1:8080\","
             "\"handshake\":\"full\",\"irtt_ms\":0.050,\"mss_c\":65483,"
             "\"mss_s\":65483,\"wscale_c\":7,\"wscale_s\":7,\"sack\":true,"
             "\"vlan\":null,\"community_id\":\"%s\"}\n",
             ev.u.open.community_id);
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), want);
}
END_TEST

START_TEST(json_open_vlan)
{
    struct wst_event ev = mkopen();
    ev.u.open.nvlan = 1;
    ev.u.open.vlan[0] = 100;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), ",\"sack\":true,\"vlan\":[100],\"community_id\":null}\n"));
    ev.u.open.nvlan = 2;
    ev.u.open.vlan[0] = 200;
    ev.u.open.vlan[1] = 4095;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), ",\"vlan\":[200,4095],"));
}
END_TEST

START_TEST(json_rst)
{
    struct wst_event ev = mkev(WST_EV_TCP_RST, 578, 5, 1, WST_DIR_S2C);
    ev.u.rst.seq = 1;
    ev.u.rst.first = true;
    ev.u.rst.len = 13;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.rst\",\"t\":0.000578,\"frame\":5,\"conn\":1,"
                              "\"dir\":\"s2c\",\"seq\":1,\"first\":true,\"len\":13}\n");
}
END_TEST

START_TEST(json_fin)
{
    struct wst_event ev = mkev(WST_EV_TCP_FIN, 578, 5, 1, WST_DIR_C2S);
    ev.u.fin.seq = 46;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.fin\",\"t\":0.000578,\"frame\":5,\"conn\":1,"
                              "\"dir\":\"c2s\",\"seq\":46,\"retransmitted\":false,"
                              "\"peer_fin\":false}\n");
    ev.dir = WST_DIR_S2C;
    ev.u.fin.retransmitted = true;
    ev.u.fin.peer_fin = true;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), "\"dir\":\"s2c\",\"seq\":46,\"retransmitted\":true,"
                                          "\"peer_fin\":true}\n"));
}
END_TEST

START_TEST(json_open_midstream_v6)
{
    struct wst_event ev = mkev(WST_EV_TCP_OPEN, 0, 1, 2, WST_DIR_NONE);
    struct wst_endpoint c6 = ep6_loopback(50000), s6 = ep6_loopback(443);
    ev.client = &c6;
    ev.server = &s6;
    ev.u.open.midstream = true;
    ev.u.open.irtt_us = -1;
    ev.u.open.mss_c = -1;
    ev.u.open.mss_s = -1;
    ev.u.open.wscale_c = -1;
    ev.u.open.wscale_s = -1;
    ev.u.open.wscale_unknown = true;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.open\",\"t\":0.000000,\"frame\":1,\"conn\":2,"
                              "\"client\":\"[::1]:50000\",\"server\":\"[::1]:443\","
                              "\"handshake\":\"midstream\",\"irtt_ms\":null,\"mss_c\":null,"
                              "\"mss_s\":null,\"wscale_c\":null,\"wscale_s\":null,"
                              "\"sack\":false,\"vlan\":null,\"community_id\":null}\n");
}
END_TEST

START_TEST(json_irtt_rounding)
{
    struct wst_event ev = mkopen();
    ev.u.open.irtt_us = 1234567; /* 1234.567 ms */
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), "\"irtt_ms\":1234.567,"));
}
END_TEST

START_TEST(json_close_fin)
{
    struct wst_event ev = mkclose();
    ev.u.close.anomalies[WST_AN_RETRANSMISSION] = 3;
    ev.u.close.anomalies[WST_AN_DUP_ACK] = 1;
    ev.u.close.gap_bytes_s2c = 100;
    ev.u.close.history = "ShADadTtfF";
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.close\",\"t\":1.234567,\"frame\":20,\"conn\":1,"
                              "\"how\":\"fin\",\"by\":\"client\",\"teardown\":\"4way\","
                              "\"bytes_c2s\":517,\"bytes_s2c\":2048,\"pkts_c2s\":9,"
                              "\"pkts_s2c\":8,\"duration\":1.234517,\"gap_bytes_c2s\":0,"
                              "\"gap_bytes_s2c\":100,\"anomalies\":{\"retransmission\":3,"
                              "\"dup_ack\":1},\"history\":\"ShADadTtfF\"}\n");
}
END_TEST

START_TEST(json_close_nulls)
{
    struct wst_event ev = mkclose();
    ev.u.close.how = WST_CLOSE_OPEN;
    ev.u.close.by = WST_BY_NONE;
    ev.u.close.teardown = WST_TEARDOWN_NONE;
    ev.u.close.duration_us = 0;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.close\",\"t\":1.234567,\"frame\":20,\"conn\":1,"
                              "\"how\":\"open\",\"by\":null,\"teardown\":null,"
                              "\"bytes_c2s\":517,\"bytes_s2c\":2048,\"pkts_c2s\":9,"
                              "\"pkts_s2c\":8,\"duration\":0.000000,\"gap_bytes_c2s\":0,"
                              "\"gap_bytes_s2c\":0,\"anomalies\":{},\"history\":\"\"}\n");
}
END_TEST

START_TEST(json_close_how_names)
{
    static const char *const want[] = {"\"how\":\"fin\"", "\"how\":\"rst\"", "\"how\":\"timeout\"",
                                       "\"how\":\"open\"", "\"how\":\"evicted\""};
    static const enum wst_close_how how[] = {WST_CLOSE_FIN, WST_CLOSE_RST, WST_CLOSE_TIMEOUT,
                                             WST_CLOSE_OPEN, WST_CLOSE_EVICTED};
    for (int i = 0; i < 5; i++) {
        struct wst_event ev = mkclose();
        ev.u.close.how = how[i];
        sink_json_event(ob, &sink_opts_default, &ev);
        ck_assert_ptr_nonnull(strstr(taken(), want[i]));
    }
}
END_TEST

START_TEST(json_anomaly)
{
    struct wst_event ev = mkev(WST_EV_TCP_ANOMALY, 5000, 9, 1, WST_DIR_S2C);
    ev.u.anomaly.kind = WST_AN_DUP_ACK;
    ev.u.anomaly.seq = 1;
    ev.u.anomaly.len = 0;
    ev.u.anomaly.dup_num = 2;
    ev.u.anomaly.win = 65536;
    ev.u.anomaly.win_raw = 512;
    ev.u.anomaly.win_shift = 7;
    ev.u.anomaly.nsack = 1;
    ev.u.anomaly.sack[0].left = 1449;
    ev.u.anomaly.sack[0].right = 2897;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.anomaly\",\"t\":0.005000,\"frame\":9,\"conn\":1,"
                              "\"dir\":\"s2c\",\"kind\":\"dup_ack\",\"seq\":1,\"len\":0,"
                              "\"win\":65536,\"win_shift\":7,\"dup_num\":2,"
                              "\"sack\":[[1449,2897]]}\n");
}
END_TEST

START_TEST(json_gap)
{
    struct wst_event ev = mkev(WST_EV_TCP_GAP, 6000, 10, 1, WST_DIR_C2S);
    ev.u.gap.seq = 1449;
    ev.u.gap.len = 1448;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"tcp.gap\",\"t\":0.006000,\"frame\":10,\"conn\":1,"
                              "\"dir\":\"c2s\",\"seq\":1449,\"len\":1448}\n");
}
END_TEST

START_TEST(json_packet_error)
{
    struct wst_event ev = mkev(WST_EV_PACKET_ERROR, 7, 2, 0, WST_DIR_NONE);
    ev.u.pkterr.kind = WST_PKTERR_TRUNCATED;
    ev.u.pkterr.layer = "tcp";
    ev.u.pkterr.detail = "TCP header cut short";
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"packet.error\",\"t\":0.000007,\"frame\":2,"
                              "\"kind\":\"truncated\",\"layer\":\"tcp\","
                              "\"detail\":\"TCP header cut short\"}\n");
}
END_TEST

START_TEST(json_capture_end_offline)
{
    struct wst_event ev = mkend();
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"capture.end\",\"t\":2.000000,\"frame\":42,"
                              "\"packets\":42,\"bytes\":9000,\"tcp_conns\":2,\"ws_conns\":1,"
                              "\"dropped\":null,\"ifdropped\":null,\"non_tcp\":3,"
                              "\"truncated\":4,\"malformed\":5,\"ip_fragments\":6,"
                              "\"evicted\":7,\"ip_datagrams\":2,\"interrupted\":false}\n");
    ev.u.end.interrupted = true;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), ",\"ip_datagrams\":2,\"interrupted\":true}\n"));
}
END_TEST

START_TEST(json_capture_end_live)
{
    struct wst_event ev = mkend();
    ev.u.end.have_stats = true;
    ev.u.end.dropped = 11;
    ev.u.end.ifdropped = 0;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), ",\"dropped\":11,\"ifdropped\":0,"));
}
END_TEST

START_TEST(json_time_negative_and_big)
{
    struct wst_event ev = mkend();
    ev.rel_us = -123;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), "\"t\":-0.000123,"));
    ev.rel_us = INT64_MIN;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), "\"t\":-9223372036854.775808,"));
    ev.rel_us = INT64_MAX;
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), "\"t\":9223372036854.775807,"));
}
END_TEST

/* ---- the JSON string escaper ---- */

static const char *json_of(const void *s, size_t len)
{
    json_put_str(ob, s, len);
    return taken();
}

START_TEST(json_str_plain_and_quotes)
{
    ck_assert_str_eq(json_of("", 0), "\"\"");
    ck_assert_str_eq(json_of("abc", 3), "\"abc\"");
    ck_assert_str_eq(json_of("a\"b\\c/", 6), "\"a\\\"b\\\\c/\"");
}
END_TEST

START_TEST(json_str_controls)
{
    static const uint8_t in[] = {0x00, 0x01, '\b', '\t', '\n', 0x0b, '\f', '\r', 0x1b, 0x1f, 0x7f};
    ck_assert_str_eq(json_of(in, sizeof in),
                     "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001b\\u001f\\u007f\"");
}
END_TEST

START_TEST(json_str_esc_sequence)
{
    static const char in[] = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred";
    ck_assert_str_eq(json_of(in, sizeof in - 1),
                     "\"\\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31mred\"");
}
END_TEST

START_TEST(json_str_utf8_valid)
{
    /* é, €, U+1F600, U+10FFFF pass through as they are. */
    static const char in[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
    char want[64];
    snprintf(want, sizeof want, "\"%s\"", in);
    ck_assert_str_eq(json_of(in, sizeof in - 1), want);
}
END_TEST

START_TEST(json_str_utf8_invalid)
{
    /* stray continuation; overlong '/'; surrogate U+D800; above U+10FFFF; F5; cut 3-byte
     * sequence followed by ASCII; a lone lead byte at the end. */
    ck_assert_str_eq(json_of("\x80", 1), "\"\\ufffd\"");
    ck_assert_str_eq(json_of("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
    ck_assert_str_eq(json_of("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");
    ck_assert_str_eq(json_of("\xf4\x90\x80\x80", 4), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    ck_assert_str_eq(json_of("\xf5", 1), "\"\\ufffd\"");
    ck_assert_str_eq(json_of("\xe2\x82x", 3), "\"\\ufffdx\"");
    ck_assert_str_eq(json_of("ok\xe2", 3), "\"ok\\ufffd\"");
    ck_assert_str_eq(json_of("\xff\xfe", 2), "\"\\ufffd\\ufffd\"");
}
END_TEST

START_TEST(json_str_separators)
{
    /* U+2028 and U+2029 are valid JSON but end lines in JavaScript: escaped. */
    ck_assert_str_eq(json_of("a\xe2\x80\xa8"
                             "b\xe2\x80\xa9",
                             8),
                     "\"a\\u2028b\\u2029\"");
}
END_TEST

/* Every byte value and a sample of random garbage: the output is one line of valid JSON
 * characters (no raw byte < 0x20, no DEL, balanced quoting). */
START_TEST(json_str_all_bytes)
{
    uint8_t in[512];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    uint32_t x = 12345;
    for (int i = 256; i < 512; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (uint8_t)(x >> 16);
    }
    const char *s = json_of(in, sizeof in);
    size_t n = strlen(s);
    ck_assert_int_ge(n, 2);
    ck_assert_int_eq(s[0], '"');
    ck_assert_int_eq(s[n - 1], '"');
    for (size_t i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ck_assert_msg(c >= 0x20 && c != 0x7f, "raw byte 0x%02x at %zu", c, i);
        if (c == '\\') {
            i++; /* the escaped character */
            continue;
        }
        ck_assert_msg(c != '"', "unescaped quote at %zu", i);
    }
}
END_TEST

/* A string far longer than the output buffer, escapes everywhere: the escaper works in
 * slices of the free buffer room and flushes between them; the file must hold exactly the
 * escapes of each piece in order. */
START_TEST(json_str_long_flushes)
{
    static const char unit[] = "ab\"\\\n\x01\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff"
                               "\xe2\x80\xa8z";
    static const char unit_json[] = "ab\\\"\\\\\\n\\u0001\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                                    "\\ufffd\\u2028z";
    enum { REPS = 20000 };
    size_t ulen = sizeof unit - 1, jlen = sizeof unit_json - 1;
    uint8_t *in = malloc(ulen * REPS);
    ck_assert_ptr_nonnull(in);
    for (size_t i = 0; i < REPS; i++)
        memcpy(in + i * ulen, unit, ulen);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    struct outbuf *big = malloc(sizeof *big);
    ck_assert_ptr_nonnull(big);
    outbuf_init(big, fileno(f));
    outbuf_put(big, "x", 1); /* the buffer does not start empty */
    json_put_str(big, in, ulen * REPS);
    ck_assert_int_eq(outbuf_flush(big), 0);
    size_t want = 1 + 2 + jlen * REPS;
    char *got = malloc(want + 1);
    ck_assert_ptr_nonnull(got);
    rewind(f);
    ck_assert_uint_eq(fread(got, 1, want + 1, f), want);
    ck_assert_int_eq(memcmp(got, "x\"", 2), 0);
    for (size_t i = 0; i < REPS; i++)
        ck_assert_msg(memcmp(got + 2 + i * jlen, unit_json, jlen) == 0, "piece %zu differs", i);
    ck_assert_int_eq(got[want - 1], '"');
    fclose(f);
    free(got);
    free(big);
    free(in);
}
END_TEST

START_TEST(json_hostile_detail_in_event)
{
    struct wst_event ev = mkev(WST_EV_PACKET_ERROR, 0, 1, 0, WST_DIR_NONE);
    ev.u.pkterr.kind = WST_PKTERR_MALFORMED;
    ev.u.pkterr.layer = "tcp\n";
    ev.u.pkterr.detail = "\"}\n{\"ev\":\"fake\x1b[0m\xff";
    sink_json_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "{\"ev\":\"packet.error\",\"t\":0.000000,\"frame\":1,"
                              "\"kind\":\"malformed\",\"layer\":\"tcp\\n\","
                              "\"detail\":\"\\\"}\\n{\\\"ev\\\":\\\"fake\\u001b[0m\\ufffd\"}\n");
}
END_TEST

/* ---- text sink ---- */

START_TEST(text_syn)
{
    struct wst_event ev = mksyn();
    ev.rel_us = 0;
    ev.u.syn.opts.mss = 65495;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000000 #1  c1 127.0.0.1:41234 > 127.0.0.1:8080  SYN mss 65495, "
                              "wscale 7 (x128), SACK ok, TS, win 65535\n");
}
END_TEST

START_TEST(text_synack_bare)
{
    struct wst_event ev = mkev(WST_EV_TCP_SYN, 17, 2, 1, WST_DIR_S2C);
    ev.u.syn.synack = true;
    ev.u.syn.win = 1024;
    ev.u.syn.opts.mss = -1;
    ev.u.syn.opts.wscale = 15;
    ev.u.syn.opts.nunknown = 1;
    ev.u.syn.opts.unknown[0] = 34;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000017 #2  c1 127.0.0.1:41234 < 127.0.0.1:8080  SYN-ACK "
                              "wscale 15 (invalid, used as 14: x16384), unknown option 34, "
                              "win 1024\n");
}
END_TEST

START_TEST(text_open)
{
    struct wst_event ev = mkopen();
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000050 #3  c1 open  client 127.0.0.1:41234 server "
                              "127.0.0.1:8080, rtt 0.050 ms, mss 65483/65483, window scaling "
                              "x128/x128, SACK on\n");
}
END_TEST

START_TEST(text_open_vlan)
{
    struct wst_event ev = mkopen();
    ev.u.open.nvlan = 1;
    ev.u.open.vlan[0] = 100;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), "server 127.0.0.1:8080, vlan 100, rtt 0.050 ms"));
    ev.u.open.nvlan = 2;
    ev.u.open.vlan[0] = 200;
    ev.u.open.vlan[1] = 100;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_ptr_nonnull(
        strstr(taken(), "server 127.0.0.1:8080, vlan 200/100 (QinQ outer/inner), rtt"));
}
END_TEST

START_TEST(text_fin)
{
    struct wst_event ev = mkev(WST_EV_TCP_FIN, 578, 5, 1, WST_DIR_C2S);
    ev.u.fin.seq = 46;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(),
                     "0.000578 #5  c1 > FIN seq 46 (half-close: the server may still send)\n");
    ev.dir = WST_DIR_S2C;
    ev.u.fin.seq = 12001;
    ev.u.fin.peer_fin = true;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000578 #5  c1 < FIN seq 12001 (answers the client's FIN)\n");
    ev.dir = WST_DIR_C2S;
    ev.u.fin.peer_fin = false;
    ev.u.fin.retransmitted = true;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000578 #5  c1 > FIN seq 12001 retransmitted\n");
}
END_TEST

START_TEST(text_rst)
{
    struct wst_event ev = mkev(WST_EV_TCP_RST, 578, 5, 1, WST_DIR_S2C);
    ev.u.rst.seq = 1;
    ev.u.rst.first = true;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000578 #5  c1 < RST seq 1 (connection reset)\n");
    ev.dir = WST_DIR_C2S;
    ev.u.rst.first = false;
    ev.u.rst.len = 13;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000578 #5  c1 > RST seq 1 carrying 13 B (again)\n");
}
END_TEST

START_TEST(text_open_midstream)
{
    struct wst_event ev = mkopen();
    ev.u.open.midstream = true;
    ev.u.open.irtt_us = -1;
    ev.u.open.mss_c = ev.u.open.mss_s = -1;
    ev.u.open.wscale_c = ev.u.open.wscale_s = -1;
    ev.u.open.wscale_unknown = true;
    ev.u.open.sack = false;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000050 #3  c1 open  client 127.0.0.1:41234 server "
                              "127.0.0.1:8080, midstream (handshake not captured), window "
                              "scale unknown\n");
}
END_TEST

START_TEST(text_close)
{
    struct wst_event ev = mkclose();
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "1.234567 #20 c1 close fin (4-way) by client after 1.235 s: 517 B "
                              "c2s in 9 pkts, 2048 B s2c in 8 pkts\n");
    ev.u.close.how = WST_CLOSE_RST;
    ev.u.close.by = WST_BY_SERVER;
    ev.u.close.teardown = WST_TEARDOWN_NONE;
    ev.u.close.pkts_s2c = 1;
    ev.u.close.anomalies[WST_AN_RETRANSMISSION] = 2;
    ev.u.close.gap_bytes_c2s = 10;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "1.234567 #20 c1 close rst by server after 1.235 s: 517 B c2s in "
                              "9 pkts, 2048 B s2c in 1 pkt; not captured: 10 B c2s, 0 B s2c; "
                              "retransmission 2\n");
}
END_TEST

START_TEST(text_anomaly_and_gap)
{
    struct wst_event ev = mkev(WST_EV_TCP_ANOMALY, 5000, 9, 1, WST_DIR_S2C);
    ev.u.anomaly.kind = WST_AN_ZERO_WINDOW;
    ev.u.anomaly.seq = 10;
    ev.u.anomaly.win_shift = -1;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.005000 #9  c1 < zero window seq 10 len 0, window 0 B (scale "
                              "unknown)\n");
    /* a scaled window shows the field, the bytes and the factor */
    ev.u.anomaly.kind = WST_AN_WINDOW_UPDATE;
    ev.u.anomaly.win_raw = 260;
    ev.u.anomaly.win_shift = 8;
    ev.u.anomaly.win = 66560;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.005000 #9  c1 < window update seq 10 len 0, window 260 -> "
                              "66560 B (scaled x256)\n");
    ev = mkev(WST_EV_TCP_GAP, 6000, 10, 1, WST_DIR_C2S);
    ev.u.gap.seq = 1449;
    ev.u.gap.len = 1448;
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.006000 #10 c1 > gap of 1448 B at seq 1449 (never captured)\n");
}
END_TEST

START_TEST(text_packet_error)
{
    struct wst_event ev = mkev(WST_EV_PACKET_ERROR, 7, 1234, 0, WST_DIR_NONE);
    ev.u.pkterr.kind = WST_PKTERR_TRUNCATED;
    ev.u.pkterr.layer = "tcp";
    ev.u.pkterr.detail = "TCP header cut short";
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "0.000007 #1234 packet truncated (tcp): TCP header cut short\n");
}
END_TEST

START_TEST(text_capture_end)
{
    struct wst_event ev = mkend();
    sink_text_event(ob, &sink_opts_default, &ev);
    ck_assert_str_eq(taken(), "2.000000 #42 end of capture\n"
                              "  packets                42 (9000 bytes)\n"
                              "  TCP connections        2\n"
                              "  WebSocket connections  1\n"
                              "  non-TCP packets        3\n"
                              "  truncated packets      4\n"
                              "  malformed packets      5\n"
                              "  IP fragments           6 (2 datagrams reassembled)\n"
                              "  evicted connections    7\n");
    ev.u.end.ip_fragments = 0;
    ev.u.end.ip_datagrams = 0;
    ev.u.end.interrupted = true;
    ev.u.end.packets = 1;
    sink_text_event(ob, &sink_opts_default, &ev);
    const char *t = taken();
    ck_assert_ptr_nonnull(strstr(t, "2.000000 #42 interrupted after 1 packet\n"));
    ck_assert_ptr_nonnull(strstr(t, "  IP fragments           0\n"));
    ck_assert_ptr_null(strstr(t, "end of capture"));
    ev.u.end.packets = 42;
    ev.u.end.interrupted = false;
    ev.u.end.have_stats = true;
    ev.u.end.dropped = 8;
    ev.u.end.ifdropped = 9;
    sink_text_event(ob, &sink_opts_default, &ev);
    const char *s = taken();
    ck_assert_ptr_nonnull(strstr(s, "\n  dropped by kernel      8\n"
                                    "  dropped by interface   9\n"));
}
END_TEST

/* ---- terminal escaping ---- */

static const char *term_of(const void *s, size_t len)
{
    term_put_safe(ob, s, len);
    return taken();
}

START_TEST(term_plain_and_utf8)
{
    ck_assert_str_eq(term_of("GET /chat HTTP/1.1", 18), "GET /chat HTTP/1.1");
    ck_assert_str_eq(term_of("caf\xc3\xa9 \xe2\x82\xac", 9), "caf\xc3\xa9 \xe2\x82\xac");
    ck_assert_str_eq(term_of("a\\b", 3), "a\\\\b");
}
END_TEST

START_TEST(term_controls)
{
    ck_assert_str_eq(term_of("\x1b[2J\x1b]0;x\x07", 10), "\\x1b[2J\\x1b]0;x\\x07");
    ck_assert_str_eq(term_of("a\nb\rc\td\x7f", 8), "a\\x0ab\\x0dc\\x09d\\x7f");
    ck_assert_str_eq(term_of("\0", 1), "\\x00");
}
END_TEST

START_TEST(term_c1_bidi_invalid)
{
    /* U+009B (CSI as a C1 control), U+202E (right-to-left override), U+2066 */
    ck_assert_str_eq(term_of("\xc2\x9b"
                             "31m",
                             5),
                     "\\u009b31m");
    ck_assert_str_eq(term_of("\xe2\x80\xae"
                             "evil",
                             7),
                     "\\u202eevil");
    ck_assert_str_eq(term_of("\xe2\x81\xa6", 3), "\\u2066");
    ck_assert_str_eq(term_of("\xff\xc0\xaf", 3), "\\xff\\xc0\\xaf");
    ck_assert_str_eq(term_of("x\xe2\x82", 3), "x\\xe2\\x82");
}
END_TEST

/* The text sink never lets a byte < 0x20 (other than its own line ends) or DEL through. */
START_TEST(text_hostile_strings)
{
    uint8_t hostile[300];
    for (int i = 0; i < 256; i++)
        hostile[i] = (uint8_t)i;
    static const char tail[] = "\x1b[31m\xc2\x9b\xe2\x80\xae\r\n\n\n";
    memcpy(hostile + 256, tail, sizeof tail); /* NUL included */
    for (size_t i = 0; i < 256 + sizeof tail - 1; i++)
        if (hostile[i] == 0)
            hostile[i] = 0x01; /* the layer/detail strings are C strings */

    struct wst_event ev = mkev(WST_EV_PACKET_ERROR, 0, 1, 0, WST_DIR_NONE);
    ev.u.pkterr.kind = WST_PKTERR_MALFORMED;
    ev.u.pkterr.layer = (const char *)hostile;
    ev.u.pkterr.detail = (const char *)hostile;
    sink_text_event(ob, &sink_opts_default, &ev);
    const char *s = taken();
    size_t n = strlen(s);
    ck_assert_int_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ck_assert_msg(c >= 0x20 || (c == '\n' && i == n - 1), "byte 0x%02x at %zu", c, i);
        ck_assert_msg(c != 0x7f, "DEL at %zu", i);
    }
    ck_assert_ptr_null(strstr(s, "\xc2\x9b"));
    ck_assert_ptr_null(strstr(s, "\xe2\x80\xae"));
}
END_TEST

/* ---- fixed-point numbers ---- */

/* -t, -tt, -ttt, -tttt: the time column as tcpdump's. */
START_TEST(text_time_modes)
{
    struct sink_opts so = sink_opts_default;
    struct sink_state st = {false, 0};
    struct wst_event ev = mkev(WST_EV_TCP_GAP, 250, 7, 1, WST_DIR_C2S);
    ev.u.gap.seq = 1;
    ev.u.gap.len = 10;

    so.ts = SINK_TS_NONE;
    sink_text_event(ob, &so, &ev);
    ck_assert_int_eq(strncmp(taken(), "#7  c1 > ", 9), 0);
    so.ts = SINK_TS_EPOCH;
    sink_text_event(ob, &so, &ev);
    ck_assert_int_eq(strncmp(taken(), "1700000000.000250 #7  c1 ", 25), 0);
    so.ts = SINK_TS_DELTA;
    so.st = &st;
    sink_text_event(ob, &so, &ev);
    ck_assert_int_eq(strncmp(taken(), "0.000000 #7 ", 12), 0);
    ev.ts_us += 1500;
    sink_text_event(ob, &so, &ev);
    ck_assert_int_eq(strncmp(taken(), "0.001500 #7 ", 12), 0);
    so.ts = SINK_TS_DATE;
    sink_text_event(ob, &so, &ev); /* make check runs with TZ=UTC; the format holds anywhere */
    const char *t = taken();
    ck_assert_int_eq((int)strlen(t) > 27, 1);
    ck_assert(t[4] == '-' && t[7] == '-' && t[10] == ' ' && t[13] == ':' && t[19] == '.');
    ck_assert_int_eq(strncmp(t + 19, ".001750 #7 ", 11), 0);
}
END_TEST

/* --color: the event's text is wrapped, the reset comes before the newline. */
START_TEST(text_color)
{
    struct sink_opts so = sink_opts_default;
    so.color = true;
    struct wst_event ev = mkopen();
    sink_text_event(ob, &so, &ev);
    const char *t = taken();
    ck_assert_ptr_nonnull(strstr(t, " c1 \033[32mopen  client "));
    size_t n = strlen(t);
    ck_assert_str_eq(t + n - 5, "\033[0m\n");
    so.color = false;
    sink_text_event(ob, &so, &ev);
    ck_assert_ptr_null(strchr(taken(), '\033'));
    /* a FIN is plain, a retransmitted FIN is TCP trouble (yellow) */
    so.color = true;
    ev = mkev(WST_EV_TCP_FIN, 578, 5, 1, WST_DIR_C2S);
    ev.u.fin.seq = 46;
    sink_text_event(ob, &so, &ev);
    ck_assert_ptr_null(strchr(taken(), '\033'));
    ev.u.fin.retransmitted = true;
    sink_text_event(ob, &so, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), " c1 \033[33m> FIN seq 46 retransmitted\033[0m\n"));
}
END_TEST

/* A 101 whose accept does not match is no valid upgrade: not "WebSocket open", not green. */
START_TEST(text_ws_open_accept)
{
    struct sink_opts so = sink_opts_default;
    so.color = true;
    struct wst_event ev = mkev(WST_EV_WS_OPEN, 100, 6, 1, WST_DIR_NONE);
    ev.u.ws_open.version.p = (const uint8_t *)"13";
    ev.u.ws_open.version.len = 2;
    ev.u.ws_open.accept_ok = true;
    sink_text_event(ob, &so, &ev);
    ck_assert_ptr_nonnull(strstr(taken(), " c1 \033[32mWebSocket open, accept ok, version 13"));
    ev.u.ws_open.accept_ok = false;
    sink_text_event(ob, &so, &ev);
    const char *t = taken();
    ck_assert_ptr_null(strstr(t, "WebSocket open"));
    ck_assert_ptr_null(strstr(t, "\033[32m"));
    ck_assert_ptr_nonnull(strstr(t, " c1 \033[1;31mWebSocket NOT open (101, but ACCEPT DOES NOT "
                                    "MATCH THE KEY), version 13"));
}
END_TEST

START_TEST(fixed_numbers)
{
    sink_put_fixed(ob, 0, 6);
    ck_assert_str_eq(taken(), "0.000000");
    sink_put_fixed(ob, 1234567, 6);
    ck_assert_str_eq(taken(), "1.234567");
    sink_put_fixed(ob, 50, 3);
    ck_assert_str_eq(taken(), "0.050");
    sink_put_fixed(ob, -1, 3);
    ck_assert_str_eq(taken(), "-0.001");
    sink_put_fixed(ob, 42, 0);
    ck_assert_str_eq(taken(), "42");
}
END_TEST

/* ---- outbuf ---- */

/* A pipe whose read end we drain into a buffer after writing. */
static size_t drain(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == cap)
            break;
    }
    return got;
}

START_TEST(outbuf_large_writes)
{
    /* A file, so big writes cannot block on a full pipe. */
    char path[] = "/tmp/wstap-outbuf-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);

    struct outbuf *w = malloc(sizeof *w);
    ck_assert_ptr_nonnull(w);
    outbuf_init(w, fd);
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    ck_assert_int_eq(outbuf_puts(w, "head "), 0);
    ck_assert_int_eq(outbuf_put(w, big, sizeof big), 0); /* larger than the buffer */
    for (int i = 0; i < 20000; i++) /* many printfs, crossing buffer boundaries */
        ck_assert_int_eq(outbuf_printf(w, "%d,", i % 10), 0);
    ck_assert_int_eq(outbuf_putc(w, '\n'), 0);
    ck_assert_int_eq(outbuf_flush(w), 0);

    size_t want = 5 + sizeof big + 40000 + 1;
    char *back = malloc(want + 16);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ck_assert_uint_eq(drain(fd, back, want + 16), want);
    ck_assert_int_eq(memcmp(back, "head ", 5), 0);
    ck_assert_int_eq(memcmp(back + 5, big, sizeof big), 0);
    ck_assert_int_eq(memcmp(back + 5 + sizeof big, "0,1,2,", 6), 0);
    ck_assert_int_eq(back[want - 1], '\n');
    free(back);
    free(w);
    close(fd);
}
END_TEST

START_TEST(outbuf_printf_too_long)
{
    static char huge[OUTBUF_SIZE + 10];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    /* Longer than the whole buffer: what fits is kept, the call says it was cut, and the
     * output as a whole has not failed. */
    ck_assert_int_eq(outbuf_printf(ob, "%s", huge), -1);
    ck_assert_uint_eq(ob->len, OUTBUF_SIZE - 1);
    ck_assert(!outbuf_failed(ob));
    ob->len = 0;
}
END_TEST

/* An empty string may come as NULL with length 0 (an empty close reason): found by the fuzzer
 * and by UBSan on Zeek's http-websocket.pcap (memcpy and pointer arithmetic on NULL). Under the
 * sanitizer build any such use is a report. */
START_TEST(empty_null_strings)
{
    ck_assert_int_eq(outbuf_put(ob, NULL, 0), 0);
    json_put_str(ob, NULL, 0);
    term_put_safe(ob, NULL, 0);
    ck_assert_str_eq(taken(), "\"\""); /* the JSON string; the terminal text is empty */
}
END_TEST

START_TEST(outbuf_epipe_sticky)
{
    int p[2];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);

    struct outbuf *w = malloc(sizeof *w);
    ck_assert_ptr_nonnull(w);
    outbuf_init(w, p[1]);
    ck_assert_int_eq(outbuf_puts(w, "hello\n"), 0); /* only buffered so far */
    ck_assert(!outbuf_failed(w));
    ck_assert_int_eq(outbuf_flush(w), -1);
    ck_assert(outbuf_failed(w));
    ck_assert_int_eq(w->errnum, EPIPE);
    ck_assert_int_eq(outbuf_puts(w, "more"), -1);
    ck_assert_int_eq(outbuf_printf(w, "%d", 1), -1);
    ck_assert_int_eq(outbuf_flush(w), -1);
    free(w);
    close(p[1]);
}
END_TEST

static Suite *sink_suite(void)
{
    Suite *s = suite_create("sink");
    TCase *tj = tcase_create("json");
    tcase_add_checked_fixture(tj, setup, teardown);
    tcase_add_test(tj, json_syn_full);
    tcase_add_test(tj, json_syn_bare);
    tcase_add_test(tj, json_open_full);
    tcase_add_test(tj, json_open_vlan);
    tcase_add_test(tj, json_fin);
    tcase_add_test(tj, json_rst);
    tcase_add_test(tj, json_open_midstream_v6);
    tcase_add_test(tj, json_irtt_rounding);
    tcase_add_test(tj, json_close_fin);
    tcase_add_test(tj, json_close_nulls);
    tcase_add_test(tj, json_close_how_names);
    tcase_add_test(tj, json_anomaly);
    tcase_add_test(tj, json_gap);
    tcase_add_test(tj, json_packet_error);
    tcase_add_test(tj, json_capture_end_offline);
    tcase_add_test(tj, json_capture_end_live);
    tcase_add_test(tj, json_time_negative_and_big);
    suite_add_tcase(s, tj);

    TCase *te = tcase_create("json_escape");
    tcase_add_checked_fixture(te, setup, teardown);
    tcase_add_test(te, json_str_plain_and_quotes);
    tcase_add_test(te, json_str_controls);
    tcase_add_test(te, json_str_esc_sequence);
    tcase_add_test(te, json_str_utf8_valid);
    tcase_add_test(te, json_str_utf8_invalid);
    tcase_add_test(te, json_str_separators);
    tcase_add_test(te, json_str_all_bytes);
    tcase_add_test(te, json_str_long_flushes);
    tcase_add_test(te, json_hostile_detail_in_event);
    suite_add_tcase(s, te);

    TCase *tt = tcase_create("text");
    tcase_add_checked_fixture(tt, setup, teardown);
    tcase_add_test(tt, text_syn);
    tcase_add_test(tt, text_synack_bare);
    tcase_add_test(tt, text_open);
    tcase_add_test(tt, text_open_vlan);
    tcase_add_test(tt, text_fin);
    tcase_add_test(tt, text_rst);
    tcase_add_test(tt, text_open_midstream);
    tcase_add_test(tt, text_close);
    tcase_add_test(tt, text_anomaly_and_gap);
    tcase_add_test(tt, text_packet_error);
    tcase_add_test(tt, text_capture_end);
    tcase_add_test(tt, term_plain_and_utf8);
    tcase_add_test(tt, term_controls);
    tcase_add_test(tt, term_c1_bidi_invalid);
    tcase_add_test(tt, text_hostile_strings);
    tcase_add_test(tt, fixed_numbers);
    tcase_add_test(tt, text_time_modes);
    tcase_add_test(tt, text_color);
    tcase_add_test(tt, text_ws_open_accept);
    suite_add_tcase(s, tt);

    TCase *to = tcase_create("outbuf");
    tcase_add_checked_fixture(to, setup, teardown);
    tcase_add_test(to, outbuf_large_writes);
    tcase_add_test(to, outbuf_printf_too_long);
    tcase_add_test(to, outbuf_epipe_sticky);
    tcase_add_test(to, empty_null_strings);
    suite_add_tcase(s, to);
    return s;
}

int main(void)
{
    return run_suite(sink_suite());
}
