/* tlsrec.c - TLS record framing and AEAD decryption over one TCP direction, resynchronization
 * after gaps, and the per-connection session that installs and switches keys. */
#include "tlsrec.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "rd.h"

/* Smallest protected body: TLS 1.3 one inner type byte + tag; TLS 1.2 GCM explicit nonce +
 * tag; TLS 1.2 ChaCha20-Poly1305 tag alone. */
#define MIN_BODY_13 (1 + TLS_TAG_LEN)
#define MIN_BODY_12GCM (TLS12_GCM_EXPLICIT + TLS_TAG_LEN)
#define MIN_BODY_12CHACHA TLS_TAG_LEN

/* ---- ciphers ------------------------------------------------------------------------------- */

static void cipher_clear(struct tlsrec_cipher *c)
{
    if (c->ctx)
        EVP_CIPHER_CTX_free(c->ctx);
    OPENSSL_cleanse(c, sizeof *c);
}

static const EVP_CIPHER *evp_of(enum tls_aead a)
{
    switch (a) {
    case TLS_AEAD_AES128_GCM:
        return EVP_aes_128_gcm();
    case TLS_AEAD_AES256_GCM:
        return EVP_aes_256_gcm();
    case TLS_AEAD_CHACHA20_POLY1305:
        return EVP_chacha20_poly1305();
    case TLS_AEAD_NONE:
        break;
    }
    return NULL;
}

static int cipher_setup(struct tlsrec_cipher *c, uint16_t version, const struct tls_keys *k,
                        enum tls_hash hash, const uint8_t *secret, size_t slen)
{
    cipher_clear(c);
    const EVP_CIPHER *ev = evp_of(k->aead);
    if (!ev || slen > TLS_SECRET_MAX)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -1;
    if (EVP_DecryptInit_ex(ctx, ev, NULL, k->key, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return -1;
    }
    c->ctx = ctx;
    c->set = true;
    c->version = version;
    c->k = *k;
    c->seq = 0;
    c->hash = hash;
    if (secret && slen)
        memcpy(c->secret, secret, slen);
    c->slen = (uint8_t)slen;
    return 0;
}

/* One AEAD open: true when the tag verified (out then holds ctlen bytes). */
static bool aead_open(struct tlsrec_cipher *c, const uint8_t nonce[TLS_IV_LEN],
                      const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
                      const uint8_t *tag, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = c->ctx;
    int n;
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
        return false;
    if (EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
        return false;
    if (ctlen && EVP_DecryptUpdate(ctx, out, &n, ct, (int)ctlen) != 1)
        return false;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TLS_TAG_LEN, (void *)tag) != 1)
        return false;
    return EVP_DecryptFinal_ex(ctx, out + ctlen, &n) == 1;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* iv XOR the sequence number, left-padded to 12 bytes (RFC 8446 5.3, RFC 7905 2). */
static void xor_nonce(uint8_t nonce[TLS_IV_LEN], const uint8_t iv[TLS_IV_LEN], uint64_t seq)
{
    uint8_t s[8];
    put_be64(s, seq);
    memcpy(nonce, iv, TLS_IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= s[i];
}

static size_t min_body(const struct tlsrec_cipher *c)
{
    if (c->version == TLS_VERSION_13)
        return MIN_BODY_13;
    return c->k.aead == TLS_AEAD_CHACHA20_POLY1305 ? MIN_BODY_12CHACHA : MIN_BODY_12GCM;
}

/* Open one whole record rec[0..rlen) with c at seq into out (TLSREC_MAX_CT12 bytes). */
static enum tlsrec_status rec_open(struct tlsrec_cipher *c, const uint8_t *rec, size_t rlen,
                                   uint64_t seq, uint8_t *out, size_t *outlen, uint8_t *type)
{
    struct rd r = rd_make(rec, rlen);
    const uint8_t *hdr = rd_ptr(&r, TLSREC_HDR);
    size_t blen = rd_left(&r);
    *outlen = 0;
    if (!hdr || blen < min_body(c) || blen > TLSREC_MAX_CT12)
        return TLSREC_BAD_TAG;
    uint8_t nonce[TLS_IV_LEN];
    if (c->version == TLS_VERSION_13) {
        size_t ctlen = blen - TLS_TAG_LEN;
        const uint8_t *ct = rd_ptr(&r, ctlen);
        const uint8_t *tag = rd_ptr(&r, TLS_TAG_LEN);
        xor_nonce(nonce, c->k.iv, seq);
        if (r.err || !aead_open(c, nonce, hdr, TLSREC_HDR, ct, ctlen, tag, out))
            return TLSREC_BAD_TAG;
        size_t n = ctlen;
        while (n && out[n - 1] == 0)
            n--;
        if (n == 0 || n - 1 > TLSREC_MAX_PLAIN)
            return TLSREC_BAD_INNER;
        *type = out[n - 1];
        *outlen = n - 1;
        return TLSREC_DECRYPTED;
    }
    /* TLS 1.2: additional data = seq_num + type + version + length of the plaintext */
    size_t ctlen;
    if (c->k.aead == TLS_AEAD_CHACHA20_POLY1305) {
        ctlen = blen - TLS_TAG_LEN;
        xor_nonce(nonce, c->k.iv, seq);
    } else {
        ctlen = blen - MIN_BODY_12GCM;
        memcpy(nonce, c->k.iv, TLS12_GCM_SALT);
        rd_copy(&r, nonce + TLS12_GCM_SALT, TLS12_GCM_EXPLICIT);
    }
    const uint8_t *ct = rd_ptr(&r, ctlen);
    const uint8_t *tag = rd_ptr(&r, TLS_TAG_LEN);
    uint8_t aad[13];
    put_be64(aad, seq);
    memcpy(aad + 8, hdr, 3);
    aad[11] = (uint8_t)(ctlen >> 8);
    aad[12] = (uint8_t)ctlen;
    if (r.err || !aead_open(c, nonce, aad, sizeof aad, ct, ctlen, tag, out))
        return TLSREC_BAD_TAG;
    *type = hdr[0];
    *outlen = ctlen;
    return TLSREC_DECRYPTED;
}

/* ---- direction ----------------------------------------------------------------------------- */

void tlsrec_init(struct tlsrec_dir *d, int id, struct wst_budget *bud)
{
    memset(d, 0, sizeof *d);
    d->id = id;
    d->index_exact = true;
    d->bud = bud;
    dynbuf_init(&d->buf, TLSREC_BUF_MAX);
    d->buf.bud = bud;
}

void tlsrec_free(struct tlsrec_dir *d)
{
    cipher_clear(&d->cur);
    cipher_clear(&d->next);
    cipher_clear(&d->upd);
    if (d->plain && !d->plain_borrowed) {
        OPENSSL_cleanse(d->plain, TLSREC_MAX_CT12);
        free(d->plain);
        budget_give(d->bud, TLSREC_MAX_CT12);
    }
    d->plain = NULL;
    if (d->buf.p)
        OPENSSL_cleanse(d->buf.p, d->buf.cap);
    dynbuf_free(&d->buf);
}

int tlsrec_set_keys(struct tlsrec_dir *d, uint16_t version, const struct tls_keys *k,
                    enum tls_hash hash, const uint8_t *secret, size_t slen, bool now)
{
    struct tlsrec_cipher *c = now ? &d->cur : &d->next;
    uint64_t seq = d->cur.seq;
    if (cipher_setup(c, version, k, hash, secret, slen) != 0)
        return -1;
    if (now) {
        d->cur.seq = seq;
        d->epoch++;
    }
    return 0;
}

void tlsrec_set_scratch(struct tlsrec_dir *d, uint8_t *scratch)
{
    if (d->plain && !d->plain_borrowed) {
        free(d->plain);
        budget_give(d->bud, TLSREC_MAX_CT12);
    }
    d->plain = scratch;
    d->plain_borrowed = scratch != NULL;
}

void tlsrec_protect(struct tlsrec_dir *d, uint16_t version)
{
    d->protect = true;
    d->version = version;
}

void tlsrec_activate_next(struct tlsrec_dir *d)
{
    d->fails = 0;
    cipher_clear(&d->cur);
    d->cur = d->next;
    memset(&d->next, 0, sizeof d->next);
    d->cur.seq = 0;
    d->epoch++;
}

int tlsrec_key_update(struct tlsrec_dir *d)
{
    struct tlsrec_cipher *c = &d->cur;
    if (!c->set || c->version != TLS_VERSION_13 || c->slen != tls_hash_len(c->hash))
        return -1;
    uint8_t next[TLS_SECRET_MAX];
    struct tls_keys k;
    struct tls_suite s = {0, NULL, TLS_VERSION_13, c->k.aead, c->hash, c->k.key_len, NULL};
    int rc = -1;
    if (tls13_next_secret(c->hash, c->secret, c->slen, next) == 0 &&
        tls13_traffic_keys(&s, next, c->slen, &k) == 0)
        rc = tlsrec_set_keys(d, TLS_VERSION_13, &k, c->hash, next, c->slen, true);
    if (rc == 0) {
        d->cur.seq = 0;
        d->fails = 0;
    }
    OPENSSL_cleanse(next, sizeof next);
    OPENSSL_cleanse(&k, sizeof k);
    return rc;
}

static void ev_init(const struct tlsrec_dir *d, struct tlsrec_ev *ev, enum tlsrec_evkind kind)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->dir = d->id;
    ev->index = d->index;
    ev->index_exact = d->index_exact;
    ev->epoch = d->epoch;
    ev->end_off = d->off;
}

static void emit_keys(struct tlsrec_dir *d, enum tlsrec_keys_why why, tlsrec_fn fn, void *user)
{
    struct tlsrec_ev ev;
    ev_init(d, &ev, TLSREC_EV_KEYS);
    ev.keys_why = why;
    fn(user, &ev);
}

static uint8_t *plain_buf(struct tlsrec_dir *d)
{
    if (!d->plain && budget_take(d->bud, TLSREC_MAX_CT12)) {
        d->plain = malloc(TLSREC_MAX_CT12);
        if (!d->plain)
            budget_give(d->bud, TLSREC_MAX_CT12);
    }
    return d->plain;
}

static bool is_protected(const struct tlsrec_dir *d, uint8_t outer)
{
    if (!d->protect)
        return false;
    /* TLS 1.3 protects only records with outer type application_data; CCS (compatibility
     * mode) and unprotected alerts keep their own types. */
    return d->version != TLS_VERSION_13 || outer == TLS_CT_APPLICATION_DATA;
}

/* Largest record body accepted in the current state. */
static size_t max_body(const struct tlsrec_dir *d)
{
    if (!d->protect)
        return TLSREC_MAX_PLAIN;
    return d->version == TLS_VERSION_13 ? TLSREC_MAX_CT13 : TLSREC_MAX_CT12;
}

/* NULL when the header looks like TLS, else why not. */
static const char *hdr_check(const struct tlsrec_dir *d, const uint8_t *h)
{
    uint8_t t = h[0];
    size_t len = (size_t)h[3] << 8 | h[4];
    if (t < TLS_CT_CHANGE_CIPHER_SPEC || t > TLS_CT_HEARTBEAT || h[1] != 3 || h[2] > 4)
        return "not a TLS record header";
    if (len > max_body(d))
        return d->protect ? "protected record longer than the protocol allows"
                          : "record longer than 2^14 bytes";
    return NULL;
}

/* TLS 1.3: the current keys' next generation in d->upd, a candidate after a KeyUpdate record
 * may have been lost. */
static void prepare_upd(struct tlsrec_dir *d)
{
    cipher_clear(&d->upd);
    const struct tlsrec_cipher *c = &d->cur;
    if (c->set && c->version == TLS_VERSION_13 && c->slen == tls_hash_len(c->hash)) {
        uint8_t next[TLS_SECRET_MAX];
        struct tls_keys k;
        struct tls_suite su = {0, NULL, TLS_VERSION_13, c->k.aead, c->hash, c->k.key_len, NULL};
        if (tls13_next_secret(c->hash, c->secret, c->slen, next) == 0 &&
            tls13_traffic_keys(&su, next, c->slen, &k) == 0)
            cipher_setup(&d->upd, TLS_VERSION_13, &k, c->hash, next, c->slen);
        OPENSSL_cleanse(next, sizeof next);
        OPENSSL_cleanse(&k, sizeof k);
    }
}

/* The next generation becomes current (seq 0). */
static void take_upd(struct tlsrec_dir *d, tlsrec_fn fn, void *user)
{
    cipher_clear(&d->cur);
    d->cur = d->upd;
    memset(&d->upd, 0, sizeof d->upd);
    d->fails = 0;
    d->epoch++;
    emit_keys(d, TLSREC_KEYS_KEY_UPDATE, fn, user);
}

/* One whole record rec[0..rlen); d->off already counts it. */
static void process_record(struct tlsrec_dir *d, const uint8_t *rec, size_t rlen, tlsrec_fn fn,
                           void *user)
{
    struct tlsrec_ev ev;
    ev_init(d, &ev, TLSREC_EV_RECORD);
    ev.outer_type = rec[0];
    ev.type = rec[0];
    ev.version = (uint16_t)(rec[1] << 8 | rec[2]);
    ev.data = rec + TLSREC_HDR;
    ev.len = rlen - TLSREC_HDR;
    ev.status = TLSREC_PLAIN;
    if (!d->protect && rec[0] == TLS_CT_APPLICATION_DATA) {
        ev.status = TLSREC_NO_KEY; /* TLS 1.3 early data, or keys never announced */
    } else if (is_protected(d, rec[0])) {
        uint8_t *out = plain_buf(d);
        if (!out && (d->cur.set || d->next.set)) {
            /* keys but no memory to decrypt into: say so, never "no key" */
            d->st = TLSREC_ST_LOST;
            struct tlsrec_ev lost;
            ev_init(d, &lost, TLSREC_EV_LOST);
            lost.why = "out of memory for decryption (budget)";
            fn(user, &lost);
            return;
        }
        size_t olen = 0;
        uint8_t type = rec[0];
        enum tlsrec_status st = TLSREC_NO_KEY;
        uint64_t seq = d->cur.seq;
        if (out && d->cur.set) {
            /* after records that did not verify (a record under other keys, such as TLS 1.3's
             * EndOfEarlyData, or an altered one), the next may be at any of the following
             * TLSREC_FAIL_SEQS sequence numbers */
            unsigned k = 0;
            for (; k <= d->fails; k++) {
                st = rec_open(&d->cur, rec, rlen, seq + k, out, &olen, &type);
                if (st != TLSREC_BAD_TAG)
                    break;
            }
            if (st == TLSREC_BAD_TAG) {
                if (d->fails < TLSREC_FAIL_SEQS)
                    d->fails++;
            } else {
                seq += k;
                d->cur.seq = seq + 1;
                d->fails = 0;
            }
        } else {
            d->cur.seq++; /* counted without keys too, for keys that come later */
        }
        if (out && st != TLSREC_DECRYPTED && d->next.set) {
            uint8_t t2 = rec[0];
            size_t o2 = 0;
            enum tlsrec_status st2 = rec_open(&d->next, rec, rlen, 0, out, &o2, &t2);
            if (st2 == TLSREC_DECRYPTED) {
                tlsrec_activate_next(d);
                d->cur.seq = 1;
                emit_keys(d, TLSREC_KEYS_TRIAL, fn, user);
                st = st2, olen = o2, type = t2, seq = 0;
                ev.epoch = d->epoch;
            }
        }
        if (out && st != TLSREC_DECRYPTED && d->lost_before) {
            /* the record lost just before may have been a KeyUpdate */
            prepare_upd(d);
            uint8_t t2 = rec[0];
            size_t o2 = 0;
            if (d->upd.set && rec_open(&d->upd, rec, rlen, 0, out, &o2, &t2) == TLSREC_DECRYPTED) {
                take_upd(d, fn, user);
                d->cur.seq = 1;
                st = TLSREC_DECRYPTED, olen = o2, type = t2, seq = 0;
                ev.epoch = d->epoch;
            }
            cipher_clear(&d->upd);
        }
        d->lost_before = false;
        ev.status = st;
        ev.seq = seq;
        if (st == TLSREC_DECRYPTED) {
            ev.type = type;
            ev.data = out;
            ev.len = olen;
            d->n_decrypted++;
        } else if (st == TLSREC_BAD_TAG) {
            d->n_bad_tag++;
        } else if (st == TLSREC_NO_KEY) {
            d->n_no_key++;
        }
    }
    d->n_records++;
    d->index++;
    fn(user, &ev);
    if (ev.status == TLSREC_PLAIN && rec[0] == TLS_CT_CHANGE_CIPHER_SPEC &&
        d->version == TLS_VERSION_12 && !d->protect) {
        d->protect = true;
        if (d->next.set)
            tlsrec_activate_next(d);
        emit_keys(d, TLSREC_KEYS_CCS, fn, user);
    }
}

static void go_lost(struct tlsrec_dir *d, const char *why, tlsrec_fn fn, void *user)
{
    struct tlsrec_ev ev;
    d->st = TLSREC_ST_LOST;
    d->off += d->buf.len;
    dynbuf_reset(&d->buf);
    ev_init(d, &ev, TLSREC_EV_LOST);
    ev.why = why;
    fn(user, &ev);
}

static void start_resync(struct tlsrec_dir *d, uint64_t unknown)
{
    d->st = TLSREC_ST_RESYNC;
    d->unknown = unknown;
    d->scanned = 0;
    d->tries = 0;
    d->seq_base = d->cur.seq;
    d->index_exact = false;
    prepare_upd(d);
}

/* Try the candidate record h[0..rlen) at the sequence numbers its position allows. Returns
 * true with *which (0 cur, 1 next, 2 the next generation after a KeyUpdate) and *seq. */
static bool try_candidate(struct tlsrec_dir *d, const uint8_t *h, size_t rlen, uint64_t unk,
                          int *which, uint64_t *seq)
{
    uint8_t *out = plain_buf(d);
    if (!out)
        return false;
    for (int w = 0; w < 3; w++) {
        struct tlsrec_cipher *c = w == 0 ? &d->cur : w == 1 ? &d->next : &d->upd;
        if (!c->set || rlen - TLSREC_HDR < min_body(c))
            continue;
        if (c->version == TLS_VERSION_13 && h[0] != TLS_CT_APPLICATION_DATA)
            continue;
        uint64_t maxrec = TLSREC_HDR + (c->version == TLS_VERSION_13 ? TLSREC_MAX_CT13
                                                                      : TLSREC_MAX_CT12);
        uint64_t lo = unk / maxrec, hi = unk / (TLSREC_HDR + min_body(c));
        uint64_t base = w ? 0 : d->seq_base;
        if (w)
            lo = 0; /* some of the lost records were under the old keys */
        if (hi - lo >= TLSREC_RESYNC_SEQS)
            hi = lo + TLSREC_RESYNC_SEQS - 1;
        size_t olen;
        uint8_t type;
        if (c->version == TLS_VERSION_12 && c->k.aead != TLS_AEAD_CHACHA20_POLY1305) {
            /* most stacks send the sequence number as the explicit nonce */
            struct rd r = rd_make(h + TLSREC_HDR, rlen - TLSREC_HDR);
            uint64_t e = rd_be64(&r);
            if (e >= base + lo && e - base <= unk / (TLSREC_HDR + min_body(c)) &&
                d->tries < TLSREC_RESYNC_TRIES) {
                d->tries++;
                if (rec_open(c, h, rlen, e, out, &olen, &type) == TLSREC_DECRYPTED) {
                    *which = w;
                    *seq = e;
                    return true;
                }
            }
        }
        for (uint64_t k = lo; k <= hi && d->tries < TLSREC_RESYNC_TRIES; k++) {
            d->tries++;
            if (rec_open(c, h, rlen, base + k, out, &olen, &type) == TLSREC_DECRYPTED) {
                *which = w;
                *seq = base + k;
                return true;
            }
        }
    }
    return false;
}

/* Scan the buffered bytes for the next record start. */
static void resync_run(struct tlsrec_dir *d, tlsrec_fn fn, void *user)
{
    bool keyed = d->protect && (d->cur.set || d->next.set);
    size_t i = 0;
    for (;;) {
        if (d->scanned + i > TLSREC_RESYNC_SCAN || d->tries >= TLSREC_RESYNC_TRIES) {
            d->off += i;
            dynbuf_consume(&d->buf, i);
            go_lost(d, "no record boundary found after the gap within the bounds", fn, user);
            return;
        }
        size_t avail = d->buf.len - i;
        if (avail < TLSREC_HDR)
            break;
        const uint8_t *h = d->buf.p + i;
        size_t len = (size_t)h[3] << 8 | h[4];
        if (hdr_check(d, h)) {
            i++;
            continue;
        }
        bool ok = false;
        int which = 0;
        uint64_t seq = 0;
        bool prot = keyed && is_protected(d, h[0]);
        if (keyed && !prot) {
            /* with keys, only a record whose tag verifies is accepted */
            i++;
            continue;
        }
        if (prot) {
            if (avail < TLSREC_HDR + len)
                break;
            ok = try_candidate(d, h, TLSREC_HDR + len, d->unknown + i, &which, &seq);
        } else {
            if (avail < 2 * TLSREC_HDR + len)
                break;
            ok = hdr_check(d, h + TLSREC_HDR + len) == NULL;
        }
        if (!ok) {
            i++;
            continue;
        }
        struct tlsrec_ev ev;
        d->off += i;
        d->scanned += i;
        dynbuf_consume(&d->buf, i);
        if (prot) { /* (h moved with the buffer: decided before) */
            if (which == 1) {
                tlsrec_activate_next(d);
                emit_keys(d, TLSREC_KEYS_TRIAL, fn, user);
            } else if (which == 2) {
                take_upd(d, fn, user);
            }
            /* records lost: by sequence number; under new keys a lower bound (the KeyUpdate
             * record itself was one more under the old keys) */
            d->index += seq - (which ? 0 : d->seq_base) + (which == 2);
            d->index_exact = which == 0;
            d->cur.seq = seq;
        }
        d->st = TLSREC_ST_FRAMING;
        cipher_clear(&d->upd);
        d->n_resync++;
        ev_init(d, &ev, TLSREC_EV_RESYNC);
        ev.seq = d->cur.seq;
        ev.skipped = d->scanned;
        fn(user, &ev);
        return;
    }
    d->off += i;
    d->scanned += i;
    d->unknown += i;
    dynbuf_consume(&d->buf, i);
}

/* Process whole records at the start of d->buf (after a resync the buffer may hold several). */
static void drain_buffer(struct tlsrec_dir *d, tlsrec_fn fn, void *user)
{
    while (d->st == TLSREC_ST_FRAMING && d->buf.len >= TLSREC_HDR) {
        const char *why = hdr_check(d, d->buf.p);
        if (why) {
            struct tlsrec_ev ev;
            ev_init(d, &ev, TLSREC_EV_BAD_HEADER);
            ev.why = why;
            fn(user, &ev);
            start_resync(d, 0);
            /* the bad header's first byte cannot start a record */
            d->off++;
            d->scanned++;
            dynbuf_consume(&d->buf, 1);
            resync_run(d, fn, user);
            continue;
        }
        size_t rlen = TLSREC_HDR + ((size_t)d->buf.p[3] << 8 | d->buf.p[4]);
        if (d->buf.len < rlen)
            return;
        d->off += rlen;
        process_record(d, d->buf.p, rlen, fn, user);
        dynbuf_consume(&d->buf, rlen);
    }
    if (d->st == TLSREC_ST_LOST && d->buf.len) {
        d->off += d->buf.len;
        dynbuf_reset(&d->buf);
    }
}

size_t tlsrec_feed(struct tlsrec_dir *d, const uint8_t *buf, size_t len, tlsrec_fn fn,
                   void *user)
{
    if (len == 0)
        return 0; /* buf may be NULL */
    struct rd r = rd_make(buf, len);
    while (rd_left(&r)) {
        switch (d->st) {
        case TLSREC_ST_LOST:
            d->off += rd_left(&r);
            rd_skip(&r, rd_left(&r));
            break;
        case TLSREC_ST_SKIP: {
            size_t n = rd_left(&r) < d->skip ? rd_left(&r) : (size_t)d->skip;
            rd_skip(&r, n);
            d->skip -= n;
            d->off += n;
            if (d->skip == 0)
                d->st = TLSREC_ST_FRAMING;
            break;
        }
        case TLSREC_ST_RESYNC: {
            size_t room = d->buf.max - d->buf.len;
            size_t n = rd_left(&r) < room ? rd_left(&r) : room;
            if (n == 0 || dynbuf_add(&d->buf, rd_ptr(&r, n), n) != 0) {
                go_lost(d, "out of memory while resynchronizing", fn, user);
                break;
            }
            resync_run(d, fn, user);
            drain_buffer(d, fn, user);
            break;
        }
        case TLSREC_ST_FRAMING:
            if (d->buf.len == 0 && rd_left(&r) >= TLSREC_HDR && !hdr_check(d, r.p)) {
                size_t rlen = TLSREC_HDR + ((size_t)r.p[3] << 8 | r.p[4]);
                if (rd_left(&r) >= rlen) {
                    /* a whole record in the input: no copy */
                    d->off += rlen;
                    process_record(d, rd_ptr(&r, rlen), rlen, fn, user);
                    break;
                }
            }
            /* buffer what the current record still needs (its header first) */
            size_t need;
            if (d->buf.len < TLSREC_HDR)
                need = TLSREC_HDR - d->buf.len;
            else
                need = TLSREC_HDR + ((size_t)d->buf.p[3] << 8 | d->buf.p[4]) - d->buf.len;
            size_t n = rd_left(&r) < need ? rd_left(&r) : need;
            if (dynbuf_add(&d->buf, rd_ptr(&r, n), n) != 0) {
                go_lost(d, "out of memory for a partial record", fn, user);
                break;
            }
            drain_buffer(d, fn, user);
            break;
        }
    }
    return len;
}

void tlsrec_gap(struct tlsrec_dir *d, uint64_t len, tlsrec_fn fn, void *user)
{
    struct tlsrec_ev ev;
    ev_init(d, &ev, TLSREC_EV_GAP);
    ev.gap_len = len;
    if (d->st == TLSREC_ST_LOST) {
        d->off += len;
        return;
    }
    d->n_gaps++;
    if (d->st == TLSREC_ST_RESYNC) {
        /* everything buffered and the gap belong to the unknown region */
        d->unknown += d->buf.len + len;
        d->off += d->buf.len + len;
        dynbuf_reset(&d->buf);
        ev.end_off = d->off;
        fn(user, &ev);
        return;
    }
    if (d->st == TLSREC_ST_SKIP) {
        if (len <= d->skip) {
            d->skip -= len;
            d->off += len;
            if (d->skip == 0)
                d->st = TLSREC_ST_FRAMING;
            ev.end_off = d->off;
            fn(user, &ev);
            return;
        }
        len -= d->skip;
        d->off += d->skip;
        d->skip = 0;
        d->st = TLSREC_ST_FRAMING;
        ev.gap_len = len;
    }
    uint64_t unknown;
    if (d->buf.len >= TLSREC_HDR) {
        /* the record being received is lost; where it ends is known */
        uint64_t rlen = TLSREC_HDR + ((uint64_t)d->buf.p[3] << 8 | d->buf.p[4]);
        uint64_t rem = rlen - d->buf.len;
        if (is_protected(d, d->buf.p[0])) {
            d->cur.seq++;
            d->lost_before = true;
        }
        d->off += d->buf.len;
        dynbuf_reset(&d->buf);
        d->index++;
        if (len <= rem) {
            d->off += len;
            d->skip = rem - len;
            d->st = d->skip ? TLSREC_ST_SKIP : TLSREC_ST_FRAMING;
            ev.end_off = d->off;
            fn(user, &ev);
            return;
        }
        d->off += len;
        unknown = len - rem;
    } else {
        /* a header cut by the gap: its bytes belong to the unknown region */
        unknown = d->buf.len + len;
        d->off += d->buf.len + len;
        dynbuf_reset(&d->buf);
    }
    start_resync(d, unknown);
    ev.end_off = d->off;
    fn(user, &ev);
}

/* ---- alerts -------------------------------------------------------------------------------- */

static const struct {
    uint8_t desc;
    const char *name;
} alert_names[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {21, "decryption_failed"},
    {22, "record_overflow"},
    {30, "decompression_failure"},
    {40, "handshake_failure"},
    {41, "no_certificate"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {60, "export_restriction"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {111, "certificate_unobtainable"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {114, "bad_certificate_hash_value"},
    {115, "unknown_psk_identity"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
    {121, "ech_required"},
};

const char *tls_alert_name(unsigned desc)
{
    for (size_t i = 0; i < sizeof alert_names / sizeof alert_names[0]; i++)
        if (alert_names[i].desc == desc)
            return alert_names[i].name;
    return NULL;
}

/* ---- session ------------------------------------------------------------------------------- */

/* SHA-256("HelloRetryRequest"), the ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3) */
static const uint8_t hrr_random[TLS_RANDOM_LEN] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

const char *tls_keystat_str(enum tls_keystat st)
{
    switch (st) {
    case TLS_KEYS_NONE:
        return "none";
    case TLS_KEYS_OK:
        return "ok";
    case TLS_KEYS_NO_HANDSHAKE:
        return "no_handshake";
    case TLS_KEYS_UNSUPPORTED:
        return "unsupported_cipher";
    case TLS_KEYS_NO_KEY:
        return "no_key";
    case TLS_KEYS_TLS13_NEEDS_TRAFFIC_SECRETS:
        return "tls13_needs_traffic_secrets";
    case TLS_KEYS_PARTIAL:
        return "partial";
    case TLS_KEYS_ERROR:
        return "error";
    }
    return "?";
}

void tls_sess_init(struct tls_sess *s, struct wst_budget *bud)
{
    memset(s, 0, sizeof *s);
    tlsrec_init(&s->dir[TLS_C2S], TLS_C2S, bud);
    tlsrec_init(&s->dir[TLS_S2C], TLS_S2C, bud);
    for (int i = 0; i < 2; i++) {
        dynbuf_init(&s->hs[i].msg, TLS_HS_MSG_MAX);
        s->hs[i].msg.bud = bud;
    }
}

void tls_sess_free(struct tls_sess *s)
{
    tlsrec_free(&s->dir[TLS_C2S]);
    tlsrec_free(&s->dir[TLS_S2C]);
    for (int i = 0; i < 2; i++) {
        if (s->hs[i].msg.p)
            OPENSSL_cleanse(s->hs[i].msg.p, s->hs[i].msg.cap);
        dynbuf_free(&s->hs[i].msg);
    }
    OPENSSL_cleanse(s->ap_secret, sizeof s->ap_secret);
}

void tls_sess_set_scratch(struct tls_sess *s, uint8_t *scratch)
{
    tlsrec_set_scratch(&s->dir[TLS_C2S], scratch);
    tlsrec_set_scratch(&s->dir[TLS_S2C], scratch);
}

void tls_sess_client_hello(struct tls_sess *s, const uint8_t random[TLS_RANDOM_LEN])
{
    memcpy(s->client_random, random, TLS_RANDOM_LEN);
    s->have_client_random = true;
}

bool tls_sess_server_hello(struct tls_sess *s, const uint8_t random[TLS_RANDOM_LEN],
                           uint16_t version, uint16_t suite_id)
{
    if (memcmp(random, hrr_random, TLS_RANDOM_LEN) == 0) {
        s->hrr = true;
        return false;
    }
    memcpy(s->server_random, random, TLS_RANDOM_LEN);
    s->have_server_hello = true;
    s->version = version;
    s->suite_id = suite_id;
    s->suite = tls_suite_find(suite_id);
    s->dir[TLS_C2S].version = version;
    s->dir[TLS_S2C].version = version;
    if (version == TLS_VERSION_13) {
        /* every later application_data record of both directions is protected */
        tlsrec_protect(&s->dir[TLS_C2S], version);
        tlsrec_protect(&s->dir[TLS_S2C], version);
    }
    return true;
}

static enum tls_keystat keys13(struct tls_sess *s, const struct keylog_entry *e)
{
    static const enum keylog_label hs[2] = {KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET,
                                            KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET};
    static const enum keylog_label ap[2] = {KEYLOG_CLIENT_TRAFFIC_SECRET_0,
                                            KEYLOG_SERVER_TRAFFIC_SECRET_0};
    size_t hl = tls_hash_len(s->suite->hash);
    int got_hs = 0, got_ap = 0;
    for (int dir = 0; dir < 2; dir++) {
        struct tlsrec_dir *d = &s->dir[dir];
        size_t len;
        const uint8_t *sec = keylog_secret(e, hs[dir], &len);
        struct tls_keys k;
        /* handshake keys only while no record has used the direction's protection yet */
        if (sec && len == hl && !d->cur.set && d->epoch == 0) {
            if (tls13_traffic_keys(s->suite, sec, len, &k) != 0 ||
                tlsrec_set_keys(d, TLS_VERSION_13, &k, s->suite->hash, sec, len, true) != 0)
                return TLS_KEYS_ERROR;
            got_hs++;
        } else if (d->cur.set) {
            got_hs++;
        }
        sec = keylog_secret(e, ap[dir], &len);
        if (sec && len == hl && !d->next.set && s->ap_len[dir] == 0) {
            if (tls13_traffic_keys(s->suite, sec, len, &k) != 0 ||
                tlsrec_set_keys(d, TLS_VERSION_13, &k, s->suite->hash, sec, len, false) != 0)
                return TLS_KEYS_ERROR;
            memcpy(s->ap_secret[dir], sec, len);
            s->ap_len[dir] = (uint8_t)len;
            got_ap++;
        } else if (s->ap_len[dir]) {
            got_ap++;
        }
        OPENSSL_cleanse(&k, sizeof k);
    }
    if (got_hs == 0 && got_ap == 0)
        return e && (e->have & (1u << KEYLOG_CLIENT_RANDOM)) ? TLS_KEYS_TLS13_NEEDS_TRAFFIC_SECRETS
                                                             : TLS_KEYS_NO_KEY;
    return got_hs == 2 && got_ap == 2 ? TLS_KEYS_OK : TLS_KEYS_PARTIAL;
}

static enum tls_keystat keys12(struct tls_sess *s, const struct keylog_entry *e)
{
    size_t len;
    const uint8_t *ms = keylog_secret(e, KEYLOG_CLIENT_RANDOM, &len);
    if (!ms || len != TLS12_MASTER_LEN)
        return TLS_KEYS_NO_KEY;
    if (s->dir[TLS_C2S].next.set || s->dir[TLS_C2S].cur.set)
        return TLS_KEYS_OK;
    struct tls_keys kc, ks;
    enum tls_keystat st = TLS_KEYS_OK;
    if (tls12_key_block(s->suite, ms, s->client_random, s->server_random, &kc, &ks) != 0 ||
        tlsrec_set_keys(&s->dir[TLS_C2S], TLS_VERSION_12, &kc, s->suite->hash, NULL, 0,
                        s->dir[TLS_C2S].protect) != 0 ||
        tlsrec_set_keys(&s->dir[TLS_S2C], TLS_VERSION_12, &ks, s->suite->hash, NULL, 0,
                        s->dir[TLS_S2C].protect) != 0)
        st = TLS_KEYS_ERROR;
    OPENSSL_cleanse(&kc, sizeof kc);
    OPENSSL_cleanse(&ks, sizeof ks);
    return st;
}

enum tls_keystat tls_sess_keys(struct tls_sess *s, const struct keylog *kl)
{
    if (!s->have_client_random || !s->have_server_hello)
        return s->keystat = TLS_KEYS_NO_HANDSHAKE;
    if (!tls_suite_supported(s->suite) ||
        (s->version != TLS_VERSION_12 && s->version != TLS_VERSION_13) ||
        s->suite->version != (s->version == TLS_VERSION_13 ? TLS_VERSION_13 : TLS_VERSION_12))
        return s->keystat = TLS_KEYS_UNSUPPORTED;
    const struct keylog_entry *e = kl ? keylog_find(kl, s->client_random) : NULL;
    if (!e)
        return s->keystat = TLS_KEYS_NO_KEY;
    s->keystat = s->version == TLS_VERSION_13 ? keys13(s, e) : keys12(s, e);
    return s->keystat;
}

/* Between messages: a large body's buffer is given back (handshake messages are rare after
 * the handshake; certificate chains should not stay allocated per connection). */
static void hs_msg_clear(struct tls_hsframe *f)
{
    if (f->msg.cap > 4096) {
        OPENSSL_cleanse(f->msg.p, f->msg.cap);
        dynbuf_free(&f->msg);
    }
    dynbuf_reset(&f->msg);
    f->refused = false;
}

static void hs_reset(struct tls_hsframe *f)
{
    f->nhdr = 0;
    f->left = 0;
    f->finished = f->key_update = false;
    hs_msg_clear(f);
}

/* One complete handshake message: note key changes, hand it to the caller. */
static void hs_done(struct tls_sess *s, struct tlsrec_dir *d, struct tls_hsframe *f)
{
    if (f->type == TLS_HS_FINISHED)
        f->finished = true;
    else if (f->type == TLS_HS_KEY_UPDATE)
        f->key_update = true;
    struct tlsrec_ev ev;
    ev_init(d, &ev, TLSREC_EV_HANDSHAKE);
    ev.index = d->index ? d->index - 1 : 0; /* the record that completed the message */
    ev.hs_type = f->type;
    ev.hs_len = f->msglen;
    static const uint8_t empty[1];
    ev.data = f->msg.p ? f->msg.p : empty; /* never NULL, even for an empty body */
    ev.len = f->msg.len;
    ev.hs_truncated = f->msg.len < f->msglen;
    s->fn(s->user, &ev);
    f->nhdr = 0;
    hs_msg_clear(f);
}

/* Follow handshake messages through one record's plaintext: reassemble them (up to
 * TLS_HS_MSG_MAX bytes each) and note Finished and KeyUpdate for the key changes. */
static void hs_scan(struct tls_sess *s, struct tlsrec_dir *d, struct tls_hsframe *f,
                    const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    struct rd r = rd_make(p, n);
    f->finished = f->key_update = false;
    while (rd_left(&r)) {
        if (f->nhdr < 4) {
            f->hdr[f->nhdr++] = rd_u8(&r);
            if (f->nhdr < 4)
                continue;
            f->type = f->hdr[0];
            f->msglen = (uint32_t)f->hdr[1] << 16 | (uint32_t)f->hdr[2] << 8 | f->hdr[3];
            f->left = f->msglen;
        } else {
            size_t k = rd_left(&r) < f->left ? rd_left(&r) : f->left;
            const uint8_t *q = rd_ptr(&r, k);
            size_t room = f->msg.max - f->msg.len;
            if (room && !f->refused && dynbuf_add(&f->msg, q, k < room ? k : room) != 0)
                f->refused = true; /* budget: keep what we have, report it truncated */
            f->left -= (uint32_t)k;
        }
        if (f->nhdr == 4 && f->left == 0)
            hs_done(s, d, f);
    }
}

static void sess_cb(void *user, const struct tlsrec_ev *ev)
{
    struct tls_sess *s = user;
    struct tlsrec_dir *d = &s->dir[ev->dir];
    struct tls_hsframe *f = &s->hs[ev->dir];
    bool hs = ev->kind == TLSREC_EV_RECORD && ev->type == TLS_CT_HANDSHAKE &&
              (ev->status == TLSREC_PLAIN || ev->status == TLSREC_DECRYPTED);
    /* a message cannot be followed across records that were lost or not read */
    if (ev->kind == TLSREC_EV_GAP || ev->kind == TLSREC_EV_RESYNC ||
        (ev->kind == TLSREC_EV_RECORD && ev->status != TLSREC_PLAIN &&
         ev->status != TLSREC_DECRYPTED))
        hs_reset(f);
    s->fn(s->user, ev);
    if (!hs)
        return;
    hs_scan(s, d, f, ev->data, ev->len);
    if (s->version != TLS_VERSION_13 || ev->status != TLSREC_DECRYPTED)
        return;
    /* TLS 1.3 key changes happen at record boundaries (RFC 8446 5.1) */
    if (f->finished && d->next.set) {
        tlsrec_activate_next(d);
        struct tlsrec_ev k;
        ev_init(d, &k, TLSREC_EV_KEYS);
        k.keys_why = TLSREC_KEYS_FINISHED;
        s->fn(s->user, &k);
    } else if (f->key_update && d->cur.set && tlsrec_key_update(d) == 0) {
        struct tlsrec_ev k;
        ev_init(d, &k, TLSREC_EV_KEYS);
        k.keys_why = TLSREC_KEYS_KEY_UPDATE;
        s->fn(s->user, &k);
    }
}

size_t tls_sess_feed(struct tls_sess *s, int dir, const uint8_t *buf, size_t len, tlsrec_fn fn,
                     void *user)
{
    s->fn = fn;
    s->user = user;
    return tlsrec_feed(&s->dir[dir & 1], buf, len, sess_cb, s);
}

void tls_sess_gap(struct tls_sess *s, int dir, uint64_t len, tlsrec_fn fn, void *user)
{
    s->fn = fn;
    s->user = user;
    tlsrec_gap(&s->dir[dir & 1], len, sess_cb, s);
}
