/* test_evq.c - the formatting thread's queue: deep copies (strings, HTTP's header and
 * segment arrays), order across batches, the types and sizes it refuses, a failing formatter, and draining. */
#include <stdint.h>

#include "evq.h"
#include "util.h"

/* What the formatter saw, flattened: checked on the test's thread after evq_drain. */
struct seen {
    uint64_t n;
    uint64_t next_frame; /* frames must arrive as 1, 2, 3, ... */
    bool order_ok;
    bool bytes_ok;
    uint64_t fail_at; /* return false at this frame; 0: never */
    uint64_t formatted_after_fail;
    bool failed;
    char last[512]; /* a description of the last event */
};

/* The payload of event number f: bytes derived from f, so the formatter can check them. */
static uint8_t pattern(uint64_t f, size_t i)
{
    return (uint8_t)(f * 131 + i * 7);
}

static bool fmt(void *ctx, const struct wst_event *ev)
{
    struct seen *s = ctx;
    if (s->failed)
        s->formatted_after_fail++;
    s->n++;
    if (ev->frame != s->next_frame)
        s->order_ok = false;
    s->next_frame = ev->frame + 1;
    if (ev->type == WST_EV_WS_MESSAGE) {
        for (size_t i = 0; i < ev->u.ws_message.data.len; i++)
            if (ev->u.ws_message.data.p[i] != pattern(ev->frame, i))
                s->bytes_ok = false;
    }
    switch (ev->type) {
    case WST_EV_TCP_CLOSE:
        snprintf(s->last, sizeof s->last, "close %s c%u:%u", ev->u.close.history,
                 ev->client ? ev->client->port : 0, ev->server ? ev->server->port : 0);
        break;
    case WST_EV_WS_ERROR:
        snprintf(s->last, sizeof s->last, "error %s: %s", ev->u.ws_error.kind,
                 ev->u.ws_error.detail ? ev->u.ws_error.detail : "(null)");
        break;
    case WST_EV_WS_CONTROL:
        snprintf(s->last, sizeof s->last, "control %.*s|%.*s", (int)ev->u.ws_control.data.len,
                 (const char *)ev->u.ws_control.data.p, (int)ev->u.ws_control.reason.len,
                 (const char *)ev->u.ws_control.reason.p);
        break;
    case WST_EV_PACKET_ERROR:
        snprintf(s->last, sizeof s->last, "pkterr %s %s", ev->u.pkterr.layer,
                 ev->u.pkterr.detail);
        break;
    case WST_EV_HTTP_REQUEST: {
        const struct wst_ev_http *h = &ev->u.http;
        int n = snprintf(s->last, sizeof s->last, "http %.*s %.*s ", (int)h->method.len,
                         (const char *)h->method.p, (int)h->target.len, (const char *)h->target.p);
        for (size_t i = 0; i < h->nheaders; i++)
            n += snprintf(s->last + n, sizeof s->last - (size_t)n, "[%.*s: %.*s]",
                          (int)h->headers[i].name.len, (const char *)h->headers[i].name.p,
                          (int)h->headers[i].value.len, (const char *)h->headers[i].value.p);
        for (size_t i = 0; i < h->nsegments; i++)
            n += snprintf(s->last + n, sizeof s->last - (size_t)n, " %llu:%u",
                          (unsigned long long)h->segments[i].frame, h->segments[i].bytes);
        break;
    }
    case WST_EV_WS_OPEN:
        snprintf(s->last, sizeof s->last, "ws.open %.*s accept%s", (int)ev->u.ws_open.key.len,
                 (const char *)ev->u.ws_open.key.p, ev->u.ws_open.accept.p ? "" : "(null)");
        break;
    case WST_EV_WS_MESSAGE:
        snprintf(s->last, sizeof s->last, "message %zu %s", ev->u.ws_message.data.len,
                 ev->u.ws_message.data.p ? "data" : "null");
        break;
    default:
        snprintf(s->last, sizeof s->last, "type %d", (int)ev->type);
        break;
    }
    if (s->fail_at && ev->frame == s->fail_at) {
        s->failed = true;
        return false;
    }
    return true;
}

static struct seen seen;
static struct evq *q;

static void setup(void)
{
    memset(&seen, 0, sizeof seen);
    seen.next_frame = 1;
    seen.order_ok = true;
    seen.bytes_ok = true;
    q = evq_new(fmt, &seen);
    ck_assert_ptr_nonnull(q);
}

static void teardown(void)
{
    evq_free(q);
    q = NULL;
}

static struct wst_event event(enum wst_ev_type t, uint64_t frame)
{
    struct wst_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = t;
    ev.frame = frame;
    ev.conn = 1;
    return ev;
}

START_TEST(copies_are_deep)
{
    char hist[] = "ShADadFf";
    struct wst_endpoint c = {4, {10, 0, 0, 1}, 40000}, sv = {4, {10, 0, 0, 2}, 80};
    struct wst_event ev = event(WST_EV_TCP_CLOSE, 1);
    ev.client = &c;
    ev.server = &sv;
    ev.u.close.history = hist;
    ck_assert(evq_push(q, &ev));
    /* the callback's memory is reused at once: the queued copy must not see it */
    memset(hist, 'X', sizeof hist - 1);
    c.port = sv.port = 1;
    evq_drain(q);
    ck_assert_str_eq(seen.last, "close ShADadFf c40000:80");

    char detail[] = "a frame header says 2^63 bytes";
    struct wst_event er = event(WST_EV_WS_ERROR, 2);
    er.u.ws_error.kind = "bad_length";
    er.u.ws_error.detail = detail;
    ck_assert(evq_push(q, &er));
    detail[0] = 'Z';
    evq_drain(q);
    ck_assert_str_eq(seen.last, "error bad_length: a frame header says 2^63 bytes");

    uint8_t cdata[] = {0x03, 0xe8, 'b', 'y', 'e'};
    struct wst_event ct = event(WST_EV_WS_CONTROL, 3);
    ct.u.ws_control.opcode = WST_WS_CLOSE;
    ct.u.ws_control.data.p = cdata + 2; /* printable part, then the reason inside it */
    ct.u.ws_control.data.len = 3;
    ct.u.ws_control.reason.p = cdata + 3;
    ct.u.ws_control.reason.len = 2;
    ck_assert(evq_push(q, &ct));
    memset(cdata, '#', sizeof cdata);
    evq_drain(q);
    ck_assert_str_eq(seen.last, "control bye|ye");

    struct wst_event pe = event(WST_EV_PACKET_ERROR, 4);
    pe.u.pkterr.layer = "ipv4";
    pe.u.pkterr.detail = "header length below 20";
    ck_assert(evq_push(q, &pe));
    struct wst_event m = event(WST_EV_WS_MESSAGE, 5); /* NODATA: no bytes, NULL pointer */
    ck_assert(evq_push(q, &m));
    evq_drain(q);
    ck_assert_str_eq(seen.last, "message 0 null");
    ck_assert_uint_eq(seen.n, 5);
    ck_assert(seen.order_ok);
    ck_assert(!evq_failed(q));
}
END_TEST

/* HTTP: the header and segment arrays and every string behind them are copied. */
START_TEST(http_copies_arrays)
{
    char buf[] = "GET /chat Host example.com Upgrade websocket";
    struct wst_header hs[2] = {
        {{(const uint8_t *)buf + 10, 4}, {(const uint8_t *)buf + 15, 11}},
        {{(const uint8_t *)buf + 27, 7}, {(const uint8_t *)buf + 35, 9}},
    };
    struct wst_segment segs[3] = {{7, 100}, {8, 1448}, {9, 12}};
    struct wst_event ev = event(WST_EV_HTTP_REQUEST, 1);
    ev.u.http.method = (struct wst_str){(const uint8_t *)buf, 3};
    ev.u.http.target = (struct wst_str){(const uint8_t *)buf + 4, 5};
    ev.u.http.headers = hs;
    ev.u.http.nheaders = 2;
    ev.u.http.segments = segs;
    ev.u.http.nsegments = 3;
    ck_assert(evq_push(q, &ev));
    memset(buf, '.', sizeof buf - 1);
    memset(hs, 0, sizeof hs);
    memset(segs, 0, sizeof segs);
    evq_drain(q);
    ck_assert_str_eq(seen.last, "http GET /chat [Host: example.com][Upgrade: websocket] 7:100 8:1448 9:12");

    struct wst_event o = event(WST_EV_WS_OPEN, 2);
    char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    o.u.ws_open.key = (struct wst_str){(const uint8_t *)key, strlen(key)};
    ck_assert(evq_push(q, &o));
    key[0] = '?';
    evq_drain(q);
    ck_assert_str_eq(seen.last, "ws.open dGhlIHNhbXBsZSBub25jZQ== accept(null)");
}
END_TEST

START_TEST(refuses_rare_types_and_huge_payloads)
{
    struct wst_event ev = event(WST_EV_CAPTURE_END, 1);
    ck_assert(!evq_push(q, &ev));

    size_t big = EVQ_BATCH_SIZE;
    uint8_t *p = malloc(big);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < big; i++)
        p[i] = pattern(1, i);
    ev = event(WST_EV_WS_MESSAGE, 1);
    ev.u.ws_message.data.p = p;
    ev.u.ws_message.data.len = big; /* with the record header it cannot fit in a batch */
    ck_assert(!evq_push(q, &ev));
    ev.u.ws_message.data.len = big / 2;
    ck_assert(evq_push(q, &ev));
    evq_drain(q);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert(seen.bytes_ok);
    free(p);
}
END_TEST

/* Many events of mixed sizes: every batch boundary and the wait for a free batch. */
START_TEST(order_across_batches)
{
    enum { N = 200000 };
    static uint8_t buf[70000];
    uint64_t total = 0;
    for (uint64_t f = 1; f <= N; f++) {
        struct wst_event ev;
        if (f % 3 == 0) {
            ev = event(WST_EV_WS_FRAME, f);
        } else {
            size_t len = (f * 2654435761u) % (f % 1000 == 1 ? sizeof buf : 600);
            for (size_t i = 0; i < len; i++)
                buf[i] = pattern(f, i);
            ev = event(WST_EV_WS_MESSAGE, f);
            ev.u.ws_message.data.p = buf;
            ev.u.ws_message.data.len = len;
            total += len;
        }
        ck_assert(evq_push(q, &ev));
    }
    ck_assert_uint_gt(total, 4 * EVQ_BATCHES * EVQ_BATCH_SIZE);
    evq_drain(q);
    ck_assert_uint_eq(seen.n, N);
    ck_assert(seen.order_ok);
    ck_assert(seen.bytes_ok);
}
END_TEST

START_TEST(failed_output_stops_formatting)
{
    seen.fail_at = 1000;
    for (uint64_t f = 1; f <= 50000; f++) {
        struct wst_event ev = event(WST_EV_TCP_GAP, f);
        ck_assert(evq_push(q, &ev));
    }
    evq_drain(q);
    ck_assert(evq_failed(q));
    ck_assert_uint_eq(seen.n, 1000);
    ck_assert_uint_eq(seen.formatted_after_fail, 0);
}
END_TEST

START_TEST(drain_when_empty_and_free_null)
{
    evq_drain(q);
    evq_drain(q);
    ck_assert_uint_eq(seen.n, 0);
    evq_free(NULL);
    struct wst_event ev = event(WST_EV_TCP_SYN, 1);
    ck_assert(evq_push(q, &ev));
    /* evq_free (teardown) drains: checked by a second queue freed here */
    struct seen s2;
    memset(&s2, 0, sizeof s2);
    s2.next_frame = 1;
    s2.order_ok = true;
    struct evq *q2 = evq_new(fmt, &s2);
    ck_assert_ptr_nonnull(q2);
    for (uint64_t f = 1; f <= 3000; f++) {
        struct wst_event e = event(WST_EV_TCP_ANOMALY, f);
        ck_assert(evq_push(q2, &e));
    }
    evq_free(q2);
    ck_assert_uint_eq(s2.n, 3000);
    ck_assert(s2.order_ok);
}
END_TEST

static Suite *evq_suite(void)
{
    Suite *s = suite_create("evq");
    TCase *tc = tcase_create("evq");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, copies_are_deep);
    tcase_add_test(tc, http_copies_arrays);
    tcase_add_test(tc, refuses_rare_types_and_huge_payloads);
    tcase_add_test(tc, order_across_batches);
    tcase_add_test(tc, failed_output_stops_formatting);
    tcase_add_test(tc, drain_when_empty_and_free_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(evq_suite());
}
