/* keylog.c - NSS key log parser (RFC 9850): incremental line assembly, strict field checks, a
 * capped open-addressing table of secrets keyed by client random. */
#include "keylog.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rd.h"

#define KEYLOG_INIT_CAP 64u

static const char *const label_names[KEYLOG__COUNT] = {
    [KEYLOG_CLIENT_RANDOM] = "CLIENT_RANDOM",
    [KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET] = "CLIENT_EARLY_TRAFFIC_SECRET",
    [KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    [KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    [KEYLOG_CLIENT_TRAFFIC_SECRET_0] = "CLIENT_TRAFFIC_SECRET_0",
    [KEYLOG_SERVER_TRAFFIC_SECRET_0] = "SERVER_TRAFFIC_SECRET_0",
};

const char *keylog_label_name(enum keylog_label l)
{
    return (unsigned)l < KEYLOG__COUNT ? label_names[l] : "?";
}

const char *keylog_err_str(enum keylog_err e)
{
    switch (e) {
    case KEYLOG_E_TOO_LONG:
        return "line too long";
    case KEYLOG_E_CONTROL:
        return "control or NUL byte in the line";
    case KEYLOG_E_LABEL:
        return "not a key log label";
    case KEYLOG_E_FIELDS:
        return "expected: LABEL CLIENT_RANDOM SECRET";
    case KEYLOG_E_RANDOM:
        return "client random is not 64 hex digits";
    case KEYLOG_E_SECRET:
        return "secret is not hex of the right length";
    case KEYLOG_E_CONFLICT:
        return "a different secret for the same client random and label (the first is kept)";
    case KEYLOG_E_FULL:
        return "key log table full (sessions cap)";
    }
    return "?";
}

void keylog_init(struct keylog *kl, uint32_t max_sessions, keylog_bad_fn bad, void *user)
{
    memset(kl, 0, sizeof *kl);
    if (max_sessions == 0)
        max_sessions = KEYLOG_DEFAULT_MAX_SESSIONS;
    if (max_sessions > KEYLOG_MAX_SESSIONS_LIMIT)
        max_sessions = KEYLOG_MAX_SESSIONS_LIMIT;
    kl->max = max_sessions;
    kl->bad_fn = bad;
    kl->user = user;
}

void keylog_free(struct keylog *kl)
{
    if (kl->ent)
        OPENSSL_cleanse(kl->ent, (size_t)kl->cap * sizeof kl->ent[0]);
    free(kl->ent);
    free(kl->idx);
    OPENSSL_cleanse(kl->line, sizeof kl->line);
    kl->ent = NULL;
    kl->idx = NULL;
    kl->count = kl->cap = kl->nidx = 0;
    kl->linelen = 0;
}

static uint32_t random_hash(const uint8_t *r)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < TLS_RANDOM_LEN; i++) {
        h ^= r[i];
        h *= 16777619u;
    }
    return h;
}

/* The index slot holding random, or the empty slot where it would go. */
static uint32_t *slot_of(const struct keylog *kl, const uint8_t *random)
{
    uint32_t mask = kl->nidx - 1;
    for (uint32_t i = random_hash(random) & mask;; i = (i + 1) & mask) {
        uint32_t v = kl->idx[i];
        if (v == 0 || memcmp(kl->ent[v - 1].random, random, TLS_RANDOM_LEN) == 0)
            return &kl->idx[i];
    }
}

const struct keylog_entry *keylog_find(const struct keylog *kl,
                                       const uint8_t random[TLS_RANDOM_LEN])
{
    if (kl->count == 0)
        return NULL;
    uint32_t v = *slot_of(kl, random);
    return v ? &kl->ent[v - 1] : NULL;
}

/* Room for one more session: grow the entries and the index (2 slots per entry). */
static int table_grow(struct keylog *kl)
{
    if (kl->count < kl->cap)
        return 0;
    if (kl->cap >= kl->max)
        return -1;
    uint32_t ncap = kl->cap ? kl->cap * 2 : KEYLOG_INIT_CAP;
    if (ncap > kl->max)
        ncap = kl->max;
    uint32_t nidx = 1;
    while (nidx < 2 * ncap)
        nidx *= 2;
    struct keylog_entry *ne = calloc(ncap, sizeof *ne);
    uint32_t *ni = calloc(nidx, sizeof *ni);
    if (!ne || !ni) {
        free(ne);
        free(ni);
        return -1;
    }
    if (kl->count)
        memcpy(ne, kl->ent, (size_t)kl->count * sizeof *ne);
    if (kl->ent)
        OPENSSL_cleanse(kl->ent, (size_t)kl->cap * sizeof *ne);
    free(kl->ent);
    free(kl->idx);
    kl->ent = ne;
    kl->idx = ni;
    kl->cap = ncap;
    kl->nidx = nidx;
    for (uint32_t k = 0; k < kl->count; k++)
        *slot_of(kl, ne[k].random) = k + 1;
    return 0;
}

static void report(struct keylog *kl, enum keylog_err e)
{
    kl->bad++;
    if (kl->bad_fn)
        kl->bad_fn(kl->user, kl->lineno, e);
}

/* Decode a hex field into out (at most max bytes). Returns the byte count, or -1. */
static int hex_decode(struct rd f, uint8_t *out, size_t max)
{
    size_t n = rd_left(&f);
    if (n == 0 || n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = rd_hexval(rd_u8(&f));
        int lo = rd_hexval(rd_u8(&f));
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

static bool is_blank(int c)
{
    return c == ' ' || c == '\t';
}

/* The next field (a run of non-blank bytes) after skipping blanks; an empty cursor at the end. */
static struct rd next_field(struct rd *r)
{
    while (rd_peek(r, 0) >= 0 && is_blank(rd_peek(r, 0)))
        rd_skip(r, 1);
    size_t n = 0;
    while (rd_peek(r, n) >= 0 && !is_blank(rd_peek(r, n)))
        n++;
    return rd_sub(r, n);
}

static bool field_eq(struct rd f, const char *s)
{
    size_t n = strlen(s);
    return rd_left(&f) == n && memcmp(f.p, s, n) == 0;
}

static void add_secret(struct keylog *kl, enum keylog_label l, const uint8_t *random,
                       const uint8_t *secret, size_t slen)
{
    struct keylog_entry *e = NULL;
    if (kl->count) {
        uint32_t v = *slot_of(kl, random);
        if (v)
            e = &kl->ent[v - 1];
    }
    if (!e) {
        if (table_grow(kl) != 0) {
            report(kl, KEYLOG_E_FULL);
            return;
        }
        e = &kl->ent[kl->count];
        memset(e, 0, sizeof *e);
        memcpy(e->random, random, TLS_RANDOM_LEN);
        kl->count++;
        *slot_of(kl, random) = kl->count;
    }
    if (e->have & (1u << l)) {
        if (e->len[l] == slen && memcmp(e->secret[l], secret, slen) == 0)
            kl->duplicates++;
        else
            report(kl, KEYLOG_E_CONFLICT);
        return;
    }
    e->have |= (uint8_t)(1u << l);
    e->len[l] = (uint8_t)slen;
    memcpy(e->secret[l], secret, slen);
    kl->secrets++;
    kl->generation++;
}

/* One complete line, without its LF. */
static void parse_line(struct keylog *kl, const uint8_t *p, size_t n)
{
    if (n && p[n - 1] == '\r')
        n--;
    struct rd r = rd_make(p, n);
    while (rd_peek(&r, 0) >= 0 && is_blank(rd_peek(&r, 0)))
        rd_skip(&r, 1);
    if (rd_left(&r) == 0 || rd_peek(&r, 0) == '#') {
        kl->ignored++;
        return;
    }
    for (size_t i = 0; i < rd_left(&r); i++) {
        int c = rd_peek(&r, i);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            report(kl, KEYLOG_E_CONTROL);
            return;
        }
    }
    struct rd label = next_field(&r);
    for (size_t i = 0; i < rd_left(&label); i++) {
        int c = rd_peek(&label, i);
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            report(kl, KEYLOG_E_LABEL);
            return;
        }
    }
    int l = -1;
    for (int k = 0; k < KEYLOG__COUNT; k++)
        if (field_eq(label, label_names[k]))
            l = k;
    if (l < 0) {
        kl->ignored++;
        return;
    }
    struct rd frand = next_field(&r);
    struct rd fsec = next_field(&r);
    struct rd extra = next_field(&r);
    if (rd_left(&frand) == 0 || rd_left(&fsec) == 0 || rd_left(&extra) != 0) {
        report(kl, KEYLOG_E_FIELDS);
        return;
    }
    uint8_t random[TLS_RANDOM_LEN];
    uint8_t secret[TLS_SECRET_MAX];
    if (rd_left(&frand) != 2 * TLS_RANDOM_LEN ||
        hex_decode(frand, random, sizeof random) != TLS_RANDOM_LEN) {
        report(kl, KEYLOG_E_RANDOM);
        return;
    }
    int slen = hex_decode(fsec, secret, sizeof secret);
    bool ok = l == KEYLOG_CLIENT_RANDOM ? slen == TLS12_MASTER_LEN : (slen == 32 || slen == 48);
    if (!ok) {
        report(kl, KEYLOG_E_SECRET);
    } else {
        add_secret(kl, (enum keylog_label)l, random, secret, (size_t)slen);
    }
    OPENSSL_cleanse(secret, sizeof secret);
}

static void end_line(struct keylog *kl)
{
    kl->lines++;
    kl->lineno++;
    if (kl->overlong)
        report(kl, KEYLOG_E_TOO_LONG);
    else
        parse_line(kl, kl->line, kl->linelen);
    OPENSSL_cleanse(kl->line, kl->linelen);
    kl->linelen = 0;
    kl->overlong = false;
}

void keylog_feed(struct keylog *kl, const uint8_t *buf, size_t len)
{
    if (len == 0)
        return; /* buf may be NULL */
    struct rd r = rd_make(buf, len);
    while (rd_left(&r)) {
        size_t n = 0;
        while (n < rd_left(&r) && rd_peek(&r, n) != '\n')
            n++;
        bool nl = n < rd_left(&r);
        const uint8_t *piece = rd_ptr(&r, n);
        if (!kl->overlong) {
            if (n > sizeof kl->line - kl->linelen) {
                kl->overlong = true;
            } else if (n) {
                memcpy(kl->line + kl->linelen, piece, n);
                kl->linelen += n;
            }
        }
        if (nl) {
            rd_skip(&r, 1);
            end_line(kl);
        }
    }
}

void keylog_end(struct keylog *kl)
{
    if (kl->linelen || kl->overlong)
        end_line(kl);
    kl->lineno = 0;
}
