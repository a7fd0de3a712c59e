/* mkhostile.c - writes hostile captures for wstap's robustness and memory tests.
 *
 * These are HAND-BUILT packets (not recordings of real software): SYN floods, out-of-order
 * floods and other inputs no well-behaved stack produces. The capture file format is written
 * by libpcap (pcap_open_dead + pcap_dump), never by hand.
 *
 * Usage: mkhostile KIND OUT [N|IN]      (OUT "-" writes to stdout)
 *   synflood N     N SYNs from distinct source endpoints: N half-open connections
 *   oooflood N     one connection whose first data segment never arrives, followed by N
 *                  bytes of later data in 1448-byte segments (nothing is ever in order)
 *   oooconns N     N connections, each with 64 KiB queued behind a missing first segment
 *   bomb N         a WebSocket upgrade with permessage-deflate, then client messages whose
 *                  compressed payloads inflate far beyond their size: one of about 1 KB that
 *                  inflates to 1 MiB (DEFLATE cannot do better than about 1:1032, so 1 KB can
 *                  never become 1 GB), then one that inflates to N MiB (default 1024: 1 GiB
 *                  from about 1 MB on the wire)
 *   len64          WebSocket frames whose 64-bit length is 2^63 (most significant bit set,
 *                  forbidden by RFC 6455 5.2) and 2^63 - 1 (legal, but never delivered)
 *   overlap        retransmissions that overlap earlier data with different bytes: an exact
 *                  resend, one that covers the tail of one segment and the head of the next,
 *                  and one inside a segment; then a WebSocket message after them
 *   splitgap       a WebSocket frame header split across a segment that never arrives (the
 *                  first header byte ends one segment, the rest is in the lost one); later
 *                  frames follow
 *   wsopen         a short WebSocket session, used as the base of the truncated capture
 *   snap64 IN      IN (a capture file, read with libpcap) written again with every packet cut
 *                  to 64 bytes, as `tcpdump -s 64` would have recorded it
 *   garbage        the pcap magic number followed by pseudo-random bytes (written by hand:
 *                  the point is a file libpcap must refuse or stop reading)
 *   badrecord      a valid pcap file header, one valid packet, then a record header whose
 *                  captured length is 0x7fffffff (written by hand)
 *   tlsbig         TLS: a ClientHello, then server records whose headers declare 65535 bytes
 *                  (beyond any TLS record), a ServerHello, and N MiB of maximal protected
 *                  records (16384 + 2048 bytes each) that no key can open
 *   tlshs          TLS: a ClientHello, then a handshake message that declares 2^24 - 1 bytes and
 *                  continues in handshake records of 16384 bytes for N MiB
 *   tlshellos      N ClientHellos on one connection (one handshake record each), then N
 *                  connections that each send a ClientHello and stay open
 *   pcapng-unknown a pcapng file (written by hand: libpcap cannot write pcapng) with a
 *                  section header, an interface, a block of an unknown type and an oversized
 *                  custom block between its enhanced packet blocks
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint8_t pkt[2048];
#define SEG 1448 /* payload bytes per segment, as on Ethernet with timestamps */

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

/* ---- WebSocket sessions -------------------------------------------------------------------- */

/* One connection: client c:cp, server s:sp, next sequence number of each side. */
struct conn {
    pcap_dumper_t *d;
    uint64_t *t;
    uint32_t c, s;
    uint16_t cp, sp;
    uint32_t cseq, sseq;
};

static struct conn conn_open(pcap_dumper_t *d, uint64_t *t, uint32_t c, uint16_t cp, uint32_t s,
                             uint16_t sp)
{
    struct conn k = {d, t, c, s, cp, sp, 1000, 5000};
    handshake(d, t, c, cp, s, sp, k.cseq, k.sseq);
    k.cseq++;
    k.sseq++;
    return k;
}

/* Send len bytes from the client (c2s != 0) or the server in segments of at most SEG bytes.
 * skip: the byte offset of a segment to leave out of the capture (as if lost), or -1. */
static void conn_send_skip(struct conn *k, int c2s, const uint8_t *b, size_t len, long skip)
{
    for (size_t off = 0; off < len;) {
        size_t n = len - off < SEG ? len - off : SEG;
        uint32_t *seq = c2s ? &k->cseq : &k->sseq;
        size_t fl = c2s ? build(k->c, k->cp, k->s, k->sp, *seq, k->sseq, ACK | PSH, n, 0)
                        : build(k->s, k->sp, k->c, k->cp, *seq, k->cseq, ACK | PSH, n, 0);
        memcpy(pkt + 54, b + off, n);
        if (skip < 0 || (size_t)skip != off)
            emit(k->d, k->t, fl);
        *seq += (uint32_t)n;
        off += n;
    }
}

static void conn_send(struct conn *k, int c2s, const void *b, size_t len)
{
    conn_send_skip(k, c2s, b, len, -1);
}

/* A segment at an explicit sequence number, not advancing the sender (a retransmission). */
static void conn_resend(struct conn *k, int c2s, uint32_t seq, const void *b, size_t len)
{
    size_t fl = c2s ? build(k->c, k->cp, k->s, k->sp, seq, k->sseq, ACK | PSH, len, 0)
                    : build(k->s, k->sp, k->c, k->cp, seq, k->cseq, ACK | PSH, len, 0);
    memcpy(pkt + 54, b, len);
    emit(k->d, k->t, fl);
}

static void conn_fin(struct conn *k)
{
    emit(k->d, k->t, build(k->c, k->cp, k->s, k->sp, k->cseq, k->sseq, ACK | 0x01, 0, 0));
    emit(k->d, k->t, build(k->s, k->sp, k->c, k->cp, k->sseq, k->cseq + 1, ACK | 0x01, 0, 0));
    emit(k->d, k->t, build(k->c, k->cp, k->s, k->sp, k->cseq + 1, k->sseq + 1, ACK, 0, 0));
}

/* The upgrade of RFC 6455 section 1.3 (its sample key and accept value). */
static void ws_upgrade(struct conn *k, int pmd)
{
    char req[512], resp[512];
    int n = snprintf(req, sizeof req,
                     "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     pmd ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
    conn_send(k, 1, req, (size_t)n);
    n = snprintf(resp, sizeof resp,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                 "%s\r\n",
                 pmd ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
    conn_send(k, 0, resp, (size_t)n);
}

/* A frame header into h (mask key appended when masked); returns its length. */
static size_t ws_header(uint8_t *h, uint8_t b0, uint64_t len, const uint8_t *mask)
{
    size_t n = 0;
    h[n++] = b0;
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        h[n++] = (uint8_t)(m | len);
    } else if (len < 65536) {
        h[n++] = m | 126;
        put16(h + n, (uint16_t)len);
        n += 2;
    } else {
        h[n++] = m | 127;
        put32(h + n, (uint32_t)(len >> 32));
        put32(h + n + 4, (uint32_t)len);
        n += 8;
    }
    if (mask) {
        memcpy(h + n, mask, 4);
        n += 4;
    }
    return n;
}

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A whole frame; client frames are masked (the payload is copied to mask it). */
static void ws_frame(struct conn *k, int c2s, uint8_t b0, const uint8_t *p, size_t len)
{
    uint8_t *f = malloc(len + 14);
    if (!f) {
        fprintf(stderr, "mkhostile: out of memory\n");
        exit(2);
    }
    size_t h = ws_header(f, b0, len, c2s ? MASK : NULL);
    for (size_t i = 0; i < len; i++)
        f[h + i] = c2s ? (uint8_t)(p[i] ^ MASK[i & 3]) : p[i];
    conn_send(k, c2s, f, h + len);
    free(f);
}

/* Raw DEFLATE of mib MiB of one repeated byte, ended by a sync flush whose 00 00 ff ff tail is
 * removed (RFC 7692 7.2.1). *outlen gets the compressed size. */
static uint8_t *deflate_bomb(uint64_t bytes, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(2);
    static uint8_t in[1 << 16];
    memset(in, 'A', sizeof in);
    size_t cap = bytes / 1000 + 4096, used = 0;
    uint8_t *out = malloc(cap);
    if (!out)
        exit(2);
    for (uint64_t left = bytes;;) {
        size_t n = left < sizeof in ? (size_t)left : sizeof in;
        left -= n;
        z.next_in = in;
        z.avail_in = (uInt)n;
        do {
            if (cap - used < 65536) {
                cap *= 2;
                out = realloc(out, cap);
                if (!out)
                    exit(2);
            }
            z.next_out = out + used;
            z.avail_out = (uInt)(cap - used);
            deflate(&z, left ? Z_NO_FLUSH : Z_SYNC_FLUSH);
            used = cap - z.avail_out;
        } while (z.avail_in || z.avail_out == 0);
        if (!left)
            break;
    }
    deflateEnd(&z);
    if (used >= 4 && memcmp(out + used - 4, "\x00\x00\xff\xff", 4) == 0)
        used -= 4;
    *outlen = used;
    return out;
}

/* Deterministic pseudo-random bytes (xorshift), so the file is the same on every machine. */
static uint32_t rnd_state = 0x2545f491;
static uint8_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return (uint8_t)rnd_state;
}

/* ---- hand-written files (not through libpcap) ----------------------------------------------- */

static void le32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static void le16(FILE *f, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    fwrite(b, 1, 2, f);
}

static void pad4(FILE *f, size_t n)
{
    static const uint8_t z[4];
    fwrite(z, 1, (4 - n % 4) % 4, f);
}

/* pcapng enhanced packet block with frame pkt[0..n) on interface 0 at t_us. */
static void ng_epb(FILE *f, uint64_t t_us, size_t n)
{
    uint32_t total = (uint32_t)(28 + n + (4 - n % 4) % 4 + 4);
    le32(f, 6);
    le32(f, total);
    le32(f, 0);
    le32(f, (uint32_t)(t_us >> 32));
    le32(f, (uint32_t)t_us);
    le32(f, (uint32_t)n);
    le32(f, (uint32_t)n);
    fwrite(pkt, 1, n, f);
    pad4(f, n);
    le32(f, total);
}

static int write_by_hand(const char *kind, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (!f) {
        perror(path);
        return 2;
    }
    const uint32_t c = 0x0b000001, s = 0x0a000001;
    if (strcmp(kind, "garbage") == 0) {
        le32(f, 0xa1b2c3d4);
        for (int i = 0; i < 8192; i++)
            fputc(rnd(), f);
    } else if (strcmp(kind, "badrecord") == 0) {
        le32(f, 0xa1b2c3d4);
        le16(f, 2);
        le16(f, 4);
        le32(f, 0);
        le32(f, 0);
        le32(f, 65535);
        le32(f, 1); /* LINKTYPE_ETHERNET */
        size_t n = build(c, 40000, s, 80, 1000, 0, SYN, 0, 0);
        le32(f, 1700000000);
        le32(f, 0);
        le32(f, (uint32_t)n);
        le32(f, (uint32_t)n);
        fwrite(pkt, 1, n, f);
        le32(f, 1700000001);
        le32(f, 0);
        le32(f, 0x7fffffff);
        le32(f, 0x7fffffff);
        for (int i = 0; i < 4096; i++)
            fputc(rnd(), f);
    } else { /* pcapng-unknown */
        /* section header block, little-endian, no options */
        le32(f, 0x0a0d0d0a);
        le32(f, 28);
        le32(f, 0x1a2b3c4d);
        le16(f, 1);
        le16(f, 0);
        le32(f, 0xffffffff);
        le32(f, 0xffffffff);
        le32(f, 28);
        /* interface description block: Ethernet, snaplen 65535, microsecond timestamps */
        le32(f, 1);
        le32(f, 20);
        le16(f, 1);
        le16(f, 0);
        le32(f, 65535);
        le32(f, 20);
        uint64_t t = 1700000000ull * 1000000;
        ng_epb(f, t, build(c, 40000, s, 80, 1000, 0, SYN, 0, 0));
        /* a block of a type nobody has defined, with a body */
        const char body[] = "an unknown block type; readers must skip it";
        uint32_t bl = (uint32_t)(12 + sizeof body + (4 - sizeof body % 4) % 4);
        le32(f, 0x0badcafe);
        le32(f, bl);
        fwrite(body, 1, sizeof body, f);
        pad4(f, sizeof body);
        le32(f, bl);
        ng_epb(f, t + 10, build(s, 80, c, 40000, 5000, 1001, SYN | ACK, 0, 0));
        /* a custom block (type 0x00000bad, copyable) with a private enterprise number and
         * 64 KiB of data: bigger than most blocks, still to be skipped */
        le32(f, 0x00000bad);
        le32(f, 16 + 65536);
        le32(f, 32473); /* the PEN reserved for examples, RFC 5612 */
        for (int i = 0; i < 65536; i++)
            fputc(rnd(), f);
        le32(f, 16 + 65536);
        ng_epb(f, t + 20, build(c, 40000, s, 80, 1001, 5001, ACK, 0, 0));
        static const char get[] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
        size_t n = build(c, 40000, s, 80, 1001, 5001, ACK | PSH, sizeof get - 1, 0);
        memcpy(pkt + 54, get, sizeof get - 1);
        ng_epb(f, t + 30, n);
    }
    if (f != stdout && fclose(f) != 0) {
        perror(path);
        return 2;
    }
    return 0;
}

/* Every packet of IN cut to 64 bytes, through libpcap both ways. */
static int snap64(const char *in, const char *out)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *r = pcap_open_offline(in, err);
    if (!r) {
        fprintf(stderr, "mkhostile: %s\n", err);
        return 2;
    }
    pcap_t *w = pcap_open_dead(pcap_datalink(r), 64);
    pcap_dumper_t *d = pcap_dump_open(w, out);
    if (!d) {
        fprintf(stderr, "mkhostile: %s\n", pcap_geterr(w));
        return 2;
    }
    struct pcap_pkthdr *h;
    const u_char *b;
    while (pcap_next_ex(r, &h, &b) == 1) {
        struct pcap_pkthdr o = *h;
        if (o.caplen > 64)
            o.caplen = 64;
        pcap_dump((u_char *)d, &o, b);
    }
    pcap_dump_close(d);
    pcap_close(w);
    pcap_close(r);
    return 0;
}

/* A TLS record header. */
static size_t tls_hdr(uint8_t *p, uint8_t type, uint16_t len)
{
    p[0] = type;
    p[1] = 3;
    p[2] = 3;
    put16(p + 3, len);
    return 5;
}

/* A ClientHello record (random from r) with one suite and no extensions. */
static size_t tls_client_hello(uint8_t *p, uint32_t r)
{
    size_t o = tls_hdr(p, 22, 4 + 2 + 32 + 1 + 4 + 2);
    p[o++] = 1;
    p[o++] = 0;
    put16(p + o, 2 + 32 + 1 + 4 + 2), o += 2;
    p[o++] = 3, p[o++] = 3;
    for (int i = 0; i < 32; i++)
        p[o++] = (uint8_t)(r >> (8 * (i % 4)));
    p[o++] = 0;
    p[o++] = 0, p[o++] = 2, p[o++] = 0x13, p[o++] = 0x01;
    p[o++] = 1, p[o++] = 0;
    return o;
}

/* A TLS 1.3 ServerHello record (supported_versions 0x0304, TLS_AES_128_GCM_SHA256). */
static size_t tls_server_hello(uint8_t *p)
{
    size_t o = tls_hdr(p, 22, 4 + 2 + 32 + 1 + 2 + 1 + 2 + 6);
    p[o++] = 2;
    p[o++] = 0;
    put16(p + o, 2 + 32 + 1 + 2 + 1 + 2 + 6), o += 2;
    p[o++] = 3, p[o++] = 3;
    for (int i = 0; i < 32; i++)
        p[o++] = (uint8_t)(0x40 + i);
    p[o++] = 0;
    p[o++] = 0x13, p[o++] = 0x01, p[o++] = 0;
    p[o++] = 0, p[o++] = 6;
    p[o++] = 0, p[o++] = 43, p[o++] = 0, p[o++] = 2, p[o++] = 3, p[o++] = 4;
    return o;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mkhostile KIND OUT [N|IN] (see the top of mkhostile.c)\n");
        return 2;
    }
    if (strcmp(argv[1], "garbage") == 0 || strcmp(argv[1], "badrecord") == 0 ||
        strcmp(argv[1], "pcapng-unknown") == 0)
        return write_by_hand(argv[1], argv[2]);
    if (strcmp(argv[1], "snap64") == 0) {
        if (argc < 4) {
            fprintf(stderr, "mkhostile: snap64 OUT IN\n");
            return 2;
        }
        return snap64(argv[3], argv[2]);
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
    } else if (strcmp(argv[1], "bomb") == 0) {
        struct conn k = conn_open(d, &t, 0x0b000001, 40001, server, 80);
        ws_upgrade(&k, 1);
        size_t zl;
        uint8_t *z = deflate_bomb(1u << 20, &zl); /* 1 MiB from about 1 KB */
        ws_frame(&k, 1, 0xc2, z, zl);
        free(z);
        z = deflate_bomb((n ? n : 1024) << 20, &zl);
        ws_frame(&k, 1, 0xc2, z, zl);
        free(z);
        static const uint8_t hi[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}; /* "Hello" */
        ws_frame(&k, 0, 0xc1, hi, sizeof hi);
        conn_fin(&k);
    } else if (strcmp(argv[1], "len64") == 0) {
        uint8_t h[14];
        struct conn k = conn_open(d, &t, 0x0b000001, 40002, server, 80);
        ws_upgrade(&k, 0);
        size_t hl = ws_header(h, 0x82, 1ull << 63, MASK);
        conn_send(&k, 1, h, hl);
        conn_send(&k, 1, "payload after an impossible length", 34);
        conn_fin(&k);
        k = conn_open(d, &t, 0x0b000001, 40003, server, 80);
        ws_upgrade(&k, 0);
        hl = ws_header(h, 0x82, (1ull << 63) - 1, NULL);
        conn_send(&k, 0, h, hl);
        static uint8_t blk[SEG * 4];
        for (size_t i = 0; i < sizeof blk; i++)
            blk[i] = rnd();
        conn_send(&k, 0, blk, sizeof blk);
        conn_fin(&k);
    } else if (strcmp(argv[1], "overlap") == 0) {
        struct conn k = conn_open(d, &t, 0x0b000001, 40004, server, 80);
        ws_upgrade(&k, 0);
        static uint8_t a[3 * SEG];
        memset(a, 'a', sizeof a);
        uint32_t s0 = k.sseq;
        size_t hl = ws_header(a, 0x82, sizeof a - 4, NULL);
        (void)hl;
        conn_send(&k, 0, a, sizeof a);
        static uint8_t x[SEG];
        memset(x, 'X', sizeof x);
        conn_resend(&k, 0, s0 + SEG, x, SEG);           /* exact resend, other bytes */
        conn_resend(&k, 0, s0 + SEG / 2, x, SEG);       /* across two segments */
        conn_resend(&k, 0, s0 + 2 * SEG + 100, x, 200); /* inside one */
        static const uint8_t msg[] = "after the overlaps";
        ws_frame(&k, 1, 0x81, msg, sizeof msg - 1);
        conn_fin(&k);
    } else if (strcmp(argv[1], "splitgap") == 0) {
        struct conn k = conn_open(d, &t, 0x0b000001, 40005, server, 80);
        ws_upgrade(&k, 0);
        /* server data: text frames of 1447 payload bytes + a 2-byte header..., laid out so
         * that one segment ends with the first byte of a header */
        static uint8_t st[SEG * 8];
        size_t off = 0;
        while (off + 2 + 200 <= sizeof st) {
            size_t pl = 200;
            if (off + 2 < SEG - 1 && off + 2 + pl > SEG - 1) /* end a frame at SEG - 1 */
                pl = SEG - 1 - off - 2;
            off += ws_header(st + off, 0x81, pl, NULL);
            memset(st + off, 't', pl);
            off += pl;
        }
        conn_send_skip(&k, 0, st, off, SEG); /* the segment after the header's first byte */
        static const uint8_t msg[] = "client still talking";
        ws_frame(&k, 1, 0x81, msg, sizeof msg - 1);
        conn_fin(&k);
    } else if (strcmp(argv[1], "tlsbig") == 0) {
        static uint8_t b[16384 + 2048 + 5];
        struct conn k = conn_open(d, &t, 0x0b000001, 40443, server, 443);
        conn_send(&k, 1, b, tls_client_hello(b, 1));
        for (int i = 0; i < 50; i++) { /* headers declaring 65535 bytes */
            size_t o = tls_hdr(b, 23, 0xffff);
            for (size_t j = 0; j < 1000; j++)
                b[o + j] = rnd();
            conn_send(&k, 0, b, o + 1000);
        }
        k = conn_open(d, &t, 0x0b000002, 40444, server, 443);
        conn_send(&k, 1, b, tls_client_hello(b, 2));
        conn_send(&k, 0, b, tls_server_hello(b));
        for (uint64_t sent = 0; sent < (n ? n : 64) << 20; sent += sizeof b) {
            size_t o = tls_hdr(b, 23, 16384 + 2048);
            for (size_t j = 0; j < 16384 + 2048; j++)
                b[o + j] = rnd();
            conn_send(&k, 0, b, sizeof b);
        }
        conn_fin(&k);
    } else if (strcmp(argv[1], "tlshs") == 0) {
        static uint8_t b[16384 + 5];
        struct conn k = conn_open(d, &t, 0x0b000001, 40445, server, 443);
        conn_send(&k, 1, b, tls_client_hello(b, 3));
        conn_send(&k, 0, b, tls_server_hello(b));
        size_t o = tls_hdr(b, 22, 16384);
        b[o] = 11; /* Certificate, 2^24 - 1 bytes declared */
        b[o + 1] = b[o + 2] = b[o + 3] = 0xff;
        for (size_t j = 4; j < 16384; j++)
            b[o + j] = rnd();
        conn_send(&k, 1, b, sizeof b);
        for (uint64_t sent = 0; sent < (n ? n : 64) << 20; sent += sizeof b) {
            for (size_t j = 0; j < 16384; j++)
                b[o + j] = rnd();
            conn_send(&k, 1, b, sizeof b);
        }
        conn_fin(&k);
    } else if (strcmp(argv[1], "tlshellos") == 0) {
        uint8_t b[128];
        struct conn k = conn_open(d, &t, 0x0b000001, 40446, server, 443);
        static uint8_t many[SEG];
        size_t fill = 0;
        for (uint64_t i = 0; i < n; i++) {
            size_t m = tls_client_hello(b, (uint32_t)i);
            if (fill + m > sizeof many) {
                conn_send(&k, 1, many, fill);
                fill = 0;
            }
            memcpy(many + fill, b, m);
            fill += m;
        }
        conn_send(&k, 1, many, fill);
        conn_fin(&k);
        for (uint64_t i = 0; i < n / 10; i++) {
            struct conn q = conn_open(d, &t, 0x0c000000u | (uint32_t)(i + 1),
                                      (uint16_t)(1024 + i % 60000), server, 443);
            conn_send(&q, 1, b, tls_client_hello(b, (uint32_t)(i + 7)));
        }
    } else if (strcmp(argv[1], "wsopen") == 0) {
        struct conn k = conn_open(d, &t, 0x0b000001, 40006, server, 80);
        ws_upgrade(&k, 0);
        for (int i = 0; i < 20; i++) {
            char m[64];
            int l = snprintf(m, sizeof m, "message %d of a session cut short", i);
            ws_frame(&k, i & 1, 0x81, (const uint8_t *)m, (size_t)l);
        }
        conn_fin(&k);
    } else {
        fprintf(stderr, "mkhostile: unknown kind %s\n", argv[1]);
        return 2;
    }
    pcap_dump_close(d);
    pcap_close(p);
    return 0;
}
