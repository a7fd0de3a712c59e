/* test_decode.c - link/IP/TCP decoding and IP fragment reassembly on hand-built packets. */
#include <stdlib.h>

#include "decode.h"
#include "ipfrag.h"
#include "pktbuild.h"
#include "util.h"

static const uint8_t syn_opts[] = {2, 4, 0x05, 0xb4, /* MSS 1460 */
                                   4, 2,             /* SACK permitted */
                                   8, 10, 0, 0, 0, 1, 0, 0, 0, 0, /* TS 1/0 */
                                   1, 3, 3, 7}; /* NOP, WS 7 */

static struct seg base_seg(int family)
{
    struct seg s = {family, family == 4 ? "10.0.0.1" : "fd00::1",
                    family == 4 ? "10.0.0.2" : "fd00::2", 40000, 80, 1000, 0, TCPF_SYN, 64240,
                    syn_opts, sizeof syn_opts, NULL, 0};
    return s;
}

static enum dec_result dec(enum wst_link link, const uint8_t *b, size_t caplen, size_t wirelen,
                           struct pkt *p)
{
    /* The packet sits right before a PROT_NONE page and stays mapped until the next call,
     * so p->payload can still be read by the caller. */
    static struct guard g;
    struct decoder d = {ipfrag_new(8, 1 << 20, 30000000)};
    struct dec_error e;
    if (g.base)
        guard_free(&g);
    const uint8_t *gb = guard_copy(&g, b, caplen);
    ck_assert_ptr_nonnull(gb);
    enum dec_result r =
        decode_packet(&d, link, 0, gb, (uint32_t)caplen, (uint32_t)wirelen, p, &e);
    if (r == DEC_TRUNCATED || r == DEC_MALFORMED)
        ck_assert_ptr_nonnull(e.detail);
    ipfrag_free(d.frag);
    return r;
}

START_TEST(test_tcp_options)
{
    struct wst_tcp_opts o;
    decode_tcp_options(syn_opts, sizeof syn_opts, &o);
    ck_assert_int_eq(o.mss, 1460);
    ck_assert_int_eq(o.wscale, 7);
    ck_assert(o.sack_perm);
    ck_assert(o.has_ts);
    ck_assert_uint_eq(o.ts_val, 1);
    ck_assert(!o.malformed);

    const uint8_t sack[] = {1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40,
                            0xfd, 4, 1, 2};
    decode_tcp_options(sack, sizeof sack, &o);
    ck_assert_int_eq(o.nsack, 2);
    ck_assert_uint_eq(o.sack[1].left, 30);
    ck_assert_uint_eq(o.sack[1].right, 40);
    ck_assert_int_eq(o.nunknown, 1);
    ck_assert_int_eq(o.unknown[0], 0xfd);
    ck_assert_int_eq(o.mss, -1);

    const uint8_t zero_len[] = {2, 0, 1, 1};
    decode_tcp_options(zero_len, sizeof zero_len, &o);
    ck_assert(o.malformed);
    const uint8_t beyond[] = {1, 8, 10, 0, 0};
    decode_tcp_options(beyond, sizeof beyond, &o);
    ck_assert(o.malformed);
    const uint8_t bad_mss[] = {2, 3, 5, 1};
    decode_tcp_options(bad_mss, sizeof bad_mss, &o);
    ck_assert(o.malformed);
    ck_assert_int_eq(o.mss, -1);
    const uint8_t eol[] = {0, 2, 4, 5, 0xb4};
    decode_tcp_options(eol, sizeof eol, &o);
    ck_assert_int_eq(o.mss, -1);
    ck_assert(!o.malformed);
}
END_TEST

START_TEST(test_ethernet_ipv4)
{
    uint8_t b[256];
    struct seg s = base_seg(4);
    size_t n = pb_eth(b, &s);
    struct pkt p;
    ck_assert_int_eq(dec(WST_LINK_ETHERNET, b, n, n, &p), DEC_TCP);
    ck_assert_int_eq(p.family, 4);
    ck_assert_int_eq(p.src[0], 10);
    ck_assert_int_eq(p.dst[3], 2);
    ck_assert_uint_eq(p.sport, 40000);
    ck_assert_uint_eq(p.dport, 80);
    ck_assert_uint_eq(p.seq, 1000);
    ck_assert_uint_eq(p.flags, TCPF_SYN);
    ck_assert_uint_eq(p.win, 64240);
    ck_assert_int_eq(p.opts.mss, 1460);
    ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

START_TEST(test_ethernet_padding_and_payload)
{
    uint8_t b[256];
    const uint8_t data[] = "GET / HTTP/1.1\r\n";
    struct seg s = base_seg(4);
    s.flags = TCPF_ACK | TCPF_PSH;
    s.opts = NULL;
    s.optlen = 0;
    s.payload = data;
    s.plen = 16;
    size_t n = pb_eth(b, &s);
    memset(b + n, 0xee, 10); /* trailer/padding must not become payload */
    struct pkt p;
    ck_assert_int_eq(dec(WST_LINK_ETHERNET, b, n + 10, n + 10, &p), DEC_TCP);
    ck_assert_uint_eq(p.payload_len, 16);
    ck_assert_uint_eq(p.payload_cap, 16);
    ck_assert_mem_eq(p.payload, data, 16);
}
END_TEST

START_TEST(test_vlan_tags)
{
    uint8_t b[256], t[256];
    struct seg s = base_seg(4);
    size_t n = pb_eth(b, &s);
    /* insert 802.1ad + 802.1Q tags after the MAC addresses */
    memcpy(t, b, 12);
    /* outer VID 200 with priority 5 and DEI set (TCI 0xb0c8), inner VID 100 */
    const uint8_t tags[] = {0x88, 0xa8, 0xb0, 0xc8, 0x81, 0x00, 0x00, 0x64};
    memcpy(t + 12, tags, sizeof tags);
    memcpy(t + 12 + sizeof tags, b + 12, n - 12);
    struct pkt p;
    ck_assert_int_eq(dec(WST_LINK_ETHERNET, t, n + 8, n + 8, &p), DEC_TCP);
    ck_assert_uint_eq(p.dport, 80);
    ck_assert_uint_eq(p.nvlan, 2);
    ck_assert_uint_eq(p.vlan[0], 200); /* the priority and DEI bits are not part of the id */
    ck_assert_uint_eq(p.vlan[1], 100);
    ck_assert_int_eq(dec(WST_LINK_ETHERNET, b, n, n, &p), DEC_TCP);
    ck_assert_uint_eq(p.nvlan, 0);
    /* four tags are kept, outermost first */
    uint8_t q[300];
    memcpy(q, b, 12);
    for (int i = 0; i < 4; i++) {
        q[12 + 4 * i] = 0x81;
        q[13 + 4 * i] = 0x00;
        q[14 + 4 * i] = 0x0f;
        q[15 + 4 * i] = (uint8_t)(0xf0 + i);
    }
    memcpy(q + 28, b + 12, n - 12);
    ck_assert_int_eq(dec(WST_LINK_ETHERNET, q, n + 16, n + 16, &p), DEC_TCP);
    ck_assert_uint_eq(p.nvlan, 4);
    ck_assert_uint_eq(p.vlan[0], 4080);
    ck_assert_uint_eq(p.vlan[3], 4083);
    /* five tags is too many */
    uint8_t m[300];
    memcpy(m, b, 12);
    for (int i = 0; i < 5; i++) {
        m[12 + 4 * i] = 0x81;
        m[13 + 4 * i] = 0x00;
        m[14 + 4 * i] = 0;
        m[15 + 4 * i] = 1;
    }
    memcpy(m + 32, b + 12, n - 12);
    ck_assert_int_eq(dec(WST_LINK_ETHERNET, m, n + 20, n + 20, &p), DEC_MALFORMED);
}
END_TEST

START_TEST(test_other_links)
{
    uint8_t ip[256], b[300];
    struct seg s4 = base_seg(4), s6 = base_seg(6);
    size_t n4 = pb_ip(ip, &s4);
    struct pkt p;

    /* SLL: 16-byte header, protocol at 14 */
    memset(b, 0, 16);
    b[14] = 0x08;
    memcpy(b + 16, ip, n4);
    ck_assert_int_eq(dec(WST_LINK_SLL, b, n4 + 16, n4 + 16, &p), DEC_TCP);
    /* SLL2: 20-byte header, protocol at 0 */
    memset(b, 0, 20);
    b[0] = 0x08;
    memcpy(b + 20, ip, n4);
    ck_assert_int_eq(dec(WST_LINK_SLL2, b, n4 + 20, n4 + 20, &p), DEC_TCP);
    /* NULL in either byte order */
    memset(b, 0, 4);
    b[0] = 2;
    memcpy(b + 4, ip, n4);
    ck_assert_int_eq(dec(WST_LINK_NULL, b, n4 + 4, n4 + 4, &p), DEC_TCP);
    b[0] = 0;
    b[3] = 2;
    ck_assert_int_eq(dec(WST_LINK_NULL, b, n4 + 4, n4 + 4, &p), DEC_TCP);
    /* LOOP is network order; an unknown family is not IP */
    ck_assert_int_eq(dec(WST_LINK_LOOP, b, n4 + 4, n4 + 4, &p), DEC_TCP);
    b[3] = 99;
    ck_assert_int_eq(dec(WST_LINK_LOOP, b, n4 + 4, n4 + 4, &p), DEC_NOT_IP);
    /* RAW and IPV4 */
    ck_assert_int_eq(dec(WST_LINK_RAW, ip, n4, n4, &p), DEC_TCP);
    ck_assert_int_eq(dec(WST_LINK_IPV4, ip, n4, n4, &p), DEC_TCP);
    size_t n6 = pb_ip(ip, &s6);
    ck_assert_int_eq(dec(WST_LINK_RAW, ip, n6, n6, &p), DEC_TCP);
    ck_assert_int_eq(p.family, 6);
    ck_assert_int_eq(p.src[15], 1);
    ck_assert_int_eq(dec(WST_LINK_IPV6, ip, n6, n6, &p), DEC_TCP);
    /* NULL with a BSD AF_INET6 value */
    memset(b, 0, 4);
    b[0] = 30;
    memcpy(b + 4, ip, n6);
    ck_assert_int_eq(dec(WST_LINK_NULL, b, n6 + 4, n6 + 4, &p), DEC_TCP);
    ck_assert_int_eq(dec(WST_LINK_UNSUPPORTED, b, n6 + 4, n6 + 4, &p), DEC_NOT_IP);
}
END_TEST

START_TEST(test_ipv4_options_and_errors)
{
    uint8_t ip[256], b[300];
    struct seg s = base_seg(4);
    size_t n = pb_ip(ip, &s);
    struct pkt p;

    /* IHL 6 with a 4-byte option (NOPs) */
    memcpy(b, ip, 20);
    b[0] = 0x46;
    memset(b + 20, 1, 4);
    memcpy(b + 24, ip + 20, n - 20);
    pb_put16(b + 2, (uint16_t)(n + 4));
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n + 4, n + 4, &p), DEC_TCP);
    ck_assert_int_eq(p.opts.mss, 1460);

    memcpy(b, ip, n);
    b[0] = 0x44; /* IHL below 5 */
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n, n, &p), DEC_MALFORMED);
    memcpy(b, ip, n);
    pb_put16(b + 2, 10); /* total length below header */
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n, n, &p), DEC_MALFORMED);
    memcpy(b, ip, n);
    pb_put16(b + 2, (uint16_t)(n + 100)); /* beyond the packet, not cut by snaplen */
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n, n, &p), DEC_TCP);
    ck_assert_ptr_nonnull(p.warn);
    ck_assert_uint_eq(p.payload_len, 0);
    memcpy(b, ip, n);
    b[32] = 0x40; /* TCP data offset 4 words */
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n, n, &p), DEC_MALFORMED);
    memcpy(b, ip, n);
    b[9] = 17; /* UDP */
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n, n, &p), DEC_NOT_TCP);
}
END_TEST

/* Every prefix of a packet, as a snaplen would cut it: never a crash, never a misread. */
START_TEST(test_every_truncation)
{
    uint8_t b[400];
    uint8_t data[100];
    memset(data, 'x', sizeof data);
    for (int fam = 4; fam <= 6; fam += 2) {
        struct seg s = base_seg(fam);
        s.flags = TCPF_ACK;
        s.payload = data;
        s.plen = sizeof data;
        size_t n = pb_eth(b, &s);
        size_t fixed = 14 + (fam == 4 ? 20 : 40) + 20; /* through the fixed TCP header */
        size_t hdr = fixed + sizeof syn_opts;
        for (size_t cut = 0; cut < n; cut++) {
            struct pkt p;
            enum dec_result r = dec(WST_LINK_ETHERNET, b, cut, n, &p);
            if (cut < fixed) {
                ck_assert_int_eq(r, DEC_TRUNCATED);
            } else if (cut < hdr) {
                /* cut inside the options: the segment counts, its options are flagged cut and
                 * no payload byte is held */
                ck_assert_int_eq(r, DEC_TCP);
                ck_assert(p.opts.cut);
                ck_assert(!p.opts.malformed);
                ck_assert_uint_eq(p.payload_len, sizeof data);
                ck_assert_uint_eq(p.payload_cap, 0);
            } else {
                ck_assert(!p.opts.cut);
                ck_assert_int_eq(r, DEC_TCP);
                ck_assert_uint_eq(p.payload_len, sizeof data);
                ck_assert_uint_eq(p.payload_cap, cut - hdr);
            }
            /* the same bytes claimed as the whole packet are malformed, not truncated */
            r = dec(WST_LINK_ETHERNET, b, cut, cut, &p);
            if (cut < hdr)
                ck_assert_int_eq(r, DEC_MALFORMED);
        }
    }
}
END_TEST

START_TEST(test_ipv6_extension_chain)
{
    uint8_t ip[300], b[400];
    struct seg s = base_seg(6);
    size_t n = pb_ip(ip, &s);
    struct pkt p;

    /* hop-by-hop (8 bytes) then destination options (16 bytes) then TCP */
    memcpy(b, ip, 40);
    b[6] = 0;
    uint8_t *e = b + 40;
    memset(e, 0, 24);
    e[0] = 60;
    e[1] = 0;
    e[8] = 6;
    e[9] = 1;
    memcpy(b + 64, ip + 40, n - 40);
    pb_put16(b + 4, (uint16_t)(n - 40 + 24));
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n + 24, n + 24, &p), DEC_TCP);
    ck_assert_int_eq(p.opts.wscale, 7);
    /* ESP stops the walk */
    b[6] = 50;
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n + 24, n + 24, &p), DEC_NOT_TCP);
    /* an extension header that claims more than the payload */
    b[6] = 0;
    e[1] = 200;
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n + 24, n + 24, &p), DEC_MALFORMED);
    /* a chain of 20 hop-by-hop headers is too long */
    memcpy(b, ip, 40);
    b[6] = 0;
    for (int i = 0; i < 20; i++) {
        memset(b + 40 + 8 * i, 0, 8);
        b[40 + 8 * i] = 0;
    }
    pb_put16(b + 4, 160);
    ck_assert_int_eq(dec(WST_LINK_RAW, b, 200, 200, &p), DEC_MALFORMED);
    /* zero payload length (jumbogram) */
    memcpy(b, ip, n);
    pb_put16(b + 4, 0);
    ck_assert_int_eq(dec(WST_LINK_RAW, b, n, n, &p), DEC_MALFORMED);
}
END_TEST

/* Split an IPv4 TCP packet into fragments of `chunk` bytes (multiple of 8). */
static int v4_fragments(const uint8_t *ip, size_t n, size_t chunk, uint8_t frags[][128],
                        size_t *lens)
{
    size_t l4 = n - 20;
    int k = 0;
    for (size_t off = 0; off < l4; off += chunk, k++) {
        size_t len = l4 - off < chunk ? l4 - off : chunk;
        memcpy(frags[k], ip, 20);
        pb_put16(frags[k] + 2, (uint16_t)(20 + len));
        pb_put16(frags[k] + 4, 0x1234);
        uint16_t fo = (uint16_t)(off / 8);
        if (off + len < l4)
            fo |= 0x2000;
        pb_put16(frags[k] + 6, fo);
        memcpy(frags[k] + 20, ip + 20 + off, len);
        lens[k] = 20 + len;
    }
    return k;
}

START_TEST(test_ipv4_fragments)
{
    uint8_t ip[300], frags[16][128];
    size_t lens[16];
    uint8_t data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)i;
    struct seg s = base_seg(4);
    s.flags = TCPF_ACK;
    s.payload = data;
    s.plen = sizeof data;
    size_t n = pb_ip(ip, &s);
    int k = v4_fragments(ip, n, 48, frags, lens);
    ck_assert_int_eq(k, 3);

    struct decoder d = {ipfrag_new(4, 1 << 20, 30000000)};
    struct dec_error e;
    struct pkt p;
    /* out of order: last, first, then a duplicate of the last, then the middle */
    ck_assert_int_eq(decode_packet(&d, WST_LINK_RAW, 1, frags[2], (uint32_t)lens[2],
                                   (uint32_t)lens[2], &p, &e),
                     DEC_FRAG_HELD);
    ck_assert_int_eq(decode_packet(&d, WST_LINK_RAW, 2, frags[0], (uint32_t)lens[0],
                                   (uint32_t)lens[0], &p, &e),
                     DEC_FRAG_HELD);
    ck_assert_int_eq(decode_packet(&d, WST_LINK_RAW, 3, frags[2], (uint32_t)lens[2],
                                   (uint32_t)lens[2], &p, &e),
                     DEC_FRAG_HELD);
    ck_assert_int_eq(decode_packet(&d, WST_LINK_RAW, 4, frags[1], (uint32_t)lens[1],
                                   (uint32_t)lens[1], &p, &e),
                     DEC_TCP);
    ck_assert(p.reassembled);
    ck_assert_uint_eq(p.payload_len, 100);
    ck_assert_mem_eq(p.payload, data, 100);
    ck_assert_int_eq(p.opts.mss, 1460);
    ipfrag_free(d.frag);
}
END_TEST

/* An Ethernet frame with one 802.1Q tag around an IPv4 packet (or fragment). */
static size_t vlan_frame(uint8_t *out, uint16_t vid, const uint8_t *ip, size_t n)
{
    memset(out, 0, 12);
    out[0] = 0x02;
    out[6] = 0x02;
    pb_put16(out + 12, 0x8100);
    pb_put16(out + 14, vid);
    pb_put16(out + 16, 0x0800);
    memcpy(out + 18, ip, n);
    return 18 + n;
}

/* The same datagram id on two VLANs is two datagrams: fragments never mix across VLANs. */
START_TEST(test_ipv4_fragments_per_vlan)
{
    uint8_t ip[300], frags[16][128], fr[160];
    size_t lens[16];
    uint8_t data[100];
    memset(data, 'v', sizeof data);
    struct seg s = base_seg(4);
    s.flags = TCPF_ACK;
    s.payload = data;
    s.plen = sizeof data;
    size_t n = pb_ip(ip, &s);
    ck_assert_int_eq(v4_fragments(ip, n, 48, frags, lens), 3);

    struct decoder d = {ipfrag_new(4, 1 << 20, 30000000)};
    struct dec_error e;
    struct pkt p;
    static const uint16_t vids[] = {10, 20, 20, 10, 10};
    static const int which[] = {0, 1, 2, 1, 2};
    static const enum dec_result want[] = {DEC_FRAG_HELD, DEC_FRAG_HELD, DEC_FRAG_HELD,
                                           DEC_FRAG_HELD, DEC_TCP};
    for (int i = 0; i < 5; i++) {
        size_t fl = vlan_frame(fr, vids[i], frags[which[i]], lens[which[i]]);
        ck_assert_int_eq(decode_packet(&d, WST_LINK_ETHERNET, i, fr, (uint32_t)fl, (uint32_t)fl,
                                       &p, &e),
                         want[i]);
    }
    ck_assert(p.reassembled);
    ck_assert_uint_eq(p.nvlan, 1);
    ck_assert_uint_eq(p.vlan[0], 10);
    ck_assert_uint_eq(p.payload_len, 100);
    ck_assert_mem_eq(p.payload, data, 100);
    ipfrag_free(d.frag);
}
END_TEST

START_TEST(test_ipfrag_caps)
{
    uint8_t buf[64];
    memset(buf, 7, sizeof buf);
    const uint8_t *out;
    uint32_t outlen;
    struct ipfrag_key k1, k2;
    memset(&k1, 0, sizeof k1);
    k1.family = 4;
    k1.id = 1;
    k2 = k1;
    k2.id = 2;

    /* one slot: a second datagram evicts the first */
    struct ipfrag *f = ipfrag_new(1, 1 << 20, 1000);
    ck_assert_int_eq(ipfrag_add(f, &k1, 0, 0, true, buf, 16, &out, &outlen), IPFRAG_HELD);
    ck_assert_int_eq(ipfrag_add(f, &k2, 1, 0, true, buf, 16, &out, &outlen), IPFRAG_HELD);
    ck_assert_uint_eq(ipfrag_dropped(f), 1);
    ck_assert_int_eq(ipfrag_add(f, &k2, 2, 16, false, buf, 5, &out, &outlen), IPFRAG_DONE);
    ck_assert_uint_eq(outlen, 21);
    /* timeout */
    ck_assert_int_eq(ipfrag_add(f, &k1, 10, 0, true, buf, 16, &out, &outlen), IPFRAG_HELD);
    ck_assert_int_eq(ipfrag_add(f, &k1, 5000, 16, false, buf, 8, &out, &outlen), IPFRAG_HELD);
    ck_assert_uint_eq(ipfrag_dropped(f), 2);
    /* inconsistent fragments */
    ck_assert_int_eq(ipfrag_add(f, &k2, 5001, 0, true, buf, 12, &out, &outlen), IPFRAG_BAD);
    ck_assert_int_eq(ipfrag_add(f, &k2, 5001, 65528, false, buf, 16, &out, &outlen),
                     IPFRAG_BAD);
    ipfrag_free(f);

    /* byte cap: 40 bytes total */
    f = ipfrag_new(4, 40, 1000000);
    ck_assert_int_eq(ipfrag_add(f, &k1, 0, 0, true, buf, 32, &out, &outlen), IPFRAG_HELD);
    ck_assert_int_eq(ipfrag_add(f, &k2, 1, 0, true, buf, 32, &out, &outlen), IPFRAG_HELD);
    ck_assert_uint_eq(ipfrag_dropped(f), 1);
    ck_assert_int_eq(ipfrag_add(f, &k1, 2, 0, true, buf, 48, &out, &outlen), IPFRAG_LIMIT);
    ipfrag_free(f);
}
END_TEST

START_TEST(test_ipv6_fragments)
{
    uint8_t ip[300], f1[200], f2[200];
    uint8_t data[60];
    memset(data, 'z', sizeof data);
    struct seg s = base_seg(6);
    s.flags = TCPF_ACK;
    s.opts = NULL;
    s.optlen = 0;
    s.payload = data;
    s.plen = sizeof data;
    size_t n = pb_ip(ip, &s);
    size_t l4 = n - 40; /* 80 bytes: split 48 + 32 */
    for (int i = 0; i < 2; i++) {
        uint8_t *f = i ? f2 : f1;
        size_t off = i ? 48 : 0, len = i ? l4 - 48 : 48;
        memcpy(f, ip, 40);
        f[6] = 44;
        pb_put16(f + 4, (uint16_t)(8 + len));
        f[40] = 6;
        f[41] = 0;
        pb_put16(f + 42, (uint16_t)(off | (i ? 0 : 1)));
        pb_put32(f + 44, 0xabcd);
        memcpy(f + 48, ip + 40 + off, len);
    }
    struct decoder d = {ipfrag_new(4, 1 << 20, 30000000)};
    struct dec_error e;
    struct pkt p;
    ck_assert_int_eq(decode_packet(&d, WST_LINK_RAW, 1, f2, (uint32_t)(48 + l4 - 48),
                                   (uint32_t)(48 + l4 - 48), &p, &e),
                     DEC_FRAG_HELD);
    ck_assert_int_eq(decode_packet(&d, WST_LINK_RAW, 2, f1, 96, 96, &p, &e), DEC_TCP);
    ck_assert_uint_eq(p.payload_len, 60);
    ck_assert_mem_eq(p.payload, data, 60);
    ipfrag_free(d.frag);
}
END_TEST

static Suite *decode_suite(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tcp_options);
    tcase_add_test(tc, test_ethernet_ipv4);
    tcase_add_test(tc, test_ethernet_padding_and_payload);
    tcase_add_test(tc, test_vlan_tags);
    tcase_add_test(tc, test_other_links);
    tcase_add_test(tc, test_ipv4_options_and_errors);
    tcase_add_test(tc, test_every_truncation);
    tcase_add_test(tc, test_ipv6_extension_chain);
    tcase_add_test(tc, test_ipv4_fragments);
    tcase_add_test(tc, test_ipv4_fragments_per_vlan);
    tcase_add_test(tc, test_ipfrag_caps);
    tcase_add_test(tc, test_ipv6_fragments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(decode_suite());
}
