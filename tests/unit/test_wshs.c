/* test_wshs.c - WebSocket handshake helpers: accept key, extension negotiation, versions. */
#include <string.h>

#include "gbuf.h"
#include "util.h"
#include "wshs.h"

#define S(x) (const uint8_t *)(x), strlen(x)

static bool slice_is(struct wst_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

/* Run fn on every prefix of s placed right before a PROT_NONE page (crash = over-read). */
static void guard_prefixes(const char *s, void (*fn)(const uint8_t *, size_t))
{
    size_t n = strlen(s);
    struct gbuf gb;

    gbuf_init(&gb, (const uint8_t *)s, n);
    for (size_t k = 0; k <= n; k++)
        fn(gbuf_place(&gb, (const uint8_t *)s, k), k);
    gbuf_free(&gb);
}

START_TEST(test_accept_rfc6455)
{
    char out[WSHS_ACCEPT_LEN + 1];

    /* RFC 6455 section 1.3 */
    ck_assert_int_eq(wshs_accept(S("dGhlIHNhbXBsZSBub25jZQ=="), out), 0);
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ck_assert(wshs_accept_ok(S("dGhlIHNhbXBsZSBub25jZQ=="), S("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")));
    ck_assert(!wshs_accept_ok(S("dGhlIHNhbXBsZSBub25jZQ=="), S("s3pPLMBiTxaQ9kYGzzhZRbK+xOO=")));
    ck_assert(!wshs_accept_ok(S("dGhlIHNhbXBsZSBub25jZQ=="), S("s3pPLMBiTxaQ9kYGzzhZRbK+xOo")));
    ck_assert(!wshs_accept_ok(S("dGhlIHNhbXBsZSBub25jZQ=="), S("")));
    ck_assert(!wshs_accept_ok(S("dGhlIHNhbXBsZSBub25jZQ=x"), S("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")));

    /* a second known pair (computed independently with Python's hashlib/base64) */
    ck_assert_int_eq(wshs_accept(S("x3JJHMbDL1EzLkh9GBhXDw=="), out), 0);
    ck_assert_str_eq(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");

    /* an empty key still hashes (the server may answer anything); a huge one is refused */
    ck_assert_int_eq(wshs_accept((const uint8_t *)"", 0, out), 0);
    ck_assert_uint_eq(strlen(out), WSHS_ACCEPT_LEN);
    static uint8_t huge[WSHS_KEY_MAX + 1];
    memset(huge, 'A', sizeof huge);
    ck_assert_int_eq(wshs_accept(huge, WSHS_KEY_MAX, out), 0);
    ck_assert_int_eq(wshs_accept(huge, sizeof huge, out), -1);
    ck_assert_str_eq(out, "");
    ck_assert(!wshs_accept_ok(huge, sizeof huge, S("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")));
}
END_TEST

static void fn_key(const uint8_t *p, size_t n)
{
    char out[WSHS_ACCEPT_LEN + 1];
    ck_assert_int_eq(wshs_key_valid(p, n), n == 24);
    ck_assert_int_eq(wshs_accept(p, n, out), 0);
    ck_assert(!wshs_accept_ok(p, n, p, n));
}

START_TEST(test_key_valid)
{
    ck_assert(wshs_key_valid(S("dGhlIHNhbXBsZSBub25jZQ==")));
    ck_assert(wshs_key_valid(S("AAAAAAAAAAAAAAAAAAAAAA==")));
    ck_assert(wshs_key_valid(S("+/+/+/+/+/+/+/+/+/+/+w==")));
    ck_assert(!wshs_key_valid(S("")));
    ck_assert(!wshs_key_valid(S("dGhlIHNhbXBsZSBub25jZQ=")));  /* 23 chars */
    ck_assert(!wshs_key_valid(S("dGhlIHNhbXBsZSBub25jZQ")));   /* no padding */
    ck_assert(!wshs_key_valid(S("dGhlIHNhbXBsZSBub25jZ==="))); /* 15 bytes */
    ck_assert(!wshs_key_valid(S("dGhlIHNhbXBsZSBub25jZQ=A")));
    ck_assert(!wshs_key_valid(S("not-base64")));               /* upg-bad-key's key */
    ck_assert(!wshs_key_valid(S("dGhlIHNhbXBsZSBub25j!Q=="))); /* not a base64 letter */
    ck_assert(!wshs_key_valid(S("dGhlIHNhbXBsZSBub25j*Q==")));
    ck_assert(!wshs_key_valid(S("dGhlIHNhbXBsZSBub25jZQ== ")));
    ck_assert(!wshs_key_valid(S("AAAAAAAAAAAAAAAAAAAAAAAAAAA=")));                /* 20 bytes */
    ck_assert(!wshs_key_valid((const uint8_t *)"dGhlIHNhbXBsZSB\0b25jZQ==", 24)); /* NUL */
    guard_prefixes("dGhlIHNhbXBsZSBub25jZQ==", fn_key);
}
END_TEST

/* ---- extensions ---- */

static struct ws_ext exts[16];

static int ext_parse(const char *v, size_t *n)
{
    *n = 0;
    return wshs_ext_parse(S(v), exts, 16, n);
}

static bool pval_is(const struct ws_ext_param *p, const char *want)
{
    uint8_t buf[64];
    size_t n = wshs_param_value(p, buf, sizeof buf);
    return n == strlen(want) && memcmp(buf, want, n) == 0;
}

START_TEST(test_ext_parse_rfc7692_examples)
{
    size_t n;

    /* RFC 7692 section 5 examples of the extension negotiation syntax */
    ck_assert_int_eq(ext_parse("permessage-foo", &n), WSHS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert(slice_is(exts[0].name, "permessage-foo"));
    ck_assert_uint_eq(exts[0].nparams, 0);

    ck_assert_int_eq(ext_parse("permessage-foo; x=10", &n), WSHS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(exts[0].nparams, 1);
    ck_assert(slice_is(exts[0].params[0].name, "x"));
    ck_assert(exts[0].params[0].has_value);
    ck_assert(!exts[0].params[0].quoted);
    ck_assert(pval_is(&exts[0].params[0], "10"));

    ck_assert_int_eq(ext_parse("permessage-foo; x=\"10\"", &n), WSHS_OK);
    ck_assert(exts[0].params[0].quoted);
    ck_assert(pval_is(&exts[0].params[0], "10"));

    ck_assert_int_eq(ext_parse("permessage-foo, permessage-bar", &n), WSHS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(slice_is(exts[1].name, "permessage-bar"));

    ck_assert_int_eq(ext_parse("permessage-foo; use_y, permessage-foo", &n), WSHS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(exts[0].nparams, 1);
    ck_assert(slice_is(exts[0].params[0].name, "use_y"));
    ck_assert(!exts[0].params[0].has_value);
    ck_assert_uint_eq(exts[1].nparams, 0);

    /* RFC 7692 section 7.1.3: an offer with a fallback */
    ck_assert_int_eq(ext_parse("permessage-deflate; client_max_window_bits; "
                               "server_max_window_bits=10, permessage-deflate; "
                               "client_max_window_bits",
                               &n),
                     WSHS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(exts[0].nparams, 2);
    ck_assert(slice_is(exts[0].params[1].name, "server_max_window_bits"));
    ck_assert(pval_is(&exts[0].params[1], "10"));
    ck_assert_uint_eq(exts[1].nparams, 1);
}
END_TEST

START_TEST(test_ext_parse_syntax)
{
    size_t n;

    /* blanks around separators, empty elements, escapes, folded line breaks */
    ck_assert_int_eq(ext_parse(" ,, foo ; a = 1 ;b;c=\"\\x\\y\" ,\r\n bar ,", &n), WSHS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(exts[0].nparams, 3);
    ck_assert(pval_is(&exts[0].params[0], "1"));
    ck_assert(!exts[0].params[1].has_value);
    ck_assert(pval_is(&exts[0].params[2], "xy"));
    ck_assert(slice_is(exts[1].name, "bar"));
    ck_assert_int_eq(ext_parse("", &n), WSHS_OK);
    ck_assert_uint_eq(n, 0);

    static const char *const bad[] = {
        "foo junk",       "foo; =1",     "; foo",        "foo;",         "foo; x=",
        "foo; x=\"a b\"", "foo; x=\"\"", "foo; x=\"10",  "foo; x=\"1\\", "foo; x=a b",
        "foo; x=??",      "fo\"o",       "foo bar, baz", "foo;; x",      "foo; x=1=2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(ext_parse(bad[i], &n) == WSHS_MALFORMED, "'%s' accepted", bad[i]);

    /* a bad element keeps what came before it */
    ck_assert_int_eq(ext_parse("a, b, c d", &n), WSHS_MALFORMED);
    ck_assert_uint_eq(n, 2);

    /* caps: extensions and parameters */
    struct ws_ext two[2];
    n = 0;
    ck_assert_int_eq(wshs_ext_parse(S("a, b, c"), two, 2, &n), WSHS_TOO_MANY);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ext_parse("a; p1; p2; p3; p4; p5; p6; p7; p8", &n), WSHS_OK);
    ck_assert_uint_eq(exts[0].nparams, 8);
    ck_assert_int_eq(ext_parse("a; p1; p2; p3; p4; p5; p6; p7; p8; p9", &n), WSHS_TOO_MANY);
    ck_assert_uint_eq(n, 0);

    /* several header lines append */
    n = 0;
    ck_assert_int_eq(wshs_ext_parse(S("permessage-deflate"), exts, 16, &n), WSHS_OK);
    ck_assert_int_eq(wshs_ext_parse(S("x-webkit-deflate-frame; no_context_takeover"), exts, 16, &n),
                     WSHS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_eq(wshs_ext_find(exts, n, "X-WEBKIT-DEFLATE-FRAME"), &exts[1]);
    ck_assert_ptr_null(wshs_ext_find(exts, n, "deflate-frame"));
}
END_TEST

static void fn_ext(const uint8_t *p, size_t len)
{
    struct ws_ext e[4];
    size_t n = 0;
    int rc = wshs_ext_parse(p, len, e, 4, &n);
    ck_assert(rc == WSHS_OK || rc == WSHS_MALFORMED);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < e[i].nparams; j++) {
            uint8_t v[16];
            wshs_param_value(&e[i].params[j], v, sizeof v);
        }
    }
}

START_TEST(test_ext_guard)
{
    guard_prefixes("permessage-deflate; client_max_window_bits; server_max_window_bits=\"1\\0\", "
                   "permessage-deflate ;a=b",
                   fn_ext);
    guard_prefixes("foo; x=\"\\", fn_ext);
    /* prefixes of the RFC example: a complete element, then a dangling ';' */
    static const char v[] = "permessage-foo; use_y, permessage-foo";
    size_t n;
    n = 0;
    ck_assert_int_eq(wshs_ext_parse((const uint8_t *)v, 14, exts, 16, &n), WSHS_OK);
    ck_assert_uint_eq(n, 1);
    n = 0;
    ck_assert_int_eq(wshs_ext_parse((const uint8_t *)v, 16, exts, 16, &n), WSHS_MALFORMED);
    ck_assert_uint_eq(n, 0);
}
END_TEST

static void pmd(const char *v, bool offer, struct pmd_params *p)
{
    size_t n;
    ck_assert_int_eq(ext_parse(v, &n), WSHS_OK);
    ck_assert_uint_eq(n, 1);
    wshs_pmd_params(&exts[0], offer, p);
}

START_TEST(test_pmd_params)
{
    struct pmd_params p;

    pmd("permessage-deflate", true, &p);
    ck_assert(p.valid);
    ck_assert_ptr_null(p.why);
    ck_assert_int_eq(p.server_max_window_bits, 15);
    ck_assert_int_eq(p.client_max_window_bits, 15);
    ck_assert(!p.server_no_context_takeover);
    ck_assert(!p.client_max_window_bits_given);

    pmd("permessage-deflate; client_max_window_bits", true, &p);
    ck_assert(p.valid);
    ck_assert(p.client_max_window_bits_given);
    ck_assert_int_eq(p.client_max_window_bits, PMD_BITS_NO_VALUE);
    pmd("permessage-deflate; client_max_window_bits", false, &p);
    ck_assert(!p.valid);
    ck_assert_ptr_nonnull(p.why);

    pmd("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=8; client_max_window_bits=\"12\"",
        false, &p);
    ck_assert(p.valid);
    ck_assert(p.server_no_context_takeover);
    ck_assert(p.client_no_context_takeover);
    ck_assert_int_eq(p.server_max_window_bits, 8);
    ck_assert_int_eq(p.client_max_window_bits, 12);
    ck_assert(p.server_max_window_bits_given);

    static const char *const bad[] = {
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=1",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11",
        "permessage-deflate; mux",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pmd(bad[i], true, &p);
        ck_assert_msg(!p.valid, "'%s' valid", bad[i]);
        ck_assert_ptr_nonnull(p.why);
    }
}
END_TEST

static const char *nego(const char *offer, const char *resp)
{
    static struct ws_ext off[8], rsp[8];
    size_t no = 0, nr = 0;

    ck_assert_int_eq(wshs_ext_parse(S(offer), off, 8, &no), WSHS_OK);
    ck_assert_int_eq(wshs_ext_parse(S(resp), rsp, 8, &nr), WSHS_OK);
    return wshs_negotiation_check(off, no, rsp, nr);
}

START_TEST(test_negotiation)
{
    static const char *fallback = "permessage-deflate; client_max_window_bits; "
                                  "server_max_window_bits=10, permessage-deflate; "
                                  "client_max_window_bits";

    /* RFC 7692 section 7.1.3: responses the fallback offer allows */
    ck_assert_ptr_null(nego(fallback, "permessage-deflate; server_max_window_bits=10"));
    ck_assert_ptr_null(nego(fallback, "permessage-deflate; server_max_window_bits=8; "
                                      "client_max_window_bits=9"));
    ck_assert_ptr_null(nego(fallback, "permessage-deflate")); /* the second offer */
    ck_assert_ptr_null(nego(fallback, "permessage-deflate; client_max_window_bits=15"));
    ck_assert_ptr_null(nego(fallback, ""));
    ck_assert_ptr_null(
        nego("permessage-deflate", "permessage-deflate; server_no_context_takeover"));
    ck_assert_ptr_null(
        nego("permessage-deflate", "permessage-deflate; client_no_context_takeover"));
    ck_assert_ptr_null(nego("permessage-deflate", "permessage-deflate; server_max_window_bits=12"));
    ck_assert_ptr_null(nego("permessage-deflate; client_max_window_bits=12",
                            "permessage-deflate; client_max_window_bits=10"));

    /* client_max_window_bits only if offered, and not above the offered value */
    const char *why = nego("permessage-deflate", "permessage-deflate; client_max_window_bits=10");
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "client_max_window_bits"));
    ck_assert_ptr_nonnull(nego("permessage-deflate; client_max_window_bits=10",
                               "permessage-deflate; client_max_window_bits=12"));
    /* a limited server window must be confirmed, and not raised */
    ck_assert_ptr_nonnull(
        nego("permessage-deflate; server_max_window_bits=10", "permessage-deflate"));
    ck_assert_ptr_nonnull(nego("permessage-deflate; server_max_window_bits=10",
                               "permessage-deflate; server_max_window_bits=11"));
    ck_assert_ptr_nonnull(
        nego("permessage-deflate; server_no_context_takeover", "permessage-deflate"));
    /* not offered at all; invalid response; twice; offers all invalid */
    ck_assert_ptr_nonnull(nego("permessage-deflate", "permessage-bar"));
    ck_assert_ptr_nonnull(nego("", "permessage-deflate"));
    ck_assert_ptr_nonnull(nego("permessage-deflate", "permessage-deflate; foo=1"));
    ck_assert_ptr_nonnull(nego("permessage-deflate", "permessage-deflate; client_max_window_bits"));
    ck_assert_ptr_nonnull(
        nego("permessage-deflate, permessage-deflate", "permessage-deflate, permessage-deflate"));
    ck_assert_ptr_nonnull(
        nego("permessage-deflate; server_max_window_bits=99", "permessage-deflate"));
    /* two compression extensions at once */
    ck_assert_ptr_nonnull(nego("permessage-deflate, x-webkit-deflate-frame",
                               "permessage-deflate, x-webkit-deflate-frame"));
    /* per-frame compression, names only; case-insensitive names */
    ck_assert_ptr_null(nego("x-webkit-deflate-frame", "X-WebKit-Deflate-Frame"));
    ck_assert_ptr_null(nego("deflate-frame; max_window_bits=10", "deflate-frame"));
    ck_assert_ptr_null(nego("permessage-foo; x=1, permessage-deflate", "permessage-foo; y=2"));
}
END_TEST

START_TEST(test_compression)
{
    size_t n;

    ck_assert_int_eq(ext_parse("permessage-deflate; server_no_context_takeover", &n), WSHS_OK);
    ck_assert_int_eq(wshs_compression(exts, n), WST_COMP_PMD);
    ck_assert_int_eq(ext_parse("x-webkit-deflate-frame", &n), WSHS_OK);
    ck_assert_int_eq(wshs_compression(exts, n), WST_COMP_DEFLATE_FRAME);
    ck_assert_int_eq(ext_parse("foo, deflate-frame", &n), WSHS_OK);
    ck_assert_int_eq(wshs_compression(exts, n), WST_COMP_DEFLATE_FRAME);
    ck_assert_int_eq(ext_parse("permessage-deflatex, deflate-stream", &n), WSHS_OK);
    ck_assert_int_eq(wshs_compression(exts, n), WST_COMP_NONE);
    ck_assert_int_eq(wshs_compression(exts, 0), WST_COMP_NONE);
}
END_TEST

/* ---- versions ---- */

static void fn_ver(const uint8_t *p, size_t len)
{
    int v[4];
    size_t n = 0;
    int rc = wshs_versions_parse(p, len, v, 4, &n);
    ck_assert(rc == WSHS_OK || rc == WSHS_MALFORMED);
    wshs_version_is_13(p, len);
}

START_TEST(test_versions)
{
    int v[4];
    size_t n = 0;

    ck_assert_int_eq(wshs_versions_parse(S("13, 8, 7"), v, 4, &n), WSHS_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(v[0], 13);
    ck_assert_int_eq(v[1], 8);
    ck_assert_int_eq(v[2], 7);
    /* a second header line appends */
    ck_assert_int_eq(wshs_versions_parse(S(" 0 "), v, 4, &n), WSHS_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(v[3], 0);
    ck_assert_int_eq(wshs_versions_parse(S("255"), v, 4, &n), WSHS_TOO_MANY);
    n = 0;
    ck_assert_int_eq(wshs_versions_parse(S("255,,"), v, 4, &n), WSHS_OK);
    ck_assert_int_eq(v[0], 255);
    static const char *const bad[] = {"013", "256", "1000", "13 8", "13;", "x", "-1", "1 3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 0;
        ck_assert_msg(wshs_versions_parse(S(bad[i]), v, 4, &n) == WSHS_MALFORMED, "'%s'", bad[i]);
    }
    ck_assert(wshs_version_is_13(S("13")));
    ck_assert(wshs_version_is_13(S(" 13 ")));
    ck_assert(!wshs_version_is_13(S("8")));
    ck_assert(!wshs_version_is_13(S("13, 8")));
    ck_assert(!wshs_version_is_13(S("13a")));
    ck_assert(!wshs_version_is_13(S("")));
    ck_assert(!wshs_version_is_13(S("013")));
    guard_prefixes("13, 8, 255 ,7", fn_ver);
}
END_TEST

static Suite *wshs_suite(void)
{
    Suite *s = suite_create("wshs");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_accept_rfc6455);
    tcase_add_test(tc, test_key_valid);
    tcase_add_test(tc, test_ext_parse_rfc7692_examples);
    tcase_add_test(tc, test_ext_parse_syntax);
    tcase_add_test(tc, test_ext_guard);
    tcase_add_test(tc, test_pmd_params);
    tcase_add_test(tc, test_negotiation);
    tcase_add_test(tc, test_compression);
    tcase_add_test(tc, test_versions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(wshs_suite());
}
