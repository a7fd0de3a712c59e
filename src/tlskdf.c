/* tlskdf.c - TLS cipher suite table and key derivations (TLS 1.3 HKDF-Expand-Label, TLS 1.2
 * PRF key block), all through libcrypto's EVP_KDF. */
#include "tlskdf.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#define S13(id, nm, ae, h, kl) {id, nm, TLS_VERSION_13, ae, h, kl, NULL}
#define S12(id, nm, ae, h, kl) {id, nm, TLS_VERSION_12, ae, h, kl, NULL}
#define NO12(id, nm, why) {id, nm, TLS_VERSION_12, TLS_AEAD_NONE, TLS_HASH_SHA256, 0, why}
#define NO13(id, nm, why) {id, nm, TLS_VERSION_13, TLS_AEAD_NONE, TLS_HASH_SHA256, 0, why}

/* Sorted by id (tls_suite_find searches it in order; it is short). */
static const struct tls_suite suites[] = {
    NO12(0x0000, "TLS_NULL_WITH_NULL_NULL", "no encryption"),
    NO12(0x0001, "TLS_RSA_WITH_NULL_MD5", "NULL cipher"),
    NO12(0x0002, "TLS_RSA_WITH_NULL_SHA", "NULL cipher"),
    NO12(0x0004, "TLS_RSA_WITH_RC4_128_MD5", "RC4"),
    NO12(0x0005, "TLS_RSA_WITH_RC4_128_SHA", "RC4"),
    NO12(0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "CBC mode"),
    NO12(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "CBC mode"),
    NO12(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "CBC mode"),
    NO12(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "CBC mode"),
    NO12(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "CBC mode"),
    NO12(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "CBC mode"),
    NO12(0x003B, "TLS_RSA_WITH_NULL_SHA256", "NULL cipher"),
    NO12(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", "CBC mode"),
    NO12(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", "CBC mode"),
    NO12(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "CBC mode"),
    NO12(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "CBC mode"),
    /* RSA key exchange: with the key log's master secret the records decrypt like any other. */
    S12(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", TLS_AEAD_AES128_GCM, TLS_HASH_SHA256, 16),
    S12(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", TLS_AEAD_AES256_GCM, TLS_HASH_SHA384, 32),
    S12(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", TLS_AEAD_AES128_GCM, TLS_HASH_SHA256, 16),
    S12(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", TLS_AEAD_AES256_GCM, TLS_HASH_SHA384, 32),
    NO12(0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", "signaling value, not a cipher suite"),
    S13(0x1301, "TLS_AES_128_GCM_SHA256", TLS_AEAD_AES128_GCM, TLS_HASH_SHA256, 16),
    S13(0x1302, "TLS_AES_256_GCM_SHA384", TLS_AEAD_AES256_GCM, TLS_HASH_SHA384, 32),
    S13(0x1303, "TLS_CHACHA20_POLY1305_SHA256", TLS_AEAD_CHACHA20_POLY1305, TLS_HASH_SHA256, 32),
    NO13(0x1304, "TLS_AES_128_CCM_SHA256", "CCM mode"),
    NO13(0x1305, "TLS_AES_128_CCM_8_SHA256", "CCM mode"),
    NO12(0x5600, "TLS_FALLBACK_SCSV", "signaling value, not a cipher suite"),
    NO12(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "CBC mode"),
    NO12(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "CBC mode"),
    NO12(0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "RC4"),
    NO12(0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "CBC mode"),
    NO12(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "CBC mode"),
    NO12(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "CBC mode"),
    NO12(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "CBC mode"),
    NO12(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "CBC mode"),
    NO12(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "CBC mode"),
    NO12(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "CBC mode"),
    S12(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", TLS_AEAD_AES128_GCM, TLS_HASH_SHA256,
        16),
    S12(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", TLS_AEAD_AES256_GCM, TLS_HASH_SHA384,
        32),
    S12(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", TLS_AEAD_AES128_GCM, TLS_HASH_SHA256, 16),
    S12(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", TLS_AEAD_AES256_GCM, TLS_HASH_SHA384, 32),
    NO12(0xC09C, "TLS_RSA_WITH_AES_128_CCM", "CCM mode"),
    NO12(0xC09D, "TLS_RSA_WITH_AES_256_CCM", "CCM mode"),
    NO12(0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "CCM mode"),
    NO12(0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "CCM mode"),
    NO12(0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "CCM mode"),
    NO12(0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", "CCM mode"),
    S12(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", TLS_AEAD_CHACHA20_POLY1305,
        TLS_HASH_SHA256, 32),
    S12(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", TLS_AEAD_CHACHA20_POLY1305,
        TLS_HASH_SHA256, 32),
    S12(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", TLS_AEAD_CHACHA20_POLY1305,
        TLS_HASH_SHA256, 32),
};

const struct tls_suite *tls_suite_find(uint16_t id)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

size_t tls_hash_len(enum tls_hash h)
{
    return h == TLS_HASH_SHA384 ? 48 : 32;
}

static const char *hash_name(enum tls_hash h)
{
    return h == TLS_HASH_SHA384 ? "SHA384" : "SHA256";
}

/* One EVP_KDF derivation with the given parameters (terminated by OSSL_PARAM_END). */
static int kdf_derive(const char *alg, const OSSL_PARAM *params, uint8_t *out, size_t outlen)
{
    int rc = -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, alg, NULL);
    if (!kdf)
        goto out_clear;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    if (!kctx)
        goto out_free_kdf;
    if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
        rc = 0;
    EVP_KDF_CTX_free(kctx);
out_free_kdf:
    EVP_KDF_free(kdf);
out_clear:
    if (rc != 0)
        OPENSSL_cleanse(out, outlen);
    return rc;
}

int tls13_expand_label(enum tls_hash h, const uint8_t *secret, size_t slen, const char *label,
                       const uint8_t *ctx, size_t ctxlen, uint8_t *out, size_t outlen)
{
    static const char prefix[] = "tls13 ";
    size_t llen = strlen(label);
    size_t plen = sizeof prefix - 1;
    /* HkdfLabel: uint16 length, opaque label<7..255>, opaque context<0..255> */
    uint8_t info[2 + 1 + 255 + 1 + 255];
    if (outlen == 0 || outlen > 255 * tls_hash_len(h) || llen + plen > 255 || ctxlen > 255 ||
        slen == 0 || (ctxlen && !ctx)) {
        if (outlen)
            memset(out, 0, outlen);
        return -1;
    }
    size_t n = 0;
    info[n++] = (uint8_t)(outlen >> 8);
    info[n++] = (uint8_t)outlen;
    info[n++] = (uint8_t)(plen + llen);
    memcpy(info + n, prefix, plen);
    n += plen;
    memcpy(info + n, label, llen);
    n += llen;
    info[n++] = (uint8_t)ctxlen;
    if (ctxlen)
        memcpy(info + n, ctx, ctxlen);
    n += ctxlen;

    char digest[8];
    memcpy(digest, hash_name(h), 7);
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
        OSSL_PARAM_construct_end(),
    };
    return kdf_derive("HKDF", params, out, outlen);
}

int tls13_traffic_keys(const struct tls_suite *s, const uint8_t *secret, size_t slen,
                       struct tls_keys *out)
{
    memset(out, 0, sizeof *out);
    if (!tls_suite_supported(s) || s->version != TLS_VERSION_13 || slen != tls_hash_len(s->hash))
        return -1;
    out->aead = s->aead;
    out->key_len = s->key_len;
    out->iv_len = TLS_IV_LEN;
    if (tls13_expand_label(s->hash, secret, slen, "key", NULL, 0, out->key, s->key_len) != 0 ||
        tls13_expand_label(s->hash, secret, slen, "iv", NULL, 0, out->iv, TLS_IV_LEN) != 0) {
        OPENSSL_cleanse(out, sizeof *out);
        return -1;
    }
    return 0;
}

int tls13_next_secret(enum tls_hash h, const uint8_t *secret, size_t slen, uint8_t *out)
{
    uint8_t next[TLS_SECRET_MAX];
    size_t hl = tls_hash_len(h);
    if (slen != hl) {
        memset(out, 0, hl);
        return -1;
    }
    int rc = tls13_expand_label(h, secret, slen, "traffic upd", NULL, 0, next, hl);
    memcpy(out, next, hl);
    OPENSSL_cleanse(next, sizeof next);
    return rc;
}

int tls12_prf(enum tls_hash h, const uint8_t *secret, size_t slen, const char *label,
              const uint8_t *seed, size_t seedlen, uint8_t *out, size_t outlen)
{
    uint8_t buf[128]; /* label + seed: "key expansion" + 64 random bytes */
    size_t llen = strlen(label);
    if (outlen == 0 || slen == 0 || llen > sizeof buf || seedlen > sizeof buf - llen ||
        (seedlen && !seed)) {
        if (outlen)
            memset(out, 0, outlen);
        return -1;
    }
    memcpy(buf, label, llen);
    if (seedlen)
        memcpy(buf + llen, seed, seedlen);
    char digest[8];
    memcpy(digest, hash_name(h), 7);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, slen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, buf, llen + seedlen),
        OSSL_PARAM_construct_end(),
    };
    return kdf_derive("TLS1-PRF", params, out, outlen);
}

int tls12_key_block(const struct tls_suite *s, const uint8_t master[TLS12_MASTER_LEN],
                    const uint8_t client_random[TLS_RANDOM_LEN],
                    const uint8_t server_random[TLS_RANDOM_LEN], struct tls_keys *client,
                    struct tls_keys *server)
{
    memset(client, 0, sizeof *client);
    memset(server, 0, sizeof *server);
    if (!tls_suite_supported(s) || s->version != TLS_VERSION_12)
        return -1;
    size_t ivl = s->aead == TLS_AEAD_CHACHA20_POLY1305 ? TLS_IV_LEN : TLS12_GCM_SALT;
    size_t kl = s->key_len;
    uint8_t seed[2 * TLS_RANDOM_LEN];
    uint8_t block[2 * TLS_KEY_MAX + 2 * TLS_IV_LEN];
    memcpy(seed, server_random, TLS_RANDOM_LEN);
    memcpy(seed + TLS_RANDOM_LEN, client_random, TLS_RANDOM_LEN);
    if (tls12_prf(s->hash, master, TLS12_MASTER_LEN, "key expansion", seed, sizeof seed, block,
                  2 * kl + 2 * ivl) != 0)
        return -1;
    /* client_write_key, server_write_key, client_write_IV, server_write_IV (no MAC keys) */
    client->aead = server->aead = s->aead;
    client->key_len = server->key_len = (uint8_t)kl;
    client->iv_len = server->iv_len = (uint8_t)ivl;
    memcpy(client->key, block, kl);
    memcpy(server->key, block + kl, kl);
    memcpy(client->iv, block + 2 * kl, ivl);
    memcpy(server->iv, block + 2 * kl + ivl, ivl);
    OPENSSL_cleanse(block, sizeof block);
    return 0;
}
