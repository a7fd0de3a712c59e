/* tlsapp.h - the TLS layer of one connection, between the TCP streams and the application
 * dispatcher (app.c): parses the ClientHello and ServerHello (and EncryptedExtensions once
 * decrypted), drives a tls_sess with the analyzer's key table, emits the tls.* events, and
 * hands each direction's decrypted application_data up through app_plain / app_plain_gap with
 * the frame and time of the packet that carried each record's last byte. */
#ifndef WSTAP_TLSAPP_H
#define WSTAP_TLSAPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "tlskdf.h"

/* What a ClientHello body (after the 4-byte handshake header) holds that the session needs. */
struct tlsapp_ch {
    uint8_t random[TLS_RANDOM_LEN];
    uint8_t sid_len;
    uint8_t sid[32];
    bool ticket; /* a non-empty SessionTicket extension (RFC 5077) */
    bool psk;    /* a pre_shared_key extension (RFC 8446 4.2.11) */
};

/* What a ServerHello body holds. */
struct tlsapp_sh {
    uint8_t random[TLS_RANDOM_LEN];
    uint8_t sid_len;
    uint8_t sid[32];
    uint16_t legacy_version;
    uint16_t version; /* supported_versions when present, else legacy_version */
    uint16_t suite;
    bool psk;         /* pre_shared_key selected: TLS 1.3 resumption */
    bool has_alpn;
    uint8_t alpn_len;
    uint8_t alpn[255];
};

/* Parsers for handshake message bodies (no header); false when malformed or truncated. */
bool tlsapp_parse_client_hello(const uint8_t *p, size_t n, struct tlsapp_ch *out);
bool tlsapp_parse_server_hello(const uint8_t *p, size_t n, struct tlsapp_sh *out);
/* EncryptedExtensions (TLS 1.3): the selected ALPN protocol, if any. Returns false when
 * malformed; *has_alpn tells whether one was found. */
bool tlsapp_parse_ee_alpn(const uint8_t *p, size_t n, bool *has_alpn, uint8_t *alpn,
                          uint8_t *alpn_len);

/* Packets a direction's recent bytes came from: stream offsets to frames and times. */
#define TLSAPP_RING 32
struct tlsapp_pkt {
    uint64_t end_off; /* stream offset just past the packet's last byte */
    uint64_t frame;
    int64_t ts;
};
struct tlsapp_ring {
    struct tlsapp_pkt e[TLSAPP_RING];
    unsigned head, n;
};
void tlsapp_ring_push(struct tlsapp_ring *r, uint64_t end_off, uint64_t frame, int64_t ts);
/* The packet that carried stream byte off - 1 (the oldest one kept when it is older). NULL
 * when the ring is empty. */
const struct tlsapp_pkt *tlsapp_ring_find(const struct tlsapp_ring *r, uint64_t end_off);

struct tlsapp;

/* NULL when the application-layer budget or memory refuses it. */
struct tlsapp *tlsapp_new(struct wst_analyzer *a, struct conn *c);
void tlsapp_free(struct tlsapp *t);
/* Stream bytes of one side (SIDE_C, SIDE_S), carried by packet frame at time ts. */
void tlsapp_data(struct tlsapp *t, struct wst_analyzer *a, struct conn *c, int side,
                 const uint8_t *p, size_t len, uint64_t frame, int64_t ts);
void tlsapp_gap(struct tlsapp *t, struct wst_analyzer *a, struct conn *c, int side, uint64_t len);
/* The connection ends: report what is still pending. */
void tlsapp_end(struct tlsapp *t, struct wst_analyzer *a, struct conn *c);

#endif
