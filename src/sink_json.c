/* sink_json.c - events as NDJSON: one object per line, keys in the documented order. */
#include <inttypes.h>
#include <string.h>

#include <openssl/evp.h>

#include "sink.h"
#include "utf8.h"

static const char hexdig[] = "0123456789abcdef";

void sink_put_fixed(struct outbuf *ob, int64_t v, unsigned decimals)
{
    uint64_t scale = 1;
    for (unsigned i = 0; i < decimals && i < 9; i++)
        scale *= 10;
    /* The magnitude as unsigned, so INT64_MIN does not overflow. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        outbuf_putc(ob, '-');
    if (decimals == 0) {
        outbuf_put_u64(ob, mag, 0);
        return;
    }
    outbuf_put_u64(ob, mag / scale, 0);
    outbuf_putc(ob, '.');
    outbuf_put_u64(ob, mag % scale, decimals > 9 ? 9 : decimals);
}

/* Bytes that go out as they are: printable ASCII but the quote and the backslash. */
static const uint8_t json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* The escape of an ASCII byte that is not plain: 2 or 6 bytes at o; returns the count. */
static size_t json_escape_ascii(char *o, uint8_t b)
{
    static const char short_esc[0x60] = {['"'] = '"', ['\\'] = '\\', ['\b'] = 'b',
                                         ['\f'] = 'f', ['\n'] = 'n',  ['\r'] = 'r',
                                         ['\t'] = 't'};
    if (b < sizeof short_esc && short_esc[b]) {
        o[0] = '\\';
        o[1] = short_esc[b];
        return 2;
    }
    o[0] = '\\';
    o[1] = 'u';
    o[2] = '0';
    o[3] = '0';
    o[4] = hexdig[(b >> 4) & 0xF];
    o[5] = hexdig[b & 0xF];
    return 6;
}

/*
 * s as a JSON string: quotes, backslashes and control characters escaped, valid UTF-8 kept
 * (but U+2028 and U+2029, which JavaScript does not allow in strings, as \u escapes),
 * each invalid sequence as \ufffd. Written straight into the output buffer, in slices small
 * enough that even all-escapes (6 bytes per input byte) fit.
 */
void json_put_str(struct outbuf *ob, const uint8_t *s, size_t len)
{
    size_t i = 0;

    outbuf_putc(ob, '"');
    while (i < len && !outbuf_failed(ob)) {
        size_t room = sizeof ob->buf - ob->len;
        if (room < 64) {
            outbuf_flush(ob);
            continue;
        }
        /* a UTF-8 sequence may run up to 3 bytes past the slice: 16 bytes of slack */
        size_t take = (room - 16) / 6;
        if (take > len - i)
            take = len - i;
        size_t end = i + take;
        char *o = ob->buf + ob->len;
        while (i < end) {
            uint8_t b = s[i];
            if (json_plain[b]) {
                *o++ = (char)b;
                i++;
                continue;
            }
            if (b < 0x80) {
                o += json_escape_ascii(o, b);
                i++;
                continue;
            }
            uint32_t cp;
            size_t n = utf8_decode(s + i, len - i, &cp);
            if (cp != UTF8_INVALID && cp != 0x2028 && cp != 0x2029) {
                memcpy(o, s + i, n);
                o += n;
            } else {
                if (cp == UTF8_INVALID)
                    cp = 0xFFFD;
                o[0] = '\\';
                o[1] = 'u';
                o[2] = hexdig[(cp >> 12) & 0xF];
                o[3] = hexdig[(cp >> 8) & 0xF];
                o[4] = hexdig[(cp >> 4) & 0xF];
                o[5] = hexdig[cp & 0xF];
                o += 6;
            }
            i += n;
        }
        ob->len = (size_t)(o - ob->buf);
    }
    outbuf_putc(ob, '"');
}

void json_put_cstr(struct outbuf *ob, const char *s)
{
    json_put_str(ob, (const uint8_t *)s, strlen(s));
}

/* ,"key": -- keys are our own ASCII literals and need no escaping. */
void json_key(struct outbuf *ob, const char *key)
{
    outbuf_putc(ob, ',');
    outbuf_putc(ob, '"');
    outbuf_puts(ob, key);
    outbuf_put(ob, "\":", 2);
}

void json_key_u64(struct outbuf *ob, const char *key, uint64_t v)
{
    json_key(ob, key);
    outbuf_put_u64(ob, v, 0);
}

/* A non-negative int, or null for the -1 ("absent") of the core's structs. */
void json_key_int_or_null(struct outbuf *ob, const char *key, int v)
{
    json_key(ob, key);
    if (v < 0)
        outbuf_puts(ob, "null");
    else
        outbuf_put_u64(ob, (uint64_t)v, 0);
}

void json_key_bool(struct outbuf *ob, const char *key, bool v)
{
    json_key(ob, key);
    outbuf_puts(ob, v ? "true" : "false");
}

/* A string, or null for NULL. */
void json_key_str(struct outbuf *ob, const char *key, const char *s)
{
    json_key(ob, key);
    if (s)
        json_put_cstr(ob, s);
    else
        outbuf_puts(ob, "null");
}

static void json_key_endpoint(struct outbuf *ob, const char *key, const struct wst_endpoint *ep)
{
    char buf[WST_EP_STRLEN];

    if (!ep) {
        json_key_str(ob, key, NULL);
        return;
    }
    wst_endpoint_str(ep, buf, sizeof buf);
    json_key_str(ob, key, buf);
}

static const char *json_dir_name(enum wst_dir d)
{
    switch (d) {
    case WST_DIR_C2S:
        return "c2s";
    case WST_DIR_S2C:
        return "s2c";
    case WST_DIR_NONE:
        break;
    }
    return NULL;
}

/* {"ev":..,"t":..,"frame":..[,"conn":..][,"dir":..] -- the fields every event starts with. */
static void json_put_common(struct outbuf *ob, const struct wst_event *ev)
{
    outbuf_puts(ob, "{\"ev\":");
    json_put_cstr(ob, wst_ev_name(ev->type));
    json_key(ob, "t");
    sink_put_fixed(ob, ev->rel_us, 6);
    json_key_u64(ob, "frame", ev->frame);
    if (ev->conn != 0)
        json_key_u64(ob, "conn", ev->conn);
    const char *dir = json_dir_name(ev->dir);
    if (dir)
        json_key_str(ob, "dir", dir);
}

static void json_put_syn(struct outbuf *ob, const struct wst_ev_syn *e)
{
    const struct wst_tcp_opts *o = &e->opts;

    json_key_str(ob, "flags", e->synack ? "SA" : "S");
    json_key_u64(ob, "win", e->win);
    json_key_int_or_null(ob, "mss", o->mss);
    json_key_int_or_null(ob, "wscale", o->wscale);
    json_key_bool(ob, "sack_perm", o->sack_perm);
    json_key(ob, "tsopt");
    if (o->has_ts)
        outbuf_printf(ob, "{\"val\":%" PRIu32 ",\"ecr\":%" PRIu32 "}", o->ts_val, o->ts_ecr);
    else
        outbuf_puts(ob, "null");
    /* Extras beyond the contract. */
    json_key_u64(ob, "seq", e->seq);
    if (o->nunknown > 0) {
        json_key(ob, "opts_unknown");
        outbuf_putc(ob, '[');
        for (unsigned i = 0; i < o->nunknown && i < WST_MAX_UNKNOWN_OPTS; i++)
            outbuf_printf(ob, "%s%u", i ? "," : "", (unsigned)o->unknown[i]);
        outbuf_putc(ob, ']');
    }
    if (o->malformed)
        json_key_bool(ob, "opts_malformed", true);
    if (o->cut)
        json_key_bool(ob, "opts_cut", true);
}

static void json_put_open(struct outbuf *ob, const struct wst_event *ev)
{
    const struct wst_ev_open *e = &ev->u.open;

    json_key_endpoint(ob, "client", ev->client);
    json_key_endpoint(ob, "server", ev->server);
    json_key_str(ob, "handshake", e->midstream ? "midstream" : "full");
    json_key(ob, "irtt_ms");
    if (e->irtt_us < 0)
        outbuf_puts(ob, "null");
    else
        sink_put_fixed(ob, e->irtt_us, 3);
    json_key_int_or_null(ob, "mss_c", e->mss_c);
    json_key_int_or_null(ob, "mss_s", e->mss_s);
    json_key_int_or_null(ob, "wscale_c", e->wscale_c);
    json_key_int_or_null(ob, "wscale_s", e->wscale_s);
    json_key_bool(ob, "sack", e->sack);
    json_key(ob, "vlan");
    if (e->nvlan == 0) {
        outbuf_puts(ob, "null");
    } else {
        outbuf_putc(ob, '[');
        for (unsigned i = 0; i < e->nvlan && i < WST_MAX_VLAN; i++)
            outbuf_printf(ob, "%s%u", i ? "," : "", (unsigned)e->vlan[i]);
        outbuf_putc(ob, ']');
    }
    json_key_str(ob, "community_id", e->community_id[0] ? e->community_id : NULL);
}

static void json_put_fin(struct outbuf *ob, const struct wst_ev_fin *e)
{
    json_key_u64(ob, "seq", e->seq);
    json_key_bool(ob, "retransmitted", e->retransmitted);
    json_key_bool(ob, "peer_fin", e->peer_fin);
}

static void json_put_rst(struct outbuf *ob, const struct wst_ev_rst *e)
{
    json_key_u64(ob, "seq", e->seq);
    json_key_bool(ob, "first", e->first);
    json_key_u64(ob, "len", e->len);
}

static void json_put_anomaly(struct outbuf *ob, const struct wst_ev_anomaly *e)
{
    json_key_str(ob, "kind", wst_anomaly_name(e->kind));
    json_key_u64(ob, "seq", e->seq);
    json_key_u64(ob, "len", e->len);
    /* Extras beyond the contract. */
    json_key_u64(ob, "win", e->win);
    json_key_int_or_null(ob, "win_shift", e->win_shift);
    if (e->kind == WST_AN_DUP_ACK)
        json_key_u64(ob, "dup_num", e->dup_num);
    if (e->nsack > 0) {
        json_key(ob, "sack");
        outbuf_putc(ob, '[');
        for (unsigned i = 0; i < e->nsack && i < WST_MAX_SACK; i++)
            outbuf_printf(ob, "%s[%" PRIu64 ",%" PRIu64 "]", i ? "," : "", e->sack[i].left,
                          e->sack[i].right);
        outbuf_putc(ob, ']');
    }
}

static void json_put_gap(struct outbuf *ob, const struct wst_ev_gap *e)
{
    json_key_u64(ob, "seq", e->seq);
    json_key_u64(ob, "len", e->len);
}

static void json_put_close(struct outbuf *ob, const struct wst_ev_close *e)
{
    json_key_str(ob, "how", wst_close_how_name(e->how));
    json_key_str(ob, "by", wst_close_by_name(e->by));
    json_key_str(ob, "teardown", wst_teardown_name(e->teardown));
    json_key_u64(ob, "bytes_c2s", e->bytes_c2s);
    json_key_u64(ob, "bytes_s2c", e->bytes_s2c);
    json_key_u64(ob, "pkts_c2s", e->pkts_c2s);
    json_key_u64(ob, "pkts_s2c", e->pkts_s2c);
    json_key(ob, "duration");
    sink_put_fixed(ob, e->duration_us, 6);
    /* Extras: bytes never captured, and the anomalies seen, per kind (only those seen). */
    json_key_u64(ob, "gap_bytes_c2s", e->gap_bytes_c2s);
    json_key_u64(ob, "gap_bytes_s2c", e->gap_bytes_s2c);
    json_key(ob, "anomalies");
    outbuf_putc(ob, '{');
    const char *sep = "";
    for (int k = 0; k < WST_AN__COUNT; k++) {
        if (e->anomalies[k] == 0)
            continue;
        outbuf_puts(ob, sep);
        json_put_cstr(ob, wst_anomaly_name((enum wst_anomaly)k));
        outbuf_printf(ob, ":%" PRIu64, e->anomalies[k]);
        sep = ",";
    }
    outbuf_putc(ob, '}');
    json_key_str(ob, "history", e->history ? e->history : "");
}

static void json_put_packet_error(struct outbuf *ob, const struct wst_ev_packet_error *e)
{
    json_key_str(ob, "kind", wst_pkterr_name(e->kind));
    json_key_str(ob, "layer", e->layer);
    json_key_str(ob, "detail", e->detail);
}

static void json_put_capture_end(struct outbuf *ob, const struct wst_ev_capture_end *e)
{
    json_key_u64(ob, "packets", e->packets);
    json_key_u64(ob, "bytes", e->bytes);
    json_key_u64(ob, "tcp_conns", e->tcp_conns);
    json_key_u64(ob, "ws_conns", e->ws_conns);
    if (e->have_stats) {
        json_key_u64(ob, "dropped", e->dropped);
        json_key_u64(ob, "ifdropped", e->ifdropped);
    } else {
        json_key_str(ob, "dropped", NULL);
        json_key_str(ob, "ifdropped", NULL);
    }
    json_key_u64(ob, "non_tcp", e->non_tcp);
    json_key_u64(ob, "truncated", e->truncated);
    json_key_u64(ob, "malformed", e->malformed);
    json_key_u64(ob, "ip_fragments", e->ip_fragments);
    json_key_u64(ob, "evicted", e->evicted);
    json_key_u64(ob, "ip_datagrams", e->ip_datagrams);
    json_key_bool(ob, "interrupted", e->interrupted);
    if (e->have_written)
        json_key_u64(ob, "written", e->written);
}

static void json_key_wstr(struct outbuf *ob, const char *key, struct wst_str v)
{
    json_key(ob, key);
    json_put_str(ob, v.p, v.len);
}

static void json_key_wstr_or_null(struct outbuf *ob, const char *key, bool has, struct wst_str v)
{
    if (has)
        json_key_wstr(ob, key, v);
    else
        json_key_str(ob, key, NULL);
}

/* base64 with libcrypto, in blocks so any length streams out without allocation. */
void json_put_b64(struct outbuf *ob, const uint8_t *p, size_t len)
{
    unsigned char out[4 * 256 + 1];

    outbuf_putc(ob, '"');
    while (len > 0) {
        size_t n = len > 3 * 256 ? 3 * 256 : len;
        int w = EVP_EncodeBlock(out, p, (int)n);
        if (w > 0)
            outbuf_put(ob, out, (size_t)w);
        p += n;
        len -= n;
    }
    outbuf_putc(ob, '"');
}

static void json_put_version(struct outbuf *ob, int major, int minor)
{
    json_key(ob, "version");
    outbuf_printf(ob, "\"HTTP/%d.%d\"", major, minor);
}

static void json_put_headers(struct outbuf *ob, const struct wst_ev_http *e)
{
    json_key(ob, "headers");
    outbuf_putc(ob, '[');
    for (size_t i = 0; i < e->nheaders; i++) {
        outbuf_puts(ob, i ? ",[" : "[");
        json_put_str(ob, e->headers[i].name.p, e->headers[i].name.len);
        outbuf_putc(ob, ',');
        json_put_str(ob, e->headers[i].value.p, e->headers[i].value.len);
        outbuf_putc(ob, ']');
    }
    outbuf_putc(ob, ']');
    json_key_u64(ob, "hdr_bytes", e->hdr_bytes);
    json_key(ob, "segments");
    outbuf_putc(ob, '[');
    for (size_t i = 0; i < e->nsegments; i++)
        outbuf_printf(ob, "%s[%" PRIu64 ",%" PRIu32 "]", i ? "," : "", e->segments[i].frame,
                      e->segments[i].bytes);
    outbuf_putc(ob, ']');
    if (e->segments_more)
        json_key_u64(ob, "segments_more", e->segments_more);
    json_key_u64(ob, "txn", e->txn);
    if (e->flags) {
        static const struct {
            unsigned bit;
            const char *name;
        } fl[] = {{WST_HTTP_BARE_LF, "bare_lf"}, {WST_HTTP_FOLDED, "folded"},
                  {WST_HTTP_PARTIAL, "partial"}};
        const char *sep = "[";
        json_key(ob, "flags");
        for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
            if (e->flags & fl[i].bit) {
                outbuf_printf(ob, "%s\"%s\"", sep, fl[i].name);
                sep = ",";
            }
        }
        outbuf_putc(ob, ']');
    }
}

static void json_put_http_request(struct outbuf *ob, const struct wst_ev_http *e)
{
    json_key_wstr(ob, "method", e->method);
    json_key_wstr(ob, "target", e->target);
    json_put_version(ob, e->vmajor, e->vminor);
    json_put_headers(ob, e);
}

static void json_put_http_response(struct outbuf *ob, const struct wst_ev_http *e)
{
    json_key_u64(ob, "status", (uint64_t)(e->status < 0 ? 0 : e->status));
    json_key_wstr(ob, "reason", e->reason);
    json_put_version(ob, e->vmajor, e->vminor);
    json_put_headers(ob, e);
}

static void json_put_tls(struct outbuf *ob, const struct wst_ev_tls *e)
{
    json_key_wstr_or_null(ob, "sni", e->sni.len > 0, e->sni);
    json_key(ob, "alpn");
    outbuf_putc(ob, '[');
    for (size_t i = 0; i < e->nalpn && i < WST_MAX_ALPN; i++) {
        if (i)
            outbuf_putc(ob, ',');
        json_put_str(ob, e->alpn[i].p, e->alpn[i].len);
    }
    outbuf_putc(ob, ']');
    json_key(ob, "version");
    outbuf_printf(ob, "\"0x%04x\"", e->version);
}

static void json_put_ws_open(struct outbuf *ob, const struct wst_ev_ws_open *e)
{
    json_key_wstr(ob, "key", e->key);
    json_key_wstr(ob, "accept", e->accept);
    json_key_bool(ob, "accept_ok", e->accept_ok);
    json_key_wstr(ob, "version", e->version);
    json_key_wstr_or_null(ob, "protocol", e->has_protocol, e->protocol);
    json_key_wstr_or_null(ob, "extensions", e->has_extensions, e->extensions);
    json_key_str(ob, "compression", wst_compression_name(e->compression));
    json_key(ob, "params");
    if (e->compression == WST_COMP_NONE) {
        outbuf_puts(ob, "{}");
    } else {
        const struct wst_pmd_params *pp = &e->params;
        outbuf_printf(ob, "{\"server_no_context_takeover\":%s,\"client_no_context_takeover\":%s",
                      pp->server_no_context_takeover ? "true" : "false",
                      pp->client_no_context_takeover ? "true" : "false");
        json_key_int_or_null(ob, "server_max_window_bits", pp->server_max_window_bits);
        json_key_int_or_null(ob, "client_max_window_bits", pp->client_max_window_bits);
        outbuf_putc(ob, '}');
    }
    json_key_wstr_or_null(ob, "origin", e->has_origin, e->origin);
    json_key_wstr_or_null(ob, "host", e->has_host, e->host);
    json_key_u64(ob, "cookie_bytes", e->cookie_bytes);
}

static void json_put_ws_fail(struct outbuf *ob, const struct wst_ev_ws_fail *e)
{
    json_key_str(ob, "reason", wst_ws_fail_name(e->reason));
    json_key_int_or_null(ob, "status", e->status);
    json_key_str(ob, "detail", e->detail);
}

static void json_put_ws_midstream(struct outbuf *ob, const struct wst_ev_ws_midstream *e)
{
    json_key_bool(ob, "recognized", e->recognized);
    json_key_str(ob, "rule", e->rule);
    json_key(ob, "at_frame");
    if (e->at_frame)
        outbuf_printf(ob, "%" PRIu64, e->at_frame);
    else
        outbuf_puts(ob, "null");
    json_key_str(ob, "detail", e->detail);
}

static void json_put_tls_event(struct outbuf *ob, const struct wst_event *ev)
{
    switch (ev->type) {
    case WST_EV_TLS_SERVER_HELLO: {
        const struct wst_ev_tls_server_hello *e = &ev->u.tls_sh;
        json_key_str(ob, "version", e->version);
        json_key_str(ob, "cipher", e->cipher);
        json_key_wstr_or_null(ob, "alpn", e->has_alpn, e->alpn);
        json_key_bool(ob, "resumed", e->resumed);
        json_key_bool(ob, "hrr", e->hrr);
        break;
    }
    case WST_EV_TLS_DECRYPT:
        json_key_str(ob, "status", ev->u.tls_dec.status);
        json_key_u64(ob, "record", ev->u.tls_dec.record);
        json_key_str(ob, "detail", ev->u.tls_dec.detail);
        break;
    case WST_EV_TLS_ALERT: {
        const struct wst_ev_tls_alert *e = &ev->u.tls_alert;
        json_key_str(ob, "level", e->level == 1 ? "warning" : e->level == 2 ? "fatal" : NULL);
        json_key_u64(ob, "description", e->desc);
        json_key_str(ob, "name", e->name);
        json_key_bool(ob, "encrypted", e->encrypted);
        break;
    }
    case WST_EV_TLS_KEY_UPDATE:
        json_key_u64(ob, "generation", ev->u.tls_ku.generation);
        json_key_u64(ob, "record", ev->u.tls_ku.record);
        break;
    default:
        break;
    }
}

static void json_put_ws_opcode(struct outbuf *ob, unsigned opcode)
{
    const char *name = wst_ws_opcode_name(opcode);
    json_key(ob, "opcode");
    if (name)
        json_put_cstr(ob, name);
    else
        outbuf_printf(ob, "%u", opcode);
}

static void json_put_ws_frame(struct outbuf *ob, const struct wst_ev_ws_frame *e)
{
    json_key_bool(ob, "fin", e->fin);
    json_key_u64(ob, "rsv", e->rsv);
    json_put_ws_opcode(ob, e->opcode);
    json_key_bool(ob, "masked", e->masked);
    json_key_u64(ob, "len", e->len);
}

static void json_put_ws_message(struct outbuf *ob, const struct sink_opts *so,
                                const struct wst_ev_ws_message *e)
{
    json_put_ws_opcode(ob, e->opcode);
    json_key_u64(ob, "fragments", e->fragments);
    json_key_bool(ob, "compressed", e->compressed);
    json_key_u64(ob, "wire_len", e->wire_len);
    json_key_u64(ob, "len", e->len);
    size_t n = e->data.len;
    bool cut = so->json_payload_max && n > so->json_payload_max;
    if (cut)
        n = so->json_payload_max;
    if (e->opcode == WST_WS_TEXT && e->utf8_valid) {
        if (cut)
            n = utf8_boundary(e->data.p, n);
        json_key(ob, "text");
        json_put_str(ob, e->data.p, n);
    } else {
        json_key(ob, "data_b64");
        json_put_b64(ob, e->data.p, n);
    }
    if (cut || e->data.len < e->len || (e->flags & WST_WSMSG_CAPPED))
        json_key_bool(ob, "truncated", true);
    if (e->flags & WST_WSMSG_PARTIAL)
        json_key_bool(ob, "partial", true);
    if (e->flags & WST_WSMSG_NODATA)
        json_key_bool(ob, "lost", true);
}

static void json_put_ws_control(struct outbuf *ob, const struct wst_ev_ws_control *e)
{
    json_put_ws_opcode(ob, e->opcode);
    json_key_u64(ob, "len", e->len);
    if (e->opcode == WST_WS_CLOSE) {
        json_key_int_or_null(ob, "code", e->code);
        json_key_wstr(ob, "reason", e->reason);
    } else {
        json_key(ob, "data_b64");
        json_put_b64(ob, e->data.p, e->data.len);
        if (e->opcode == WST_WS_PONG) {
            json_key(ob, "rtt_ms");
            if (e->rtt_us >= 0)
                sink_put_fixed(ob, e->rtt_us, 3);
            else
                outbuf_puts(ob, "null");
        }
    }
}

static void json_put_ws_error(struct outbuf *ob, const struct wst_ev_ws_error *e)
{
    json_key_str(ob, "kind", e->kind);
    json_key_str(ob, "detail", e->detail);
}

static void json_put_http_error(struct outbuf *ob, const struct wst_ev_http_error *e)
{
    json_key_str(ob, "kind", e->kind);
    json_key_str(ob, "detail", e->detail);
}

void sink_json_event(struct outbuf *ob, const struct sink_opts *so, const struct wst_event *ev)
{
    if (ev->type == WST_EV_CAPTURE_END && so->end_json)
        so->end_json(so->end_ctx, ob, ev);
    json_put_common(ob, ev);
    switch (ev->type) {
    case WST_EV_TCP_SYN:
        json_put_syn(ob, &ev->u.syn);
        break;
    case WST_EV_TCP_OPEN:
        json_put_open(ob, ev);
        break;
    case WST_EV_TCP_ANOMALY:
        json_put_anomaly(ob, &ev->u.anomaly);
        break;
    case WST_EV_TCP_GAP:
        json_put_gap(ob, &ev->u.gap);
        break;
    case WST_EV_TCP_CLOSE:
        json_put_close(ob, &ev->u.close);
        break;
    case WST_EV_HTTP_REQUEST:
        json_put_http_request(ob, &ev->u.http);
        break;
    case WST_EV_HTTP_RESPONSE:
        json_put_http_response(ob, &ev->u.http);
        break;
    case WST_EV_HTTP_ERROR:
        json_put_http_error(ob, &ev->u.http_error);
        break;
    case WST_EV_TLS_HELLO:
        json_put_tls(ob, &ev->u.tls);
        break;
    case WST_EV_H2_PREFACE:
        break;
    case WST_EV_WS_OPEN:
        json_put_ws_open(ob, &ev->u.ws_open);
        break;
    case WST_EV_WS_FAIL:
        json_put_ws_fail(ob, &ev->u.ws_fail);
        break;
    case WST_EV_WS_FRAME:
        json_put_ws_frame(ob, &ev->u.ws_frame);
        break;
    case WST_EV_WS_MESSAGE:
        json_put_ws_message(ob, so, &ev->u.ws_message);
        break;
    case WST_EV_WS_CONTROL:
        json_put_ws_control(ob, &ev->u.ws_control);
        break;
    case WST_EV_WS_ERROR:
        json_put_ws_error(ob, &ev->u.ws_error);
        break;
    case WST_EV_PACKET_ERROR:
        json_put_packet_error(ob, &ev->u.pkterr);
        break;
    case WST_EV_CAPTURE_END:
        json_put_capture_end(ob, &ev->u.end);
        break;
    case WST_EV_TCP_FIN:
        json_put_fin(ob, &ev->u.fin);
        break;
    case WST_EV_TLS_SERVER_HELLO:
    case WST_EV_TLS_DECRYPT:
    case WST_EV_TLS_ALERT:
    case WST_EV_TLS_KEY_UPDATE:
        json_put_tls_event(ob, ev);
        break;
    case WST_EV_WS_MIDSTREAM:
        json_put_ws_midstream(ob, &ev->u.ws_midstream);
        break;
    case WST_EV_TCP_RST:
        json_put_rst(ob, &ev->u.rst);
        break;
    case WST_EV__COUNT:
        break;
    }
    outbuf_put(ob, "}\n", 2);
}
