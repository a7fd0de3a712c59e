/* test_pingpair.c - pairing pongs with pings by payload (RFC 6455 5.5.2, 5.5.3). */
#include <string.h>

#include "pingpair.h"
#include "util.h"

static const uint8_t *P(const char *s)
{
    return (const uint8_t *)s;
}

START_TEST(test_pair_by_payload)
{
    struct pingpair pp;
    memset(&pp, 0, sizeof pp);
    pingpair_ping(&pp, P("a"), 1, 1000);
    pingpair_ping(&pp, P("b"), 1, 1500);
    /* an unsolicited pong (a heartbeat) matches nothing and changes nothing */
    ck_assert_int_eq(pingpair_pong(&pp, P("x"), 1, 1600), -1);
    ck_assert_uint_eq(pp.n, 2);
    ck_assert_int_eq(pingpair_pong(&pp, P("a"), 1, 2000), 1000);
    ck_assert_uint_eq(pp.n, 1);
    ck_assert_int_eq(pingpair_pong(&pp, P("b"), 1, 2100), 600);
    ck_assert_uint_eq(pp.n, 0);
    /* answered once: a second pong with the same payload is unpaired */
    ck_assert_int_eq(pingpair_pong(&pp, P("b"), 1, 2200), -1);
    /* the payload must match in length too; empty payloads pair */
    pingpair_ping(&pp, P(""), 0, 3000);
    ck_assert_int_eq(pingpair_pong(&pp, P("\0"), 1, 3100), -1);
    ck_assert_int_eq(pingpair_pong(&pp, P(""), 0, 3200), 200);
}
END_TEST

START_TEST(test_most_recent_answered)
{
    struct pingpair pp;
    memset(&pp, 0, sizeof pp);
    /* RFC 6455 5.5.3: the peer may answer only the latest ping; the earlier ones are then
     * never answered and are forgotten */
    pingpair_ping(&pp, P("1"), 1, 100);
    pingpair_ping(&pp, P("2"), 1, 200);
    pingpair_ping(&pp, P("3"), 1, 300);
    ck_assert_int_eq(pingpair_pong(&pp, P("3"), 1, 350), 50);
    ck_assert_uint_eq(pp.n, 0);
    ck_assert_int_eq(pingpair_pong(&pp, P("1"), 1, 400), -1);
}
END_TEST

START_TEST(test_ambiguous_is_unpaired)
{
    struct pingpair pp;
    memset(&pp, 0, sizeof pp);
    /* two outstanding pings with the same payload: which one a pong answers is unknown */
    pingpair_ping(&pp, P("hb"), 2, 100);
    pingpair_ping(&pp, P("hb"), 2, 200);
    ck_assert_int_eq(pingpair_pong(&pp, P("hb"), 2, 250), -1);
    ck_assert_uint_eq(pp.n, 0);
    /* a pong before its ping's time (clock stepped back) is not a round trip */
    pingpair_ping(&pp, P("t"), 1, 500);
    ck_assert_int_eq(pingpair_pong(&pp, P("t"), 1, 400), -1);
}
END_TEST

START_TEST(test_ring_bounded)
{
    struct pingpair pp;
    memset(&pp, 0, sizeof pp);
    char b[8];
    for (int i = 0; i < PINGPAIR_RING + 2; i++) {
        b[0] = (char)('a' + i);
        pingpair_ping(&pp, P(b), 1, 1000 * i);
    }
    ck_assert_uint_eq(pp.n, PINGPAIR_RING);
    /* the two oldest were dropped */
    ck_assert_int_eq(pingpair_pong(&pp, P("a"), 1, 9000), -1);
    ck_assert_int_eq(pingpair_pong(&pp, P("b"), 1, 9000), -1);
    ck_assert_int_eq(pingpair_pong(&pp, P("c"), 1, 9000), 7000);
    /* payloads longer than a control frame may carry are not kept */
    uint8_t big[PINGPAIR_MAXLEN + 1];
    memset(big, 'z', sizeof big);
    size_t n = pp.n;
    pingpair_ping(&pp, big, sizeof big, 1);
    ck_assert_uint_eq(pp.n, n);
    ck_assert_int_eq(pingpair_pong(&pp, big, sizeof big, 2), -1);
    /* the longest allowed payload pairs */
    pingpair_ping(&pp, big, PINGPAIR_MAXLEN, 10000);
    ck_assert_int_eq(pingpair_pong(&pp, big, PINGPAIR_MAXLEN, 10125), 125);
}
END_TEST

static Suite *pingpair_suite(void)
{
    Suite *s = suite_create("pingpair");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_pair_by_payload);
    tcase_add_test(tc, test_most_recent_answered);
    tcase_add_test(tc, test_ambiguous_is_unpaired);
    tcase_add_test(tc, test_ring_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(pingpair_suite());
}
