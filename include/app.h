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
/* Decrypted bytes of one direction from the TLS layer (tlsapp.c): the same HTTP, upgrade and
 * WebSocket path that plain TCP takes; frame is the packet that carried the record's end. */
void app_plain(struct wst_analyzer *a, struct conn *c, int side, const uint8_t *p, size_t len,
               uint64_t frame);
/* A hole in the decrypted bytes of one direction (len: at least this many bytes). */
void app_plain_gap(struct wst_analyzer *a, struct conn *c, int side, uint64_t len);
/* len bytes of the direction were never captured. */
void app_gap(struct wst_analyzer *a, struct conn *c, int side, uint64_t len);
/* The connection ends (before its tcp.close): report what was left unfinished. */
void app_end(struct wst_analyzer *a, struct conn *c, enum wst_close_how how);
/* Release the connection's application state. */
void app_free(struct conn *c);

#endif
