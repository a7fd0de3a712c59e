/* tlskdf.h - TLS cipher suites by IANA number and the key derivations that turn a key log's
 * secrets into record keys: the TLS 1.3 key schedule's HKDF-Expand-Label (RFC 8446 7.1, 7.2,
 * 7.3) and the TLS 1.2 PRF key block (RFC 5246 5, 6.3; RFC 5288; RFC 7905). All crypto is
 * OpenSSL libcrypto's (EVP_KDF "HKDF" in EXPAND_ONLY mode, EVP_KDF "TLS1-PRF"); no I/O. */
#ifndef WSTAP_TLSKDF_H
#define WSTAP_TLSKDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_VERSION_12 0x0303
#define TLS_VERSION_13 0x0304

#define TLS_RANDOM_LEN 32     /* ClientHello.random, ServerHello.random */
#define TLS12_MASTER_LEN 48   /* TLS 1.2 master secret (RFC 5246 8.1) */
#define TLS_SECRET_MAX 48     /* longest secret: SHA-384 traffic secret, TLS 1.2 master */
#define TLS_KEY_MAX 32        /* AES-256, ChaCha20 */
#define TLS_IV_LEN 12         /* every AEAD nonce here is 12 bytes */
#define TLS_TAG_LEN 16        /* every AEAD tag here is 16 bytes */
#define TLS12_GCM_EXPLICIT 8  /* TLS 1.2 AES-GCM: explicit nonce bytes in each record */
#define TLS12_GCM_SALT 4      /* TLS 1.2 AES-GCM: implicit part of the nonce (the key block IV) */

enum tls_hash { TLS_HASH_SHA256, TLS_HASH_SHA384 };

enum tls_aead {
    TLS_AEAD_NONE = 0, /* not an AEAD suite we decrypt (see tls_suite.why) */
    TLS_AEAD_AES128_GCM,
    TLS_AEAD_AES256_GCM,
    TLS_AEAD_CHACHA20_POLY1305,
};

/* One cipher suite. version: TLS_VERSION_13 for the 0x13xx suites (which need the traffic
 * secrets), TLS_VERSION_12 for the others (which need the master secret). Suites wstap cannot
 * decrypt have aead TLS_AEAD_NONE and say why. */
struct tls_suite {
    uint16_t id;
    const char *name; /* IANA name, e.g. "TLS_AES_128_GCM_SHA256" */
    uint16_t version;
    enum tls_aead aead;
    enum tls_hash hash; /* HKDF hash (1.3) or PRF hash (1.2) */
    uint8_t key_len;    /* 16 or 32; 0 when unsupported */
    const char *why;    /* NULL when supported, else e.g. "CBC mode" */
};

/* The suite with this IANA number, or NULL when the table does not know it (print
 * "0x%04X" then). Covers every suite of Mozilla's Modern and Intermediate lists (decryptable)
 * and the common unsupported ones (CBC, RC4, 3DES, NULL, CCM, the signaling values) by name. */
const struct tls_suite *tls_suite_find(uint16_t id);

static inline bool tls_suite_supported(const struct tls_suite *s)
{
    return s && s->aead != TLS_AEAD_NONE;
}

size_t tls_hash_len(enum tls_hash h); /* 32 or 48 */

/* Record protection keys of one direction: key, and the IV as the record layer uses it:
 * TLS 1.3 and TLS 1.2 ChaCha20-Poly1305: the 12-byte IV XORed with the sequence number;
 * TLS 1.2 AES-GCM: the 4-byte salt in iv[0..4) (iv_len 4), the rest comes from each record. */
struct tls_keys {
    enum tls_aead aead;
    uint8_t key_len;
    uint8_t iv_len;
    uint8_t key[TLS_KEY_MAX];
    uint8_t iv[TLS_IV_LEN];
};

/* The functions below return 0, or -1 when an argument is out of range or libcrypto failed
 * (out is then zeroed). */

/* HKDF-Expand-Label(secret, "tls13 " + label, context, outlen) (RFC 8446 7.1). label is at
 * most 249 bytes, context at most 255, outlen at most 255 * hash length. */
int tls13_expand_label(enum tls_hash h, const uint8_t *secret, size_t slen, const char *label,
                       const uint8_t *ctx, size_t ctxlen, uint8_t *out, size_t outlen);

/* The write key and IV of a TLS 1.3 traffic secret ("key", "iv": RFC 8446 7.3). s must be a
 * supported TLS 1.3 suite and slen its hash length. */
int tls13_traffic_keys(const struct tls_suite *s, const uint8_t *secret, size_t slen,
                       struct tls_keys *out);

/* application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length)
 * (RFC 8446 7.2, KeyUpdate). out may equal secret. */
int tls13_next_secret(enum tls_hash h, const uint8_t *secret, size_t slen, uint8_t *out);

/* The TLS 1.2 PRF (RFC 5246 5): P_hash(secret, label + seed), through EVP_KDF "TLS1-PRF". */
int tls12_prf(enum tls_hash h, const uint8_t *secret, size_t slen, const char *label,
              const uint8_t *seed, size_t seedlen, uint8_t *out, size_t outlen);

/* The TLS 1.2 key block of an AEAD suite (RFC 5246 6.3: "key expansion" with
 * server_random + client_random; no MAC keys): client and server write keys and IVs (4-byte
 * salt for AES-GCM per RFC 5288, 12-byte IV for ChaCha20-Poly1305 per RFC 7905). */
int tls12_key_block(const struct tls_suite *s, const uint8_t master[TLS12_MASTER_LEN],
                    const uint8_t client_random[TLS_RANDOM_LEN],
                    const uint8_t server_random[TLS_RANDOM_LEN], struct tls_keys *client,
                    struct tls_keys *server);

#endif
