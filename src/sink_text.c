/* sink_text.c - events as a human timeline, one line each; nothing unescaped from the wire. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
static void text_put_prefix(struct outbuf *ob, const struct wst_event *ev)
{
    char frame[24];

    sink_put_fixed(ob, ev->rel_us, 6);
    snprintf(frame, sizeof frame, "#%" PRIu64, ev->frame);
    outbuf_printf(ob, " %-3s ", frame); /* longer numbers push the rest of the line right */
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
        outbuf_printf(ob, ", win %" PRIu64, e->win);
        if (e->win_shift < 0)
            outbuf_puts(ob, " (scale unknown)");
        break;
    default:
        break;
    }
    for (unsigned i = 0; i < e->nsack && i < WST_MAX_SACK; i++)
        outbuf_printf(ob, "%s%" PRIu64 "-%" PRIu64, i ? " " : ", SACK ", e->sack[i].left,
                      e->sack[i].right);
    outbuf_putc(ob, '\n');
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
static void text_put_capture_end(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_capture_end *e = &ev->u.end;

    outbuf_puts(ob, "end of capture\n");
    outbuf_printf(ob, "  %-22s %" PRIu64 " (%" PRIu64 " %s)\n", "packets", e->packets, e->bytes,
                  text_plural(e->bytes, "byte", "bytes"));
    text_put_count(ob, "TCP connections", e->tcp_conns);
    text_put_count(ob, "WebSocket connections", e->ws_conns);
    text_put_count(ob, "non-TCP packets", e->non_tcp);
    text_put_count(ob, "truncated packets", e->truncated);
    text_put_count(ob, "malformed packets", e->malformed);
    text_put_count(ob, "IP fragments", e->ip_fragments);
    text_put_count(ob, "evicted connections", e->evicted);
    if (e->have_stats) {
        text_put_count(ob, "dropped by kernel", e->dropped);
        text_put_count(ob, "dropped by interface", e->ifdropped);
    }
}

void sink_text_event(struct outbuf *ob, const struct wst_event *ev)
{
    text_put_prefix(ob, ev);
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
    case WST_EV_PACKET_ERROR:
        text_put_packet_error(ob, ev);
        break;
    case WST_EV_CAPTURE_END:
        text_put_capture_end(ob, ev);
        break;
    case WST_EV__COUNT:
        outbuf_putc(ob, '\n');
        break;
    }
}
