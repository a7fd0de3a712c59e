/* pingpair.h - pair a WebSocket pong with the ping it answers (RFC 6455 5.5.3: a pong
 * carries the payload of the ping it responds to; a peer may answer only the most recent of
 * several pings). A small fixed ring of one direction's outstanding pings; no allocation. */
#ifndef WSTAP_PINGPAIR_H
#define WSTAP_PINGPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PINGPAIR_RING 4   /* outstanding pings kept per direction (the oldest is dropped) */
#define PINGPAIR_MAXLEN 125 /* a control frame's payload limit (RFC 6455 5.5) */

struct pingpair_ent {
    int64_t ts_us;
    uint8_t len;
    uint8_t p[PINGPAIR_MAXLEN];
};

/* The pings one side sent that no pong answered yet, oldest first. */
struct pingpair {
    struct pingpair_ent e[PINGPAIR_RING];
    size_t n;
};

/* A ping with its whole payload (len <= 125) was sent at ts_us. */
void pingpair_ping(struct pingpair *pp, const uint8_t *p, size_t len, int64_t ts_us);

/* A pong with its whole payload arrived at ts_us from the peer of the pings in pp. Returns the
 * round trip in microseconds, or -1 when no outstanding ping has the same payload, or when two
 * or more do (which one it answers cannot be known). The matched ping and the ones before it
 * (the peer passed over them) are forgotten. */
int64_t pingpair_pong(struct pingpair *pp, const uint8_t *p, size_t len, int64_t ts_us);

#endif
