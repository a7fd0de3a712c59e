/* mkhostile.c - writes hostile captures for wstap's robustness and memory tests.
 *
 * These are HAND-BUILT packets (not recordings of real software): SYN floods, out-of-order
 * floods and other inputs no well-behaved stack produces. The capture file format is written
 * by libpcap (pcap_open_dead + pcap_dump), never by hand.
 *
 * Usage: mkhostile KIND OUT [N]      (OUT "-" writes to stdout)
 *   synflood N     N SYNs from distinct source endpoints: N half-open connections
 *   oooflood N     one connection whose first data segment never arrives, followed by N
 *                  bytes of later data in 1448-byte segments (nothing is ever in order)
 *   oooconns N     N connections, each with 64 KiB queued behind a missing first segment
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t pkt[2048];

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* IPv4 checksum over the header (captures need not have one, but keep tshark quiet). */
static uint16_t ip_sum(const uint8_t *h)
{
    uint32_t s = 0;
    for (int i = 0; i < 20; i += 2)
        s += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Ethernet + IPv4 + TCP with len payload bytes (filled with fill); returns frame length. */
static size_t build(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq,
                    uint32_t ack, uint8_t flags, size_t len, uint8_t fill)
{
    memset(pkt, 0, 54);
    pkt[0] = 0x02;
    pkt[6] = 0x02;
    pkt[11] = 1;
    put16(pkt + 12, 0x0800);
    uint8_t *ip = pkt + 14;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(40 + len));
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, ip_sum(ip));
    uint8_t *tcp = ip + 20;
    put16(tcp, sport);
    put16(tcp + 2, dport);
    put32(tcp + 4, seq);
    put32(tcp + 8, ack);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    memset(tcp + 20, fill, len);
    return 54 + len;
}

static void emit(pcap_dumper_t *d, uint64_t *t_us, size_t n)
{
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(1700000000 + *t_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(*t_us % 1000000);
    h.caplen = h.len = (bpf_u_int32)n;
    pcap_dump((u_char *)d, &h, pkt);
    *t_us += 10;
}

#define SYN 0x02
#define ACK 0x10
#define PSH 0x08

static void handshake(pcap_dumper_t *d, uint64_t *t, uint32_t c, uint16_t cp, uint32_t s,
                      uint16_t sp, uint32_t isn_c, uint32_t isn_s)
{
    emit(d, t, build(c, cp, s, sp, isn_c, 0, SYN, 0, 0));
    emit(d, t, build(s, sp, c, cp, isn_s, isn_c + 1, SYN | ACK, 0, 0));
    emit(d, t, build(c, cp, s, sp, isn_c + 1, isn_s + 1, ACK, 0, 0));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mkhostile synflood|oooflood|oooconns OUT [N]\n");
        return 2;
    }
    uint64_t n = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = pcap_dump_open(p, argv[2]);
    if (!d) {
        fprintf(stderr, "mkhostile: %s\n", pcap_geterr(p));
        return 2;
    }
    uint64_t t = 0;
    const uint32_t server = 0x0a000001; /* 10.0.0.1 */
    if (strcmp(argv[1], "synflood") == 0) {
        for (uint64_t i = 0; i < n; i++) {
            uint32_t src = 0x0b000000u | (uint32_t)(i / 60000); /* 11.x.y.z */
            uint16_t sp = (uint16_t)(1024 + i % 60000);
            emit(d, &t, build(src, sp, server, 80, (uint32_t)(i * 2654435761u), 0, SYN, 0, 0));
        }
    } else if (strcmp(argv[1], "oooflood") == 0) {
        uint32_t c = 0x0b000001;
        handshake(d, &t, c, 40000, server, 80, 1000, 5000);
        /* the first 1448 bytes never arrive; everything after is out of order */
        uint32_t seq = 1001 + 1448;
        for (uint64_t sent = 0; sent < n; sent += 1448) {
            emit(d, &t, build(c, 40000, server, 80, seq, 5001, ACK | PSH, 1448, 'o'));
            seq += 1448;
        }
    } else if (strcmp(argv[1], "oooconns") == 0) {
        for (uint64_t i = 0; i < n; i++) {
            uint32_t c = 0x0b000000u | (uint32_t)(i + 1);
            uint16_t cp = (uint16_t)(1024 + i % 60000);
            handshake(d, &t, c, cp, server, 80, 1000, 5000);
            uint32_t seq = 1001 + 1448;
            for (int k = 0; k < 45; k++) { /* about 64 KiB queued per connection */
                emit(d, &t, build(c, cp, server, 80, seq, 5001, ACK | PSH, 1448, 'q'));
                seq += 1448;
            }
        }
    } else {
        fprintf(stderr, "mkhostile: unknown kind %s\n", argv[1]);
        return 2;
    }
    pcap_dump_close(d);
    pcap_close(p);
    return 0;
}
