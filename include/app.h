/* app.h - the application layers over each connection's reassembled byte streams:
 * protocol detection, HTTP/1.x, the WebSocket upgrade and its diagnosis, WebSocket. */
#ifndef WSTAP_APP_H
#define WSTAP_APP_H

#include <stdint.h>

#include "core.h"

struct app_conn;

/* In-order bytes of one direction (side SIDE_C or SIDE_S), one segment at a time. */
void app_data(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p, uint32_t len,
              uint64_t frame);
/* len bytes of the direction were never captured. */
void app_gap(struct wst_analyzer *a, struct conn *c, int side, uint64_t len);
/* The connection ends (before its tcp.close): report what was left unfinished. */
void app_end(struct wst_analyzer *a, struct conn *c, enum wst_close_how how);
/* Release the connection's application state. */
void app_free(struct conn *c);

#endif
