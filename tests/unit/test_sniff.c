/* test_sniff.c - TLS ClientHello (SNI/ALPN) and HTTP/2 preface recognition, guard pages. */
#include <string.h>

#include "gbuf.h"
#include "sniff.h"
#include "util.h"

/* A ClientHello captured from openssl s_client (OpenSSL 3.0.19) on loopback with tcpdump:
 *   openssl s_server -accept 127.0.0.1:48443 -cert c.pem -key k.pem -alpn h2,http/1.1
 *   openssl s_client -connect 127.0.0.1:48443 -servername example.test -alpn h2,http/1.1
 * The TCP payload of the client's first data segment, as captured (one 336-byte record). */
static const uint8_t hello_capture[] = {
    0x16, 0x03, 0x01, 0x01, 0x4b, 0x01, 0x00, 0x01, 0x47, 0x03, 0x03, 0x90, 0x27, 0x09, 0x9d, 0x6b,
    0xc5, 0x7f, 0xdb, 0x2b, 0x51, 0x1f, 0x58, 0x4f, 0x7c, 0xf2, 0xce, 0x94, 0x1b, 0x2f, 0x7a, 0x5a,
    0x5e, 0x07, 0xea, 0x41, 0x71, 0x45, 0x13, 0x3f, 0xf0, 0xe9, 0x57, 0x20, 0x4c, 0x12, 0x25, 0x09,
    0x4c, 0x67, 0xfb, 0x1d, 0x76, 0x21, 0x0e, 0xf9, 0xdf, 0xdb, 0xd2, 0xfc, 0x7c, 0xd4, 0x43, 0xbd,
    0x29, 0xe9, 0x80, 0xed, 0x45, 0x57, 0x4f, 0x82, 0xe6, 0xaf, 0x20, 0x3b, 0x00, 0x3e, 0x13, 0x02,
    0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
    0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27,
    0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d,
    0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xc0,
    0x00, 0x00, 0x00, 0x11, 0x00, 0x0f, 0x00, 0x00, 0x0c, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
    0x2e, 0x74, 0x65, 0x73, 0x74, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00,
    0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01,
    0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00,
    0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00,
    0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06,
    0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08,
    0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05,
    0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01,
    0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,
    0x7a, 0x7c, 0xd3, 0x39, 0x3c, 0x4d, 0xa0, 0x4c, 0xe4, 0xf1, 0xeb, 0x69, 0x72, 0xb5, 0x2d, 0x4d,
    0xdb, 0xcc, 0x17, 0x56, 0xb0, 0xa4, 0x07, 0x5b, 0x14, 0xd0, 0x6b, 0xfc, 0xe6, 0x58, 0x99, 0x07,
};

/* Offsets in hello_capture (record header included). */
#define CAP_SID_LEN 0x2b
#define CAP_SUITES_LEN 0x4c
#define CAP_EXT_TOTAL 0x8e
#define CAP_SNI_EXT_LEN 0x92
#define CAP_SNI_LIST_LEN 0x94
#define CAP_SNI_NAME_LEN 0x97
#define CAP_SNI_EXT_END 0xa5
#define CAP_ALPN_LIST_LEN 0xcf
#define CAP_ALPN_NAME0_LEN 0xd1

static bool bytes_are(const uint8_t *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

/*
 * Every prefix of in (each right before a PROT_NONE page) must be SNIFF_INCOMPLETE or the
 * whole-input answer; once it is the whole answer it stays so (a prefix then the rest gives the
 * same result as the whole). Returns the whole-input answer with out filled from it.
 */
static int hello_check(const uint8_t *in, size_t n, struct tls_hello *out)
{
    struct tls_hello h;
    struct gbuf gb;

    gbuf_init(&gb, in, n);
    int whole = sniff_tls_client_hello(gbuf_place(&gb, in, n), n, out);
    bool decided = false;
    for (size_t k = 0; k < n; k++) {
        int r = sniff_tls_client_hello(gbuf_place(&gb, in, k), k, &h);
        ck_assert_msg(r == SNIFF_INCOMPLETE || r == whole, "prefix %zu/%zu gave %d, whole %d", k, n,
                      r, whole);
        ck_assert_msg(!(decided && r == SNIFF_INCOMPLETE), "prefix %zu undecided again", k);
        decided = r != SNIFF_INCOMPLETE;
        if (r == SNIFF_YES)
            ck_assert_mem_eq(&h, out, sizeof h);
    }
    gbuf_free(&gb);
    return whole;
}

START_TEST(test_captured_hello)
{
    struct tls_hello h;

    ck_assert_int_eq(hello_check(hello_capture, sizeof hello_capture, &h), SNIFF_YES);
    ck_assert_uint_eq(h.record_version, 0x0301);
    ck_assert_uint_eq(h.legacy_version, 0x0303);
    ck_assert_uint_eq(h.max_version, 0x0304);
    ck_assert_uint_eq(h.record_len, sizeof hello_capture);
    ck_assert(!h.partial);
    ck_assert(h.has_sni);
    ck_assert(!h.sni_truncated);
    ck_assert(bytes_are(h.sni, h.sni_len, "example.test"));
    ck_assert(h.has_alpn);
    ck_assert(!h.alpn_truncated);
    ck_assert_uint_eq(h.nalpn, 2);
    ck_assert(bytes_are(h.alpn[0], h.alpn_len[0], "h2"));
    ck_assert(bytes_are(h.alpn[1], h.alpn_len[1], "http/1.1"));

    /* the bytes that follow the record do not matter */
    static uint8_t more[sizeof hello_capture + 7];
    memcpy(more, hello_capture, sizeof hello_capture);
    memcpy(more + sizeof hello_capture, "\x14\x03\x03\x00\x01\x01\x16", 7);
    ck_assert_int_eq(sniff_tls_client_hello(more, sizeof more, &h), SNIFF_YES);
    ck_assert_uint_eq(h.record_len, sizeof hello_capture);
}
END_TEST

/* The captured hello with one byte changed. */
static int mutated(size_t off, uint8_t v, struct tls_hello *h)
{
    static uint8_t buf[sizeof hello_capture];
    memcpy(buf, hello_capture, sizeof buf);
    buf[off] = v;
    return hello_check(buf, sizeof buf, h);
}

START_TEST(test_lying_lengths)
{
    struct tls_hello h;

    /* record length above 16 KiB, or too small for any handshake header */
    ck_assert_int_eq(mutated(3, 0x40, &h), SNIFF_MALFORMED); /* 0x404b */
    ck_assert_int_eq(mutated(3, 0xff, &h), SNIFF_MALFORMED);
    static const uint8_t tiny[] = {0x16, 0x03, 0x01, 0x00, 0x03, 0x01, 0x00, 0x00};
    ck_assert_int_eq(hello_check(tiny, sizeof tiny, &h), SNIFF_MALFORMED);
    /* handshake length below any ClientHello (40), then shorter than the hello's fields */
    ck_assert_int_eq(mutated(7, 0x00, &h), SNIFF_MALFORMED); /* 0x000147 -> 0x000047 */
    static uint8_t small[sizeof hello_capture];
    memcpy(small, hello_capture, sizeof small);
    small[7] = 0;
    small[8] = 40;
    ck_assert_int_eq(hello_check(small, sizeof small, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(sniff_tls_client_hello(small, 9, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(8, 0x10, &h), SNIFF_MALFORMED); /* 0x000110: extensions cut */
    /* session id longer than 32 */
    ck_assert_int_eq(mutated(CAP_SID_LEN, 33, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_SID_LEN, 0xff, &h), SNIFF_MALFORMED);
    /* odd cipher suite length */
    ck_assert_int_eq(mutated(CAP_SUITES_LEN + 1, 0x3f, &h), SNIFF_MALFORMED);
    /* cipher suite length running past the hello */
    ck_assert_int_eq(mutated(CAP_SUITES_LEN, 0x7f, &h), SNIFF_MALFORMED);
    /* extensions total not matching what is left */
    ck_assert_int_eq(mutated(CAP_EXT_TOTAL + 1, 0xbf, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_EXT_TOTAL + 1, 0xc1, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_EXT_TOTAL, 0xff, &h), SNIFF_MALFORMED);
    /* one extension's length running into the next / past the end */
    ck_assert_int_eq(mutated(CAP_SNI_EXT_LEN + 1, 0x12, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_SNI_EXT_LEN, 0xff, &h), SNIFF_MALFORMED);
    /* server_name list / host_name lengths */
    ck_assert_int_eq(mutated(CAP_SNI_LIST_LEN + 1, 0x10, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_SNI_NAME_LEN + 1, 0x0d, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_SNI_NAME_LEN, 0xff, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_SNI_NAME_LEN + 1, 0x00, &h), SNIFF_MALFORMED);
    /* ALPN list / name lengths */
    ck_assert_int_eq(mutated(CAP_ALPN_LIST_LEN + 1, 0x0d, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_ALPN_NAME0_LEN, 0, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(mutated(CAP_ALPN_NAME0_LEN, 0xc8, &h), SNIFF_MALFORMED);
    /* a name type other than host_name is skipped, not an error */
    ck_assert_int_eq(mutated(CAP_SNI_NAME_LEN - 1, 7, &h), SNIFF_YES);
    ck_assert(!h.has_sni);
    ck_assert_uint_eq(h.nalpn, 2);
}
END_TEST

START_TEST(test_not_tls)
{
    struct tls_hello h;

    ck_assert_int_eq(sniff_tls_client_hello((const uint8_t *)"G", 1, &h), SNIFF_NO);
    ck_assert_int_eq(hello_check((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, &h), SNIFF_NO);
    static const uint8_t server_hello[] = {0x16, 0x03, 0x03, 0x00, 0x50, 0x02, 0x00, 0x00};
    ck_assert_int_eq(hello_check(server_hello, sizeof server_hello, &h), SNIFF_NO);
    static const uint8_t appdata[] = {0x17, 0x03, 0x03, 0x00, 0x10};
    ck_assert_int_eq(hello_check(appdata, sizeof appdata, &h), SNIFF_NO);
    static const uint8_t v4[] = {0x16, 0x04, 0x01, 0x00, 0x50, 0x01};
    ck_assert_int_eq(hello_check(v4, sizeof v4, &h), SNIFF_NO);
    static const uint8_t v35[] = {0x16, 0x03, 0x05, 0x00, 0x50, 0x01};
    ck_assert_int_eq(hello_check(v35, sizeof v35, &h), SNIFF_NO);
    /* SSLv2-compatible hello: not a TLS record */
    static const uint8_t sslv2[] = {0x80, 0x2e, 0x01, 0x03, 0x01};
    ck_assert_int_eq(hello_check(sslv2, sizeof sslv2, &h), SNIFF_NO);
    ck_assert_int_eq(sniff_tls_client_hello(hello_capture, 0, &h), SNIFF_INCOMPLETE);
    ck_assert_int_eq(sniff_tls_client_hello(hello_capture, 5, &h), SNIFF_INCOMPLETE);
}
END_TEST

START_TEST(test_hello_across_records)
{
    struct tls_hello h;
    static uint8_t buf[sizeof hello_capture];

    /* the first record ends right after server_name: SNI known, ALPN not yet */
    memcpy(buf, hello_capture, sizeof buf);
    size_t reclen = CAP_SNI_EXT_END - 5;
    buf[3] = (uint8_t)(reclen >> 8);
    buf[4] = (uint8_t)reclen;
    ck_assert_int_eq(hello_check(buf, 5 + reclen, &h), SNIFF_YES);
    ck_assert(h.partial);
    ck_assert(h.has_sni);
    ck_assert(bytes_are(h.sni, h.sni_len, "example.test"));
    ck_assert(!h.has_alpn);
    ck_assert_uint_eq(h.record_len, 5 + reclen);
    /* the rest of the buffer (the next record) is not needed */
    ck_assert_int_eq(sniff_tls_client_hello(buf, sizeof buf, &h), SNIFF_YES);
    ck_assert(h.partial);

    /* cut inside the server_name extension, and inside the cipher suites */
    reclen = CAP_SNI_EXT_END - 5 - 4;
    buf[3] = (uint8_t)(reclen >> 8);
    buf[4] = (uint8_t)reclen;
    ck_assert_int_eq(hello_check(buf, 5 + reclen, &h), SNIFF_YES);
    ck_assert(h.partial);
    ck_assert(!h.has_sni);
    reclen = CAP_SUITES_LEN + 10 - 5;
    buf[3] = (uint8_t)(reclen >> 8);
    buf[4] = (uint8_t)reclen;
    ck_assert_int_eq(hello_check(buf, 5 + reclen, &h), SNIFF_YES);
    ck_assert(h.partial);
    ck_assert_uint_eq(h.legacy_version, 0x0303);
}
END_TEST

/* ---- hand-built hellos ---- */

static size_t put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

/* Record + handshake header + a minimal body + the extension bytes (with_ext: a block). */
static size_t build_hello(uint8_t *out, const uint8_t *ext, size_t extlen, bool with_ext)
{
    uint8_t *b = out + 9;
    size_t n = 0;

    n += put16(b + n, 0x0303);
    memset(b + n, 0x11, 32);
    n += 32;
    b[n++] = 0; /* session id */
    n += put16(b + n, 2);
    n += put16(b + n, 0x1301);
    b[n++] = 1;
    b[n++] = 0;
    if (with_ext) {
        n += put16(b + n, extlen);
        if (extlen)
            memcpy(b + n, ext, extlen);
        n += extlen;
    }
    out[0] = 0x16;
    out[1] = 3;
    out[2] = 1;
    put16(out + 3, n + 4);
    out[5] = 1;
    out[6] = 0;
    put16(out + 7, n);
    return 9 + n;
}

static size_t ext_sni(uint8_t *p, const char *name, size_t nlen, uint8_t type)
{
    size_t n = 0;
    n += put16(p + n, 0);
    n += put16(p + n, nlen + 5);
    n += put16(p + n, nlen + 3);
    p[n++] = type;
    n += put16(p + n, nlen);
    memcpy(p + n, name, nlen);
    return n + nlen;
}

static uint8_t hb[20000], eb[18000];

START_TEST(test_built_hellos)
{
    struct tls_hello h;
    size_t e, n;

    /* no extensions at all */
    n = build_hello(hb, NULL, 0, false);
    ck_assert_int_eq(hello_check(hb, n, &h), SNIFF_YES);
    ck_assert(!h.has_sni);
    ck_assert(!h.has_alpn);
    ck_assert_uint_eq(h.max_version, 0);
    /* an empty extension block */
    n = build_hello(hb, NULL, 0, true);
    ck_assert_int_eq(hello_check(hb, n, &h), SNIFF_YES);

    /* a 300-byte host name is cut to the cap and flagged; another name type first */
    char name[300];
    memset(name, 'a', sizeof name);
    e = 0;
    e += put16(eb + e, 0);
    e += put16(eb + e, 2 + 4 + 300 + 3);
    e += put16(eb + e, 4 + 300 + 3);
    eb[e++] = 5;
    e += put16(eb + e, 1);
    eb[e++] = 'x';
    eb[e++] = 0;
    e += put16(eb + e, 300);
    memcpy(eb + e, name, 300);
    e += 300;
    n = build_hello(hb, eb, e, true);
    ck_assert_int_eq(hello_check(hb, n, &h), SNIFF_YES);
    ck_assert(h.has_sni);
    ck_assert(h.sni_truncated);
    ck_assert_uint_eq(h.sni_len, SNIFF_SNI_MAX);
    ck_assert_uint_eq(h.sni[0], 'a');

    /* ALPN: ten names, one of them 100 bytes long */
    e = 0;
    e += put16(eb + e, 16);
    size_t lenpos = e;
    e += 4;
    size_t start = e;
    for (int i = 0; i < 10; i++) {
        size_t l = i == 1 ? 100 : 2;
        eb[e++] = (uint8_t)l;
        memset(eb + e, 'p' + i, l);
        e += l;
    }
    put16(eb + lenpos, e - start + 2);
    put16(eb + lenpos + 2, e - start);
    /* supported_versions with GREASE */
    e += put16(eb + e, 43);
    e += put16(eb + e, 7);
    eb[e++] = 6;
    e += put16(eb + e, 0x7a7a);
    e += put16(eb + e, 0x0304);
    e += put16(eb + e, 0x0303);
    n = build_hello(hb, eb, e, true);
    ck_assert_int_eq(hello_check(hb, n, &h), SNIFF_YES);
    ck_assert(h.has_alpn);
    ck_assert_uint_eq(h.nalpn, SNIFF_ALPN_MAX);
    ck_assert(h.alpn_truncated);
    ck_assert_uint_eq(h.alpn_len[1], SNIFF_ALPN_NAME_MAX);
    ck_assert(bytes_are(h.alpn[0], h.alpn_len[0], "pp"));
    ck_assert(bytes_are(h.alpn[7], h.alpn_len[7], "ww"));
    ck_assert_uint_eq(h.max_version, 0x0304);

    /* the same extension twice */
    e = ext_sni(eb, "a.test", 6, 0);
    e += ext_sni(eb + e, "b.test", 6, 0);
    n = build_hello(hb, eb, e, true);
    ck_assert_int_eq(hello_check(hb, n, &h), SNIFF_MALFORMED);

    /* an empty server_name list; odd supported_versions list */
    static const uint8_t empty_sni[] = {0, 0, 0, 2, 0, 0};
    n = build_hello(hb, empty_sni, sizeof empty_sni, true);
    ck_assert_int_eq(hello_check(hb, n, &h), SNIFF_MALFORMED);
    static const uint8_t odd_ver[] = {0, 43, 0, 4, 3, 3, 4, 3};
    n = build_hello(hb, odd_ver, sizeof odd_ver, true);
    ck_assert_int_eq(hello_check(hb, n, &h), SNIFF_MALFORMED);

    /* a full 16 KiB record is accepted, one byte more is not */
    e = 0;
    e += put16(eb + e, 21); /* padding */
    size_t pad = TLS_RECORD_MAX - 4 - 41 - 2 - 4;
    e += put16(eb + e, pad);
    memset(eb + e, 0, pad);
    e += pad;
    n = build_hello(hb, eb, e, true);
    ck_assert_uint_eq(n, TLS_RECORD_HDR + TLS_RECORD_MAX);
    ck_assert_int_eq(sniff_tls_client_hello(hb, n, &h), SNIFF_YES);
    ck_assert_int_eq(sniff_tls_client_hello(hb, n - 1, &h), SNIFF_INCOMPLETE);
    put16(eb + 2, pad + 1);
    n = build_hello(hb, eb, e + 1, true);
    ck_assert_int_eq(sniff_tls_client_hello(hb, n, &h), SNIFF_MALFORMED);
    ck_assert_int_eq(sniff_tls_client_hello(hb, 5, &h), SNIFF_MALFORMED);
}
END_TEST

/* ---- HTTP/2 ---- */

START_TEST(test_h2_preface)
{
    static const char pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    static const uint8_t settings[] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    uint8_t buf[64];
    struct gbuf gb;

    ck_assert_uint_eq(strlen(pre), SNIFF_H2_PREFACE_LEN);
    memcpy(buf, pre, SNIFF_H2_PREFACE_LEN);
    memcpy(buf + SNIFF_H2_PREFACE_LEN, settings, sizeof settings);
    size_t n = SNIFF_H2_PREFACE_LEN + sizeof settings;

    gbuf_init(&gb, buf, n);
    for (size_t k = 0; k <= n; k++) {
        int r = sniff_h2_preface(gbuf_place(&gb, buf, k), k);
        ck_assert_int_eq(r, k < SNIFF_H2_PREFACE_LEN ? SNIFF_INCOMPLETE : SNIFF_YES);
    }
    /* any single changed byte of the preface is not HTTP/2 */
    for (size_t i = 0; i < SNIFF_H2_PREFACE_LEN; i++) {
        uint8_t m[SNIFF_H2_PREFACE_LEN];
        memcpy(m, pre, sizeof m);
        m[i] ^= 0x20;
        ck_assert_int_eq(sniff_h2_preface(gbuf_place(&gb, m, sizeof m), sizeof m), SNIFF_NO);
        ck_assert_int_eq(sniff_h2_preface(gbuf_place(&gb, m, i + 1), i + 1), SNIFF_NO);
    }
    gbuf_free(&gb);
    ck_assert_int_eq(sniff_h2_preface((const uint8_t *)"PRI * HTTP/1.1\r\n", 16), SNIFF_NO);
    ck_assert_int_eq(sniff_h2_preface((const uint8_t *)"GET", 3), SNIFF_NO);
    ck_assert_int_eq(sniff_h2_preface(hello_capture, sizeof hello_capture), SNIFF_NO);
}
END_TEST

/* A TLS stream picked up after its ClientHello: a record, then the next record's header. */
START_TEST(test_tls_records)
{
    uint8_t b[5 + 300 + 5];
    memset(b, 0xa5, sizeof b);
    memcpy(b, "\x17\x03\x03\x01\x2c", 5); /* application data, 300 bytes */
    memcpy(b + 305, "\x17\x03\x03\x00\x20", 5);
    ck_assert_int_eq(sniff_tls_records(b, sizeof b), SNIFF_YES);
    for (size_t k = 0; k < sizeof b; k++) /* every proper prefix: consistent so far */
        ck_assert_int_eq(sniff_tls_records(b, k), SNIFF_INCOMPLETE);
    b[305] = 0x81; /* a WebSocket frame header where the next record should be */
    ck_assert_int_eq(sniff_tls_records(b, sizeof b), SNIFF_NO);
    b[305] = 0x16;
    b[3] = 0x48; /* a record longer than 16384 + 2048 */
    ck_assert_int_eq(sniff_tls_records(b, sizeof b), SNIFF_NO);
    static const uint8_t ws[] = {0x81, 0x05, 'h', 'e', 'l', 'l', 'o'};
    ck_assert_int_eq(sniff_tls_records(ws, sizeof ws), SNIFF_NO);
    static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
    ck_assert_int_eq(sniff_tls_records(ssh, sizeof ssh - 1), SNIFF_NO);
}
END_TEST

static Suite *sniff_suite(void)
{
    Suite *s = suite_create("sniff");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_captured_hello);
    tcase_add_test(tc, test_lying_lengths);
    tcase_add_test(tc, test_not_tls);
    tcase_add_test(tc, test_hello_across_records);
    tcase_add_test(tc, test_built_hellos);
    tcase_add_test(tc, test_h2_preface);
    tcase_add_test(tc, test_tls_records);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(sniff_suite());
}
