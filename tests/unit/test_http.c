/* test_http.c - HTTP/1.x head parser, body framing and sniffing: every split point, guard pages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbuf.h"
#include "http.h"
#include "util.h"

#define HCAP 128
#define SIGMAX 16384

/* ---- helpers ---- */

static long off_of(const uint8_t *p, const uint8_t *base)
{
    return p ? (long)(p - base) : -1;
}

/* Every field of a parsed head, slices as offsets from base, so that parses of the same bytes
 * at different addresses can be compared. */
static void msg_sig(const struct http_msg *m, const uint8_t *base, char *out, size_t cap)
{
    int n =
        snprintf(out, cap, "m=%ld+%zu t=%ld+%zu v=%d.%d s=%d r=%ld+%zu n=%zu hb=%zu sk=%zu f=%x",
                 off_of(m->method.p, base), m->method.len, off_of(m->target.p, base), m->target.len,
                 m->vmajor, m->vminor, m->status, off_of(m->reason.p, base), m->reason.len,
                 m->nhdrs, m->hdr_bytes, m->skipped, m->flags);
    size_t used = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < m->nhdrs && used < cap; i++) {
        n = snprintf(out + used, cap - used, " %ld+%zu:%ld+%zu", off_of(m->headers[i].name.p, base),
                     m->headers[i].name.len, off_of(m->headers[i].value.p, base),
                     m->headers[i].value.len);
        used += n > 0 ? (size_t)n : 0;
    }
}

static bool slice_is(struct wst_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static const char *hval(const struct http_msg *m, const char *name, char *buf, size_t cap)
{
    const struct wst_header *h = http_header_find(m, name);
    if (h == NULL)
        return NULL;
    size_t n = h->value.len < cap - 1 ? h->value.len : cap - 1;
    memcpy(buf, h->value.p, n);
    buf[n] = '\0';
    return buf;
}

/*
 * Parse in[0, n) whole, then at every split point (prefix alone, then the whole with prev_len
 * = the prefix), then one byte at a time, each input placed right before a PROT_NONE page.
 * Every route must give the whole-buffer result. Finally parses `in` itself into out (so the
 * slices point into the caller's bytes) and returns that result.
 */
static ptrdiff_t head_check(const uint8_t *in, size_t n, bool req, const struct http_limits *lim,
                            struct http_msg *out)
{
    static struct wst_header h1[HCAP], h2[HCAP];
    static char sig_whole[SIGMAX], sig[SIGMAX];
    struct http_msg m;
    struct gbuf gb;

    gbuf_init(&gb, in, n);
    http_msg_init(&m, h1, HCAP);
    const uint8_t *p = gbuf_place(&gb, in, n);
    ptrdiff_t whole = http_parse_head(p, n, 0, req, lim, &m);
    if (whole > 0)
        msg_sig(&m, p, sig_whole, sizeof sig_whole);

    for (size_t k = 1; k < n; k++) {
        http_msg_init(&m, h2, HCAP);
        p = gbuf_place(&gb, in, k);
        ptrdiff_t r1 = http_parse_head(p, k, 0, req, lim, &m);
        if (r1 != HTTP_INCOMPLETE) {
            ck_assert_msg(r1 == whole, "split %zu/%zu: prefix gave %td, whole %td", k, n, r1,
                          whole);
            if (r1 > 0) {
                msg_sig(&m, p, sig, sizeof sig);
                ck_assert_str_eq(sig, sig_whole);
            }
            continue;
        }
        p = gbuf_place(&gb, in, n);
        ptrdiff_t r2 = http_parse_head(p, n, k, req, lim, &m);
        ck_assert_msg(r2 == whole, "split %zu/%zu: rest gave %td, whole %td", k, n, r2, whole);
        if (r2 > 0) {
            msg_sig(&m, p, sig, sizeof sig);
            ck_assert_str_eq(sig, sig_whole);
        }
    }

    ptrdiff_t r = HTTP_INCOMPLETE;
    size_t k;
    for (k = 1; k <= n && r == HTTP_INCOMPLETE; k++) {
        http_msg_init(&m, h2, HCAP);
        p = gbuf_place(&gb, in, k);
        r = http_parse_head(p, k, k - 1, req, lim, &m);
    }
    ck_assert_msg(r == whole, "bytewise gave %td, whole %td", r, whole);
    if (r > 0) {
        msg_sig(&m, p, sig, sizeof sig);
        ck_assert_str_eq(sig, sig_whole);
    }
    gbuf_free(&gb);

    ptrdiff_t rc = http_parse_head(in, n, 0, req, lim, out);
    ck_assert_int_eq(rc, whole);
    return rc;
}

static ptrdiff_t head_str(const char *s, bool req, struct http_msg *out)
{
    return head_check((const uint8_t *)s, strlen(s), req, NULL, out);
}

static struct wst_header hdrs[HCAP];

/* ---- head parsing ---- */

START_TEST(test_request_basic)
{
    static const char in[] = "GET /chat?x=1 HTTP/1.1\r\n"
                             "Host:   server.example.com  \r\n"
                             "Upgrade: websocket\r\n"
                             "connection: keep-alive, Upgrade\r\n"
                             "X-Empty:\r\n"
                             "X-Tab: a\tb \t\r\n"
                             "\r\n"
                             "BODY";
    struct http_msg m;
    char v[128];

    http_msg_init(&m, hdrs, HCAP);
    ptrdiff_t rc = head_str(in, true, &m);
    ck_assert_int_eq(rc, (ptrdiff_t)strlen(in) - 4);
    ck_assert(slice_is(m.method, "GET"));
    ck_assert(slice_is(m.target, "/chat?x=1"));
    ck_assert_int_eq(m.vmajor, 1);
    ck_assert_int_eq(m.vminor, 1);
    ck_assert_uint_eq(m.nhdrs, 5);
    ck_assert_uint_eq(m.hdr_bytes, (size_t)rc);
    ck_assert_uint_eq(m.skipped, 0);
    ck_assert_uint_eq(m.flags, 0);
    ck_assert(slice_is(m.headers[0].name, "Host"));
    ck_assert_str_eq(hval(&m, "host", v, sizeof v), "server.example.com");
    ck_assert_str_eq(hval(&m, "CONNECTION", v, sizeof v), "keep-alive, Upgrade");
    ck_assert_str_eq(hval(&m, "x-empty", v, sizeof v), "");
    ck_assert_str_eq(hval(&m, "X-Tab", v, sizeof v), "a\tb");
    ck_assert_ptr_null(http_header_find(&m, "Hos"));
    ck_assert_ptr_null(http_header_find(&m, "Hostt"));
    ck_assert(http_header_has_token(&m, "Connection", "upgrade"));
    ck_assert(!http_header_has_token(&m, "Connection", "close"));
}
END_TEST

START_TEST(test_response_basic)
{
    static const char in[] = "HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    struct http_msg m;

    http_msg_init(&m, hdrs, HCAP);
    ck_assert_int_eq(head_str(in, false, &m), (ptrdiff_t)strlen(in));
    ck_assert_int_eq(m.status, 101);
    ck_assert(slice_is(m.reason, "Switching Protocols"));
    ck_assert_uint_eq(m.nhdrs, 3);
    ck_assert_ptr_null(m.method.p);

    /* no reason phrase, with and without its SP; obs-text in a reason */
    ck_assert_int_eq(head_str("HTTP/1.1 200\r\n\r\n", false, &m), 16);
    ck_assert_int_eq(m.status, 200);
    ck_assert_uint_eq(m.reason.len, 0);
    ck_assert(m.flags & HTTP_F_NO_REASON_SP);
    ck_assert_int_eq(head_str("HTTP/1.0 404 \r\n\r\n", false, &m), 17);
    ck_assert_int_eq(m.vminor, 0);
    ck_assert_uint_eq(m.reason.len, 0);
    ck_assert(!(m.flags & HTTP_F_NO_REASON_SP));
    ck_assert_int_gt(head_str("HTTP/1.1 500 Erreur \xc3\xa9tendue\r\n\r\n", false, &m), 0);
    ck_assert(slice_is(m.reason, "Erreur \xc3\xa9tendue"));
}
END_TEST

START_TEST(test_bare_lf_and_leading_lines)
{
    struct http_msg m;

    http_msg_init(&m, hdrs, HCAP);
    ck_assert_int_eq(head_str("GET / HTTP/1.1\nHost: a\n\n", true, &m), 24);
    ck_assert(m.flags & HTTP_F_BARE_LF);
    ck_assert_uint_eq(m.nhdrs, 1);
    /* CRLF lines, bare LF empty line */
    ck_assert_int_eq(head_str("GET / HTTP/1.1\r\nHost: a\r\n\nX", true, &m), 26);
    ck_assert(m.flags & HTTP_F_BARE_LF);

    ck_assert_int_eq(head_str("\r\n\nGET / HTTP/1.1\r\n\r\n", true, &m), 21);
    ck_assert_uint_eq(m.skipped, 3);
    ck_assert_uint_eq(m.hdr_bytes, 18);
    ck_assert(m.flags & HTTP_F_LEADING_EMPTY);
    ck_assert(slice_is(m.method, "GET"));

    /* only empty lines so far: need more; too many: not HTTP */
    ck_assert_int_eq(head_str("\r\n\r\n", true, &m), HTTP_INCOMPLETE);
    char many[256];
    size_t i;
    for (i = 0; i + 2 < 200; i += 2)
        memcpy(many + i, "\r\n", 2);
    memcpy(many + i, "GET / HTTP/1.1\r\n\r\n", 19);
    ck_assert_int_eq(head_str(many, true, &m), HTTP_MALFORMED);
}
END_TEST

START_TEST(test_obs_fold)
{
    static const char in[] = "GET / HTTP/1.1\r\n"
                             "X-Long: part1  \r\n"
                             "   part2\r\n"
                             "\tpart3 \r\n"
                             " Host: evil.example\r\n"
                             "Host: good.example\r\n"
                             "\r\n";
    struct http_msg m;
    uint8_t u[128];
    char v[128];

    http_msg_init(&m, hdrs, HCAP);
    ck_assert_int_gt(head_str(in, true, &m), 0);
    ck_assert(m.flags & HTTP_F_FOLDED);
    ck_assert_uint_eq(m.nhdrs, 2);
    const struct wst_header *h = http_header_find(&m, "x-long");
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(memchr(h->value.p, '\n', h->value.len));
    size_t n = http_value_unfold(h->value.p, h->value.len, u, sizeof u);
    ck_assert_uint_eq(n, strlen("part1 part2 part3 Host: evil.example"));
    ck_assert_mem_eq(u, "part1 part2 part3 Host: evil.example", n);
    /* the folded "Host" line is not a header of its own */
    ck_assert_uint_eq(http_header_count(&m, "Host"), 1);
    ck_assert_str_eq(hval(&m, "Host", v, sizeof v), "good.example");
    /* every prefix of the raw folded value, right before a guard page */
    struct gbuf gb;
    gbuf_init(&gb, h->value.p, h->value.len);
    for (size_t k = 0; k <= h->value.len; k++) {
        size_t l = http_value_unfold(gbuf_place(&gb, h->value.p, k), k, u, sizeof u);
        ck_assert_uint_le(l, n);
        ck_assert_mem_eq(u, "part1 part2 part3 Host: evil.example", l < 5 ? l : 5);
    }
    gbuf_free(&gb);
    /* truncated output still reports the full logical length */
    ck_assert_uint_eq(http_value_unfold(h->value.p, h->value.len, u, 4), n);
    ck_assert_mem_eq(u, "part", 4);

    /* a fold after an empty first line; interior blanks of a line are kept */
    ck_assert_int_gt(head_str("GET / HTTP/1.1\r\nX:\r\n  a  b\r\n\r\n", true, &m), 0);
    ck_assert_str_eq(hval(&m, "X", v, sizeof v), "a  b");
    n = http_value_unfold(m.headers[0].value.p, m.headers[0].value.len, u, sizeof u);
    ck_assert_mem_eq(u, "a  b", n);

    /* whitespace before the first header line is rejected (RFC 9112 2.2) */
    ck_assert_int_eq(head_str("GET / HTTP/1.1\r\n Host: a\r\n\r\n", true, &m), HTTP_MALFORMED);
    /* a fold line holding a control byte */
    ck_assert_int_eq(head_str("GET / HTTP/1.1\r\nA: b\r\n \x01\r\n\r\n", true, &m), HTTP_MALFORMED);

    /* fold abuse: thousands of continuation lines still parse within the byte limit */
    static char big[40000];
    size_t len = 0;
    len += (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nA: x\r\n");
    for (int i = 0; i < 8000; i++) {
        memcpy(big + len, " y\r\n", 4);
        len += 4;
    }
    memcpy(big + len, "\r\n", 2);
    len += 2;
    http_msg_init(&m, hdrs, HCAP);
    ck_assert_int_eq(http_parse_head((const uint8_t *)big, len, 0, true, NULL, &m), (ptrdiff_t)len);
    ck_assert_uint_eq(m.nhdrs, 1);
    ck_assert_uint_eq(http_value_unfold(m.headers[0].value.p, m.headers[0].value.len, u, 0),
                      1 + 2 * 8000);
}
END_TEST

START_TEST(test_reject)
{
    static const char *const bad_req[] = {
        "G(T / HTTP/1.1\r\n\r\n",    /* bad method token */
        " GET / HTTP/1.1\r\n\r\n",   /* leading space */
        "GET  / HTTP/1.1\r\n\r\n",   /* two spaces */
        "GET /\tx HTTP/1.1\r\n\r\n", /* HTAB in the target */
        "GET / HTTP/1.1 \r\n\r\n",   /* trailing space */
        "GET /\r\n\r\n",             /* HTTP/0.9 */
        "GET / HTTP/2.0\r\n\r\n",    /* bad version */
        "GET / HTTP/1.x\r\n\r\n",
        "GET / HTTP/11.1\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",          /* space before the colon */
        "GET / HTTP/1.1\r\nHost a\r\n\r\n",            /* no colon */
        "GET / HTTP/1.1\r\n: a\r\n\r\n",               /* empty name */
        "GET / HTTP/1.1\r\nH\x7fst: a\r\n\r\n",        /* DEL in a name */
        "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",         /* control byte in a value */
        "GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n",         /* DEL in a value */
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",           /* bare CR */
        "GET / HTTP/1.1\r\r\n\r\n",                    /* bare CR at a line end */
        "GET / HTTP/1.1\r\nX: {\"a\":1}\r\nY\r\n\r\n", /* a line without colon */
    };
    struct http_msg m;

    for (size_t i = 0; i < sizeof bad_req / sizeof bad_req[0]; i++) {
        http_msg_init(&m, hdrs, HCAP);
        ck_assert_msg(head_str(bad_req[i], true, &m) == HTTP_MALFORMED, "case %zu accepted", i);
    }
    static const char *const bad_resp[] = {
        "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1 099 X\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/2 200\r\n\r\n",     "ICY 200 OK\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad_resp / sizeof bad_resp[0]; i++) {
        http_msg_init(&m, hdrs, HCAP);
        ck_assert_msg(head_str(bad_resp[i], false, &m) == HTTP_MALFORMED, "resp %zu accepted", i);
    }

    /* NUL bytes (not expressible in a C string literal's length) */
    static const uint8_t nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    http_msg_init(&m, hdrs, HCAP);
    ck_assert_int_eq(head_check(nul, sizeof nul - 1, true, NULL, &m), HTTP_MALFORMED);
    /* a binary stream fails at its first byte instead of being buffered */
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    ck_assert_int_eq(http_parse_head(tls, 1, 0, true, NULL, &m), HTTP_MALFORMED);
    /* the request line of a response and vice versa */
    ck_assert_int_eq(head_str("HTTP/1.1 200 OK\r\n\r\n", true, &m), HTTP_MALFORMED);
    ck_assert_int_eq(head_str("GET / HTTP/1.1\r\n\r\n", false, &m), HTTP_MALFORMED);
}
END_TEST

START_TEST(test_incomplete_and_tail_rescan)
{
    struct http_msg m;
    static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = strlen(in);

    http_msg_init(&m, hdrs, HCAP);
    ck_assert_int_eq(head_str("GET / HTTP/1.1\r\nHost: a\r\n", true, &m), HTTP_INCOMPLETE);
    ck_assert_int_eq(head_str("GET / HTTP/1.1\r\nHost: a\r\n\r", true, &m), HTTP_INCOMPLETE);
    /* only the tail after prev_len - 3 is searched for the end of the block: a caller that
     * claims it already scanned everything gets no answer from old bytes (slowloris defence) */
    static char padded[128];
    memcpy(padded, in, n);
    memset(padded + n, 'x', 40);
    ck_assert_int_eq(http_parse_head((const uint8_t *)padded, n + 40, n + 40, true, NULL, &m),
                     HTTP_INCOMPLETE);
    ck_assert_int_eq(http_parse_head((const uint8_t *)padded, n + 40, n - 1, true, NULL, &m),
                     (ptrdiff_t)n);
    /* a prev_len beyond len is clamped to len */
    ck_assert_int_eq(http_parse_head((const uint8_t *)padded, n + 40, 1000, true, NULL, &m),
                     HTTP_INCOMPLETE);
    ck_assert_int_eq(http_parse_head((const uint8_t *)in, n, 1000, true, NULL, &m), (ptrdiff_t)n);
}
END_TEST

START_TEST(test_limits)
{
    static const char in[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    size_t n = strlen(in);
    struct http_limits lim;
    struct http_msg m;

    http_msg_init(&m, hdrs, HCAP);
    lim.max_header_bytes = n;
    lim.max_headers = 3;
    ck_assert_int_eq(head_check((const uint8_t *)in, n, true, &lim, &m), (ptrdiff_t)n);
    lim.max_header_bytes = n - 1;
    ck_assert_int_eq(head_check((const uint8_t *)in, n, true, &lim, &m), HTTP_TOO_LARGE);
    lim.max_header_bytes = n;
    lim.max_headers = 2;
    ck_assert_int_eq(head_check((const uint8_t *)in, n, true, &lim, &m), HTTP_TOO_LARGE);
    /* the caller's array caps too */
    struct wst_header two[2];
    http_msg_init(&m, two, 2);
    ck_assert_int_eq(http_parse_head((const uint8_t *)in, n, 0, true, NULL, &m), HTTP_TOO_LARGE);
    http_msg_init(&m, NULL, 0);
    ck_assert_int_eq(
        http_parse_head((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 0, true, NULL, &m), 18);
    ck_assert_uint_eq(m.nhdrs, 0);
    ck_assert_ptr_null(m.headers);
}
END_TEST

START_TEST(test_100k_headers)
{
    size_t cap = 16 + 100000 * 8 + 2;
    uint8_t *big = malloc(cap);
    ck_assert_ptr_nonnull(big);
    size_t len = 0;
    memcpy(big, "GET / HTTP/1.1\r\n", 16);
    len = 16;
    for (int i = 0; i < 100000; i++) {
        memcpy(big + len, "X-a: b\r\n", 8);
        len += 8;
    }
    memcpy(big + len, "\r\n", 2);
    len += 2;

    struct http_msg m;
    http_msg_init(&m, hdrs, HCAP);
    /* default byte limit: fed in 1000-byte steps, refused as soon as 64 KiB are buffered */
    ptrdiff_t r = HTTP_INCOMPLETE;
    size_t k = 0, prev = 0;
    while (r == HTTP_INCOMPLETE && k < len) {
        k = k + 1000 < len ? k + 1000 : len;
        r = http_parse_head(big, k, prev, true, NULL, &m);
        prev = k;
    }
    ck_assert_int_eq(r, HTTP_TOO_LARGE);
    ck_assert_uint_ge(k, HTTP_DEFAULT_MAX_HEADER_BYTES);
    ck_assert_uint_lt(k, HTTP_DEFAULT_MAX_HEADER_BYTES + 1000);

    /* a big byte limit: the header count limit refuses it */
    struct http_limits lim = {len, 1000};
    ck_assert_int_eq(http_parse_head(big, len, 0, true, &lim, &m), HTTP_TOO_LARGE);

    /* and with room for them all, every header is there (guarded) */
    struct wst_header *many = malloc(sizeof *many * 100000);
    ck_assert_ptr_nonnull(many);
    struct http_limits lim2 = {len, 100000};
    struct gbuf gb;
    gbuf_init(&gb, big, len);
    http_msg_init(&m, many, 100000);
    ck_assert_int_eq(http_parse_head(gbuf_place(&gb, big, len), len, 0, true, &lim2, &m),
                     (ptrdiff_t)len);
    ck_assert_uint_eq(m.nhdrs, 100000);
    ck_assert(slice_is(m.headers[99999].value, "b"));
    gbuf_free(&gb);
    free(many);
    free(big);
}
END_TEST

START_TEST(test_target_forms)
{
    struct http_msg m;

    http_msg_init(&m, hdrs, HCAP);
    ck_assert_int_gt(head_str("OPTIONS * HTTP/1.1\r\n\r\n", true, &m), 0);
    ck_assert(slice_is(m.target, "*"));
    ck_assert_int_gt(
        head_str("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", true, &m), 0);
    ck_assert(slice_is(m.method, "CONNECT"));
    ck_assert(slice_is(m.target, "example.com:443"));
    ck_assert_int_gt(head_str("GET http://a.example/x HTTP/1.0\r\n\r\n", true, &m), 0);
    ck_assert_int_eq(m.vminor, 0);
    ck_assert_int_gt(head_str("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", true, &m), 0);
    ck_assert(m.flags & HTTP_F_TARGET_8BIT);
    ck_assert_int_gt(head_str("M-SEARCH * HTTP/1.1\r\n\r\n", true, &m), 0);
    ck_assert(slice_is(m.method, "M-SEARCH"));
}
END_TEST

/* ---- token lists ---- */

static bool tl(const char *v, const char *tok)
{
    return http_token_list_has((const uint8_t *)v, strlen(v), tok);
}

START_TEST(test_token_list)
{
    ck_assert(tl("keep-alive, Upgrade", "upgrade"));
    ck_assert(tl("keep-alive, Upgrade", "KEEP-ALIVE"));
    ck_assert(tl(",, \t Upgrade ,", "upgrade"));
    ck_assert(tl("Upgrade", "upgrade"));
    ck_assert(tl("gzip, chunked;foo=bar", "chunked"));
    ck_assert(tl("keep-alive,\r\n Upgrade", "upgrade")); /* a folded value */
    ck_assert(!tl("Upgrade2", "upgrade"));
    ck_assert(!tl("xUpgrade", "upgrade"));
    ck_assert(!tl("Up grade", "upgrade"));
    ck_assert(!tl("", "upgrade"));
    ck_assert(!tl(",,,", "upgrade"));
    ck_assert(!tl("keep-alive", "keep"));

    /* every prefix of a value right before a guard page */
    static const char v[] = "keep-alive , Upgrade;x=1,";
    struct gbuf gb;
    gbuf_init(&gb, (const uint8_t *)v, sizeof v - 1);
    for (size_t k = 0; k <= sizeof v - 1; k++) {
        const uint8_t *p = gbuf_place(&gb, (const uint8_t *)v, k);
        bool has = http_token_list_has(p, k, "upgrade");
        ck_assert_int_eq(has, k >= 20);
    }
    gbuf_free(&gb);

    struct http_msg m;
    http_msg_init(&m, hdrs, HCAP);
    ck_assert_int_gt(head_str("GET / HTTP/1.1\r\nConnection: keep-alive\r\nX: 1\r\n"
                              "connection: upgrade\r\n\r\n",
                              true, &m),
                     0);
    ck_assert_uint_eq(http_header_count(&m, "Connection"), 2);
    ck_assert(http_header_has_token(&m, "Connection", "Upgrade"));
    const struct wst_header *h = http_header_find(&m, "connection");
    ck_assert(slice_is(http_header_next(&m, "connection", h)->value, "upgrade"));
    ck_assert_ptr_null(http_header_next(&m, "connection", http_header_next(&m, "connection", h)));
}
END_TEST

/* ---- sniffing ---- */

/* Every prefix under a guard page: INCOMPLETE, or the whole-input answer. */
static int sniff_check(int (*fn)(const uint8_t *, size_t), const char *s)
{
    size_t n = strlen(s);
    struct gbuf gb;

    gbuf_init(&gb, (const uint8_t *)s, n);
    int whole = fn(gbuf_place(&gb, (const uint8_t *)s, n), n);
    for (size_t k = 0; k < n; k++) {
        int r = fn(gbuf_place(&gb, (const uint8_t *)s, k), k);
        ck_assert_msg(r == HTTP_INCOMPLETE || r == whole, "%s: prefix %zu gave %d, whole %d", s, k,
                      r, whole);
    }
    gbuf_free(&gb);
    return whole;
}

START_TEST(test_sniff)
{
    int (*req)(const uint8_t *, size_t) = http_looks_like_request;
    int (*rsp)(const uint8_t *, size_t) = http_looks_like_response;

    ck_assert_int_eq(sniff_check(req, "GET / HTTP/1.1\r\n"), HTTP_SNIFF_YES);
    ck_assert_int_eq(sniff_check(req, "GET /"), HTTP_SNIFF_YES);
    ck_assert_int_eq(sniff_check(req, "OPTIONS * HTTP/1.1\r\n"), HTTP_SNIFF_YES);
    ck_assert_int_eq(sniff_check(req, "CONNECT 10.0.0.1:443 HTTP/1.1\r\n"), HTTP_SNIFF_YES);
    ck_assert_int_eq(sniff_check(req, "\r\nPOST /x HTTP/1.1\r\n"), HTTP_SNIFF_YES);
    ck_assert_int_eq(sniff_check(req, "FROB /x HTTP/1.1\r\n"), HTTP_SNIFF_YES);
    ck_assert_int_eq(sniff_check(req, "FROB /x HTTP/1.1"), HTTP_INCOMPLETE);
    ck_assert_int_eq(sniff_check(req, "FROB /x\r\n"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "FROB /x HTTP/2.0\r\n"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "GE"), HTTP_INCOMPLETE);
    ck_assert_int_eq(sniff_check(req, "GET"), HTTP_INCOMPLETE);
    ck_assert_int_eq(sniff_check(req, "get / HTTP/1.1\r\n"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "GET\t/ HTTP/1.1\r\n"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "GET \x01"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "SSH-2.0-OpenSSH_9.6 Ubuntu\r\n"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "HTTP/1.1 200 OK\r\n"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "\x16\x03\x01"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(req, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ /"), HTTP_SNIFF_NO);

    ck_assert_int_eq(sniff_check(rsp, "HTTP/1.1 200 OK\r\n"), HTTP_SNIFF_YES);
    ck_assert_int_eq(sniff_check(rsp, "\r\nHTTP/1.0 404"), HTTP_SNIFF_YES);
    ck_assert_int_eq(sniff_check(rsp, "HTTP/1"), HTTP_INCOMPLETE);
    ck_assert_int_eq(sniff_check(rsp, "HTTP/2 200\r\n"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(rsp, "HTTP/1.x"), HTTP_SNIFF_NO);
    ck_assert_int_eq(sniff_check(rsp, "GET / HTTP/1.1\r\n"), HTTP_SNIFF_NO);

    /* endless empty lines are not HTTP */
    char crlf[200];
    for (size_t i = 0; i + 1 < sizeof crlf; i += 2)
        memcpy(crlf + i, "\r\n", 2);
    ck_assert_int_eq(req((const uint8_t *)crlf, sizeof crlf), HTTP_SNIFF_NO);
    ck_assert_int_eq(rsp((const uint8_t *)crlf, sizeof crlf), HTTP_SNIFF_NO);
    ck_assert_int_eq(req((const uint8_t *)crlf, 10), HTTP_INCOMPLETE);
}
END_TEST

/* ---- body framing ---- */

/* A head (parsed from `head`) + http_body_init. */
static int body_for(const char *head, bool req, const char *method, struct http_body *b)
{
    static struct wst_header h[HCAP];
    struct http_msg m;

    http_msg_init(&m, h, HCAP);
    ptrdiff_t rc = http_parse_head((const uint8_t *)head, strlen(head), 0, req, NULL, &m);
    ck_assert_msg(rc > 0, "head did not parse: %s", head);
    return http_body_init(b, &m, req, method);
}

START_TEST(test_body_init)
{
    struct http_body b;

    ck_assert_int_eq(body_for("GET / HTTP/1.1\r\n\r\n", true, NULL, &b), 0);
    ck_assert_int_eq(b.kind, HTTP_BODY_NONE);
    ck_assert(b.done);
    ck_assert_int_eq(body_for("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", true, NULL, &b), 0);
    ck_assert_int_eq(b.kind, HTTP_BODY_LENGTH);
    ck_assert_uint_eq(b.length, 5);
    ck_assert(!b.done);
    ck_assert_int_eq(body_for("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", true, NULL, &b), 0);
    ck_assert(b.done);
    ck_assert_int_eq(
        body_for("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", true, NULL, &b), 0);
    ck_assert_int_eq(b.kind, HTTP_BODY_CHUNKED);
    ck_assert_int_eq(
        body_for("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n", true, NULL, &b), 0);
    ck_assert_int_eq(b.kind, HTTP_BODY_CHUNKED);
    ck_assert_int_eq(body_for("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n",
                              true, NULL, &b),
                     0);
    ck_assert_int_eq(b.kind, HTTP_BODY_CHUNKED);
    ck_assert_int_eq(
        body_for("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", true, NULL, &b),
        HTTP_MALFORMED);
    ck_assert_int_eq(b.kind, HTTP_BODY_INVALID);
    ck_assert_int_eq(b.err, HTTP_BODY_ERR_TE_REQUEST);
    ck_assert_ptr_nonnull(http_body_err_str(b.err));
    ck_assert_int_eq(
        body_for("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", true, NULL, &b),
        HTTP_MALFORMED);
    ck_assert_int_eq(b.err, HTTP_BODY_ERR_TE_TWICE);
    /* TE + CL: TE wins, flagged (request smuggling indicator) */
    ck_assert_int_eq(body_for("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n",
                              true, NULL, &b),
                     0);
    ck_assert_int_eq(b.kind, HTTP_BODY_CHUNKED);
    ck_assert(b.flags & HTTP_BODY_F_TE_AND_CL);
    ck_assert_int_eq(
        body_for("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", true, NULL, &b), 0);
    ck_assert(b.flags & HTTP_BODY_F_TE_HTTP10);

    /* Content-Length variants */
    ck_assert_int_eq(body_for("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", true, NULL, &b),
                     0);
    ck_assert_uint_eq(b.length, 5);
    ck_assert(b.flags & HTTP_BODY_F_CL_REPEATED);
    ck_assert_int_eq(body_for("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                              true, NULL, &b),
                     HTTP_MALFORMED);
    ck_assert_int_eq(b.err, HTTP_BODY_ERR_CL_CONFLICT);
    static const char *const bad_cl[] = {
        "abc", "-1", "+5", "5 5", "0x10", "", "99999999999999999999", "9223372036854775808", "5;x"};
    for (size_t i = 0; i < sizeof bad_cl / sizeof bad_cl[0]; i++) {
        char head[128];
        snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n", bad_cl[i]);
        ck_assert_msg(body_for(head, false, "GET", &b) == HTTP_MALFORMED, "CL '%s'", bad_cl[i]);
        ck_assert_int_eq(b.err, HTTP_BODY_ERR_CL_INVALID);
    }
    ck_assert_int_eq(body_for("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n",
                              false, "GET", &b),
                     0);
    ck_assert_uint_eq(b.length, 9223372036854775807ull);

    /* responses */
    ck_assert_int_eq(body_for("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", false, "HEAD", &b),
                     0);
    ck_assert_int_eq(b.kind, HTTP_BODY_NONE);
    static const int none_status[] = {100, 103, 204, 304};
    for (size_t i = 0; i < 4; i++) {
        char head[128];
        snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n", none_status[i]);
        ck_assert_int_eq(body_for(head, false, "GET", &b), 0);
        ck_assert_int_eq(b.kind, HTTP_BODY_NONE);
        ck_assert(b.done);
    }
    ck_assert_int_eq(body_for("HTTP/1.1 101 Switching Protocols\r\n\r\n", false, "GET", &b), 0);
    ck_assert_int_eq(b.kind, HTTP_BODY_UPGRADE);
    ck_assert(b.done);
    ck_assert_int_eq(body_for("HTTP/1.1 200 Connection established\r\n\r\n", false, "CONNECT", &b),
                     0);
    ck_assert_int_eq(b.kind, HTTP_BODY_TUNNEL);
    ck_assert_int_eq(
        body_for("HTTP/1.1 407 Auth\r\nContent-Length: 4\r\n\r\n", false, "CONNECT", &b), 0);
    ck_assert_int_eq(b.kind, HTTP_BODY_LENGTH);
    ck_assert_int_eq(body_for("HTTP/1.1 200 OK\r\n\r\n", false, NULL, &b), 0);
    ck_assert_int_eq(b.kind, HTTP_BODY_UNTIL_CLOSE);
    ck_assert(!b.done);
    ck_assert_int_eq(
        body_for("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, "GET", &b), 0);
    ck_assert_int_eq(b.kind, HTTP_BODY_UNTIL_CLOSE);
    ck_assert(http_status_interim(100));
    ck_assert(!http_status_interim(101));
    ck_assert(!http_status_interim(200));
    ck_assert_str_eq(http_body_kind_name(HTTP_BODY_CHUNKED), "chunked");
}
END_TEST

struct body_res {
    ptrdiff_t rc; /* total consumed, or HTTP_MALFORMED */
    bool done;
    enum http_body_err err;
    uint64_t decoded, nchunks;
    uint32_t ntrailers;
    unsigned flags;
    size_t prefix_len;
    uint8_t prefix[HTTP_BODY_PREFIX];
};

/* Feed pieces [0,k) then [k,n), each guarded, stopping at done or an error. */
static void body_run(const char *head, bool req, const uint8_t *in, size_t n, size_t k,
                     struct gbuf *gb, struct body_res *res)
{
    struct http_body b;
    size_t total = 0;
    bool done = false;

    memset(res, 0, sizeof *res);
    body_for(head, req, "GET", &b);
    size_t cuts[3] = {0, k, n};
    for (int i = 0; i < 2 && !done; i++) {
        size_t len = cuts[i + 1] - cuts[i];
        const uint8_t *p = gbuf_place(gb, in + cuts[i], len);
        ptrdiff_t r = http_body_feed(&b, p, len, &done);
        if (r < 0) {
            res->rc = r;
            break;
        }
        ck_assert_uint_le((size_t)r, len);
        if (!done)
            ck_assert_uint_eq((size_t)r, len);
        total += (size_t)r;
        res->rc = (ptrdiff_t)total;
    }
    res->done = done;
    res->err = b.err;
    res->decoded = b.decoded;
    res->nchunks = b.nchunks;
    res->ntrailers = b.ntrailers;
    res->flags = b.flags;
    res->prefix_len = b.prefix_len;
    memcpy(res->prefix, b.prefix, b.prefix_len);
    if (res->rc >= 0)
        ck_assert_uint_eq(b.wire, (uint64_t)res->rc);
}

/* One byte per call. */
static void body_bytewise(const char *head, bool req, const uint8_t *in, size_t n, struct gbuf *gb,
                          struct body_res *res)
{
    struct http_body b;
    bool done = false;
    size_t i;

    memset(res, 0, sizeof *res);
    body_for(head, req, "GET", &b);
    for (i = 0; i < n && !done; i++) {
        ptrdiff_t r = http_body_feed(&b, gbuf_place(gb, in + i, 1), 1, &done);
        if (r < 0) {
            res->rc = r;
            break;
        }
        ck_assert_int_eq(r, 1);
        res->rc = (ptrdiff_t)(i + 1);
    }
    res->done = done;
    res->err = b.err;
    res->decoded = b.decoded;
    res->nchunks = b.nchunks;
    res->ntrailers = b.ntrailers;
    res->flags = b.flags;
    res->prefix_len = b.prefix_len;
    memcpy(res->prefix, b.prefix, b.prefix_len);
}

static void res_eq(const struct body_res *a, const struct body_res *b, size_t k)
{
    ck_assert_msg(a->rc == b->rc, "split %zu: consumed %td vs %td", k, a->rc, b->rc);
    ck_assert_int_eq(a->done, b->done);
    ck_assert_int_eq(a->err, b->err);
    ck_assert_uint_eq(a->decoded, b->decoded);
    ck_assert_uint_eq(a->nchunks, b->nchunks);
    ck_assert_uint_eq(a->ntrailers, b->ntrailers);
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert_uint_eq(a->prefix_len, b->prefix_len);
    ck_assert_mem_eq(a->prefix, b->prefix, a->prefix_len);
}

/* The whole body in one call, at every split point, and one byte at a time: same result. */
static void body_check(const char *head, bool req, const uint8_t *in, size_t n,
                       struct body_res *whole)
{
    struct body_res r;
    struct gbuf gb;

    gbuf_init(&gb, in, n);
    body_run(head, req, in, n, n, &gb, whole);
    for (size_t k = 0; k < n; k++) {
        body_run(head, req, in, n, k, &gb, &r);
        res_eq(&r, whole, k);
    }
    body_bytewise(head, req, in, n, &gb, &r);
    res_eq(&r, whole, 1);
    gbuf_free(&gb);
}

static const char chunked_req[] = "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
static const char chunked_rsp[] = "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n";

static void chunked_str(const char *body, struct body_res *res)
{
    body_check(chunked_req, true, (const uint8_t *)body, strlen(body), res);
}

START_TEST(test_body_length)
{
    static const char body[] = "hello worldGET / HTTP/1.1\r\n";
    struct body_res r;

    body_check("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", true, (const uint8_t *)body,
               strlen(body), &r);
    ck_assert_int_eq(r.rc, 11);
    ck_assert(r.done);
    ck_assert_uint_eq(r.decoded, 11);
    ck_assert_mem_eq(r.prefix, "hello world", 11);

    /* the prefix keeps the first 256 bytes only */
    static uint8_t big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)('a' + i % 26);
    body_check("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false, big, sizeof big, &r);
    ck_assert_int_eq(r.rc, 1000);
    ck_assert(r.done);
    ck_assert_uint_eq(r.prefix_len, HTTP_BODY_PREFIX);
    ck_assert_mem_eq(r.prefix, big, HTTP_BODY_PREFIX);

    /* a huge Content-Length consumes what comes and is never done; the end of the stream
     * reports it as cut */
    struct http_body b;
    bool done;
    ck_assert_int_eq(body_for("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n",
                              false, "GET", &b),
                     0);
    ck_assert_int_eq(http_body_feed(&b, big, sizeof big, &done), (ptrdiff_t)sizeof big);
    ck_assert(!done);
    ck_assert_uint_eq(b.remaining, 9223372036854775807ull - 1000);
    ck_assert_int_eq(http_body_end_of_stream(&b), HTTP_INCOMPLETE);
    ck_assert_int_eq(b.err, HTTP_BODY_ERR_TRUNCATED);

    /* until close */
    ck_assert_int_eq(body_for("HTTP/1.0 200 OK\r\n\r\n", false, "GET", &b), 0);
    ck_assert_int_eq(http_body_feed(&b, big, 300, &done), 300);
    ck_assert(!done);
    ck_assert_int_eq(http_body_end_of_stream(&b), 0);
    ck_assert(b.done);
    ck_assert_uint_eq(b.decoded, 300);
    ck_assert_int_eq(http_body_feed(&b, big, 300, &done), 0);
    ck_assert(done);

    /* no body: nothing consumed */
    ck_assert_int_eq(body_for("HTTP/1.1 204 No Content\r\n\r\n", false, "GET", &b), 0);
    ck_assert_int_eq(http_body_feed(&b, big, 10, &done), 0);
    ck_assert(done);
    ck_assert_int_eq(http_body_end_of_stream(&b), 0);

    /* an invalid framing refuses bytes */
    ck_assert_int_eq(body_for("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", true, NULL, &b),
                     HTTP_MALFORMED);
    ck_assert_int_eq(http_body_feed(&b, big, 10, &done), HTTP_MALFORMED);
    ck_assert_int_eq(http_body_end_of_stream(&b), HTTP_MALFORMED);
}
END_TEST

START_TEST(test_body_chunked)
{
    struct body_res r;

    chunked_str("4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\nGET /next", &r);
    ck_assert_int_eq(r.rc, (ptrdiff_t)strlen("4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks."
                                             "\r\n0\r\n\r\n"));
    ck_assert(r.done);
    ck_assert_int_eq(r.err, HTTP_BODY_OK);
    ck_assert_uint_eq(r.decoded, 23);
    ck_assert_uint_eq(r.nchunks, 3);
    ck_assert_mem_eq(r.prefix, "Wikipedia in\r\n\r\nchunks.", 23);
    ck_assert_uint_eq(r.flags, 0);

    /* extensions, trailers, upper-case hex, leading zeros */
    chunked_str("0005;name=val;q=\"x y\"\r\nhello\r\n00A\r\n0123456789\r\n0\r\n"
                "X-Trailer: 1\r\nY: 2\r\n\r\n",
                &r);
    ck_assert(r.done);
    ck_assert_uint_eq(r.decoded, 15);
    ck_assert_uint_eq(r.ntrailers, 2);
    ck_assert(r.flags & HTTP_BODY_F_CHUNK_EXT);
    ck_assert_mem_eq(r.prefix, "hello0123456789", 15);

    /* bare LF everywhere, BWS before the extension */
    chunked_str("3 ;x\nabc\n0\nT: 1\n\n", &r);
    ck_assert(r.done);
    ck_assert_uint_eq(r.decoded, 3);
    ck_assert(r.flags & HTTP_BODY_F_BARE_LF);

    /* the largest size is fine (and then simply never completes) */
    chunked_str("7fffffffffffffff\r\nabc", &r);
    ck_assert(!r.done);
    ck_assert_int_eq(r.rc, 21);
    ck_assert_uint_eq(r.decoded, 3);
}
END_TEST

START_TEST(test_body_chunked_hostile)
{
    static const struct {
        const char *in;
        enum http_body_err err;
    } bad[] = {
        {"ffffffffffffffffff\r\n", HTTP_BODY_ERR_CHUNK_OVERFLOW},
        {"8000000000000000\r\n", HTTP_BODY_ERR_CHUNK_OVERFLOW},
        {"zz\r\n", HTTP_BODY_ERR_CHUNK_SIZE},
        {"\r\n", HTTP_BODY_ERR_CHUNK_SIZE},
        {" 5\r\nhello\r\n", HTTP_BODY_ERR_CHUNK_SIZE},
        {"5 x\r\nhello\r\n", HTTP_BODY_ERR_CHUNK_SIZE},
        {"-5\r\n", HTTP_BODY_ERR_CHUNK_SIZE},
        {"3\r\nabcX\r\n", HTTP_BODY_ERR_CHUNK_SYNTAX},
        {"3\r\nabc\rX", HTTP_BODY_ERR_CHUNK_SYNTAX},
        {"3\rX", HTTP_BODY_ERR_CHUNK_SYNTAX},
        {"3;a\x01\r\n", HTTP_BODY_ERR_CHUNK_SYNTAX},
        {"0\r\n\rX", HTTP_BODY_ERR_CHUNK_SYNTAX},
        {"0\r\n:bad\r\n\r\n", HTTP_BODY_ERR_TRAILER},
        {"0\r\nX: a\x02\r\n\r\n", HTTP_BODY_ERR_TRAILER},
        {"0\r\nX: a\rb\r\n\r\n", HTTP_BODY_ERR_TRAILER},
    };
    struct body_res r;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        chunked_str(bad[i].in, &r);
        ck_assert_msg(r.rc == HTTP_MALFORMED, "case %zu accepted", i);
        ck_assert_msg(r.err == bad[i].err, "case %zu: err %d", i, r.err);
        ck_assert(!r.done);
        ck_assert_ptr_nonnull(http_body_err_str(r.err));
    }

    /* NUL inside chunk data is data, not an error */
    static const uint8_t nul[] = "3\r\na\0b\r\n0\r\n\r\n";
    body_check(chunked_rsp, false, nul, sizeof nul - 1, &r);
    ck_assert(r.done);
    ck_assert_mem_eq(r.prefix, "a\0b", 3);

    /* endless leading zeros / extensions hit the line cap */
    static char longline[HTTP_CHUNK_LINE_MAX + 100];
    memset(longline, '0', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    chunked_str(longline, &r);
    ck_assert_int_eq(r.rc, HTTP_MALFORMED);
    ck_assert_int_eq(r.err, HTTP_BODY_ERR_CHUNK_LINE);
    memset(longline, 'e', sizeof longline - 1);
    memcpy(longline, "1;", 2);
    chunked_str(longline, &r);
    ck_assert_int_eq(r.err, HTTP_BODY_ERR_CHUNK_LINE);

    /* an endless trailer section hits the trailer cap */
    size_t tl = 3 + HTTP_TRAILER_MAX + 100;
    char *trailer = malloc(tl + 1);
    ck_assert_ptr_nonnull(trailer);
    memcpy(trailer, "0\r\n", 3);
    for (size_t i = 3; i < tl; i += 8)
        memcpy(trailer + i, "X: abc\r\n", tl - i < 8 ? tl - i : 8);
    trailer[tl] = '\0';
    struct http_body b;
    bool done;
    body_for(chunked_req, true, NULL, &b);
    ck_assert_int_eq(http_body_feed(&b, (const uint8_t *)trailer, tl, &done), HTTP_MALFORMED);
    ck_assert_int_eq(b.err, HTTP_BODY_ERR_TRAILER);
    free(trailer);

    /* a cut chunked body */
    body_for(chunked_req, true, NULL, &b);
    ck_assert_int_eq(http_body_feed(&b, (const uint8_t *)"5\r\nhel", 6, &done), 6);
    ck_assert_int_eq(http_body_end_of_stream(&b), HTTP_INCOMPLETE);
    ck_assert_int_eq(b.err, HTTP_BODY_ERR_TRUNCATED);
    /* an error is sticky */
    body_for(chunked_req, true, NULL, &b);
    ck_assert_int_eq(http_body_feed(&b, (const uint8_t *)"x", 1, &done), HTTP_MALFORMED);
    ck_assert_int_eq(http_body_feed(&b, (const uint8_t *)"0\r\n\r\n", 5, &done), HTTP_MALFORMED);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_request_basic);
    tcase_add_test(tc, test_response_basic);
    tcase_add_test(tc, test_bare_lf_and_leading_lines);
    tcase_add_test(tc, test_obs_fold);
    tcase_add_test(tc, test_reject);
    tcase_add_test(tc, test_incomplete_and_tail_rescan);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_100k_headers);
    tcase_add_test(tc, test_target_forms);
    tcase_add_test(tc, test_token_list);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_body_init);
    tcase_add_test(tc, test_body_length);
    tcase_add_test(tc, test_body_chunked);
    tcase_add_test(tc, test_body_chunked_hostile);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(http_suite());
}
