/* test_tlskdf.c - cipher suite table; TLS 1.3 HKDF-Expand-Label, traffic keys and KeyUpdate
 * against RFC 8448 and OpenSSL's own key log; TLS 1.2 key block (checked end to end by the
 * record tests against tshark's decryption). */
#include <string.h>

#include "keylog.h"
#include "rfc8448.h"
#include "tls_vectors.h"
#include "tlskdf.h"
#include "util.h"

static void hexb(const char *s, uint8_t *out, size_t want)
{
    int n = r8448_hex(s, out, want);
    ck_assert_int_eq(n, (int)want);
}

START_TEST(suite_table)
{
    const struct tls_suite *s = tls_suite_find(0x1301);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->name, "TLS_AES_128_GCM_SHA256");
    ck_assert_int_eq(s->version, TLS_VERSION_13);
    ck_assert_int_eq(s->aead, TLS_AEAD_AES128_GCM);
    ck_assert_int_eq(s->hash, TLS_HASH_SHA256);
    ck_assert_int_eq(s->key_len, 16);
    s = tls_suite_find(0x1302);
    ck_assert_str_eq(s->name, "TLS_AES_256_GCM_SHA384");
    ck_assert_int_eq(s->hash, TLS_HASH_SHA384);
    ck_assert_int_eq(s->key_len, 32);
    s = tls_suite_find(0x1303);
    ck_assert_str_eq(s->name, "TLS_CHACHA20_POLY1305_SHA256");
    ck_assert_int_eq(s->aead, TLS_AEAD_CHACHA20_POLY1305);
    static const uint16_t ok12[] = {0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9,
                                    0x009E, 0x009F};
    for (size_t i = 0; i < sizeof ok12 / sizeof ok12[0]; i++) {
        s = tls_suite_find(ok12[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert(tls_suite_supported(s));
        ck_assert_int_eq(s->version, TLS_VERSION_12);
        ck_assert_ptr_null(s->why);
    }
    ck_assert_str_eq(tls_suite_find(0xC030)->name, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    ck_assert_int_eq(tls_suite_find(0xC030)->hash, TLS_HASH_SHA384);
    ck_assert_str_eq(tls_suite_find(0xCCA9)->name,
                     "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
    s = tls_suite_find(0x002F);
    ck_assert_ptr_nonnull(s);
    ck_assert(!tls_suite_supported(s));
    ck_assert_str_eq(s->name, "TLS_RSA_WITH_AES_128_CBC_SHA");
    ck_assert_str_eq(s->why, "CBC mode");
    ck_assert(!tls_suite_supported(tls_suite_find(0x1304)));
    ck_assert_ptr_null(tls_suite_find(0x1234));
    ck_assert(!tls_suite_supported(NULL));
    /* every id is found as itself, and names are unique */
    int n = 0;
    const char *names[256];
    for (uint32_t id = 0; id <= 0xFFFF; id++) {
        s = tls_suite_find((uint16_t)id);
        if (!s)
            continue;
        ck_assert_uint_eq(s->id, id);
        ck_assert(tls_suite_supported(s) == (s->why == NULL));
        ck_assert(!tls_suite_supported(s) || s->key_len == 16 || s->key_len == 32);
        for (int k = 0; k < n; k++)
            ck_assert_str_ne(names[k], s->name);
        names[n++] = s->name;
    }
    ck_assert_int_gt(n, 40);
}
END_TEST

/* RFC 8448 section 3: derive-secret for the traffic secrets, the Finished key */
START_TEST(rfc8448_expand_label)
{
    uint8_t hs[32], th[32], master[32], th2[32], want[32], got[32];
    hexb(R8448_HS_SECRET, hs, 32);
    hexb(R8448_HASH_CH_SH, th, 32);
    hexb(R8448_MASTER, master, 32);
    hexb(R8448_HASH_CH_SF, th2, 32);
    ck_assert_int_eq(tls13_expand_label(TLS_HASH_SHA256, hs, 32, "c hs traffic", th, 32, got, 32),
                     0);
    hexb(R8448_C_HS_TRAFFIC, want, 32);
    ck_assert_mem_eq(got, want, 32);
    ck_assert_int_eq(tls13_expand_label(TLS_HASH_SHA256, hs, 32, "s hs traffic", th, 32, got, 32),
                     0);
    hexb(R8448_S_HS_TRAFFIC, want, 32);
    ck_assert_mem_eq(got, want, 32);
    ck_assert_int_eq(
        tls13_expand_label(TLS_HASH_SHA256, master, 32, "c ap traffic", th2, 32, got, 32), 0);
    hexb(R8448_C_AP_TRAFFIC, want, 32);
    ck_assert_mem_eq(got, want, 32);
    ck_assert_int_eq(
        tls13_expand_label(TLS_HASH_SHA256, master, 32, "s ap traffic", th2, 32, got, 32), 0);
    hexb(R8448_S_AP_TRAFFIC, want, 32);
    ck_assert_mem_eq(got, want, 32);
    hexb(R8448_S_HS_TRAFFIC, hs, 32);
    ck_assert_int_eq(tls13_expand_label(TLS_HASH_SHA256, hs, 32, "finished", NULL, 0, got, 32), 0);
    hexb(R8448_S_FINISHED_KEY, want, 32);
    ck_assert_mem_eq(got, want, 32);
    /* a wrong label or context gives something else */
    ck_assert_int_eq(tls13_expand_label(TLS_HASH_SHA256, hs, 32, "finishe", NULL, 0, got, 32), 0);
    ck_assert(memcmp(got, want, 32) != 0);
}
END_TEST

static void check_keys(const char *secret, const char *key, const char *iv)
{
    uint8_t sec[32], k[16], v[12];
    struct tls_keys out;
    hexb(secret, sec, 32);
    hexb(key, k, 16);
    hexb(iv, v, 12);
    ck_assert_int_eq(tls13_traffic_keys(tls_suite_find(0x1301), sec, 32, &out), 0);
    ck_assert_int_eq(out.key_len, 16);
    ck_assert_int_eq(out.iv_len, 12);
    ck_assert_int_eq(out.aead, TLS_AEAD_AES128_GCM);
    ck_assert_mem_eq(out.key, k, 16);
    ck_assert_mem_eq(out.iv, v, 12);
}

START_TEST(rfc8448_traffic_keys)
{
    check_keys(R8448_S_HS_TRAFFIC, R8448_S_HS_KEY, R8448_S_HS_IV);
    check_keys(R8448_C_HS_TRAFFIC, R8448_C_HS_KEY, R8448_C_HS_IV);
    check_keys(R8448_S_AP_TRAFFIC, R8448_S_AP_KEY, R8448_S_AP_IV);
    check_keys(R8448_C_AP_TRAFFIC, R8448_C_AP_KEY, R8448_C_AP_IV);
}
END_TEST

START_TEST(bad_arguments)
{
    uint8_t sec[48] = {1}, out[64];
    struct tls_keys k;
    /* wrong secret length for the suite, unsupported or TLS 1.2 suite */
    ck_assert_int_eq(tls13_traffic_keys(tls_suite_find(0x1301), sec, 48, &k), -1);
    ck_assert_int_eq(tls13_traffic_keys(tls_suite_find(0x1302), sec, 32, &k), -1);
    ck_assert_int_eq(tls13_traffic_keys(tls_suite_find(0x1304), sec, 32, &k), -1);
    ck_assert_int_eq(tls13_traffic_keys(tls_suite_find(0xC02F), sec, 32, &k), -1);
    ck_assert_int_eq(tls13_traffic_keys(NULL, sec, 32, &k), -1);
    ck_assert_int_eq(k.key_len, 0);
    ck_assert_int_eq(tls13_next_secret(TLS_HASH_SHA384, sec, 32, out), -1);
    char longlabel[300];
    memset(longlabel, 'a', sizeof longlabel - 1);
    longlabel[sizeof longlabel - 1] = '\0';
    ck_assert_int_eq(tls13_expand_label(TLS_HASH_SHA256, sec, 32, longlabel, NULL, 0, out, 32),
                     -1);
    ck_assert_int_eq(tls13_expand_label(TLS_HASH_SHA256, sec, 32, "key", NULL, 0, out, 0), -1);
    ck_assert_int_eq(tls13_expand_label(TLS_HASH_SHA256, sec, 0, "key", NULL, 0, out, 16), -1);
    ck_assert_int_eq(tls12_prf(TLS_HASH_SHA256, sec, 48, longlabel, NULL, 0, out, 32), -1);
    struct tls_keys c, s;
    uint8_t r[32] = {0};
    ck_assert_int_eq(tls12_key_block(tls_suite_find(0x1301), sec, r, r, &c, &s), -1);
    ck_assert_int_eq(tls12_key_block(tls_suite_find(0x002F), sec, r, r, &c, &s), -1);
}
END_TEST

/* OpenSSL's key log records each KeyUpdate generation as *_TRAFFIC_SECRET_N: our "traffic upd"
 * derivation must give the same secrets, in order (client: two updates, server: one). */
struct klcollect {
    uint8_t c[4][48], s[4][48];
    int nc, ns;
    size_t len;
};

static void collect_n(const char *log, struct klcollect *out)
{
    memset(out, 0, sizeof *out);
    const char *p = log;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int isc = n > 24 && strncmp(p, "CLIENT_TRAFFIC_SECRET_", 22) == 0;
        int iss = n > 24 && strncmp(p, "SERVER_TRAFFIC_SECRET_", 22) == 0;
        if (isc || iss) {
            char hex[200];
            const char *sp = memchr(p + 24, ' ', n - 24);
            ck_assert_ptr_nonnull(sp);
            size_t hl = n - (size_t)(sp + 1 - p);
            ck_assert_uint_lt(hl, sizeof hex);
            memcpy(hex, sp + 1, hl);
            hex[hl] = '\0';
            uint8_t *dst = isc ? out->c[out->nc++] : out->s[out->ns++];
            int k = r8448_hex(hex, dst, 48);
            ck_assert_int_gt(k, 0);
            out->len = (size_t)k;
        }
        p += n + (e != NULL);
    }
}

static void check_updates(const char *log, enum tls_hash h)
{
    struct klcollect kc;
    collect_n(log, &kc);
    ck_assert_int_eq(kc.nc, 3); /* _0, then two _N */
    ck_assert_int_eq(kc.ns, 2); /* _0, then one _N */
    ck_assert_uint_eq(kc.len, tls_hash_len(h));
    uint8_t x[48];
    for (int i = 1; i < kc.nc; i++) {
        ck_assert_int_eq(tls13_next_secret(h, kc.c[i - 1], kc.len, x), 0);
        ck_assert_mem_eq(x, kc.c[i], kc.len);
    }
    ck_assert_int_eq(tls13_next_secret(h, kc.s[0], kc.len, x), 0);
    ck_assert_mem_eq(x, kc.s[1], kc.len);
    /* in place */
    memcpy(x, kc.c[0], kc.len);
    ck_assert_int_eq(tls13_next_secret(h, x, kc.len, x), 0);
    ck_assert_mem_eq(x, kc.c[1], kc.len);
}

START_TEST(key_update_vs_openssl)
{
    check_updates(tlsv_t13aes256_keylog, TLS_HASH_SHA384);
    check_updates(tlsv_t13chacha_keylog, TLS_HASH_SHA256);
}
END_TEST

/* RFC 5246's PRF is P_SHA256 for these suites: two derivations with a split output agree, and
 * the key block is laid out as client key, server key, client IV, server IV. */
START_TEST(tls12_key_block_layout)
{
    uint8_t ms[48], cr[32], sr[32], seed[64], blk[2 * 32 + 2 * 12];
    for (int i = 0; i < 48; i++)
        ms[i] = (uint8_t)i;
    for (int i = 0; i < 32; i++) {
        cr[i] = (uint8_t)(0xA0 + i);
        sr[i] = (uint8_t)(0x10 + i);
    }
    memcpy(seed, sr, 32);
    memcpy(seed + 32, cr, 32);
    struct tls_keys c, s;
    /* AES-128-GCM: 16 + 16 + 4 + 4 */
    ck_assert_int_eq(tls12_key_block(tls_suite_find(0xC02F), ms, cr, sr, &c, &s), 0);
    ck_assert_int_eq(tls12_prf(TLS_HASH_SHA256, ms, 48, "key expansion", seed, 64, blk, 40), 0);
    ck_assert_int_eq(c.key_len, 16);
    ck_assert_int_eq(c.iv_len, 4);
    ck_assert_mem_eq(c.key, blk, 16);
    ck_assert_mem_eq(s.key, blk + 16, 16);
    ck_assert_mem_eq(c.iv, blk + 32, 4);
    ck_assert_mem_eq(s.iv, blk + 36, 4);
    /* ChaCha20-Poly1305: 32 + 32 + 12 + 12 */
    ck_assert_int_eq(tls12_key_block(tls_suite_find(0xCCA8), ms, cr, sr, &c, &s), 0);
    ck_assert_int_eq(tls12_prf(TLS_HASH_SHA256, ms, 48, "key expansion", seed, 64, blk, 88), 0);
    ck_assert_int_eq(c.iv_len, 12);
    ck_assert_mem_eq(c.key, blk, 32);
    ck_assert_mem_eq(s.key, blk + 32, 32);
    ck_assert_mem_eq(c.iv, blk + 64, 12);
    ck_assert_mem_eq(s.iv, blk + 76, 12);
    /* SHA-384 PRF differs from SHA-256 */
    uint8_t b384[40];
    ck_assert_int_eq(tls12_prf(TLS_HASH_SHA384, ms, 48, "key expansion", seed, 64, b384, 40), 0);
    ck_assert(memcmp(b384, blk, 40) != 0);
}
END_TEST

static Suite *tlskdf_suite(void)
{
    Suite *s = suite_create("tlskdf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, suite_table);
    tcase_add_test(tc, rfc8448_expand_label);
    tcase_add_test(tc, rfc8448_traffic_keys);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, key_update_vs_openssl);
    tcase_add_test(tc, tls12_key_block_layout);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(tlskdf_suite());
}
