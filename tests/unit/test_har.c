/* test_har.c - the --har archive: entries, URLs, WebSocket messages, copies of event bytes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "har.h"
#include "outbuf.h"
#include "util.h"

static struct wst_endpoint cli = {4, {10, 0, 0, 1}, 40000};
static struct wst_endpoint srv = {4, {10, 0, 0, 2}, 8080};

static struct wst_str S(const char *s)
{
    struct wst_str r = {(const uint8_t *)s, strlen(s)};
    return r;
}

static struct wst_event ev_of(enum wst_ev_type t, uint64_t conn, uint64_t frame, enum wst_dir d)
{
    struct wst_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = t;
    ev.conn = conn;
    ev.frame = frame;
    ev.dir = d;
    ev.ts_us = 1700000000000000LL + (int64_t)frame * 1000;
    ev.client = &cli;
    ev.server = &srv;
    return ev;
}

static void feed_req(struct har *h, uint64_t conn, uint64_t frame, uint64_t txn, const char *target,
                     const struct wst_header *hd, size_t n, unsigned flags)
{
    struct wst_event ev = ev_of(WST_EV_HTTP_REQUEST, conn, frame, WST_DIR_C2S);
    ev.u.http.method = S("GET");
    ev.u.http.target = S(target);
    ev.u.http.vmajor = 1;
    ev.u.http.vminor = 1;
    ev.u.http.headers = hd;
    ev.u.http.nheaders = n;
    ev.u.http.hdr_bytes = 100;
    ev.u.http.txn = txn;
    ev.u.http.flags = flags;
    har_event(h, &ev);
}

static void feed_resp(struct har *h, uint64_t conn, uint64_t frame, uint64_t txn, int status,
                      const struct wst_header *hd, size_t n)
{
    struct wst_event ev = ev_of(WST_EV_HTTP_RESPONSE, conn, frame, WST_DIR_S2C);
    ev.u.http.status = status;
    ev.u.http.reason = S(status == 101 ? "Switching Protocols" : "OK");
    ev.u.http.vmajor = 1;
    ev.u.http.vminor = 1;
    ev.u.http.headers = hd;
    ev.u.http.nheaders = n;
    ev.u.http.hdr_bytes = 80;
    ev.u.http.txn = txn;
    har_event(h, &ev);
}

static void feed_msg(struct har *h, uint64_t conn, uint64_t frame, enum wst_dir d, uint8_t op,
                     const void *p, size_t len, unsigned flags)
{
    struct wst_event ev = ev_of(WST_EV_WS_MESSAGE, conn, frame, d);
    ev.u.ws_message.opcode = op;
    ev.u.ws_message.flags = flags;
    ev.u.ws_message.data.p = p;
    ev.u.ws_message.data.len = len;
    ev.u.ws_message.len = len;
    har_event(h, &ev);
}

/* The archive as a NUL-terminated string (it stays in the outbuf: fd -1 is never written). */
static const char *render(struct har *h, struct outbuf *ob)
{
    outbuf_init(ob, -1);
    har_write(h, ob);
    ck_assert(!outbuf_failed(ob));
    ck_assert_uint_lt(ob->len, sizeof ob->buf);
    ob->buf[ob->len] = '\0';
    return ob->buf;
}

static struct outbuf obuf;

START_TEST(test_websocket_entry)
{
    struct har *h = har_new();
    char host[] = "example.com";
    struct wst_header rq[] = {{S("Host"), {(const uint8_t *)host, sizeof host - 1}},
                              {S("Upgrade"), S("websocket")}};
    struct wst_header rs[] = {{S("Upgrade"), S("websocket")}};
    feed_req(h, 1, 4, 1, "/chat?a=1&b", rq, 2, 0);
    feed_resp(h, 1, 6, 1, 101, rs, 1);
    struct wst_event open = ev_of(WST_EV_WS_OPEN, 1, 6, WST_DIR_S2C);
    har_event(h, &open);
    char text[] = "hi \"you\"";
    const uint8_t bin[] = {0, 1, 2, 0xff};
    feed_msg(h, 1, 8, WST_DIR_C2S, WST_WS_TEXT, text, strlen(text), 0);
    feed_msg(h, 1, 9, WST_DIR_S2C, WST_WS_BINARY, bin, sizeof bin, 0);
    feed_msg(h, 1, 10, WST_DIR_S2C, WST_WS_TEXT, "", 0, WST_WSMSG_NODATA);
    /* the event's bytes are copied: changing them afterwards changes nothing */
    memcpy(host, "EXAMPLE.COM", sizeof host);
    memcpy(text, "XXXXXXXX", 8);
    const char *o = render(h, &obuf);
    ck_assert_ptr_nonnull(strstr(o, "\"url\":\"ws://example.com/chat?a=1&b\""));
    ck_assert_ptr_nonnull(strstr(o, "\"queryString\":[{\"name\":\"a\",\"value\":\"1\"},"
                                    "{\"name\":\"b\",\"value\":\"\"}]"));
    ck_assert_ptr_nonnull(strstr(o, "\"status\":101,\"statusText\":\"Switching Protocols\""));
    ck_assert_ptr_nonnull(strstr(o, "\"startedDateTime\":\"2023-11-14T22:13:20.004000Z\""));
    ck_assert_ptr_nonnull(strstr(o, "\"wait\":2.000"));
    ck_assert_ptr_nonnull(strstr(o, "{\"type\":\"send\",\"time\":1700000000.008000,\"opcode\":1,"
                                    "\"data\":\"hi \\\"you\\\"\"}"));
    ck_assert_ptr_nonnull(strstr(o, "{\"type\":\"receive\",\"time\":1700000000.009000,"
                                    "\"opcode\":2,\"data\":\"AAEC/w==\"}"));
    ck_assert_ptr_nonnull(strstr(o, "\"messages_nodata\":1"));
    ck_assert_ptr_nonnull(strstr(o, "\"serverIPAddress\":\"10.0.0.2\",\"connection\":\"1\""));
    ck_assert_ptr_nonnull(strstr(o, "\"_resourceType\":\"websocket\""));
    har_free(h);
}
END_TEST

START_TEST(test_url_and_fallbacks)
{
    struct har *h = har_new();
    /* no Host header: the server address; bytes a URL may not hold as %XX */
    feed_req(h, 1, 1, 1, "/a b/\xc3\xa9?q=%zz&r=%41", NULL, 0, 0);
    const char *o = render(h, &obuf);
    ck_assert_ptr_nonnull(strstr(o, "\"url\":\"http://10.0.0.2:8080/a%20b/%C3%A9?q=%25zz&r=%41\""));
    /* no response: status 0, wait -1 */
    ck_assert_ptr_nonnull(strstr(o, "\"response\":{\"status\":0,"));
    ck_assert_ptr_nonnull(strstr(o, "\"wait\":-1"));
    ck_assert_ptr_nonnull(strstr(o, "\"bodySize\":0}"));
    ck_assert_ptr_null(strstr(o, "_webSocketMessages"));
    har_free(h);
}
END_TEST

START_TEST(test_pipelined_and_partial)
{
    struct har *h = har_new();
    struct wst_header cl[] = {{S("Content-Length"), S("12")}, {S("Content-Type"), S("text/plain")}};
    feed_req(h, 1, 1, 1, "/one", NULL, 0, 0);
    feed_req(h, 1, 2, 2, "/two", NULL, 0, 0);
    feed_resp(h, 1, 3, 1, 200, cl, 2);
    feed_resp(h, 1, 4, 2, 200, NULL, 0);
    feed_resp(h, 2, 5, 1, 200, NULL, 0); /* a response without a request: no entry */
    /* HEAD: the Content-Length describes a body that is not sent */
    struct wst_event head = ev_of(WST_EV_HTTP_REQUEST, 4, 7, WST_DIR_C2S);
    head.u.http.method = S("HEAD");
    head.u.http.target = S("/h");
    head.u.http.txn = 1;
    har_event(h, &head);
    feed_resp(h, 4, 8, 1, 200, cl, 2);
    feed_req(h, 3, 6, 1, "/cut", NULL, 0, WST_HTTP_PARTIAL);
    const char *o = render(h, &obuf);
    const char *one = strstr(o, "http://10.0.0.2:8080/one");
    const char *two = strstr(o, "http://10.0.0.2:8080/two");
    ck_assert_ptr_nonnull(one);
    ck_assert_ptr_nonnull(two);
    ck_assert(one < two);
    ck_assert_ptr_nonnull(strstr(one, "\"content\":{\"size\":12,\"mimeType\":\"text/plain\"}"));
    ck_assert_ptr_nonnull(strstr(two, "\"response_frame\":4"));
    ck_assert_ptr_null(strstr(o, "\"conn\":2,"));
    const char *cut = strstr(o, "/cut");
    ck_assert_ptr_nonnull(cut);
    ck_assert_ptr_nonnull(strstr(cut, "\"headersSize\":-1,\"bodySize\":-1"));
    ck_assert_ptr_nonnull(strstr(cut, "\"partial\":true"));
    const char *hd = strstr(o, "/h\"");
    ck_assert_ptr_nonnull(hd);
    ck_assert_ptr_nonnull(strstr(hd, "\"content\":{\"size\":0,\"mimeType\":\"text/plain\"}"));
    har_free(h);
}
END_TEST

/* HAR_MAX_KEPT: past the cap messages and requests are left out, counted, and said so. */
START_TEST(test_memory_cap)
{
    struct har *h = har_new();
    size_t big = 1 << 20;
    uint8_t *payload = calloc(1, big);
    ck_assert_ptr_nonnull(payload);
    feed_req(h, 1, 1, 1, "/", NULL, 0, 0);
    feed_resp(h, 1, 2, 1, 101, NULL, 0);
    struct wst_event open = ev_of(WST_EV_WS_OPEN, 1, 2, WST_DIR_S2C);
    har_event(h, &open);
    uint64_t n = (HAR_MAX_KEPT >> 20) + 2;
    for (uint64_t i = 0; i < n; i++)
        feed_msg(h, 1, 3 + i, WST_DIR_S2C, WST_WS_BINARY, payload, big, 0);
    feed_req(h, 2, 100, 1, "/late", NULL, 0, 0);
    free(payload);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    struct outbuf *ob = malloc(sizeof *ob);
    ck_assert_ptr_nonnull(ob);
    outbuf_init(ob, fileno(f));
    har_write(h, ob);
    ck_assert_int_eq(outbuf_flush(ob), 0);
    free(ob);
    /* the head of the file holds the log's comment and the entry's counts (its _wstap object
     * comes before its messages); the tail shows no later entry */
    char head[2048], tail[512];
    rewind(f);
    size_t hn = fread(head, 1, sizeof head - 1, f);
    head[hn] = '\0';
    ck_assert_int_eq(fseek(f, -(long)(sizeof tail - 1), SEEK_END), 0);
    size_t tn = fread(tail, 1, sizeof tail - 1, f);
    tail[tn] = '\0';
    ck_assert_ptr_nonnull(strstr(head, "\"comment\":\"wstap: 1 requests and 3 WebSocket messages "
                                       "left out (the archive keeps at most 64 MiB"));
    ck_assert_ptr_nonnull(strstr(head, "\"messages_dropped\":3"));
    ck_assert_ptr_null(strstr(tail, "/late"));
    fclose(f);
    har_free(h);
}
END_TEST

static Suite *har_suite(void)
{
    Suite *s = suite_create("har");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_websocket_entry);
    tcase_add_test(tc, test_url_and_fallbacks);
    tcase_add_test(tc, test_pipelined_and_partial);
    tcase_add_test(tc, test_memory_cap);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(har_suite());
}
