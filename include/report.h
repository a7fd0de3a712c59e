/* report.h - what the end of a run says: one summary row per connection (history, bytes,
 * teardown, HTTP, WebSocket outcome) and the --fail-on findings that decide the exit status.
 * It sees every event the sinks see; it knows nothing of libpcap and writes only through an
 * outbuf (rows) or a FILE (the findings that failed, on stderr). */
#ifndef WSTAP_REPORT_H
#define WSTAP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "outbuf.h"
#include "wstap/wstap.h"

#define REPORT_MAX_ROWS 16384 /* connections listed in the summary; the rest are counted */
#define REPORT_MAX_RULES 32   /* --fail-on conditions */

struct report;

/* NULL when out of memory. */
struct report *report_new(void);
void report_free(struct report *r);

/* Add the conditions of one --fail-on LIST ("upgrade,ws-error,retransmissions>10,
 * close!=1000"). Returns 0, or -1 with a sentence in err. "strict" adds --strict's set. */
int report_add_rules(struct report *r, const char *list, char *err, size_t errlen);

/* Feed one event (in order). */
void report_event(struct report *r, const struct wst_event *ev);

/* Colour the summary's "-- BAD" red (the timeline's --color). */
void report_set_color(struct report *r, bool on);

/* The summary rows and the application totals, for the timeline's end-of-capture block. */
void report_put_summary(const struct report *r, struct outbuf *ob);

/* The last line of the timeline's summary: how many connections ended ok and BAD (nothing
 * when none is listed). */
void report_put_total(const struct report *r, struct outbuf *ob);

/* conn.summary: one JSON line per summary row, in connection-id order, with the t and
 * frame of end (the capture.end event they precede). */
void report_put_json(const struct report *r, struct outbuf *ob, const struct wst_event *end);

/* After the last event: true when a --fail-on condition holds; each one that holds is
 * written to err as one line "wstap: --fail-on COND: ...". */
bool report_failed(const struct report *r, FILE *err);

#endif
