/* har.c - --har: HTTP requests, responses and WebSocket messages as an HTTP Archive (HAR 1.2). */
#include "har.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink.h"

/* One HTTP exchange: a request head, and its response head when one came. Strings live in
 * the arena (offsets, not pointers: the arena moves when it grows). */
struct har_entry {
    uint64_t conn, txn;
    uint64_t req_frame, resp_frame;
    int64_t req_us, resp_us;
    struct wst_endpoint server;
    int vmajor, vminor, rvmajor, rvminor;
    int status;
    bool have_resp, ws;
    bool partial; /* the request head never completed: what the capture held of it */
    uint64_t req_hdr_bytes, resp_hdr_bytes;
    size_t method_off, method_len, target_off, target_len, reason_off, reason_len;
    size_t reqh_off, reqh_n, resph_off, resph_n;
    size_t msg_first, msg_last; /* WebSocket messages: index + 1 into msgs, 0 = none */
    uint64_t msgs_cut;          /* kept with only their first bytes (capped, partial) */
    uint64_t msgs_nodata;       /* bytes not recoverable: left out */
    uint64_t msgs_dropped;      /* left out by HAR_MAX_KEPT */
};

struct har_msg {
    int64_t ts_us;
    size_t off, len;
    size_t next; /* index + 1 of the connection's next message, 0 = last */
    uint8_t opcode;
    uint8_t dir;
};

struct har {
    uint8_t *arena;
    size_t alen, acap;
    struct har_entry *ents;
    size_t nents, cents;
    struct har_msg *msgs;
    size_t nmsgs, cmsgs;
    size_t *byconn; /* conn id -> index + 1 of its latest entry (conn ids are dense from 1) */
    size_t cbyconn;
    uint64_t kept;  /* bytes held, counted against HAR_MAX_KEPT */
    bool full;
    uint64_t ents_dropped, msgs_dropped, resp_unmatched;
};

struct har *har_new(void)
{
    return calloc(1, sizeof(struct har));
}

void har_free(struct har *h)
{
    if (!h)
        return;
    free(h->arena);
    free(h->ents);
    free(h->msgs);
    free(h->byconn);
    free(h);
}

/* Room for n more bytes under the cap; false (and full) when not. */
static bool har_budget(struct har *h, size_t n)
{
    if (h->full || n > HAR_MAX_KEPT - h->kept) {
        h->full = true;
        return false;
    }
    return true;
}

/* Grow *p (elements of size sz, capacity *cap) to hold need elements. */
static bool har_grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * sz);
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

static bool har_keep(struct har *h, const void *p, size_t len, size_t *off)
{
    if (!har_budget(h, len) || !har_grow((void **)&h->arena, &h->acap, h->alen + len, 1)) {
        h->full = true;
        return false;
    }
    if (len)
        memcpy(h->arena + h->alen, p, len);
    *off = h->alen;
    h->alen += len;
    h->kept += len;
    return true;
}

/* Headers as records of (u32 name length, name, u32 value length, value). */
static bool har_keep_headers(struct har *h, const struct wst_header *hd, size_t n, size_t *off)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += 8 + hd[i].name.len + hd[i].value.len;
    if (!har_budget(h, need) || !har_grow((void **)&h->arena, &h->acap, h->alen + need, 1)) {
        h->full = true;
        return false;
    }
    *off = h->alen;
    for (size_t i = 0; i < n; i++) {
        uint32_t nl = (uint32_t)hd[i].name.len, vl = (uint32_t)hd[i].value.len;
        uint8_t *d = h->arena + h->alen;
        memcpy(d, &nl, 4);
        memcpy(d + 4, hd[i].name.p, nl);
        memcpy(d + 4 + nl, &vl, 4);
        memcpy(d + 8 + nl, hd[i].value.p, vl);
        h->alen += 8 + (size_t)nl + vl;
    }
    h->kept += need;
    return true;
}

/* The i-th header of a kept list, walking from *pos (start at the list's offset). */
static void har_next_header(const struct har *h, size_t *pos, struct wst_str *name,
                            struct wst_str *value)
{
    uint32_t nl, vl;
    memcpy(&nl, h->arena + *pos, 4);
    name->p = h->arena + *pos + 4;
    name->len = nl;
    memcpy(&vl, h->arena + *pos + 4 + nl, 4);
    value->p = h->arena + *pos + 8 + nl;
    value->len = vl;
    *pos += 8 + (size_t)nl + vl;
}

static bool har_name_is(struct wst_str s, const char *name)
{
    size_t n = strlen(name);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        if (c != (uint8_t)name[i])
            return false;
    }
    return true;
}

/* The first header called name (lower case), or false. */
static bool har_find_header(const struct har *h, size_t off, size_t n, const char *name,
                            struct wst_str *value)
{
    size_t pos = off;
    for (size_t i = 0; i < n; i++) {
        struct wst_str nm, v;
        har_next_header(h, &pos, &nm, &v);
        if (har_name_is(nm, name)) {
            *value = v;
            return true;
        }
    }
    return false;
}

static struct har_entry *har_conn_entry(struct har *h, uint64_t conn)
{
    if (conn == 0 || conn > h->cbyconn || h->byconn[conn - 1] == 0)
        return NULL;
    return &h->ents[h->byconn[conn - 1] - 1];
}

static void har_on_request(struct har *h, const struct wst_event *ev)
{
    const struct wst_ev_http *r = &ev->u.http;
    if (r->method.len == 0)
        return; /* not even a request line */
    size_t oldc = h->cbyconn;
    if (ev->conn == 0 || !har_budget(h, sizeof(struct har_entry) + sizeof(size_t)) ||
        !har_grow((void **)&h->ents, &h->cents, h->nents + 1, sizeof *h->ents) ||
        (ev->conn > h->cbyconn &&
         !har_grow((void **)&h->byconn, &h->cbyconn, (size_t)ev->conn, sizeof *h->byconn))) {
        h->full = true;
        h->ents_dropped++;
        return;
    }
    if (h->cbyconn > oldc) /* the new slots: no entry yet */
        memset(h->byconn + oldc, 0, (h->cbyconn - oldc) * sizeof *h->byconn);
    struct har_entry e;
    memset(&e, 0, sizeof e);
    e.conn = ev->conn;
    e.txn = r->txn;
    e.req_frame = ev->frame;
    e.req_us = ev->ts_us;
    if (ev->server)
        e.server = *ev->server;
    e.vmajor = r->vmajor;
    e.vminor = r->vminor;
    e.req_hdr_bytes = r->hdr_bytes;
    e.partial = (r->flags & WST_HTTP_PARTIAL) != 0;
    e.reqh_n = r->nheaders;
    if (!har_keep(h, r->method.p, r->method.len, &e.method_off) ||
        !har_keep(h, r->target.p, r->target.len, &e.target_off) ||
        !har_keep_headers(h, r->headers, r->nheaders, &e.reqh_off)) {
        h->ents_dropped++;
        return;
    }
    e.method_len = r->method.len;
    e.target_len = r->target.len;
    h->kept += sizeof e + sizeof(size_t);
    h->ents[h->nents++] = e;
    h->byconn[ev->conn - 1] = h->nents;
}

static void har_on_response(struct har *h, const struct wst_event *ev)
{
    const struct wst_ev_http *r = &ev->u.http;
    struct har_entry *e = har_conn_entry(h, ev->conn);
    /* Pipelined requests: the response answers the earliest unanswered one, its txn. */
    if (e && e->txn != r->txn) {
        e = NULL;
        for (size_t i = h->nents; i > 0; i--) {
            struct har_entry *c = &h->ents[i - 1];
            if (c->conn == ev->conn && c->txn == r->txn) {
                e = c;
                break;
            }
        }
    }
    if (!e || e->have_resp || (r->flags & WST_HTTP_PARTIAL)) {
        h->resp_unmatched++;
        return;
    }
    if (!har_keep(h, r->reason.p, r->reason.len, &e->reason_off) ||
        !har_keep_headers(h, r->headers, r->nheaders, &e->resph_off))
        return;
    e->reason_len = r->reason.len;
    e->resph_n = r->nheaders;
    e->have_resp = true;
    e->resp_frame = ev->frame;
    e->resp_us = ev->ts_us;
    e->status = r->status;
    e->rvmajor = r->vmajor;
    e->rvminor = r->vminor;
    e->resp_hdr_bytes = r->hdr_bytes;
}

static void har_on_message(struct har *h, const struct wst_event *ev)
{
    const struct wst_ev_ws_message *m = &ev->u.ws_message;
    struct har_entry *e = har_conn_entry(h, ev->conn);
    if (!e || !e->ws)
        return; /* mid-stream WebSocket: no upgrade entry to hang it on */
    if (m->flags & WST_WSMSG_NODATA) {
        e->msgs_nodata++;
        return;
    }
    size_t off;
    if (!har_budget(h, sizeof(struct har_msg) + m->data.len) ||
        !har_grow((void **)&h->msgs, &h->cmsgs, h->nmsgs + 1, sizeof *h->msgs) ||
        !har_keep(h, m->data.p, m->data.len, &off)) {
        h->full = true;
        e->msgs_dropped++;
        h->msgs_dropped++;
        return;
    }
    if (m->flags & (WST_WSMSG_CAPPED | WST_WSMSG_PARTIAL))
        e->msgs_cut++;
    h->kept += sizeof(struct har_msg);
    struct har_msg *g = &h->msgs[h->nmsgs++];
    g->ts_us = ev->ts_us;
    g->off = off;
    g->len = m->data.len;
    g->next = 0;
    g->opcode = m->opcode;
    g->dir = (uint8_t)ev->dir;
    if (e->msg_last)
        h->msgs[e->msg_last - 1].next = h->nmsgs;
    else
        e->msg_first = h->nmsgs;
    e->msg_last = h->nmsgs;
}

void har_event(struct har *h, const struct wst_event *ev)
{
    switch (ev->type) {
    case WST_EV_HTTP_REQUEST:
        har_on_request(h, ev);
        break;
    case WST_EV_HTTP_RESPONSE:
        har_on_response(h, ev);
        break;
    case WST_EV_WS_OPEN: {
        struct har_entry *e = har_conn_entry(h, ev->conn);
        if (e && e->have_resp && e->status == 101)
            e->ws = true;
        break;
    }
    case WST_EV_WS_MESSAGE:
        har_on_message(h, ev);
        break;
    default:
        break;
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

/* "2026-12-08T02:03:36.123456Z" from microseconds since the epoch. */
static void har_put_date(struct outbuf *ob, int64_t us)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(buf, sizeof buf, "1970-01-01T00:00:00");
    outbuf_printf(ob, "\"%s.%06dZ\"", buf, (int)frac);
}

static void har_put_version(struct outbuf *ob, int maj, int min)
{
    if (maj < 0 || min < 0)
        json_put_cstr(ob, "");
    else
        outbuf_printf(ob, "\"HTTP/%d.%d\"", maj, min);
}

static bool har_url_plain(uint8_t c, bool host)
{
    if (c <= 0x20 || c >= 0x7f)
        return false;
    if (strchr("\"<>\\^`{|}#", c))
        return false;
    if (!host && (c == '[' || c == ']'))
        return false;
    return true;
}

static bool har_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Bytes into a URL: anything a URI may not hold as %XX (a '%' not starting %XX too). */
static void har_url_append(uint8_t *d, size_t *n, const uint8_t *s, size_t len, bool host)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        bool pct_ok = c == '%' && len - i > 2 && har_hex(s[i + 1]) && har_hex(s[i + 2]);
        if ((c != '%' && har_url_plain(c, host)) || pct_ok) {
            d[(*n)++] = c;
        } else {
            d[(*n)++] = '%';
            d[(*n)++] = (uint8_t)hx[c >> 4];
            d[(*n)++] = (uint8_t)hx[c & 15];
        }
    }
}

static bool har_starts_ci(const uint8_t *p, size_t len, const char *pfx)
{
    struct wst_str s = {p, strlen(pfx)};
    return len >= s.len && har_name_is(s, pfx);
}

/* request.url: scheme (http, or ws for an upgrade) :// Host header (else the server address)
 * and the target; an absolute-form target is the URL as it is. */
static void har_put_url(const struct har *h, const struct har_entry *e, struct outbuf *ob)
{
    const uint8_t *t = h->arena + e->target_off;
    size_t tl = e->target_len;
    struct wst_str host;
    char ep[WST_EP_STRLEN];
    if (!har_find_header(h, e->reqh_off, e->reqh_n, "host", &host) || host.len == 0) {
        wst_endpoint_str(&e->server, ep, sizeof ep);
        host.p = (const uint8_t *)ep;
        host.len = strlen(ep);
    }
    uint8_t *d = malloc(16 + 3 * (host.len + tl));
    if (!d) {
        json_put_cstr(ob, "");
        return;
    }
    size_t n = 0;
    if (har_starts_ci(t, tl, "http://") || har_starts_ci(t, tl, "https://") ||
        har_starts_ci(t, tl, "ws://") || har_starts_ci(t, tl, "wss://")) {
        har_url_append(d, &n, t, tl, true);
    } else {
        const char *scheme = e->ws ? "ws://" : "http://";
        memcpy(d, scheme, strlen(scheme));
        n = strlen(scheme);
        bool authority = tl > 0 && t[0] != '/' && !(tl == 1 && t[0] == '*');
        if (authority) { /* CONNECT host:port */
            har_url_append(d, &n, t, tl, true);
        } else {
            har_url_append(d, &n, host.p, host.len, true);
            if (tl > 0 && t[0] == '/')
                har_url_append(d, &n, t, tl, false);
            else
                d[n++] = '/';
        }
    }
    json_put_str(ob, d, n);
    free(d);
}

static void har_put_headers(const struct har *h, size_t off, size_t n, struct outbuf *ob)
{
    size_t pos = off;
    outbuf_putc(ob, '[');
    for (size_t i = 0; i < n; i++) {
        struct wst_str nm, v;
        har_next_header(h, &pos, &nm, &v);
        outbuf_puts(ob, i ? ",{\"name\":" : "{\"name\":");
        json_put_str(ob, nm.p, nm.len);
        json_key(ob, "value");
        json_put_str(ob, v.p, v.len);
        outbuf_putc(ob, '}');
    }
    outbuf_putc(ob, ']');
}

/* queryString: the target's name=value pairs after '?', as sent (not decoded). */
static void har_put_query(const struct har *h, const struct har_entry *e, struct outbuf *ob)
{
    const uint8_t *t = h->arena + e->target_off;
    size_t tl = e->target_len, i = 0;
    outbuf_putc(ob, '[');
    while (i < tl && t[i] != '?')
        i++;
    bool first = true;
    if (i < tl) {
        i++;
        while (i <= tl) {
            size_t s = i;
            while (i < tl && t[i] != '&' && t[i] != '#')
                i++;
            size_t eq = s;
            while (eq < i && t[eq] != '=')
                eq++;
            if (i > s) {
                outbuf_puts(ob, first ? "{\"name\":" : ",{\"name\":");
                first = false;
                json_put_str(ob, t + s, eq - s);
                json_key(ob, "value");
                json_put_str(ob, eq < i ? t + eq + 1 : t, eq < i ? i - eq - 1 : 0);
                outbuf_putc(ob, '}');
            }
            if (i >= tl || t[i] == '#')
                break;
            i++;
        }
    }
    outbuf_putc(ob, ']');
}

/* Content-Length as a number, or -1 when absent or not a plain decimal. */
static int64_t har_content_length(const struct har *h, size_t off, size_t n)
{
    struct wst_str v;
    if (!har_find_header(h, off, n, "content-length", &v) || v.len == 0 || v.len > 18)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        x = x * 10 + (v.p[i] - '0');
    }
    return x;
}

static void har_put_i64(struct outbuf *ob, int64_t v)
{
    if (v < 0)
        outbuf_puts(ob, "-1");
    else
        outbuf_put_u64(ob, (uint64_t)v, 1);
}

static void har_put_request(const struct har *h, const struct har_entry *e, struct outbuf *ob)
{
    outbuf_puts(ob, "{\"method\":");
    json_put_str(ob, h->arena + e->method_off, e->method_len);
    json_key(ob, "url");
    har_put_url(h, e, ob);
    json_key(ob, "httpVersion");
    har_put_version(ob, e->vmajor, e->vminor);
    json_key(ob, "cookies");
    outbuf_puts(ob, "[]");
    json_key(ob, "headers");
    har_put_headers(h, e->reqh_off, e->reqh_n, ob);
    json_key(ob, "queryString");
    har_put_query(h, e, ob);
    json_key(ob, "headersSize");
    har_put_i64(ob, e->partial ? -1 : (int64_t)e->req_hdr_bytes);
    /* No Content-Length and no Transfer-Encoding: a request has no body (RFC 9112 6.3). */
    int64_t cl = har_content_length(h, e->reqh_off, e->reqh_n);
    struct wst_str te;
    if (cl < 0 && !e->partial &&
        !har_find_header(h, e->reqh_off, e->reqh_n, "transfer-encoding", &te))
        cl = 0;
    json_key(ob, "bodySize");
    har_put_i64(ob, cl);
    outbuf_putc(ob, '}');
}

static void har_put_response(const struct har *h, const struct har_entry *e, struct outbuf *ob)
{
    if (!e->have_resp) {
        outbuf_puts(ob, "{\"status\":0,\"statusText\":\"\",\"httpVersion\":\"\",\"cookies\":[],"
                        "\"headers\":[],\"content\":{\"size\":0,\"mimeType\":\"\"},"
                        "\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":-1}");
        return;
    }
    struct wst_str v;
    outbuf_puts(ob, "{\"status\":");
    outbuf_put_u64(ob, (uint64_t)(e->status < 0 ? 0 : e->status), 1);
    json_key(ob, "statusText");
    json_put_str(ob, h->arena + e->reason_off, e->reason_len);
    json_key(ob, "httpVersion");
    har_put_version(ob, e->rvmajor, e->rvminor);
    json_key(ob, "cookies");
    outbuf_puts(ob, "[]");
    json_key(ob, "headers");
    har_put_headers(h, e->resph_off, e->resph_n, ob);
    /* Bodies are not kept: the size Content-Length announced; no body for 1xx/204/304 or
     * the answer to a HEAD (RFC 9112 6.3). */
    struct wst_str method = {h->arena + e->method_off, e->method_len};
    bool nobody = (e->status >= 100 && e->status < 200) || e->status == 204 ||
                  e->status == 304 || har_name_is(method, "head");
    int64_t cl = nobody ? 0 : har_content_length(h, e->resph_off, e->resph_n);
    json_key(ob, "content");
    outbuf_puts(ob, "{\"size\":");
    outbuf_put_u64(ob, cl < 0 ? 0 : (uint64_t)cl, 1);
    json_key(ob, "mimeType");
    if (har_find_header(h, e->resph_off, e->resph_n, "content-type", &v))
        json_put_str(ob, v.p, v.len);
    else
        json_put_cstr(ob, "");
    outbuf_putc(ob, '}');
    json_key(ob, "redirectURL");
    if (har_find_header(h, e->resph_off, e->resph_n, "location", &v))
        json_put_str(ob, v.p, v.len);
    else
        json_put_cstr(ob, "");
    json_key_u64(ob, "headersSize", e->resp_hdr_bytes);
    json_key(ob, "bodySize");
    har_put_i64(ob, cl);
    outbuf_putc(ob, '}');
}

static void har_put_messages(const struct har *h, const struct har_entry *e, struct outbuf *ob)
{
    outbuf_putc(ob, '[');
    bool first = true;
    for (size_t i = e->msg_first; i; i = h->msgs[i - 1].next) {
        const struct har_msg *m = &h->msgs[i - 1];
        outbuf_puts(ob, first ? "\n{\"type\":" : ",\n{\"type\":");
        first = false;
        json_put_cstr(ob, m->dir == WST_DIR_C2S ? "send" : "receive");
        json_key(ob, "time");
        sink_put_fixed(ob, m->ts_us, 6);
        json_key_u64(ob, "opcode", m->opcode);
        json_key(ob, "data");
        if (m->opcode == WST_WS_TEXT)
            json_put_str(ob, h->arena + m->off, m->len);
        else
            json_put_b64(ob, h->arena + m->off, m->len);
        outbuf_putc(ob, '}');
    }
    outbuf_putc(ob, ']');
}

static void har_put_entry(const struct har *h, const struct har_entry *e, struct outbuf *ob)
{
    int64_t wait_us = e->have_resp ? e->resp_us - e->req_us : -1;
    if (e->have_resp && wait_us < 0)
        wait_us = 0;
    outbuf_puts(ob, "{\"startedDateTime\":");
    har_put_date(ob, e->req_us);
    json_key(ob, "time");
    sink_put_fixed(ob, wait_us < 0 ? 0 : wait_us, 3);
    json_key(ob, "request");
    har_put_request(h, e, ob);
    json_key(ob, "response");
    har_put_response(h, e, ob);
    json_key(ob, "cache");
    outbuf_puts(ob, "{}");
    json_key(ob, "timings");
    outbuf_puts(ob, "{\"blocked\":-1,\"dns\":-1,\"connect\":-1,\"send\":0,\"wait\":");
    if (wait_us < 0)
        outbuf_puts(ob, "-1");
    else
        sink_put_fixed(ob, wait_us, 3);
    outbuf_puts(ob, ",\"receive\":0,\"ssl\":-1}");
    char ip[WST_EP_STRLEN];
    wst_endpoint_str(&e->server, ip, sizeof ip);
    /* the address without ":port" (and without the brackets of an IPv6 address) */
    char *colon = strrchr(ip, ':');
    if (colon)
        *colon = '\0';
    const char *addr = ip;
    size_t al = strlen(ip);
    if (al >= 2 && ip[0] == '[' && ip[al - 1] == ']') {
        ip[al - 1] = '\0';
        addr = ip + 1;
    }
    json_key_str(ob, "serverIPAddress", addr);
    json_key(ob, "connection");
    outbuf_printf(ob, "\"%llu\"", (unsigned long long)e->conn);
    json_key(ob, "_wstap");
    outbuf_puts(ob, "{\"conn\":");
    outbuf_put_u64(ob, e->conn, 1);
    json_key_u64(ob, "txn", e->txn);
    json_key_u64(ob, "request_frame", e->req_frame);
    json_key_bool(ob, "partial", e->partial);
    json_key(ob, "response_frame");
    if (e->have_resp)
        outbuf_put_u64(ob, e->resp_frame, 1);
    else
        outbuf_puts(ob, "null");
    if (e->ws) {
        json_key_u64(ob, "messages_cut", e->msgs_cut);
        json_key_u64(ob, "messages_nodata", e->msgs_nodata);
        json_key_u64(ob, "messages_dropped", e->msgs_dropped);
    }
    outbuf_putc(ob, '}');
    if (e->ws) {
        json_key_str(ob, "_resourceType", "websocket");
        json_key(ob, "_webSocketMessages");
        har_put_messages(h, e, ob);
    }
    outbuf_putc(ob, '}');
}

void har_write(const struct har *h, struct outbuf *ob)
{
    outbuf_puts(ob, "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"wstap\",\"version\":\""
                    WSTAP_VERSION "\"}");
    if (h->ents_dropped || h->msgs_dropped)
        outbuf_printf(ob,
                      ",\"comment\":\"wstap: %llu requests and %llu WebSocket messages left out "
                      "(the archive keeps at most %llu MiB of headers and messages)\"",
                      (unsigned long long)h->ents_dropped, (unsigned long long)h->msgs_dropped,
                      (unsigned long long)(HAR_MAX_KEPT >> 20));
    outbuf_puts(ob, ",\"entries\":[");
    for (size_t i = 0; i < h->nents; i++) {
        outbuf_puts(ob, i ? ",\n" : "\n");
        har_put_entry(h, &h->ents[i], ob);
    }
    outbuf_puts(ob, "\n]}}\n");
}
