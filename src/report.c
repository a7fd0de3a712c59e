/* report.c - per-connection summary rows and the --fail-on conditions (see report.h). */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "sink.h"

enum ws_state { WS_NONE, WS_OPEN, WS_FAILED, WS_MIDSTREAM };

#define LAT_SAMPLES 64 /* the median is over a connection's first LAT_SAMPLES values */
#define REQ_RING 8     /* pipelined HTTP requests awaiting their responses */

/* min / median / max of a connection's latencies, in microseconds. */
struct lat {
    uint64_t n;
    int64_t min, max;
    int64_t *s; /* the first LAT_SAMPLES values (allocated at the first); NULL none */
    uint32_t ns;
};

static void lat_add(struct lat *l, int64_t v)
{
    if (v < 0)
        return;
    if (l->n == 0 || v < l->min)
        l->min = v;
    if (l->n == 0 || v > l->max)
        l->max = v;
    l->n++;
    if (!l->s && l->ns == 0)
        l->s = malloc(LAT_SAMPLES * sizeof *l->s); /* NULL: no median, min/max still kept */
    if (l->s && l->ns < LAT_SAMPLES)
        l->s[l->ns++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The median of the kept values (the mean of the two middle ones for an even count,
 * rounded down); -1 when none were kept. */
static int64_t lat_median(const struct lat *l)
{
    int64_t tmp[LAT_SAMPLES];
    if (!l->s || l->ns == 0)
        return -1;
    memcpy(tmp, l->s, l->ns * sizeof tmp[0]);
    qsort(tmp, l->ns, sizeof tmp[0], cmp_i64);
    if (l->ns % 2)
        return tmp[l->ns / 2];
    return tmp[l->ns / 2 - 1] + (tmp[l->ns / 2] - tmp[l->ns / 2 - 1]) / 2;
}

struct row {
    bool used, closed;
    struct wst_endpoint client, server;
    int64_t duration_us;
    uint64_t bytes[2], pkts[2], gap_bytes[2];
    enum wst_close_how how;
    enum wst_close_by by;
    enum wst_teardown teardown;
    uint64_t retrans, anomalies, overlap;
    char history[WST_HISTORY_MAX + 1];
    uint32_t http_req, http_resp, http_err;
    int worst_status; /* highest HTTP status answered, 0 none */
    enum ws_state ws;
    enum wst_ws_fail fail;
    enum wst_compression comp;
    uint64_t text[2], binary[2], ping, pong;
    uint64_t comp_wire, comp_len; /* compressed messages: bytes on the wire, inflated */
    int close_code[2];            /* -1: no close frame; 1005: close frame without a code */
    uint32_t ws_err;
    const char *first_err; /* a static kind name */
    bool tls, h2;
    int fail_status; /* the status of the response that failed the upgrade, -1 none */
    bool not_ws; /* picked up without a handshake and not recognized as WebSocket */
    char tls_version[8];  /* tls.server_hello */
    char tls_cipher[48];
    const char *tls_decrypt; /* the TLS verdict: the first failure, else "ok" (static) */
    bool tls_no_keylog;      /* ... no_key because no key log was given */
    bool tls_undecrypted;    /* counted for --fail-on tls-undecrypted */
    char community_id[WST_COMMUNITY_ID_LEN]; /* from tcp.open; "" when none */
    /* latency and rates (all times are event times: the packet that completed the event) */
    struct lat rtt, http;  /* ping -> pong; HTTP request -> response (not the upgrade) */
    int64_t upgrade_us;    /* upgrade request -> its 101; -1 none */
    int64_t req_ts[REQ_RING]; /* the requests no response answered yet, by txn % REQ_RING */
    uint64_t req_txn[REQ_RING];
    int64_t ws_start_ts, ws_end_ts; /* ws.open (or the first frame midstream); tcp.close */
    int64_t last_msg_ts, close_frame_ts; /* last data message; first close frame; -1 none */
    uint64_t msg_bytes[2];               /* decoded bytes of the data messages */
};

/* Counters --fail-on can test. */
enum fact {
    F_UPGRADE,
    F_WS_ERROR,
    F_INFLATE,
    F_OVERLAP,
    F_RETRANS,
    F_GAPS,
    F_RST,
    F_HTTP_ERROR,
    F_PACKET_ERROR,
    F_ANOMALIES,
    F_EVICTED,
    F_DROPS,
    F_TLS_UNDECRYPTED,
    F__COUNT,
    F_CLOSE = F__COUNT, /* values, not counts */
    F_STATUS,
};

static const struct {
    const char *name;
    const char *what; /* for the failure line */
} facts[] = {
    [F_UPGRADE] = {"upgrade", "failed WebSocket upgrade(s)"},
    [F_WS_ERROR] = {"ws-error", "ws.error event(s)"},
    [F_INFLATE] = {"inflate", "message(s) that could not be inflated"},
    [F_OVERLAP] = {"overlap", "retransmission(s) with different content"},
    [F_RETRANS] = {"retransmissions", "retransmission(s)"},
    [F_GAPS] = {"gaps", "stream gap(s) never captured"},
    [F_RST] = {"rst", "connection(s) reset"},
    [F_HTTP_ERROR] = {"http-error", "http.error event(s)"},
    [F_PACKET_ERROR] = {"packet-error", "packet.error event(s)"},
    [F_ANOMALIES] = {"anomalies", "TCP anomalies"},
    [F_EVICTED] = {"evicted", "connection(s) evicted from the full table"},
    [F_DROPS] = {"drops", "packet(s) dropped by the kernel or interface"},
    [F_TLS_UNDECRYPTED] = {"tls-undecrypted", "TLS connection(s) not decrypted"},
    [F_CLOSE] = {"close", "WebSocket close code(s)"},
    [F_STATUS] = {"status", "HTTP response status(es)"},
};
#define NFACTS (sizeof facts / sizeof facts[0])

enum op { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE };
static const char *const op_str[] = {">", ">=", "<", "<=", "=", "!="};

struct rule {
    unsigned fact;
    enum op op;
    uint64_t n;
    /* value rules: how many values matched, and the first */
    uint64_t matched;
    uint64_t first_conn, first_frame;
    int64_t first_value;
};

struct report {
    struct row *rows;
    size_t nrows, cap;
    uint64_t more_conns; /* connections beyond REPORT_MAX_ROWS */
    uint64_t count[F__COUNT];
    uint64_t first_conn[F__COUNT], first_frame[F__COUNT];
    struct rule rules[REPORT_MAX_RULES];
    size_t nrules;
    uint64_t http_req, http_resp, ws_msgs, ws_fail, ws_err;
    bool color; /* the summary's "-- BAD" in red */
};

struct report *report_new(void)
{
    return calloc(1, sizeof(struct report));
}

void report_set_color(struct report *r, bool on)
{
    r->color = on;
}

void report_free(struct report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrows; i++) {
        free(r->rows[i].rtt.s);
        free(r->rows[i].http.s);
    }
    free(r->rows);
    free(r);
}

static bool op_holds(enum op op, int64_t v, uint64_t n)
{
    if (v < 0)
        return op == OP_NE || op == OP_LT || op == OP_LE;
    uint64_t u = (uint64_t)v;
    switch (op) {
    case OP_GT:
        return u > n;
    case OP_GE:
        return u >= n;
    case OP_LT:
        return u < n;
    case OP_LE:
        return u <= n;
    case OP_EQ:
        return u == n;
    case OP_NE:
        return u != n;
    }
    return false;
}

static int add_rule(struct report *r, const char *item, size_t len, char *err, size_t errlen)
{
    size_t nl = 0;
    while (nl < len && item[nl] != '>' && item[nl] != '<' && item[nl] != '=' && item[nl] != '!')
        nl++;
    if (nl == 6 && memcmp(item, "strict", 6) == 0 && nl == len) {
        static const char strict[] = "upgrade,ws-error,overlap";
        return report_add_rules(r, strict, err, errlen);
    }
    unsigned f = 0;
    while (f < NFACTS && !(strlen(facts[f].name) == nl && memcmp(facts[f].name, item, nl) == 0))
        f++;
    if (f == NFACTS) {
        snprintf(err, errlen, "unknown finding '%.*s' (one of upgrade, ws-error, inflate, "
                              "overlap, retransmissions, gaps, rst, http-error, packet-error, "
                              "anomalies, evicted, drops, close, status)",
                 (int)(nl > 40 ? 40 : nl), item);
        return -1;
    }
    struct rule ru = {.fact = f, .op = OP_GT, .n = 0};
    if (nl < len) {
        const char *o = item + nl;
        size_t rest = len - nl, ol;
        if (rest >= 2 && (memcmp(o, ">=", 2) == 0 || memcmp(o, "<=", 2) == 0 ||
                          memcmp(o, "!=", 2) == 0 || memcmp(o, "==", 2) == 0))
            ol = 2;
        else if (o[0] == '>' || o[0] == '<' || o[0] == '=')
            ol = 1;
        else
            ol = 0;
        if (ol == 0) {
            snprintf(err, errlen, "'%.*s': expected >, >=, <, <=, = or != after %s",
                     (int)(len > 40 ? 40 : len), item, facts[f].name);
            return -1;
        }
        ru.op = o[0] == '>' ? (ol == 2 ? OP_GE : OP_GT)
                : o[0] == '<' ? (ol == 2 ? OP_LE : OP_LT)
                : o[0] == '!' ? OP_NE
                              : OP_EQ;
        char num[24];
        size_t dl = rest - ol;
        if (dl == 0 || dl >= sizeof num) {
            snprintf(err, errlen, "'%.*s': expected a number after %s%s",
                     (int)(len > 40 ? 40 : len), item, facts[f].name, op_str[ru.op]);
            return -1;
        }
        memcpy(num, o + ol, dl);
        num[dl] = '\0';
        char *end;
        errno = 0;
        unsigned long long v = strtoull(num, &end, 10);
        if (errno || *end || num[0] < '0' || num[0] > '9') {
            snprintf(err, errlen, "'%.*s': '%s' is not a number", (int)(len > 40 ? 40 : len),
                     item, num);
            return -1;
        }
        ru.n = v;
    } else if (f >= F__COUNT) {
        snprintf(err, errlen, "'%s' needs a comparison, e.g. %s", facts[f].name,
                 f == F_CLOSE ? "close!=1000" : "status>=500");
        return -1;
    }
    if (r->nrules == REPORT_MAX_RULES) {
        snprintf(err, errlen, "at most %d conditions", REPORT_MAX_RULES);
        return -1;
    }
    r->rules[r->nrules++] = ru;
    return 0;
}

int report_add_rules(struct report *r, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    for (;;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == 0) {
            snprintf(err, errlen, "empty condition in '%.60s'", list);
            return -1;
        }
        if (add_rule(r, p, len, err, errlen) < 0)
            return -1;
        if (!q)
            return 0;
        p = q + 1;
    }
}

static struct row *row_get(struct report *r, uint64_t conn)
{
    if (conn == 0)
        return NULL;
    if (conn > REPORT_MAX_ROWS) {
        if (conn > REPORT_MAX_ROWS + r->more_conns)
            r->more_conns = conn - REPORT_MAX_ROWS;
        return NULL;
    }
    if (conn > r->cap) {
        size_t nc = r->cap ? r->cap : 64;
        while (nc < conn)
            nc *= 2;
        if (nc > REPORT_MAX_ROWS)
            nc = REPORT_MAX_ROWS;
        struct row *n = realloc(r->rows, nc * sizeof *n);
        if (!n)
            return NULL; /* the row is left out; the findings are still counted */
        memset(n + r->cap, 0, (nc - r->cap) * sizeof *n);
        r->rows = n;
        r->cap = nc;
    }
    if (conn > r->nrows)
        r->nrows = conn;
    struct row *w = &r->rows[conn - 1];
    if (!w->used) {
        w->used = true;
        w->close_code[0] = w->close_code[1] = -1;
        w->fail_status = -1;
        w->upgrade_us = w->ws_start_ts = w->ws_end_ts = w->last_msg_ts = w->close_frame_ts = -1;
    }
    return w;
}

static void count(struct report *r, enum fact f, uint64_t n, const struct wst_event *ev)
{
    if (n == 0)
        return;
    if (r->count[f] == 0) {
        r->first_conn[f] = ev->conn;
        r->first_frame[f] = ev->frame;
    }
    r->count[f] += n;
}

static void value(struct report *r, enum fact f, int64_t v, const struct wst_event *ev)
{
    for (size_t i = 0; i < r->nrules; i++) {
        struct rule *ru = &r->rules[i];
        if (ru->fact != (unsigned)f || !op_holds(ru->op, v, ru->n))
            continue;
        if (ru->matched++ == 0) {
            ru->first_conn = ev->conn;
            ru->first_frame = ev->frame;
            ru->first_value = v;
        }
    }
}

static int dir_ix(enum wst_dir d)
{
    return d == WST_DIR_S2C ? 1 : 0;
}

void report_event(struct report *r, const struct wst_event *ev)
{
    struct row *w = row_get(r, ev->conn);
    int d = dir_ix(ev->dir);

    switch (ev->type) {
    case WST_EV_TCP_OPEN:
        if (w) {
            if (ev->client)
                w->client = *ev->client;
            if (ev->server)
                w->server = *ev->server;
            memcpy(w->community_id, ev->u.open.community_id, sizeof w->community_id);
        }
        break;
    case WST_EV_TCP_ANOMALY: {
        enum wst_anomaly k = ev->u.anomaly.kind;
        bool re = k == WST_AN_RETRANSMISSION || k == WST_AN_FAST_RETRANSMISSION ||
                  k == WST_AN_SPURIOUS_RETRANSMISSION;
        count(r, F_ANOMALIES, 1, ev);
        if (re)
            count(r, F_RETRANS, 1, ev);
        if (k == WST_AN_OVERLAP_MISMATCH)
            count(r, F_OVERLAP, 1, ev);
        if (w) {
            w->anomalies++;
            w->retrans += re;
            w->overlap += k == WST_AN_OVERLAP_MISMATCH;
        }
        break;
    }
    case WST_EV_TCP_GAP:
        count(r, F_GAPS, 1, ev);
        break;
    case WST_EV_TCP_CLOSE: {
        const struct wst_ev_close *c = &ev->u.close;
        if (c->how == WST_CLOSE_RST)
            count(r, F_RST, 1, ev);
        if (!w)
            break;
        if (ev->client)
            w->client = *ev->client;
        if (ev->server)
            w->server = *ev->server;
        w->closed = true;
        w->ws_end_ts = ev->ts_us;
        w->how = c->how;
        w->by = c->by;
        w->teardown = c->teardown;
        w->duration_us = c->duration_us;
        w->bytes[0] = c->bytes_c2s;
        w->bytes[1] = c->bytes_s2c;
        w->pkts[0] = c->pkts_c2s;
        w->pkts[1] = c->pkts_s2c;
        w->gap_bytes[0] = c->gap_bytes_c2s;
        w->gap_bytes[1] = c->gap_bytes_s2c;
        snprintf(w->history, sizeof w->history, "%s", c->history ? c->history : "");
        /* RFC 6455 7.1.5: a WebSocket connection closed without any close frame is 1006. */
        if ((w->ws == WS_OPEN || w->ws == WS_MIDSTREAM) && w->close_code[0] < 0 &&
            w->close_code[1] < 0 && c->how != WST_CLOSE_OPEN)
            value(r, F_CLOSE, 1006, ev);
        break;
    }
    case WST_EV_HTTP_REQUEST:
        r->http_req++;
        if (w) {
            w->http_req++;
            w->req_ts[ev->u.http.txn % REQ_RING] = ev->ts_us;
            w->req_txn[ev->u.http.txn % REQ_RING] = ev->u.http.txn;
        }
        break;
    case WST_EV_HTTP_RESPONSE:
        r->http_resp++;
        value(r, F_STATUS, ev->u.http.status, ev);
        if (w) {
            w->http_resp++;
            if (ev->u.http.status > w->worst_status)
                w->worst_status = ev->u.http.status;
            /* a final answer (or the 101) ends its transaction: the time since the request */
            uint64_t txn = ev->u.http.txn;
            int st = ev->u.http.status;
            if ((st >= 200 || st == 101) && txn && w->req_txn[txn % REQ_RING] == txn) {
                int64_t dt = ev->ts_us - w->req_ts[txn % REQ_RING];
                w->req_txn[txn % REQ_RING] = 0;
                if (st == 101)
                    w->upgrade_us = dt >= 0 ? dt : -1;
                else
                    lat_add(&w->http, dt);
            }
        }
        break;
    case WST_EV_HTTP_ERROR:
        count(r, F_HTTP_ERROR, 1, ev);
        if (w)
            w->http_err++;
        break;
    case WST_EV_TLS_HELLO:
        if (w)
            w->tls = true;
        break;
    case WST_EV_H2_PREFACE:
        if (w)
            w->h2 = true;
        break;
    case WST_EV_TLS_SERVER_HELLO:
        if (w) {
            snprintf(w->tls_version, sizeof w->tls_version, "%s", ev->u.tls_sh.version);
            snprintf(w->tls_cipher, sizeof w->tls_cipher, "%s", ev->u.tls_sh.cipher);
        }
        break;
    case WST_EV_TLS_DECRYPT: {
        static const char *const names[] = {"ok", "no_key", "tls13_needs_traffic_secrets",
                                            "bad_key", "no_handshake", "unsupported_cipher",
                                            "gap"};
        const char *st = NULL;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(names[i], ev->u.tls_dec.status) == 0)
                st = names[i];
        if (!w || !st)
            break;
        bool ok = strcmp(st, "ok") == 0;
        if (!w->tls_decrypt || (strcmp(w->tls_decrypt, "ok") == 0 && !ok) ||
            (strcmp(w->tls_decrypt, "gap") == 0 && !ok && strcmp(st, "gap") != 0))
            w->tls_decrypt = st;
        w->tls_no_keylog |= ev->u.tls_dec.no_keylog;
        if (!ok && strcmp(st, "gap") != 0 && !w->tls_undecrypted) {
            w->tls_undecrypted = true;
            count(r, F_TLS_UNDECRYPTED, 1, ev);
        }
        break;
    }
    case WST_EV_TLS_ALERT:
    case WST_EV_TLS_KEY_UPDATE:
        break;
    case WST_EV_WS_OPEN:
        if (w) {
            w->ws = WS_OPEN;
            w->comp = ev->u.ws_open.compression;
            w->ws_start_ts = ev->ts_us;
        }
        break;
    case WST_EV_WS_FAIL:
        r->ws_fail++;
        count(r, F_UPGRADE, 1, ev);
        if (w) {
            w->ws = WS_FAILED;
            w->fail = ev->u.ws_fail.reason;
            w->fail_status = ev->u.ws_fail.status;
        }
        break;
    case WST_EV_WS_FRAME:
        break;
    case WST_EV_WS_MESSAGE: {
        const struct wst_ev_ws_message *m = &ev->u.ws_message;
        r->ws_msgs++;
        if (!w)
            break;
        if (w->ws == WS_NONE)
            w->ws = WS_MIDSTREAM;
        if (w->ws_start_ts < 0)
            w->ws_start_ts = ev->ts_us;
        w->last_msg_ts = ev->ts_us;
        w->msg_bytes[d] += m->len;
        if (m->opcode == WST_WS_TEXT)
            w->text[d]++;
        else
            w->binary[d]++;
        if (m->compressed) {
            w->comp_wire += m->wire_len;
            w->comp_len += m->len;
        }
        break;
    }
    case WST_EV_WS_CONTROL: {
        const struct wst_ev_ws_control *c = &ev->u.ws_control;
        if (c->opcode == WST_WS_CLOSE) {
            int code = c->code < 0 ? 1005 : c->code; /* RFC 6455 7.1.5 */
            value(r, F_CLOSE, code, ev);
            if (w && w->close_code[d] < 0)
                w->close_code[d] = code;
            if (w && w->close_frame_ts < 0)
                w->close_frame_ts = ev->ts_us;
        }
        if (!w)
            break;
        if (w->ws == WS_NONE)
            w->ws = WS_MIDSTREAM;
        if (w->ws_start_ts < 0)
            w->ws_start_ts = ev->ts_us;
        if (c->opcode == WST_WS_PONG)
            lat_add(&w->rtt, c->rtt_us);
        w->ping += c->opcode == WST_WS_PING;
        w->pong += c->opcode == WST_WS_PONG;
        break;
    }
    case WST_EV_WS_ERROR: {
        const char *k = ev->u.ws_error.kind;
        r->ws_err++;
        count(r, F_WS_ERROR, 1, ev);
        if (k && (strcmp(k, "inflate_error") == 0 || strcmp(k, "lost_context") == 0))
            count(r, F_INFLATE, 1, ev);
        if (w) {
            if (w->ws_err++ == 0)
                w->first_err = k;
        }
        break;
    }
    case WST_EV_PACKET_ERROR:
        count(r, F_PACKET_ERROR, 1, ev);
        break;
    case WST_EV_CAPTURE_END:
        count(r, F_EVICTED, ev->u.end.evicted, ev);
        if (ev->u.end.have_stats)
            count(r, F_DROPS, ev->u.end.dropped + ev->u.end.ifdropped, ev);
        break;
    case WST_EV_WS_MIDSTREAM:
        if (w && ev->u.ws_midstream.recognized && w->ws == WS_NONE)
            w->ws = WS_MIDSTREAM;
        if (w && !ev->u.ws_midstream.recognized)
            w->not_ws = true;
        break;
    case WST_EV_TCP_SYN:
    case WST_EV_TCP_FIN:
    case WST_EV_TCP_RST:
    case WST_EV__COUNT:
        break;
    }
}

static const char *close_words(enum wst_close_how how)
{
    switch (how) {
    case WST_CLOSE_FIN:
        return "fin";
    case WST_CLOSE_RST:
        return "rst";
    case WST_CLOSE_TIMEOUT:
        return "timeout";
    case WST_CLOSE_OPEN:
        return "open";
    case WST_CLOSE_EVICTED:
        return "evicted";
    }
    return "?";
}

/* A WebSocket connection whose frames were decoded (open, midstream). */
static bool ws_had_frames(const struct row *w)
{
    return w->ws == WS_OPEN || w->ws == WS_MIDSTREAM;
}

/* Any data message or control frame counted on the row. */
static bool ws_any_counted(const struct row *w)
{
    return w->text[0] || w->text[1] || w->binary[0] || w->binary[1] || w->ping || w->pong ||
           w->close_code[0] >= 0 || w->close_code[1] >= 0;
}

/* Inflated / wire bytes of the compressed messages, in hundredths (rounded). */
static int64_t deflate_ratio(const struct row *w)
{
    return (int64_t)((w->comp_len * 100 + w->comp_wire / 2) / w->comp_wire);
}

static void put_close_code(struct outbuf *ob, int code)
{
    if (code < 0)
        outbuf_putc(ob, '-');
    else
        outbuf_printf(ob, "%d", code);
}

#define VERDICT_MAX 16  /* reasons kept per connection */
#define VERDICT_LEN 112 /* bytes per reason */

/* Why a connection counts as having ended badly: the one judgement behind both the
 * timeline's "-- ok" / "-- BAD: ..." and conn.summary's ok/bad. */
struct verdict {
    size_t n;
    char why[VERDICT_MAX][VERDICT_LEN];
};

static void verdict_add(struct verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void verdict_add(struct verdict *v, const char *fmt, ...)
{
    va_list ap;

    if (v->n == VERDICT_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(v->why[v->n++], VERDICT_LEN, fmt, ap);
    va_end(ap);
}

static void row_verdict(const struct row *w, struct verdict *v)
{
    v->n = 0;
    if (w->ws == WS_FAILED)
        verdict_add(v, "upgrade failed (%s)", wst_ws_fail_name(w->fail));
    if (w->how == WST_CLOSE_RST)
        verdict_add(v, "reset by %s", w->by == WST_BY_CLIENT ? "client" : "server");
    if (w->how == WST_CLOSE_EVICTED)
        verdict_add(v, "evicted");
    if (w->gap_bytes[0] || w->gap_bytes[1])
        verdict_add(v, "%" PRIu64 " B not captured", w->gap_bytes[0] + w->gap_bytes[1]);
    if (w->overlap)
        verdict_add(v, "%" PRIu64 " inconsistent retransmission%s", w->overlap,
                    w->overlap == 1 ? "" : "s");
    if (w->ws_err)
        verdict_add(v, "%" PRIu32 " WebSocket error%s (%s)", w->ws_err, w->ws_err == 1 ? "" : "s",
                    w->first_err ? w->first_err : "?");
    if (w->http_err)
        verdict_add(v, "%" PRIu32 " HTTP error%s", w->http_err, w->http_err == 1 ? "" : "s");
    if (w->worst_status >= 500)
        verdict_add(v, "HTTP %d", w->worst_status);
    for (int d = 0; d < 2; d++) {
        int c = w->close_code[d];
        if (c >= 0 && c != 1000 && c != 1001 && (d == 0 || c != w->close_code[0]))
            verdict_add(v, "close %d", c);
    }
    if (ws_had_frames(w) && w->close_code[0] < 0 && w->close_code[1] < 0 &&
        w->how != WST_CLOSE_OPEN)
        verdict_add(v, "no WebSocket close (1006)");
}

static void put_problems(struct outbuf *ob, const struct row *w)
{
    struct verdict v;

    row_verdict(w, &v);
    for (size_t i = 0; i < v.n; i++) {
        outbuf_puts(ob, i == 0 ? " -- BAD: " : ", ");
        outbuf_puts(ob, v.why[i]);
    }
    /* Neither ok nor BAD by itself: wstap cannot know what the stream carried. */
    if (w->not_ws) {
        outbuf_printf(ob, "%sno handshake captured; not recognized as WebSocket; --ws-port %u "
                      "forces it", v.n ? "; " : " -- ", (unsigned)w->server.port);
        return;
    }
    if (v.n == 0)
        outbuf_puts(ob, " -- ok");
}

/* The messages and control frames of the row, as "text 1/2 binary 0/0 ping 0 pong 0". */
static void put_ws_counts(struct outbuf *ob, const struct row *w)
{
    outbuf_printf(ob,
                  ": text %" PRIu64 "/%" PRIu64 " binary %" PRIu64 "/%" PRIu64 " ping %" PRIu64
                  " pong %" PRIu64,
                  w->text[0], w->text[1], w->binary[0], w->binary[1], w->ping, w->pong);
    if (w->comp_wire && w->comp_len) {
        outbuf_printf(ob, ", deflate %" PRIu64 " -> %" PRIu64 " B (x", w->comp_wire, w->comp_len);
        sink_put_fixed(ob, deflate_ratio(w), 2);
        outbuf_putc(ob, ')');
    }
    outbuf_puts(ob, ", close ");
    put_close_code(ob, w->close_code[0]);
    outbuf_putc(ob, '/');
    put_close_code(ob, w->close_code[1]);
}

/* Latency and rate figures of a row, for the summary row and conn.summary alike. */
struct figures {
    int64_t close_after_us;     /* last data message -> close; -1 none */
    bool have_rates;
    int64_t msg_rate[2];        /* messages per second, hundredths */
    int64_t byte_rate[2];       /* bytes per second, hundredths */
};

/* n per second over dur_us, in hundredths (saturating). */
static int64_t per_second(uint64_t n, int64_t dur_us)
{
    if (n > UINT64_MAX / 100000000u)
        return INT64_MAX;
    uint64_t v = (n * 100000000u + (uint64_t)dur_us / 2) / (uint64_t)dur_us;
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void row_figures(const struct row *w, struct figures *f)
{
    memset(f, 0, sizeof *f);
    f->close_after_us = -1;
    if (!ws_had_frames(w))
        return;
    int64_t close_ts = w->close_frame_ts;
    if (close_ts < 0 && w->closed && w->how != WST_CLOSE_OPEN)
        close_ts = w->ws_end_ts;
    if (w->last_msg_ts >= 0 && close_ts >= w->last_msg_ts)
        f->close_after_us = close_ts - w->last_msg_ts;
    if (w->ws_start_ts >= 0 && w->ws_end_ts > w->ws_start_ts) {
        int64_t dur = w->ws_end_ts - w->ws_start_ts;
        f->have_rates = true;
        for (int d = 0; d < 2; d++) {
            f->msg_rate[d] = per_second(w->text[d] + w->binary[d], dur);
            f->byte_rate[d] = per_second(w->msg_bytes[d], dur);
        }
    }
}

/* ", rtt 0.126/0.222/0.539 ms": min/median/max in milliseconds. */
static void put_lat(struct outbuf *ob, const char *name, const struct lat *l)
{
    if (l->n == 0)
        return;
    outbuf_printf(ob, ", %s ", name);
    sink_put_fixed(ob, l->min, 3);
    if (l->n == 1) {
        outbuf_puts(ob, " ms");
        return;
    }
    int64_t med = lat_median(l);
    if (med >= 0) {
        outbuf_putc(ob, '/');
        sink_put_fixed(ob, med, 3);
    }
    outbuf_putc(ob, '/');
    sink_put_fixed(ob, l->max, 3);
    outbuf_puts(ob, " ms");
}

/* The latency and rate part of a summary row. */
static void put_figures(struct outbuf *ob, const struct row *w)
{
    struct figures f;

    row_figures(w, &f);
    if (w->upgrade_us >= 0) {
        outbuf_puts(ob, ", upgrade ");
        sink_put_fixed(ob, w->upgrade_us, 3);
        outbuf_puts(ob, " ms");
    }
    put_lat(ob, "http", &w->http);
    put_lat(ob, "rtt", &w->rtt);
    if (f.have_rates) {
        outbuf_puts(ob, ", ");
        sink_put_fixed(ob, f.msg_rate[0], 2);
        outbuf_putc(ob, '/');
        sink_put_fixed(ob, f.msg_rate[1], 2);
        outbuf_puts(ob, " msg/s ");
        sink_put_fixed(ob, (f.byte_rate[0] + 50) / 100, 0);
        outbuf_putc(ob, '/');
        sink_put_fixed(ob, (f.byte_rate[1] + 50) / 100, 0);
        outbuf_puts(ob, " B/s");
    }
    if (f.close_after_us >= 0) {
        outbuf_puts(ob, ", close ");
        sink_put_fixed(ob, f.close_after_us, 3);
        outbuf_puts(ob, " ms after the last message");
    }
}

static void put_row(struct outbuf *ob, uint64_t id, const struct row *w)
{
    char cb[WST_EP_STRLEN], sb[WST_EP_STRLEN];

    wst_endpoint_str(&w->client, cb, sizeof cb);
    wst_endpoint_str(&w->server, sb, sizeof sb);
    outbuf_printf(ob, "  c%-4" PRIu64 " %s > %s  ", id, cb, sb);
    sink_put_fixed(ob, (w->duration_us + 500) / 1000, 3);
    outbuf_printf(ob, " s, %" PRIu64 " B > %" PRIu64 " B <, ", w->bytes[0], w->bytes[1]);
    if (!w->closed) {
        outbuf_puts(ob, "not closed");
    } else {
        outbuf_puts(ob, close_words(w->how));
        static const char *const td[] = {
            [WST_TEARDOWN_4WAY] = "4-way",
            [WST_TEARDOWN_3WAY] = "3-way",
            [WST_TEARDOWN_SIMULTANEOUS] = "simultaneous",
            [WST_TEARDOWN_HALF] = "half-close",
        };
        if (w->teardown != WST_TEARDOWN_NONE && (size_t)w->teardown < sizeof td / sizeof td[0] &&
            td[w->teardown])
            outbuf_printf(ob, " %s", td[w->teardown]);
        if (w->by != WST_BY_NONE)
            outbuf_printf(ob, " by %s", wst_close_by_name(w->by));
    }
    outbuf_printf(ob, ", history %s", w->history[0] ? w->history : "-");
    if (w->retrans || w->anomalies)
        outbuf_printf(ob, ", %" PRIu64 " retrans, %" PRIu64 " anomalies", w->retrans,
                      w->anomalies);
    if (w->tls) {
        outbuf_puts(ob, ", TLS");
        if (w->tls_version[0])
            outbuf_printf(ob, " %s", w->tls_version);
        if (w->tls_decrypt && strcmp(w->tls_decrypt, "ok") == 0)
            outbuf_puts(ob, " decrypted");
        else if (w->tls_decrypt && strcmp(w->tls_decrypt, "gap") == 0)
            outbuf_puts(ob, " decrypted with gaps");
        else if (w->tls_decrypt && w->tls_no_keylog && strcmp(w->tls_decrypt, "no_key") == 0)
            outbuf_puts(ob, " not decrypted (no --keylog)");
        else if (w->tls_decrypt)
            outbuf_printf(ob, " not decrypted (%s)", w->tls_decrypt);
    }
    if (w->h2)
        outbuf_puts(ob, ", HTTP/2");
    if (w->http_req || w->http_resp)
        outbuf_printf(ob, ", http %" PRIu32 " req %" PRIu32 " resp", w->http_req, w->http_resp);
    switch (w->ws) {
    case WS_NONE:
        break;
    case WS_FAILED:
        outbuf_puts(ob, ", ws failed");
        if (w->fail_status > 0)
            outbuf_printf(ob, " %d", w->fail_status);
        outbuf_printf(ob, " (%s)", wst_ws_fail_name(w->fail));
        if (ws_any_counted(w)) /* e.g. frames after a 101 with a wrong accept */
            put_ws_counts(ob, w);
        break;
    case WS_OPEN:
    case WS_MIDSTREAM:
        outbuf_puts(ob, w->ws == WS_OPEN ? ", ws open" : ", ws midstream");
        if (w->comp != WST_COMP_NONE)
            outbuf_printf(ob, " %s", wst_compression_name(w->comp));
        put_ws_counts(ob, w);
        break;
    }
    put_figures(ob, w);
    put_problems(ob, w);
    outbuf_putc(ob, '\n');
}

#define ROW_WIDTH 100 /* summary rows wrap to this many columns */
#define ROW_INDENT 8  /* the indent of a row's continuation lines */

/* One summary row (len bytes with its newline) in lines of at most ROW_WIDTH columns, broken
 * after ", " or before " -- " (a piece longer than a line stays whole); continuation lines
 * are indented ROW_INDENT spaces. color: "-- BAD" in red, as the timeline's failures. */
static void put_wrapped(struct outbuf *ob, const char *s, size_t len, bool color)
{
    if (len && s[len - 1] == '\n')
        len--;
    size_t col = 0, i = 0;
    while (i < len) {
        /* the next piece: up to and including the next ", " break, or up to a " -- " */
        size_t j = i, brk = len, skip = 0;
        for (; j < len; j++) {
            if (s[j] == ',' && j + 1 < len && s[j + 1] == ' ') {
                brk = j + 1; /* the comma stays on this line, the space goes */
                skip = 1;
                break;
            }
            if (j > i && s[j] == ' ' && j + 3 < len && s[j + 1] == '-' && s[j + 2] == '-' &&
                s[j + 3] == ' ') {
                brk = j;
                skip = 1;
                break;
            }
        }
        size_t plen = brk - i;
        if (col > 0 && col + 1 + plen > ROW_WIDTH) {
            outbuf_putc(ob, '\n');
            for (int k = 0; k < ROW_INDENT; k++)
                outbuf_putc(ob, ' ');
            col = ROW_INDENT;
        } else if (col > 0) {
            outbuf_putc(ob, ' ');
            col++;
        }
        if (color && plen >= 6 && memcmp(s + i, "-- BAD", 6) == 0) {
            outbuf_puts(ob, "\033[1;31m-- BAD\033[0m");
            outbuf_put(ob, s + i + 6, plen - 6);
        } else {
            outbuf_put(ob, s + i, plen);
        }
        col += plen;
        i = brk + skip;
    }
    outbuf_putc(ob, '\n');
}

void report_put_summary(const struct report *r, struct outbuf *ob)
{
    uint64_t listed = 0;
    for (size_t i = 0; i < r->nrows; i++)
        listed += r->rows[i].used;
    if (listed > 0) {
        struct outbuf *tmp = malloc(sizeof *tmp);
        outbuf_puts(ob, "  connections (c2s/s2c; -- ok or -- BAD: why)\n");
        for (size_t i = 0; i < r->nrows; i++) {
            const struct row *w = &r->rows[i];
            if (!w->used)
                continue;
            if (!tmp) { /* out of memory: the row unwrapped */
                put_row(ob, i + 1, w);
                continue;
            }
            outbuf_init(tmp, -1);
            put_row(tmp, i + 1, w);
            put_wrapped(ob, tmp->buf, tmp->len, r->color);
        }
        free(tmp);
    }
    if (r->more_conns)
        outbuf_printf(ob, "  ... %" PRIu64 " more connections not listed (the summary keeps %d)\n",
                      r->more_conns, REPORT_MAX_ROWS);
    outbuf_printf(ob, "  %-22s %" PRIu64 " (%" PRIu64 " %s)\n", "HTTP requests", r->http_req,
                  r->http_resp, r->http_resp == 1 ? "response" : "responses");
    outbuf_printf(ob, "  %-22s %" PRIu64 "\n", "WebSocket messages", r->ws_msgs);
    outbuf_printf(ob, "  %-22s %" PRIu64 "\n", "failed upgrades", r->ws_fail);
    outbuf_printf(ob, "  %-22s %" PRIu64 "\n", "WebSocket errors", r->ws_err);
}

void report_put_total(const struct report *r, struct outbuf *ob)
{
    uint64_t listed = 0, nok = 0, nbad = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const struct row *w = &r->rows[i];
        if (!w->used)
            continue;
        struct verdict v;
        row_verdict(w, &v);
        listed++;
        nbad += v.n > 0;
        nok += v.n == 0 && !w->not_ws;
    }
    if (listed == 0)
        return;
    outbuf_printf(ob, "  %-22s %" PRIu64 " ok, %" PRIu64 " BAD", "connections", nok, nbad);
    if (listed - nok - nbad)
        outbuf_printf(ob, ", %" PRIu64 " not recognized as WebSocket", listed - nok - nbad);
    if (r->more_conns)
        outbuf_printf(ob, " (of the %" PRIu64 " listed)", listed);
    outbuf_putc(ob, '\n');
}

static const char *const ws_state_name[] = {
    [WS_NONE] = "none", [WS_OPEN] = "open", [WS_FAILED] = "failed", [WS_MIDSTREAM] = "midstream"};

/* "key":milliseconds with microsecond precision, or null when us < 0. */
static void json_put_ms(struct outbuf *ob, const char *key, int64_t us)
{
    json_key(ob, key);
    if (us >= 0)
        sink_put_fixed(ob, us, 3);
    else
        outbuf_puts(ob, "null");
}

/* "NAME_min_ms", "NAME_median_ms", "NAME_max_ms": null when there were none. */
static void json_put_lat(struct outbuf *ob, const char *name, const struct lat *l)
{
    char k[32];
    snprintf(k, sizeof k, "%s_min_ms", name);
    json_put_ms(ob, k, l->n ? l->min : -1);
    snprintf(k, sizeof k, "%s_median_ms", name);
    json_put_ms(ob, k, l->n ? lat_median(l) : -1);
    snprintf(k, sizeof k, "%s_max_ms", name);
    json_put_ms(ob, k, l->n ? l->max : -1);
}

/* conn.summary: the row of put_row as one JSON object (keys in the man page's order). */
static void put_json_row(struct outbuf *ob, uint64_t id, const struct row *w,
                         const struct wst_event *end)
{
    char cb[WST_EP_STRLEN], sb[WST_EP_STRLEN];
    struct verdict v;

    wst_endpoint_str(&w->client, cb, sizeof cb);
    wst_endpoint_str(&w->server, sb, sizeof sb);
    outbuf_puts(ob, "{\"ev\":\"conn.summary\",\"t\":");
    sink_put_fixed(ob, end->rel_us, 6);
    json_key_u64(ob, "frame", end->frame);
    json_key_u64(ob, "conn", id);
    json_key_str(ob, "client", cb);
    json_key_str(ob, "server", sb);
    json_key(ob, "duration");
    sink_put_fixed(ob, w->duration_us, 6);
    json_key_u64(ob, "bytes_c2s", w->bytes[0]);
    json_key_u64(ob, "bytes_s2c", w->bytes[1]);
    json_key_u64(ob, "pkts_c2s", w->pkts[0]);
    json_key_u64(ob, "pkts_s2c", w->pkts[1]);
    json_key_str(ob, "how", w->closed ? wst_close_how_name(w->how) : NULL);
    json_key_str(ob, "by", w->closed ? wst_close_by_name(w->by) : NULL);
    json_key_str(ob, "teardown", w->closed ? wst_teardown_name(w->teardown) : NULL);
    json_key_str(ob, "history", w->history);
    json_key_u64(ob, "retransmissions", w->retrans);
    json_key_u64(ob, "anomalies", w->anomalies);
    json_key_u64(ob, "gap_bytes", w->gap_bytes[0] + w->gap_bytes[1]);
    json_key_bool(ob, "tls", w->tls);
    json_key_bool(ob, "http2", w->h2);
    json_key_u64(ob, "http_requests", w->http_req);
    json_key_u64(ob, "http_responses", w->http_resp);
    json_key_u64(ob, "http_errors", w->http_err);
    json_key_int_or_null(ob, "http_status_max", w->worst_status > 0 ? w->worst_status : -1);
    json_key_str(ob, "ws", w->not_ws ? "unrecognized" : ws_state_name[w->ws]);
    json_key_str(ob, "ws_fail", w->ws == WS_FAILED ? wst_ws_fail_name(w->fail) : NULL);
    json_key_int_or_null(ob, "ws_status",
                         w->ws == WS_FAILED && w->fail_status > 0 ? w->fail_status : -1);
    json_key_str(ob, "compression", w->ws == WS_NONE ? NULL : wst_compression_name(w->comp));
    json_key_u64(ob, "text_c2s", w->text[0]);
    json_key_u64(ob, "text_s2c", w->text[1]);
    json_key_u64(ob, "binary_c2s", w->binary[0]);
    json_key_u64(ob, "binary_s2c", w->binary[1]);
    json_key_u64(ob, "ping", w->ping);
    json_key_u64(ob, "pong", w->pong);
    json_key_u64(ob, "deflate_wire", w->comp_wire);
    json_key_u64(ob, "deflate_len", w->comp_len);
    json_key(ob, "deflate_ratio");
    if (w->comp_wire && w->comp_len)
        sink_put_fixed(ob, deflate_ratio(w), 2);
    else
        outbuf_puts(ob, "null");
    json_key_int_or_null(ob, "close_c2s", w->close_code[0]);
    json_key_int_or_null(ob, "close_s2c", w->close_code[1]);
    json_key_u64(ob, "ws_errors", w->ws_err);
    json_key_str(ob, "ws_error_first", w->ws_err ? (w->first_err ? w->first_err : "?") : NULL);
    row_verdict(w, &v);
    json_key_bool(ob, "ok", v.n == 0);
    json_key(ob, "bad");
    outbuf_putc(ob, '[');
    for (size_t i = 0; i < v.n; i++) {
        if (i)
            outbuf_putc(ob, ',');
        json_put_cstr(ob, v.why[i]);
    }
    outbuf_putc(ob, ']');
    json_key_str(ob, "community_id", w->community_id[0] ? w->community_id : NULL);
    /* latency and rates (added after the fields above) */
    struct figures f;
    row_figures(w, &f);
    json_put_ms(ob, "upgrade_ms", w->upgrade_us);
    json_put_lat(ob, "http", &w->http);
    json_put_lat(ob, "rtt", &w->rtt);
    json_key_u64(ob, "rtt_pairs", w->rtt.n);
    static const char *const rk[4] = {"msg_rate_c2s", "msg_rate_s2c", "byte_rate_c2s",
                                      "byte_rate_s2c"};
    for (int i = 0; i < 4; i++) {
        json_key(ob, rk[i]);
        if (f.have_rates)
            sink_put_fixed(ob, i < 2 ? f.msg_rate[i] : f.byte_rate[i - 2], 2);
        else
            outbuf_puts(ob, "null");
    }
    json_put_ms(ob, "close_after_ms", f.close_after_us);
    if (w->tls) { /* TLS connections only: the rows of other connections are unchanged */
        json_key_str(ob, "tls_version", w->tls_version[0] ? w->tls_version : NULL);
        json_key_str(ob, "tls_cipher", w->tls_cipher[0] ? w->tls_cipher : NULL);
        json_key_str(ob, "tls_decrypt", w->tls_decrypt);
    }
    outbuf_puts(ob, "}\n");
}

void report_put_json(const struct report *r, struct outbuf *ob, const struct wst_event *end)
{
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i].used)
            put_json_row(ob, i + 1, &r->rows[i], end);
}

bool report_failed(const struct report *r, FILE *err)
{
    bool failed = false;
    for (size_t i = 0; i < r->nrules; i++) {
        const struct rule *ru = &r->rules[i];
        if (ru->fact < F__COUNT) {
            uint64_t n = r->count[ru->fact];
            if (!op_holds(ru->op, (int64_t)(n > INT64_MAX ? INT64_MAX : n), ru->n))
                continue;
            failed = true;
            fprintf(err, "wstap: --fail-on %s%s%" PRIu64 ": %" PRIu64 " %s", facts[ru->fact].name,
                    op_str[ru->op], ru->n, n, facts[ru->fact].what);
            if (n && r->first_conn[ru->fact])
                fprintf(err, ", first in c%" PRIu64 " at #%" PRIu64, r->first_conn[ru->fact],
                        r->first_frame[ru->fact]);
            fputc('\n', err);
        } else if (ru->matched) {
            failed = true;
            fprintf(err,
                    "wstap: --fail-on %s%s%" PRIu64 ": %" PRIu64 " %s matched, first %" PRId64
                    " in c%" PRIu64 " at #%" PRIu64 "\n",
                    facts[ru->fact].name, op_str[ru->op], ru->n, ru->matched,
                    facts[ru->fact].what, ru->first_value, ru->first_conn, ru->first_frame);
        }
    }
    return failed;
}
