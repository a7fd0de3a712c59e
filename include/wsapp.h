/* wsapp.h - a connection's WebSocket stream after the upgrade (or picked up midstream):
 * the negotiated configuration, both directions' frame/message decoders, and the events. */
#ifndef WSTAP_WSAPP_H
#define WSTAP_WSAPP_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

struct wsapp_config {
    enum wst_compression compression;
    struct wst_pmd_params params; /* -1 window bits: not given (15 applies) */
    bool known;                   /* false midstream: nothing was negotiated that we saw */
};

struct wsapp;

/* Read the offers (request) and the accepted extensions (response). problem gets a sentence
 * when the response accepted something not offered or invalid (empty otherwise). */
void wsapp_config_from_handshake(struct wsapp_config *cfg, const uint8_t *offer, size_t offer_len,
                                 const uint8_t *resp, size_t resp_len, char *problem,
                                 size_t cap);
/* cfg NULL: midstream, nothing negotiated seen. NULL when out of memory. */
struct wsapp *wsapp_new(const struct wsapp_config *cfg, const struct wst_limits *lim,
                        struct wst_budget *bud,
                        bool midstream);
void wsapp_free(struct wsapp *w);
void wsapp_data(struct wsapp *w, struct wst_analyzer *a, struct conn *c, int side,
                const uint8_t *p, size_t len, uint64_t frame);
void wsapp_gap(struct wsapp *w, struct wst_analyzer *a, struct conn *c, int side, uint64_t len);
/* The connection ends: partial frames and messages are reported. */
void wsapp_end(struct wsapp *w, struct wst_analyzer *a, struct conn *c);
/* Is the connection's server port one given with --ws-port? */
bool wsapp_port_forced(const struct wst_analyzer *a, const struct conn *c);
/* A stream made with cfg NULL and midstream false: side's next byte starts a frame header
 * (at_header, a chain wsmid found; verify: check the next headers as after a resync) or is
 * anywhere (resynchronize first). */
void wsapp_start_side(struct wsapp *w, int side, bool at_header, bool verify);

#endif
