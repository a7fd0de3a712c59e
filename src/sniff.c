/* sniff.c - TLS ClientHello (SNI, ALPN) and HTTP/2 preface recognition through the rd cursor. */
#include "sniff.h"

#include <string.h>

#include "rd.h"

#define TLS_CT_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_ALPN 16
#define TLS_EXT_SUPPORTED_VERSIONS 43
#define TLS_SNI_HOST_NAME 0
#define TLS_HELLO_MIN 41 /* version, random, empty session id, one suite, one method */

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* server_name (RFC 6066 3): the first host_name entry. */
static bool tls_ext_sni(struct rd *d, struct tls_hello *out)
{
    uint16_t list_len = rd_be16(d);
    if (d->err || list_len != rd_left(d) || list_len == 0)
        return false;
    while (rd_left(d) > 0) {
        uint8_t type = rd_u8(d);
        uint16_t n = rd_be16(d);
        struct rd name = rd_sub(d, n);
        if (d->err || n == 0)
            return false;
        if (type != TLS_SNI_HOST_NAME || out->has_sni)
            continue;
        out->has_sni = true;
        out->sni_len = n < SNIFF_SNI_MAX ? n : SNIFF_SNI_MAX;
        out->sni_truncated = n > SNIFF_SNI_MAX;
        rd_copy(&name, out->sni, out->sni_len);
    }
    return !d->err;
}

/* application_layer_protocol_negotiation (RFC 7301 3.1). */
static bool tls_ext_alpn(struct rd *d, struct tls_hello *out)
{
    uint16_t list_len = rd_be16(d);
    if (d->err || list_len != rd_left(d) || list_len < 2)
        return false;
    out->has_alpn = true;
    while (rd_left(d) > 0) {
        uint8_t n = rd_u8(d);
        struct rd name = rd_sub(d, n);
        if (d->err || n == 0)
            return false;
        if (out->nalpn >= SNIFF_ALPN_MAX) {
            out->alpn_truncated = true;
            continue;
        }
        size_t keep = n < SNIFF_ALPN_NAME_MAX ? n : SNIFF_ALPN_NAME_MAX;
        if (keep < n)
            out->alpn_truncated = true;
        rd_copy(&name, out->alpn[out->nalpn], keep);
        out->alpn_len[out->nalpn++] = keep;
    }
    return !d->err;
}

/* supported_versions in a ClientHello (RFC 8446 4.2.1): the highest non-GREASE entry. */
static bool tls_ext_versions(struct rd *d, struct tls_hello *out)
{
    uint8_t n = rd_u8(d);
    if (d->err || n != rd_left(d) || n < 2 || n % 2 != 0)
        return false;
    while (rd_left(d) > 0) {
        unsigned v = rd_be16(d);
        if ((v & 0x0f0f) == 0x0a0a) /* GREASE (RFC 8701) */
            continue;
        if (v > out->max_version)
            out->max_version = v;
    }
    return !d->err;
}

/* The extensions block. A short read is malformed unless the hello continues in another record
 * (partial), where it just ends what we can report. */
static int tls_extensions(struct rd *ex, struct tls_hello *out)
{
    bool seen_sni = false, seen_alpn = false, seen_ver = false;

    while (rd_left(ex) > 0) {
        uint16_t type = rd_be16(ex);
        uint16_t elen = rd_be16(ex);
        struct rd d = rd_sub(ex, elen);
        if (ex->err)
            return out->partial ? SNIFF_YES : SNIFF_MALFORMED;
        bool ok = true;
        switch (type) {
        case TLS_EXT_SERVER_NAME:
            ok = !seen_sni && tls_ext_sni(&d, out);
            seen_sni = true;
            break;
        case TLS_EXT_ALPN:
            ok = !seen_alpn && tls_ext_alpn(&d, out);
            seen_alpn = true;
            break;
        case TLS_EXT_SUPPORTED_VERSIONS:
            ok = !seen_ver && tls_ext_versions(&d, out);
            seen_ver = true;
            break;
        default:
            break;
        }
        if (!ok)
            return SNIFF_MALFORMED;
    }
    return SNIFF_YES;
}

/* The ClientHello body within the first record. */
static int tls_hello_body(struct rd *body, struct tls_hello *out)
{
    out->legacy_version = rd_be16(body);
    rd_skip(body, 32); /* random */
    uint8_t sid = rd_u8(body);
    if (sid > 32)
        return SNIFF_MALFORMED;
    rd_skip(body, sid);
    uint16_t suites = rd_be16(body);
    if (!body->err && (suites < 2 || suites % 2 != 0))
        return SNIFF_MALFORMED;
    rd_skip(body, suites);
    uint8_t methods = rd_u8(body);
    if (!body->err && methods < 1)
        return SNIFF_MALFORMED;
    rd_skip(body, methods);
    if (body->err)
        return out->partial ? SNIFF_YES : SNIFF_MALFORMED;
    if (rd_left(body) == 0)
        return SNIFF_YES; /* no extensions (allowed before TLS 1.3) */

    uint16_t total = rd_be16(body);
    if (body->err)
        return out->partial ? SNIFF_YES : SNIFF_MALFORMED;
    if (out->partial && total > rd_left(body))
        total = (uint16_t)rd_left(body);
    if (!out->partial && total != rd_left(body))
        return SNIFF_MALFORMED;
    struct rd ex = rd_sub(body, total);
    return tls_extensions(&ex, out);
}

int sniff_tls_client_hello(const uint8_t *buf, size_t len, struct tls_hello *out)
{
    struct rd r = rd_make(buf, len);

    memset(out, 0, sizeof *out);
    /* Decide from each header byte as it arrives. */
    int c = rd_peek(&r, 0);
    if (c >= 0 && c != TLS_CT_HANDSHAKE)
        return SNIFF_NO;
    c = rd_peek(&r, 1);
    if (c >= 0 && c != 3)
        return SNIFF_NO;
    c = rd_peek(&r, 2);
    if (c > 4)
        return SNIFF_NO;
    c = rd_peek(&r, 5);
    if (c >= 0 && c != TLS_HS_CLIENT_HELLO)
        return SNIFF_NO;
    if (rd_left(&r) < TLS_RECORD_HDR)
        return SNIFF_INCOMPLETE;

    rd_skip(&r, 1);
    out->record_version = rd_be16(&r);
    uint16_t reclen = rd_be16(&r);
    if (reclen < 4 || reclen > TLS_RECORD_MAX)
        return SNIFF_MALFORMED;
    if (rd_left(&r) >= 4) {
        struct rd h = r;
        rd_skip(&h, 1);
        uint32_t hslen = (uint32_t)rd_u8(&h) << 16;
        hslen |= rd_be16(&h);
        if (hslen < TLS_HELLO_MIN)
            return SNIFF_MALFORMED;
    }
    if (rd_left(&r) < reclen)
        return SNIFF_INCOMPLETE;
    out->record_len = TLS_RECORD_HDR + (size_t)reclen;

    struct rd rec = rd_sub(&r, reclen);
    rd_skip(&rec, 1); /* handshake type, checked above */
    uint32_t hslen = (uint32_t)rd_u8(&rec) << 16;
    hslen |= rd_be16(&rec);
    if (hslen > rd_left(&rec)) {
        out->partial = true;
        hslen = (uint32_t)rd_left(&rec);
    }
    struct rd body = rd_sub(&rec, hslen);
    int rc = tls_hello_body(&body, out);
    if (rc == SNIFF_YES && !out->partial && rd_left(&body) != 0)
        return SNIFF_MALFORMED;
    return rc;
}

int sniff_h2_preface(const uint8_t *buf, size_t len)
{
    struct rd r = rd_make(buf, len);

    for (size_t i = 0; i < SNIFF_H2_PREFACE_LEN; i++) {
        int c = rd_peek(&r, i);
        if (c < 0)
            return SNIFF_INCOMPLETE;
        if (c != (unsigned char)h2_preface[i])
            return SNIFF_NO;
    }
    return SNIFF_YES;
}

int sniff_tls_records(const uint8_t *buf, size_t len)
{
    struct rd r = rd_make(buf, len);
    for (int n = 0; n < 2; n++) {
        if (rd_left(&r) == 0)
            return SNIFF_INCOMPLETE;
        uint8_t type = rd_u8(&r);
        if (type < 20 || type > 23)
            return SNIFF_NO;
        if (rd_left(&r) == 0)
            return SNIFF_INCOMPLETE;
        if (rd_u8(&r) != 3)
            return SNIFF_NO;
        if (rd_left(&r) == 0)
            return SNIFF_INCOMPLETE;
        if (rd_u8(&r) > 4)
            return SNIFF_NO;
        if (rd_left(&r) < 2)
            return SNIFF_INCOMPLETE;
        uint16_t rl = rd_be16(&r);
        if (rl == 0 || rl > TLS_RECORD_MAX + 2048) /* (ciphertext may add up to 2048) */
            return SNIFF_NO;
        if (n == 1)
            break; /* the second record's header is enough */
        if (rd_left(&r) < rl)
            return SNIFF_INCOMPLETE;
        rd_skip(&r, rl);
    }
    return SNIFF_YES;
}
