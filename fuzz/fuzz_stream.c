/* fuzz_stream.c - libFuzzer target: one connection's reassembled byte streams, both
 * directions, into the application layers (protocol detection, HTTP/1.x, the WebSocket
 * upgrade, WebSocket frames and messages, permessage-deflate / deflate-frame inflation).
 *
 * The bytes enter where TCP reassembly hands them over (an_stream_data / an_stream_gap in
 * src/analyzer.c, which call app_data / app_gap), and the connection ends as tcp_conn_end
 * ends it (app_end, then app_free). Events go through both sinks into a discarding output
 * (fuzz_common.c), and every byte an event points at is read.
 *
 * Input format (fuzz/mkseeds.py writes it; fuzz/README.md has the same table):
 *   byte 0  mode
 *           bits 0-1  0: plain: the streams as they are (detection decides: HTTP, TLS, h2,
 *                        WebSocket picked up midstream, opaque)
 *                     1: the harness sends an upgrade handshake first (request c2s, 101 s2c)
 *                        without extensions
 *                     2: the same with an extension negotiated: permessage-deflate (bits 2-5
 *                        its parameters) or deflate-frame (bit 6)
 *                     3: raw WebSocket: the server port is a --ws-port, no handshake
 *           bit 2     server_no_context_takeover (offered and accepted)
 *           bit 3     client_no_context_takeover
 *           bit 4     server_max_window_bits=8+(byte 1 bits 0-2), in the offer and the answer
 *           bit 5     client_max_window_bits (offered without a value, answered with
 *                     8+(byte 1 bits 3-5))
 *           bit 6     x-webkit-deflate-frame instead of permessage-deflate
 *           bit 7     Sec-WebSocket-Protocol offered and accepted
 *   byte 1  window bits (see above); bits 6-7 unused
 *   byte 2  bits 0-1  limits: 0 the defaults; 1 --max-message 65536 --max-app-total 1 MiB;
 *                     2 --max-message 1024 --max-app-total 128 KiB; 3 --max-message 64
 *                     --max-app-total 24 KiB (buffers and inflaters get refused)
 *           bits 2-4  how the connection ends: 0 end of capture, 1 client FIN, 2 server FIN,
 *                     3 both FIN, 4 client RST, 5 server RST, 6 idle timeout, 7 evicted
 *   then chunks, each a 2-byte big-endian header h:
 *           bit 15    a gap: (h & 0xfff) << (4 * ((h >> 12) & 3)) bytes of the direction were
 *                     never captured (no data follows)
 *           bit 14    stay in the same direction (otherwise every chunk after the first
 *                     switches; the first goes client to server)
 *           bits 0-13 data: this many bytes follow (fewer if the input ends)
 * A missing header byte reads as 0 (plain mode, default limits, end of capture).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core.h"
#include "fuzz_common.h"
#include "wstap/wstap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_WS_PORT 9001
#define FUZZ_T0 1700000000000000LL /* packet time of the first chunk, microseconds */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sinks_init();
    return 0;
}

struct fuzz_conn {
    struct wst_analyzer *a;
    struct conn *c;
    uint64_t off[2]; /* stream offset of each direction, as reassembly counts it */
};

static void fuzz_limits(struct wst_limits *lim, unsigned sel)
{
    wst_limits_default(lim);
    lim->ws_ports[0] = FUZZ_WS_PORT;
    switch (sel & 3) {
    case 1:
        lim->max_message = 64u << 10;
        lim->max_app_total = 1u << 20;
        break;
    case 2:
        lim->max_message = 1024;
        lim->max_app_total = 128u << 10;
        break;
    case 3:
        lim->max_message = 64;
        lim->max_app_total = 24u << 10;
        break;
    default:
        break;
    }
}

/* The next packet: frame numbers and times move on as they would in a capture. */
static void fuzz_tick(struct fuzz_conn *f)
{
    f->a->frame++;
    f->a->now += 1000;
    f->c->last_ts = f->a->now;
}

static void fuzz_data(struct fuzz_conn *f, int side, const uint8_t *p, size_t len)
{
    fuzz_tick(f);
    f->c->side[side].bytes += len;
    f->c->side[side].pkts++;
    an_stream_data(f->a, f->c, side, f->off[side], p, (uint32_t)len, f->a->frame);
    f->off[side] += len;
}

static void fuzz_gap(struct fuzz_conn *f, int side, uint64_t len)
{
    fuzz_tick(f);
    f->c->side[side].gap_bytes += len;
    an_stream_gap(f->a, f->c, side, f->off[side], len);
    f->off[side] += len;
}

static size_t put(char *buf, size_t cap, size_t n, const char *s)
{
    size_t l = strlen(s);
    if (n + l < cap) {
        memcpy(buf + n, s, l);
        n += l;
    }
    return n;
}

/* The opening handshake the harness sends before the input's chunks (modes 1 and 2). */
static void fuzz_handshake(struct fuzz_conn *f, unsigned mode, unsigned bits)
{
    char req[1024], rsp[1024], tmp[128];
    size_t rn = 0, sn = 0;
    bool ext = (mode & 3) == 2;

    rn = put(req, sizeof req, rn,
             "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n");
    sn = put(rsp, sizeof rsp, sn,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
    if (mode & 0x80) {
        rn = put(req, sizeof req, rn, "Sec-WebSocket-Protocol: chat, superchat\r\n");
        sn = put(rsp, sizeof rsp, sn, "Sec-WebSocket-Protocol: chat\r\n");
    }
    if (ext && (mode & 0x40)) {
        rn = put(req, sizeof req, rn, "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n");
        sn = put(rsp, sizeof rsp, sn, "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n");
    } else if (ext) {
        rn = put(req, sizeof req, rn, "Sec-WebSocket-Extensions: permessage-deflate");
        sn = put(rsp, sizeof rsp, sn, "Sec-WebSocket-Extensions: permessage-deflate");
        if (mode & 0x04) {
            rn = put(req, sizeof req, rn, "; server_no_context_takeover");
            sn = put(rsp, sizeof rsp, sn, "; server_no_context_takeover");
        }
        if (mode & 0x08) {
            rn = put(req, sizeof req, rn, "; client_no_context_takeover");
            sn = put(rsp, sizeof rsp, sn, "; client_no_context_takeover");
        }
        if (mode & 0x10) {
            snprintf(tmp, sizeof tmp, "; server_max_window_bits=%u", 8 + (bits & 7));
            rn = put(req, sizeof req, rn, tmp);
            sn = put(rsp, sizeof rsp, sn, tmp);
        }
        if (mode & 0x20) {
            rn = put(req, sizeof req, rn, "; client_max_window_bits");
            snprintf(tmp, sizeof tmp, "; client_max_window_bits=%u", 8 + ((bits >> 3) & 7));
            sn = put(rsp, sizeof rsp, sn, tmp);
        }
        rn = put(req, sizeof req, rn, "\r\n");
        sn = put(rsp, sizeof rsp, sn, "\r\n");
    }
    rn = put(req, sizeof req, rn, "\r\n");
    sn = put(rsp, sizeof rsp, sn, "\r\n");
    fuzz_data(f, SIDE_C, (const uint8_t *)req, rn);
    fuzz_data(f, SIDE_S, (const uint8_t *)rsp, sn);
}

/* How the connection ends, as the TCP layer would have recorded it. */
static enum wst_close_how fuzz_end_state(struct fuzz_conn *f, unsigned sel)
{
    struct tcp_side *cli = &f->c->side[SIDE_C], *srv = &f->c->side[SIDE_S];
    int64_t now = f->a->now;

    switch (sel & 7) {
    case 1:
        cli->fin_seen = true;
        cli->end_ts = now;
        return WST_CLOSE_FIN;
    case 2:
        srv->fin_seen = true;
        srv->end_ts = now;
        return WST_CLOSE_FIN;
    case 3:
        cli->fin_seen = srv->fin_seen = true;
        cli->end_ts = srv->end_ts = now;
        return WST_CLOSE_FIN;
    case 4:
        cli->rst_seen = true;
        cli->end_ts = now;
        return WST_CLOSE_RST;
    case 5:
        srv->rst_seen = true;
        srv->end_ts = now;
        return WST_CLOSE_RST;
    case 6:
        return WST_CLOSE_TIMEOUT;
    case 7:
        return WST_CLOSE_EVICTED;
    default:
        return WST_CLOSE_OPEN;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = size > 0 ? data[0] : 0;
    unsigned bits = size > 1 ? data[1] : 0;
    unsigned sel = size > 2 ? data[2] : 0;
    size_t pos = size < 3 ? size : 3;
    struct wst_limits lim;

    fuzz_limits(&lim, sel);
    struct fuzz_expect expect = {lim.max_message};
    struct wst_analyzer *a = wst_new(&lim, fuzz_sinks_event, &expect);
    struct conn *c = calloc(1, sizeof *c);
    if (!a || !c) {
        free(c);
        wst_free(a);
        return 0;
    }
    struct fuzz_conn f = {a, c, {0, 0}};
    a->now = FUZZ_T0;
    a->have_first = true;
    a->first_ts = FUZZ_T0;

    c->id = 1;
    c->roles_known = true;
    c->phase = PH_OPEN;
    c->first_ts = c->last_ts = c->syn_ts = FUZZ_T0;
    c->first_frame = 1;
    const uint8_t cli[4] = {192, 0, 2, 1}, srv[4] = {198, 51, 100, 7};
    c->ep[SIDE_C].family = c->ep[SIDE_S].family = 4;
    memcpy(c->ep[SIDE_C].addr, cli, sizeof cli);
    memcpy(c->ep[SIDE_S].addr, srv, sizeof srv);
    c->ep[SIDE_C].port = 49152;
    c->ep[SIDE_S].port = (mode & 3) == 3 ? FUZZ_WS_PORT : 80;
    for (int s = 0; s < 2; s++) {
        c->side[s].mss = c->side[s].wscale = -1;
        reasm_init(&c->side[s].rs);
    }

    if ((mode & 3) == 1 || (mode & 3) == 2)
        fuzz_handshake(&f, mode, bits);

    int side = SIDE_C;
    bool first = true;
    while (size - pos >= 2) {
        unsigned h = (unsigned)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (!first && !(h & 0x4000))
            side ^= 1;
        first = false;
        if (h & 0x8000) {
            uint64_t n = (uint64_t)(h & 0xfff) << (4 * ((h >> 12) & 3));
            if (n)
                fuzz_gap(&f, side, n);
            continue;
        }
        size_t n = h & 0x3fff;
        if (n > size - pos)
            n = size - pos;
        if (n)
            fuzz_data(&f, side, data + pos, n);
        pos += n;
    }

    fuzz_tick(&f);
    enum wst_close_how how = fuzz_end_state(&f, sel >> 2);
    app_end(a, c, how);
    app_free(c);
    if (a->app_budget.used != 0) {
        fprintf(stderr, "fuzz_stream: %zu bytes still charged to the application budget after "
                        "the connection was freed\n", a->app_budget.used);
        abort();
    }
    fuzz_sinks_flush();
    free(c);
    wst_free(a);
    return 0;
}
