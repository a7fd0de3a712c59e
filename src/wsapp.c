/* wsapp.c - a connection's WebSocket stream: the negotiated configuration, one wsmsg decoder
 * per direction, and their findings turned into ws.* events. */
#include "wsapp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pingpair.h"
#include "wshs.h"
#include "wsmsg.h"

/* Which connection and direction a decoder's callbacks speak for. */
struct wsapp_side {
    struct wsapp *w;
    int side;
};

struct wsapp {
    struct wsmsg m[2];
    struct wsapp_side ctx[2];
    bool ok[2];
    /* the analyzer and connection of the call in progress */
    struct wst_analyzer *a;
    struct conn *c;
    struct wst_budget *bud; /* this struct is charged to it */
    /* by the side that sent them: pings no pong answered yet; allocated (and charged to
     * bud) at the first ping; NULL before, or when over the budget (no round trips then) */
    struct pingpair *pings;
};

/* ---- negotiation ---- */

#define WSAPP_MAX_EXTS 16

void wsapp_config_from_handshake(struct wsapp_config *cfg, const uint8_t *offer, size_t offer_len,
                                 const uint8_t *resp, size_t resp_len, char *problem,
                                 size_t cap)
{
    struct ws_ext offers[WSAPP_MAX_EXTS], accepted[WSAPP_MAX_EXTS];
    size_t noffers = 0, naccepted = 0;

    memset(cfg, 0, sizeof *cfg);
    cfg->known = true;
    cfg->params.server_max_window_bits = -1;
    cfg->params.client_max_window_bits = -1;
    if (cap)
        problem[0] = '\0';
    if (!resp || resp_len == 0)
        return;
    if (offer && offer_len)
        wshs_ext_parse(offer, offer_len, offers, WSAPP_MAX_EXTS, &noffers);
    if (wshs_ext_parse(resp, resp_len, accepted, WSAPP_MAX_EXTS, &naccepted) != WSHS_OK) {
        snprintf(problem, cap, "the server's Sec-WebSocket-Extensions does not parse; "
                 "compression is assumed from what could be read");
    } else {
        const char *why = wshs_negotiation_check(offers, noffers, accepted, naccepted);
        if (why)
            snprintf(problem, cap, "%s", why);
    }
    cfg->compression = wshs_compression(accepted, naccepted);
    if (cfg->compression == WST_COMP_PMD) {
        struct pmd_params pp;
        wshs_pmd_params(wshs_ext_find(accepted, naccepted, "permessage-deflate"), false, &pp);
        if (!pp.valid && !problem[0] && pp.why)
            snprintf(problem, cap, "%s", pp.why);
        cfg->params.server_no_context_takeover = pp.server_no_context_takeover;
        cfg->params.client_no_context_takeover = pp.client_no_context_takeover;
        cfg->params.server_max_window_bits =
            pp.server_max_window_bits_given ? pp.server_max_window_bits : -1;
        cfg->params.client_max_window_bits =
            pp.client_max_window_bits_given ? pp.client_max_window_bits : -1;
    }
}

/* ---- callbacks: decoder findings to events ---- */

static enum wst_dir side_dir(int side)
{
    return side == SIDE_C ? WST_DIR_C2S : WST_DIR_S2C;
}

static void on_frame(void *user, const struct wsmsg_frame *f)
{
    struct wsapp_side *x = user;
    struct wst_event ev;
    an_event_init(x->w->a, &ev, WST_EV_WS_FRAME, x->w->c, side_dir(x->side));
    ev.u.ws_frame = f->ev;
    an_emit(x->w->a, &ev);
}

static void on_message(void *user, const struct wsmsg_message *m)
{
    struct wsapp_side *x = user;
    struct wst_event ev;
    an_event_init(x->w->a, &ev, WST_EV_WS_MESSAGE, x->w->c, side_dir(x->side));
    ev.u.ws_message = m->ev;
    ev.u.ws_message.flags = ((m->flags & WSMSG_M_PARTIAL) ? WST_WSMSG_PARTIAL : 0) |
                            ((m->flags & WSMSG_M_TRUNCATED) ? WST_WSMSG_CAPPED : 0) |
                            ((m->flags & WSMSG_M_NODATA) ? WST_WSMSG_NODATA : 0);
    an_emit(x->w->a, &ev);
}

static void on_control(void *user, const struct wsmsg_control *c)
{
    struct wsapp_side *x = user;
    struct wst_event ev;
    an_event_init(x->w->a, &ev, WST_EV_WS_CONTROL, x->w->c, side_dir(x->side));
    ev.u.ws_control = c->ev;
    ev.u.ws_control.rtt_us = -1;
    /* only frames whose whole payload was captured take part in the pairing */
    const struct wst_ev_ws_control *cc = &c->ev;
    struct wsapp *w = x->w;
    if (cc->data.len == cc->len && cc->opcode == WST_WS_PING && !w->pings &&
        budget_take(w->bud, 2 * sizeof *w->pings)) {
        w->pings = calloc(2, sizeof *w->pings);
        if (!w->pings)
            budget_give(w->bud, 2 * sizeof *w->pings);
    }
    if (cc->data.len == cc->len && cc->opcode == WST_WS_PING && w->pings)
        pingpair_ping(&w->pings[x->side], cc->data.p, cc->data.len, ev.ts_us);
    else if (cc->data.len == cc->len && cc->opcode == WST_WS_PONG && w->pings)
        ev.u.ws_control.rtt_us =
            pingpair_pong(&w->pings[!x->side], cc->data.p, cc->data.len, ev.ts_us);
    an_emit(x->w->a, &ev);
}

static void on_error(void *user, const struct wsmsg_error *e)
{
    struct wsapp_side *x = user;
    struct wst_event ev;
    an_event_init(x->w->a, &ev, WST_EV_WS_ERROR, x->w->c, side_dir(x->side));
    ev.u.ws_error = e->ev;
    an_emit(x->w->a, &ev);
}

/* ---- the stream ---- */

struct wsapp *wsapp_new(const struct wsapp_config *cfg, const struct wst_limits *lim,
                        struct wst_budget *bud, bool midstream)
{
    if (!budget_take(bud, sizeof(struct wsapp)))
        return NULL;
    struct wsapp *w = calloc(1, sizeof *w);
    if (!w) {
        budget_give(bud, sizeof *w);
        return NULL;
    }
    w->bud = bud;
    for (int s = 0; s < 2; s++) {
        struct wsmsg_config mc;
        memset(&mc, 0, sizeof mc);
        mc.dir = side_dir(s);
        if (cfg) {
            mc.comp = cfg->compression;
            mc.pmd = cfg->params;
        } else {
            /* Nothing negotiated was seen: compressed messages are attempted as
             * permessage-deflate with the defaults, and reported for what they are. */
            mc.comp = WST_COMP_PMD;
            mc.pmd.server_max_window_bits = mc.pmd.client_max_window_bits = -1;
        }
        mc.max_message = lim->max_message;
        mc.budget = bud;
        w->ctx[s].w = w;
        w->ctx[s].side = s;
        struct wsmsg_cbs cb = {on_frame, on_message, on_control, on_error, &w->ctx[s]};
        w->ok[s] = wsmsg_init(&w->m[s], &mc, &cb) == 0;
        if (!w->ok[s]) { /* out of memory or over the budget: the caller reports it */
            wsapp_free(w);
            return NULL;
        }
        if (midstream)
            wsmsg_midstream(&w->m[s]);
    }
    return w;
}

void wsapp_free(struct wsapp *w)
{
    if (!w)
        return;
    for (int s = 0; s < 2; s++)
        if (w->ok[s])
            wsmsg_free(&w->m[s]);
    if (w->pings) {
        free(w->pings);
        budget_give(w->bud, 2 * sizeof *w->pings);
    }
    budget_give(w->bud, sizeof *w);
    free(w);
}

void wsapp_data(struct wsapp *w, struct wst_analyzer *a, struct conn *c, int side,
                const uint8_t *p, size_t len, uint64_t frame)
{
    (void)frame;
    if (!w->ok[side])
        return;
    w->a = a;
    w->c = c;
    wsmsg_feed(&w->m[side], p, len);
}

void wsapp_gap(struct wsapp *w, struct wst_analyzer *a, struct conn *c, int side, uint64_t len)
{
    if (!w->ok[side])
        return;
    w->a = a;
    w->c = c;
    wsmsg_gap(&w->m[side], len);
}

void wsapp_end(struct wsapp *w, struct wst_analyzer *a, struct conn *c)
{
    w->a = a;
    w->c = c;
    for (int s = 0; s < 2; s++)
        if (w->ok[s])
            wsmsg_finish(&w->m[s]);
}

bool wsapp_port_forced(const struct wst_analyzer *a, const struct conn *c)
{
    for (size_t i = 0; i < sizeof a->lim.ws_ports / sizeof a->lim.ws_ports[0]; i++)
        if (a->lim.ws_ports[i] && a->lim.ws_ports[i] == c->ep[SIDE_S].port)
            return true;
    return false;
}

void wsapp_start_side(struct wsapp *w, int side, bool at_header, bool verify)
{
    if (!w->ok[side])
        return;
    if (at_header)
        wsmsg_midstream_at_header(&w->m[side], verify);
    else
        wsmsg_midstream(&w->m[side]);
}
