/* test_app.c - the application layers through the analyzer API, on hand-built TCP streams:
 * HTTP heads across segments, pipelining, bodies, the upgrade and each failure diagnosis. */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"
#include "pktbuild.h"
#include "util.h"

#define CLI "10.0.0.1"
#define SRV "10.0.0.2"

/* A connection between CLI:40000 and SRV:port with running sequence numbers. */
struct tconn {
    struct wst_analyzer *a;
    struct evlog *log;
    int64_t t;
    uint32_t cseq, sseq;
    uint16_t port;
    /* copies of strings from events (the pointers die with the callback) */
};

static char last_detail[1024];
static char last_kind[64];
static char last_target[256];
static int last_nseg;

static void rec_fn(const struct wst_event *ev, void *user)
{
    evlog_fn(ev, user);
    if (ev->type == WST_EV_WS_FAIL) {
        snprintf(last_detail, sizeof last_detail, "%s", ev->u.ws_fail.detail);
    } else if (ev->type == WST_EV_WS_ERROR) {
        snprintf(last_kind, sizeof last_kind, "%s", ev->u.ws_error.kind);
        snprintf(last_detail, sizeof last_detail, "%s", ev->u.ws_error.detail);
    } else if (ev->type == WST_EV_HTTP_ERROR) {
        snprintf(last_kind, sizeof last_kind, "%s", ev->u.http_error.kind);
    } else if (ev->type == WST_EV_HTTP_REQUEST) {
        snprintf(last_target, sizeof last_target, "%.*s", (int)ev->u.http.target.len,
                 (const char *)ev->u.http.target.p);
        last_nseg = (int)ev->u.http.nsegments;
    }
}

static void tc_init(struct tconn *t, uint16_t port)
{
    struct wst_limits lim;
    wst_limits_default(&lim);
    memset(t, 0, sizeof *t);
    t->log = calloc(1, sizeof *t->log);
    t->a = wst_new(&lim, rec_fn, t->log);
    wst_set_link(t->a, WST_LINK_ETHERNET);
    t->t = 1000000;
    t->cseq = 100;
    t->sseq = 900;
    t->port = port;
    last_detail[0] = last_kind[0] = last_target[0] = '\0';
}

static void tc_free(struct tconn *t)
{
    wst_free(t->a);
    free(t->log);
}

static void seg(struct tconn *t, bool from_client, uint8_t flags, const void *data, size_t n,
                int64_t dt)
{
    uint8_t b[70000];
    struct seg s = {4,
                    from_client ? CLI : SRV,
                    from_client ? SRV : CLI,
                    from_client ? 40000 : t->port,
                    from_client ? t->port : 40000,
                    from_client ? t->cseq : t->sseq,
                    from_client ? t->sseq : t->cseq,
                    flags,
                    0,
                    NULL,
                    0,
                    data,
                    n};
    size_t len = pb_eth(b, &s);
    t->t += dt;
    struct wst_pkthdr h = {t->t, (uint32_t)len, (uint32_t)len};
    wst_packet(t->a, &h, b);
    uint32_t adv = (uint32_t)n + ((flags & (TCPF_SYN | TCPF_FIN)) ? 1 : 0);
    if (from_client)
        t->cseq += adv;
    else
        t->sseq += adv;
}

static void open_conn(struct tconn *t)
{
    seg(t, true, TCPF_SYN, NULL, 0, 0);
    seg(t, false, TCPF_SYN | TCPF_ACK, NULL, 0, 100);
    seg(t, true, TCPF_ACK, NULL, 0, 100);
}

static void send_str(struct tconn *t, bool from_client, const char *s)
{
    seg(t, from_client, TCPF_ACK | TCPF_PSH, s, strlen(s), 100);
}

static void close_by(struct tconn *t, bool client_first)
{
    seg(t, client_first, TCPF_ACK | TCPF_FIN, NULL, 0, 1000);
    seg(t, !client_first, TCPF_ACK | TCPF_FIN, NULL, 0, 100);
    seg(t, client_first, TCPF_ACK, NULL, 0, 100);
}

static const char *WS_REQ = "GET /chat HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\nOrigin: http://example.test\r\n\r\n";

START_TEST(test_request_across_segments)
{
    struct tconn t;
    tc_init(&t, 8080); /* not port 80: HTTP is recognized by content */
    open_conn(&t);
    send_str(&t, true, "GET /a/very/long/pa");
    send_str(&t, true, "th?q=1 HTTP/1.1\r\nHost: x\r\nAcc");
    send_str(&t, true, "ept: */*\r\n\r\n");
    const struct wst_event *e = evlog_find(t.log, WST_EV_HTTP_REQUEST, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(last_target, "/a/very/long/path?q=1");
    ck_assert_int_eq(last_nseg, 3);
    ck_assert_uint_eq(e->u.http.nheaders, 2);
    ck_assert_uint_eq(e->frame, 6);
    ck_assert_uint_eq(e->u.http.hdr_bytes, 60);
    tc_free(&t);
}
END_TEST

START_TEST(test_pipelined_and_bodies)
{
    struct tconn t;
    tc_init(&t, 80);
    open_conn(&t);
    /* two requests in one segment, the first with a body */
    send_str(&t, true, "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /g HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_REQUEST), 2);
    /* a chunked response split mid-chunk, then a Content-Length one */
    send_str(&t, false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    send_str(&t, false, "lo\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!");
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_RESPONSE), 2);
    ck_assert_int_eq(evlog_find(t.log, WST_EV_HTTP_RESPONSE, 1)->u.http.status, 404);
    ck_assert_uint_eq(evlog_find(t.log, WST_EV_HTTP_RESPONSE, 1)->u.http.txn, 2);
    /* a HEAD answer has no body even with a Content-Length */
    send_str(&t, true, "HEAD /h HTTP/1.1\r\n\r\n");
    send_str(&t, false, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    send_str(&t, true, "GET /after HTTP/1.1\r\n\r\n");
    send_str(&t, false, "HTTP/1.1 204 No Content\r\n\r\n");
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_RESPONSE), 4);
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_ERROR), 0);
    tc_free(&t);
}
END_TEST

START_TEST(test_upgrade_ok)
{
    struct tconn t;
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, WS_REQ);
    send_str(&t, false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n\r\n");
    const struct wst_event *o = evlog_find(t.log, WST_EV_WS_OPEN, 0);
    ck_assert_ptr_nonnull(o);
    ck_assert(o->u.ws_open.accept_ok);
    ck_assert_int_eq(evlog_count(t.log, WST_EV_WS_FAIL), 0);
    /* the server accepted an extension the client never offered: flagged */
    ck_assert_int_eq(evlog_count(t.log, WST_EV_WS_ERROR), 1);
    ck_assert_str_eq(last_kind, "bad_extension");
    tc_free(&t);
}
END_TEST

START_TEST(test_upgrade_wrong_accept)
{
    struct tconn t;
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, WS_REQ);
    send_str(&t, false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n");
    const struct wst_event *o = evlog_find(t.log, WST_EV_WS_OPEN, 0);
    ck_assert(!o->u.ws_open.accept_ok);
    const struct wst_event *f = evlog_find(t.log, WST_EV_WS_FAIL, 0);
    ck_assert_int_eq(f->u.ws_fail.reason, WST_WSFAIL_ACCEPT_MISMATCH);
    ck_assert_ptr_nonnull(strstr(last_detail, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    /* a 101 with a wrong accept is no valid upgrade: not a WebSocket connection */
    wst_finish(t.a, NULL);
    ck_assert_uint_eq(evlog_find(t.log, WST_EV_CAPTURE_END, 0)->u.end.ws_conns, 0);
    tc_free(&t);

    /* the right accept is counted */
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, WS_REQ);
    send_str(&t, false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    ck_assert(evlog_find(t.log, WST_EV_WS_OPEN, 0)->u.ws_open.accept_ok);
    wst_finish(t.a, NULL);
    ck_assert_uint_eq(evlog_find(t.log, WST_EV_CAPTURE_END, 0)->u.end.ws_conns, 1);
    tc_free(&t);
}
END_TEST

/* The naive server: reads part of a long request, closes without a word. */
START_TEST(test_no_response_closed)
{
    struct tconn t;
    tc_init(&t, 9000);
    open_conn(&t);
    char big[3000];
    snprintf(big, sizeof big, "GET /chat HTTP/1.1\r\nHost: h\r\nCookie: %0*d\r\n", 2000, 7);
    send_str(&t, true, big);
    send_str(&t, true, WS_REQ + strlen("GET /chat HTTP/1.1\r\n"));
    close_by(&t, false);
    const struct wst_event *f = evlog_find(t.log, WST_EV_WS_FAIL, 0);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->u.ws_fail.reason, WST_WSFAIL_NO_RESPONSE_CLOSED);
    ck_assert_int_eq(f->u.ws_fail.status, -1);
    ck_assert_ptr_nonnull(strstr(last_detail, "closed the connection"));
    ck_assert_ptr_nonnull(strstr(last_detail, "2 segments"));
    ck_assert_ptr_nonnull(strstr(last_detail, "512"));
    /* the failure comes before the connection's close */
    int fi = -1, ci = -1;
    for (int i = 0; i < t.log->n; i++) {
        if (t.log->ev[i].type == WST_EV_WS_FAIL)
            fi = i;
        if (t.log->ev[i].type == WST_EV_TCP_CLOSE)
            ci = i;
    }
    ck_assert_int_lt(fi, ci);
    tc_free(&t);
}
END_TEST

START_TEST(test_no_response_reset_and_eof)
{
    struct tconn t;
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, WS_REQ);
    seg(&t, false, TCPF_RST | TCPF_ACK, NULL, 0, 5000);
    wst_finish(t.a, NULL);
    ck_assert_int_eq(evlog_find(t.log, WST_EV_WS_FAIL, 0)->u.ws_fail.reason,
                     WST_WSFAIL_NO_RESPONSE_RESET);
    tc_free(&t);

    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, WS_REQ);
    wst_finish(t.a, NULL);
    ck_assert_int_eq(evlog_find(t.log, WST_EV_WS_FAIL, 0)->u.ws_fail.reason,
                     WST_WSFAIL_NO_RESPONSE_EOF);
    tc_free(&t);
}
END_TEST

/* The seed case in two writes: the server reads the first (no key yet) and closes (FIN);
 * its stack resets the second write's segments; the head's end arrives after the RST. */
START_TEST(test_head_cut_by_fin_then_rst)
{
    static const char part1[] = "GET /chat HTTP/1.1\r\nHost: example.test\r\n"
                                "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    static const char part2a[] = "Cookie: a=0123456789012345678901234567890123456789\r\n";
    static const char part2b[] = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n";
    struct tconn t;
    char want[160];
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, part1);
    seg(&t, false, TCPF_ACK | TCPF_FIN, NULL, 0, 1000);
    seg(&t, true, TCPF_ACK, NULL, 0, 100);
    send_str(&t, true, part2a);
    seg(&t, false, TCPF_RST, NULL, 0, 10);
    send_str(&t, true, part2b); /* in flight when the RST left: in the window */
    seg(&t, false, TCPF_RST, NULL, 0, 10);
    ck_assert_int_eq(evlog_count(t.log, WST_EV_WS_FAIL), 0); /* not before the linger */
    wst_finish(t.a, NULL);
    const struct wst_event *rq = evlog_find(t.log, WST_EV_HTTP_REQUEST, 0);
    ck_assert_ptr_nonnull(rq);
    ck_assert_uint_eq(rq->u.http.flags & WST_HTTP_PARTIAL, 0);
    ck_assert_int_eq(last_nseg, 3);
    const struct wst_event *f = evlog_find(t.log, WST_EV_WS_FAIL, 0);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->u.ws_fail.reason, WST_WSFAIL_NO_RESPONSE_CLOSED);
    ck_assert_ptr_nonnull(strstr(last_detail, "The server closed the connection (FIN at "));
    snprintf(want, sizeof want, "after %zu of the request's bytes had arrived, before the head "
             "was complete (%zu bytes by its end", strlen(part1),
             strlen(part1) + strlen(part2a) + strlen(part2b));
    ck_assert_ptr_nonnull(strstr(last_detail, want));
    snprintf(want, sizeof want, "then reset the connection (RST at ");
    ck_assert_ptr_nonnull(strstr(last_detail, want));
    snprintf(want, sizeof want, "(%zu bytes after its FIN)", strlen(part2a) + strlen(part2b));
    ck_assert_ptr_nonnull(strstr(last_detail, want));
    /* in order: FIN before RST in the sentence */
    ck_assert(strstr(last_detail, "FIN at") < strstr(last_detail, "RST at"));
    const struct wst_event *cl = evlog_find(t.log, WST_EV_TCP_CLOSE, 0);
    ck_assert_int_eq(cl->u.close.how, WST_CLOSE_RST);
    ck_assert_uint_eq(cl->u.close.anomalies[WST_AN_DATA_AFTER_RST], 1);
    ck_assert_uint_eq(cl->u.close.bytes_c2s, strlen(part1) + strlen(part2a) + strlen(part2b));
    tc_free(&t);
}
END_TEST

/* A head whose end never arrived: reported from its complete lines, flagged partial; the
 * upgrade among them fails with a sentence that says the end was never captured. */
START_TEST(test_partial_request)
{
    static const char part1[] = "GET /chat HTTP/1.1\r\nHost: example.test\r\n"
                                "Upgrade: websocket\r\nConnection: Upg";
    struct tconn t;
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, part1);
    seg(&t, false, TCPF_ACK | TCPF_FIN, NULL, 0, 1000);
    wst_finish(t.a, NULL);
    const struct wst_event *rq = evlog_find(t.log, WST_EV_HTTP_REQUEST, 0);
    ck_assert_ptr_nonnull(rq);
    ck_assert_uint_eq(rq->u.http.flags & WST_HTTP_PARTIAL, WST_HTTP_PARTIAL);
    ck_assert_uint_eq(rq->u.http.hdr_bytes, strlen(part1));
    ck_assert_uint_eq(rq->u.http.nheaders, 2); /* Host, Upgrade: the cut line is not one */
    ck_assert_str_eq(last_target, "/chat");
    const struct wst_event *f = evlog_find(t.log, WST_EV_WS_FAIL, 0);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->u.ws_fail.reason, WST_WSFAIL_NO_RESPONSE_CLOSED);
    ck_assert_ptr_nonnull(strstr(last_detail, "its end is not in the capture"));
    ck_assert_ptr_nonnull(strstr(last_detail, "FIN at"));
    tc_free(&t);

    /* not even a request line: nothing is made up */
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, "GET /chat HT");
    seg(&t, false, TCPF_ACK | TCPF_FIN, NULL, 0, 1000);
    wst_finish(t.a, NULL);
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_REQUEST), 0);
    ck_assert_int_eq(evlog_count(t.log, WST_EV_WS_FAIL), 0);
    tc_free(&t);

    /* a plain GET cut short is reported partial too, and makes no ws.fail */
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, "GET /x HTTP/1.1\r\nHost: h\r\n");
    close_by(&t, false);
    wst_finish(t.a, NULL);
    rq = evlog_find(t.log, WST_EV_HTTP_REQUEST, 0);
    ck_assert_ptr_nonnull(rq);
    ck_assert_uint_eq(rq->u.http.flags & WST_HTTP_PARTIAL, WST_HTTP_PARTIAL);
    ck_assert_int_eq(evlog_count(t.log, WST_EV_WS_FAIL), 0);
    tc_free(&t);
}
END_TEST

START_TEST(test_status_with_body)
{
    struct tconn t;
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, WS_REQ);
    send_str(&t, false, "HTTP/1.1 400 Bad Request\r\nContent-Length: 14\r\n\r\nmissing ");
    ck_assert_int_eq(evlog_count(t.log, WST_EV_WS_FAIL), 0); /* waits for the body */
    send_str(&t, false, "token\n");
    const struct wst_event *f = evlog_find(t.log, WST_EV_WS_FAIL, 0);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->u.ws_fail.reason, WST_WSFAIL_STATUS);
    ck_assert_int_eq(f->u.ws_fail.status, 400);
    ck_assert_ptr_nonnull(strstr(last_detail, "400 Bad Request"));
    ck_assert_ptr_nonnull(strstr(last_detail, "missing token"));
    /* the connection goes on as HTTP */
    send_str(&t, true, "GET /next HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_REQUEST), 2);
    tc_free(&t);
}
END_TEST

START_TEST(test_version_and_headers_lost)
{
    struct tconn t;
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
    send_str(&t, false, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                        "Content-Length: 0\r\n\r\n");
    const struct wst_event *f = evlog_find(t.log, WST_EV_WS_FAIL, 0);
    ck_assert_int_eq(f->u.ws_fail.reason, WST_WSFAIL_BAD_VERSION);
    ck_assert_ptr_nonnull(strstr(last_detail, "supports 13"));
    tc_free(&t);

    /* behind a proxy that dropped Upgrade and Connection */
    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, "GET / HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n");
    send_str(&t, false, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    f = evlog_find(t.log, WST_EV_WS_FAIL, 0);
    ck_assert_int_eq(f->u.ws_fail.reason, WST_WSFAIL_BAD_UPGRADE_HEADERS);
    ck_assert_ptr_nonnull(strstr(last_detail, "proxy"));
    tc_free(&t);

    tc_init(&t, 9000);
    open_conn(&t);
    send_str(&t, true, "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n");
    send_str(&t, false, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    ck_assert_int_eq(evlog_find(t.log, WST_EV_WS_FAIL, 0)->u.ws_fail.reason,
                     WST_WSFAIL_MISSING_KEY);
    ck_assert_ptr_nonnull(strstr(last_detail, "has no Sec-WebSocket-Key"));
    tc_free(&t);

    /* a key that is there but not base64 of 16 bytes: bad_key, not missing_key */
    static const char *const bad_keys[] = {"not-base64", "dGhlIHNhbXBsZSBub25jZQ=",
                                           "dGhlIHNhbXBsZSBub25jZ===",
                                           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        char req[400];
        snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n", bad_keys[i]);
        tc_init(&t, 9000);
        open_conn(&t);
        send_str(&t, true, req);
        send_str(&t, false, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        const struct wst_event *bk = evlog_find(t.log, WST_EV_WS_FAIL, 0);
        ck_assert_ptr_nonnull(bk);
        ck_assert_int_eq(bk->u.ws_fail.reason, WST_WSFAIL_BAD_KEY);
        ck_assert_int_eq(bk->u.ws_fail.status, 400);
        ck_assert_ptr_nonnull(strstr(last_detail, "not base64 of 16 bytes"));
        tc_free(&t);
    }
}
END_TEST

START_TEST(test_not_http)
{
    struct tconn t;
    tc_init(&t, 443);
    open_conn(&t);
    static const uint8_t binary[] = {0x00, 0x01, 0xff, 0x10, 0x20, 0x00, 0x00, 0x80, 0x17, 0x03,
                                     0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};
    seg(&t, true, TCPF_ACK | TCPF_PSH, binary, sizeof binary, 100);
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_REQUEST), 0);
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_ERROR), 0);
    send_str(&t, true, "GET / HTTP/1.1\r\n\r\n"); /* too late: the stream was not HTTP */
    ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_REQUEST), 0);
    tc_free(&t);
}
END_TEST

/* Every split of the upgrade request and response gives the same events. */
START_TEST(test_every_split)
{
    const char *rsp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    size_t n = strlen(WS_REQ);
    for (size_t cut = 1; cut < n; cut += 7) {
        struct tconn t;
        tc_init(&t, 9000);
        open_conn(&t);
        seg(&t, true, TCPF_ACK, WS_REQ, cut, 10);
        seg(&t, true, TCPF_ACK | TCPF_PSH, WS_REQ + cut, n - cut, 10);
        send_str(&t, false, rsp);
        ck_assert_int_eq(evlog_count(t.log, WST_EV_HTTP_REQUEST), 1);
        ck_assert_int_eq(last_nseg, 2);
        ck_assert_int_eq(evlog_count(t.log, WST_EV_WS_OPEN), 1);
        ck_assert(evlog_find(t.log, WST_EV_WS_OPEN, 0)->u.ws_open.accept_ok);
        tc_free(&t);
    }
}
END_TEST

static Suite *app_suite(void)
{
    Suite *s = suite_create("app");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_request_across_segments);
    tcase_add_test(tc, test_pipelined_and_bodies);
    tcase_add_test(tc, test_upgrade_ok);
    tcase_add_test(tc, test_head_cut_by_fin_then_rst);
    tcase_add_test(tc, test_partial_request);
    tcase_add_test(tc, test_upgrade_wrong_accept);
    tcase_add_test(tc, test_no_response_closed);
    tcase_add_test(tc, test_no_response_reset_and_eof);
    tcase_add_test(tc, test_status_with_body);
    tcase_add_test(tc, test_version_and_headers_lost);
    tcase_add_test(tc, test_not_http);
    tcase_add_test(tc, test_every_split);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(app_suite());
}
