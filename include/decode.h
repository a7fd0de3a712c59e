/* decode.h - link, IPv4/IPv6 (with fragment reassembly) and TCP header decoding. */
#ifndef WSTAP_DECODE_H
#define WSTAP_DECODE_H

#include <stdint.h>

#include "wstap/wstap.h"

struct ipfrag;

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20
#define TCPF_ECE 0x40
#define TCPF_CWR 0x80

/* A decoded TCP segment. Pointers refer to the caller's packet or to the
 * reassembly buffer, valid until the next decode call. */
struct pkt {
    uint8_t family; /* 4 or 6 */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    struct wst_tcp_opts opts;
    const uint8_t *payload;
    uint32_t payload_len; /* as the IP header says */
    uint32_t payload_cap; /* how much of it was captured (snaplen) */
    bool reassembled;     /* came out of IP fragment reassembly */
    const char *warn;     /* decoded despite this problem (static text), or NULL */
    const char *warn_layer;
    uint8_t nvlan;               /* 802.1Q / 802.1ad tags on the frame */
    uint16_t vlan[WST_MAX_VLAN]; /* their VLAN ids (12 bits), outermost first */
};

enum dec_result {
    DEC_TCP,       /* out is filled */
    DEC_NOT_IP,    /* a link type payload that is not IPv4/IPv6 */
    DEC_NOT_TCP,   /* IP, but not TCP (or an unreadable extension chain such as ESP) */
    DEC_FRAG_HELD, /* an IP fragment was stored; the datagram is not complete yet */
    DEC_TRUNCATED, /* the snaplen cut the packet before the TCP header ended */
    DEC_MALFORMED, /* impossible lengths or versions */
    DEC_LIMIT,     /* a fragment was dropped because a reassembly cap was hit */
};

struct dec_error {
    const char *layer;  /* "link", "ipv4", "ipv6", "tcp", "ipfrag" */
    const char *detail; /* static text */
};

struct decoder {
    struct ipfrag *frag;
};

enum dec_result decode_packet(struct decoder *d, enum wst_link link, int64_t ts_us,
                              const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                              struct pkt *out, struct dec_error *err);

/* Parse a TCP option list (the bytes after the fixed 20-byte header). */
void decode_tcp_options(const uint8_t *buf, size_t len, struct wst_tcp_opts *o);

#endif
