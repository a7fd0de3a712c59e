/* sink_text.c - events as a human timeline, one line each; nothing unescaped from the wire. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sink.h"
#include "utf8.h"

static const char hexdig[] = "0123456789abcdef";

/* Code points that are valid UTF-8 but must not reach a terminal as they are. */
static bool term_cp_unsafe(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9F) ||     /* C1 controls (0x9B is CSI on some terminals) */
           (cp >= 0x200E && cp <= 0x200F) || /* LRM, RLM */
           (cp >= 0x2028 && cp <= 0x202E) || /* line/paragraph separators, bidi embeddings */
           (cp >= 0x2066 && cp <= 0x2069) || /* bidi isolates */
           cp == 0xFEFF;                     /* BOM / zero-width no-break space */
}

void term_put_safe(struct outbuf *ob, const uint8_t *s, size_t len)
{
    size_t i = 0;
    size_t run = 0; /* start of the bytes that go out as they are */

    while (i < len) {
        uint8_t b = s[i];
        uint32_t cp;
        size_t n;

        if (b >= 0x20 && b < 0x7f && b != '\\') {
            i++;
            continue;
        }
        outbuf_put(ob, s + run, i - run);
        if (b == '\\') {
            outbuf_put(ob, "\\\\", 2);
            i++;
        } else if (b < 0x80) {
            char e[4] = {'\\', 'x', hexdig[b >> 4], hexdig[b & 0xF]};
            outbuf_put(ob, e, sizeof e);
            i++;
        } else {
            n = utf8_decode(s + i, len - i, &cp);
            if (cp == UTF8_INVALID) {
                for (size_t k = 0; k < n; k++) {
                    char e[4] = {'\\', 'x', hexdig[s[i + k] >> 4], hexdig[s[i + k] & 0xF]};
                    outbuf_put(ob, e, sizeof e);
                }
            } else if (term_cp_unsafe(cp)) {
                char e[6] = {'\\',
                             'u',
                             hexdig[(cp >> 12) & 0xF],
                             hexdig[(cp >> 8) & 0xF],
                             hexdig[(cp >> 4) & 0xF],
                             hexdig[cp & 0xF]};
                outbuf_put(ob, e, sizeof e);
            } else {
                outbuf_put(ob, s + i, n);
            }
            i += n;
        }
        run = i;
    }
    if (i > run) /* s may be NULL when len is 0 */
        outbuf_put(ob, s + run, i - run);
}

void term_put_cstr(struct outbuf *ob, const char *s)
{
    term_put_safe(ob, (const uint8_t *)s, strlen(s));
}

static void text_put_endpoint(struct outbuf *ob, const struct wst_endpoint *ep)
{
    char buf[WST_EP_STRLEN];

    if (!ep) {
        outbuf_putc(ob, '?');
        return;
    }
    wst_endpoint_str(ep, buf, sizeof buf);
    term_put_cstr(ob, buf);
}

/* "1.234567 #20 c1 " -- time since the first packet, frame (padded to line up), connection. */
static void text_put_time(struct outbuf *ob, const struct sink_opts *so, const struct wst_event *ev)
{
    switch (so->ts) {
    case SINK_TS_REL:
        sink_put_fixed(ob, ev->rel_us, 6);
        break;
    case SINK_TS_NONE:
        return;
    case SINK_TS_EPOCH:
        sink_put_fixed(ob, ev->ts_us, 6);
        break;
    case SINK_TS_DELTA: {
        int64_t d = 0;
        if (so->st) {
            if (so->st->have_prev)
                d = ev->ts_us - so->st->prev_us;
            so->st->have_prev = true;
            so->st->prev_us = ev->ts_us;
        }
        sink_put_fixed(ob, d, 6);
        break;
    }
    case SINK_TS_DATE: {
        int64_t sec = ev->ts_us >= 0 ? ev->ts_us / 1000000 : -((-ev->ts_us + 999999) / 1000000);
        int64_t us = ev->ts_us - sec * 1000000;
        time_t t = (time_t)sec;
        struct tm tm;
        char buf[64];
        if (localtime_r(&t, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) > 0)
            outbuf_printf(ob, "%s.%06" PRId64, buf, us);
        else
            sink_put_fixed(ob, ev->ts_us, 6);
        break;
    }
    }
    outbuf_putc(ob, ' ');
}

static void text_put_prefix(struct outbuf *ob, const struct sink_opts *so,
                            const struct wst_event *ev)
{
    char frame[24];

    text_put_time(ob, so, ev);
    snprintf(frame, sizeof frame, "#%" PRIu64, ev->frame);
    outbuf_printf(ob, "%-3s ", frame); /* longer numbers push the rest of the line right */
    if (ev->conn != 0)
        outbuf_printf(ob, "c%" PRIu64 " ", ev->conn);
}

static const char *text_plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* c1 CLIENT > SERVER  SYN mss 65495, wscale 7 (x128), SACK ok, TS, win 65535 */
static void text_put_syn(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_syn *e = &ev->u.syn;
    const struct wst_tcp_opts *o = &e->opts;
    const char *sep = " ";

    text_put_endpoint(ob, ev->client);
    outbuf_puts(ob, ev->dir == WST_DIR_S2C ? " < " : " > ");
    text_put_endpoint(ob, ev->server);
    outbuf_puts(ob, e->synack ? "  SYN-ACK" : "  SYN");
    if (o->mss >= 0) {
        outbuf_printf(ob, "%smss %d", sep, o->mss);
        sep = ", ";
    }
    if (o->wscale >= 0) {
        if (o->wscale > 14)
            outbuf_printf(ob, "%swscale %d (invalid, used as 14: x16384)", sep, o->wscale);
        else
            outbuf_printf(ob, "%swscale %d (x%u)", sep, o->wscale, 1u << o->wscale);
        sep = ", ";
    }
    if (o->sack_perm) {
        outbuf_printf(ob, "%sSACK ok", sep);
        sep = ", ";
    }
    if (o->has_ts) {
        outbuf_printf(ob, "%sTS", sep);
        sep = ", ";
    }
    if (o->nunknown > 0) {
        outbuf_printf(ob, "%sunknown option", sep);
        if (o->nunknown > 1)
            outbuf_putc(ob, 's');
        for (unsigned i = 0; i < o->nunknown && i < WST_MAX_UNKNOWN_OPTS; i++)
            outbuf_printf(ob, " %u", (unsigned)o->unknown[i]);
        sep = ", ";
    }
    if (o->malformed) {
        outbuf_printf(ob, "%smalformed options", sep);
        sep = ", ";
    }
    if (o->cut) {
        outbuf_printf(ob, "%soptions cut short by the snapshot length", sep);
        sep = ", ";
    }
    outbuf_printf(ob, "%swin %" PRIu32 "\n", sep, e->win);
}

static void text_put_mss(struct outbuf *ob, int mss)
{
    if (mss < 0)
        outbuf_puts(ob, "none");
    else
        outbuf_printf(ob, "%d", mss);
}

static void text_put_wscale(struct outbuf *ob, int shift)
{
    if (shift < 0)
        outbuf_puts(ob, "none");
    else
        outbuf_printf(ob, "x%u", 1u << (shift > 14 ? 14 : shift));
}

/* c1 open  client A server B, rtt 0.050 ms, mss 65483/65483, window scaling x128/x128, SACK on */
static void text_put_open(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_open *e = &ev->u.open;

    outbuf_puts(ob, "open  client ");
    text_put_endpoint(ob, ev->client);
    outbuf_puts(ob, " server ");
    text_put_endpoint(ob, ev->server);
    for (unsigned i = 0; i < e->nvlan && i < WST_MAX_VLAN; i++)
        outbuf_printf(ob, "%s%u", i ? "/" : ", vlan ", (unsigned)e->vlan[i]);
    if (e->nvlan == 2)
        outbuf_puts(ob, " (QinQ outer/inner)");
    else if (e->nvlan > 2)
        outbuf_puts(ob, " (outermost first)");
    if (e->midstream)
        outbuf_puts(ob, ", midstream (handshake not captured)");
    if (e->irtt_us >= 0) {
        outbuf_puts(ob, ", rtt ");
        sink_put_fixed(ob, e->irtt_us, 3);
        outbuf_puts(ob, " ms");
    } else if (!e->midstream) {
        outbuf_puts(ob, ", rtt unknown");
    }
    if (!e->midstream || e->mss_c >= 0 || e->mss_s >= 0) {
        outbuf_puts(ob, ", mss ");
        text_put_mss(ob, e->mss_c);
        outbuf_putc(ob, '/');
        text_put_mss(ob, e->mss_s);
    }
    if (e->wscale_unknown) {
        outbuf_puts(ob, ", window scale unknown");
    } else if (e->wscale_c < 0 && e->wscale_s < 0) {
        outbuf_puts(ob, ", no window scaling");
    } else {
        outbuf_puts(ob, ", window scaling ");
        text_put_wscale(ob, e->wscale_c);
        outbuf_putc(ob, '/');
        text_put_wscale(ob, e->wscale_s);
    }
    if (!e->midstream)
        outbuf_puts(ob, e->sack ? ", SACK on" : ", SACK off");
    else if (e->sack)
        outbuf_puts(ob, ", SACK on");
    outbuf_putc(ob, '\n');
}

static const char *text_anomaly_words(enum wst_anomaly k)
{
    switch (k) {
    case WST_AN_RETRANSMISSION:
        return "retransmission";
    case WST_AN_FAST_RETRANSMISSION:
        return "fast retransmission";
    case WST_AN_SPURIOUS_RETRANSMISSION:
        return "spurious retransmission";
    case WST_AN_OUT_OF_ORDER:
        return "out-of-order segment";
    case WST_AN_LOST_SEGMENT:
        return "previous segment not captured";
    case WST_AN_ACKED_UNSEEN:
        return "ACK of a segment not captured";
    case WST_AN_DUP_ACK:
        return "duplicate ACK";
    case WST_AN_ZERO_WINDOW:
        return "zero window";
    case WST_AN_ZERO_WINDOW_PROBE:
        return "zero window probe";
    case WST_AN_WINDOW_FULL:
        return "window full";
    case WST_AN_WINDOW_UPDATE:
        return "window update";
    case WST_AN_KEEP_ALIVE:
        return "keep-alive";
    case WST_AN_KEEP_ALIVE_ACK:
        return "keep-alive ACK";
    case WST_AN_OVERLAP_MISMATCH:
        return "retransmitted bytes differ from the first copy";
    case WST_AN_OOO_LIMIT:
        return "out-of-order buffer limit hit";
    case WST_AN_DATA_AFTER_RST:
        return "data after a reset";
    case WST_AN__COUNT:
        break;
    }
    return "anomaly";
}

static const char *text_arrow(enum wst_dir d)
{
    return d == WST_DIR_S2C ? "< " : d == WST_DIR_C2S ? "> " : "";
}

/* c1 > retransmission seq 1449 len 1448, win 65535 */
static void text_put_anomaly(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_anomaly *e = &ev->u.anomaly;

    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_puts(ob, text_anomaly_words(e->kind));
    if (e->kind == WST_AN_DUP_ACK)
        outbuf_printf(ob, " #%" PRIu32, e->dup_num);
    outbuf_printf(ob, " seq %" PRIu64 " len %" PRIu32, e->seq, e->len);
    switch (e->kind) {
    case WST_AN_ZERO_WINDOW:
    case WST_AN_WINDOW_FULL:
    case WST_AN_WINDOW_UPDATE:
    case WST_AN_ZERO_WINDOW_PROBE:
        if (e->win_shift > 0)
            outbuf_printf(ob, ", window %" PRIu32 " -> %" PRIu64 " B (scaled x%" PRIu64 ")",
                          (uint32_t)e->win_raw, e->win, (uint64_t)1 << e->win_shift);
        else
            outbuf_printf(ob, ", window %" PRIu64 " B%s", e->win,
                          e->win_shift < 0 ? " (scale unknown)" : "");
        break;
    default:
        break;
    }
    for (unsigned i = 0; i < e->nsack && i < WST_MAX_SACK; i++)
        outbuf_printf(ob, "%s%" PRIu64 "-%" PRIu64, i ? " " : ", SACK ", e->sack[i].left,
                      e->sack[i].right);
    outbuf_putc(ob, '\n');
}

/* c1 > FIN seq 46 (half-close: the server may still send)
 * c1 < FIN seq 12001 (answers the client's FIN)
 * c1 > FIN seq 46 retransmitted */
static void text_put_fin(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_fin *e = &ev->u.fin;
    bool from_c = ev->dir == WST_DIR_C2S;

    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_printf(ob, "FIN seq %" PRIu64, e->seq);
    if (e->retransmitted)
        outbuf_puts(ob, " retransmitted");
    else if (e->peer_fin)
        outbuf_printf(ob, " (answers the %s's FIN)", from_c ? "server" : "client");
    else
        outbuf_printf(ob, " (half-close: the %s may still send)", from_c ? "server" : "client");
    outbuf_putc(ob, '\n');
}

/* c1 < RST seq 1 (reset: bytes still in flight are kept for 1 s) */
static void text_put_rst(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_rst *e = &ev->u.rst;

    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_printf(ob, "RST seq %" PRIu64, e->seq);
    if (e->len)
        outbuf_printf(ob, " carrying %" PRIu32 " B", e->len);
    outbuf_puts(ob, e->first ? " (connection reset)\n" : " (again)\n");
}

/* c1 > gap of 1448 B at seq 1449 (never captured) */
static void text_put_gap(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_gap *e = &ev->u.gap;

    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_printf(ob, "gap of %" PRIu64 " B at seq %" PRIu64 " (never captured)\n", e->len, e->seq);
}

static const char *text_teardown_words(enum wst_teardown t)
{
    switch (t) {
    case WST_TEARDOWN_4WAY:
        return "4-way";
    case WST_TEARDOWN_3WAY:
        return "3-way";
    case WST_TEARDOWN_SIMULTANEOUS:
        return "simultaneous";
    case WST_TEARDOWN_HALF:
        return "half-close";
    case WST_TEARDOWN_NONE:
        break;
    }
    return NULL;
}

static const char *text_how_words(enum wst_close_how h)
{
    switch (h) {
    case WST_CLOSE_FIN:
        return "close fin";
    case WST_CLOSE_RST:
        return "close rst";
    case WST_CLOSE_TIMEOUT:
        return "close idle timeout";
    case WST_CLOSE_OPEN:
        return "close still open at end of input";
    case WST_CLOSE_EVICTED:
        return "close evicted (flow table full)";
    }
    return "close";
}

/* c1 close fin (4-way) by client after 1.234 s: 517 B c2s in 9 pkts, 2048 B s2c in 8 pkts */
static void text_put_close(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_close *e = &ev->u.close;
    const char *td = text_teardown_words(e->teardown);
    const char *by = wst_close_by_name(e->by);

    outbuf_puts(ob, text_how_words(e->how));
    if (td)
        outbuf_printf(ob, " (%s)", td);
    if (by)
        outbuf_printf(ob, " by %s", by);
    outbuf_puts(ob, " after ");
    sink_put_fixed(ob, (e->duration_us + (e->duration_us < 0 ? -500 : 500)) / 1000, 3);
    outbuf_printf(ob,
                  " s: %" PRIu64 " B c2s in %" PRIu64 " %s, %" PRIu64 " B s2c in %" PRIu64 " %s",
                  e->bytes_c2s, e->pkts_c2s, text_plural(e->pkts_c2s, "pkt", "pkts"), e->bytes_s2c,
                  e->pkts_s2c, text_plural(e->pkts_s2c, "pkt", "pkts"));
    if (e->gap_bytes_c2s || e->gap_bytes_s2c)
        outbuf_printf(ob, "; not captured: %" PRIu64 " B c2s, %" PRIu64 " B s2c", e->gap_bytes_c2s,
                      e->gap_bytes_s2c);
    const char *sep = "; ";
    for (int k = 0; k < WST_AN__COUNT; k++) {
        if (e->anomalies[k] == 0)
            continue;
        outbuf_printf(ob, "%s%s %" PRIu64, sep, text_anomaly_words((enum wst_anomaly)k),
                      e->anomalies[k]);
        sep = ", ";
    }
    outbuf_putc(ob, '\n');
}

/* #5  packet truncated (tcp): TCP header cut short */
static void text_put_packet_error(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_packet_error *e = &ev->u.pkterr;

    outbuf_puts(ob, "packet ");
    term_put_cstr(ob, wst_pkterr_name(e->kind));
    outbuf_puts(ob, " (");
    term_put_cstr(ob, e->layer ? e->layer : "?");
    outbuf_puts(ob, "): ");
    term_put_cstr(ob, e->detail ? e->detail : "");
    outbuf_putc(ob, '\n');
}

static void text_put_count(struct outbuf *ob, const char *label, uint64_t n)
{
    outbuf_printf(ob, "  %-22s %" PRIu64 "\n", label, n);
}

/* The end-of-input summary block. */
static void text_put_capture_end(struct outbuf *ob, const struct sink_opts *so,
                                 const struct wst_event *ev)
{
    const struct wst_ev_capture_end *e = &ev->u.end;

    if (e->interrupted)
        outbuf_printf(ob, "interrupted after %" PRIu64 " %s\n", e->packets,
                      text_plural(e->packets, "packet", "packets"));
    else
        outbuf_puts(ob, "end of capture\n");
    if (so->end_rows)
        so->end_rows(so->end_ctx, ob);
    outbuf_printf(ob, "  %-22s %" PRIu64 " (%" PRIu64 " %s)\n", "packets", e->packets, e->bytes,
                  text_plural(e->bytes, "byte", "bytes"));
    text_put_count(ob, "TCP connections", e->tcp_conns);
    text_put_count(ob, "WebSocket connections", e->ws_conns);
    text_put_count(ob, "non-TCP packets", e->non_tcp);
    text_put_count(ob, "truncated packets", e->truncated);
    text_put_count(ob, "malformed packets", e->malformed);
    if (e->ip_fragments > 0)
        outbuf_printf(ob, "  %-22s %" PRIu64 " (%" PRIu64 " %s reassembled)\n", "IP fragments",
                      e->ip_fragments, e->ip_datagrams,
                      text_plural(e->ip_datagrams, "datagram", "datagrams"));
    else
        text_put_count(ob, "IP fragments", e->ip_fragments);
    text_put_count(ob, "evicted connections", e->evicted);
    if (e->have_stats) {
        text_put_count(ob, "dropped by kernel", e->dropped);
        text_put_count(ob, "dropped by interface", e->ifdropped);
    }
    if (e->have_written)
        text_put_count(ob, "packets written (-w)", e->written);
    if (so->end_total)
        so->end_total(so->end_ctx, ob);
}

const struct sink_opts sink_opts_default = {
    .text_payload_max = 120,
    .json_payload_max = 4096,
};

static void text_put_wstr(struct outbuf *ob, struct wst_str v)
{
    term_put_safe(ob, v.p, v.len);
}

static const struct wst_str *text_header(const struct wst_ev_http *e, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < e->nheaders; i++) {
        const struct wst_str *h = &e->headers[i].name;
        if (h->len != n)
            continue;
        size_t k = 0;
        while (k < n && (h->p[k] | 0x20) == (name[k] | 0x20))
            k++;
        if (k == n)
            return &e->headers[i].value;
    }
    return NULL;
}

/* "512 B header in 2 segments (#4 411, #5 101)" */
static void text_put_segments(struct outbuf *ob, const struct wst_ev_http *e)
{
    uint64_t nseg = e->nsegments + e->segments_more;
    outbuf_printf(ob, "%" PRIu64 " B header in %" PRIu64 " %s", e->hdr_bytes, nseg,
                  text_plural(nseg, "segment", "segments"));
    if (nseg > 1) {
        outbuf_puts(ob, " (");
        for (size_t i = 0; i < e->nsegments; i++)
            outbuf_printf(ob, "%s#%" PRIu64 " %" PRIu32, i ? ", " : "", e->segments[i].frame,
                          e->segments[i].bytes);
        if (e->segments_more)
            outbuf_printf(ob, ", %" PRIu64 " more", e->segments_more);
        outbuf_putc(ob, ')');
    } else if (nseg == 1) {
        outbuf_printf(ob, " (#%" PRIu64 ")", e->segments[0].frame);
    }
}

static void text_put_http_flags(struct outbuf *ob, const struct wst_ev_http *e)
{
    if (e->flags & WST_HTTP_BARE_LF)
        outbuf_puts(ob, ", bare LF line endings");
    if (e->flags & WST_HTTP_FOLDED)
        outbuf_puts(ob, ", folded header lines");
    if (e->flags & WST_HTTP_PARTIAL)
        outbuf_puts(ob, ", INCOMPLETE: the head's end was never captured");
}

/* c1 > GET /chat HTTP/1.1 (Host: a, Upgrade: websocket), 14 headers, 512 B header in ... */
static void text_put_http_request(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_http *e = &ev->u.http;
    outbuf_puts(ob, text_arrow(ev->dir));
    text_put_wstr(ob, e->method);
    outbuf_putc(ob, ' ');
    text_put_wstr(ob, e->target);
    outbuf_printf(ob, " HTTP/%d.%d", e->vmajor, e->vminor);
    const char *show[] = {"Host", "Upgrade", "Content-Length", "Transfer-Encoding", NULL};
    int shown = 0;
    for (int i = 0; show[i]; i++) {
        const struct wst_str *v = text_header(e, show[i]);
        if (!v)
            continue;
        outbuf_puts(ob, shown++ ? ", " : " (");
        outbuf_puts(ob, show[i]);
        outbuf_puts(ob, ": ");
        text_put_wstr(ob, *v);
    }
    if (shown)
        outbuf_putc(ob, ')');
    outbuf_printf(ob, ", %zu %s, ", e->nheaders, text_plural(e->nheaders, "header", "headers"));
    text_put_segments(ob, e);
    text_put_http_flags(ob, e);
    outbuf_putc(ob, '\n');
}

static void text_put_http_response(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_http *e = &ev->u.http;
    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_printf(ob, "HTTP/%d.%d %d ", e->vmajor, e->vminor, e->status);
    text_put_wstr(ob, e->reason);
    const char *show[] = {"Upgrade", "Content-Length", "Transfer-Encoding", NULL};
    int shown = 0;
    for (int i = 0; show[i]; i++) {
        const struct wst_str *v = text_header(e, show[i]);
        if (!v)
            continue;
        outbuf_puts(ob, shown++ ? ", " : " (");
        outbuf_puts(ob, show[i]);
        outbuf_puts(ob, ": ");
        text_put_wstr(ob, *v);
    }
    if (shown)
        outbuf_putc(ob, ')');
    outbuf_printf(ob, ", %zu %s, ", e->nheaders, text_plural(e->nheaders, "header", "headers"));
    text_put_segments(ob, e);
    text_put_http_flags(ob, e);
    outbuf_putc(ob, '\n');
}

static void text_put_http_error(struct outbuf *ob, const struct wst_event *ev)
{
    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_puts(ob, "HTTP error (");
    outbuf_puts(ob, ev->u.http_error.kind);
    outbuf_puts(ob, "): ");
    term_put_cstr(ob, ev->u.http_error.detail);
    outbuf_putc(ob, '\n');
}

/* < TLS 1.3 TLS_AES_128_GCM_SHA256, ALPN http/1.1, resumed */
static void text_put_tls_event(struct outbuf *ob, const struct wst_event *ev)
{
    outbuf_puts(ob, text_arrow(ev->dir));
    switch (ev->type) {
    case WST_EV_TLS_SERVER_HELLO: {
        const struct wst_ev_tls_server_hello *e = &ev->u.tls_sh;
        outbuf_printf(ob, "TLS %s %s", e->version, e->cipher);
        if (e->has_alpn) {
            outbuf_puts(ob, ", ALPN ");
            text_put_wstr(ob, e->alpn);
        } else if (e->alpn_hidden) {
            outbuf_puts(ob, ", ALPN not visible (encrypted)");
        } else {
            outbuf_puts(ob, ", no ALPN");
        }
        if (e->resumed)
            outbuf_puts(ob, ", resumed");
        if (e->hrr)
            outbuf_puts(ob, ", after a HelloRetryRequest");
        break;
    }
    case WST_EV_TLS_DECRYPT:
        term_put_cstr(ob, ev->u.tls_dec.detail);
        break;
    case WST_EV_TLS_ALERT: {
        const struct wst_ev_tls_alert *e = &ev->u.tls_alert;
        outbuf_printf(ob, "TLS alert %s", e->level == 2 ? "fatal" : e->level == 1 ? "warning"
                                                                                 : "level ?");
        if (e->name)
            outbuf_printf(ob, " %s", e->name);
        else
            outbuf_printf(ob, " %u", e->desc);
        if (!e->encrypted)
            outbuf_puts(ob, " (unencrypted)");
        break;
    }
    case WST_EV_TLS_KEY_UPDATE:
        outbuf_printf(ob, "TLS 1.3 KeyUpdate: key generation %u from record %" PRIu64,
                      ev->u.tls_ku.generation, ev->u.tls_ku.record);
        break;
    default:
        break;
    }
    outbuf_putc(ob, '\n');
}

static void text_put_tls(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_tls *e = &ev->u.tls;
    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_puts(ob, "TLS ClientHello");
    if (e->sni.len) {
        outbuf_puts(ob, " SNI ");
        text_put_wstr(ob, e->sni);
    }
    if (e->nalpn) {
        outbuf_puts(ob, ", ALPN ");
        for (size_t i = 0; i < e->nalpn && i < WST_MAX_ALPN; i++) {
            if (i)
                outbuf_puts(ob, ", ");
            text_put_wstr(ob, e->alpn[i]);
        }
    }
    for (size_t i = 0; i < e->nalpn && i < WST_MAX_ALPN; i++)
        if (e->alpn[i].len == 2 && memcmp(e->alpn[i].p, "h2", 2) == 0) {
            outbuf_puts(ob, " (the client offers HTTP/2: a WebSocket over it would use "
                            "RFC 8441 extended CONNECT)");
            break;
        }
    outbuf_putc(ob, '\n');
}

static void text_put_ws_open(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_ws_open *e = &ev->u.ws_open;
    /* A 101 whose accept does not prove the key is no valid upgrade (RFC 6455 4.1). */
    outbuf_puts(ob, e->accept_ok ? "WebSocket open, accept ok"
                                 : "WebSocket NOT open (101, but ACCEPT DOES NOT MATCH THE KEY)");
    outbuf_puts(ob, ", version ");
    text_put_wstr(ob, e->version);
    if (e->has_protocol) {
        outbuf_puts(ob, ", protocol ");
        text_put_wstr(ob, e->protocol);
    }
    const char *comp = wst_compression_name(e->compression);
    if (comp) {
        outbuf_printf(ob, ", %s", comp);
        const struct wst_pmd_params *p = &e->params;
        int n = 0;
        if (p->server_no_context_takeover) {
            outbuf_puts(ob, n++ ? ", " : " (");
            outbuf_puts(ob, "server_no_context_takeover");
        }
        if (p->client_no_context_takeover) {
            outbuf_puts(ob, n++ ? ", " : " (");
            outbuf_puts(ob, "client_no_context_takeover");
        }
        if (p->server_max_window_bits >= 0) {
            outbuf_puts(ob, n++ ? ", " : " (");
            outbuf_printf(ob, "server_max_window_bits=%d", p->server_max_window_bits);
        }
        if (p->client_max_window_bits >= 0) {
            outbuf_puts(ob, n++ ? ", " : " (");
            outbuf_printf(ob, "client_max_window_bits=%d", p->client_max_window_bits);
        }
        if (n)
            outbuf_putc(ob, ')');
    } else if (e->has_extensions) {
        outbuf_puts(ob, ", extensions ");
        text_put_wstr(ob, e->extensions);
    }
    outbuf_putc(ob, '\n');
}

static void text_put_ws_fail(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_ws_fail *e = &ev->u.ws_fail;
    outbuf_printf(ob, "WebSocket upgrade FAILED (%s): ", wst_ws_fail_name(e->reason));
    term_put_cstr(ob, e->detail);
    outbuf_putc(ob, '\n');
}

static void text_put_opname(struct outbuf *ob, unsigned opcode)
{
    const char *name = wst_ws_opcode_name(opcode);
    if (!name) {
        outbuf_printf(ob, "OPCODE %u", opcode);
        return;
    }
    for (; *name; name++)
        outbuf_putc(ob, (char)(*name >= 'a' && *name <= 'z' ? *name - 32 : *name));
}

static void text_put_ws_frame(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_ws_frame *e = &ev->u.ws_frame;
    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_puts(ob, "frame ");
    text_put_opname(ob, e->opcode);
    outbuf_printf(ob, " %" PRIu64 " B%s%s", e->len, e->fin ? "" : ", more to come",
                  e->masked ? ", masked" : "");
    if (e->rsv)
        outbuf_printf(ob, ", rsv %u%u%u", (e->rsv >> 2) & 1, (e->rsv >> 1) & 1, e->rsv & 1);
    outbuf_putc(ob, '\n');
}

/* "Here is a message!" or 00 01 02 ... as a preview, cut at the configured size. */
static void text_put_preview(struct outbuf *ob, const struct sink_opts *so, const uint8_t *p,
                             size_t len, bool text)
{
    size_t max = so->text_payload_max ? so->text_payload_max : len;
    size_t n = len < max ? len : max;
    if (text) {
        if (n < len)
            n = utf8_boundary(p, n);
        outbuf_putc(ob, '"');
        term_put_safe(ob, p, n);
        outbuf_putc(ob, '"');
    } else {
        size_t hn = n < max / 3 ? n : max / 3; /* three columns a byte */
        if (hn == 0 && n > 0)
            hn = 1;
        for (size_t i = 0; i < hn; i++)
            outbuf_printf(ob, "%s%02x", i ? " " : "", p[i]);
        n = hn;
    }
    if (n < len)
        outbuf_printf(ob, " ... (%zu more)", len - n);
}

/* -x: 16 bytes a line, offset, hex and printable ASCII */
static void text_put_hexdump(struct outbuf *ob, const struct sink_opts *so, const uint8_t *p,
                             size_t len)
{
    size_t n = so->text_payload_max && len > so->text_payload_max ? so->text_payload_max : len;
    for (size_t off = 0; off < n; off += 16) {
        outbuf_printf(ob, "        0x%04zx: ", off);
        for (size_t i = 0; i < 16; i++) {
            if (off + i < n)
                outbuf_printf(ob, "%02x", p[off + i]);
            else
                outbuf_puts(ob, "  ");
            if (i % 2)
                outbuf_putc(ob, ' ');
        }
        outbuf_putc(ob, ' ');
        for (size_t i = 0; i < 16 && off + i < n; i++) {
            uint8_t b = p[off + i];
            outbuf_putc(ob, (char)(b >= 0x20 && b < 0x7f ? b : '.'));
        }
        outbuf_putc(ob, '\n');
    }
}

static void text_put_ws_message(struct outbuf *ob, const struct sink_opts *so,
                                const struct wst_event *ev)
{
    const struct wst_ev_ws_message *e = &ev->u.ws_message;
    outbuf_puts(ob, text_arrow(ev->dir));
    text_put_opname(ob, e->opcode);
    if (e->compressed)
        outbuf_printf(ob, " %" PRIu64 " B deflated -> %" PRIu64 " B", e->wire_len, e->len);
    else
        outbuf_printf(ob, " %" PRIu64 " B", e->len);
    if (e->fragments > 1)
        outbuf_printf(ob, " in %" PRIu32 " fragments", e->fragments);
    if (e->flags & WST_WSMSG_PARTIAL)
        outbuf_puts(ob, ", PARTIAL (the rest was never captured)");
    if (e->flags & WST_WSMSG_NODATA) {
        outbuf_puts(ob, ": payload unknown (it depends on bytes lost from the capture)\n");
        return;
    }
    if (e->opcode == WST_WS_TEXT && !e->utf8_valid)
        outbuf_puts(ob, " (not valid UTF-8)");
    outbuf_puts(ob, ": ");
    text_put_preview(ob, so, e->data.p, e->data.len, e->opcode == WST_WS_TEXT);
    if (e->data.len < e->len)
        outbuf_printf(ob, " (kept %zu of %" PRIu64 " B)", e->data.len, e->len);
    outbuf_putc(ob, '\n');
    if (so->hex)
        text_put_hexdump(ob, so, e->data.p, e->data.len);
}

static void text_put_ws_control(struct outbuf *ob, const struct sink_opts *so,
                                const struct wst_event *ev)
{
    const struct wst_ev_ws_control *e = &ev->u.ws_control;
    outbuf_puts(ob, text_arrow(ev->dir));
    text_put_opname(ob, e->opcode);
    if (e->opcode == WST_WS_CLOSE) {
        if (e->code < 0)
            outbuf_puts(ob, " without a status code");
        else
            outbuf_printf(ob, " %d", e->code);
        if (e->reason.len) {
            outbuf_putc(ob, ' ');
            text_put_preview(ob, so, e->reason.p, e->reason.len, true);
        }
    } else {
        outbuf_printf(ob, " %" PRIu64 " B", e->len);
        if (e->data.len) {
            outbuf_puts(ob, ": ");
            text_put_preview(ob, so, e->data.p, e->data.len, true);
        }
        if (e->opcode == WST_WS_PONG && e->rtt_us >= 0) {
            outbuf_puts(ob, " (rtt ");
            sink_put_fixed(ob, e->rtt_us, 3);
            outbuf_puts(ob, " ms)");
        }
    }
    outbuf_putc(ob, '\n');
}

static void text_put_ws_error(struct outbuf *ob, const struct wst_event *ev)
{
    outbuf_puts(ob, text_arrow(ev->dir));
    outbuf_puts(ob, "WebSocket error ");
    outbuf_puts(ob, ev->u.ws_error.kind);
    outbuf_puts(ob, ": ");
    term_put_cstr(ob, ev->u.ws_error.detail);
    outbuf_putc(ob, '\n');
}

/* The colour of an event's text (after the prefix): red for what failed, yellow for TCP
 * trouble, green for what was established, dim for frames; NULL for none. */
static const char *text_color(const struct wst_event *ev)
{
    switch (ev->type) {
    case WST_EV_WS_FAIL:
    case WST_EV_WS_ERROR:
    case WST_EV_HTTP_ERROR:
    case WST_EV_PACKET_ERROR:
        return "\033[1;31m";
    case WST_EV_TCP_CLOSE:
        return ev->u.close.how == WST_CLOSE_RST || ev->u.close.how == WST_CLOSE_EVICTED
                   ? "\033[31m"
                   : NULL;
    case WST_EV_TCP_ANOMALY:
    case WST_EV_TCP_GAP:
        return "\033[33m";
    case WST_EV_TCP_FIN:
        return ev->u.fin.retransmitted ? "\033[33m" : NULL;
    case WST_EV_WS_OPEN:
        return ev->u.ws_open.accept_ok ? "\033[32m" : "\033[1;31m";
    case WST_EV_TCP_OPEN:
        return "\033[32m";
    case WST_EV_TCP_RST:
        return "\033[31m";
    case WST_EV_WS_MIDSTREAM:
        return ev->u.ws_midstream.recognized ? "\033[32m" : "\033[33m";
    case WST_EV_HTTP_REQUEST:
    case WST_EV_HTTP_RESPONSE:
        return "\033[1m";
    case WST_EV_WS_CONTROL:
        return "\033[36m";
    case WST_EV_WS_FRAME:
        return "\033[2m";
    default:
        return NULL;
    }
}

/* End the colour before the line's newline (when it is still in the buffer). */
static void text_color_end(struct outbuf *ob)
{
    static const char reset[] = "\033[0m";
    if (ob->len > 0 && ob->buf[ob->len - 1] == '\n') {
        ob->len--;
        outbuf_puts(ob, reset);
        outbuf_putc(ob, '\n');
    } else {
        outbuf_puts(ob, reset);
    }
}

static void text_put_event(struct outbuf *ob, const struct sink_opts *so,
                           const struct wst_event *ev);

void sink_text_event(struct outbuf *ob, const struct sink_opts *so, const struct wst_event *ev)
{
    if (ev->type == WST_EV_WS_FRAME && !so->frames)
        return;
    text_put_prefix(ob, so, ev);
    const char *color = so->color ? text_color(ev) : NULL;
    if (color)
        outbuf_puts(ob, color);
    text_put_event(ob, so, ev);
    if (color)
        text_color_end(ob);
}

static void text_put_event(struct outbuf *ob, const struct sink_opts *so,
                           const struct wst_event *ev)
{
    switch (ev->type) {
    case WST_EV_TCP_SYN:
        text_put_syn(ob, ev);
        break;
    case WST_EV_TCP_OPEN:
        text_put_open(ob, ev);
        break;
    case WST_EV_TCP_ANOMALY:
        text_put_anomaly(ob, ev);
        break;
    case WST_EV_TCP_GAP:
        text_put_gap(ob, ev);
        break;
    case WST_EV_TCP_CLOSE:
        text_put_close(ob, ev);
        break;
    case WST_EV_HTTP_REQUEST:
        text_put_http_request(ob, ev);
        break;
    case WST_EV_HTTP_RESPONSE:
        text_put_http_response(ob, ev);
        break;
    case WST_EV_HTTP_ERROR:
        text_put_http_error(ob, ev);
        break;
    case WST_EV_TLS_HELLO:
        text_put_tls(ob, ev);
        break;
    case WST_EV_H2_PREFACE:
        outbuf_puts(ob, text_arrow(ev->dir));
        outbuf_puts(ob, ev->u.h2.in_tls
                            ? "HTTP/2 connection preface (inside TLS): not HTTP/1.1\n"
                            : "HTTP/2 connection preface (prior knowledge): not HTTP/1.1\n");
        break;
    case WST_EV_WS_OPEN:
        text_put_ws_open(ob, ev);
        break;
    case WST_EV_WS_FAIL:
        text_put_ws_fail(ob, ev);
        break;
    case WST_EV_WS_FRAME:
        text_put_ws_frame(ob, ev);
        break;
    case WST_EV_WS_MESSAGE:
        text_put_ws_message(ob, so, ev);
        break;
    case WST_EV_WS_CONTROL:
        text_put_ws_control(ob, so, ev);
        break;
    case WST_EV_WS_ERROR:
        text_put_ws_error(ob, ev);
        break;
    case WST_EV_PACKET_ERROR:
        text_put_packet_error(ob, ev);
        break;
    case WST_EV_CAPTURE_END:
        text_put_capture_end(ob, so, ev);
        break;
    case WST_EV_TCP_FIN:
        text_put_fin(ob, ev);
        break;
    case WST_EV_WS_MIDSTREAM:
        term_put_cstr(ob, ev->u.ws_midstream.detail);
        outbuf_putc(ob, '\n');
        break;
    case WST_EV_TCP_RST:
        text_put_rst(ob, ev);
        break;
    case WST_EV_TLS_SERVER_HELLO:
    case WST_EV_TLS_DECRYPT:
    case WST_EV_TLS_ALERT:
    case WST_EV_TLS_KEY_UPDATE:
        text_put_tls_event(ob, ev);
        break;
    case WST_EV__COUNT:
        outbuf_putc(ob, '\n');
        break;
    }
}
