/* tfilter.c - the timeline filters (see tfilter.h and wstap(1), "Timeline filters"). */
#include "tfilter.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --hide classes */
enum {
    H_TCP_CHATTER = 1u << 0, /* window updates, dup ACKs, keep-alives, zero-window probes */
    H_ANOMALIES = 1u << 1,   /* every tcp.anomaly line */
    H_SYN = 1u << 2,
    H_FIN = 1u << 3,
    H_RST = 1u << 4,
    H_HTTP = 1u << 5,
    H_FRAMES = 1u << 6,
    H_PING = 1u << 7,
    H_PONG = 1u << 8,
    H_TEXT = 1u << 9,
    H_BINARY = 1u << 10,
};

static const struct {
    const char *name;
    unsigned bit;
} hide_names[] = {
    {"tcp-chatter", H_TCP_CHATTER}, {"anomalies", H_ANOMALIES}, {"syn", H_SYN},
    {"fin", H_FIN},                 {"rst", H_RST},             {"http", H_HTTP},
    {"frames", H_FRAMES},           {"ping", H_PING},           {"pong", H_PONG},
    {"text", H_TEXT},               {"binary", H_BINARY},
};

/* --grep: a connection's context lines held until its first matching message. */
struct pending {
    bool matched; /* a message matched: context lines print as they come */
    bool cut;     /* some context did not fit */
    char *text;
    size_t len;
};

struct tfilter {
    unsigned hide;
    enum wst_dir dir;
    bool grep;
    regex_t re;
    char *msg; /* a NUL-terminated copy of the message being matched */
    size_t msg_cap;
    struct pending *conns; /* by connection id - 1 */
    size_t nconns;
    size_t held; /* context bytes held, all connections */
    struct outbuf *tmp;
};

struct tfilter *tfilter_new(const char *grep, const char *hide, enum wst_dir dir, char *err,
                            size_t errlen)
{
    struct tfilter *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->dir = dir;
    for (const char *p = hide; p && *p;) {
        const char *q = strchr(p, ',');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        size_t i = 0;
        while (i < sizeof hide_names / sizeof hide_names[0] &&
               !(strlen(hide_names[i].name) == n && memcmp(hide_names[i].name, p, n) == 0))
            i++;
        if (i == sizeof hide_names / sizeof hide_names[0]) {
            snprintf(err, errlen, "--hide: unknown class '%.*s' (one of tcp-chatter, anomalies, "
                     "syn, fin, rst, http, frames, ping, pong, text, binary)",
                     (int)(n > 40 ? 40 : n), p);
            free(f);
            return NULL;
        }
        f->hide |= hide_names[i].bit;
        p = q ? q + 1 : p + n;
    }
    if (grep) {
        int rc = regcomp(&f->re, grep, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[128];
            regerror(rc, &f->re, why, sizeof why);
            snprintf(err, errlen, "--grep: '%.60s': %s", grep, why);
            free(f);
            return NULL;
        }
        f->grep = true;
        f->tmp = malloc(sizeof *f->tmp);
        if (!f->tmp) {
            snprintf(err, errlen, "out of memory");
            tfilter_free(f);
            return NULL;
        }
    }
    return f;
}

void tfilter_free(struct tfilter *f)
{
    if (!f)
        return;
    if (f->grep)
        regfree(&f->re);
    for (size_t i = 0; i < f->nconns; i++)
        free(f->conns[i].text);
    free(f->conns);
    free(f->msg);
    free(f->tmp);
    free(f);
}

static bool is_chatter(enum wst_anomaly k)
{
    return k == WST_AN_WINDOW_UPDATE || k == WST_AN_DUP_ACK || k == WST_AN_KEEP_ALIVE ||
           k == WST_AN_KEEP_ALIVE_ACK || k == WST_AN_ZERO_WINDOW_PROBE;
}

/* --hide and --dir. */
static bool hidden(const struct tfilter *f, const struct wst_event *ev)
{
    if (ev->type == WST_EV_CAPTURE_END)
        return false;
    if (f->dir != WST_DIR_NONE && ev->dir != WST_DIR_NONE && ev->dir != f->dir)
        return true;
    unsigned h = f->hide;
    switch (ev->type) {
    case WST_EV_TCP_ANOMALY:
        return (h & H_ANOMALIES) || ((h & H_TCP_CHATTER) && is_chatter(ev->u.anomaly.kind));
    case WST_EV_TCP_SYN:
        return h & H_SYN;
    case WST_EV_TCP_FIN:
        return h & H_FIN;
    case WST_EV_TCP_RST:
        return h & H_RST;
    case WST_EV_HTTP_REQUEST:
    case WST_EV_HTTP_RESPONSE:
        return h & H_HTTP;
    case WST_EV_WS_FRAME:
        return h & H_FRAMES;
    case WST_EV_WS_CONTROL:
        return (ev->u.ws_control.opcode == WST_WS_PING && (h & H_PING)) ||
               (ev->u.ws_control.opcode == WST_WS_PONG && (h & H_PONG));
    case WST_EV_WS_MESSAGE:
        return (ev->u.ws_message.opcode == WST_WS_TEXT && (h & H_TEXT)) ||
               (ev->u.ws_message.opcode != WST_WS_TEXT && (h & H_BINARY));
    default:
        return false;
    }
}

/* A text message whose decoded bytes (what was kept of them) match; binary never does. */
static bool matches(struct tfilter *f, const struct wst_ev_ws_message *m)
{
    if (m->opcode != WST_WS_TEXT || (m->flags & WST_WSMSG_NODATA))
        return false;
    if (m->data.len + 1 > f->msg_cap) {
        char *n = realloc(f->msg, m->data.len + 1);
        if (!n)
            return false;
        f->msg = n;
        f->msg_cap = m->data.len + 1;
    }
    if (m->data.len)
        memcpy(f->msg, m->data.p, m->data.len);
    f->msg[m->data.len] = '\0'; /* a NUL inside ends the text regexec sees */
    return regexec(&f->re, f->msg, 0, NULL, 0) == 0;
}

/* The context lines --grep keeps: a connection's opening, upgrade and end. */
static bool is_context(const struct wst_event *ev)
{
    switch (ev->type) {
    case WST_EV_TCP_OPEN:
    case WST_EV_HTTP_REQUEST:
    case WST_EV_HTTP_RESPONSE:
    case WST_EV_WS_OPEN:
    case WST_EV_WS_FAIL:
    case WST_EV_WS_MIDSTREAM:
    case WST_EV_TCP_CLOSE:
        return true;
    case WST_EV_WS_CONTROL:
        return ev->u.ws_control.opcode == WST_WS_CLOSE;
    default:
        return false;
    }
}

static struct pending *pending_get(struct tfilter *f, uint64_t conn)
{
    if (conn == 0)
        return NULL;
    if (conn > f->nconns) {
        size_t nn = f->nconns ? f->nconns : 64;
        while (nn < conn)
            nn *= 2;
        struct pending *n = realloc(f->conns, nn * sizeof *n);
        if (!n)
            return NULL;
        memset(n + f->nconns, 0, (nn - f->nconns) * sizeof *n);
        f->conns = n;
        f->nconns = nn;
    }
    return &f->conns[conn - 1];
}

static void pending_drop(struct tfilter *f, struct pending *p)
{
    f->held -= p->len;
    free(p->text);
    p->text = NULL;
    p->len = 0;
}

/* Hold ev's line until the connection's first match (or its end). */
static void pending_add(struct tfilter *f, struct pending *p, const struct sink_opts *so,
                        const struct wst_event *ev)
{
    outbuf_init(f->tmp, -1);
    sink_text_event(f->tmp, so, ev);
    size_t n = f->tmp->len;
    if (p->len + n > TFILTER_CTX_CONN || f->held + n > TFILTER_CTX_TOTAL) {
        p->cut = true;
        return;
    }
    char *t = realloc(p->text, p->len + n);
    if (!t) {
        p->cut = true;
        return;
    }
    memcpy(t + p->len, f->tmp->buf, n);
    p->text = t;
    p->len += n;
    f->held += n;
}

void tfilter_text(struct tfilter *f, struct outbuf *ob, const struct sink_opts *so,
                  const struct wst_event *ev)
{
    if (!f) {
        sink_text_event(ob, so, ev);
        return;
    }
    if (hidden(f, ev))
        return;
    if (!f->grep || ev->type == WST_EV_CAPTURE_END || ev->conn == 0) {
        if (!f->grep || ev->type == WST_EV_CAPTURE_END)
            sink_text_event(ob, so, ev);
        return;
    }
    struct pending *p = pending_get(f, ev->conn);
    if (!p)
        return;
    if (ev->type == WST_EV_WS_MESSAGE) {
        if (!matches(f, &ev->u.ws_message))
            return;
        if (!p->matched) {
            p->matched = true;
            if (p->cut)
                outbuf_printf(ob, "(c%llu: some earlier lines not kept for --grep's context)\n",
                              (unsigned long long)ev->conn);
            outbuf_put(ob, p->text, p->len);
            pending_drop(f, p);
        }
        sink_text_event(ob, so, ev);
        return;
    }
    if (!is_context(ev))
        return;
    if (p->matched)
        sink_text_event(ob, so, ev);
    else if (ev->type != WST_EV_TCP_CLOSE)
        pending_add(f, p, so, ev);
    if (ev->type == WST_EV_TCP_CLOSE) /* the connection is over: what it held goes */
        pending_drop(f, p);
}
