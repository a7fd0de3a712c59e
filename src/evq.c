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

/* The bytes an event's pointers reach, by type; false for the types that are not queued. */
struct evq_strs {
    const void *p[3];
    size_t len[3];
    int n;
};

static void evq_str(struct evq_strs *s, const void *p, size_t len)
{
    s->p[s->n] = p;
    s->len[s->n] = len;
    s->n++;
}

static void evq_cstr(struct evq_strs *s, const char *p)
{
    evq_str(s, p, p ? strlen(p) + 1 : 0);
}

static bool evq_strings(const struct wst_event *ev, struct evq_strs *s)
{
    s->n = 0;
    switch (ev->type) {
    case WST_EV_TCP_SYN:
    case WST_EV_TCP_OPEN:
    case WST_EV_TCP_ANOMALY:
    case WST_EV_TCP_GAP:
    case WST_EV_WS_FRAME:
        return true;
    case WST_EV_TCP_CLOSE:
        evq_cstr(s, ev->u.close.history);
        return true;
    case WST_EV_WS_MESSAGE:
        evq_str(s, ev->u.ws_message.data.p, ev->u.ws_message.data.len);
        return true;
    case WST_EV_WS_CONTROL:
        evq_str(s, ev->u.ws_control.data.p, ev->u.ws_control.data.len);
        evq_str(s, ev->u.ws_control.reason.p, ev->u.ws_control.reason.len);
        return true;
    case WST_EV_WS_ERROR:
        evq_cstr(s, ev->u.ws_error.kind);
        evq_cstr(s, ev->u.ws_error.detail);
        return true;
    case WST_EV_PACKET_ERROR:
        evq_cstr(s, ev->u.pkterr.layer);
        evq_cstr(s, ev->u.pkterr.detail);
        return true;
    default:
        return false;
    }
}

bool evq_push(struct evq *q, const struct wst_event *ev)
{
    struct evq_strs s;
    if (!evq_strings(ev, &s))
        return false;
    size_t size = sizeof(struct evq_rec);
    for (int i = 0; i < s.n; i++) {
        if (s.len[i] > EVQ_BATCH_SIZE)
            return false;
        size += s.len[i];
    }
    size = evq_round(size);
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
    unsigned char *w = (unsigned char *)(r + 1);
    const void *copy[3];
    for (int i = 0; i < s.n; i++) {
        copy[i] = s.p[i] ? w : NULL;
        if (s.p[i] && s.len[i])
            memcpy(w, s.p[i], s.len[i]);
        w += s.len[i];
    }
    switch (ev->type) {
    case WST_EV_TCP_CLOSE:
        r->ev.u.close.history = copy[0];
        break;
    case WST_EV_WS_MESSAGE:
        r->ev.u.ws_message.data.p = copy[0];
        break;
    case WST_EV_WS_CONTROL:
        r->ev.u.ws_control.data.p = copy[0];
        r->ev.u.ws_control.reason.p = copy[1];
        break;
    case WST_EV_WS_ERROR:
        r->ev.u.ws_error.kind = copy[0];
        r->ev.u.ws_error.detail = copy[1];
        break;
    case WST_EV_PACKET_ERROR:
        r->ev.u.pkterr.layer = copy[0];
        r->ev.u.pkterr.detail = copy[1];
        break;
    default:
        break;
    }
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
