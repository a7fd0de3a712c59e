/* wshs.h - WebSocket opening handshake helpers: accept key, extensions, versions (RFC 6455/7692).
 */
#ifndef WSTAP_WSHS_H
#define WSTAP_WSHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wstap/wstap.h"

#define WSHS_OK 0
#define WSHS_MALFORMED (-1) /* the value does not follow the grammar */
#define WSHS_TOO_MANY (-3)  /* more elements than the caller's array holds */

#define WSHS_ACCEPT_LEN 28 /* base64 of a 20-byte SHA-1 */
#define WSHS_KEY_MAX 220   /* longest key wshs_accept hashes (a valid key is 24 bytes) */
#define WSHS_MAX_PARAMS 8  /* parameters kept per extension */

/*
 * out = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), NUL-terminated.
 * key is the Sec-WebSocket-Key value as sent (OWS already trimmed by the HTTP parser).
 * Returns 0, or -1 when the key is longer than WSHS_KEY_MAX or libcrypto fails (out = "").
 */
int wshs_accept(const uint8_t *key, size_t keylen, char out[WSHS_ACCEPT_LEN + 1]);
/* Does accept equal the value computed from key? */
bool wshs_accept_ok(const uint8_t *key, size_t keylen, const uint8_t *accept, size_t acceptlen);
/* A valid Sec-WebSocket-Key: base64 (with padding) that decodes to exactly 16 bytes. */
bool wshs_key_valid(const uint8_t *key, size_t len);

/* ---- Sec-WebSocket-Extensions (RFC 6455 9.1) ---- */

/*
 * A parameter. For a quoted-string value, value is the text between the quotes with any
 * backslash escapes still in it (quoted is set); wshs_param_value() unescapes it. RFC 6455
 * requires the unescaped value to be a token, and the parser checks that.
 */
struct ws_ext_param {
    struct wst_str name, value;
    bool has_value;
    bool quoted;
};

struct ws_ext {
    struct wst_str name;
    struct ws_ext_param params[WSHS_MAX_PARAMS];
    size_t nparams;
};

/*
 * Parse one Sec-WebSocket-Extensions value ("ext; p; p=v, ext2") and append its extensions to
 * exts[*n .. cap); *n is updated. Call once per header line, or on the lines joined with ",".
 * Empty list elements are skipped. Slices point into value. Returns WSHS_OK, WSHS_MALFORMED,
 * or WSHS_TOO_MANY (more than cap extensions, or an extension with more than WSHS_MAX_PARAMS
 * parameters). On an error the complete extensions before the bad one stay in exts[0, *n).
 */
int wshs_ext_parse(const uint8_t *value, size_t len, struct ws_ext *exts, size_t cap, size_t *n);
/* The unescaped value of p into out (cap bytes, not NUL-terminated); returns its length
 * (only min(length, cap) bytes are written). */
size_t wshs_param_value(const struct ws_ext_param *p, uint8_t *out, size_t cap);
/* The first extension named name (case-insensitive), or NULL. */
const struct ws_ext *wshs_ext_find(const struct ws_ext *exts, size_t n, const char *name);
/* The compression a response's accepted extensions select: permessage-deflate, then
 * x-webkit-deflate-frame / deflate-frame (per-frame compression), else none. */
enum wst_compression wshs_compression(const struct ws_ext *exts, size_t n);

#define PMD_BITS_NO_VALUE 0 /* client_max_window_bits given without a value (offers only) */

/* permessage-deflate parameters (RFC 7692 7.1). */
struct pmd_params {
    bool server_no_context_takeover, client_no_context_takeover;
    int server_max_window_bits; /* 8..15; 15 when absent */
    int client_max_window_bits; /* 8..15; 15 when absent; PMD_BITS_NO_VALUE in an offer that
                                   gave the parameter without a value */
    bool server_max_window_bits_given, client_max_window_bits_given;
    bool valid;
    const char *why; /* when !valid: a static sentence */
};

/*
 * Read a permessage-deflate element as an offer (request) or a response. Invalid (RFC 7692
 * section 7): a parameter twice, an unknown parameter, a value on a no_context_takeover,
 * window bits outside 8..15 or with leading zeros, server_max_window_bits without a value,
 * client_max_window_bits without a value in a response.
 */
void wshs_pmd_params(const struct ws_ext *e, bool is_offer, struct pmd_params *out);

/*
 * Is the server's accepted extension list consistent with the client's offers? Each accepted
 * extension must have been offered (name match, case-insensitive) and be accepted at most once;
 * a permessage-deflate response must be valid and acceptable for at least one valid offer
 * (client_max_window_bits only if that offer had it, and no larger; server_max_window_bits
 * present and no larger when the offer limited it; server_no_context_takeover present when
 * the offer asked for it). Returns NULL when consistent, else a static sentence.
 */
const char *wshs_negotiation_check(const struct ws_ext *offers, size_t noffers,
                                   const struct ws_ext *resp, size_t nresp);

/* ---- Sec-WebSocket-Version ---- */

/*
 * Parse a comma list of versions ("13, 8, 7": each 0..255, no leading zeros) and append them
 * to out[*n .. cap). A 426 response lists the server's versions this way, possibly over
 * several header lines (call once per line). Returns WSHS_OK, WSHS_MALFORMED or WSHS_TOO_MANY.
 */
int wshs_versions_parse(const uint8_t *value, size_t len, int *out, size_t cap, size_t *n);
/* The request's Sec-WebSocket-Version is exactly "13" (RFC 6455 4.1). */
bool wshs_version_is_13(const uint8_t *value, size_t len);

#endif
