/* evq.c - copies of events in batches for one formatting thread (see evq.h).
 *
 * The batches are used round robin: the producer fills batch published % EVQ_BATCHES and
 * publishes it; the thread formats batch consumed % EVQ_BATCHES. A batch is free again once
 * consumed passes it, so the producer waits only when all of them are queued. Nothing is
 * allocated after evq_new. */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evq.h"

/* One queued event: the event, the endpoints it points to, then the bytes of its strings. */
struct evq_rec {
    size_t size; /* of the whole record, a multiple of EVQ_ALIGN */
    struct wst_event ev;
    struct wst_endpoint ep[2];
};

#define EVQ_ALIGN alignof(struct evq_rec)

struct evq_batch {
    unsigned char *buf;
    size_t len;
};

struct evq {
    evq_fmt_fn fmt;
    void *ctx;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t work; /* the thread waits here for a published batch (or stop) */
    pthread_cond_t done; /* the producer waits here for a consumed batch */
    uint64_t published, consumed; /* batch counts, under mu */
    bool stop;
    atomic_bool failed;
    struct evq_batch b[EVQ_BATCHES];
    bool cur_ready; /* the producer owns batch published % EVQ_BATCHES */
};

static size_t evq_round(size_t n)
{
    return (n + EVQ_ALIGN - 1) / EVQ_ALIGN * EVQ_ALIGN;
}

static void *evq_thread(void *arg)
{
    struct evq *q = arg;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->consumed == q->published && !q->stop)
            pthread_cond_wait(&q->work, &q->mu);
        if (q->consumed == q->published)
            break; /* stopped and nothing left */
        struct evq_batch *b = &q->b[q->consumed % EVQ_BATCHES];
        pthread_mutex_unlock(&q->mu);

        for (size_t off = 0; off < b->len;) {
            struct evq_rec *r = (struct evq_rec *)(void *)(b->buf + off);
            if (!atomic_load_explicit(&q->failed, memory_order_relaxed) && !q->fmt(q->ctx, &r->ev))
                atomic_store(&q->failed, true);
            off += r->size;
        }
        b->len = 0;

        pthread_mutex_lock(&q->mu);
        q->consumed++;
        pthread_cond_signal(&q->done);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

struct evq *evq_new(evq_fmt_fn fmt, void *ctx)
{
    struct evq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->fmt = fmt;
    q->ctx = ctx;
    atomic_init(&q->failed, false);
    for (int i = 0; i < EVQ_BATCHES; i++) {
        q->b[i].buf = malloc(EVQ_BATCH_SIZE);
        if (!q->b[i].buf)
            goto out_free;
    }
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        goto out_free;
    if (pthread_cond_init(&q->work, NULL) != 0)
        goto out_mutex;
    if (pthread_cond_init(&q->done, NULL) != 0)
        goto out_work;
    if (pthread_create(&q->th, NULL, evq_thread, q) != 0)
        goto out_done;
    return q;

out_done:
    pthread_cond_destroy(&q->done);
out_work:
    pthread_cond_destroy(&q->work);
out_mutex:
    pthread_mutex_destroy(&q->mu);
out_free:
    for (int i = 0; i < EVQ_BATCHES; i++)
        free(q->b[i].buf);
    free(q);
    return NULL;
}

/* Hand the current batch to the thread (if it holds anything). */
static void evq_publish(struct evq *q)
{
    if (!q->cur_ready || q->b[q->published % EVQ_BATCHES].len == 0)
        return;
    pthread_mutex_lock(&q->mu);
    q->published++;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    q->cur_ready = false;
}

/* Own the next batch: wait while every batch is queued. */
static struct evq_batch *evq_cur(struct evq *q)
{
    if (!q->cur_ready) {
        pthread_mutex_lock(&q->mu);
        while (q->published - q->consumed >= EVQ_BATCHES)
            pthread_cond_wait(&q->done, &q->mu);
        pthread_mutex_unlock(&q->mu);
        q->cur_ready = true;
    }
    return &q->b[q->published % EVQ_BATCHES];
}

/*
 * Deep copy: a record is the event, its endpoints, then whatever its pointers reach (strings,
 * the header and segment arrays of HTTP events). evq_fix runs twice over the same code: dry
 * (w->base NULL) to size the record, then for real into the batch, rebasing each pointer of
 * the record's copy of the event.
 */
struct evq_w {
    unsigned char *base; /* NULL: dry run, only len counts */
    size_t len;          /* bytes after the fixed part */
};

static const void *evq_take(struct evq_w *w, const void *src, size_t n, size_t align)
{
    if (!src)
        return NULL;
    size_t off = (w->len + align - 1) / align * align;
    w->len = off + n;
    if (!w->base)
        return src;
    if (n)
        memcpy(w->base + off, src, n);
    return w->base + off;
}

static void evq_fix_str(struct evq_w *w, struct wst_str *s)
{
    const void *p = evq_take(w, s->p, s->len, 1);
    if (w->base)
        s->p = p;
}

static void evq_fix_cstr(struct evq_w *w, const char **s)
{
    const void *p = *s ? evq_take(w, *s, strlen(*s) + 1, 1) : NULL;
    if (w->base)
        *s = p;
}

/* Rebase e's pointers (e: the record's copy, or a scratch copy in a dry run). False for the
 * types that are not queued. */
static bool evq_fix(struct evq_w *w, struct wst_event *e)
{
    switch (e->type) {
    case WST_EV_TCP_SYN:
    case WST_EV_TCP_OPEN:
    case WST_EV_TCP_ANOMALY:
    case WST_EV_TCP_GAP:
    case WST_EV_TCP_FIN:
    case WST_EV_TCP_RST:
    case WST_EV_WS_FRAME:
    case WST_EV_H2_PREFACE:
        return true;
    case WST_EV_TCP_CLOSE:
        evq_fix_cstr(w, &e->u.close.history);
        return true;
    case WST_EV_HTTP_REQUEST:
    case WST_EV_HTTP_RESPONSE: {
        struct wst_ev_http *h = &e->u.http;
        evq_fix_str(w, &h->method);
        evq_fix_str(w, &h->target);
        evq_fix_str(w, &h->reason);
        const struct wst_header *src = h->headers;
        const struct wst_header *dst =
            evq_take(w, src, h->nheaders * sizeof *src, alignof(struct wst_header));
        for (size_t i = 0; src && i < h->nheaders; i++) {
            struct wst_header t = src[i];
            evq_fix_str(w, &t.name);
            evq_fix_str(w, &t.value);
            if (w->base)
                *(struct wst_header *)(uintptr_t)&dst[i] = t;
        }
        const void *seg = evq_take(w, h->segments, h->nsegments * sizeof *h->segments,
                                   alignof(struct wst_segment));
        if (w->base) {
            h->headers = dst;
            h->segments = seg;
        }
        return true;
    }
    case WST_EV_HTTP_ERROR:
        evq_fix_cstr(w, &e->u.http_error.kind);
        evq_fix_cstr(w, &e->u.http_error.detail);
        return true;
    case WST_EV_TLS_HELLO:
        evq_fix_str(w, &e->u.tls.sni);
        for (size_t i = 0; i < e->u.tls.nalpn && i < WST_MAX_ALPN; i++)
            evq_fix_str(w, &e->u.tls.alpn[i]);
        return true;
    case WST_EV_WS_OPEN: {
        struct wst_ev_ws_open *o = &e->u.ws_open;
        struct wst_str *f[] = {&o->key,        &o->accept, &o->version, &o->protocol,
                               &o->extensions, &o->origin, &o->host};
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            evq_fix_str(w, f[i]);
        return true;
    }
    case WST_EV_WS_FAIL:
        evq_fix_cstr(w, &e->u.ws_fail.detail);
        return true;
    case WST_EV_WS_MIDSTREAM:
        evq_fix_cstr(w, &e->u.ws_midstream.rule);
        evq_fix_cstr(w, &e->u.ws_midstream.detail);
        return true;
    case WST_EV_TLS_SERVER_HELLO:
        evq_fix_cstr(w, &e->u.tls_sh.version);
        evq_fix_cstr(w, &e->u.tls_sh.cipher);
        evq_fix_str(w, &e->u.tls_sh.alpn);
        return true;
    case WST_EV_TLS_DECRYPT:
        evq_fix_cstr(w, &e->u.tls_dec.status);
        evq_fix_cstr(w, &e->u.tls_dec.detail);
        return true;
    case WST_EV_TLS_ALERT:
        evq_fix_cstr(w, &e->u.tls_alert.name);
        return true;
    case WST_EV_TLS_KEY_UPDATE:
        return true;
    case WST_EV_WS_MESSAGE:
        evq_fix_str(w, &e->u.ws_message.data);
        return true;
    case WST_EV_WS_CONTROL:
        evq_fix_str(w, &e->u.ws_control.data);
        evq_fix_str(w, &e->u.ws_control.reason);
        return true;
    case WST_EV_WS_ERROR:
        evq_fix_cstr(w, &e->u.ws_error.kind);
        evq_fix_cstr(w, &e->u.ws_error.detail);
        return true;
    case WST_EV_PACKET_ERROR:
        evq_fix_cstr(w, &e->u.pkterr.layer);
        evq_fix_cstr(w, &e->u.pkterr.detail);
        return true;
    default: /* capture.end: once, and its summary rows read the caller's state */
        return false;
    }
}

bool evq_push(struct evq *q, const struct wst_event *ev)
{
    struct wst_event scratch = *ev;
    struct evq_w dry = {NULL, 0};
    if (!evq_fix(&dry, &scratch))
        return false;
    if (dry.len > EVQ_BATCH_SIZE)
        return false;
    /* r + 1 is aligned like the record, so the dry run's padding is the real one */
    size_t size = evq_round(sizeof(struct evq_rec) + dry.len);
    if (size > EVQ_BATCH_SIZE)
        return false;

    struct evq_batch *b = evq_cur(q);
    if (EVQ_BATCH_SIZE - b->len < size) {
        evq_publish(q);
        b = evq_cur(q);
    }
    struct evq_rec *r = (struct evq_rec *)(void *)(b->buf + b->len);
    r->size = size;
    r->ev = *ev;
    if (ev->client) {
        r->ep[0] = *ev->client;
        r->ev.client = &r->ep[0];
    }
    if (ev->server) {
        r->ep[1] = *ev->server;
        r->ev.server = &r->ep[1];
    }
    /* the variable part starts aligned right after the record header */
    struct evq_w w = {(unsigned char *)(r + 1), 0};
    evq_fix(&w, &r->ev);
    b->len += size;
    return true;
}

void evq_drain(struct evq *q)
{
    evq_publish(q);
    pthread_mutex_lock(&q->mu);
    while (q->consumed != q->published)
        pthread_cond_wait(&q->done, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

bool evq_failed(struct evq *q)
{
    return atomic_load(&q->failed);
}

void evq_free(struct evq *q)
{
    if (!q)
        return;
    evq_drain(q);
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->th, NULL);
    pthread_cond_destroy(&q->done);
    pthread_cond_destroy(&q->work);
    pthread_mutex_destroy(&q->mu);
    for (int i = 0; i < EVQ_BATCHES; i++)
        free(q->b[i].buf);
    free(q);
}
