/* app.c - application layers over the reassembled streams: protocol detection, HTTP/1.x
 * transactions with the frames each head came from, the WebSocket upgrade (validation and
 * a one-sentence diagnosis of failures), then the WebSocket stream. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "http.h"
#include "sniff.h"
#include "tlsapp.h"
#include "wsapp.h"
#include "wsmid.h"
#include "wshs.h"

#define APP_MAX_HEADERS 128
#define APP_MAX_SEGS 32
#define APP_MAX_PENDING 32
#define APP_SNIFF_MAX 64        /* bytes that must decide whether a stream is HTTP */
#define APP_HOLD_MAX (64 << 10) /* client bytes held while an upgrade awaits its answer */
#define APP_HS_STR 512          /* handshake header values kept (longer ones are cut) */

/* AP_MIDWS: picked up without a handshake, not HTTP/TLS/h2: WebSocket until proven either way */
enum app_proto { AP_DETECT, AP_HTTP, AP_WS, AP_TLS, AP_H2, AP_OPAQUE, AP_MIDWS };

enum app_dstate {
    AD_HTTP,   /* parsing heads and skipping bodies */
    AD_HOLD,   /* client after an upgrade request: held until the response decides */
    AD_WS,     /* WebSocket frames */
    AD_RESYNC, /* lost the HTTP framing: waiting for a segment that starts a message */
    AD_OPAQUE, /* not ours to parse (tunnel, other upgrade, unknown protocol) */
    AD_MID,    /* held by mid-stream recognition (wsmid) */
};

struct app_pending {
    char method[16];
    bool ws_upgrade;
};

struct app_dir {
    enum app_dstate st;
    struct dynbuf buf; /* a head being assembled, or held bytes */
    size_t scanned;    /* of buf, already scanned for the end of the head */
    struct wst_segment seg[APP_MAX_SEGS];
    size_t nseg;
    int64_t seg_ts[APP_MAX_SEGS]; /* while the protocol is undecided: seg[i]'s packet time */
    uint64_t seg_more;
    bool in_body;
    struct http_body body;
    uint64_t txn;
};

/* The upgrade request, kept (bounded copies) until its response arrives. */
struct app_hs {
    bool active;
    bool has_key, has_version, has_ext, has_proto, has_origin, has_host;
    bool upgrade_ok, connection_ok;
    char key[APP_HS_STR], version[64], ext[APP_HS_STR], proto[APP_HS_STR];
    char origin[APP_HS_STR], host[APP_HS_STR];
    size_t key_len, version_len, ext_len, proto_len, origin_len, host_len;
    uint64_t cookie_bytes;
    int64_t req_ts;
    uint64_t req_frame, hdr_bytes, nsegs;
    bool partial;         /* the head never completed (hdr_bytes: what was captured of it) */
    bool first_in_stream; /* the head starts the client's stream (offset 0 after the SYN) */
    /* a non-101 answer: ws.fail waits for the body so it can quote its start */
    bool fail_pending;
    enum wst_ws_fail fail_reason;
    int status;
    char status_line[160];
    char extra[400];
};

struct app_conn {
    enum app_proto proto;
    struct app_dir d[2];
    struct app_pending pending[APP_MAX_PENDING];
    unsigned pend_head, pend_n;
    struct app_hs hs;
    struct wsapp *ws; /* after a successful upgrade */
    struct wsmid *mid; /* AP_MIDWS: recognition in progress */
    struct tlsapp *tls; /* a TLS connection: raw bytes go there, plaintext comes back */
    struct wst_budget *bud; /* this struct is charged to it */
    bool ws_counted;
};

static enum wst_dir side_dir(int side)
{
    return side == SIDE_C ? WST_DIR_C2S : WST_DIR_S2C;
}

static void http_error(struct wst_analyzer *a, struct conn *c, int side, const char *kind,
                       const char *detail);

/* The connection's application state, made with its first payload and charged to the
 * application-layer budget; NULL (reported once) when the budget or memory refuses it. */
static struct app_conn *app_get(struct wst_analyzer *a, struct conn *c, int side)
{
    if (!c->app && !c->app_refused) {
        struct app_conn *ap = NULL;
        if (budget_take(&a->app_budget, sizeof *ap)) {
            ap = calloc(1, sizeof *ap);
            if (!ap)
                budget_give(&a->app_budget, sizeof *ap);
        }
        if (!ap) {
            c->app_refused = true;
            http_error(a, c, side, "limit",
                       "The memory for application layers is used up (--max-app-total, or "
                       "out of memory): this connection's payload is not analyzed; TCP "
                       "analysis goes on.");
            return NULL;
        }
        for (int s = 0; s < 2; s++) {
            dynbuf_init(&ap->d[s].buf, HTTP_DEFAULT_MAX_HEADER_BYTES + 1);
            ap->d[s].buf.bud = &a->app_budget;
        }
        ap->bud = &a->app_budget;
        c->app = ap;
    }
    return c->app;
}

void app_free(struct conn *c)
{
    struct app_conn *ap = c->app;
    if (!ap)
        return;
    for (int s = 0; s < 2; s++)
        dynbuf_free(&ap->d[s].buf);
    wsapp_free(ap->ws);
    wsmid_free(ap->mid);
    tlsapp_free(ap->tls);
    budget_give(ap->bud, sizeof *ap);
    free(ap);
    c->app = NULL;
}

static void http_error(struct wst_analyzer *a, struct conn *c, int side, const char *kind,
                       const char *detail)
{
    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_HTTP_ERROR, c, side_dir(side));
    ev.u.http_error.kind = kind;
    ev.u.http_error.detail = detail;
    an_emit(a, &ev);
}

static void seg_add(struct app_dir *d, uint64_t frame, uint64_t bytes)
{
    if (bytes == 0)
        return;
    if (d->nseg < APP_MAX_SEGS) {
        d->seg[d->nseg].frame = frame;
        d->seg[d->nseg].bytes = (uint32_t)bytes;
        d->nseg++;
    } else {
        d->seg_more++;
    }
}

/* Copy a header value into a bounded buffer (cut if longer). */
static size_t copy_val(char *dst, size_t cap, const struct wst_header *h)
{
    size_t n = h->value.len < cap ? h->value.len : cap;
    memcpy(dst, h->value.p, n);
    return n;
}

/* ---- the WebSocket opening handshake ---- */

static void hs_record(struct app_conn *ap, const struct http_msg *m, struct wst_analyzer *a,
                      struct app_dir *d, uint64_t frame)
{
    struct app_hs *hs = &ap->hs;
    const struct wst_header *h;

    memset(hs, 0, sizeof *hs);
    hs->active = true;
    hs->upgrade_ok = http_header_has_token(m, "Upgrade", "websocket");
    hs->connection_ok = http_header_has_token(m, "Connection", "upgrade");
    if ((h = http_header_find(m, "Sec-WebSocket-Key"))) {
        hs->has_key = true;
        hs->key_len = copy_val(hs->key, sizeof hs->key, h);
    }
    if ((h = http_header_find(m, "Sec-WebSocket-Version"))) {
        hs->has_version = true;
        hs->version_len = copy_val(hs->version, sizeof hs->version, h);
    }
    if ((h = http_header_find(m, "Sec-WebSocket-Extensions"))) {
        hs->has_ext = true;
        hs->ext_len = copy_val(hs->ext, sizeof hs->ext, h);
    }
    if ((h = http_header_find(m, "Sec-WebSocket-Protocol"))) {
        hs->has_proto = true;
        hs->proto_len = copy_val(hs->proto, sizeof hs->proto, h);
    }
    if ((h = http_header_find(m, "Origin"))) {
        hs->has_origin = true;
        hs->origin_len = copy_val(hs->origin, sizeof hs->origin, h);
    }
    if ((h = http_header_find(m, "Host"))) {
        hs->has_host = true;
        hs->host_len = copy_val(hs->host, sizeof hs->host, h);
    }
    for (h = http_header_next(m, "Cookie", NULL); h; h = http_header_next(m, "Cookie", h))
        hs->cookie_bytes += h->name.len + 2 + h->value.len;
    hs->req_ts = a->now;
    hs->req_frame = frame;
    hs->hdr_bytes = m->hdr_bytes;
    hs->nsegs = d->nseg + d->seg_more;
}

/* After hs_record: does the head occupy the client's stream from its first byte? */
static bool head_starts_stream(const struct conn *c, const struct app_dir *d)
{
    return d->txn == 1 && c->side[SIDE_C].syn_seen && c->side[SIDE_C].gap_bytes == 0;
}

/* A request that tries to open a WebSocket (even one a proxy mangled). */
static bool is_ws_request(const struct http_msg *m)
{
    return http_header_has_token(m, "Upgrade", "websocket") ||
           http_header_find(m, "Sec-WebSocket-Key") != NULL;
}

static const char *hs_size_hint(const struct app_hs *hs, char *buf, size_t cap)
{
    if (hs->partial)
        snprintf(buf, cap,
                 " The capture holds %llu bytes of the request head in %llu segment%s%s; a "
                 "server that reads only part of a long head (a fixed 512- or 1024-byte "
                 "buffer, say) never sees Sec-WebSocket-Key and closes like this.",
                 (unsigned long long)hs->hdr_bytes, (unsigned long long)hs->nsegs,
                 hs->nsegs == 1 ? "" : "s", hs->cookie_bytes > 256 ? " (mostly Cookie)" : "");
    else if (hs->hdr_bytes > 512 || hs->nsegs > 1)
        snprintf(buf, cap,
                 " The request head was %llu bytes in %llu segment%s%s: a server that reads "
                 "only part of it (a fixed 512- or 1024-byte buffer, say) never sees "
                 "Sec-WebSocket-Key and closes like this.",
                 (unsigned long long)hs->hdr_bytes, (unsigned long long)hs->nsegs,
                 hs->nsegs == 1 ? "" : "s",
                 hs->cookie_bytes > 256 ? " (mostly Cookie)" : "");
    else
        snprintf(buf, cap, " The request head was %llu bytes in %llu segment%s.",
                 (unsigned long long)hs->hdr_bytes, (unsigned long long)hs->nsegs,
                 hs->nsegs == 1 ? "" : "s");
    return buf;
}

static void emit_ws_fail(struct wst_analyzer *a, struct conn *c, enum wst_ws_fail reason,
                         int status, const char *detail)
{
    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_WS_FAIL, c, WST_DIR_NONE);
    ev.u.ws_fail.reason = reason;
    ev.u.ws_fail.status = status;
    ev.u.ws_fail.detail = detail;
    an_emit(a, &ev);
}

/* A printable, bounded copy of response body bytes for a sentence. */
static void body_excerpt(const struct http_body *b, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < b->prefix_len && n + 2 < cap && i < 120; i++) {
        uint8_t ch = b->prefix[i];
        out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* The answer to an upgrade request was not 101: say why, quoting the body when there is one. */
static void hs_fail_flush(struct wst_analyzer *a, struct conn *c, const struct http_body *body)
{
    struct app_hs *hs = &c->app->hs;
    char excerpt[128] = "", detail[900];

    if (!hs->fail_pending)
        return;
    hs->fail_pending = false;
    if (body)
        body_excerpt(body, excerpt, sizeof excerpt);
    snprintf(detail, sizeof detail, "The server answered the upgrade with \"%s\" instead of "
             "101 Switching Protocols%s%s%s%s%s",
             hs->status_line, excerpt[0] ? "; its body begins \"" : "", excerpt,
             excerpt[0] ? "\"" : "", hs->extra[0] ? ". " : ".", hs->extra);
    emit_ws_fail(a, c, hs->fail_reason, hs->status, detail);
}

/* A 426 refuses the client's WebSocket version when it lists the versions the server
 * supports (RFC 6455 section 4.4) and the client's is not among them. */
static bool version_refused(const struct http_msg *m, const struct app_hs *hs)
{
    const struct wst_header *sv = http_header_find(m, "Sec-WebSocket-Version");
    if (!sv)
        return false;
    const uint8_t *p = sv->value.p, *end = p + sv->value.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const uint8_t *t = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - t) == hs->version_len && hs->version_len > 0 &&
            memcmp(t, hs->version, hs->version_len) == 0)
            return false;
    }
    return true;
}

static void hs_answer_not_101(struct conn *c, const struct http_msg *m)
{
    struct app_hs *hs = &c->app->hs;
    int rl = (int)(m->reason.len < 100 ? m->reason.len : 100);

    hs->active = false;
    hs->fail_pending = true;
    hs->status = m->status;
    snprintf(hs->status_line, sizeof hs->status_line, "%d %.*s", m->status, rl,
             (const char *)m->reason.p);
    hs->extra[0] = '\0';
    hs->fail_reason = WST_WSFAIL_STATUS;
    if (!hs->upgrade_ok || !hs->connection_ok) {
        hs->fail_reason = WST_WSFAIL_BAD_UPGRADE_HEADERS;
        snprintf(hs->extra, sizeof hs->extra,
                 "The request %s: a proxy in between probably dropped these hop-by-hop "
                 "headers (nginx needs proxy_http_version 1.1 and proxy_set_header Upgrade "
                 "and Connection)",
                 !hs->upgrade_ok && !hs->connection_ok
                     ? "has neither \"Upgrade: websocket\" nor \"Connection: Upgrade\""
                 : !hs->upgrade_ok ? "lacks \"Upgrade: websocket\""
                                   : "lacks \"Connection: Upgrade\"");
    } else if (!hs->has_key) {
        hs->fail_reason = WST_WSFAIL_MISSING_KEY;
        snprintf(hs->extra, sizeof hs->extra, "The request has no Sec-WebSocket-Key");
    } else if (!wshs_key_valid((const uint8_t *)hs->key, hs->key_len)) {
        hs->fail_reason = WST_WSFAIL_BAD_KEY;
        snprintf(hs->extra, sizeof hs->extra,
                 "The request has a Sec-WebSocket-Key that is not base64 of 16 bytes");
    } else if (!hs->has_version ||
               !wshs_version_is_13((const uint8_t *)hs->version, hs->version_len) ||
               (m->status == 426 && version_refused(m, hs))) {
        hs->fail_reason = WST_WSFAIL_BAD_VERSION;
        const struct wst_header *sv = http_header_find(m, "Sec-WebSocket-Version");
        int vl = sv ? (int)(sv->value.len < 40 ? sv->value.len : 40) : 0;
        snprintf(hs->extra, sizeof hs->extra,
                 "The client asked for Sec-WebSocket-Version %.*s%s%.*s (RFC 6455 requires 13)",
                 hs->has_version ? (int)hs->version_len : 4,
                 hs->has_version ? hs->version : "none", sv ? "; the server supports " : "", vl,
                 sv ? (const char *)sv->value.p : "");
    }
}

/* 101 to an upgrade request: validate, then ws.open (and ws.fail for a wrong accept). */
static void hs_answer_101(struct wst_analyzer *a, struct conn *c, const struct http_msg *m)
{
    struct app_conn *ap = c->app;
    struct app_hs *hs = &ap->hs;
    struct wst_event ev;
    struct wst_ev_ws_open *o = &ev.u.ws_open;
    char expect[WSHS_ACCEPT_LEN + 1] = "";

    hs->active = false;
    an_event_init(a, &ev, WST_EV_WS_OPEN, c, WST_DIR_NONE);
    o->key.p = (const uint8_t *)hs->key;
    o->key.len = hs->key_len;
    const struct wst_header *acc = http_header_find(m, "Sec-WebSocket-Accept");
    if (acc)
        o->accept = acc->value;
    bool computed =
        hs->has_key && wshs_accept((const uint8_t *)hs->key, hs->key_len, expect) == 0;
    o->accept_ok = computed && acc && acc->value.len == strlen(expect) &&
                   memcmp(acc->value.p, expect, acc->value.len) == 0;
    o->version.p = (const uint8_t *)hs->version;
    o->version.len = hs->version_len;
    const struct wst_header *ph = http_header_find(m, "Sec-WebSocket-Protocol");
    if (ph) {
        o->has_protocol = true;
        o->protocol = ph->value;
    }
    const struct wst_header *eh = http_header_find(m, "Sec-WebSocket-Extensions");
    struct wsapp_config cfg;
    char ext_problem[200] = "";
    wsapp_config_from_handshake(&cfg, (const uint8_t *)hs->ext, hs->has_ext ? hs->ext_len : 0,
                                eh ? eh->value.p : NULL, eh ? eh->value.len : 0, ext_problem,
                                sizeof ext_problem);
    if (eh) {
        o->has_extensions = true;
        o->extensions = eh->value;
    }
    o->compression = cfg.compression;
    o->params = cfg.params;
    o->has_origin = hs->has_origin;
    o->origin.p = (const uint8_t *)hs->origin;
    o->origin.len = hs->origin_len;
    o->has_host = hs->has_host;
    o->host.p = (const uint8_t *)hs->host;
    o->host.len = hs->host_len;
    o->cookie_bytes = hs->cookie_bytes;
    if (o->accept_ok)
        a->ws_conns++; /* a WebSocket connection is one with a valid upgrade */
    an_emit(a, &ev);

    if (!o->accept_ok) {
        char detail[400];
        int al = acc ? (int)(acc->value.len < 80 ? acc->value.len : 80) : 0;
        if (!hs->has_key)
            snprintf(detail, sizeof detail, "The server switched protocols although the "
                     "request had no Sec-WebSocket-Key; a client following RFC 6455 fails "
                     "this connection.");
        else if (!acc)
            snprintf(detail, sizeof detail, "The 101 response has no Sec-WebSocket-Accept "
                     "(expected %s); a client following RFC 6455 fails this connection.",
                     expect);
        else
            snprintf(detail, sizeof detail, "Sec-WebSocket-Accept is \"%.*s\" but the key "
                     "calls for \"%s\"; a client following RFC 6455 fails this connection "
                     "(frames that follow are decoded anyway).",
                     al, (const char *)acc->value.p, expect);
        emit_ws_fail(a, c, WST_WSFAIL_ACCEPT_MISMATCH, 101, detail);
    }
    if (ext_problem[0]) {
        an_event_init(a, &ev, WST_EV_WS_ERROR, c, WST_DIR_S2C);
        ev.u.ws_error.kind = "bad_extension";
        ev.u.ws_error.detail = ext_problem;
        an_emit(a, &ev);
    }

    /* Both directions carry frames from here on. */
    ap->ws = wsapp_new(&cfg, &a->lim, &a->app_budget, false);
    if (!ap->ws)
        http_error(a, c, SIDE_S, "limit",
                   "The memory for application layers is used up (--max-app-total, or out of "
                   "memory): this WebSocket connection's frames are not decoded.");
    ap->proto = AP_WS;
    for (int s = 0; s < 2; s++)
        ap->d[s].st = AD_WS;
}

/* ---- HTTP messages ---- */

static void pending_push(struct app_conn *ap, const struct http_msg *m, bool ws)
{
    if (ap->pend_n == APP_MAX_PENDING)
        return; /* answers beyond this are treated as answers to GET */
    struct app_pending *p = &ap->pending[(ap->pend_head + ap->pend_n) % APP_MAX_PENDING];
    size_t n = m->method.len < sizeof p->method - 1 ? m->method.len : sizeof p->method - 1;
    memcpy(p->method, m->method.p, n);
    p->method[n] = '\0';
    p->ws_upgrade = ws;
    ap->pend_n++;
}

static bool pending_pop(struct app_conn *ap, struct app_pending *out, bool consume)
{
    if (ap->pend_n == 0)
        return false;
    *out = ap->pending[ap->pend_head];
    if (consume) {
        ap->pend_head = (ap->pend_head + 1) % APP_MAX_PENDING;
        ap->pend_n--;
    }
    return true;
}

static void emit_http(struct wst_analyzer *a, struct conn *c, int side, struct app_dir *d,
                      const struct http_msg *m, unsigned extra_flags)
{
    struct wst_event ev;
    an_event_init(a, &ev, side == SIDE_C ? WST_EV_HTTP_REQUEST : WST_EV_HTTP_RESPONSE, c,
                  side_dir(side));
    struct wst_ev_http *h = &ev.u.http;
    h->method = m->method;
    h->target = m->target;
    h->status = m->status;
    h->reason = m->reason;
    h->vmajor = m->vmajor;
    h->vminor = m->vminor;
    h->headers = m->headers;
    h->nheaders = m->nhdrs;
    h->hdr_bytes = m->hdr_bytes;
    h->segments = d->seg;
    h->nsegments = d->nseg;
    h->segments_more = d->seg_more;
    h->flags = (m->flags & (WST_HTTP_BARE_LF | WST_HTTP_FOLDED)) | extra_flags;
    /* an interim (1xx) answer belongs to the transaction its final answer ends */
    if (side == SIDE_S && http_status_interim(m->status))
        h->txn = d->txn + 1;
    else
        h->txn = ++d->txn;
    an_emit(a, &ev);
}

static void body_start(struct wst_analyzer *a, struct conn *c, int side, struct app_dir *d,
                       const struct http_msg *m, const char *req_method)
{
    if (http_body_init(&d->body, m, side == SIDE_C, req_method) < 0) {
        const char *why = http_body_err_str(d->body.err);
        http_error(a, c, side, "body", why ? why : "the body framing cannot be determined");
        d->st = AD_RESYNC;
        d->in_body = false;
        return;
    }
    d->in_body = !d->body.done;
}

/* A complete message body. */
static void body_done(struct wst_analyzer *a, struct conn *c, int side, struct app_dir *d)
{
    d->in_body = false;
    if (side == SIDE_S && c->app->hs.fail_pending)
        hs_fail_flush(a, c, &d->body);
}

static void on_request(struct wst_analyzer *a, struct conn *c, struct app_dir *d,
                       const struct http_msg *m, uint64_t frame)
{
    struct app_conn *ap = c->app;
    bool ws = is_ws_request(m);

    pending_push(ap, m, ws);
    if (ws) {
        hs_record(ap, m, a, d, frame);
        ap->hs.first_in_stream = head_starts_stream(c, d);
        d->st = AD_HOLD; /* what follows depends on the answer */
    }
    body_start(a, c, SIDE_C, d, m, NULL);
    if (d->st == AD_HOLD)
        d->in_body = false; /* an upgrade request with a body is not followed further */
}

static void release_hold(struct wst_analyzer *a, struct conn *c, enum app_dstate to);

static void on_response(struct wst_analyzer *a, struct conn *c, struct app_dir *d,
                        const struct http_msg *m)
{
    struct app_conn *ap = c->app;
    struct app_pending req;
    bool interim = http_status_interim(m->status);
    bool have = pending_pop(ap, &req, !interim);

    if (!have) {
        memset(&req, 0, sizeof req);
        memcpy(req.method, "GET", 4);
    }
    if (interim) {
        d->in_body = false;
        return;
    }
    if (req.ws_upgrade && ap->hs.active) {
        if (m->status == 101) {
            hs_answer_101(a, c, m);
            release_hold(a, c, AD_WS);
            return;
        }
        hs_answer_not_101(c, m);
        body_start(a, c, SIDE_S, d, m, req.method);
        if (!d->in_body)
            hs_fail_flush(a, c, NULL);
        release_hold(a, c, AD_HTTP);
        return;
    }
    if (m->status == 101 || (strcmp(req.method, "CONNECT") == 0 && m->status / 100 == 2)) {
        /* another protocol (h2c, tcp, a tunnel): not ours to parse */
        ap->proto = AP_OPAQUE;
        for (int s = 0; s < 2; s++)
            ap->d[s].st = AD_OPAQUE;
        return;
    }
    body_start(a, c, SIDE_S, d, m, req.method);
}

static void dir_input(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p,
                      size_t len, uint64_t frame);

/* The client's bytes held behind an upgrade request go where the answer says. */
static void release_hold(struct wst_analyzer *a, struct conn *c, enum app_dstate to)
{
    struct app_dir *d = &c->app->d[SIDE_C];
    if (d->st != AD_HOLD)
        return;
    d->st = to;
    if (d->buf.len == 0)
        return;
    /* feed a private copy: dir_input may reuse the buffer */
    size_t n = d->buf.len;
    uint8_t *tmp = malloc(n);
    if (!tmp) {
        dynbuf_reset(&d->buf);
        return;
    }
    memcpy(tmp, d->buf.p, n);
    dynbuf_reset(&d->buf);
    uint64_t frame = d->nseg ? d->seg[d->nseg - 1].frame : a->frame;
    d->nseg = 0;
    d->seg_more = 0;
    dir_input(a, c, SIDE_C, tmp, n, frame);
    free(tmp);
}

/* Parse HTTP heads and skip bodies in p; returns when p is used up or the state changes to
 * something that is not HTTP (the caller then passes the rest on). */
static size_t http_input(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p,
                         size_t len, uint64_t frame)
{
    struct app_dir *d = &c->app->d[side];
    size_t used = 0;

    while (used < len && d->st == AD_HTTP) {
        const uint8_t *q = p + used;
        size_t qn = len - used;
        if (d->in_body) {
            bool done = false;
            ptrdiff_t n = http_body_feed(&d->body, q, qn, &done);
            if (n < 0) {
                const char *why = http_body_err_str(d->body.err);
                http_error(a, c, side, "body", why ? why : "malformed body");
                d->in_body = false;
                d->st = AD_RESYNC;
                return len;
            }
            used += (size_t)n;
            if (done)
                body_done(a, c, side, d);
            continue;
        }
        const uint8_t *hb = q;
        size_t hl = qn, before = 0;
        if (d->buf.len > 0) {
            before = d->buf.len;
            if (dynbuf_add(&d->buf, q, qn) < 0) {
                http_error(a, c, side, "too_large",
                           "a header block larger than 65536 bytes; HTTP parsing stops here");
                dynbuf_reset(&d->buf);
                d->st = AD_RESYNC;
                return len;
            }
            hb = d->buf.p;
            hl = d->buf.len;
        }
        struct wst_header hdrs[APP_MAX_HEADERS];
        struct http_msg m;
        http_msg_init(&m, hdrs, APP_MAX_HEADERS);
        ptrdiff_t r = http_parse_head(hb, hl, d->scanned, side == SIDE_C, NULL, &m);
        if (r == HTTP_INCOMPLETE) {
            if (before == 0 && dynbuf_add(&d->buf, q, qn) < 0) {
                http_error(a, c, side, "too_large", "a header block too large to keep");
                d->st = AD_RESYNC;
                return len;
            }
            seg_add(d, frame, qn);
            d->scanned = hl;
            return len;
        }
        if (r < 0) {
            http_error(a, c, side, r == HTTP_TOO_LARGE ? "too_large" : "malformed",
                       r == HTTP_TOO_LARGE
                           ? "the header block exceeds 65536 bytes or 128 fields"
                           : (side == SIDE_C ? "bytes that are not an HTTP request where one "
                                               "was expected; HTTP parsing resumes at the "
                                               "next segment that starts a request"
                                             : "bytes that are not an HTTP response where "
                                               "one was expected; HTTP parsing resumes at "
                                               "the next segment that starts a response"));
            dynbuf_reset(&d->buf);
            d->scanned = 0;
            d->nseg = 0;
            d->seg_more = 0;
            d->st = AD_RESYNC;
            return len;
        }
        /* this segment's share of the head: all of it that is not in the buffer already */
        size_t mine = (size_t)r > before ? (size_t)r - before : 0;
        seg_add(d, frame, mine);
        emit_http(a, c, side, d, &m, 0);
        if (side == SIDE_C)
            on_request(a, c, d, &m, frame);
        else
            on_response(a, c, d, &m);
        d->scanned = 0;
        d->nseg = 0;
        d->seg_more = 0;
        dynbuf_reset(&d->buf); /* slices into it are dead now: events were emitted */
        used += mine;
    }
    return used;
}

static bool starts_message(int side, const uint8_t *p, size_t len)
{
    return side == SIDE_C ? http_looks_like_request(p, len) == HTTP_SNIFF_YES
                          : http_looks_like_response(p, len) == HTTP_SNIFF_YES;
}

static void dir_input(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p,
                      size_t len, uint64_t frame)
{
    struct app_conn *ap = c->app;
    struct app_dir *d = &ap->d[side];

    while (len > 0) {
        switch (d->st) {
        case AD_RESYNC:
            if (!starts_message(side, p, len))
                return;
            d->st = AD_HTTP;
            /* fall through */
        case AD_HTTP: {
            size_t n = http_input(a, c, side, p, len, frame);
            p += n;
            len -= n;
            break;
        }
        case AD_HOLD:
            if (dynbuf_add(&d->buf, p, len) < 0) {
                /* the server never answers and the client streams on: stop holding */
                dynbuf_reset(&d->buf);
                d->st = AD_OPAQUE;
            } else {
                seg_add(d, frame, len);
            }
            return;
        case AD_WS:
            if (ap->ws)
                wsapp_data(ap->ws, a, c, side, p, len, frame);
            return;
        case AD_OPAQUE:
        case AD_MID:
            return;
        }
    }
}

/* ---- mid-stream WebSocket recognition ---- */

static bool conn_midstream(const struct conn *c)
{
    return !(c->side[SIDE_C].syn_seen && c->side[SIDE_S].syn_seen);
}

static void emit_midstream(struct wst_analyzer *a, struct conn *c, bool recognized,
                           const char *rule, uint64_t at_frame, const char *detail)
{
    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_WS_MIDSTREAM, c, WST_DIR_NONE);
    ev.u.ws_midstream.recognized = recognized;
    ev.u.ws_midstream.rule = rule;
    ev.u.ws_midstream.at_frame = at_frame;
    ev.u.ws_midstream.detail = detail;
    an_emit(a, &ev);
}

static void mid_tell_forced(struct wst_analyzer *a, struct conn *c)
{
    char detail[200];
    snprintf(detail, sizeof detail, "WebSocket by --ws-port %u (no handshake captured): frames "
             "are looked for from the first captured byte.", (unsigned)c->ep[SIDE_S].port);
    emit_midstream(a, c, true, "ws_port", 0, detail);
}

static const char *side_name(int s)
{
    return s == SIDE_C ? "client (masked frames)" : "server (unmasked frames)";
}

/* ws.midstream: what recognition concluded, in one sentence. */
static void mid_tell(struct wst_analyzer *a, struct conn *c, bool recognized)
{
    const struct wsmid *m = c->app->mid;
    char why[200], detail[600];

    if (!recognized) {
        snprintf(detail, sizeof detail, "no handshake captured; not recognized as WebSocket; "
                 "--ws-port %u forces it", (unsigned)c->ep[SIDE_S].port);
        emit_midstream(a, c, false, NULL, 0, detail);
        return;
    }
    int s = m->rule == WSMID_BY_BOTH ? -1 : m->by_side;
    uint64_t at = 0;
    for (int k = 0; k < 2; k++) {
        long off = wsmid_accepted(m, k);
        const struct wsmid_seg *sg = off >= 0 ? wsmid_seg_at(m, k, (size_t)off) : NULL;
        if (sg && (s < 0 || s == k) && (at == 0 || sg->frame < at))
            at = sg->frame;
    }
    const char *rule = "chain";
    if (m->rule == WSMID_BY_BOTH) {
        rule = "both_directions";
        snprintf(why, sizeof why, "frames from the first captured byte of both directions "
                 "(client masked, server not)");
    } else {
        long off = wsmid_accepted(m, s);
        char from[80];
        if (off > 0)
            snprintf(from, sizeof from, "after %ld bytes that are not frame headers", off);
        else
            snprintf(from, sizeof from, "from its first captured byte");
        if (m->rule == WSMID_BY_END) {
            rule = "end_of_stream";
            snprintf(why, sizeof why, "the %s stream ended right after %d frames, %s",
                     side_name(s), m->d[s].headers, from);
        } else {
            snprintf(why, sizeof why, "%s%d frame headers in a row from the %s, %s",
                     m->d[s].headers >= WSMID_CHAIN_ANY ? "at least " : "", m->d[s].headers,
                     side_name(s), from);
        }
    }
    snprintf(detail, sizeof detail, "WebSocket recognized mid-stream (no handshake captured) at "
             "frame %llu: %s; compressed messages are read as permessage-deflate, and one that "
             "refers to data before the capture is lost_context.",
             (unsigned long long)at, why);
    emit_midstream(a, c, true, rule, at, detail);
}

/* Feed the held bytes of the sides in start[] to their decoders from where their frames
 * start, packet by packet in capture order, each with its packet's number and time. */
static void mid_replay(struct wst_analyzer *a, struct conn *c, const bool start[2])
{
    struct app_conn *ap = c->app;
    const struct wsmid *m = ap->mid;
    size_t si[2] = {0, 0}, skip[2] = {0, 0};
    uint64_t frame0 = a->frame;
    int64_t now0 = a->now;

    for (int s = 0; s < 2; s++) {
        si[s] = m->d[s].nseg;
        long off = wsmid_accepted(m, s);
        if (!start[s] || off < 0)
            continue;
        const struct wsmid_seg *sg = wsmid_seg_at(m, s, (size_t)off);
        if (!sg)
            continue;
        si[s] = (size_t)(sg - m->d[s].seg);
        skip[s] = (size_t)off - sg->off;
    }
    for (;;) {
        int s = -1;
        for (int k = 0; k < 2; k++)
            if (si[k] < m->d[k].nseg && (s < 0 || m->d[k].seg[si[k]].frame < m->d[s].seg[si[s]].frame))
                s = k;
        if (s < 0)
            break;
        const struct wsmid_seg *sg = &m->d[s].seg[si[s]++];
        a->frame = sg->frame;
        a->now = sg->ts;
        if (ap->ws && sg->len > skip[s])
            wsapp_data(ap->ws, a, c, s, m->d[s].buf + sg->off + skip[s], sg->len - skip[s],
                       sg->frame);
        skip[s] = 0;
    }
    a->frame = frame0;
    a->now = now0;
}

static void mid_stop(struct app_conn *ap, enum app_proto proto)
{
    wsmid_free(ap->mid);
    ap->mid = NULL;
    ap->proto = proto;
    for (int s = 0; s < 2; s++)
        if (ap->d[s].st == AD_MID)
            ap->d[s].st = proto == AP_WS ? AD_WS : AD_OPAQUE;
}

/* Ask the rule again after new bytes, a gap or the end. */
static void mid_step(struct wst_analyzer *a, struct conn *c)
{
    struct app_conn *ap = c->app;
    int r = wsmid_decide(ap->mid);
    if (r == WSMID_MORE)
        return;
    if (r == WSMID_NO) {
        mid_tell(a, c, false);
        mid_stop(ap, AP_OPAQUE);
        return;
    }
    if (!ap->ws) {
        ap->ws = wsapp_new(NULL, &a->lim, &a->app_budget, false);
        if (!ap->ws) {
            http_error(a, c, SIDE_C, "limit",
                       "The memory for application layers is used up (--max-app-total, or "
                       "out of memory): this WebSocket connection's frames are not decoded.");
            mid_stop(ap, AP_OPAQUE);
            return;
        }
        mid_tell(a, c, true);
    }
    bool start[2] = {false, false};
    for (int s = 0; s < 2; s++) {
        long off = wsmid_accepted(ap->mid, s);
        if (ap->d[s].st != AD_MID || off == -1)
            continue;
        wsapp_start_side(ap->ws, s, off >= 0, ap->mid->d[s].headers < WSMID_CHAIN_SEG);
        ap->d[s].st = AD_WS;
        start[s] = off >= 0;
    }
    mid_replay(a, c, start);
    for (int s = 0; s < 2; s++) {
        uint64_t lost = ap->mid->d[s].dropped; /* bytes past the full hold */
        if (start[s] && lost) {
            wsapp_gap(ap->ws, a, c, s, lost); /* the decoder resynchronizes after them */
            ap->mid->d[s].dropped = 0;
        }
    }
    if (ap->d[SIDE_C].st != AD_MID && ap->d[SIDE_S].st != AD_MID)
        mid_stop(ap, AP_WS);
}

/* Recognition starts: the bytes each side held while undecided go to it first. */
static void mid_begin(struct wst_analyzer *a, struct conn *c)
{
    struct app_conn *ap = c->app;
    ap->mid = wsmid_new(a->lim.max_message, &a->app_budget);
    if (!ap->mid) {
        http_error(a, c, SIDE_C, "limit",
                   "The memory for application layers is used up (--max-app-total, or out of "
                   "memory): this connection is not examined for WebSocket frames.");
        ap->proto = AP_OPAQUE;
        for (int s = 0; s < 2; s++)
            dynbuf_reset(&ap->d[s].buf);
        return;
    }
    for (int s = 0; s < 2; s++) {
        struct app_dir *d = &ap->d[s];
        size_t off = 0;
        for (size_t i = 0; i < d->nseg && off < d->buf.len; i++) {
            size_t take = d->seg[i].bytes < d->buf.len - off ? d->seg[i].bytes
                                                              : d->buf.len - off;
            wsmid_add(ap->mid, s, d->buf.p + off, take, d->seg[i].frame, d->seg_ts[i]);
            off += take;
        }
        if (off < d->buf.len)
            wsmid_add(ap->mid, s, d->buf.p + off, d->buf.len - off, a->frame, a->now);
        dynbuf_reset(&d->buf);
        d->nseg = 0;
        d->seg_more = 0;
        d->st = AD_MID;
    }
}

/* ---- detection ---- */

static void emit_tls(struct wst_analyzer *a, struct conn *c, int side, const struct tls_hello *h)
{
    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_TLS_HELLO, c, side_dir(side));
    struct wst_ev_tls *t = &ev.u.tls;
    if (h->has_sni) {
        t->sni.p = h->sni;
        t->sni.len = h->sni_len;
    }
    for (size_t i = 0; i < h->nalpn && i < WST_MAX_ALPN; i++) {
        t->alpn[i].p = h->alpn[i];
        t->alpn[i].len = h->alpn_len[i];
        t->nalpn++;
    }
    t->version = h->max_version ? h->max_version : h->legacy_version;
    an_emit(a, &ev);
}

/* Decide what the connection speaks from the first bytes of side. Returns false while the
 * bytes so far cannot tell. */
static bool detect(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p,
                   size_t len)
{
    struct app_conn *ap = c->app;
    bool undecided = false;

    if (side == SIDE_C) {
        int h2 = sniff_h2_preface(p, len);
        if (h2 == SNIFF_YES) {
            struct wst_event ev;
            an_event_init(a, &ev, WST_EV_H2_PREFACE, c, side_dir(side));
            ev.u.h2.in_tls = ap->tls != NULL;
            an_emit(a, &ev);
            ap->proto = AP_H2;
            return true;
        }
        undecided |= h2 == SNIFF_INCOMPLETE;
        struct tls_hello *hello = ap->tls ? NULL : malloc(sizeof *hello);
        if (hello) {
            int t = sniff_tls_client_hello(p, len, hello);
            if (t == SNIFF_YES)
                emit_tls(a, c, side, hello);
            free(hello);
            if (t == SNIFF_YES) {
                ap->proto = AP_TLS;
                return true;
            }
            undecided |= t == SNIFF_INCOMPLETE;
        }
        int req = http_looks_like_request(p, len);
        if (req == HTTP_SNIFF_YES) {
            ap->proto = AP_HTTP;
            return true;
        }
        undecided |= req == HTTP_INCOMPLETE;
    } else {
        int rsp = http_looks_like_response(p, len);
        if (rsp == HTTP_SNIFF_YES) {
            ap->proto = AP_HTTP;
            return true;
        }
        undecided |= rsp == HTTP_INCOMPLETE;
        /* inside TLS the server may speak first (an HTTP/2 SETTINGS frame right after its
         * Finished): wait for the client's first bytes */
        undecided |= ap->tls != NULL;
    }
    if (wsapp_port_forced(a, c)) {
        mid_tell_forced(a, c);
        ap->proto = AP_WS;
        ap->ws = wsapp_new(NULL, &a->lim, &a->app_budget, true);
        if (!ap->ws)
            http_error(a, c, side, "limit",
                       "The memory for application layers is used up (--max-app-total, or "
                       "out of memory): this WebSocket connection's frames are not decoded.");
        for (int s = 0; s < 2; s++)
            ap->d[s].st = AD_WS;
        return true;
    }
    if (conn_midstream(c)) { /* TLS picked up after its ClientHello: not ours either */
        int t = sniff_tls_records(p, len);
        if (t == SNIFF_YES) {
            struct wst_event ev;
            an_event_init(a, &ev, WST_EV_TLS_DECRYPT, c, WST_DIR_NONE);
            ev.u.tls_dec.status = "no_handshake";
            ev.u.tls_dec.detail = "TLS: NOT decrypted: the capture picks the connection up "
                                  "after its ClientHello (mid-session), so its client random "
                                  "and cipher suite are unknown";
            an_emit(a, &ev);
            ap->proto = AP_OPAQUE;
            return true;
        }
        undecided |= t == SNIFF_INCOMPLETE;
    }
    size_t wait = TLS_RECORD_HDR + TLS_RECORD_MAX;
    if (conn_midstream(c))
        wait += 2048 + TLS_RECORD_HDR; /* a ciphertext record and the next header */
    if (undecided && len < wait)
        return false;
    /* A stream whose start was captured and is none of these is not WebSocket (that starts
     * with an HTTP upgrade); one picked up midstream may be. */
    ap->proto = conn_midstream(c) ? AP_MIDWS : AP_OPAQUE;
    return true;
}

/* Feed the bytes a side kept while the protocol was undecided, with the frames they came
 * from; extra (if any) is the segment that just arrived on that side. */
static void replay_held(struct wst_analyzer *a, struct conn *c, int side, uint64_t frame)
{
    struct app_conn *ap = c->app;
    struct app_dir *d = &ap->d[side];
    size_t n = d->buf.len;
    if (n == 0)
        return;
    uint8_t *tmp = malloc(n);
    if (!tmp) {
        dynbuf_reset(&d->buf);
        return;
    }
    memcpy(tmp, d->buf.p, n);
    dynbuf_reset(&d->buf);
    struct wst_segment seg[APP_MAX_SEGS];
    size_t nseg = d->nseg;
    memcpy(seg, d->seg, sizeof seg);
    d->nseg = 0;
    d->seg_more = 0;
    bool ours = ap->proto == AP_HTTP || ap->proto == AP_WS;
    if (frame == 0 && nseg > 0)
        frame = seg[nseg - 1].frame;
    size_t off = 0;
    for (size_t i = 0; i < nseg && off < n; i++) {
        size_t take = seg[i].bytes < n - off ? seg[i].bytes : n - off;
        if (ours)
            dir_input(a, c, side, tmp + off, take, seg[i].frame);
        off += take;
    }
    if (off < n && ours)
        dir_input(a, c, side, tmp + off, n - off, frame);
    free(tmp);
}

/* The TLS layer takes the connection: the bytes held while detecting go to it, with their
 * packets, and the plaintext it returns is detected afresh (HTTP, h2, ...). */
static void tls_begin(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p,
                      size_t len, uint64_t frame)
{
    struct app_conn *ap = c->app;
    ap->tls = tlsapp_new(a, c);
    if (!ap->tls) {
        http_error(a, c, side, "limit",
                   "The memory for application layers is used up (--max-app-total, or out of "
                   "memory): this TLS connection is not decrypted.");
        ap->proto = AP_OPAQUE;
        for (int s = 0; s < 2; s++)
            dynbuf_reset(&ap->d[s].buf);
        return;
    }
    ap->proto = AP_DETECT;
    bool held_here = ap->d[side].buf.len > 0;
    int order[2] = {side == SIDE_C ? SIDE_S : SIDE_C, side};
    for (int k = 0; k < 2; k++) {
        int s = order[k];
        struct app_dir *d = &ap->d[s];
        size_t n = d->buf.len;
        if (n == 0)
            continue;
        uint8_t *tmp = malloc(n);
        if (tmp)
            memcpy(tmp, d->buf.p, n);
        dynbuf_reset(&d->buf);
        struct wst_segment seg[APP_MAX_SEGS];
        int64_t ts[APP_MAX_SEGS];
        size_t nseg = d->nseg < APP_MAX_SEGS ? d->nseg : APP_MAX_SEGS;
        memcpy(seg, d->seg, sizeof seg);
        memcpy(ts, d->seg_ts, sizeof ts);
        d->nseg = 0;
        d->seg_more = 0;
        if (!tmp)
            continue;
        size_t off = 0;
        for (size_t i = 0; i < nseg && off < n; i++) {
            size_t take = seg[i].bytes < n - off ? seg[i].bytes : n - off;
            bool last = i + 1 == nseg || off + take == n;
            tlsapp_data(ap->tls, a, c, s, tmp + off, take, seg[i].frame,
                        last && s == side ? a->now : ts[i]);
            off += take;
        }
        if (off < n)
            tlsapp_data(ap->tls, a, c, s, tmp + off, n - off, s == side ? frame : a->frame,
                        a->now);
        free(tmp);
    }
    if (!held_here)
        tlsapp_data(ap->tls, a, c, side, p, len, frame, a->now);
}

static void app_input(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p,
                      size_t len, uint64_t frame);

void app_data(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p, uint32_t len,
              uint64_t frame)
{
    struct app_conn *ap = app_get(a, c, side);
    if (!ap)
        return;
    if (ap->tls) {
        tlsapp_data(ap->tls, a, c, side, p, len, frame, a->now);
        return;
    }
    app_input(a, c, side, p, len, frame);
}

void app_plain(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p, size_t len,
               uint64_t frame)
{
    if (c->app)
        app_input(a, c, side, p, len, frame);
}

static void app_input(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p,
                      size_t len, uint64_t frame)
{
    struct app_conn *ap = c->app;
    if (ap->proto == AP_DETECT) {
        struct app_dir *d = &ap->d[side];
        const uint8_t *q = p;
        size_t qn = len;
        if (d->buf.len > 0) { /* bytes that could not decide yet */
            if (dynbuf_add(&d->buf, p, len) < 0) {
                ap->proto = AP_OPAQUE;
                return;
            }
            seg_add(d, frame, len);
            q = d->buf.p;
            qn = d->buf.len;
        }
        if (!detect(a, c, side, q, qn)) {
            if (d->buf.len == 0) {
                if (dynbuf_add(&d->buf, p, len) < 0)
                    ap->proto = AP_OPAQUE;
                else
                    seg_add(d, frame, len);
            }
            if (d->nseg > 0 && d->nseg <= APP_MAX_SEGS && d->seg[d->nseg - 1].frame == frame)
                d->seg_ts[d->nseg - 1] = a->now;
            return;
        }
        if (ap->proto == AP_MIDWS) {
            if (d->buf.len == 0 && dynbuf_add(&d->buf, p, len) == 0)
                seg_add(d, frame, len);
            if (d->nseg > 0 && d->seg[d->nseg - 1].frame == frame)
                d->seg_ts[d->nseg - 1] = a->now;
            mid_begin(a, c);
            if (ap->mid)
                mid_step(a, c);
            return;
        }
        if (ap->proto == AP_TLS && !ap->tls) {
            tls_begin(a, c, side, p, len, frame);
            return;
        }
        /* Decided. The other side's undecided bytes came first in capture order; then
         * this side's kept bytes (which include this segment when any were kept). */
        int other = side == SIDE_C ? SIDE_S : SIDE_C;
        replay_held(a, c, other, 0);
        if (d->buf.len > 0) {
            replay_held(a, c, side, frame);
            return;
        }
    }
    if (ap->proto == AP_MIDWS && ap->d[side].st == AD_MID) {
        wsmid_add(ap->mid, side, p, len, frame, a->now);
        mid_step(a, c);
        return;
    }
    if (ap->proto == AP_HTTP || ap->proto == AP_WS || ap->proto == AP_MIDWS)
        dir_input(a, c, side, p, len, frame);
}

void app_gap(struct wst_analyzer *a, struct conn *c, int side, uint64_t len)
{
    struct app_conn *ap = c->app;
    if (!ap)
        return;
    if (ap->tls) {
        tlsapp_gap(ap->tls, a, c, side, len);
        return;
    }
    app_plain_gap(a, c, side, len);
}

void app_plain_gap(struct wst_analyzer *a, struct conn *c, int side, uint64_t len)
{
    struct app_conn *ap = c->app;
    if (!ap)
        return;
    struct app_dir *d = &ap->d[side];
    switch (d->st) {
    case AD_HTTP:
        if (d->in_body && d->body.kind == HTTP_BODY_LENGTH && len < d->body.remaining) {
            d->body.remaining -= len; /* the framing survives a hole inside the body */
            return;
        }
        if (d->in_body && d->body.kind == HTTP_BODY_UNTIL_CLOSE)
            return;
        dynbuf_reset(&d->buf);
        d->scanned = 0;
        d->nseg = 0;
        d->seg_more = 0;
        d->in_body = false;
        d->st = AD_RESYNC;
        break;
    case AD_HOLD:
        dynbuf_reset(&d->buf);
        break;
    case AD_WS:
        if (ap->ws)
            wsapp_gap(ap->ws, a, c, side, len);
        break;
    case AD_MID: /* a hole in what is held: recognition starts again after it */
        wsmid_restart(ap->mid, side);
        break;
    case AD_RESYNC:
    case AD_OPAQUE:
        break;
    }
}

/* A request head that never completed: its complete lines, closed by an empty line, are
 * reported as an http.request flagged partial (hdr_bytes: every byte captured of it). An
 * upgrade attempt among them gets the upgrade's outcome like a complete one. */
static void partial_request(struct wst_analyzer *a, struct conn *c)
{
    struct app_conn *ap = c->app;
    struct app_dir *d = &ap->d[SIDE_C];
    if (ap->proto != AP_HTTP || d->st != AD_HTTP || d->in_body || d->buf.len == 0 ||
        ap->hs.active)
        return;
    size_t k = d->buf.len;
    while (k > 0 && d->buf.p[k - 1] != '\n')
        k--;
    if (k == 0)
        return; /* not even the request line */
    uint8_t *tmp = malloc(k + 2);
    if (!tmp)
        return;
    memcpy(tmp, d->buf.p, k);
    tmp[k] = '\r';
    tmp[k + 1] = '\n';
    struct wst_header hdrs[APP_MAX_HEADERS];
    struct http_msg m;
    http_msg_init(&m, hdrs, APP_MAX_HEADERS);
    ptrdiff_t r = http_parse_head(tmp, k + 2, 0, true, NULL, &m);
    if (r > 0) {
        m.hdr_bytes = d->buf.len;
        uint64_t frame = d->nseg ? d->seg[d->nseg - 1].frame : a->frame;
        emit_http(a, c, SIDE_C, d, &m, WST_HTTP_PARTIAL);
        if (is_ws_request(&m)) {
            hs_record(ap, &m, a, d, frame);
            ap->hs.partial = true;
            ap->hs.first_in_stream = head_starts_stream(c, d);
        }
    }
    free(tmp);
}

static double rel_s(const struct wst_analyzer *a, int64_t ts)
{
    return (double)(ts - a->first_ts) / 1e6;
}

/*
 * An upgrade request the server ended the connection on before the head was complete:
 * what happened, in order, with the times and byte counts the capture proves. Returns
 * false when that is not what the capture shows (the other sentences apply).
 */
static bool hs_cut_short(const struct wst_analyzer *a, const struct conn *c,
                         const struct app_hs *hs, char *detail, size_t cap,
                         enum wst_ws_fail *reason)
{
    const struct tcp_side *srv = &c->side[SIDE_S], *cli = &c->side[SIDE_C];
    char head[240];
    if (!hs->first_in_stream)
        return false;
    if (hs->partial)
        snprintf(head, sizeof head, "before the head was complete (its end is not in the "
                 "capture, which holds %llu bytes of it)", (unsigned long long)hs->hdr_bytes);
    else
        snprintf(head, sizeof head, "before the head was complete (%llu bytes by its end "
                 "at %.6f s)", (unsigned long long)hs->hdr_bytes, rel_s(a, hs->req_ts));

    bool fin_first = srv->fin_seen && (!srv->rst_seen || srv->fin_ts <= srv->rst_ts);
    if (fin_first && srv->fin_ack_known && (hs->partial || srv->fin_ack_off < hs->hdr_bytes)) {
        *reason = WST_WSFAIL_NO_RESPONSE_CLOSED;
        size_t n = (size_t)snprintf(detail, cap, "The server closed the connection (FIN at "
                                    "%.6f s, #%llu) after %llu of the request's bytes had "
                                    "arrived, %s", rel_s(a, srv->fin_ts),
                                    (unsigned long long)srv->fin_frame,
                                    (unsigned long long)srv->fin_ack_off, head);
        if (n < cap && srv->rst_seen) {
            uint64_t later = cli->rs.next - srv->peer_next_at_fin;
            if (later > 0)
                n += (size_t)snprintf(detail + n, cap - n, "; its TCP stack then reset the "
                                      "connection (RST at %.6f s, #%llu) as more of the "
                                      "request arrived (%llu bytes after its FIN)", rel_s(a, srv->rst_ts),
                                      (unsigned long long)srv->rst_frame,
                                      (unsigned long long)later);
            else
                n += (size_t)snprintf(detail + n, cap - n, "; then it reset the connection "
                                      "(RST at %.6f s, #%llu)", rel_s(a, srv->rst_ts),
                                      (unsigned long long)srv->rst_frame);
        }
        if (n < cap)
            snprintf(detail + n, cap - n, ": the upgrade failed without an answer.");
        return true;
    }
    if (srv->rst_seen && !fin_first &&
        (hs->partial || srv->peer_next_at_rst < hs->hdr_bytes)) {
        *reason = WST_WSFAIL_NO_RESPONSE_RESET;
        snprintf(detail, cap, "The server reset the connection (RST at %.6f s, #%llu) when "
                 "%llu of the request's bytes had been captured, %s: the upgrade failed "
                 "without an answer.", rel_s(a, srv->rst_ts),
                 (unsigned long long)srv->rst_frame, (unsigned long long)srv->peer_next_at_rst,
                 head);
        return true;
    }
    return false;
}

void app_end(struct wst_analyzer *a, struct conn *c, enum wst_close_how how)
{
    struct app_conn *ap = c->app;
    if (!ap)
        return;
    if (ap->tls)
        tlsapp_end(ap->tls, a, c);
    struct app_dir *ds = &ap->d[SIDE_S];
    if (ds->st == AD_HTTP && ds->in_body) {
        if (http_body_end_of_stream(&ds->body) == 0)
            body_done(a, c, SIDE_S, ds);
    }
    if (ap->hs.fail_pending)
        hs_fail_flush(a, c, ds->in_body ? &ds->body : NULL);
    partial_request(a, c);
    if (ap->hs.active) {
        struct app_hs *hs = &ap->hs;
        const struct tcp_side *srv = &c->side[SIDE_S], *cli = &c->side[SIDE_C];
        char detail[900], hint[400];
        enum wst_ws_fail reason;
        hs_size_hint(hs, hint, sizeof hint);
        double waited_ms = 0;
        size_t dn = 0;
        if (hs_cut_short(a, c, hs, detail, sizeof detail - 400, &reason)) {
            dn = strlen(detail);
            snprintf(detail + dn, sizeof detail - dn, "%s", hint);
        } else if (hs->partial) {
            reason = how == WST_CLOSE_RST ? WST_WSFAIL_NO_RESPONSE_RESET
                     : (srv->fin_seen || cli->fin_seen) ? WST_WSFAIL_NO_RESPONSE_CLOSED
                                                        : WST_WSFAIL_NO_RESPONSE_EOF;
            snprintf(detail, sizeof detail, "The request head never completed (its end is "
                     "not in the capture) and no answer came: the upgrade failed.%s", hint);
        } else if (how == WST_CLOSE_RST && srv->rst_seen) {
            reason = WST_WSFAIL_NO_RESPONSE_RESET;
            waited_ms = (double)(srv->rst_ts - hs->req_ts) / 1000.0;
            snprintf(detail, sizeof detail, "The server reset the connection %.3f ms after "
                     "the upgrade request without answering: the upgrade failed.%s",
                     waited_ms, hint);
        } else if (srv->fin_seen) {
            reason = WST_WSFAIL_NO_RESPONSE_CLOSED;
            waited_ms = (double)(srv->fin_ts - hs->req_ts) / 1000.0;
            snprintf(detail, sizeof detail, "The server closed the connection %.3f ms after "
                     "the upgrade request without answering: the upgrade failed.%s",
                     waited_ms, hint);
        } else if (cli->fin_seen || (how == WST_CLOSE_RST && cli->rst_seen)) {
            reason = how == WST_CLOSE_RST ? WST_WSFAIL_NO_RESPONSE_RESET
                                          : WST_WSFAIL_NO_RESPONSE_CLOSED;
            waited_ms = (double)(cli->end_ts - hs->req_ts) / 1000.0;
            snprintf(detail, sizeof detail, "The client gave up %.3f ms after the upgrade "
                     "request: the server never answered.%s", waited_ms, hint);
        } else {
            reason = WST_WSFAIL_NO_RESPONSE_EOF;
            snprintf(detail, sizeof detail, "No answer to the upgrade request by the end of "
                     "the %s (%.3f s after the request).%s",
                     how == WST_CLOSE_TIMEOUT ? "idle timeout" : "capture",
                     (double)(a->now - hs->req_ts) / 1e6, hint);
        }
        hs->active = false;
        emit_ws_fail(a, c, reason, -1, detail);
    }
    if (ap->proto == AP_MIDWS && ap->mid) {
        wsmid_end(ap->mid, SIDE_C);
        wsmid_end(ap->mid, SIDE_S);
        mid_step(a, c);
    }
    if (ap->ws)
        wsapp_end(ap->ws, a, c);
}
