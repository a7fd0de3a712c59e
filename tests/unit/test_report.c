/* test_report.c - the per-connection summary rows and the --fail-on conditions, fed
 * hand-made events (no capture involved). */
#include <stdio.h>
#include <unistd.h>

#include "outbuf.h"
#include "report.h"
#include "util.h"

static struct report *r;
static struct wst_endpoint cli = {4, {10, 0, 0, 1}, 40000};
static struct wst_endpoint srv = {4, {10, 0, 0, 2}, 80};

static void setup(void)
{
    r = report_new();
    ck_assert_ptr_nonnull(r);
}

static void teardown(void)
{
    report_free(r);
    r = NULL;
}

static struct wst_event ev_of(enum wst_ev_type t, uint64_t conn, uint64_t frame, enum wst_dir d)
{
    struct wst_event e;
    memset(&e, 0, sizeof e);
    e.type = t;
    e.conn = conn;
    e.frame = frame;
    e.dir = d;
    e.client = &cli;
    e.server = &srv;
    return e;
}

static void feed_close(uint64_t conn, uint64_t frame, enum wst_close_how how, const char *hist)
{
    struct wst_event e = ev_of(WST_EV_TCP_CLOSE, conn, frame, WST_DIR_NONE);
    e.u.close.how = how;
    e.u.close.by = WST_BY_SERVER;
    e.u.close.history = hist;
    report_event(r, &e);
}

static void feed_close_frame(uint64_t conn, uint64_t frame, enum wst_dir d, int code)
{
    struct wst_event e = ev_of(WST_EV_WS_CONTROL, conn, frame, d);
    e.u.ws_control.opcode = WST_WS_CLOSE;
    e.u.ws_control.code = code;
    report_event(r, &e);
}

/* report_failed's lines, read back from a temporary file. */
static bool failed_text(char *buf, size_t len)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    bool failed = report_failed(r, f);
    rewind(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return failed;
}

START_TEST(test_rules_parse)
{
    char err[256];
    ck_assert_int_eq(report_add_rules(r, "upgrade,ws-error,retransmissions>10,close!=1000", err,
                                      sizeof err),
                     0);
    ck_assert_int_eq(report_add_rules(r, "strict", err, sizeof err), 0);
    ck_assert_int_eq(report_add_rules(r, "status>=500,gaps<=3,rst=2,drops==0", err, sizeof err),
                     0);
    ck_assert_int_eq(report_add_rules(r, "bogus", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown finding 'bogus'"));
    ck_assert_int_eq(report_add_rules(r, "close", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "needs a comparison"));
    ck_assert_int_eq(report_add_rules(r, "retransmissions>", err, sizeof err), -1);
    ck_assert_int_eq(report_add_rules(r, "retransmissions>x", err, sizeof err), -1);
    ck_assert_int_eq(report_add_rules(r, "retransmissions~3", err, sizeof err), -1);
    ck_assert_int_eq(report_add_rules(r, "upgrade,,rst", err, sizeof err), -1);
    ck_assert_int_eq(report_add_rules(r, "", err, sizeof err), -1);
}
END_TEST

START_TEST(test_counts_and_thresholds)
{
    char err[256], out[1024];
    ck_assert_int_eq(report_add_rules(r, "retransmissions>2,upgrade", err, sizeof err), 0);
    for (int i = 0; i < 2; i++) {
        struct wst_event e = ev_of(WST_EV_TCP_ANOMALY, 1, 10 + (uint64_t)i, WST_DIR_C2S);
        e.u.anomaly.kind = WST_AN_RETRANSMISSION;
        report_event(r, &e);
    }
    ck_assert(!failed_text(out, sizeof out)); /* 2 is not > 2 */
    ck_assert_str_eq(out, "");
    struct wst_event e = ev_of(WST_EV_TCP_ANOMALY, 2, 20, WST_DIR_S2C);
    e.u.anomaly.kind = WST_AN_FAST_RETRANSMISSION;
    report_event(r, &e);
    ck_assert(failed_text(out, sizeof out));
    ck_assert_str_eq(out, "wstap: --fail-on retransmissions>2: 3 retransmission(s), first in c1 "
                          "at #10\n");
}
END_TEST

START_TEST(test_close_codes)
{
    char err[256], out[1024];
    ck_assert_int_eq(report_add_rules(r, "close!=1000", err, sizeof err), 0);
    struct wst_event o = ev_of(WST_EV_WS_OPEN, 1, 5, WST_DIR_NONE);
    report_event(r, &o);
    feed_close_frame(1, 8, WST_DIR_C2S, 1000);
    feed_close_frame(1, 9, WST_DIR_S2C, 1000);
    feed_close(1, 10, WST_CLOSE_FIN, "ShADadFf");
    ck_assert(!failed_text(out, sizeof out));
    /* a close frame without a code is 1005; a WebSocket that just ended is 1006 */
    o.conn = 2;
    report_event(r, &o);
    feed_close_frame(2, 18, WST_DIR_C2S, -1);
    o.conn = 3;
    report_event(r, &o);
    feed_close(3, 30, WST_CLOSE_RST, "ShADadR");
    ck_assert(failed_text(out, sizeof out));
    ck_assert_str_eq(out, "wstap: --fail-on close!=1000: 2 WebSocket close code(s) matched, "
                          "first 1005 in c2 at #18\n");
}
END_TEST

START_TEST(test_summary_rows)
{
    struct outbuf *ob = malloc(sizeof *ob);
    ck_assert_ptr_nonnull(ob);
    outbuf_init(ob, -1);
    struct wst_event f = ev_of(WST_EV_WS_FAIL, 1, 10, WST_DIR_NONE);
    f.u.ws_fail.reason = WST_WSFAIL_NO_RESPONSE_RESET;
    f.u.ws_fail.status = -1; /* no response */
    report_event(r, &f);
    feed_close(1, 10, WST_CLOSE_RST, "ShADar");
    struct wst_event o = ev_of(WST_EV_WS_OPEN, 2, 15, WST_DIR_NONE);
    o.u.ws_open.compression = WST_COMP_PMD;
    report_event(r, &o);
    struct wst_event m = ev_of(WST_EV_WS_MESSAGE, 2, 16, WST_DIR_C2S);
    m.u.ws_message.opcode = WST_WS_TEXT;
    m.u.ws_message.compressed = true;
    m.u.ws_message.wire_len = 20;
    m.u.ws_message.len = 50;
    report_event(r, &m);
    feed_close_frame(2, 17, WST_DIR_C2S, 1000);
    feed_close_frame(2, 18, WST_DIR_S2C, 1000);
    feed_close(2, 19, WST_CLOSE_FIN, "ShADadFf");
    report_put_summary(r, ob);
    ob->buf[ob->len] = '\0';
    const char *s = ob->buf;
    /* rows wrap at 100 columns after ", " or before " -- ", continuation lines indented 8 */
    ck_assert_ptr_nonnull(strstr(s, "  c1    10.0.0.1:40000 > 10.0.0.2:80  0.000 s, 0 B > 0 B <, "
                                    "rst by server, history ShADar,\n"
                                    "        ws failed (no_response_reset) -- BAD: upgrade failed "
                                    "(no_response_reset), reset by server\n"));
    ck_assert_ptr_nonnull(strstr(s, "history ShADadFf,\n        ws open permessage-deflate: "
                                    "text 1/0 binary 0/0 ping 0 pong 0, deflate 20 -> 50 B "
                                    "(x2.50),\n        close 1000/1000, close 0.000 ms after "
                                    "the last message -- ok\n"));
    for (const char *l = s; *l; l = strchr(l, '\n') + 1)
        ck_assert_int_le(strcspn(l, "\n"), 100);
    ck_assert_ptr_nonnull(strstr(s, "  failed upgrades        1\n"));
    ck_assert_ptr_nonnull(strstr(s, "  WebSocket messages     1\n"));
    free(ob);
}
END_TEST

/* The text row and conn.summary come from one verdict: they say the same thing. */
START_TEST(test_summary_json)
{
    struct outbuf *ob = malloc(sizeof *ob);
    ck_assert_ptr_nonnull(ob);
    /* c1: 400 to a bad version; c2: a 101 with a wrong accept, then a text; c3: clean */
    struct wst_event f = ev_of(WST_EV_WS_FAIL, 1, 6, WST_DIR_NONE);
    f.u.ws_fail.reason = WST_WSFAIL_BAD_VERSION;
    f.u.ws_fail.status = 400;
    report_event(r, &f);
    feed_close(1, 9, WST_CLOSE_FIN, "ShADadfF");
    struct wst_event o = ev_of(WST_EV_WS_OPEN, 2, 15, WST_DIR_NONE);
    report_event(r, &o);
    f = ev_of(WST_EV_WS_FAIL, 2, 15, WST_DIR_NONE);
    f.u.ws_fail.reason = WST_WSFAIL_ACCEPT_MISMATCH;
    f.u.ws_fail.status = 101;
    report_event(r, &f);
    struct wst_event m = ev_of(WST_EV_WS_MESSAGE, 2, 16, WST_DIR_S2C);
    m.u.ws_message.opcode = WST_WS_TEXT;
    report_event(r, &m);
    feed_close(2, 19, WST_CLOSE_FIN, "ShADadFf");
    o = ev_of(WST_EV_WS_OPEN, 3, 25, WST_DIR_NONE);
    report_event(r, &o);
    feed_close_frame(3, 27, WST_DIR_C2S, 1000);
    feed_close_frame(3, 28, WST_DIR_S2C, 1000);
    feed_close(3, 29, WST_CLOSE_FIN, "ShADadFf");

    outbuf_init(ob, -1);
    report_put_summary(r, ob);
    ob->buf[ob->len] = '\0';
    ck_assert_ptr_nonnull(strstr(ob->buf, "ws failed 400 (bad_version) -- BAD: upgrade failed "
                                          "(bad_version)\n"));
    ck_assert_ptr_nonnull(strstr(ob->buf, "ws failed 101 (accept_mismatch): text 0/1 binary 0/0 "
                                          "ping 0 pong 0, close -/-\n        -- BAD: upgrade "
                                          "failed (accept_mismatch)\n"));
    /* --color: "-- BAD" in red; the total counts ok and BAD rows */
    report_set_color(r, true);
    outbuf_init(ob, -1);
    report_put_summary(r, ob);
    ob->buf[ob->len] = '\0';
    ck_assert_ptr_nonnull(strstr(ob->buf, "close -/-\n        \033[1;31m-- BAD\033[0m: upgrade "
                                          "failed (accept_mismatch)\n"));
    ck_assert_ptr_null(strstr(ob->buf, "\033[1;31m-- ok"));
    outbuf_init(ob, -1);
    report_put_total(r, ob);
    ob->buf[ob->len] = '\0';
    ck_assert_str_eq(ob->buf, "  connections            1 ok, 2 BAD\n");

    struct wst_event end = ev_of(WST_EV_CAPTURE_END, 0, 30, WST_DIR_NONE);
    end.rel_us = 1234567;
    outbuf_init(ob, -1);
    report_put_json(r, ob, &end);
    ob->buf[ob->len] = '\0';
    const char *s = ob->buf;
    ck_assert_ptr_nonnull(strstr(s, "{\"ev\":\"conn.summary\",\"t\":1.234567,\"frame\":30,"
                                    "\"conn\":1,\"client\":\"10.0.0.1:40000\","));
    ck_assert_ptr_nonnull(strstr(s, "\"ws\":\"failed\",\"ws_fail\":\"bad_version\","
                                    "\"ws_status\":400,"));
    ck_assert_ptr_nonnull(strstr(s, "\"ok\":false,\"bad\":[\"upgrade failed (bad_version)\"],"
                                    "\"community_id\":null,\"upgrade_ms\":null,"));
    ck_assert_ptr_nonnull(strstr(s, "\"close_after_ms\":null}\n"
                                    "{\"ev\":\"conn.summary\",\"t\":1.234567,\"frame\":30,"
                                    "\"conn\":2,"));
    ck_assert_ptr_nonnull(strstr(s, "\"ws_fail\":\"accept_mismatch\",\"ws_status\":101,"
                                    "\"compression\":null,\"text_c2s\":0,\"text_s2c\":1,"));
    ck_assert_ptr_nonnull(strstr(s, "\"ws\":\"open\",\"ws_fail\":null,\"ws_status\":null,"));
    ck_assert_ptr_nonnull(strstr(s, "\"close_c2s\":1000,\"close_s2c\":1000,\"ws_errors\":0,"
                                    "\"ws_error_first\":null,\"ok\":true,\"bad\":[],"
                                    "\"community_id\":null,\"upgrade_ms\":null,"));
    /* three lines, one per connection, in id order */
    int lines = 0;
    for (const char *p = s; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 3);
    const char *c2 = strstr(s, "\"conn\":2"), *c3 = strstr(s, "\"conn\":3");
    ck_assert(c2 && c3 && c2 < c3);
    free(ob);
}
END_TEST

static struct wst_event at(enum wst_ev_type t, uint64_t frame, enum wst_dir d, int64_t ts)
{
    struct wst_event e = ev_of(t, 1, frame, d);
    e.ts_us = ts;
    return e;
}

START_TEST(test_latency_rates)
{
    struct outbuf *ob = malloc(sizeof *ob);
    /* two pipelined HTTP transactions (10 ms and 4 ms), then the upgrade (3 ms) */
    struct wst_event e = at(WST_EV_HTTP_REQUEST, 1, WST_DIR_C2S, 1000000);
    e.u.http.txn = 1;
    report_event(r, &e);
    e = at(WST_EV_HTTP_REQUEST, 2, WST_DIR_C2S, 1002000);
    e.u.http.txn = 2;
    report_event(r, &e);
    e = at(WST_EV_HTTP_RESPONSE, 3, WST_DIR_S2C, 1010000);
    e.u.http.txn = 1;
    e.u.http.status = 200;
    report_event(r, &e);
    e = at(WST_EV_HTTP_RESPONSE, 4, WST_DIR_S2C, 1006000);
    e.u.http.txn = 2;
    e.u.http.status = 204;
    report_event(r, &e);
    e = at(WST_EV_HTTP_REQUEST, 5, WST_DIR_C2S, 2000000);
    e.u.http.txn = 3;
    report_event(r, &e);
    e = at(WST_EV_HTTP_RESPONSE, 6, WST_DIR_S2C, 2003000);
    e.u.http.txn = 3;
    e.u.http.status = 101;
    report_event(r, &e);
    e = at(WST_EV_WS_OPEN, 6, WST_DIR_NONE, 2003000);
    report_event(r, &e);
    /* pongs with round trips 3, 1, 2 and 10 ms (median of 1 2 3 10: 2.5), one unpaired */
    static const int64_t rtt[] = {3000, 1000, 2000, 10000, -1};
    for (int i = 0; i < 5; i++) {
        e = at(WST_EV_WS_CONTROL, 7 + (uint64_t)i, WST_DIR_S2C, 2100000 + i * 100000);
        e.u.ws_control.opcode = WST_WS_PONG;
        e.u.ws_control.rtt_us = rtt[i];
        report_event(r, &e);
    }
    /* 3 messages c2s (300 B) and 1 s2c (50 B) over the 2 s the WebSocket was open */
    for (int i = 0; i < 4; i++) {
        e = at(WST_EV_WS_MESSAGE, 20 + (uint64_t)i, i < 3 ? WST_DIR_C2S : WST_DIR_S2C,
               3000000 + i * 250000);
        e.u.ws_message.opcode = WST_WS_TEXT;
        e.u.ws_message.len = i < 3 ? 100 : 50;
        report_event(r, &e);
    }
    e = at(WST_EV_WS_CONTROL, 30, WST_DIR_C2S, 3800000); /* 50 ms after the last message */
    e.u.ws_control.opcode = WST_WS_CLOSE;
    e.u.ws_control.code = 1000;
    report_event(r, &e);
    e = at(WST_EV_WS_CONTROL, 31, WST_DIR_S2C, 3900000);
    e.u.ws_control.opcode = WST_WS_CLOSE;
    e.u.ws_control.code = 1000;
    report_event(r, &e);
    e = at(WST_EV_TCP_CLOSE, 32, WST_DIR_NONE, 4003000);
    e.u.close.how = WST_CLOSE_FIN;
    e.u.close.history = "ShADadFf";
    report_event(r, &e);

    outbuf_init(ob, -1);
    report_put_summary(r, ob);
    ob->buf[ob->len] = '\0';
    ck_assert_ptr_nonnull(strstr(ob->buf, "\n        upgrade 3.000 ms, http 4.000/7.000/10.000 "
                                          "ms, rtt 1.000/2.500/10.000 ms,\n        1.50/0.50 "
                                          "msg/s 150/25 B/s, close 50.000 ms after the last "
                                          "message -- ok\n"));
    outbuf_init(ob, -1);
    report_put_total(r, ob);
    ob->buf[ob->len] = '\0';
    ck_assert_str_eq(ob->buf, "  connections            1 ok, 0 BAD\n");
    struct wst_event end = ev_of(WST_EV_CAPTURE_END, 0, 40, WST_DIR_NONE);
    outbuf_init(ob, -1);
    report_put_json(r, ob, &end);
    ob->buf[ob->len] = '\0';
    ck_assert_ptr_nonnull(strstr(ob->buf,
        "\"bad\":[],\"community_id\":null,\"upgrade_ms\":3.000,\"http_min_ms\":4.000,"
        "\"http_median_ms\":7.000,"
        "\"http_max_ms\":10.000,\"rtt_min_ms\":1.000,\"rtt_median_ms\":2.500,"
        "\"rtt_max_ms\":10.000,\"rtt_pairs\":4,\"msg_rate_c2s\":1.50,\"msg_rate_s2c\":0.50,"
        "\"byte_rate_c2s\":150.00,\"byte_rate_s2c\":25.00,\"close_after_ms\":50.000}\n"));
    free(ob);
}
END_TEST

START_TEST(test_latency_median_bounded)
{
    struct outbuf *ob = malloc(sizeof *ob);
    struct wst_event e = at(WST_EV_WS_OPEN, 1, WST_DIR_NONE, 0);
    report_event(r, &e);
    /* 64 round trips of 1 ms, then 100 of 9 ms: the median is over the first 64 */
    for (int i = 0; i < 164; i++) {
        e = at(WST_EV_WS_CONTROL, 2 + (uint64_t)i, WST_DIR_S2C, 1000 + i);
        e.u.ws_control.opcode = WST_WS_PONG;
        e.u.ws_control.rtt_us = i < 64 ? 1000 : 9000;
        report_event(r, &e);
    }
    struct wst_event end = ev_of(WST_EV_CAPTURE_END, 0, 400, WST_DIR_NONE);
    outbuf_init(ob, -1);
    report_put_json(r, ob, &end);
    ob->buf[ob->len] = '\0';
    ck_assert_ptr_nonnull(strstr(ob->buf, "\"rtt_min_ms\":1.000,\"rtt_median_ms\":1.000,"
                                          "\"rtt_max_ms\":9.000,\"rtt_pairs\":164,"));
    /* not closed: no rates without an end, no close time */
    ck_assert_ptr_nonnull(strstr(ob->buf, "\"msg_rate_c2s\":null,"));
    ck_assert_ptr_nonnull(strstr(ob->buf, "\"close_after_ms\":null}"));
    free(ob);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rules_parse);
    tcase_add_test(tc, test_counts_and_thresholds);
    tcase_add_test(tc, test_close_codes);
    tcase_add_test(tc, test_summary_rows);
    tcase_add_test(tc, test_summary_json);
    tcase_add_test(tc, test_latency_rates);
    tcase_add_test(tc, test_latency_median_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(report_suite());
}
