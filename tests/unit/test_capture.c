/* test_capture.c - DLT table, BPF compilation, and reading pcap/pcapng files back through
 * the capture module: order, timestamps, count, filter, truncation and bad inputs. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <unistd.h>

#include "capture.h"
#include "util.h"

#define MAXPKT 32

/* What the capture module handed over. */
struct rec {
    int nlinks;
    enum wst_link links[8];
    int npkts;
    struct {
        int64_t ts_us;
        uint32_t caplen, len;
        uint8_t data[128];
        int after_link; /* how many set_link calls preceded this packet */
    } pkt[MAXPKT];
    int stop_after; /* the consumer asks to stop after this many packets; 0: never */
    int flushes;
};

static void rec_link(void *user, enum wst_link link)
{
    struct rec *r = user;
    if (r->nlinks < 8)
        r->links[r->nlinks] = link;
    r->nlinks++;
}

static bool rec_packet(void *user, const struct wst_pkthdr *h, const uint8_t *data)
{
    struct rec *r = user;
    if (r->npkts < MAXPKT) {
        r->pkt[r->npkts].ts_us = h->ts_us;
        r->pkt[r->npkts].caplen = h->caplen;
        r->pkt[r->npkts].len = h->len;
        memcpy(r->pkt[r->npkts].data, data, h->caplen < 128 ? h->caplen : 128);
        r->pkt[r->npkts].after_link = r->nlinks;
    }
    r->npkts++;
    return r->stop_after == 0 || r->npkts < r->stop_after;
}

static void rec_flush(void *user)
{
    struct rec *r = user;
    r->flushes++;
}

static const struct capture_ops rec_ops = {rec_link, rec_packet, rec_flush, NULL, NULL};

/* Error messages go here instead of stderr. */
static char *errtext;
static size_t errlen;
static FILE *errf;

static void err_open(void)
{
    errtext = NULL;
    errlen = 0;
    errf = open_memstream(&errtext, &errlen);
    ck_assert_ptr_nonnull(errf);
}

static const char *err_get(void)
{
    fflush(errf);
    return errtext ? errtext : "";
}

static void err_close(void)
{
    fclose(errf);
    free(errtext);
    errf = NULL;
    errtext = NULL;
}

/* Temporary files, removed by the fixture. */
static char tmpdir[] = "/tmp/wstap-cap-XXXXXX";
static char paths[4][64];

static void setup(void)
{
    memcpy(tmpdir, "/tmp/wstap-cap-XXXXXX", sizeof tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    for (int i = 0; i < 4; i++)
        snprintf(paths[i], sizeof paths[i], "%s/f%d", tmpdir, i);
    err_open();
}

static void teardown(void)
{
    for (int i = 0; i < 4; i++)
        unlink(paths[i]);
    rmdir(tmpdir);
    err_close();
}

/* Ethernet + IPv4 + TCP (20-byte header, no options) from 10.0.0.1 to 10.0.0.2. */
static size_t mk_tcp(uint8_t *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                     uint8_t flags, size_t paylen)
{
    size_t iplen = 20 + 20 + paylen;
    memset(b, 0, 14 + iplen);
    b[12] = 0x08; /* ethertype IPv4 */
    uint8_t *ip = b + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(iplen >> 8);
    ip[3] = (uint8_t)iplen;
    ip[6] = 0x40; /* DF */
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = 10;
    ip[15] = sport < dport ? 2 : 1;
    ip[16] = 10;
    ip[19] = sport < dport ? 1 : 2;
    uint8_t *t = ip + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    for (int i = 0; i < 4; i++) {
        t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    t[12] = 5 << 4;
    t[13] = flags;
    t[14] = 0xff;
    t[15] = 0xff;
    for (size_t i = 0; i < paylen; i++)
        t[20 + i] = (uint8_t)('a' + i % 26);
    return 14 + iplen;
}

/* Ethernet + IPv4 + UDP 53 -> 53. */
static size_t mk_udp(uint8_t *b)
{
    memset(b, 0, 42);
    b[12] = 0x08;
    uint8_t *ip = b + 14;
    ip[0] = 0x45;
    ip[3] = 28;
    ip[8] = 64;
    ip[9] = 17;
    ip[12] = 10;
    ip[15] = 1;
    ip[16] = 10;
    ip[19] = 2;
    ip[21] = 53;
    ip[23] = 53;
    ip[25] = 8;
    return 42;
}

struct wpkt {
    int64_t ts_us;
    const uint8_t *data;
    uint32_t len;
    uint32_t caplen; /* 0: len */
};

static void write_pcap(const char *path, int dlt, const struct wpkt *p, int n)
{
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt, 65535, PCAP_TSTAMP_PRECISION_MICRO);
    ck_assert_ptr_nonnull(dead);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    ck_assert_msg(d != NULL, "pcap_dump_open: %s", pcap_geterr(dead));
    for (int i = 0; i < n; i++) {
        struct pcap_pkthdr h;
        h.ts.tv_sec = (time_t)(p[i].ts_us / 1000000);
        h.ts.tv_usec = (suseconds_t)(p[i].ts_us % 1000000);
        h.len = p[i].len;
        h.caplen = p[i].caplen ? p[i].caplen : p[i].len;
        pcap_dump((u_char *)d, &h, p[i].data);
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

static enum capture_status run_files(struct rec *r, const char **files, size_t n,
                                     const char *filter, uint64_t count)
{
    struct capture_opts o;
    struct wst_capture_stats st;

    memset(&o, 0, sizeof o);
    o.files = files;
    o.nfiles = n;
    o.filter = filter;
    o.count = count;
    o.err = errf;
    enum capture_status s = capture_run(&o, &rec_ops, r, &st);
    ck_assert(!st.valid); /* offline: no drop counters */
    return s;
}

/* Three packets: SYN, SYN-ACK, and a UDP datagram in between. */
static uint8_t pk_syn[128], pk_synack[128], pk_udp[128];
static struct wpkt three[3];

static void make_three(void)
{
    three[0] = (struct wpkt){1700000000123456LL, pk_syn,
                             (uint32_t)mk_tcp(pk_syn, 40000, 80, 1000, 0, 0x02, 0), 0};
    three[1] = (struct wpkt){1700000000200000LL, pk_udp, (uint32_t)mk_udp(pk_udp), 0};
    three[2] = (struct wpkt){1700000001000001LL, pk_synack,
                             (uint32_t)mk_tcp(pk_synack, 80, 40000, 5000, 1001, 0x12, 0), 0};
}

/* ---- the DLT table ---- */

START_TEST(dlt_table)
{
    ck_assert_int_eq(capture_link_from_dlt(DLT_EN10MB), WST_LINK_ETHERNET);
    ck_assert_int_eq(capture_link_from_dlt(DLT_LINUX_SLL), WST_LINK_SLL);
#ifdef DLT_LINUX_SLL2
    ck_assert_int_eq(capture_link_from_dlt(DLT_LINUX_SLL2), WST_LINK_SLL2);
#endif
    ck_assert_int_eq(capture_link_from_dlt(DLT_NULL), WST_LINK_NULL);
    ck_assert_int_eq(capture_link_from_dlt(DLT_LOOP), WST_LINK_LOOP);
    ck_assert_int_eq(capture_link_from_dlt(DLT_RAW), WST_LINK_RAW);
    ck_assert_int_eq(capture_link_from_dlt(101), WST_LINK_RAW);
#ifdef DLT_IPV4
    ck_assert_int_eq(capture_link_from_dlt(DLT_IPV4), WST_LINK_IPV4);
    ck_assert_int_eq(capture_link_from_dlt(DLT_IPV6), WST_LINK_IPV6);
#endif
    ck_assert_int_eq(capture_link_from_dlt(DLT_IEEE802_11), WST_LINK_UNSUPPORTED);
    ck_assert_int_eq(capture_link_from_dlt(DLT_PPP), WST_LINK_UNSUPPORTED);
    ck_assert_int_eq(capture_link_from_dlt(-1), WST_LINK_UNSUPPORTED);
    ck_assert_int_eq(capture_link_from_dlt(100000), WST_LINK_UNSUPPORTED);
}
END_TEST

/* ---- BPF ---- */

START_TEST(bpf_compile)
{
    char err[PCAP_ERRBUF_SIZE];

    ck_assert_int_eq(capture_filter_check(DLT_EN10MB, "tcp port 8080", err, sizeof err), 0);
    ck_assert_int_eq(capture_filter_check(DLT_RAW, "host 127.0.0.1 and tcp", err, sizeof err), 0);
    ck_assert_int_eq(capture_filter_check(DLT_LINUX_SLL, "inbound", err, sizeof err), 0);
    err[0] = '\0';
    ck_assert_int_eq(capture_filter_check(DLT_EN10MB, "tcp port", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "syntax error") != NULL, "message: %s", err);
    err[0] = '\0';
    ck_assert_int_eq(capture_filter_check(DLT_RAW, "ether host 1:2:3:4:5:6", err, sizeof err), -1);
    ck_assert_int_gt(strlen(err), 0);

    /* The same check by hand, the way capture.c does it against a real handle. */
    struct bpf_program prog;
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    ck_assert_ptr_nonnull(dead);
    ck_assert_int_eq(pcap_compile(dead, &prog, "tcp and port 80", 1, PCAP_NETMASK_UNKNOWN), 0);
    ck_assert_int_gt(prog.bf_len, 0);
    pcap_freecode(&prog);
    pcap_close(dead);
}
END_TEST

/* ---- reading files ---- */

START_TEST(read_pcap_back)
{
    struct rec r;
    const char *files[] = {paths[0]};

    memset(&r, 0, sizeof r);
    make_three();
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    ck_assert_int_eq(run_files(&r, files, 1, NULL, 0), CAPTURE_OK);
    ck_assert_int_eq(r.nlinks, 1);
    ck_assert_int_eq(r.links[0], WST_LINK_ETHERNET);
    ck_assert_int_eq(r.npkts, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r.pkt[i].ts_us, three[i].ts_us);
        ck_assert_uint_eq(r.pkt[i].caplen, three[i].len);
        ck_assert_uint_eq(r.pkt[i].len, three[i].len);
        ck_assert_int_eq(memcmp(r.pkt[i].data, three[i].data, three[i].len), 0);
        ck_assert_int_eq(r.pkt[i].after_link, 1);
    }
    ck_assert_str_eq(err_get(), "");
}
END_TEST

START_TEST(read_snaplen_cut)
{
    struct rec r;
    const char *files[] = {paths[0]};
    uint8_t big[128];
    struct wpkt p = {5, big, (uint32_t)mk_tcp(big, 1, 2, 0, 0, 0x10, 60), 40};

    memset(&r, 0, sizeof r);
    write_pcap(paths[0], DLT_EN10MB, &p, 1);
    ck_assert_int_eq(run_files(&r, files, 1, NULL, 0), CAPTURE_OK);
    ck_assert_int_eq(r.npkts, 1);
    ck_assert_uint_eq(r.pkt[0].caplen, 40);
    ck_assert_uint_eq(r.pkt[0].len, 114);
    ck_assert_int_eq(r.pkt[0].ts_us, 5);
}
END_TEST

START_TEST(read_several_files_in_order)
{
    struct rec r;
    const char *files[] = {paths[0], paths[1]};
    uint8_t raw[128];
    /* The second file is DLT_RAW: the IP packet without its Ethernet header. */
    make_three();
    memcpy(raw, pk_syn + 14, three[0].len - 14);
    struct wpkt p = {1700000002000000LL, raw, three[0].len - 14, 0};

    memset(&r, 0, sizeof r);
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    write_pcap(paths[1], DLT_RAW, &p, 1);
    ck_assert_int_eq(run_files(&r, files, 2, NULL, 0), CAPTURE_OK);
    ck_assert_int_eq(r.nlinks, 2);
    ck_assert_int_eq(r.links[0], WST_LINK_ETHERNET);
    ck_assert_int_eq(r.links[1], WST_LINK_RAW);
    ck_assert_int_eq(r.npkts, 4);
    ck_assert_int_eq(r.pkt[2].after_link, 1);
    ck_assert_int_eq(r.pkt[3].after_link, 2);
    ck_assert_int_eq(r.pkt[3].ts_us, 1700000002000000LL);
}
END_TEST

START_TEST(read_with_filter_and_count)
{
    struct rec r;
    const char *files[] = {paths[0], paths[1]};

    make_three();
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    write_pcap(paths[1], DLT_EN10MB, three, 3);

    memset(&r, 0, sizeof r);
    ck_assert_int_eq(run_files(&r, files, 2, "tcp", 0), CAPTURE_OK);
    ck_assert_int_eq(r.npkts, 4); /* the UDP datagrams never arrive */
    ck_assert_int_eq(r.pkt[1].ts_us, three[2].ts_us);

    memset(&r, 0, sizeof r);
    ck_assert_int_eq(run_files(&r, files, 2, "udp port 53", 0), CAPTURE_OK);
    ck_assert_int_eq(r.npkts, 2);

    /* -c counts packets that passed the filter, across files. */
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(run_files(&r, files, 2, "tcp", 3), CAPTURE_OK);
    ck_assert_int_eq(r.npkts, 3);
    ck_assert_int_eq(r.nlinks, 2);

    memset(&r, 0, sizeof r);
    ck_assert_int_eq(run_files(&r, files, 2, NULL, 2), CAPTURE_OK);
    ck_assert_int_eq(r.npkts, 2);
    ck_assert_int_eq(r.nlinks, 1);
}
END_TEST

START_TEST(read_bad_filter_is_fatal)
{
    struct rec r;
    const char *files[] = {paths[0]};

    memset(&r, 0, sizeof r);
    make_three();
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    ck_assert_int_eq(run_files(&r, files, 1, "tcp port", 0), CAPTURE_FAILED);
    ck_assert_int_eq(r.npkts, 0);
    ck_assert_int_eq(r.nlinks, 0);
    ck_assert_ptr_nonnull(strstr(err_get(), "syntax error"));
}
END_TEST

START_TEST(read_truncated_keeps_earlier)
{
    struct rec r;
    const char *files[] = {paths[0]};

    memset(&r, 0, sizeof r);
    make_three();
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    /* Cut the file in the middle of the third packet's data. */
    off_t cut = 24 + (16 + three[0].len) + (16 + three[1].len) + 16 + 10;
    ck_assert_int_eq(truncate(paths[0], cut), 0);
    ck_assert_int_eq(run_files(&r, files, 1, NULL, 0), CAPTURE_PARTIAL);
    ck_assert_int_eq(r.npkts, 2);
    ck_assert_int_eq(r.pkt[1].ts_us, three[1].ts_us);
    const char *e = err_get();
    ck_assert_msg(strncmp(e, "wstap: ", 7) == 0, "message: %s", e);
    ck_assert_msg(strstr(e, paths[0]) != NULL, "message: %s", e);
    ck_assert_msg(strstr(e, "truncated") != NULL, "message: %s", e);
}
END_TEST

START_TEST(read_truncated_then_next_file)
{
    struct rec r;
    const char *files[] = {paths[0], paths[1]};

    memset(&r, 0, sizeof r);
    make_three();
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    write_pcap(paths[1], DLT_EN10MB, three, 3);
    ck_assert_int_eq(truncate(paths[0], 24 + 16 + three[0].len + 5), 0);
    ck_assert_int_eq(run_files(&r, files, 2, NULL, 0), CAPTURE_PARTIAL);
    ck_assert_int_eq(r.npkts, 4);
}
END_TEST

START_TEST(read_missing_and_unsupported)
{
    struct rec r;
    const char *only_missing[] = {paths[3]};
    const char *files[] = {paths[3], paths[1], paths[0]};

    make_three();
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    write_pcap(paths[1], DLT_IEEE802_11, three, 1);

    memset(&r, 0, sizeof r);
    ck_assert_int_eq(run_files(&r, only_missing, 1, NULL, 0), CAPTURE_FAILED);
    ck_assert_ptr_nonnull(strstr(err_get(), paths[3]));

    memset(&r, 0, sizeof r);
    ck_assert_int_eq(run_files(&r, files, 3, NULL, 0), CAPTURE_PARTIAL);
    ck_assert_int_eq(r.npkts, 3);
    ck_assert_int_eq(r.nlinks, 1);
    const char *e = err_get();
    ck_assert_msg(strstr(e, "unsupported link type IEEE802_11") != NULL, "message: %s", e);
    ck_assert_msg(strstr(e, paths[1]) != NULL, "message: %s", e);
}
END_TEST

START_TEST(read_consumer_stops)
{
    struct rec r;
    const char *files[] = {paths[0], paths[0]};

    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    make_three();
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    ck_assert_int_eq(run_files(&r, files, 2, NULL, 0), CAPTURE_OK);
    ck_assert_int_eq(r.npkts, 2);
    ck_assert_int_eq(r.nlinks, 1);
}
END_TEST

static void put32le(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* libpcap 1.10 cannot write pcapng, so the test writes a minimal one: SHB, IDB, one EPB. */
START_TEST(read_pcapng)
{
    struct rec r;
    const char *files[] = {paths[0]};
    uint8_t pkt[128];
    uint8_t f[256];
    size_t n = 0;
    uint32_t plen = (uint32_t)mk_tcp(pkt, 40000, 80, 1, 0, 0x02, 0); /* 54 bytes */
    uint32_t padded = (plen + 3) & ~3u;
    uint64_t ts = 1700000000654321ULL; /* microseconds, the default resolution */

    memset(f, 0, sizeof f);
    /* Section header block */
    put32le(f + n, 0x0A0D0D0A);
    put32le(f + n + 4, 28);
    put32le(f + n + 8, 0x1A2B3C4D);
    f[n + 12] = 1; /* major 1, minor 0 */
    put32le(f + n + 16, 0xFFFFFFFF);
    put32le(f + n + 20, 0xFFFFFFFF);
    put32le(f + n + 24, 28);
    n += 28;
    /* Interface description block: Ethernet, snaplen 0 */
    put32le(f + n, 1);
    put32le(f + n + 4, 20);
    f[n + 8] = 1;
    put32le(f + n + 16, 20);
    n += 20;
    /* Enhanced packet block */
    uint32_t blen = 32 + padded;
    put32le(f + n, 6);
    put32le(f + n + 4, blen);
    put32le(f + n + 8, 0);
    put32le(f + n + 12, (uint32_t)(ts >> 32));
    put32le(f + n + 16, (uint32_t)ts);
    put32le(f + n + 20, plen);
    put32le(f + n + 24, plen);
    memcpy(f + n + 28, pkt, plen);
    put32le(f + n + 28 + padded, blen);
    n += blen;

    FILE *fp = fopen(paths[0], "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(f, 1, n, fp), n);
    fclose(fp);

    memset(&r, 0, sizeof r);
    ck_assert_int_eq(run_files(&r, files, 1, "tcp", 0), CAPTURE_OK);
    ck_assert_int_eq(r.nlinks, 1);
    ck_assert_int_eq(r.links[0], WST_LINK_ETHERNET);
    ck_assert_int_eq(r.npkts, 1);
    ck_assert_int_eq(r.pkt[0].ts_us, (int64_t)ts);
    ck_assert_uint_eq(r.pkt[0].caplen, plen);
    ck_assert_int_eq(memcmp(r.pkt[0].data, pkt, plen), 0);
}
END_TEST

/* Fuzzer find (fuzz_pcap): a pcapng timestamp of 2^64-1 microseconds is 1.8e13 seconds, and
 * seconds * 10^6 overflowed int64 (signed overflow, undefined). An IDB with if_tsresol 0
 * (one-second ticks) makes 2^63 ticks the time_t INT64_MIN. Both are clamped to
 * +-2 * 10^12 seconds. The file is HAND-BUILT bytes: SHB, two IDBs, two EPBs. */
START_TEST(read_pcapng_huge_timestamps)
{
    struct rec r;
    const char *files[] = {paths[0]};
    uint8_t pkt[128];
    uint8_t f[512];
    size_t n = 0;
    uint32_t plen = (uint32_t)mk_tcp(pkt, 40000, 80, 1, 0, 0x02, 0); /* 54 bytes */
    uint32_t padded = (plen + 3) & ~3u;

    memset(f, 0, sizeof f);
    /* Section header block */
    put32le(f + n, 0x0A0D0D0A);
    put32le(f + n + 4, 28);
    put32le(f + n + 8, 0x1A2B3C4D);
    f[n + 12] = 1;
    put32le(f + n + 16, 0xFFFFFFFF);
    put32le(f + n + 20, 0xFFFFFFFF);
    put32le(f + n + 24, 28);
    n += 28;
    /* IDB 0: Ethernet, microseconds (no if_tsresol) */
    put32le(f + n, 1);
    put32le(f + n + 4, 20);
    f[n + 8] = 1;
    put32le(f + n + 16, 20);
    n += 20;
    /* IDB 1: Ethernet, if_tsresol 0 (10^0: one-second ticks), then opt_endofopt */
    put32le(f + n, 1);
    put32le(f + n + 4, 32);
    f[n + 8] = 1;
    f[n + 16] = 9; /* if_tsresol, length 1, value 0, 3 bytes of padding */
    f[n + 18] = 1;
    put32le(f + n + 28, 32);
    n += 32;
    /* One EPB per interface: 2^64-1 microseconds, and 2^63 seconds (time_t INT64_MIN) */
    for (uint32_t ifc = 0; ifc < 2; ifc++) {
        uint32_t blen = 32 + padded;
        put32le(f + n, 6);
        put32le(f + n + 4, blen);
        put32le(f + n + 8, ifc);
        put32le(f + n + 12, ifc == 0 ? 0xFFFFFFFF : 0x80000000);
        put32le(f + n + 16, ifc == 0 ? 0xFFFFFFFF : 0);
        put32le(f + n + 20, plen);
        put32le(f + n + 24, plen);
        memcpy(f + n + 28, pkt, plen);
        put32le(f + n + 28 + padded, blen);
        n += blen;
    }

    FILE *fp = fopen(paths[0], "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(f, 1, n, fp), n);
    fclose(fp);

    memset(&r, 0, sizeof r);
    ck_assert_int_eq(run_files(&r, files, 1, NULL, 0), CAPTURE_OK);
    ck_assert_int_eq(r.npkts, 2);
    ck_assert_int_eq(r.pkt[0].ts_us, 2000000000000LL * 1000000);
    ck_assert_int_eq(r.pkt[1].ts_us, -2000000000000LL * 1000000);
}
END_TEST

/* Through the real analyzer: frame numbers continue across files. */
struct an_rec {
    struct wst_analyzer *an;
};

static void an_link(void *user, enum wst_link link)
{
    struct an_rec *a = user;
    wst_set_link(a->an, link);
}

static bool an_packet(void *user, const struct wst_pkthdr *h, const uint8_t *data)
{
    struct an_rec *a = user;
    wst_packet(a->an, h, data);
    return true;
}

START_TEST(read_into_analyzer)
{
    static struct evlog log;
    struct wst_limits lim;
    struct an_rec a;
    struct wst_capture_stats st;
    struct capture_opts o;
    const char *files[] = {paths[0], paths[1]};
    static const struct capture_ops ops = {an_link, an_packet, NULL, NULL, NULL};

    make_three();
    write_pcap(paths[0], DLT_EN10MB, three, 3);
    write_pcap(paths[1], DLT_EN10MB, three, 1);
    memset(&log, 0, sizeof log);
    wst_limits_default(&lim);
    a.an = wst_new(&lim, evlog_fn, &log);
    ck_assert_ptr_nonnull(a.an);
    memset(&o, 0, sizeof o);
    o.files = files;
    o.nfiles = 2;
    o.err = errf;
    ck_assert_int_eq(capture_run(&o, &ops, &a, &st), CAPTURE_OK);
    wst_finish(a.an, &st);
    wst_free(a.an);

    const struct wst_event *syn = evlog_find(&log, WST_EV_TCP_SYN, 0);
    ck_assert_ptr_nonnull(syn);
    ck_assert_uint_eq(syn->frame, 1);
    const struct wst_event *end = evlog_find(&log, WST_EV_CAPTURE_END, 0);
    ck_assert_ptr_nonnull(end);
    ck_assert_uint_eq(end->frame, 4);
    ck_assert_uint_eq(end->u.end.packets, 4);
    ck_assert_uint_eq(end->u.end.non_tcp, 1);
    ck_assert(!end->u.end.have_stats);
}
END_TEST

static Suite *capture_suite(void)
{
    Suite *s = suite_create("capture");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, dlt_table);
    tcase_add_test(tc, bpf_compile);
    suite_add_tcase(s, tc);

    TCase *tf = tcase_create("files");
    tcase_add_checked_fixture(tf, setup, teardown);
    tcase_add_test(tf, read_pcap_back);
    tcase_add_test(tf, read_snaplen_cut);
    tcase_add_test(tf, read_several_files_in_order);
    tcase_add_test(tf, read_with_filter_and_count);
    tcase_add_test(tf, read_bad_filter_is_fatal);
    tcase_add_test(tf, read_truncated_keeps_earlier);
    tcase_add_test(tf, read_truncated_then_next_file);
    tcase_add_test(tf, read_missing_and_unsupported);
    tcase_add_test(tf, read_consumer_stops);
    tcase_add_test(tf, read_pcapng);
    tcase_add_test(tf, read_pcapng_huge_timestamps);
    tcase_add_test(tf, read_into_analyzer);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    return run_suite(capture_suite());
}
