/* fuzz_common.c - the event callback of both libFuzzer targets: both sinks into a discarding
 * output, plus a walk over every byte each event points at. */
#include "fuzz_common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbuf.h"
#include "sink.h"

static struct outbuf *fuzz_out;
static struct sink_opts fuzz_opts_all; /* -v -x --payload-max 0 */
static struct outbuf *fuzz_print; /* WSTAP_FUZZ_PRINT=1: NDJSON of every event on stdout */
static volatile uint8_t fuzz_sum; /* keeps the reads below from being optimized away */

void fuzz_sinks_init(void)
{
    if (fuzz_out)
        return;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fuzz_out = malloc(sizeof *fuzz_out);
    if (fd < 0 || !fuzz_out) {
        fprintf(stderr, "fuzz: cannot open /dev/null\n");
        abort();
    }
    outbuf_init(fuzz_out, fd);
    fuzz_opts_all = sink_opts_default;
    fuzz_opts_all.text_payload_max = 0;
    fuzz_opts_all.json_payload_max = 0;
    fuzz_opts_all.hex = true;
    fuzz_opts_all.frames = true;
    const char *pr = getenv("WSTAP_FUZZ_PRINT");
    if (pr && *pr && strcmp(pr, "0") != 0) {
        fuzz_print = malloc(sizeof *fuzz_print);
        if (!fuzz_print)
            abort();
        outbuf_init(fuzz_print, STDOUT_FILENO);
    }
}

void fuzz_sinks_flush(void)
{
    if (fuzz_out)
        fuzz_out->len = 0;
    if (fuzz_print)
        outbuf_flush(fuzz_print);
}

static void fuzz_fail(const char *what, const struct wst_event *ev)
{
    fprintf(stderr, "fuzz: %s (event %s, frame %llu, conn %llu)\n", what, wst_ev_name(ev->type),
            (unsigned long long)ev->frame, (unsigned long long)ev->conn);
    abort();
}

static void touch(const struct wst_event *ev, const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    if (len > 0 && !b)
        fuzz_fail("a NULL pointer with a length", ev);
    for (size_t i = 0; i < len; i++)
        s ^= b[i];
    fuzz_sum ^= s;
}

static void touch_str(const struct wst_event *ev, struct wst_str s)
{
    touch(ev, s.p, s.len);
}

static void touch_cstr(const struct wst_event *ev, const char *s)
{
    if (!s)
        fuzz_fail("a NULL sentence", ev);
    touch(ev, s, strlen(s));
}

static void touch_http(const struct wst_event *ev, const struct wst_ev_http *h)
{
    touch_str(ev, h->method);
    touch_str(ev, h->target);
    touch_str(ev, h->reason);
    touch(ev, h->headers, h->nheaders * sizeof *h->headers);
    for (size_t i = 0; i < h->nheaders; i++) {
        touch_str(ev, h->headers[i].name);
        touch_str(ev, h->headers[i].value);
    }
    touch(ev, h->segments, h->nsegments * sizeof *h->segments);
}

static void touch_event(const struct wst_event *ev, const struct fuzz_expect *x)
{
    if (ev->conn != 0) {
        if (!ev->client || !ev->server)
            fuzz_fail("a connection event without endpoints", ev);
        touch(ev, ev->client, sizeof *ev->client);
        touch(ev, ev->server, sizeof *ev->server);
    }
    switch (ev->type) {
    case WST_EV_HTTP_REQUEST:
    case WST_EV_HTTP_RESPONSE:
        touch_http(ev, &ev->u.http);
        break;
    case WST_EV_HTTP_ERROR:
        touch_cstr(ev, ev->u.http_error.kind);
        touch_cstr(ev, ev->u.http_error.detail);
        break;
    case WST_EV_TLS_HELLO:
        touch_str(ev, ev->u.tls.sni);
        if (ev->u.tls.nalpn > WST_MAX_ALPN)
            fuzz_fail("more ALPN names than the array holds", ev);
        for (size_t i = 0; i < ev->u.tls.nalpn; i++)
            touch_str(ev, ev->u.tls.alpn[i]);
        break;
    case WST_EV_WS_OPEN: {
        const struct wst_ev_ws_open *o = &ev->u.ws_open;
        touch_str(ev, o->key);
        touch_str(ev, o->accept);
        touch_str(ev, o->version);
        touch_str(ev, o->protocol);
        touch_str(ev, o->extensions);
        touch_str(ev, o->origin);
        touch_str(ev, o->host);
        break;
    }
    case WST_EV_WS_FAIL:
        touch_cstr(ev, ev->u.ws_fail.detail);
        break;
    case WST_EV_WS_MESSAGE:
        touch_str(ev, ev->u.ws_message.data);
        if (x && x->max_message && ev->u.ws_message.data.len > x->max_message)
            fuzz_fail("a message holding more than --max-message bytes", ev);
        if (ev->u.ws_message.data.len > ev->u.ws_message.len)
            fuzz_fail("a message holding more bytes than its decoded length", ev);
        break;
    case WST_EV_WS_CONTROL:
        touch_str(ev, ev->u.ws_control.data);
        touch_str(ev, ev->u.ws_control.reason);
        if (ev->u.ws_control.data.len > 125)
            fuzz_fail("a control frame holding more than 125 bytes", ev);
        break;
    case WST_EV_WS_ERROR:
        touch_cstr(ev, ev->u.ws_error.kind);
        touch_cstr(ev, ev->u.ws_error.detail);
        break;
    case WST_EV_PACKET_ERROR:
        touch_cstr(ev, ev->u.pkterr.layer);
        touch_cstr(ev, ev->u.pkterr.detail);
        break;
    default:
        break;
    }
}

/* The binary's sinks with its default options, and with everything shown (-v -x
 * --payload-max 0), so every byte of every payload is formatted. */

void fuzz_sinks_event(const struct wst_event *ev, void *user)
{
    touch_event(ev, user);
    sink_text_event(fuzz_out, &sink_opts_default, ev);
    sink_text_event(fuzz_out, &fuzz_opts_all, ev);
    sink_json_event(fuzz_out, &sink_opts_default, ev);
    sink_json_event(fuzz_out, &fuzz_opts_all, ev);
    /* Discard rather than write: the output is thrown away anyway. */
    fuzz_out->len = 0;
    if (fuzz_print)
        sink_json_event(fuzz_print, &fuzz_opts_all, ev);
}
