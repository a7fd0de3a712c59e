/* test_tlsrec.c - the TLS record layer and session: RFC 8448's protected records decrypted byte
 * for byte; real TLS 1.2 (AES-128/256-GCM, ChaCha20-Poly1305) and TLS 1.3 (AES-256-GCM,
 * ChaCha20-Poly1305, with KeyUpdates) connections from openssl, whose plaintext must equal
 * tshark's decryption; every split point and one-byte feeds; gaps inside a record, across
 * records, at boundaries, with and without keys; wrong keys; bad lengths; random input. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"
#include "pktbuild.h"
#include "rfc8448.h"
#include "tls_vectors.h"
#include "tlsrec.h"
#include "util.h"

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);                                     \
    } while (0)

/* ---- helpers ------------------------------------------------------------------------------ */

static size_t hexd(const char *s, uint8_t *out, size_t cap)
{
    int n = r8448_hex(s, out, cap);
    REQUIRE(n >= 0);
    return (size_t)n;
}

struct tr {
    char *s;
    size_t n, cap;
};

static void tr_add(struct tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tr_add(struct tr *t, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    REQUIRE(k >= 0 && (size_t)k < sizeof line);
    if (t->n + (size_t)k + 1 > t->cap) {
        t->cap = (t->n + (size_t)k + 1) * 2;
        t->s = realloc(t->s, t->cap);
        REQUIRE(t->s != NULL);
    }
    memcpy(t->s + t->n, line, (size_t)k + 1);
    t->n += (size_t)k;
}

/* What a session run saw. */
struct run {
    struct tls_sess s;
    struct keylog kl;
    struct tr t;
    uint8_t app[2][8192];
    size_t applen[2];
    uint8_t hs[2][4096]; /* decrypted handshake bytes (S2C flight etc.) */
    size_t hslen[2];
    int n_status[2][5];
    int n_kind[2][7];
    int n_hs[2][32]; /* handshake messages by type (types >= 31 counted at 31) */
    int n_keyupd[2];
    int n_alert[2];
    bool saw_ch, saw_sh;
    bool lenient; /* mutated input: the hellos need not carry the expected randoms */
    uint8_t ee[256]; /* the server's EncryptedExtensions body */
    size_t eelen;
    /* every record of each direction: status, inner type, epoch */
    int nrec[2];
    uint8_t rec_status[2][128], rec_type[2][128];
    uint32_t rec_epoch[2][128];
    /* what to announce when the hellos pass */
    const uint8_t *cr, *sr;
    uint16_t version, suite;
    enum tls_keystat keystat;
};

static void run_cb(void *user, const struct tlsrec_ev *ev)
{
    struct run *r = user;
    int d = ev->dir;
    REQUIRE(d == TLS_C2S || d == TLS_S2C);
    r->n_kind[d][ev->kind]++;
    switch (ev->kind) {
    case TLSREC_EV_RECORD:
        tr_add(&r->t, "%d rec st=%d type=%d len=%zu idx=%llu%s seq=%llu ep=%u off=%llu\n", d,
               (int)ev->status, ev->type, ev->len, (unsigned long long)ev->index,
               ev->index_exact ? "" : "?", (unsigned long long)ev->seq, ev->epoch,
               (unsigned long long)ev->end_off);
        r->n_status[d][ev->status]++;
        if (ev->index_exact && ev->index < 128) {
            r->rec_status[d][ev->index] = (uint8_t)ev->status;
            r->rec_type[d][ev->index] = ev->type;
            r->rec_epoch[d][ev->index] = ev->epoch;
            if ((int)ev->index + 1 > r->nrec[d])
                r->nrec[d] = (int)ev->index + 1;
        }
        if (ev->status == TLSREC_DECRYPTED && ev->type == TLS_CT_APPLICATION_DATA) {
            REQUIRE(r->applen[d] + ev->len <= sizeof r->app[d]);
            memcpy(r->app[d] + r->applen[d], ev->data, ev->len);
            r->applen[d] += ev->len;
        }
        if (ev->status == TLSREC_DECRYPTED && ev->type == TLS_CT_HANDSHAKE &&
            r->hslen[d] + ev->len <= sizeof r->hs[d]) {
            memcpy(r->hs[d] + r->hslen[d], ev->data, ev->len);
            r->hslen[d] += ev->len;
        }
        if (ev->status == TLSREC_DECRYPTED && ev->type == TLS_CT_ALERT) {
            REQUIRE(ev->len == 2);
            tr_add(&r->t, "%d alert %d %s\n", d, ev->data[0], tls_alert_name(ev->data[1]));
            r->n_alert[d]++;
        }
        break;
    case TLSREC_EV_HANDSHAKE:
        tr_add(&r->t, "%d hs type=%d len=%zu/%u%s\n", d, ev->hs_type, ev->len, ev->hs_len,
               ev->hs_truncated ? " truncated" : "");
        REQUIRE(ev->len == ev->hs_len || (ev->hs_truncated && ev->len < ev->hs_len));
        r->n_hs[d][ev->hs_type < 31 ? ev->hs_type : 31]++;
        if (d == TLS_C2S && ev->hs_type == 1 && !r->saw_ch) {
            /* the reassembled ClientHello carries the random tshark saw */
            REQUIRE(r->lenient || (ev->len >= 34 && memcmp(ev->data + 2, r->cr, 32) == 0));
            r->saw_ch = true;
            tls_sess_client_hello(&r->s, r->cr);
        }
        if (d == TLS_S2C && ev->hs_type == 2 && !r->saw_sh) {
            REQUIRE(r->lenient || (ev->len >= 34 && memcmp(ev->data + 2, r->sr, 32) == 0));
            r->saw_sh = true;
            REQUIRE(tls_sess_server_hello(&r->s, r->sr, r->version, r->suite));
            r->keystat = tls_sess_keys(&r->s, &r->kl);
        }
        if (d == TLS_S2C && ev->hs_type == 8 && ev->len <= sizeof r->ee) {
            memcpy(r->ee, ev->data, ev->len);
            r->eelen = ev->len;
        }
        break;
    case TLSREC_EV_KEYS: {
        static const char *const why[] = {"ccs", "finished", "trial", "key_update"};
        REQUIRE((unsigned)ev->keys_why < 4);
        tr_add(&r->t, "%d keys why=%s ep=%u\n", d, why[ev->keys_why], ev->epoch);
        if (ev->keys_why == TLSREC_KEYS_KEY_UPDATE)
            r->n_keyupd[d]++;
        break;
    }
    case TLSREC_EV_GAP:
        tr_add(&r->t, "%d gap len=%llu idx=%llu off=%llu\n", d, (unsigned long long)ev->gap_len,
               (unsigned long long)ev->index, (unsigned long long)ev->end_off);
        break;
    case TLSREC_EV_RESYNC:
        tr_add(&r->t, "%d resync idx=%llu%s seq=%llu skipped=%llu off=%llu\n", d,
               (unsigned long long)ev->index, ev->index_exact ? "" : "?",
               (unsigned long long)ev->seq, (unsigned long long)ev->skipped,
               (unsigned long long)ev->end_off);
        break;
    case TLSREC_EV_LOST:
    case TLSREC_EV_BAD_HEADER:
        REQUIRE(ev->why != NULL);
        tr_add(&r->t, "%d %s %s off=%llu\n", d, ev->kind == TLSREC_EV_LOST ? "lost" : "badhdr",
               ev->why, (unsigned long long)ev->end_off);
        break;
    }
}

static void run_init(struct run *r, const char *keylog, const uint8_t *cr, const uint8_t *sr,
                     uint16_t version, uint16_t suite)
{
    memset(r, 0, sizeof *r);
    tls_sess_init(&r->s, NULL);
    keylog_init(&r->kl, 0, NULL, NULL);
    if (keylog) {
        keylog_feed(&r->kl, (const uint8_t *)keylog, strlen(keylog));
        keylog_end(&r->kl);
    }
    r->cr = cr;
    r->sr = sr;
    r->version = version;
    r->suite = suite;
}

static void run_free(struct run *r)
{
    tls_sess_free(&r->s);
    keylog_free(&r->kl);
    free(r->t.s);
}

/* Feed p[0..n) to one direction in chunks of `chunk` bytes (0: at once) or split at `cut`. */
static void feed(struct run *r, int dir, const uint8_t *p, size_t n, size_t chunk)
{
    if (chunk == 0)
        chunk = n ? n : 1;
    for (size_t o = 0; o < n; o += chunk) {
        size_t k = n - o < chunk ? n - o : chunk;
        REQUIRE(tls_sess_feed(&r->s, dir, p + o, k, run_cb, r) == k);
    }
}

static void feed_cut(struct run *r, int dir, const uint8_t *p, size_t n, size_t cut)
{
    REQUIRE(tls_sess_feed(&r->s, dir, p, cut, run_cb, r) == cut);
    REQUIRE(tls_sess_feed(&r->s, dir, p + cut, n - cut, run_cb, r) == n - cut);
}

/* Is got = want[0..p) + want[q..n) for some p <= q (records lost in between)? */
static bool prefix_suffix(const uint8_t *got, size_t glen, const uint8_t *want, size_t wlen)
{
    if (glen > wlen)
        return false;
    for (size_t p = 0; p <= glen; p++)
        if (memcmp(got, want, p) == 0 &&
            memcmp(got + p, want + wlen - (glen - p), glen - p) == 0)
            return true;
    return false;
}

/* The length of the record at the start of p. */
static size_t rec_len(const uint8_t *p)
{
    return TLSREC_HDR + ((size_t)p[3] << 8 | p[4]);
}

/* ---- RFC 8448 ----------------------------------------------------------------------------- */

static char r8448_keylog[2048];

static void make_r8448_keylog(const char *s_hs, bool with_hs, bool with_ap)
{
    size_t o = 0;
    r8448_keylog[0] = '\0';
    if (with_hs)
        o += (size_t)snprintf(r8448_keylog + o, sizeof r8448_keylog - o,
                              "CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s\n"
                              "SERVER_HANDSHAKE_TRAFFIC_SECRET %s %s\n",
                              R8448_CLIENT_RANDOM, R8448_C_HS_TRAFFIC, R8448_CLIENT_RANDOM, s_hs);
    if (with_ap)
        snprintf(r8448_keylog + o, sizeof r8448_keylog - o,
                 "CLIENT_TRAFFIC_SECRET_0 %s %s\nSERVER_TRAFFIC_SECRET_0 %s %s\n",
                 R8448_CLIENT_RANDOM, R8448_C_AP_TRAFFIC, R8448_CLIENT_RANDOM,
                 R8448_S_AP_TRAFFIC);
}

/* The server's stream (ServerHello, flight, NewSessionTicket, application data) and the
 * client's (Finished, application data) after its ClientHello. */
static uint8_t r8448_s2c[2048], r8448_c2s[256], r8448_cr[32], r8448_sr[32];
static size_t r8448_s2c_len, r8448_c2s_len;

static void make_r8448_streams(void)
{
    size_t o = 0;
    o += hexd(R8448_SH_RECORD, r8448_s2c + o, sizeof r8448_s2c - o);
    o += hexd(R8448_S_FLIGHT_RECORD, r8448_s2c + o, sizeof r8448_s2c - o);
    o += hexd(R8448_NST_RECORD, r8448_s2c + o, sizeof r8448_s2c - o);
    o += hexd(R8448_S_APP_RECORD, r8448_s2c + o, sizeof r8448_s2c - o);
    r8448_s2c_len = o;
    o = hexd(R8448_C_FINISHED_RECORD, r8448_c2s, sizeof r8448_c2s);
    o += hexd(R8448_C_APP_RECORD, r8448_c2s + o, sizeof r8448_c2s - o);
    r8448_c2s_len = o;
    hexd(R8448_CLIENT_RANDOM, r8448_cr, 32);
    hexd(R8448_SERVER_RANDOM, r8448_sr, 32);
}

/* The record primitives alone, with the RFC's keys. */
START_TEST(rfc8448_records)
{
    make_r8448_streams();
    struct run r;
    run_init(&r, NULL, NULL, NULL, 0, 0);
    struct tlsrec_dir *d = &r.s.dir[TLS_S2C];
    struct tls_keys k = {TLS_AEAD_AES128_GCM, 16, 12, {0}, {0}};
    hexd(R8448_S_HS_KEY, k.key, 16);
    hexd(R8448_S_HS_IV, k.iv, 12);
    tlsrec_protect(d, TLS_VERSION_13);
    ck_assert_int_eq(tlsrec_set_keys(d, TLS_VERSION_13, &k, TLS_HASH_SHA256, NULL, 0, true), 0);
    uint8_t rec[1024], want[1024];
    size_t n = hexd(R8448_S_FLIGHT_RECORD, rec, sizeof rec);
    ck_assert_uint_eq(n, 679);
    ck_assert_uint_eq(tlsrec_feed(d, rec, n, run_cb, &r), n);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_DECRYPTED], 1);
    ck_assert_uint_eq(r.hslen[TLS_S2C], 657);
    size_t w = hexd(R8448_EE, want, sizeof want);
    ck_assert_mem_eq(r.hs[TLS_S2C], want, w);
    w = hexd(R8448_S_FINISHED, want, sizeof want);
    ck_assert_mem_eq(r.hs[TLS_S2C] + 657 - w, want, w);
    /* NewSessionTicket at seq 0 and application data at seq 1 under the application keys */
    hexd(R8448_S_AP_KEY, k.key, 16);
    hexd(R8448_S_AP_IV, k.iv, 12);
    ck_assert_int_eq(tlsrec_set_keys(d, TLS_VERSION_13, &k, TLS_HASH_SHA256, NULL, 0, false), 0);
    tlsrec_activate_next(d);
    n = hexd(R8448_NST_RECORD, rec, sizeof rec);
    tlsrec_feed(d, rec, n, run_cb, &r);
    ck_assert_uint_eq(r.hs[TLS_S2C][657], 4); /* new_session_ticket */
    n = hexd(R8448_S_APP_RECORD, rec, sizeof rec);
    tlsrec_feed(d, rec, n, run_cb, &r);
    ck_assert_uint_eq(r.applen[TLS_S2C], 50);
    for (int i = 0; i < 50; i++)
        ck_assert_uint_eq(r.app[TLS_S2C][i], i);
    /* the client: Finished under its handshake keys, then application data at seq 0 */
    d = &r.s.dir[TLS_C2S];
    tlsrec_protect(d, TLS_VERSION_13);
    hexd(R8448_C_HS_KEY, k.key, 16);
    hexd(R8448_C_HS_IV, k.iv, 12);
    tlsrec_set_keys(d, TLS_VERSION_13, &k, TLS_HASH_SHA256, NULL, 0, true);
    n = hexd(R8448_C_FINISHED_RECORD, rec, sizeof rec);
    tlsrec_feed(d, rec, n, run_cb, &r);
    w = hexd(R8448_C_FINISHED, want, sizeof want);
    ck_assert_uint_eq(r.hslen[TLS_C2S], w);
    ck_assert_mem_eq(r.hs[TLS_C2S], want, w);
    hexd(R8448_C_AP_KEY, k.key, 16);
    hexd(R8448_C_AP_IV, k.iv, 12);
    tlsrec_set_keys(d, TLS_VERSION_13, &k, TLS_HASH_SHA256, NULL, 0, false);
    tlsrec_activate_next(d);
    n = hexd(R8448_C_APP_RECORD, rec, sizeof rec);
    tlsrec_feed(d, rec, n, run_cb, &r);
    ck_assert_uint_eq(r.applen[TLS_C2S], 50);
    for (int i = 0; i < 50; i++)
        ck_assert_uint_eq(r.app[TLS_C2S][i], i);
    /* the same record again (now seq 1) does not verify: reported as such */
    tlsrec_feed(d, rec, n, run_cb, &r);
    ck_assert_int_eq(r.n_status[TLS_C2S][TLSREC_BAD_TAG], 1);
    ck_assert_uint_eq(d->n_bad_tag, 1);
    run_free(&r);
}
END_TEST

/* The whole trace through a session and a key log; returns the transcript. */
static char *r8448_session(size_t s2c_cut, size_t chunk, bool with_hs, bool with_ap,
                           const char *s_hs, struct run *out)
{
    make_r8448_streams();
    make_r8448_keylog(s_hs, with_hs, with_ap);
    struct run *r = out;
    run_init(r, r8448_keylog, r8448_cr, r8448_sr, TLS_VERSION_13, 0x1301);
    tls_sess_client_hello(&r->s, r8448_cr);
    r->saw_ch = true;
    if (chunk) {
        feed(r, TLS_S2C, r8448_s2c, r8448_s2c_len, chunk);
        feed(r, TLS_C2S, r8448_c2s, r8448_c2s_len, chunk);
    } else {
        feed_cut(r, TLS_S2C, r8448_s2c, r8448_s2c_len, s2c_cut);
        feed_cut(r, TLS_C2S, r8448_c2s, r8448_c2s_len, s2c_cut % (r8448_c2s_len + 1));
    }
    return r->t.s;
}

START_TEST(rfc8448_session)
{
    struct run r;
    char *t0 = strdup(r8448_session(0, 0, true, true, R8448_S_HS_TRAFFIC, &r));
    ck_assert_int_eq(r.keystat, TLS_KEYS_OK);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_PLAIN], 1);     /* ServerHello */
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_DECRYPTED], 3); /* flight, ticket, data */
    ck_assert_int_eq(r.n_status[TLS_C2S][TLSREC_DECRYPTED], 2);
    ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_KEYS], 1);
    ck_assert_int_eq(r.n_kind[TLS_C2S][TLSREC_EV_KEYS], 1);
    ck_assert_uint_eq(r.applen[TLS_S2C], 50);
    ck_assert_uint_eq(r.applen[TLS_C2S], 50);
    ck_assert_ptr_nonnull(strstr(t0, "1 keys why=finished ep=2\n")); /* after the server Finished */
    ck_assert_ptr_nonnull(strstr(t0, "1 rec st=1 type=23 len=50 idx=3 seq=1 ep=2 off="));
    for (int i = 0; i < 50; i++)
        ck_assert_uint_eq(r.app[TLS_C2S][i], i);
    /* the handshake messages, reassembled from the decrypted flight */
    uint8_t want[64];
    size_t w = hexd(R8448_EE, want, sizeof want);
    ck_assert_uint_eq(r.eelen, w - 4);
    ck_assert_mem_eq(r.ee, want + 4, w - 4);
    ck_assert_ptr_nonnull(strstr(t0, "1 hs type=2 len=86/86\n"));
    ck_assert_ptr_nonnull(strstr(t0, "1 hs type=11 len=441/441\n"));
    ck_assert_ptr_nonnull(strstr(t0, "1 hs type=15 len=132/132\n"));
    ck_assert_ptr_nonnull(strstr(t0, "1 hs type=20 len=32/32\n"));
    ck_assert_ptr_nonnull(strstr(t0, "1 hs type=4 len=201/201\n"));
    ck_assert_ptr_nonnull(strstr(t0, "0 hs type=20 len=32/32\n"));
    run_free(&r);
    /* every split point, and one byte at a time: the same transcript */
    for (size_t cut = 0; cut <= r8448_s2c_len; cut++) {
        char *t = r8448_session(cut, 0, true, true, R8448_S_HS_TRAFFIC, &r);
        ck_assert_msg(strcmp(t, t0) == 0, "cut %zu:\n%s\nvs\n%s", cut, t, t0);
        run_free(&r);
    }
    ck_assert_str_eq(r8448_session(0, 1, true, true, R8448_S_HS_TRAFFIC, &r), t0);
    run_free(&r);
    ck_assert_str_eq(r8448_session(0, 7, true, true, R8448_S_HS_TRAFFIC, &r), t0);
    run_free(&r);
    free(t0);
}
END_TEST

START_TEST(rfc8448_partial_and_wrong_keys)
{
    struct run r;
    /* only the application secrets: the flight stays NO_KEY, the ticket verifies only with the
     * application keys, which are then taken */
    r8448_session(0, 0, false, true, R8448_S_HS_TRAFFIC, &r);
    ck_assert_int_eq(r.keystat, TLS_KEYS_PARTIAL);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_NO_KEY], 1);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_DECRYPTED], 2);
    ck_assert_int_eq(r.n_status[TLS_C2S][TLSREC_NO_KEY], 1);
    ck_assert_int_eq(r.n_status[TLS_C2S][TLSREC_DECRYPTED], 1);
    ck_assert_ptr_nonnull(strstr(r.t.s, "1 keys why=trial"));
    ck_assert_uint_eq(r.applen[TLS_S2C], 50);
    run_free(&r);
    /* only the handshake secrets: the flight and the client Finished decrypt, the rest not */
    r8448_session(0, 0, true, false, R8448_S_HS_TRAFFIC, &r);
    ck_assert_int_eq(r.keystat, TLS_KEYS_PARTIAL);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_DECRYPTED], 1);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 2);
    run_free(&r);
    /* a server handshake secret of another session: the tag fails (bad_key) */
    r8448_session(0, 0, true, true, R8448_C_HS_TRAFFIC, &r);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 1);
    ck_assert_int_eq(r.n_status[TLS_C2S][TLSREC_DECRYPTED], 2);
    /* the server's later records verify with its application keys (trial) */
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_DECRYPTED], 2);
    run_free(&r);
}
END_TEST

START_TEST(keystat_verdicts)
{
    make_r8448_streams();
    struct tls_sess s;
    struct keylog kl;
    char line[256];
    keylog_init(&kl, 0, NULL, NULL);
    snprintf(line, sizeof line, "CLIENT_RANDOM %s %s%s\n", R8448_CLIENT_RANDOM, R8448_MASTER,
             "00112233445566778899aabbccddeeff");
    keylog_feed(&kl, (const uint8_t *)line, strlen(line));
    tls_sess_init(&s, NULL);
    ck_assert_int_eq(tls_sess_keys(&s, &kl), TLS_KEYS_NO_HANDSHAKE);
    tls_sess_client_hello(&s, r8448_cr);
    ck_assert_int_eq(tls_sess_keys(&s, &kl), TLS_KEYS_NO_HANDSHAKE);
    /* a HelloRetryRequest is not the ServerHello */
    uint8_t hrr[32];
    hexd("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C", hrr, 32);
    ck_assert(!tls_sess_server_hello(&s, hrr, TLS_VERSION_13, 0x1301));
    ck_assert(s.hrr);
    ck_assert_int_eq(tls_sess_keys(&s, &kl), TLS_KEYS_NO_HANDSHAKE);
    ck_assert(tls_sess_server_hello(&s, r8448_sr, TLS_VERSION_13, 0x1301));
    ck_assert_int_eq(tls_sess_keys(&s, &kl), TLS_KEYS_TLS13_NEEDS_TRAFFIC_SECRETS);
    ck_assert_str_eq(tls_keystat_str(TLS_KEYS_TLS13_NEEDS_TRAFFIC_SECRETS),
                     "tls13_needs_traffic_secrets");
    ck_assert_int_eq(tls_sess_keys(&s, NULL), TLS_KEYS_NO_KEY);
    tls_sess_free(&s);
    /* TLS 1.2 with a CBC suite: unsupported, named */
    tls_sess_init(&s, NULL);
    tls_sess_client_hello(&s, r8448_cr);
    tls_sess_server_hello(&s, r8448_sr, TLS_VERSION_12, 0x002F);
    ck_assert_int_eq(tls_sess_keys(&s, &kl), TLS_KEYS_UNSUPPORTED);
    ck_assert_str_eq(s.suite->name, "TLS_RSA_WITH_AES_128_CBC_SHA");
    tls_sess_free(&s);
    /* a TLS 1.3 suite announced in a TLS 1.2 ServerHello, an unknown suite */
    tls_sess_init(&s, NULL);
    tls_sess_client_hello(&s, r8448_cr);
    tls_sess_server_hello(&s, r8448_sr, TLS_VERSION_12, 0x1301);
    ck_assert_int_eq(tls_sess_keys(&s, &kl), TLS_KEYS_UNSUPPORTED);
    tls_sess_free(&s);
    tls_sess_init(&s, NULL);
    tls_sess_client_hello(&s, r8448_cr);
    tls_sess_server_hello(&s, r8448_sr, TLS_VERSION_12, 0xC02F);
    ck_assert_int_eq(tls_sess_keys(&s, &kl), TLS_KEYS_OK);
    r8448_cr[0] ^= 1;
    tls_sess_free(&s);
    tls_sess_init(&s, NULL);
    tls_sess_client_hello(&s, r8448_cr);
    tls_sess_server_hello(&s, r8448_sr, TLS_VERSION_12, 0xC02F);
    ck_assert_int_eq(tls_sess_keys(&s, &kl), TLS_KEYS_NO_KEY);
    tls_sess_free(&s);
    keylog_free(&kl);
}
END_TEST

/* ---- real connections, checked against tshark --------------------------------------------- */

struct vec {
    const char *name;
    uint16_t suite, version;
    const char *keylog;
    const uint8_t *cr, *sr, *c2s, *s2c, *c2s_plain, *s2c_plain;
    size_t c2s_len, s2c_len, c2s_plain_len, s2c_plain_len;
    int key_updates_c2s, key_updates_s2c;
};

#define VEC(n, N, kc, ks)                                                                          \
    {#n, TLSV_##N##_SUITE, TLSV_##N##_VERSION, tlsv_##n##_keylog, tlsv_##n##_client_random,        \
     tlsv_##n##_server_random, tlsv_##n##_c2s, tlsv_##n##_s2c, tlsv_##n##_c2s_plain,              \
     tlsv_##n##_s2c_plain, sizeof tlsv_##n##_c2s, sizeof tlsv_##n##_s2c,                          \
     sizeof tlsv_##n##_c2s_plain, sizeof tlsv_##n##_s2c_plain, kc, ks}

static const struct vec vecs[] = {
    VEC(aes128gcm, AES128GCM, 0, 0), VEC(aes256gcm, AES256GCM, 0, 0),
    VEC(chacha, CHACHA, 0, 0),       VEC(t13aes256, T13AES256, 2, 1),
    VEC(t13chacha, T13CHACHA, 2, 1),
};
#define NVEC (sizeof vecs / sizeof vecs[0])

/* Feed the ClientHello, then the server's stream, then the rest of the client's (each in
 * chunks, or the server's split at cut): the order a capture gives them in, as far as keys
 * matter. */
static uint8_t *vec_scratch; /* when set, the session decrypts there */

static void vec_run(const struct vec *v, struct run *r, size_t chunk, size_t cut)
{
    run_init(r, v->keylog, v->cr, v->sr, v->version, v->suite);
    if (vec_scratch)
        tls_sess_set_scratch(&r->s, vec_scratch);
    size_t ch = rec_len(v->c2s);
    feed(r, TLS_C2S, v->c2s, ch, chunk);
    if (cut)
        feed_cut(r, TLS_S2C, v->s2c, v->s2c_len, cut);
    else
        feed(r, TLS_S2C, v->s2c, v->s2c_len, chunk);
    feed(r, TLS_C2S, v->c2s + ch, v->c2s_len - ch, chunk);
}

static void vec_check(const struct vec *v, const struct run *r)
{
    ck_assert_msg(r->keystat == TLS_KEYS_OK, "%s: keystat %d", v->name, r->keystat);
    for (int d = 0; d < 2; d++) {
        ck_assert_msg(r->n_status[d][TLSREC_BAD_TAG] == 0 && r->n_status[d][TLSREC_NO_KEY] == 0 &&
                          r->n_status[d][TLSREC_BAD_INNER] == 0,
                      "%s dir %d: undecrypted records\n%s", v->name, d, r->t.s);
        ck_assert_int_eq(r->n_kind[d][TLSREC_EV_GAP] + r->n_kind[d][TLSREC_EV_LOST] +
                             r->n_kind[d][TLSREC_EV_BAD_HEADER],
                         0);
    }
    ck_assert_msg(r->applen[TLS_C2S] == v->c2s_plain_len &&
                      memcmp(r->app[TLS_C2S], v->c2s_plain, v->c2s_plain_len) == 0,
                  "%s: client data differs from tshark's", v->name);
    ck_assert_msg(r->applen[TLS_S2C] == v->s2c_plain_len &&
                      memcmp(r->app[TLS_S2C], v->s2c_plain, v->s2c_plain_len) == 0,
                  "%s: server data differs from tshark's", v->name);
    ck_assert_int_eq(r->n_keyupd[TLS_C2S], v->key_updates_c2s);
    ck_assert_int_eq(r->n_keyupd[TLS_S2C], v->key_updates_s2c);
    ck_assert_int_ge(r->n_alert[TLS_C2S], 1);
    ck_assert_ptr_nonnull(strstr(r->t.s, "0 alert 1 close_notify\n"));
    /* the hellos and key updates as reassembled handshake messages */
    ck_assert_int_eq(r->n_hs[TLS_C2S][1], 1);
    ck_assert_int_eq(r->n_hs[TLS_S2C][2], 1);
    ck_assert_int_eq(r->n_hs[TLS_S2C][11], 1); /* Certificate */
    ck_assert_int_eq(r->n_hs[TLS_C2S][20], 1); /* Finished */
    ck_assert_int_eq(r->n_hs[TLS_S2C][20], 1);
    ck_assert_int_eq(r->n_hs[TLS_C2S][24], v->key_updates_c2s);
    ck_assert_int_eq(r->n_hs[TLS_S2C][24], v->key_updates_s2c);
    if (v->version == TLS_VERSION_13)
        ck_assert_int_eq(r->n_hs[TLS_S2C][8], 1); /* EncryptedExtensions */
    /* keys change where the protocol says, never by trial on a clean capture */
    ck_assert_ptr_null(strstr(r->t.s, "why=trial"));
    if (v->version == TLS_VERSION_13) {
        ck_assert_ptr_nonnull(strstr(r->t.s, "0 keys why=finished"));
        ck_assert_ptr_nonnull(strstr(r->t.s, "1 keys why=finished"));
    } else {
        ck_assert_ptr_nonnull(strstr(r->t.s, "0 keys why=ccs"));
        ck_assert_ptr_nonnull(strstr(r->t.s, "1 keys why=ccs"));
    }
    /* every byte accounted for */
    ck_assert_uint_eq(r->s.dir[TLS_C2S].off, v->c2s_len);
    ck_assert_uint_eq(r->s.dir[TLS_S2C].off, v->s2c_len);
}

START_TEST(tshark_vectors)
{
    for (size_t i = 0; i < NVEC; i++) {
        struct run r;
        vec_run(&vecs[i], &r, 0, 0);
        vec_check(&vecs[i], &r);
        char *t0 = strdup(r.t.s);
        run_free(&r);
        for (size_t chunk = 1; chunk < 40; chunk += 3) {
            vec_run(&vecs[i], &r, chunk, 0);
            vec_check(&vecs[i], &r);
            ck_assert_str_eq(r.t.s, t0);
            run_free(&r);
        }
        /* the same with a caller's scratch buffer */
        vec_scratch = malloc(TLSREC_SCRATCH_LEN);
        vec_run(&vecs[i], &r, 0, 0);
        vec_check(&vecs[i], &r);
        ck_assert_str_eq(r.t.s, t0);
        ck_assert_ptr_eq(r.s.dir[TLS_S2C].plain, vec_scratch);
        run_free(&r);
        free(vec_scratch);
        vec_scratch = NULL;
        free(t0);
    }
}
END_TEST

START_TEST(tshark_vectors_every_split)
{
    const struct vec *v = &vecs[_i];
    struct run r;
    vec_run(v, &r, 0, 0);
    char *t0 = strdup(r.t.s);
    run_free(&r);
    for (size_t cut = 1; cut < v->s2c_len; cut++) {
        vec_run(v, &r, 0, cut);
        REQUIRE(strcmp(r.t.s, t0) == 0);
        REQUIRE(r.applen[TLS_S2C] == v->s2c_plain_len);
        run_free(&r);
    }
    free(t0);
}
END_TEST

/* ---- gaps --------------------------------------------------------------------------------- */

/* Record boundaries of a stream: starts[i], up to 64 records. */
static int records_of(const uint8_t *p, size_t n, size_t *starts)
{
    int k = 0;
    size_t o = 0;
    while (o + TLSREC_HDR <= n && k < 64) {
        starts[k++] = o;
        o += rec_len(p + o);
    }
    REQUIRE(o == n);
    starts[k] = n;
    return k;
}

/* Feed the server stream with bytes [from, to) missing (a gap), everything else normal. */
static void gap_run(const struct vec *v, struct run *r, size_t from, size_t to)
{
    run_init(r, v->keylog, v->cr, v->sr, v->version, v->suite);
    size_t ch = rec_len(v->c2s);
    feed(r, TLS_C2S, v->c2s, ch, 0);
    feed(r, TLS_S2C, v->s2c, from, 0);
    tls_sess_gap(&r->s, TLS_S2C, to - from, run_cb, r);
    feed(r, TLS_S2C, v->s2c + to, v->s2c_len - to, 0);
    feed(r, TLS_C2S, v->c2s + ch, v->c2s_len - ch, 0);
    ck_assert_uint_eq(r->s.dir[TLS_S2C].off, v->s2c_len);
}

/* From a clean run of v: a window of three consecutive server records decrypted under the same
 * keys (the last one at index *j + 2). Returns false when the vector has none. */
static bool find_window(const struct vec *v, int *j)
{
    struct run r;
    vec_run(v, &r, 0, 0);
    bool found = false;
    for (int i = r.nrec[TLS_S2C] - 3; i >= 0 && !found; i--) {
        bool ok = true;
        for (int k = 0; k < 3; k++)
            ok = ok && r.rec_status[TLS_S2C][i + k] == TLSREC_DECRYPTED &&
                 r.rec_epoch[TLS_S2C][i + k] == r.rec_epoch[TLS_S2C][i];
        if (ok) {
            *j = i;
            found = true;
        }
    }
    run_free(&r);
    return found;
}

/* From a clean run of v: the first server record that carries application data. */
static int first_app_record(const struct vec *v)
{
    struct run r;
    vec_run(v, &r, 0, 0);
    int found = -1;
    for (int i = 0; i < r.nrec[TLS_S2C] && found < 0; i++)
        if (r.rec_status[TLS_S2C][i] == TLSREC_DECRYPTED &&
            r.rec_type[TLS_S2C][i] == TLS_CT_APPLICATION_DATA)
            found = i;
    run_free(&r);
    return found;
}

START_TEST(gap_inside_one_record)
{
    /* the gap cuts the first data record of the server in the middle and ends inside it: that
     * record is lost, the next ones decrypt at the exact position */
    for (size_t w = 0; w < NVEC; w++) {
        const struct vec *v = &vecs[w];
        size_t all[65];
        records_of(v->s2c, v->s2c_len, all);
        int target = first_app_record(v);
        REQUIRE(target > 0);
        struct run r;
        size_t a = all[target] + 10, b = all[target + 1] - 3;
        gap_run(v, &r, a, b);
        ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_GAP], 1);
        ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_RESYNC], 0);
        ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 0);
        /* the lost record is missing from the data, the rest is there */
        ck_assert_msg(r.applen[TLS_S2C] < v->s2c_plain_len && r.applen[TLS_S2C] > 0, "%s: %zu",
                      v->name, r.applen[TLS_S2C]);
        const uint8_t *tail = v->s2c_plain + v->s2c_plain_len - r.applen[TLS_S2C];
        ck_assert_mem_eq(r.app[TLS_S2C], tail, r.applen[TLS_S2C]);
        ck_assert_ptr_null(strstr(r.t.s, "?")); /* record numbers stay exact */
        run_free(&r);
        /* the gap ends exactly at the record's end */
        gap_run(v, &r, a, all[target + 1]);
        ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_RESYNC], 0);
        ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 0);
        ck_assert_mem_eq(r.app[TLS_S2C], tail, r.applen[TLS_S2C]);
        run_free(&r);
    }
}
END_TEST

START_TEST(gap_across_records)
{
    /* gaps that swallow record boundaries: resynchronized by an AEAD trial; the record after
     * the gap and everything later decrypt, the record number comes from the sequence number */
    for (size_t w = 0; w < NVEC; w++) {
        const struct vec *v = &vecs[w];
        size_t all[65];
        records_of(v->s2c, v->s2c_len, all);
        int j;
        REQUIRE(find_window(v, &j));
        for (int mode = 0; mode < 3; mode++) {
            size_t a, b;
            if (mode == 0) /* from the middle of one record into the middle of the next */
                a = all[j] + 7, b = all[j + 1] + 9;
            else if (mode == 1) /* exactly one whole record at a boundary */
                a = all[j + 1], b = all[j + 2];
            else /* a header cut in two, through the end of the next record */
                a = all[j] + 2, b = all[j + 2];
            struct run r;
            gap_run(v, &r, a, b);
            ck_assert_msg(r.n_kind[TLS_S2C][TLSREC_EV_RESYNC] == 1 &&
                              r.n_kind[TLS_S2C][TLSREC_EV_LOST] == 0,
                          "%s mode %d:\n%s", v->name, mode, r.t.s);
            ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 0);
            /* what was decrypted is tshark's plaintext without the lost records */
            ck_assert_msg(prefix_suffix(r.app[TLS_S2C], r.applen[TLS_S2C], v->s2c_plain,
                                        v->s2c_plain_len),
                          "%s mode %d j %d:\n%s", v->name, mode, j, r.t.s);
            /* the resync names the right record, exactly */
            char want[64];
            snprintf(want, sizeof want, "1 resync idx=%d seq=", j + 2);
            ck_assert_msg(strstr(r.t.s, want) != NULL, "%s mode %d: want %s in\n%s", v->name,
                          mode, want, r.t.s);
            run_free(&r);
        }
    }
}
END_TEST

/* TLS 1.3: a gap that swallows the server's KeyUpdate: the record after the gap verifies only
 * with the next generation of keys, which is taken; the rest decrypts. */
START_TEST(gap_over_key_update)
{
    for (size_t w = 3; w < NVEC; w++) {
        const struct vec *v = &vecs[w];
        size_t all[65];
        records_of(v->s2c, v->s2c_len, all);
        struct run r;
        vec_run(v, &r, 0, 0);
        int ku = -1; /* the record after which the epoch changes by a KeyUpdate */
        for (int i = 0; i + 1 < r.nrec[TLS_S2C]; i++)
            if (r.rec_type[TLS_S2C][i] == TLS_CT_HANDSHAKE &&
                r.rec_epoch[TLS_S2C][i + 1] == r.rec_epoch[TLS_S2C][i] + 1 &&
                r.rec_status[TLS_S2C][i] == TLSREC_DECRYPTED && i > 6)
                ku = i;
        REQUIRE(ku > 0 && ku + 2 < r.nrec[TLS_S2C]);
        run_free(&r);
        /* a gap inside the KeyUpdate record only: the next record verifies with the next
         * generation at once, the record numbers stay exact */
        gap_run(v, &r, all[ku] + 6, all[ku + 1] - 2);
        ck_assert_msg(r.n_kind[TLS_S2C][TLSREC_EV_RESYNC] == 0 &&
                          r.n_status[TLS_S2C][TLSREC_BAD_TAG] == 0 && r.n_keyupd[TLS_S2C] == 1,
                      "%s:\n%s", v->name, r.t.s);
        ck_assert_mem_eq(r.app[TLS_S2C], v->s2c_plain, v->s2c_plain_len);
        ck_assert_ptr_null(strstr(r.t.s, "?"));
        run_free(&r);
        /* from inside the KeyUpdate record into the record after it */
        gap_run(v, &r, all[ku] + 2, all[ku + 1] + 3);
        ck_assert_msg(r.n_kind[TLS_S2C][TLSREC_EV_RESYNC] == 1 &&
                          r.n_status[TLS_S2C][TLSREC_BAD_TAG] == 0,
                      "%s:\n%s", v->name, r.t.s);
        ck_assert_int_eq(r.n_keyupd[TLS_S2C], 1);
        ck_assert_uint_lt(r.applen[TLS_S2C], v->s2c_plain_len);
        ck_assert(prefix_suffix(r.app[TLS_S2C], r.applen[TLS_S2C], v->s2c_plain,
                                v->s2c_plain_len));
        char want[64];
        snprintf(want, sizeof want, "1 resync idx=%d", ku + 2);
        ck_assert_msg(strstr(r.t.s, want) != NULL, "%s: %s in\n%s", v->name, want, r.t.s);
        run_free(&r);
    }
}
END_TEST

/* Without keys the layer still frames records after a gap, by two consistent headers. */
START_TEST(gap_without_keys)
{
    const struct vec *v = &vecs[0];
    size_t all[65];
    int n = records_of(v->s2c, v->s2c_len, all);
    REQUIRE(n >= 5);
    struct run r;
    run_init(&r, NULL, v->cr, v->sr, v->version, v->suite);
    feed(&r, TLS_C2S, v->c2s, rec_len(v->c2s), 0);
    feed(&r, TLS_S2C, v->s2c, all[1] + 3, 0);
    tls_sess_gap(&r.s, TLS_S2C, all[2] + 1 - (all[1] + 3), run_cb, &r);
    feed(&r, TLS_S2C, v->s2c + all[2] + 1, v->s2c_len - (all[2] + 1), 0);
    ck_assert_int_eq(r.keystat, TLS_KEYS_NO_KEY);
    ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_RESYNC], 1);
    ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_LOST], 0);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_DECRYPTED], 0);
    /* record 0, then records 3.. are framed (1 and 2 were cut by the gap) */
    ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_RECORD], 1 + (n - 3));
    ck_assert_uint_eq(r.s.dir[TLS_S2C].off, v->s2c_len);
    run_free(&r);
}
END_TEST

/* After a gap, bytes that are not TLS: bounded scanning, then the direction is given up. */
START_TEST(gap_then_garbage)
{
    const struct vec *v = &vecs[3];
    struct run r;
    size_t st[65];
    records_of(v->s2c, v->s2c_len, st);
    st[1] = st[first_app_record(v)];
    run_init(&r, v->keylog, v->cr, v->sr, v->version, v->suite);
    feed(&r, TLS_C2S, v->c2s, rec_len(v->c2s), 0);
    feed(&r, TLS_S2C, v->s2c, st[1], 0);
    tls_sess_gap(&r.s, TLS_S2C, 100, run_cb, &r);
    uint8_t *junk = malloc(3 << 20);
    REQUIRE(junk);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < (3u << 20); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        junk[i] = (uint8_t)x;
        if (i % 4096 == 0 && i + 5 <= (3u << 20)) { /* plausible headers now and then */
            memcpy(junk + i, "\x17\x03\x03\x01\x00", 5);
            i += 4;
        }
    }
    feed(&r, TLS_S2C, junk, 3u << 20, 65536);
    ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_LOST], 1);
    ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_RESYNC], 0);
    ck_assert_uint_le(r.s.dir[TLS_S2C].tries, TLSREC_RESYNC_TRIES);
    ck_assert_uint_eq(r.s.dir[TLS_S2C].off, st[1] + 100 + (3u << 20));
    /* more bytes and gaps after that are ignored */
    feed(&r, TLS_S2C, v->s2c, v->s2c_len, 0);
    tls_sess_gap(&r.s, TLS_S2C, 10, run_cb, &r);
    ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_RECORD], 0 + (int)r.s.dir[TLS_S2C].index);
    free(junk);
    run_free(&r);
}
END_TEST

/* ---- bad headers and lengths -------------------------------------------------------------- */

START_TEST(bad_lengths)
{
    struct run r;
    /* plaintext record longer than 2^14 */
    run_init(&r, NULL, NULL, NULL, 0, 0);
    uint8_t big[TLSREC_HDR + 16385 + 64];
    memset(big, 0, sizeof big);
    memcpy(big, "\x16\x03\x01\x40\x01", 5);
    feed(&r, TLS_C2S, big, sizeof big, 0);
    ck_assert_int_eq(r.n_kind[TLS_C2S][TLSREC_EV_BAD_HEADER], 1);
    ck_assert_int_eq(r.n_kind[TLS_C2S][TLSREC_EV_RECORD], 0);
    ck_assert_ptr_nonnull(strstr(r.t.s, "longer than 2^14"));
    run_free(&r);
    /* exactly 2^14 is fine */
    run_init(&r, NULL, NULL, NULL, 0, 0);
    big[3] = 0x40, big[4] = 0x00;
    feed(&r, TLS_C2S, big, TLSREC_HDR + 16384, 1000);
    ck_assert_int_eq(r.n_kind[TLS_C2S][TLSREC_EV_RECORD], 1);
    ck_assert_int_eq(r.n_kind[TLS_C2S][TLSREC_EV_BAD_HEADER], 0);
    run_free(&r);
    /* TLS 1.3 protected record: 2^14 + 256 is the limit */
    run_init(&r, NULL, NULL, NULL, 0, 0);
    tlsrec_protect(&r.s.dir[TLS_S2C], TLS_VERSION_13);
    memcpy(big, "\x17\x03\x03\x41\x00", 5); /* 16640 = 2^14 + 256 */
    feed(&r, TLS_S2C, big, TLSREC_HDR + 16640, 0);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_NO_KEY], 1);
    memcpy(big, "\x17\x03\x03\x41\x01", 5);
    feed(&r, TLS_S2C, big, 5, 0);
    ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_BAD_HEADER], 1);
    ck_assert_ptr_nonnull(strstr(r.t.s, "protected record longer"));
    run_free(&r);
    /* a protected record too short to hold a tag */
    run_init(&r, NULL, NULL, NULL, 0, 0);
    struct tls_keys k = {TLS_AEAD_AES128_GCM, 16, 12, {0}, {0}};
    tlsrec_protect(&r.s.dir[TLS_S2C], TLS_VERSION_13);
    tlsrec_set_keys(&r.s.dir[TLS_S2C], TLS_VERSION_13, &k, TLS_HASH_SHA256, NULL, 0, true);
    feed(&r, TLS_S2C, (const uint8_t *)"\x17\x03\x03\x00\x05" "abcde", 10, 0);
    feed(&r, TLS_S2C, (const uint8_t *)"\x17\x03\x03\x00\x00", 5, 0);
    ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 2);
    run_free(&r);
    /* not TLS at all: an HTTP request */
    run_init(&r, NULL, NULL, NULL, 0, 0);
    const char *http = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    feed(&r, TLS_C2S, (const uint8_t *)http, strlen(http), 0);
    ck_assert_int_eq(r.n_kind[TLS_C2S][TLSREC_EV_BAD_HEADER], 1);
    ck_assert_int_eq(r.n_kind[TLS_C2S][TLSREC_EV_RECORD], 0);
    ck_assert_ptr_nonnull(strstr(r.t.s, "not a TLS record header"));
    run_free(&r);
}
END_TEST

/* A flipped ciphertext byte: that record is BAD_TAG, the next ones still decrypt. */
START_TEST(corrupted_record)
{
    for (size_t w = 0; w < NVEC; w++) {
        const struct vec *v = &vecs[w];
        size_t st[65];
        records_of(v->s2c, v->s2c_len, st);
        st[0] = st[first_app_record(v)];
        uint8_t *s2c = malloc(v->s2c_len);
        REQUIRE(s2c);
        memcpy(s2c, v->s2c, v->s2c_len);
        s2c[st[0] + 12] ^= 0x40;
        struct run r;
        run_init(&r, v->keylog, v->cr, v->sr, v->version, v->suite);
        size_t ch = rec_len(v->c2s);
        feed(&r, TLS_C2S, v->c2s, ch, 0);
        feed(&r, TLS_S2C, s2c, v->s2c_len, 0);
        ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 1);
        ck_assert_uint_gt(r.applen[TLS_S2C], 0);
        ck_assert_uint_lt(r.applen[TLS_S2C], v->s2c_plain_len);
        ck_assert(prefix_suffix(r.app[TLS_S2C], r.applen[TLS_S2C], v->s2c_plain,
                                v->s2c_plain_len));
        free(s2c);
        run_free(&r);
    }
}
END_TEST

/* A protected record under other keys (as TLS 1.3's EndOfEarlyData is) between two records:
 * reported as BAD_TAG, and it takes no sequence number: everything else decrypts. */
START_TEST(foreign_record)
{
    for (size_t w = 0; w < NVEC; w++) {
        const struct vec *v = &vecs[w];
        size_t st[65];
        records_of(v->s2c, v->s2c_len, st);
        size_t at = st[first_app_record(v)];
        uint8_t *s2c = malloc(v->s2c_len + 64);
        REQUIRE(s2c);
        memcpy(s2c, v->s2c, at);
        static const uint8_t foreign[5 + 40] = {0x17, 0x03, 0x03, 0x00, 40, 1, 2, 3, 4, 5};
        memcpy(s2c + at, foreign, sizeof foreign);
        memcpy(s2c + at + sizeof foreign, v->s2c + at, v->s2c_len - at);
        struct run r;
        run_init(&r, v->keylog, v->cr, v->sr, v->version, v->suite);
        feed(&r, TLS_C2S, v->c2s, rec_len(v->c2s), 0);
        feed(&r, TLS_S2C, s2c, v->s2c_len + sizeof foreign, 0);
        ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 1);
        ck_assert_msg(r.applen[TLS_S2C] == v->s2c_plain_len &&
                          memcmp(r.app[TLS_S2C], v->s2c_plain, v->s2c_plain_len) == 0,
                      "%s:\n%s", v->name, r.t.s);
        free(s2c);
        run_free(&r);
    }
}
END_TEST

/* Random bytes, random chunks, random gaps: no crash, every byte accounted for. */
START_TEST(random_input)
{
    uint64_t x = 0x2545F4914F6CDD1DULL;
    static uint8_t buf[70000];
    for (int round = 0; round < 200; round++) {
        const struct vec *v = &vecs[round % NVEC];
        struct run r;
        run_init(&r, v->keylog, v->cr, v->sr, v->version, v->suite);
        r.lenient = true;
        uint64_t total = 0;
        /* start from the real stream, mutated */
        size_t n = v->s2c_len;
        memcpy(buf, v->s2c, n);
        for (int m = 0; m < round % 6; m++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % n] ^= (uint8_t)(1u << (x >> 60 & 7));
        }
        size_t ch = rec_len(v->c2s);
        feed(&r, TLS_C2S, v->c2s, ch, 0);
        size_t o = 0;
        while (o < n) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t c = 1 + x % 300;
            if (c > n - o)
                c = n - o;
            if ((x >> 20) % 17 == 0) {
                tls_sess_gap(&r.s, TLS_S2C, c, run_cb, &r);
            } else {
                feed(&r, TLS_S2C, buf + o, c, 0);
            }
            total += c;
            o += c;
        }
        const struct tlsrec_dir *d = &r.s.dir[TLS_S2C];
        ck_assert_uint_eq(d->off + d->buf.len + (d->st == TLSREC_ST_SKIP ? 0 : 0), total);
        ck_assert_uint_le(d->buf.len, TLSREC_BUF_MAX);
        run_free(&r);
    }
}
END_TEST

/* A handshake message longer than TLS_HS_MSG_MAX across many records: handed over truncated,
 * followed to its end; the next message is intact. */
START_TEST(long_handshake_message)
{
    struct run r;
    run_init(&r, NULL, NULL, NULL, 0, 0);
    r.lenient = true;
    size_t mlen = 100000;
    size_t total = 4 + mlen + 4;
    uint8_t *msg = malloc(total);
    REQUIRE(msg);
    msg[0] = 11;
    msg[1] = (uint8_t)(mlen >> 16), msg[2] = (uint8_t)(mlen >> 8), msg[3] = (uint8_t)mlen;
    for (size_t i = 0; i < mlen; i++)
        msg[4 + i] = (uint8_t)(i * 7);
    memcpy(msg + 4 + mlen, "\x0e\x00\x00\x00", 4); /* ServerHelloDone */
    for (size_t o = 0; o < total; o += 16384) {
        size_t n = total - o < 16384 ? total - o : 16384;
        uint8_t hdr[5] = {22, 3, 3, (uint8_t)(n >> 8), (uint8_t)n};
        feed(&r, TLS_S2C, hdr, 5, 0);
        feed(&r, TLS_S2C, msg + o, n, 1000);
    }
    ck_assert_ptr_nonnull(strstr(r.t.s, "1 hs type=11 len=65536/100000 truncated\n"));
    ck_assert_ptr_nonnull(strstr(r.t.s, "1 hs type=14 len=0/0\n"));
    ck_assert_int_eq(r.n_hs[TLS_S2C][11], 1);
    free(msg);
    run_free(&r);
}
END_TEST

/* Buffers are charged to the budget and all given back; a tight budget loses framing cleanly. */
START_TEST(budget)
{
    for (size_t w = 0; w < NVEC; w++) {
        const struct vec *v = &vecs[w];
        struct wst_budget bud = {0, 1 << 20, 0, 0};
        struct run r;
        run_init(&r, v->keylog, v->cr, v->sr, v->version, v->suite);
        tls_sess_free(&r.s);
        tls_sess_init(&r.s, &bud);
        size_t ch = rec_len(v->c2s);
        feed(&r, TLS_C2S, v->c2s, ch, 3);
        feed(&r, TLS_S2C, v->s2c, v->s2c_len, 3);
        feed(&r, TLS_C2S, v->c2s + ch, v->c2s_len - ch, 3);
        vec_check(v, &r);
        ck_assert_uint_gt(bud.peak, 0);
        run_free(&r);
        ck_assert_uint_eq(bud.used, 0);
        /* too small for the records: framing is given up, nothing is decrypted wrongly */
        struct wst_budget tiny = {0, 600, 0, 0};
        run_init(&r, v->keylog, v->cr, v->sr, v->version, v->suite);
        r.lenient = true;
        tls_sess_free(&r.s);
        tls_sess_init(&r.s, &tiny);
        feed(&r, TLS_C2S, v->c2s, ch, 3);
        feed(&r, TLS_S2C, v->s2c, v->s2c_len, 3);
        ck_assert_int_ge(r.n_kind[TLS_S2C][TLSREC_EV_LOST], 1);
        ck_assert_uint_gt(tiny.refused, 0);
        ck_assert_ptr_nonnull(strstr(r.t.s, "out of memory"));
        run_free(&r);
        ck_assert_uint_eq(tiny.used, 0);
        /* room for the records but not for the decryption output: lost, never "no key" */
        struct wst_budget mid = {0, 16000, 0, 0};
        run_init(&r, v->keylog, v->cr, v->sr, v->version, v->suite);
        tls_sess_free(&r.s);
        tls_sess_init(&r.s, &mid);
        feed(&r, TLS_C2S, v->c2s, ch, 0);
        feed(&r, TLS_S2C, v->s2c, v->s2c_len, 0);
        ck_assert_int_eq(r.n_kind[TLS_S2C][TLSREC_EV_LOST], 1);
        ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_NO_KEY], 0);
        ck_assert_ptr_nonnull(strstr(r.t.s, "out of memory for decryption"));
        ck_assert_uint_eq(r.s.dir[TLS_S2C].off, v->s2c_len);
        run_free(&r);
        ck_assert_uint_eq(mid.used, 0);
    }
}
END_TEST

/* A key log that grows while records pass (live capture): TLS 1.2 keys found after some
 * protected records continue at the right sequence number. */
START_TEST(late_keys)
{
    for (size_t w = 0; w < 3; w++) {
        const struct vec *v = &vecs[w];
        size_t all[65];
        int n = records_of(v->s2c, v->s2c_len, all);
        int first = first_app_record(v);
        REQUIRE(first > 0 && first + 1 < n);
        struct run r;
        run_init(&r, NULL, v->cr, v->sr, v->version, v->suite);
        size_t ch = rec_len(v->c2s);
        feed(&r, TLS_C2S, v->c2s, ch, 0);
        /* up to and including the first data record: no keys yet */
        feed(&r, TLS_S2C, v->s2c, all[first + 1], 0);
        ck_assert_int_eq(r.keystat, TLS_KEYS_NO_KEY);
        ck_assert_int_ge(r.n_status[TLS_S2C][TLSREC_NO_KEY], 2); /* Finished, data */
        keylog_feed(&r.kl, (const uint8_t *)v->keylog, strlen(v->keylog));
        ck_assert_int_eq(tls_sess_keys(&r.s, &r.kl), TLS_KEYS_OK);
        feed(&r, TLS_S2C, v->s2c + all[first + 1], v->s2c_len - all[first + 1], 0);
        ck_assert_int_eq(r.n_status[TLS_S2C][TLSREC_BAD_TAG], 0);
        ck_assert_uint_gt(r.applen[TLS_S2C], 0);
        ck_assert_uint_lt(r.applen[TLS_S2C], v->s2c_plain_len);
        ck_assert(prefix_suffix(r.app[TLS_S2C], r.applen[TLS_S2C], v->s2c_plain,
                                v->s2c_plain_len));
        run_free(&r);
    }
}
END_TEST

START_TEST(alert_names)
{
    ck_assert_str_eq(tls_alert_name(0), "close_notify");
    ck_assert_str_eq(tls_alert_name(20), "bad_record_mac");
    ck_assert_str_eq(tls_alert_name(40), "handshake_failure");
    ck_assert_str_eq(tls_alert_name(120), "no_application_protocol");
    ck_assert_ptr_null(tls_alert_name(1));
    ck_assert_ptr_null(tls_alert_name(255));
    ck_assert_ptr_null(tls_alert_name(1000));
}
END_TEST

static Suite *tlsrec_suite(void)
{
    Suite *s = suite_create("tlsrec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rfc8448_records);
    tcase_add_test(tc, rfc8448_session);
    tcase_add_test(tc, rfc8448_partial_and_wrong_keys);
    tcase_add_test(tc, keystat_verdicts);
    tcase_add_test(tc, tshark_vectors);
    tcase_add_loop_test(tc, tshark_vectors_every_split, 0, (int)NVEC);
    tcase_add_test(tc, gap_inside_one_record);
    tcase_add_test(tc, gap_across_records);
    tcase_add_test(tc, gap_over_key_update);
    tcase_add_test(tc, gap_without_keys);
    tcase_add_test(tc, gap_then_garbage);
    tcase_add_test(tc, bad_lengths);
    tcase_add_test(tc, corrupted_record);
    tcase_add_test(tc, foreign_record);
    tcase_add_test(tc, random_input);
    tcase_add_test(tc, alert_names);
    tcase_add_test(tc, budget);
    tcase_add_test(tc, late_keys);
    tcase_add_test(tc, long_handshake_message);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(tlsrec_suite());
}
