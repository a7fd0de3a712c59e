/* sink.h - turn analyzer events into text: the terminal timeline and NDJSON. */
#ifndef WSTAP_SINK_H
#define WSTAP_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbuf.h"
#include "wstap/wstap.h"

/* The timeline's time column, as tcpdump's -t options. */
enum sink_ts {
    SINK_TS_REL = 0, /* default (and -ttttt): seconds since the first packet */
    SINK_TS_NONE,    /* -t: no time */
    SINK_TS_EPOCH,   /* -tt: seconds since the epoch */
    SINK_TS_DELTA,   /* -ttt: seconds since the previous line */
    SINK_TS_DATE,    /* -tttt: date and time of day (local time, TZ) */
};

/* What the timeline remembers between lines (-ttt). */
struct sink_state {
    bool have_prev;
    int64_t prev_us;
};

/* How much the sinks show. */
struct sink_opts {
    size_t text_payload_max; /* payload preview bytes in the timeline; 0 = all */
    size_t json_payload_max; /* payload bytes in ws.message; 0 = all */
    bool hex;                /* -x: hex dump of message payloads in the timeline */
    bool frames;             /* -v: ws.frame lines in the timeline */
    enum sink_ts ts;         /* the time column */
    bool color;              /* ANSI colours in the timeline */
    struct sink_state *st;   /* needed for SINK_TS_DELTA; may be NULL otherwise */
    /* Called inside the timeline's end-of-capture block, before the packet totals (the
     * per-connection summary rows); may be NULL. */
    void (*end_rows)(void *ctx, struct outbuf *ob);
    void *end_ctx;
    /* Called by the JSON sink before it writes capture.end (conn.summary lines); may be
     * NULL. end is the capture.end event. */
    void (*end_json)(void *ctx, struct outbuf *ob, const struct wst_event *end);
    /* Called at the very end of the timeline's end-of-capture block (the ok / BAD total of
     * the connections), with end_ctx; may be NULL. */
    void (*end_total)(void *ctx, struct outbuf *ob);
};

extern const struct sink_opts sink_opts_default;

/* One JSON object and newline per event, exactly as EVENTS.md and wstap(1) describe. */
void sink_json_event(struct outbuf *ob, const struct sink_opts *so, const struct wst_event *ev);

/* One timeline line per event (capture.end: a summary block). Every byte that came from
 * the capture goes through term_put_safe, so no control byte reaches the terminal. */
void sink_text_event(struct outbuf *ob, const struct sink_opts *so, const struct wst_event *ev);

/* base64 of any bytes, as a JSON string (quotes included). */
void json_put_b64(struct outbuf *ob, const uint8_t *p, size_t len);

/* A JSON string, quotes included, for any bytes: '"', '\\' and controls escaped, DEL as
 * \u007f, U+2028/U+2029 escaped, each maximal invalid UTF-8 subpart replaced by \ufffd. */
void json_put_str(struct outbuf *ob, const uint8_t *s, size_t len);
void json_put_cstr(struct outbuf *ob, const char *s);
/* ,"key":VALUE after the first key of an object (keys are our own ASCII literals): the
 * JSON sink's and conn.summary's one way of writing a field. */
void json_key(struct outbuf *ob, const char *key);
void json_key_u64(struct outbuf *ob, const char *key, uint64_t v);
void json_key_int_or_null(struct outbuf *ob, const char *key, int v); /* -1: null */
void json_key_bool(struct outbuf *ob, const char *key, bool v);
void json_key_str(struct outbuf *ob, const char *key, const char *s); /* NULL: null */

/* Untrusted bytes for a terminal: printable ASCII and valid UTF-8 as they are; a backslash
 * as \\; control bytes, DEL and invalid UTF-8 as \xNN; C1 controls, bidirectional
 * overrides and line/paragraph separators as \uNNNN. */
void term_put_safe(struct outbuf *ob, const uint8_t *s, size_t len);
void term_put_cstr(struct outbuf *ob, const char *s);

/* v / 10^decimals with exactly that many decimals ("-0.000123"); decimals <= 9. */
void sink_put_fixed(struct outbuf *ob, int64_t v, unsigned decimals);

#endif
