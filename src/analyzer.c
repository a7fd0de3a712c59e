/* analyzer.c - the per-packet pipeline: decode, flow lookup, TCP, housekeeping, events. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core.h"
#include "ipfrag.h"
#include "tcpanal.h"

#define CLOSED_LINGER_US (60LL * 1000000) /* keep a closed connection to absorb late packets */

void wst_limits_default(struct wst_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->max_flows = 131072;
    lim->idle_timeout_us = 300LL * 1000000; /* 5 minutes, as Zeek's tcp_inactivity_timeout */
    lim->max_frag_datagrams = 64;
    lim->max_frag_bytes = 1u << 22; /* 4 MiB */
    lim->frag_timeout_us = 30LL * 1000000;
    lim->max_ooo_conn = 1u << 20;           /* 1 MiB per direction */
    lim->max_ooo_total = 64ull << 20;       /* 64 MiB */
    lim->max_retain_conn = 1u << 15;        /* 32 KiB per direction */
    lim->max_retain_total = 32ull << 20;    /* 32 MiB */
    lim->max_message = 16ull << 20;         /* 16 MiB */
    lim->max_app_total = 256ull << 20;      /* 256 MiB */
    lim->hash_seed = 0x9e3779b97f4a7c15ULL;
}

struct wst_analyzer *wst_new(const struct wst_limits *lim, wst_event_fn fn, void *user)
{
    struct wst_analyzer *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->lim = *lim;
    a->fn = fn;
    a->user = user;
    a->link = WST_LINK_UNSUPPORTED;
    a->dec.frag = ipfrag_new(lim->max_frag_datagrams, lim->max_frag_bytes, lim->frag_timeout_us);
    if (!a->dec.frag)
        goto out_free_analyzer;
    if (flow_init(&a->ft, lim->max_flows, lim->hash_seed) < 0)
        goto out_free_frag;
    a->app_budget.max = lim->max_app_total;
    a->pool.ooo_max = lim->max_ooo_total;
    a->pool.ooo_max_conn = lim->max_ooo_conn;
    a->pool.ret_max = lim->max_retain_total;
    /* the retention ring is indexed with a mask: round the cap down to a power of two */
    uint32_t rc = lim->max_retain_conn;
    while (rc & (rc - 1))
        rc &= rc - 1;
    a->pool.ret_max_conn = rc;
    return a;

out_free_frag:
    ipfrag_free(a->dec.frag);
out_free_analyzer:
    free(a);
    return NULL;
}

void wst_free(struct wst_analyzer *a)
{
    if (!a)
        return;
    /* Without wst_finish (an embedder stopping early), connections still hold buffers. */
    for (struct conn *c = a->ft.id_head; c; c = c->id_next) {
        reasm_free(&c->side[SIDE_C].rs, &a->pool);
        reasm_free(&c->side[SIDE_S].rs, &a->pool);
        app_free(c);
        tcp_anal_free(a, c);
    }
    flow_free(&a->ft);
    ipfrag_free(a->dec.frag);
    free(a->tls_scratch);
    free(a);
}

void wst_set_keylog(struct wst_analyzer *a, const struct keylog *kl, const char *name,
                    bool (*more)(void *user, int64_t ts, bool new_session), void *user)
{
    a->keylog = kl;
    a->keylog_name = name ? name : "the key log";
    a->keylog_more = more;
    a->keylog_user = user;
}

void wst_set_stream_hooks(struct wst_analyzer *a, const struct wst_stream_hooks *h)
{
    if (h)
        a->hooks = *h;
    else
        memset(&a->hooks, 0, sizeof a->hooks);
}

static enum wst_dir side_dir(int side)
{
    return side == SIDE_C ? WST_DIR_C2S : WST_DIR_S2C;
}

void an_stream_data(struct wst_analyzer *a, struct conn *c, int side, uint64_t off,
                    const uint8_t *p, uint32_t len, uint64_t frame)
{
    (void)off;
    if (a->hooks.data)
        a->hooks.data(a->hooks.user, c->id, side_dir(side), p, len);
    app_data(a, c, side, p, len, frame);
}

void an_stream_gap(struct wst_analyzer *a, struct conn *c, int side, uint64_t off, uint64_t len)
{
    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_TCP_GAP, c, side_dir(side));
    ev.u.gap.seq = off + 1;
    ev.u.gap.len = len;
    an_emit(a, &ev);
    if (a->hooks.gap)
        a->hooks.gap(a->hooks.user, c->id, side_dir(side), len);
    app_gap(a, c, side, len);
}

void an_conn_released(struct wst_analyzer *a, struct conn *c)
{
    if (a->hooks.end)
        a->hooks.end(a->hooks.user, c->id);
}

void wst_set_link(struct wst_analyzer *a, enum wst_link link)
{
    a->link = link;
}

void an_event_init(struct wst_analyzer *a, struct wst_event *ev, enum wst_ev_type t,
                   const struct conn *c, enum wst_dir dir)
{
    memset(ev, 0, sizeof *ev);
    ev->type = t;
    ev->ts_us = a->now;
    ev->rel_us = a->have_first ? a->now - a->first_ts : 0;
    ev->frame = a->frame;
    ev->dir = dir;
    if (c) {
        ev->conn = c->id;
        ev->client = &c->ep[SIDE_C];
        ev->server = &c->ep[SIDE_S];
    }
}

void an_emit(struct wst_analyzer *a, struct wst_event *ev)
{
    a->fn(ev, a->user);
}

static void emit_packet_error(struct wst_analyzer *a, enum wst_pkt_err_kind kind,
                              const struct dec_error *err)
{
    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_PACKET_ERROR, NULL, WST_DIR_NONE);
    ev.u.pkterr.kind = kind;
    ev.u.pkterr.layer = err->layer ? err->layer : "link";
    ev.u.pkterr.detail = err->detail ? err->detail : "undecodable packet";
    an_emit(a, &ev);
}

/* Close idle connections (LRU head first) and forget closed ones that have lingered. */
static void expire_idle(struct wst_analyzer *a)
{
    struct flowtab *ft = &a->ft;
    tcp_reset_expire(a);
    while (ft->lru_head) {
        struct conn *c = ft->lru_head;
        int64_t idle = a->now - c->last_ts;
        if (c->phase == PH_CLOSED) {
            if (idle <= CLOSED_LINGER_US && idle <= a->lim.idle_timeout_us)
                break;
        } else {
            if (idle <= a->lim.idle_timeout_us)
                break;
            tcp_conn_end(a, c, WST_CLOSE_TIMEOUT);
        }
        flow_remove(ft, c);
    }
}

/* Room for one more connection: evict the least recently active one. */
static void make_room(struct wst_analyzer *a)
{
    while (a->ft.count >= a->ft.max && a->ft.lru_head) {
        struct conn *c = a->ft.lru_head;
        if (c->phase != PH_CLOSED) {
            tcp_conn_end(a, c, WST_CLOSE_EVICTED);
            a->evicted++;
        }
        flow_remove(&a->ft, c);
    }
}

static void handle_tcp(struct wst_analyzer *a, const struct pkt *p)
{
    struct flow_key k;
    bool swapped;
    uint64_t hash;

    flow_key_make(&k, p, &swapped);
    struct conn *c = flow_lookup(&a->ft, &k, &hash);
    struct conn old;
    bool reused = false;
    if (c && tcp_is_reuse(c, p)) {
        /* Port reuse: the old connection is over; a new one starts with this SYN. */
        tcp_conn_end(a, c, WST_CLOSE_OPEN);
        old = *c;
        reused = true;
        flow_remove(&a->ft, c);
        c = NULL;
    }
    if (!c) {
        make_room(a);
        c = flow_insert(&a->ft, &k, hash);
        if (!c) {
            struct dec_error e = {"tcp", "out of memory for a new connection"};
            emit_packet_error(a, WST_PKTERR_LIMIT, &e);
            return;
        }
        c->id = ++a->next_conn_id;
        tcp_conn_init(a, c, p);
        if (reused)
            tcp_conn_inherit_syn(a, c, &old, p);
    } else {
        flow_touch(&a->ft, c);
    }
    if (!p->reassembled)
        a->pkt_conn = c->id;
    tcp_segment(a, c, p);
}

void wst_packet(struct wst_analyzer *a, const struct wst_pkthdr *h, const uint8_t *data)
{
    struct pkt p;
    struct dec_error err;

    a->frame++;
    a->pkt_conn = 0;
    a->bytes += h->len;
    a->now = h->ts_us;
    if (!a->have_first) {
        a->have_first = true;
        a->first_ts = h->ts_us;
    }
    expire_idle(a);

    /* A writer that stored len < caplen: the bytes we hold are the truth. */
    uint32_t wirelen = h->len < h->caplen ? h->caplen : h->len;
    enum dec_result r =
        decode_packet(&a->dec, a->link, a->now, data, h->caplen, wirelen, &p, &err);
    if (p.reassembled || r == DEC_FRAG_HELD)
        a->ip_fragments++;
    if (p.reassembled)
        a->ip_datagrams++; /* this fragment completed a datagram */
    switch (r) {
    case DEC_TCP:
        if (p.warn) {
            struct dec_error w = {p.warn_layer, p.warn};
            a->malformed++;
            emit_packet_error(a, WST_PKTERR_MALFORMED, &w);
        }
        handle_tcp(a, &p);
        break;
    case DEC_NOT_IP:
    case DEC_NOT_TCP:
        a->non_tcp++;
        break;
    case DEC_FRAG_HELD:
        break;
    case DEC_TRUNCATED:
        a->truncated++;
        emit_packet_error(a, WST_PKTERR_TRUNCATED, &err);
        break;
    case DEC_MALFORMED:
        a->malformed++;
        emit_packet_error(a, WST_PKTERR_MALFORMED, &err);
        break;
    case DEC_LIMIT:
        emit_packet_error(a, WST_PKTERR_LIMIT, &err);
        break;
    }
}

void wst_finish(struct wst_analyzer *a, const struct wst_capture_stats *stats)
{
    /* Connections still tracked, in the order they started. */
    for (struct conn *c = a->ft.id_head; c; c = c->id_next)
        tcp_conn_end(a, c, WST_CLOSE_OPEN);

    struct wst_event ev;
    an_event_init(a, &ev, WST_EV_CAPTURE_END, NULL, WST_DIR_NONE);
    struct wst_ev_capture_end *e = &ev.u.end;
    e->packets = a->frame;
    e->bytes = a->bytes;
    e->tcp_conns = a->tcp_conns;
    e->ws_conns = a->ws_conns;
    e->non_tcp = a->non_tcp;
    e->truncated = a->truncated;
    e->malformed = a->malformed;
    e->ip_fragments = a->ip_fragments;
    e->evicted = a->evicted;
    e->ip_datagrams = a->ip_datagrams;
    if (stats && stats->valid) {
        e->have_stats = true;
        e->dropped = stats->dropped;
        e->ifdropped = stats->ifdropped;
    }
    e->interrupted = stats && stats->interrupted;
    if (stats && stats->have_written) {
        e->have_written = true;
        e->written = stats->written;
    }
    an_emit(a, &ev);
}

uint64_t wst_packet_conn(const struct wst_analyzer *a)
{
    return a->pkt_conn;
}
