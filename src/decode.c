/* decode.c - link layer, IPv4/IPv6 and TCP header decoding through the rd cursor. */
#include "decode.h"

#include <string.h>

#include "ipfrag.h"
#include "rd.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define MAX_VLAN_TAGS WST_MAX_VLAN
#define MAX_V6_EXT_HEADERS 16

#define IPPROTO_TCP_ 6
#define V6_HOPOPTS 0
#define V6_ROUTING 43
#define V6_FRAGMENT 44
#define V6_ESP 50
#define V6_AH 51
#define V6_NONE 59
#define V6_DSTOPTS 60
#define V6_MOBILITY 135
#define V6_HIP 139
#define V6_SHIM6 140

enum l3 { L3_NONE, L3_V4, L3_V6 };

/* Per-call context so the helpers can say why they failed. */
struct dctx {
    struct decoder *d;
    int64_t ts;
    bool cut; /* caplen < wirelen: shortfalls are truncation, not malformation */
    struct pkt *out;
    struct dec_error *err;
};

static enum dec_result dec_fail(struct dctx *c, enum dec_result r, const char *layer,
                                const char *detail)
{
    c->err->layer = layer;
    c->err->detail = detail;
    return r;
}

/* A shortfall: truncated when the snaplen cut the packet, malformed otherwise. */
static enum dec_result dec_short(struct dctx *c, const char *layer, const char *detail)
{
    return dec_fail(c, c->cut ? DEC_TRUNCATED : DEC_MALFORMED, layer, detail);
}

void decode_tcp_options(const uint8_t *buf, size_t len, struct wst_tcp_opts *o)
{
    struct rd r = rd_make(buf, len);

    memset(o, 0, sizeof *o);
    o->mss = -1;
    o->wscale = -1;
    while (rd_left(&r) > 0) {
        uint8_t kind = rd_u8(&r);
        if (kind == 0) /* end of option list */
            break;
        if (kind == 1) /* no-operation */
            continue;
        if (!rd_has(&r, 1)) {
            o->malformed = true;
            break;
        }
        uint8_t olen = rd_u8(&r);
        if (olen < 2 || !rd_has(&r, (size_t)olen - 2)) {
            o->malformed = true;
            break;
        }
        struct rd body = rd_sub(&r, (size_t)olen - 2);
        switch (kind) {
        case 2:
            if (olen == 4)
                o->mss = rd_be16(&body);
            else
                o->malformed = true;
            break;
        case 3:
            if (olen == 3)
                o->wscale = rd_u8(&body);
            else
                o->malformed = true;
            break;
        case 4:
            if (olen == 2)
                o->sack_perm = true;
            else
                o->malformed = true;
            break;
        case 5:
            if ((olen - 2) % 8 != 0 || olen == 2) {
                o->malformed = true;
                break;
            }
            while (rd_left(&body) >= 8 && o->nsack < WST_MAX_SACK) {
                o->sack[o->nsack].left = rd_be32(&body);
                o->sack[o->nsack].right = rd_be32(&body);
                o->nsack++;
            }
            break;
        case 8:
            if (olen == 10) {
                o->has_ts = true;
                o->ts_val = rd_be32(&body);
                o->ts_ecr = rd_be32(&body);
            } else {
                o->malformed = true;
            }
            break;
        default:
            if (o->nunknown < WST_MAX_UNKNOWN_OPTS)
                o->unknown[o->nunknown++] = kind;
            break;
        }
    }
}

static enum dec_result dec_tcp(struct dctx *c, struct rd *r, uint32_t l4len)
{
    struct pkt *p = c->out;
    size_t avail = rd_left(r);

    if (l4len < 20)
        return dec_fail(c, DEC_MALFORMED, "tcp", "TCP segment shorter than its 20-byte header");
    if (avail < 20)
        return dec_short(c, "tcp", "TCP header cut short");
    p->sport = rd_be16(r);
    p->dport = rd_be16(r);
    p->seq = rd_be32(r);
    p->ack = rd_be32(r);
    uint8_t off = rd_u8(r);
    p->flags = rd_u8(r);
    p->win = rd_be16(r);
    rd_skip(r, 4); /* checksum, urgent pointer */
    uint32_t hlen = (uint32_t)(off >> 4) * 4;
    if (hlen < 20)
        return dec_fail(c, DEC_MALFORMED, "tcp", "TCP data offset below 5 words");
    if (hlen > l4len)
        return dec_fail(c, DEC_MALFORMED, "tcp", "TCP data offset beyond the IP payload");
    if (rd_left(r) < hlen - 20) {
        if (!c->cut)
            return dec_short(c, "tcp", "TCP options cut short");
        /* The snapshot length ended inside the options (tcpdump -s 64 on a segment with
         * timestamps): the fixed header is all the TCP layer needs, so the segment still
         * counts; the options seen are kept, the rest are unknown, no payload was captured. */
        size_t got = rd_left(r);
        decode_tcp_options(rd_ptr(r, got), got, &p->opts);
        p->opts.malformed = false; /* a cut option is not a malformed one */
        p->opts.cut = true;
        p->payload_len = l4len - hlen;
        p->payload_cap = 0;
        p->payload = r->p;
        return DEC_TCP;
    }
    const uint8_t *optp = rd_ptr(r, hlen - 20);
    decode_tcp_options(optp, hlen - 20, &p->opts);
    if (r->err)
        return dec_short(c, "tcp", "TCP header cut short");
    p->payload_len = l4len - hlen;
    size_t cap = rd_left(r);
    p->payload_cap = cap < p->payload_len ? (uint32_t)cap : p->payload_len;
    p->payload = r->p;
    return DEC_TCP;
}

/* Continue with a reassembled IP payload (the whole fragmentable part). */
static enum dec_result dec_reassembled(struct dctx *c, uint8_t proto, const uint8_t *buf,
                                       uint32_t len);

static enum dec_result dec_v6_chain(struct dctx *c, struct rd *r, uint8_t nh, uint32_t plen,
                                    bool after_frag);

_Static_assert(IPFRAG_MAX_VLAN == WST_MAX_VLAN, "a fragment keeps every VLAN id of its frame");

/* Fragments of one datagram come on one VLAN: the ids are part of the reassembly key. */
static void frag_key_vlan(struct ipfrag_key *k, const struct pkt *p)
{
    k->nvlan = p->nvlan;
    for (uint8_t i = 0; i < p->nvlan && i < IPFRAG_MAX_VLAN; i++)
        k->vlan[i] = p->vlan[i];
}

static enum dec_result dec_ipv4(struct dctx *c, struct rd *r)
{
    struct pkt *p = c->out;
    size_t avail = rd_left(r);

    if (avail < 20)
        return dec_short(c, "ipv4", "IPv4 header cut short");
    uint8_t vihl = rd_u8(r);
    if (vihl >> 4 != 4)
        return dec_fail(c, DEC_MALFORMED, "ipv4", "IP version is not 4");
    uint32_t ihl = (uint32_t)(vihl & 0x0f) * 4;
    rd_skip(r, 1); /* TOS */
    uint32_t total = rd_be16(r);
    uint32_t id = rd_be16(r);
    uint16_t frag = rd_be16(r);
    rd_skip(r, 1); /* TTL */
    uint8_t proto = rd_u8(r);
    rd_skip(r, 2); /* checksum */
    p->family = 4;
    memset(p->src, 0, sizeof p->src);
    memset(p->dst, 0, sizeof p->dst);
    rd_copy(r, p->src, 4);
    rd_copy(r, p->dst, 4);
    if (ihl < 20)
        return dec_fail(c, DEC_MALFORMED, "ipv4", "IPv4 header length below 20 bytes");
    if (total < ihl)
        return dec_fail(c, DEC_MALFORMED, "ipv4", "IPv4 total length below the header length");
    if (avail < ihl)
        return dec_short(c, "ipv4", "IPv4 options cut short");
    rd_skip(r, ihl - 20);
    if (total > avail && !c->cut) {
        /* The header claims more than the frame holds, and no snaplen explains it. Decode
         * what is there (as tshark does) and flag the packet. */
        p->warn_layer = "ipv4";
        p->warn = "IPv4 total length beyond the packet; decoded the bytes present";
        total = (uint32_t)avail;
    }
    /* Ethernet padding after the datagram is not part of it. */
    size_t here = rd_left(r);
    if (here > total - ihl)
        r->end = r->p + (total - ihl);
    uint32_t l4len = total - ihl;

    bool more = (frag & 0x2000) != 0;
    uint32_t foff = (uint32_t)(frag & 0x1fff) * 8;
    if (more || foff != 0) {
        if (rd_left(r) < l4len)
            return dec_short(c, "ipfrag", "IPv4 fragment cut short; not reassembled");
        struct ipfrag_key k;
        memset(&k, 0, sizeof k);
        k.family = 4;
        k.proto = proto;
        memcpy(k.src, p->src, 4);
        memcpy(k.dst, p->dst, 4);
        k.id = id;
        frag_key_vlan(&k, p);
        const uint8_t *out;
        uint32_t outlen;
        enum ipfrag_res fr =
            ipfrag_add(c->d->frag, &k, c->ts, foff, more, r->p, l4len, &out, &outlen);
        switch (fr) {
        case IPFRAG_HELD:
            return DEC_FRAG_HELD;
        case IPFRAG_BAD:
            return dec_fail(c, DEC_MALFORMED, "ipfrag", "inconsistent IPv4 fragment");
        case IPFRAG_LIMIT:
            return dec_fail(c, DEC_LIMIT, "ipfrag", "IP reassembly cap reached; fragment dropped");
        case IPFRAG_DONE:
            break;
        }
        return dec_reassembled(c, proto, out, outlen);
    }
    if (proto != IPPROTO_TCP_)
        return DEC_NOT_TCP;
    return dec_tcp(c, r, l4len);
}

static enum dec_result dec_reassembled(struct dctx *c, uint8_t proto, const uint8_t *buf,
                                       uint32_t len)
{
    struct rd r = rd_make(buf, len);

    c->out->reassembled = true;
    c->cut = false; /* a completed datagram has all its bytes */
    if (c->out->family == 6)
        return dec_v6_chain(c, &r, proto, len, true);
    if (proto != IPPROTO_TCP_)
        return DEC_NOT_TCP;
    return dec_tcp(c, &r, len);
}

/* Walk IPv6 extension headers starting with next-header nh over plen payload bytes. */
static enum dec_result dec_v6_chain(struct dctx *c, struct rd *r, uint8_t nh, uint32_t plen,
                                    bool after_frag)
{
    struct pkt *p = c->out;

    for (int i = 0; i < MAX_V6_EXT_HEADERS; i++) {
        switch (nh) {
        case IPPROTO_TCP_:
            return dec_tcp(c, r, plen);
        case V6_HOPOPTS:
        case V6_ROUTING:
        case V6_DSTOPTS:
        case V6_MOBILITY:
        case V6_HIP:
        case V6_SHIM6:
        case V6_AH: {
            if (rd_left(r) < 2)
                return dec_short(c, "ipv6", "IPv6 extension header cut short");
            uint8_t next = rd_u8(r);
            uint8_t elen = rd_u8(r);
            uint32_t hl = nh == V6_AH ? ((uint32_t)elen + 2) * 4 : ((uint32_t)elen + 1) * 8;
            if (hl > plen)
                return dec_fail(c, DEC_MALFORMED, "ipv6", "IPv6 extension header beyond payload");
            if (rd_left(r) < hl - 2)
                return dec_short(c, "ipv6", "IPv6 extension header cut short");
            rd_skip(r, hl - 2);
            plen -= hl;
            nh = next;
            break;
        }
        case V6_FRAGMENT: {
            if (after_frag)
                return dec_fail(c, DEC_MALFORMED, "ipv6", "second IPv6 fragment header");
            if (plen < 8)
                return dec_fail(c, DEC_MALFORMED, "ipv6", "IPv6 fragment header beyond payload");
            if (rd_left(r) < 8)
                return dec_short(c, "ipv6", "IPv6 fragment header cut short");
            uint8_t next = rd_u8(r);
            rd_skip(r, 1);
            uint16_t offm = rd_be16(r);
            uint32_t id = rd_be32(r);
            plen -= 8;
            uint32_t foff = (uint32_t)(offm >> 3) * 8;
            bool more = (offm & 1) != 0;
            if (foff == 0 && !more) { /* atomic fragment (RFC 6946) */
                nh = next;
                after_frag = true;
                break;
            }
            if (rd_left(r) < plen)
                return dec_short(c, "ipfrag", "IPv6 fragment cut short; not reassembled");
            struct ipfrag_key k;
            memset(&k, 0, sizeof k);
            k.family = 6;
            k.proto = next;
            memcpy(k.src, p->src, 16);
            memcpy(k.dst, p->dst, 16);
            k.id = id;
            frag_key_vlan(&k, p);
            const uint8_t *out;
            uint32_t outlen;
            enum ipfrag_res fr =
                ipfrag_add(c->d->frag, &k, c->ts, foff, more, r->p, plen, &out, &outlen);
            switch (fr) {
            case IPFRAG_HELD:
                return DEC_FRAG_HELD;
            case IPFRAG_BAD:
                return dec_fail(c, DEC_MALFORMED, "ipfrag", "inconsistent IPv6 fragment");
            case IPFRAG_LIMIT:
                return dec_fail(c, DEC_LIMIT, "ipfrag",
                                "IP reassembly cap reached; fragment dropped");
            case IPFRAG_DONE:
                break;
            }
            return dec_reassembled(c, next, out, outlen);
        }
        default: /* ESP, no-next-header, UDP, ICMPv6, ... */
            return DEC_NOT_TCP;
        }
    }
    return dec_fail(c, DEC_MALFORMED, "ipv6", "IPv6 extension header chain too long");
}

static enum dec_result dec_ipv6(struct dctx *c, struct rd *r)
{
    struct pkt *p = c->out;
    size_t avail = rd_left(r);

    if (avail < 40)
        return dec_short(c, "ipv6", "IPv6 header cut short");
    uint8_t v = rd_u8(r);
    if (v >> 4 != 6)
        return dec_fail(c, DEC_MALFORMED, "ipv6", "IP version is not 6");
    rd_skip(r, 3); /* traffic class, flow label */
    uint32_t plen = rd_be16(r);
    uint8_t nh = rd_u8(r);
    rd_skip(r, 1); /* hop limit */
    p->family = 6;
    rd_copy(r, p->src, 16);
    rd_copy(r, p->dst, 16);
    if (plen == 0)
        return dec_fail(c, DEC_MALFORMED, "ipv6", "IPv6 jumbogram or zero payload length");
    if (plen > avail - 40 && !c->cut) {
        p->warn_layer = "ipv6";
        p->warn = "IPv6 payload length beyond the packet; decoded the bytes present";
        plen = (uint32_t)(avail - 40);
    }
    if (rd_left(r) > plen)
        r->end = r->p + plen;
    return dec_v6_chain(c, r, nh, plen, false);
}

static enum dec_result dec_l3(struct dctx *c, struct rd *r, enum l3 l3)
{
    switch (l3) {
    case L3_V4:
        return dec_ipv4(c, r);
    case L3_V6:
        return dec_ipv6(c, r);
    case L3_NONE:
        break;
    }
    return DEC_NOT_IP;
}

static enum l3 l3_from_ethertype(uint16_t et)
{
    if (et == ETHERTYPE_IPV4)
        return L3_V4;
    if (et == ETHERTYPE_IPV6)
        return L3_V6;
    return L3_NONE;
}

/* BSD address families as they appear in DLT_NULL / DLT_LOOP headers. */
static enum l3 l3_from_af(uint32_t af)
{
    switch (af) {
    case 2:
        return L3_V4;
    case 10: /* Linux */
    case 24: /* NetBSD, OpenBSD */
    case 28: /* FreeBSD */
    case 30: /* macOS */
        return L3_V6;
    default:
        return L3_NONE;
    }
}

static enum l3 l3_from_version(const struct rd *r)
{
    int b = rd_peek(r, 0);
    if (b < 0)
        return L3_NONE;
    if (b >> 4 == 4)
        return L3_V4;
    if (b >> 4 == 6)
        return L3_V6;
    return L3_NONE;
}

static enum dec_result dec_link(struct dctx *c, enum wst_link link, struct rd *r)
{
    switch (link) {
    case WST_LINK_ETHERNET: {
        if (rd_left(r) < 14)
            return dec_short(c, "link", "Ethernet header cut short");
        rd_skip(r, 12);
        uint16_t et = rd_be16(r);
        for (int i = 0; et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ || et == ETHERTYPE_QINQ_OLD;
             i++) {
            if (i == MAX_VLAN_TAGS)
                return dec_fail(c, DEC_MALFORMED, "link", "too many VLAN tags");
            if (rd_left(r) < 4)
                return dec_short(c, "link", "VLAN tag cut short");
            c->out->vlan[c->out->nvlan++] = rd_be16(r) & 0x0fff; /* TCI: PCP, DEI, VID */
            et = rd_be16(r);
        }
        return dec_l3(c, r, l3_from_ethertype(et));
    }
    case WST_LINK_SLL: {
        if (rd_left(r) < 16)
            return dec_short(c, "link", "Linux cooked header cut short");
        rd_skip(r, 14);
        return dec_l3(c, r, l3_from_ethertype(rd_be16(r)));
    }
    case WST_LINK_SLL2: {
        if (rd_left(r) < 20)
            return dec_short(c, "link", "Linux cooked v2 header cut short");
        uint16_t et = rd_be16(r);
        rd_skip(r, 18);
        return dec_l3(c, r, l3_from_ethertype(et));
    }
    case WST_LINK_NULL: {
        if (rd_left(r) < 4)
            return dec_short(c, "link", "loopback header cut short");
        /* Host byte order of the machine that captured: accept either order. */
        uint32_t be = rd_be32(r);
        uint32_t le = (be >> 24) | ((be >> 8) & 0xff00) | ((be << 8) & 0xff0000) | (be << 24);
        enum l3 l3 = l3_from_af(be < le ? be : le);
        return dec_l3(c, r, l3);
    }
    case WST_LINK_LOOP: {
        if (rd_left(r) < 4)
            return dec_short(c, "link", "loopback header cut short");
        return dec_l3(c, r, l3_from_af(rd_be32(r)));
    }
    case WST_LINK_RAW:
        return dec_l3(c, r, l3_from_version(r));
    case WST_LINK_IPV4:
        return dec_l3(c, r, L3_V4);
    case WST_LINK_IPV6:
        return dec_l3(c, r, L3_V6);
    case WST_LINK_UNSUPPORTED:
        break;
    }
    return DEC_NOT_IP;
}

enum dec_result decode_packet(struct decoder *d, enum wst_link link, int64_t ts_us,
                              const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                              struct pkt *out, struct dec_error *err)
{
    struct dctx c = {d, ts_us, caplen < wirelen, out, err};
    struct rd r = rd_make(data, caplen);

    memset(out, 0, sizeof *out);
    err->layer = NULL;
    err->detail = NULL;
    return dec_link(&c, link, &r);
}
