/* names.c - value-to-name tables and endpoint formatting shared by every sink. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "wstap/wstap.h"

struct tok {
    int v;
    const char *s;
};

static const char *tok_name(const struct tok *t, int v, const char *dflt)
{
    for (; t->s; t++)
        if (t->v == v)
            return t->s;
    return dflt;
}

static const struct tok ev_names[] = {
    {WST_EV_TCP_SYN, "tcp.syn"},
    {WST_EV_TCP_OPEN, "tcp.open"},
    {WST_EV_TCP_ANOMALY, "tcp.anomaly"},
    {WST_EV_TCP_GAP, "tcp.gap"},
    {WST_EV_HTTP_REQUEST, "http.request"},
    {WST_EV_HTTP_RESPONSE, "http.response"},
    {WST_EV_HTTP_ERROR, "http.error"},
    {WST_EV_TLS_HELLO, "tls.client_hello"},
    {WST_EV_H2_PREFACE, "http2.preface"},
    {WST_EV_WS_OPEN, "ws.open"},
    {WST_EV_WS_FAIL, "ws.fail"},
    {WST_EV_WS_FRAME, "ws.frame"},
    {WST_EV_WS_MESSAGE, "ws.message"},
    {WST_EV_WS_CONTROL, "ws.control"},
    {WST_EV_WS_ERROR, "ws.error"},
    {WST_EV_TCP_CLOSE, "tcp.close"},
    {WST_EV_PACKET_ERROR, "packet.error"},
    {WST_EV_CAPTURE_END, "capture.end"},
    {WST_EV_TCP_FIN, "tcp.fin"},
    {WST_EV_WS_MIDSTREAM, "ws.midstream"},
    {WST_EV_TCP_RST, "tcp.rst"},
    {WST_EV_TLS_SERVER_HELLO, "tls.server_hello"},
    {WST_EV_TLS_DECRYPT, "tls.decrypt"},
    {WST_EV_TLS_ALERT, "tls.alert"},
    {WST_EV_TLS_KEY_UPDATE, "tls.key_update"},
    {0, NULL},
};

static const struct tok anomaly_names[] = {
    {WST_AN_RETRANSMISSION, "retransmission"},
    {WST_AN_FAST_RETRANSMISSION, "fast_retransmission"},
    {WST_AN_SPURIOUS_RETRANSMISSION, "spurious_retransmission"},
    {WST_AN_OUT_OF_ORDER, "out_of_order"},
    {WST_AN_LOST_SEGMENT, "lost_segment"},
    {WST_AN_ACKED_UNSEEN, "acked_unseen"},
    {WST_AN_DUP_ACK, "dup_ack"},
    {WST_AN_ZERO_WINDOW, "zero_window"},
    {WST_AN_ZERO_WINDOW_PROBE, "zero_window_probe"},
    {WST_AN_WINDOW_FULL, "window_full"},
    {WST_AN_WINDOW_UPDATE, "window_update"},
    {WST_AN_KEEP_ALIVE, "keep_alive"},
    {WST_AN_KEEP_ALIVE_ACK, "keep_alive_ack"},
    {WST_AN_OVERLAP_MISMATCH, "overlap_mismatch"},
    {WST_AN_OOO_LIMIT, "ooo_limit"},
    {WST_AN_DATA_AFTER_RST, "data_after_rst"},
    {0, NULL},
};

static const struct tok wsfail_names[] = {
    {WST_WSFAIL_NO_RESPONSE_CLOSED, "no_response_closed"},
    {WST_WSFAIL_NO_RESPONSE_RESET, "no_response_reset"},
    {WST_WSFAIL_NO_RESPONSE_EOF, "no_response_eof"},
    {WST_WSFAIL_STATUS, "status"},
    {WST_WSFAIL_ACCEPT_MISMATCH, "accept_mismatch"},
    {WST_WSFAIL_MISSING_KEY, "missing_key"},
    {WST_WSFAIL_BAD_VERSION, "bad_version"},
    {WST_WSFAIL_BAD_UPGRADE_HEADERS, "bad_upgrade_headers"},
    {WST_WSFAIL_BAD_EXTENSION, "bad_extension"},
    {WST_WSFAIL_BAD_KEY, "bad_key"},
    {0, NULL},
};

static const struct tok wsop_names[] = {
    {WST_WS_CONT, "cont"},   {WST_WS_TEXT, "text"}, {WST_WS_BINARY, "binary"},
    {WST_WS_CLOSE, "close"}, {WST_WS_PING, "ping"}, {WST_WS_PONG, "pong"},
    {0, NULL},
};

static const struct tok how_names[] = {
    {WST_CLOSE_FIN, "fin"},         {WST_CLOSE_RST, "rst"},         {WST_CLOSE_TIMEOUT, "timeout"},
    {WST_CLOSE_OPEN, "open"},       {WST_CLOSE_EVICTED, "evicted"}, {0, NULL},
};

static const struct tok by_names[] = {
    {WST_BY_CLIENT, "client"},
    {WST_BY_SERVER, "server"},
    {0, NULL},
};

static const struct tok teardown_names[] = {
    {WST_TEARDOWN_4WAY, "4way"},
    {WST_TEARDOWN_3WAY, "3way"},
    {WST_TEARDOWN_SIMULTANEOUS, "simultaneous"},
    {WST_TEARDOWN_HALF, "half"},
    {0, NULL},
};

static const struct tok pkterr_names[] = {
    {WST_PKTERR_TRUNCATED, "truncated"},
    {WST_PKTERR_MALFORMED, "malformed"},
    {WST_PKTERR_LIMIT, "limit"},
    {0, NULL},
};

const char *wst_ev_name(enum wst_ev_type t)
{
    return tok_name(ev_names, (int)t, "unknown");
}

const char *wst_anomaly_name(enum wst_anomaly k)
{
    return tok_name(anomaly_names, (int)k, "unknown");
}

const char *wst_ws_fail_name(enum wst_ws_fail r)
{
    return tok_name(wsfail_names, (int)r, "status");
}

const char *wst_ws_opcode_name(unsigned opcode)
{
    if (opcode == 0)
        return "cont"; /* tok_name's table cannot hold the 0 value before its sentinel */
    return tok_name(wsop_names, (int)opcode, NULL);
}

const char *wst_compression_name(enum wst_compression c)
{
    switch (c) {
    case WST_COMP_PMD:
        return "permessage-deflate";
    case WST_COMP_DEFLATE_FRAME:
        return "x-webkit-deflate-frame";
    case WST_COMP_NONE:
        break;
    }
    return NULL;
}

const char *wst_close_how_name(enum wst_close_how h)
{
    return tok_name(how_names, (int)h, "open");
}

const char *wst_close_by_name(enum wst_close_by b)
{
    return tok_name(by_names, (int)b, NULL);
}

const char *wst_teardown_name(enum wst_teardown t)
{
    return tok_name(teardown_names, (int)t, NULL);
}

const char *wst_pkterr_name(enum wst_pkt_err_kind k)
{
    return tok_name(pkterr_names, (int)k, "malformed");
}

void wst_endpoint_str(const struct wst_endpoint *ep, char *buf, size_t len)
{
    char addr[INET6_ADDRSTRLEN];

    if (len == 0)
        return;
    if (ep->family == 6) {
        if (!inet_ntop(AF_INET6, ep->addr, addr, sizeof addr))
            addr[0] = '\0';
        snprintf(buf, len, "[%s]:%u", addr, (unsigned)ep->port);
    } else {
        if (!inet_ntop(AF_INET, ep->addr, addr, sizeof addr))
            addr[0] = '\0';
        snprintf(buf, len, "%s:%u", addr, (unsigned)ep->port);
    }
}
