/* har.h - --har: an HTTP Archive (HAR 1.2) of the HTTP exchanges and WebSocket messages seen,
 * with Chrome DevTools' _webSocketMessages on each upgrade entry. Fed every event the sinks
 * see; keeps what it needs (capped) and writes the whole file at the end. */
#ifndef WSTAP_HAR_H
#define WSTAP_HAR_H

#include <stdint.h>

#include "outbuf.h"
#include "wstap/wstap.h"

/* Header and message bytes kept for the archive, all connections together. Past it, further
 * entries and messages are left out and counted in the log's comment. Bodies are never kept
 * (content.size comes from Content-Length; content.text is omitted). */
#define HAR_MAX_KEPT ((uint64_t)64 << 20)

struct har;

/* NULL when out of memory. */
struct har *har_new(void);
void har_free(struct har *h);

/* Feed one event (in order; pointers inside are copied). */
void har_event(struct har *h, const struct wst_event *ev);

/* The whole archive as one JSON document and a newline. */
void har_write(const struct har *h, struct outbuf *ob);

#endif
