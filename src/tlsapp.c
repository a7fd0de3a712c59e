/* tlsapp.c - the TLS layer of a connection: hellos, key lookup, tls.* events, and decrypted
 * application data handed to the application dispatcher with the packets that carried it. */
#include "tlsapp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "keylog.h"
#include "rd.h"
#include "tlsrec.h"

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_ENCRYPTED_EXTENSIONS 8
#define EXT_ALPN 16
#define EXT_SESSION_TICKET 35
#define EXT_PRE_SHARED_KEY 41
#define EXT_SUPPORTED_VERSIONS 43

/* A gap whose plaintext length is unknown: larger than any body or frame, so the layers above
 * resynchronize instead of skipping a guessed number of bytes. */
#define TLSAPP_GAP_UNKNOWN (1ULL << 40)

enum dstat { DS_NONE, DS_OK, DS_NO_KEY, DS_BAD_KEY, DS_GAP };

struct tlsapp {
    struct tls_sess s;
    struct wst_budget *bud;
    struct wst_analyzer *a; /* during a feed */
    struct conn *c;
    struct tlsapp_ring ring[2];
    uint64_t off[2];
    struct tlsapp_ch ch;
    struct tlsapp_sh sh;
    bool have_ch, have_sh, hrr, resumed;
    bool sh_told;       /* tls.server_hello emitted */
    bool ee_seen;       /* TLS 1.3 EncryptedExtensions decrypted */
    bool verdict_told;  /* a session-level tls.decrypt emitted */
    bool keys_tried;
    enum dstat dst[2];  /* the last per-direction status emitted */
    bool ok_pending[2]; /* a decrypted record before tls.server_hello: say ok after it */
    uint64_t ok_record[2];
    uint32_t gen[2];    /* KeyUpdate generations */
    char cipher[48];
    char version[16];
};

/* ---- hello parsing ---- */

static bool skip_vec8(struct rd *d)
{
    uint8_t n = rd_u8(d);
    rd_skip(d, n);
    return !d->err;
}

static bool skip_vec16(struct rd *d)
{
    uint16_t n = rd_be16(d);
    rd_skip(d, n);
    return !d->err;
}

/* One ALPN list holding exactly one name (ServerHello, EncryptedExtensions: RFC 7301 3.1). */
static bool alpn_one(struct rd *e, bool *has, uint8_t *out, uint8_t *outlen)
{
    uint16_t list = rd_be16(e);
    uint8_t n = rd_u8(e);
    if (e->err || n == 0 || list != (uint16_t)(n + 1))
        return false;
    rd_copy(e, out, n);
    if (e->err)
        return false;
    *outlen = n;
    *has = true;
    return true;
}

bool tlsapp_parse_client_hello(const uint8_t *p, size_t n, struct tlsapp_ch *out)
{
    struct rd d = rd_make(p, n);
    memset(out, 0, sizeof *out);
    rd_be16(&d); /* legacy_version */
    rd_copy(&d, out->random, TLS_RANDOM_LEN);
    uint8_t sl = rd_u8(&d);
    if (d.err || sl > 32)
        return false;
    rd_copy(&d, out->sid, sl);
    out->sid_len = sl;
    if (!skip_vec16(&d) || !skip_vec8(&d)) /* cipher_suites, compression_methods */
        return false;
    if (rd_left(&d) == 0)
        return true; /* no extensions */
    uint16_t el = rd_be16(&d);
    struct rd ext = rd_sub(&d, el);
    if (d.err)
        return false;
    while (rd_left(&ext) > 0) {
        uint16_t type = rd_be16(&ext);
        uint16_t len = rd_be16(&ext);
        rd_skip(&ext, len);
        if (ext.err)
            return false;
        if (type == EXT_SESSION_TICKET && len > 0)
            out->ticket = true;
        else if (type == EXT_PRE_SHARED_KEY)
            out->psk = true;
    }
    return true;
}

bool tlsapp_parse_server_hello(const uint8_t *p, size_t n, struct tlsapp_sh *out)
{
    struct rd d = rd_make(p, n);
    memset(out, 0, sizeof *out);
    out->legacy_version = rd_be16(&d);
    rd_copy(&d, out->random, TLS_RANDOM_LEN);
    uint8_t sl = rd_u8(&d);
    if (d.err || sl > 32)
        return false;
    rd_copy(&d, out->sid, sl);
    out->sid_len = sl;
    out->suite = rd_be16(&d);
    rd_u8(&d); /* compression_method */
    if (d.err)
        return false;
    out->version = out->legacy_version;
    if (rd_left(&d) == 0)
        return true;
    uint16_t el = rd_be16(&d);
    struct rd ext = rd_sub(&d, el);
    if (d.err)
        return false;
    while (rd_left(&ext) > 0) {
        uint16_t type = rd_be16(&ext);
        uint16_t len = rd_be16(&ext);
        struct rd e = rd_sub(&ext, len);
        if (ext.err)
            return false;
        if (type == EXT_SUPPORTED_VERSIONS) {
            uint16_t v = rd_be16(&e);
            if (e.err || rd_left(&e) != 0)
                return false;
            out->version = v;
        } else if (type == EXT_PRE_SHARED_KEY) {
            out->psk = true;
        } else if (type == EXT_ALPN) {
            if (!alpn_one(&e, &out->has_alpn, out->alpn, &out->alpn_len))
                return false;
        }
    }
    return true;
}

bool tlsapp_parse_ee_alpn(const uint8_t *p, size_t n, bool *has_alpn, uint8_t *alpn,
                          uint8_t *alpn_len)
{
    struct rd d = rd_make(p, n);
    *has_alpn = false;
    uint16_t el = rd_be16(&d);
    struct rd ext = rd_sub(&d, el);
    if (d.err)
        return false;
    while (rd_left(&ext) > 0) {
        uint16_t type = rd_be16(&ext);
        uint16_t len = rd_be16(&ext);
        struct rd e = rd_sub(&ext, len);
        if (ext.err)
            return false;
        if (type == EXT_ALPN && !alpn_one(&e, has_alpn, alpn, alpn_len))
            return false;
    }
    return true;
}

/* ---- offsets to packets ---- */

void tlsapp_ring_push(struct tlsapp_ring *r, uint64_t end_off, uint64_t frame, int64_t ts)
{
    unsigned i = (r->head + r->n) % TLSAPP_RING;
    if (r->n == TLSAPP_RING) {
        i = r->head;
        r->head = (r->head + 1) % TLSAPP_RING;
    } else {
        r->n++;
    }
    r->e[i].end_off = end_off;
    r->e[i].frame = frame;
    r->e[i].ts = ts;
}

const struct tlsapp_pkt *tlsapp_ring_find(const struct tlsapp_ring *r, uint64_t end_off)
{
    if (r->n == 0)
        return NULL;
    for (unsigned k = 0; k < r->n; k++) {
        const struct tlsapp_pkt *e = &r->e[(r->head + k) % TLSAPP_RING];
        if (e->end_off >= end_off)
            return e;
    }
    return &r->e[(r->head + r->n - 1) % TLSAPP_RING];
}

/* ---- events ---- */

static enum wst_dir dir_of(int side)
{
    return side == SIDE_C ? WST_DIR_C2S : WST_DIR_S2C;
}

static const char *vername(uint16_t v, char *buf, size_t cap)
{
    if (v == TLS_VERSION_13)
        return "1.3";
    if (v == TLS_VERSION_12)
        return "1.2";
    if (v == 0x0302)
        return "1.1";
    if (v == 0x0301)
        return "1.0";
    snprintf(buf, cap, "0x%04x", v);
    return buf;
}

static void emit_decrypt(struct tlsapp *t, enum wst_dir dir, const char *status, uint64_t record,
                         const char *detail)
{
    struct wst_event ev;
    an_event_init(t->a, &ev, WST_EV_TLS_DECRYPT, t->c, dir);
    ev.u.tls_dec.status = status;
    ev.u.tls_dec.record = record;
    ev.u.tls_dec.detail = detail;
    an_emit(t->a, &ev);
}

static void say_ok(struct tlsapp *t, int side, uint64_t record)
{
    char detail[300];
    if (t->dst[side] == DS_GAP)
        snprintf(detail, sizeof detail, "TLS: %s decryption resumed at record %llu",
                 side == SIDE_C ? "client" : "server",
                 (unsigned long long)record);
    else
        snprintf(detail, sizeof detail, "TLS: %s records decrypted with %s (from record %llu)",
                 side == SIDE_C ? "client" : "server", t->a->keylog_name,
                 (unsigned long long)record);
    t->dst[side] = DS_OK;
    emit_decrypt(t, dir_of(side), "ok", record, detail);
}

static void emit_server_hello(struct tlsapp *t)
{
    if (t->sh_told || !t->have_sh)
        return;
    t->sh_told = true;
    struct wst_event ev;
    an_event_init(t->a, &ev, WST_EV_TLS_SERVER_HELLO, t->c, WST_DIR_S2C);
    struct wst_ev_tls_server_hello *e = &ev.u.tls_sh;
    e->version = t->version;
    e->cipher = t->cipher;
    e->has_alpn = t->sh.has_alpn;
    e->alpn.p = t->sh.alpn;
    e->alpn.len = t->sh.alpn_len;
    e->resumed = t->resumed;
    e->hrr = t->hrr;
    e->alpn_hidden = !e->has_alpn && t->sh.version == TLS_VERSION_13 && !t->ee_seen;
    an_emit(t->a, &ev);
    for (int s = 0; s < 2; s++)
        if (t->ok_pending[s]) {
            t->ok_pending[s] = false;
            say_ok(t, s, t->ok_record[s]);
        }
}

static void hexpre(const uint8_t *r, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 4; i++) {
        out[2 * i] = hx[r[i] >> 4];
        out[2 * i + 1] = hx[r[i] & 15];
    }
    out[8] = 0;
}

/* The session-level verdict when the key table cannot decrypt it (once per connection). */
static void session_verdict(struct tlsapp *t, enum tls_keystat st)
{
    if (t->verdict_told)
        return;
    char detail[400], rnd[9];
    const char *status = NULL;
    hexpre(t->ch.random, rnd);
    const char *v = t->version;
    switch (st) {
    case TLS_KEYS_NO_KEY:
        status = "no_key";
        if (!t->a->keylog)
            snprintf(detail, sizeof detail, "TLS %s: not decrypted: no --keylog given (a key "
                     "log written by the client or server, e.g. SSLKEYLOGFILE, would let wstap "
                     "decrypt it)", v);
        else
            snprintf(detail, sizeof detail, "TLS %s: NOT decrypted: %s has no key for this "
                     "session's client random %s... (%u session%s in the file)", v,
                     t->a->keylog_name, rnd, (unsigned)keylog_sessions(t->a->keylog),
                     keylog_sessions(t->a->keylog) == 1 ? "" : "s");
        break;
    case TLS_KEYS_TLS13_NEEDS_TRAFFIC_SECRETS:
        status = "tls13_needs_traffic_secrets";
        snprintf(detail, sizeof detail, "TLS 1.3: NOT decrypted: %s has only a CLIENT_RANDOM "
                 "line for client random %s...; TLS 1.3 needs the *_HANDSHAKE_TRAFFIC_SECRET "
                 "and *_TRAFFIC_SECRET_0 lines", t->a->keylog_name, rnd);
        break;
    case TLS_KEYS_UNSUPPORTED: {
        status = "unsupported_cipher";
        const struct tls_suite *s = t->s.suite;
        snprintf(detail, sizeof detail, "TLS %s: NOT decrypted: unsupported cipher suite %s "
                 "(%s)", v, t->cipher, s && s->why ? s->why : "not one wstap knows");
        break;
    }
    case TLS_KEYS_NO_HANDSHAKE:
        status = "no_handshake";
        snprintf(detail, sizeof detail, "TLS: NOT decrypted: the capture holds no %s for this "
                 "connection (it started mid-session), so its client random and cipher suite "
                 "are unknown", t->have_ch ? "ServerHello" : "ClientHello");
        break;
    case TLS_KEYS_ERROR:
        status = "bad_key";
        snprintf(detail, sizeof detail, "TLS %s: NOT decrypted: the secrets in %s for client "
                 "random %s... do not fit cipher suite %s", v, t->a->keylog_name, rnd,
                 t->cipher);
        break;
    default:
        return;
    }
    t->verdict_told = true;
    struct wst_event ev;
    an_event_init(t->a, &ev, WST_EV_TLS_DECRYPT, t->c, WST_DIR_NONE);
    ev.u.tls_dec.status = status;
    ev.u.tls_dec.detail = detail;
    ev.u.tls_dec.no_keylog = st == TLS_KEYS_NO_KEY && !t->a->keylog;
    an_emit(t->a, &ev);
}

static enum tls_keystat lookup_keys(struct tlsapp *t)
{
    t->keys_tried = true;
    if (!t->a->keylog)
        return TLS_KEYS_NO_KEY;
    enum tls_keystat st = tls_sess_keys(&t->s, t->a->keylog);
    if ((st == TLS_KEYS_NO_KEY || st == TLS_KEYS_TLS13_NEEDS_TRAFFIC_SECRETS ||
         st == TLS_KEYS_PARTIAL) &&
        t->a->keylog_more && t->a->keylog_more(t->a->keylog_user, t->a->now, true))
        st = tls_sess_keys(&t->s, t->a->keylog);
    return st;
}

static void on_handshake(struct tlsapp *t, const struct tlsrec_ev *ev)
{
    if (ev->dir == TLS_C2S && ev->hs_type == HS_CLIENT_HELLO && !t->have_ch) {
        if (tlsapp_parse_client_hello(ev->data, ev->len, &t->ch)) {
            t->have_ch = true;
            tls_sess_client_hello(&t->s, t->ch.random);
        }
        return;
    }
    if (ev->dir == TLS_S2C && ev->hs_type == HS_SERVER_HELLO && !t->have_sh) {
        struct tlsapp_sh sh;
        if (!tlsapp_parse_server_hello(ev->data, ev->len, &sh))
            return;
        if (!tls_sess_server_hello(&t->s, sh.random, sh.version, sh.suite)) {
            t->hrr = true;
            return;
        }
        t->sh = sh;
        t->have_sh = true;
        char vb[16];
        snprintf(t->version, sizeof t->version, "%s", vername(sh.version, vb, sizeof vb));
        if (t->s.suite)
            snprintf(t->cipher, sizeof t->cipher, "%s", t->s.suite->name);
        else
            snprintf(t->cipher, sizeof t->cipher, "0x%04X", sh.suite);
        if (sh.version == TLS_VERSION_13)
            t->resumed = sh.psk;
        else
            t->resumed = sh.sid_len > 0 && sh.sid_len == t->ch.sid_len &&
                         memcmp(sh.sid, t->ch.sid, sh.sid_len) == 0;
        enum tls_keystat st;
        if (!t->have_ch)
            st = TLS_KEYS_NO_HANDSHAKE;
        else if (!tls_suite_supported(t->s.suite))
            st = TLS_KEYS_UNSUPPORTED;
        else
            st = lookup_keys(t);
        /* TLS 1.3 names its ALPN in EncryptedExtensions: wait for it when it can be read */
        if (sh.version != TLS_VERSION_13 || (st != TLS_KEYS_OK && st != TLS_KEYS_PARTIAL))
            emit_server_hello(t);
        session_verdict(t, st);
        return;
    }
    if (ev->dir == TLS_S2C && ev->hs_type == HS_ENCRYPTED_EXTENSIONS && t->have_sh &&
        !t->sh_told) {
        bool has = false;
        uint8_t alpn[255], alen = 0;
        t->ee_seen = true;
        if (tlsapp_parse_ee_alpn(ev->data, ev->len, &has, alpn, &alen) && has) {
            t->sh.has_alpn = true;
            t->sh.alpn_len = alen;
            memcpy(t->sh.alpn, alpn, alen);
        }
        emit_server_hello(t);
    }
}

static void on_alert(struct tlsapp *t, const struct tlsrec_ev *ev, bool encrypted)
{
    if (ev->len < 2)
        return;
    struct wst_event e;
    an_event_init(t->a, &e, WST_EV_TLS_ALERT, t->c, dir_of(ev->dir));
    e.u.tls_alert.level = ev->data[0];
    e.u.tls_alert.desc = ev->data[1];
    e.u.tls_alert.name = tls_alert_name(ev->data[1]);
    e.u.tls_alert.encrypted = encrypted;
    an_emit(t->a, &e);
}

static void no_key_record(struct tlsapp *t, const struct tlsrec_ev *ev)
{
    int side = ev->dir;
    emit_server_hello(t);
    if (t->verdict_told || t->dst[side] == DS_NO_KEY || t->dst[side] == DS_GAP)
        return;
    char detail[400];
    t->dst[side] = DS_NO_KEY;
    t->ok_pending[side] = false;
    if (t->s.keystat == TLS_KEYS_PARTIAL)
        snprintf(detail, sizeof detail, "TLS %s: %s record %llu NOT decrypted: %s has only "
                 "some of this session's secrets (TLS 1.3 needs CLIENT_/SERVER_HANDSHAKE_"
                 "TRAFFIC_SECRET and CLIENT_/SERVER_TRAFFIC_SECRET_0)", t->version,
                 side == SIDE_C ? "client" : "server", (unsigned long long)ev->index,
                 t->a->keylog_name);
    else
        snprintf(detail, sizeof detail, "TLS %s: %s record %llu NOT decrypted: %s has no "
                 "key for it", t->version, side == SIDE_C ? "client" : "server",
                 (unsigned long long)ev->index, t->a->keylog ? t->a->keylog_name : "no key log");
    emit_decrypt(t, dir_of(side), "no_key", ev->index, detail);
}

static void on_record(struct tlsapp *t, const struct tlsrec_ev *ev)
{
    int side = ev->dir;
    switch (ev->status) {
    case TLSREC_PLAIN:
        if (ev->type == TLS_CT_ALERT)
            on_alert(t, ev, false);
        else if (ev->type == TLS_CT_APPLICATION_DATA && !t->have_sh)
            session_verdict(t, TLS_KEYS_NO_HANDSHAKE);
        return;
    case TLSREC_DECRYPTED:
        if (t->dst[side] != DS_OK && !t->ok_pending[side]) {
            if (t->sh_told) {
                say_ok(t, side, ev->index);
            } else {
                t->ok_pending[side] = true;
                t->ok_record[side] = ev->index;
            }
        }
        if (ev->type == TLS_CT_ALERT) {
            on_alert(t, ev, true);
        } else if (ev->type == TLS_CT_APPLICATION_DATA && ev->len > 0) {
            app_plain(t->a, t->c, side, ev->data, ev->len, t->a->frame);
        }
        return;
    case TLSREC_NO_KEY:
        if (!t->have_sh) {
            session_verdict(t, TLS_KEYS_NO_HANDSHAKE);
            return;
        }
        /* a live capture's key log may have grown since: the front end re-reads it (at most
         * once a second of packet time) and the keys apply from the next record on */
        if (t->a->keylog && t->a->keylog_more && t->have_ch &&
            tls_suite_supported(t->s.suite) &&
            (t->s.keystat == TLS_KEYS_NO_KEY || t->s.keystat == TLS_KEYS_PARTIAL ||
             t->s.keystat == TLS_KEYS_TLS13_NEEDS_TRAFFIC_SECRETS) &&
            t->a->keylog_more(t->a->keylog_user, t->a->now, false))
            tls_sess_keys(&t->s, t->a->keylog);
        no_key_record(t, ev);
        return;
    case TLSREC_BAD_TAG:
    case TLSREC_BAD_INNER:
        /* TLS 1.3 with only some secrets: a record under keys the log lacks does not verify
         * with the ones it has; that is a missing key, not a wrong one */
        if (t->s.keystat == TLS_KEYS_PARTIAL) {
            no_key_record(t, ev);
            return;
        }
        emit_server_hello(t);
        if (t->dst[side] != DS_BAD_KEY && t->dst[side] != DS_GAP) {
            char detail[400];
            t->dst[side] = DS_BAD_KEY;
            t->ok_pending[side] = false;
            snprintf(detail, sizeof detail, "TLS %s: %s record %llu NOT decrypted: its "
                     "authentication tag does not verify with the keys %s gives for this "
                     "session (keys of another session or hop, or altered bytes)", t->version,
                     side == SIDE_C ? "client" : "server", (unsigned long long)ev->index,
                     t->a->keylog_name);
            emit_decrypt(t, dir_of(side), "bad_key", ev->index, detail);
        }
        return;
    }
}

static void on_event(void *user, const struct tlsrec_ev *ev)
{
    struct tlsapp *t = user;
    struct wst_analyzer *a = t->a;
    uint64_t frame0 = a->frame;
    int64_t now0 = a->now;
    const struct tlsapp_pkt *pk = tlsapp_ring_find(&t->ring[ev->dir], ev->end_off);
    if (pk && ev->kind == TLSREC_EV_RECORD) {
        a->frame = pk->frame;
        a->now = pk->ts;
    }
    switch (ev->kind) {
    case TLSREC_EV_RECORD:
        on_record(t, ev);
        break;
    case TLSREC_EV_HANDSHAKE:
        on_handshake(t, ev);
        break;
    case TLSREC_EV_KEYS:
        if (ev->keys_why == TLSREC_KEYS_KEY_UPDATE) {
            struct wst_event e;
            an_event_init(a, &e, WST_EV_TLS_KEY_UPDATE, t->c, dir_of(ev->dir));
            e.u.tls_ku.generation = ++t->gen[ev->dir];
            e.u.tls_ku.record = ev->index;
            an_emit(a, &e);
        }
        break;
    case TLSREC_EV_GAP:
    case TLSREC_EV_LOST: {
        if (t->dst[ev->dir] == DS_GAP && ev->kind == TLSREC_EV_GAP)
            break;
        char detail[300];
        if (ev->kind == TLSREC_EV_GAP)
            snprintf(detail, sizeof detail, "%s record %llu lost to a capture gap: decryption "
                     "resumes at the next record whose authentication tag verifies",
                     ev->dir == TLS_C2S ? "client" : "server", (unsigned long long)ev->index);
        else
            snprintf(detail, sizeof detail, "%s records lost from record %llu on: %s",
                     ev->dir == TLS_C2S ? "client" : "server", (unsigned long long)ev->index,
                     ev->why ? ev->why : "framing not found again");
        t->dst[ev->dir] = DS_GAP;
        t->ok_pending[ev->dir] = false;
        emit_decrypt(t, dir_of(ev->dir), "gap", ev->index, detail);
        app_plain_gap(a, t->c, ev->dir, TLSAPP_GAP_UNKNOWN);
        break;
    }
    case TLSREC_EV_BAD_HEADER:
    case TLSREC_EV_RESYNC:
        break;
    }
    a->frame = frame0;
    a->now = now0;
}

/* ---- the connection ---- */

struct tlsapp *tlsapp_new(struct wst_analyzer *a, struct conn *c)
{
    (void)c;
    if (!a->tls_scratch) {
        a->tls_scratch = malloc(TLSREC_SCRATCH_LEN);
        if (!a->tls_scratch)
            return NULL;
    }
    if (!budget_take(&a->app_budget, sizeof(struct tlsapp)))
        return NULL;
    struct tlsapp *t = calloc(1, sizeof *t);
    if (!t) {
        budget_give(&a->app_budget, sizeof *t);
        return NULL;
    }
    t->bud = &a->app_budget;
    tls_sess_init(&t->s, &a->app_budget);
    tls_sess_set_scratch(&t->s, a->tls_scratch);
    snprintf(t->version, sizeof t->version, "?");
    return t;
}

void tlsapp_free(struct tlsapp *t)
{
    if (!t)
        return;
    tls_sess_free(&t->s);
    budget_give(t->bud, sizeof *t);
    free(t);
}

void tlsapp_data(struct tlsapp *t, struct wst_analyzer *a, struct conn *c, int side,
                 const uint8_t *p, size_t len, uint64_t frame, int64_t ts)
{
    if (len == 0)
        return;
    t->a = a;
    t->c = c;
    t->off[side] += len;
    tlsapp_ring_push(&t->ring[side], t->off[side], frame, ts);
    tls_sess_feed(&t->s, side == SIDE_C ? TLS_C2S : TLS_S2C, p, len, on_event, t);
}

void tlsapp_gap(struct tlsapp *t, struct wst_analyzer *a, struct conn *c, int side, uint64_t len)
{
    t->a = a;
    t->c = c;
    t->off[side] += len;
    tls_sess_gap(&t->s, side == SIDE_C ? TLS_C2S : TLS_S2C, len, on_event, t);
}

void tlsapp_end(struct tlsapp *t, struct wst_analyzer *a, struct conn *c)
{
    t->a = a;
    t->c = c;
    emit_server_hello(t);
    for (int s = 0; s < 2; s++)
        if (t->ok_pending[s]) {
            t->ok_pending[s] = false;
            say_ok(t, s, t->ok_record[s]);
        }
}
