/* fuzz_tls.c - libFuzzer target: the TLS layer (record framing, decryption, resynchronization,
 * handshake message reassembly, key changes) and the key log parser, on one connection's two
 * byte streams. The keys of the five real connections of tests/unit/tls_vectors.h (TLS 1.2
 * AES-GCM/ChaCha20, TLS 1.3 with KeyUpdates) are known, so mutations of their streams reach
 * the decryption paths; extra key log text from the input goes through the parser first.
 *
 * Input format (fuzz/mkseeds_tls.py writes seeds from the same vectors):
 *   byte 0  bits 0-2  which vector's key log, randoms, version and suite (values 5-7: 0-2)
 *           bit 3     take the randoms, version and suite from the ClientHello/ServerHello
 *                     messages in the input instead (as the application layer will)
 *           bit 4     decrypt into a shared scratch buffer
 *           bit 5     a small memory budget (64 KiB)
 *           bit 6     feed the key log one byte at a time
 *   bytes 1-2 big-endian length L, then L bytes of key log text, fed before the vector's
 *   then chunks, each a 2-byte big-endian header h:
 *           bit 15    a gap of (h & 0x3fff) bytes of the current direction (no data follows)
 *           bit 14    stay in the same direction (otherwise every chunk after the first
 *                     switches; the first goes client to server)
 *           bits 0-13 data: this many bytes follow (fewer if the input ends)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"
#include "rd.h"
#include "tlsrec.h"

#include "../tests/unit/tls_vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fvec {
    uint16_t suite, version;
    const char *keylog;
    const uint8_t *cr, *sr;
};

static const struct fvec fvecs[5] = {
    {TLSV_AES128GCM_SUITE, TLSV_AES128GCM_VERSION, tlsv_aes128gcm_keylog,
     tlsv_aes128gcm_client_random, tlsv_aes128gcm_server_random},
    {TLSV_AES256GCM_SUITE, TLSV_AES256GCM_VERSION, tlsv_aes256gcm_keylog,
     tlsv_aes256gcm_client_random, tlsv_aes256gcm_server_random},
    {TLSV_CHACHA_SUITE, TLSV_CHACHA_VERSION, tlsv_chacha_keylog, tlsv_chacha_client_random,
     tlsv_chacha_server_random},
    {TLSV_T13AES256_SUITE, TLSV_T13AES256_VERSION, tlsv_t13aes256_keylog,
     tlsv_t13aes256_client_random, tlsv_t13aes256_server_random},
    {TLSV_T13CHACHA_SUITE, TLSV_T13CHACHA_VERSION, tlsv_t13chacha_keylog,
     tlsv_t13chacha_client_random, tlsv_t13chacha_server_random},
};

struct fstate {
    struct tls_sess s;
    struct keylog kl;
    const struct fvec *v;
    bool from_input;
    bool saw_ch, saw_sh;
    volatile uint8_t sink;
};

static void touch(struct fstate *f, const uint8_t *p, size_t n)
{
    if (n && !p)
        abort(); /* the API promises no NULL pointer with a length */
    for (size_t i = 0; i < n; i++)
        f->sink ^= p[i];
}

/* ClientHello / ServerHello body: legacy_version, random, (SH:) session id, suite, ...
 * extensions with supported_versions. */
static void hello(struct fstate *f, int dir, unsigned type, const uint8_t *p, size_t n)
{
    struct rd r = rd_make(p, n);
    unsigned version = rd_be16(&r);
    const uint8_t *random = rd_ptr(&r, TLS_RANDOM_LEN);
    if (r.err)
        return;
    if (dir == TLS_C2S && type == 1) {
        tls_sess_client_hello(&f->s, random);
        return;
    }
    if (dir != TLS_S2C || type != 2)
        return;
    rd_skip(&r, rd_u8(&r));
    unsigned suite = rd_be16(&r);
    rd_skip(&r, 1);
    if (rd_left(&r) >= 2) {
        struct rd ext = rd_sub(&r, rd_be16(&r));
        while (rd_left(&ext) >= 4) {
            unsigned et = rd_be16(&ext);
            struct rd body = rd_sub(&ext, rd_be16(&ext));
            if (et == 43 && rd_left(&body) == 2)
                version = rd_be16(&body);
        }
    }
    if (!r.err && tls_sess_server_hello(&f->s, random, (uint16_t)version, (uint16_t)suite))
        tls_sess_keys(&f->s, &f->kl);
}

static void cb(void *user, const struct tlsrec_ev *ev)
{
    struct fstate *f = user;
    if (ev->dir != TLS_C2S && ev->dir != TLS_S2C)
        abort();
    switch (ev->kind) {
    case TLSREC_EV_RECORD:
        if (ev->status == TLSREC_DECRYPTED && ev->len > TLSREC_MAX_PLAIN)
            abort(); /* RFC 8446 5.4: never more than 2^14 bytes of plaintext */
        touch(f, ev->data, ev->len);
        break;
    case TLSREC_EV_HANDSHAKE:
        if (ev->len > TLS_HS_MSG_MAX || ev->len > ev->hs_len)
            abort();
        touch(f, ev->data, ev->len);
        if (f->from_input) {
            hello(f, ev->dir, ev->hs_type, ev->data, ev->len);
        } else if (ev->dir == TLS_C2S && ev->hs_type == 1 && !f->saw_ch) {
            f->saw_ch = true;
            tls_sess_client_hello(&f->s, f->v->cr);
        } else if (ev->dir == TLS_S2C && ev->hs_type == 2 && !f->saw_sh) {
            f->saw_sh = true;
            if (tls_sess_server_hello(&f->s, f->v->sr, f->v->version, f->v->suite))
                tls_sess_keys(&f->s, &f->kl);
        }
        break;
    case TLSREC_EV_LOST:
    case TLSREC_EV_BAD_HEADER:
        if (!ev->why)
            abort();
        touch(f, (const uint8_t *)ev->why, strlen(ev->why));
        break;
    case TLSREC_EV_KEYS:
    case TLSREC_EV_GAP:
    case TLSREC_EV_RESYNC:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t scratch[TLSREC_SCRATCH_LEN];
    static struct fstate f;
    static const uint8_t empty[1];
    struct rd r = rd_make(size ? data : empty, size);
    unsigned mode = rd_u8(&r);
    struct wst_budget bud = {0, 64 * 1024, 0, 0};
    memset(&f, 0, sizeof f);
    f.v = &fvecs[(mode & 7) % 5];
    f.from_input = (mode & 0x08) != 0;
    tls_sess_init(&f.s, (mode & 0x20) ? &bud : NULL);
    if (mode & 0x10)
        tls_sess_set_scratch(&f.s, scratch);
    keylog_init(&f.kl, 16, NULL, NULL);
    size_t klen = rd_be16(&r);
    r.err = false; /* a short input just ends: the rest reads as empty */
    if (klen > rd_left(&r))
        klen = rd_left(&r);
    const uint8_t *ktext = klen ? rd_ptr(&r, klen) : NULL;
    if (!ktext) {
        /* no key log text */
    } else if (mode & 0x40) {
        for (size_t i = 0; i < klen; i++)
            keylog_feed(&f.kl, ktext + i, 1);
    } else {
        keylog_feed(&f.kl, ktext, klen / 2);
        keylog_feed(&f.kl, ktext + klen / 2, klen - klen / 2);
    }
    keylog_end(&f.kl);
    keylog_feed(&f.kl, (const uint8_t *)f.v->keylog, strlen(f.v->keylog));
    keylog_end(&f.kl);

    uint64_t fed[2] = {0, 0};
    int dir = TLS_C2S;
    bool first = true;
    while (rd_left(&r) >= 2) {
        unsigned h = rd_be16(&r);
        if (!first && !(h & 0x4000))
            dir ^= 1;
        first = false;
        if (h & 0x8000) {
            tls_sess_gap(&f.s, dir, h & 0x3fff, cb, &f);
            fed[dir] += h & 0x3fff;
            continue;
        }
        size_t n = h & 0x3fff;
        if (n > rd_left(&r))
            n = rd_left(&r);
        if (tls_sess_feed(&f.s, dir, rd_ptr(&r, n), n, cb, &f) != n)
            abort();
        fed[dir] += n;
    }
    /* every byte accounted for */
    for (int d = 0; d < 2; d++) {
        const struct tlsrec_dir *td = &f.s.dir[d];
        if (td->off + td->buf.len != fed[d] || td->buf.len > TLSREC_BUF_MAX)
            abort();
    }
    tls_sess_free(&f.s);
    keylog_free(&f.kl);
    if (bud.used != 0)
        abort();
    return 0;
}
