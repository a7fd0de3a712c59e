/* test_tlsapp.c - the TLS layer between the TCP streams and the application dispatcher: hello
 * parsing (every truncation), stream offsets to packets, and RFC 8448's session through the
 * analyzer API with the server's stream cut at every byte. */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"
#include "keylog.h"
#include "pktbuild.h"
#include "rfc8448.h"
#include "tlsapp.h"
#include "util.h"

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hex digits to bytes; spaces between bytes are skipped. */
static size_t hexd(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s && n < cap) {
        if (hexv(s[0]) < 0) {
            s++;
            continue;
        }
        out[n++] = (uint8_t)(hexv(s[0]) << 4 | hexv(s[1]));
        s += 2;
    }
    return n;
}

/* ---- hello parsing ---- */

static size_t make_ch(uint8_t *p)
{
    size_t o = 0;
    p[o++] = 3;
    p[o++] = 3;
    for (int i = 0; i < 32; i++)
        p[o++] = (uint8_t)(0xa0 + i);
    p[o++] = 32;
    for (int i = 0; i < 32; i++)
        p[o++] = (uint8_t)i;
    p[o++] = 0, p[o++] = 2, p[o++] = 0x13, p[o++] = 0x01; /* suites */
    p[o++] = 1, p[o++] = 0;                                /* compression */
    p[o++] = 0, p[o++] = 12;                               /* extensions */
    p[o++] = 0, p[o++] = 35, p[o++] = 0, p[o++] = 4;       /* session_ticket "abcd" */
    memcpy(p + o, "abcd", 4), o += 4;
    p[o++] = 0, p[o++] = 41, p[o++] = 0, p[o++] = 0; /* pre_shared_key */
    return o;
}

START_TEST(client_hello_fields_and_truncations)
{
    uint8_t b[200];
    size_t n = make_ch(b);
    struct tlsapp_ch ch;
    ck_assert(tlsapp_parse_client_hello(b, n, &ch));
    ck_assert_uint_eq(ch.random[0], 0xa0);
    ck_assert_uint_eq(ch.random[31], 0xa0 + 31);
    ck_assert_uint_eq(ch.sid_len, 32);
    ck_assert_uint_eq(ch.sid[31], 31);
    ck_assert(ch.ticket);
    ck_assert(ch.psk);
    /* every shorter prefix is truncated, except the one that ends before the extensions */
    size_t no_ext = 2 + 32 + 1 + 32 + 4 + 2;
    struct guard g = {0};
    for (size_t k = 0; k < n; k++) {
        const uint8_t *q = guard_copy(&g, b, k);
        bool ok = tlsapp_parse_client_hello(q, k, &ch);
        ck_assert_msg(ok == (k == no_ext), "prefix %zu", k);
    }
    guard_free(&g);
    b[34] = 33; /* a session id longer than 32 */
    ck_assert(!tlsapp_parse_client_hello(b, n, &ch));
}
END_TEST

static size_t make_sh(uint8_t *p, bool v13)
{
    size_t o = 0;
    p[o++] = 3;
    p[o++] = 3;
    for (int i = 0; i < 32; i++)
        p[o++] = (uint8_t)(0x50 + i);
    p[o++] = 0;                   /* session id */
    p[o++] = 0x13, p[o++] = 0x02; /* suite */
    p[o++] = 0;
    size_t el = o;
    o += 2;
    if (v13) {
        p[o++] = 0, p[o++] = 43, p[o++] = 0, p[o++] = 2, p[o++] = 3, p[o++] = 4;
        p[o++] = 0, p[o++] = 41, p[o++] = 0, p[o++] = 2, p[o++] = 0, p[o++] = 0;
    }
    p[o++] = 0, p[o++] = 16, p[o++] = 0, p[o++] = 5, p[o++] = 0, p[o++] = 3, p[o++] = 2;
    p[o++] = 'h', p[o++] = '2';
    pb_put16(p + el, (uint16_t)(o - el - 2));
    return o;
}

START_TEST(server_hello_fields_and_truncations)
{
    uint8_t b[200];
    struct tlsapp_sh sh;
    size_t n = make_sh(b, true);
    ck_assert(tlsapp_parse_server_hello(b, n, &sh));
    ck_assert_uint_eq(sh.version, TLS_VERSION_13);
    ck_assert_uint_eq(sh.legacy_version, TLS_VERSION_12);
    ck_assert_uint_eq(sh.suite, 0x1302);
    ck_assert(sh.psk);
    ck_assert(sh.has_alpn);
    ck_assert_uint_eq(sh.alpn_len, 2);
    ck_assert(memcmp(sh.alpn, "h2", 2) == 0);
    ck_assert_uint_eq(sh.random[0], 0x50);
    size_t no_ext = 2 + 32 + 1 + 2 + 1;
    struct guard g = {0};
    for (size_t k = 0; k < n; k++) {
        const uint8_t *q = guard_copy(&g, b, k);
        ck_assert_msg(tlsapp_parse_server_hello(q, k, &sh) == (k == no_ext), "prefix %zu", k);
    }
    guard_free(&g);
    n = make_sh(b, false);
    ck_assert(tlsapp_parse_server_hello(b, n, &sh));
    ck_assert_uint_eq(sh.version, TLS_VERSION_12);
    ck_assert(!sh.psk);
    /* an ALPN list with two names is not a selection */
    uint8_t bad[] = {0, 10, 0, 16, 0, 6, 0, 4, 1, 'a', 1, 'b'};
    bool has;
    uint8_t al[255], alen;
    ck_assert(!tlsapp_parse_ee_alpn(bad, sizeof bad, &has, al, &alen));
}
END_TEST

START_TEST(ee_alpn)
{
    uint8_t ee[64];
    size_t n = hexd(R8448_EE, ee, sizeof ee);
    bool has = true;
    uint8_t al[255], alen = 0;
    /* RFC 8448's EncryptedExtensions (after its 4-byte header) has no ALPN */
    ck_assert(tlsapp_parse_ee_alpn(ee + 4, n - 4, &has, al, &alen));
    ck_assert(!has);
    uint8_t ok[] = {0, 12, 0, 16, 0, 8, 0, 6, 5, 'h', 't', 't', 'p', '1'};
    ck_assert(tlsapp_parse_ee_alpn(ok, sizeof ok, &has, al, &alen));
    ck_assert(has);
    ck_assert_uint_eq(alen, 5);
    for (size_t k = 0; k < sizeof ok; k++)
        ck_assert(!tlsapp_parse_ee_alpn(ok, k, &has, al, &alen));
}
END_TEST

/* ---- offsets to packets ---- */

START_TEST(ring_offsets_to_frames)
{
    struct tlsapp_ring r;
    memset(&r, 0, sizeof r);
    ck_assert_ptr_null(tlsapp_ring_find(&r, 1));
    /* packets of 100 bytes: frame f carries offsets [100 (f - 1), 100 f) */
    for (uint64_t f = 1; f <= 100; f++)
        tlsapp_ring_push(&r, 100 * f, f, (int64_t)f * 10);
    /* the last byte of a record ending at offset e is e - 1: carried by frame ceil(e / 100) */
    ck_assert_uint_eq(tlsapp_ring_find(&r, 10000)->frame, 100);
    ck_assert_uint_eq(tlsapp_ring_find(&r, 9901)->frame, 100);
    ck_assert_uint_eq(tlsapp_ring_find(&r, 9900)->frame, 99);
    ck_assert_int_eq(tlsapp_ring_find(&r, 9900)->ts, 990);
    /* older than the ring keeps: the oldest kept; beyond: the newest */
    ck_assert_uint_eq(tlsapp_ring_find(&r, 5)->frame, 100 - TLSAPP_RING + 1);
    ck_assert_uint_eq(tlsapp_ring_find(&r, 20000)->frame, 100);
}
END_TEST

/* ---- RFC 8448 through the analyzer ---- */

#define CLI "10.0.0.1"
#define SRV "10.0.0.2"

struct tconn {
    struct wst_analyzer *a;
    struct evlog *log;
    int64_t t;
    uint32_t cseq, sseq;
};

static char dec_status[16][40];
static int ndec;

static void rec_fn(const struct wst_event *ev, void *user)
{
    evlog_fn(ev, user);
    if (ev->type == WST_EV_TLS_DECRYPT && ndec < 16)
        snprintf(dec_status[ndec++], sizeof dec_status[0], "%s%s",
                 ev->dir == WST_DIR_C2S ? ">" : ev->dir == WST_DIR_S2C ? "<" : "=",
                 ev->u.tls_dec.status);
    if (ev->type == WST_EV_TLS_SERVER_HELLO)
        ck_assert_str_eq(ev->u.tls_sh.cipher, "TLS_AES_128_GCM_SHA256");
}

static void seg(struct tconn *t, bool c, uint8_t flags, const void *data, size_t n)
{
    static uint8_t b[70000];
    struct seg s = {4,    c ? CLI : SRV,       c ? SRV : CLI, c ? 40000 : 443, c ? 443 : 40000,
                    c ? t->cseq : t->sseq,  c ? t->sseq : t->cseq, flags, 0, NULL, 0, data, n};
    size_t len = pb_eth(b, &s);
    t->t += 100;
    struct wst_pkthdr h = {t->t, (uint32_t)len, (uint32_t)len};
    wst_packet(t->a, &h, b);
    uint32_t adv = (uint32_t)n + ((flags & (TCPF_SYN | TCPF_FIN)) ? 1 : 0);
    if (c)
        t->cseq += adv;
    else
        t->sseq += adv;
}

/* A ClientHello record with RFC 8448's client random (the session needs nothing else). */
static size_t make_ch_record(uint8_t *p)
{
    uint8_t body[200];
    size_t n = make_ch(body);
    hexd(R8448_CLIENT_RANDOM, body + 2, 32);
    p[0] = 22, p[1] = 3, p[2] = 1;
    pb_put16(p + 3, (uint16_t)(n + 4));
    p[5] = 1, p[6] = 0;
    pb_put16(p + 7, (uint16_t)n);
    memcpy(p + 9, body, n);
    return n + 9;
}

static uint8_t s2c[2048], c2s[256];
static size_t s2c_len, c2s_len, flight_end, nst_end;
static size_t skip_from, skip_to; /* s2c bytes never captured (a TCP gap), when skip_to > 0 */

static void make_streams(void)
{
    size_t o = hexd(R8448_SH_RECORD, s2c, sizeof s2c);
    o += hexd(R8448_S_FLIGHT_RECORD, s2c + o, sizeof s2c - o);
    flight_end = o;
    o += hexd(R8448_NST_RECORD, s2c + o, sizeof s2c - o);
    nst_end = o;
    o += hexd(R8448_S_APP_RECORD, s2c + o, sizeof s2c - o);
    s2c_len = o;
    o = hexd(R8448_C_FINISHED_RECORD, c2s, sizeof c2s);
    o += hexd(R8448_C_APP_RECORD, c2s + o, sizeof c2s - o);
    c2s_len = o;
}

/* The front end's re-read (a live capture's growing key log): called when a session's client
 * random is not in the table; feeds the table the first time it is asked. */
struct more_ctx {
    struct keylog *kl;
    int calls;
    int64_t ts;
};

static void load_keys(struct keylog *kl, bool with_ap);

static bool more_keys(void *user, int64_t ts, bool new_session)
{
    ck_assert(new_session);
    struct more_ctx *m = user;
    m->calls++;
    m->ts = ts;
    keylog_free(m->kl);
    load_keys(m->kl, true);
    return true;
}

static struct more_ctx *run_more;

/* One session with the server's stream in two segments cut at cut (0: one segment). */
static void run_session(struct keylog *kl, size_t cut, struct evlog *log)
{
    struct wst_limits lim;
    wst_limits_default(&lim);
    struct tconn t = {0};
    memset(log, 0, sizeof *log);
    ndec = 0;
    t.log = log;
    t.a = wst_new(&lim, rec_fn, log);
    if (kl)
        wst_set_keylog(t.a, kl, "keys.log", run_more ? more_keys : NULL, run_more);
    wst_set_link(t.a, WST_LINK_ETHERNET);
    t.t = 1000000;
    t.cseq = 100;
    t.sseq = 900;
    seg(&t, true, TCPF_SYN, NULL, 0);
    seg(&t, false, TCPF_SYN | TCPF_ACK, NULL, 0);
    seg(&t, true, TCPF_ACK, NULL, 0);
    uint8_t ch[300];
    size_t chn = make_ch_record(ch);
    seg(&t, true, TCPF_ACK | TCPF_PSH, ch, chn);           /* frame 4 */
    if (skip_to > 0) { /* three segments, the middle one lost */
        seg(&t, false, TCPF_ACK | TCPF_PSH, s2c, skip_from);
        t.sseq += (uint32_t)(skip_to - skip_from);
        seg(&t, false, TCPF_ACK | TCPF_PSH, s2c + skip_to, s2c_len - skip_to);
        seg(&t, true, TCPF_ACK, NULL, 0);
    } else if (cut == 0) {
        seg(&t, false, TCPF_ACK | TCPF_PSH, s2c, s2c_len); /* frame 5 */
    } else {
        seg(&t, false, TCPF_ACK | TCPF_PSH, s2c, cut);                 /* frame 5 */
        seg(&t, false, TCPF_ACK | TCPF_PSH, s2c + cut, s2c_len - cut); /* frame 6 */
    }
    seg(&t, true, TCPF_ACK | TCPF_PSH, c2s, c2s_len);
    wst_finish(t.a, NULL);
    wst_free(t.a);
}

static void load_keys(struct keylog *kl, bool with_ap)
{
    char buf[2048];
    int n = snprintf(buf, sizeof buf,
                     "CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s\nSERVER_HANDSHAKE_TRAFFIC_SECRET %s %s\n",
                     R8448_CLIENT_RANDOM, R8448_C_HS_TRAFFIC, R8448_CLIENT_RANDOM,
                     R8448_S_HS_TRAFFIC);
    if (with_ap)
        snprintf(buf + n, sizeof buf - (size_t)n,
                 "CLIENT_TRAFFIC_SECRET_0 %s %s\nSERVER_TRAFFIC_SECRET_0 %s %s\n",
                 R8448_CLIENT_RANDOM, R8448_C_AP_TRAFFIC, R8448_CLIENT_RANDOM,
                 R8448_S_AP_TRAFFIC);
    keylog_init(kl, 0, NULL, NULL);
    keylog_feed(kl, (const uint8_t *)buf, strlen(buf));
    keylog_end(kl);
}

START_TEST(rfc8448_every_split)
{
    make_streams();
    struct keylog kl;
    load_keys(&kl, true);
    struct evlog *log = calloc(1, sizeof *log);
    for (size_t cut = 0; cut < s2c_len; cut++) {
        run_session(&kl, cut, log);
        ck_assert_int_eq(evlog_count(log, WST_EV_TLS_HELLO), 1);
        ck_assert_int_eq(evlog_count(log, WST_EV_TLS_SERVER_HELLO), 1);
        ck_assert_int_eq(evlog_count(log, WST_EV_TLS_DECRYPT), 2);
        ck_assert_msg(ndec == 2 && strcmp(dec_status[0], "<ok") == 0 &&
                          strcmp(dec_status[1], ">ok") == 0,
                      "cut %zu: %s %s", cut, dec_status[0], dec_status[1]);
        /* the server's first protected record (the flight) ends in frame 5 when the cut is
         * after it, else in frame 6 */
        const struct wst_event *sh = evlog_find(log, WST_EV_TLS_SERVER_HELLO, 0);
        const struct wst_event *ok = evlog_find(log, WST_EV_TLS_DECRYPT, 0);
        uint64_t want = (cut == 0 || cut >= flight_end) ? 5 : 6;
        ck_assert_msg(ok->frame == want && sh->frame == want, "cut %zu: frame %llu, want %llu",
                      cut, (unsigned long long)ok->frame, (unsigned long long)want);
        ck_assert_uint_eq(ok->u.tls_dec.record, 1);
    }
    free(log);
    keylog_free(&kl);
}
END_TEST

START_TEST(rfc8448_verdicts)
{
    make_streams();
    struct evlog *log = calloc(1, sizeof *log);
    /* no --keylog: one session-level line */
    run_session(NULL, 0, log);
    ck_assert_int_eq(ndec, 1);
    ck_assert_str_eq(dec_status[0], "=no_key");
    /* a key log without this session */
    struct keylog kl;
    keylog_init(&kl, 0, NULL, NULL);
    const char *other = "CLIENT_RANDOM 00112233445566778899aabbccddeeff00112233445566778899aabbcc"
                        "ddeeff 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
                        "1f202122232425262728292a2b2c2d2e2f\n";
    keylog_feed(&kl, (const uint8_t *)other, strlen(other));
    keylog_end(&kl);
    ck_assert_uint_eq(keylog_sessions(&kl), 1);
    run_session(&kl, 0, log);
    ck_assert_int_eq(ndec, 1);
    ck_assert_str_eq(dec_status[0], "=no_key");
    keylog_free(&kl);
    /* handshake secrets only: the handshake decrypts, the application records do not */
    load_keys(&kl, false);
    run_session(&kl, 0, log);
    ck_assert_int_ge(ndec, 2);
    ck_assert_str_eq(dec_status[0], "<ok");
    int nokey = 0;
    for (int i = 0; i < ndec; i++) {
        nokey += strcmp(dec_status[i], "<no_key") == 0 || strcmp(dec_status[i], ">no_key") == 0;
        ck_assert(strstr(dec_status[i], "bad_key") == NULL); /* missing, not wrong */
    }
    ck_assert_int_eq(nokey, 2);
    keylog_free(&kl);
    free(log);
}
END_TEST

START_TEST(rfc8448_keys_found_on_reread)
{
    make_streams();
    struct keylog kl;
    keylog_init(&kl, 0, NULL, NULL); /* empty: the session is not known yet */
    struct more_ctx m = {&kl, 0, 0};
    run_more = &m;
    struct evlog *log = calloc(1, sizeof *log);
    run_session(&kl, 0, log);
    run_more = NULL;
    ck_assert_int_eq(m.calls, 1); /* asked once, at the ServerHello */
    /* the ServerHello is frame 5: 1000000 + 5 * 100 us */
    ck_assert_int_eq(m.ts, 1000500);
    ck_assert_int_eq(ndec, 2);
    ck_assert_str_eq(dec_status[0], "<ok");
    ck_assert_str_eq(dec_status[1], ">ok");
    free(log);
    keylog_free(&kl);
}
END_TEST

/* A capture gap over the server's NewSessionTicket record: reported with the record number,
 * and decryption resumes at the next record (its tag verifies at the next sequence number). */
START_TEST(rfc8448_gap_resumes)
{
    make_streams();
    struct keylog kl;
    load_keys(&kl, true);
    struct evlog *log = calloc(1, sizeof *log);
    skip_from = flight_end;
    skip_to = nst_end;
    run_session(&kl, 0, log);
    skip_from = skip_to = 0;
    ck_assert_int_eq(evlog_count(log, WST_EV_TCP_GAP), 1);
    ck_assert_int_eq(ndec, 4);
    ck_assert_str_eq(dec_status[0], "<ok");
    ck_assert_str_eq(dec_status[1], "<gap");
    ck_assert_str_eq(dec_status[2], "<ok");
    ck_assert_str_eq(dec_status[3], ">ok");
    /* the gap names the lost record (2: after ServerHello 0 and the flight 1); the ok after it
     * the next one */
    const struct wst_event *gap = evlog_find(log, WST_EV_TLS_DECRYPT, 1);
    const struct wst_event *again = evlog_find(log, WST_EV_TLS_DECRYPT, 2);
    ck_assert_uint_eq(gap->u.tls_dec.record, 2);
    ck_assert_uint_eq(again->u.tls_dec.record, 3);
    free(log);
    keylog_free(&kl);
}
END_TEST

static Suite *tlsapp_suite(void)
{
    Suite *s = suite_create("tlsapp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, client_hello_fields_and_truncations);
    tcase_add_test(tc, server_hello_fields_and_truncations);
    tcase_add_test(tc, ee_alpn);
    tcase_add_test(tc, ring_offsets_to_frames);
    tcase_add_test(tc, rfc8448_every_split);
    tcase_add_test(tc, rfc8448_verdicts);
    tcase_add_test(tc, rfc8448_keys_found_on_reread);
    tcase_add_test(tc, rfc8448_gap_resumes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(tlsapp_suite());
}
