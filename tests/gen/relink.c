/*
 * relink - re-encapsulate the IP packets of a real capture into another
 * link-layer header type, using libpcap only (the capture file formats are
 * never parsed by hand: pcap_open_offline / pcap_next_ex to read,
 * pcap_open_dead + pcap_dump_open + pcap_dump to write).
 *
 *   relink TYPE IN OUT
 *
 * TYPE (output link type):
 *   raw    DLT_RAW    bare IPv4/IPv6 packets (LINKTYPE_RAW, 101, in the file)
 *   ipv4   DLT_IPV4   bare IPv4 packets; IPv6 packets are dropped
 *   ipv6   DLT_IPV6   bare IPv6 packets; IPv4 packets are dropped
 *   null   DLT_NULL   4-byte address family in the WRITING host's byte order
 *                     (little-endian on x86: readers detect the order):
 *                     AF_INET = 2, AF_INET6 = 24 (the BSD value, also what
 *                     DLT_LOOP uses; Linux's 10 is not understood by
 *                     Wireshark/libpcap for DLT_NULL)
 *   loop   DLT_LOOP   4-byte address family in network byte order:
 *                     AF_INET = 2, AF_INET6 = 24
 *
 * Input link types understood: EN10MB (Ethernet II, any number of
 * 802.1Q/802.1ad/QinQ tags, 802.3+LLC/SNAP), LINUX_SLL, LINUX_SLL2 (also with
 * in-band VLAN tags), RAW, IPV4, IPV6, NULL and LOOP (so outputs can be fed
 * back in).  Non-IP packets (ARP, ...) are dropped.  Timestamps and their
 * precision (micro/nano) are kept.  The original length of each packet
 * becomes (original length - removed header + new header); Ethernet padding
 * after the IP datagram is removed (using the IP length field).  Packets
 * longer than the 65535-byte snapshot length of the output are truncated
 * (counted and reported).
 *
 * Build:
 *   cc -O2 -Wall -Wextra -o /tmp/relink tests/gen/relink.c \
 *      $(pkg-config --cflags --libs libpcap)
 */
#include <pcap/pcap.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

#define OUT_SNAPLEN 65535

enum { FAM_NONE = 0, FAM_V4 = 4, FAM_V6 = 6 };

/* address family values written into DLT_NULL / DLT_LOOP headers */
#define NULL_AF_INET 2u
#define NULL_AF_INET6 24u /* BSD value; see the header comment */

static uint16_t be16(const u_char *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t be32(const u_char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_vlan_tpid(uint16_t t)
{
	return t == 0x8100 || t == 0x88a8 || t == 0x9100 || t == 0x9200;
}

/* Skip VLAN tags that follow an ethertype field at p[*off-2..*off-1];
 * returns the final ethertype and advances *off past the tags. */
static int skip_vlans(const u_char *p, uint32_t caplen, uint32_t *off, uint16_t *etype)
{
	while (is_vlan_tpid(*etype)) {
		if (*off + 4 > caplen)
			return -1;
		*etype = be16(p + *off + 2);
		*off += 4;
	}
	return 0;
}

static int family_of_ethertype(uint16_t t)
{
	if (t == 0x0800)
		return FAM_V4;
	if (t == 0x86dd)
		return FAM_V6;
	return FAM_NONE;
}

/* AF values seen in DLT_NULL/DLT_LOOP headers on various systems */
static int family_of_af(uint32_t af)
{
	switch (af) {
	case 2:
		return FAM_V4;
	case 10: /* Linux */
	case 24: /* NetBSD, OpenBSD, BSD/OS */
	case 28: /* FreeBSD, DragonFly */
	case 30: /* Darwin */
		return FAM_V6;
	default:
		return FAM_NONE;
	}
}

/* Locate the IP packet: sets *off and returns FAM_V4/FAM_V6, FAM_NONE for
 * non-IP packets, -1 for a truncated/garbled link header. */
static int find_ip(int dlt, const u_char *p, uint32_t caplen, uint32_t *off)
{
	uint16_t et;
	int fam;

	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < 14)
			return -1;
		et = be16(p + 12);
		*off = 14;
		if (et <= 1500) { /* 802.3 length: LLC, maybe SNAP */
			if (caplen < 22)
				return FAM_NONE;
			if (p[14] == 0xaa && p[15] == 0xaa && p[16] == 0x03 &&
			    p[17] == 0 && p[18] == 0 && p[19] == 0) {
				et = be16(p + 20);
				*off = 22;
			} else {
				return FAM_NONE;
			}
		}
		if (skip_vlans(p, caplen, off, &et) < 0)
			return -1;
		fam = family_of_ethertype(et);
		break;
	case DLT_LINUX_SLL: /* 16 bytes, protocol (ethertype) at offset 14 */
		if (caplen < 16)
			return -1;
		et = be16(p + 14);
		*off = 16;
		if (skip_vlans(p, caplen, off, &et) < 0)
			return -1;
		fam = family_of_ethertype(et);
		break;
	case DLT_LINUX_SLL2: /* 20 bytes, protocol (ethertype) at offset 0 */
		if (caplen < 20)
			return -1;
		et = be16(p);
		*off = 20;
		if (skip_vlans(p, caplen, off, &et) < 0)
			return -1;
		fam = family_of_ethertype(et);
		break;
	case DLT_NULL: { /* host byte order of the writer: accept both */
		uint32_t af;
		if (caplen < 4)
			return -1;
		memcpy(&af, p, 4);
		if ((af & 0xffff0000u) != 0)
			af = __builtin_bswap32(af);
		*off = 4;
		fam = family_of_af(af);
		break;
	}
	case DLT_LOOP:
		if (caplen < 4)
			return -1;
		*off = 4;
		fam = family_of_af(be32(p));
		break;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		*off = 0;
		if (caplen < 1)
			return -1;
		fam = (p[0] >> 4) == 4 ? FAM_V4 : (p[0] >> 4) == 6 ? FAM_V6 : FAM_NONE;
		break;
	default:
		return -2;
	}
	if (fam == FAM_NONE)
		return FAM_NONE;
	/* the version nibble must agree with the link header */
	if (*off >= caplen || (p[*off] >> 4) != (fam == FAM_V4 ? 4 : 6))
		return -1;
	return fam;
}

static void usage(void)
{
	fprintf(stderr, "usage: relink raw|ipv4|ipv6|null|loop IN OUT\n"
			"  re-encapsulates the IP packets of IN (EN10MB incl. VLAN tags,\n"
			"  LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP) into OUT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	const char *type;
	int out_dlt, only_fam = FAM_NONE, in_dlt, prec, rc;
	pcap_t *in, *dead;
	pcap_dumper_t *dump;
	struct pcap_pkthdr *h;
	const u_char *data;
	u_char *buf;
	unsigned long n_in = 0, n_out = 0, n_nonip = 0, n_otherfam = 0, n_bad = 0,
		      n_trunc = 0;

	if (argc != 4)
		usage();
	type = argv[1];
	if (!strcmp(type, "raw"))
		out_dlt = DLT_RAW;
	else if (!strcmp(type, "ipv4"))
		out_dlt = DLT_IPV4, only_fam = FAM_V4;
	else if (!strcmp(type, "ipv6"))
		out_dlt = DLT_IPV6, only_fam = FAM_V6;
	else if (!strcmp(type, "null"))
		out_dlt = DLT_NULL;
	else if (!strcmp(type, "loop"))
		out_dlt = DLT_LOOP;
	else
		usage();

	/* Output timestamp resolution: the file-level precision is not exposed
	 * by libpcap, so read the timestamps at nanosecond precision and keep
	 * nanoseconds only if some packet has sub-microsecond digits (which
	 * only a nanosecond file can have); otherwise write microseconds. */
	in = pcap_open_offline_with_tstamp_precision(argv[2], PCAP_TSTAMP_PRECISION_NANO, err);
	if (!in) {
		fprintf(stderr, "relink: %s: %s\n", argv[2], err);
		return 1;
	}
	prec = PCAP_TSTAMP_PRECISION_MICRO;
	while ((rc = pcap_next_ex(in, &h, &data)) == 1)
		if (h->ts.tv_usec % 1000) { /* tv_usec holds ns here */
			prec = PCAP_TSTAMP_PRECISION_NANO;
			break;
		}
	pcap_close(in);
	in = pcap_open_offline_with_tstamp_precision(argv[2], prec, err);
	if (!in) {
		fprintf(stderr, "relink: %s: %s\n", argv[2], err);
		return 1;
	}
	in_dlt = pcap_datalink(in);

	dead = pcap_open_dead_with_tstamp_precision(out_dlt, OUT_SNAPLEN, prec);
	if (!dead) {
		fprintf(stderr, "relink: pcap_open_dead failed\n");
		return 1;
	}
	dump = pcap_dump_open(dead, argv[3]);
	if (!dump) {
		fprintf(stderr, "relink: %s: %s\n", argv[3], pcap_geterr(dead));
		return 1;
	}
	buf = malloc(OUT_SNAPLEN + 4);
	if (!buf)
		return 1;

	while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
		uint32_t off = 0, iplen, caplen, len, hdr = 0;
		struct pcap_pkthdr oh;
		int fam;

		n_in++;
		fam = find_ip(in_dlt, data, h->caplen, &off);
		if (fam == -2) {
			fprintf(stderr, "relink: unsupported input link type %s (%d)\n",
				pcap_datalink_val_to_name(in_dlt) ? pcap_datalink_val_to_name(in_dlt) : "?",
				in_dlt);
			return 1;
		}
		if (fam < 0) {
			n_bad++;
			continue;
		}
		if (fam == FAM_NONE) {
			n_nonip++;
			continue;
		}
		if (only_fam != FAM_NONE && fam != only_fam) {
			n_otherfam++;
			continue;
		}
		caplen = h->caplen - off;
		len = h->len - off;
		/* drop link-layer padding/trailers after the IP datagram */
		if (fam == FAM_V4 && caplen >= 4)
			iplen = be16(data + off + 2);
		else if (fam == FAM_V6 && caplen >= 6 && be16(data + off + 4) != 0)
			iplen = 40u + be16(data + off + 4);
		else
			iplen = 0;
		if (iplen && iplen < len) {
			len = iplen;
			if (caplen > iplen)
				caplen = iplen;
		}

		if (out_dlt == DLT_NULL) {
			uint32_t af = fam == FAM_V4 ? NULL_AF_INET : NULL_AF_INET6;
			memcpy(buf, &af, 4); /* host byte order */
			hdr = 4;
		} else if (out_dlt == DLT_LOOP) {
			uint32_t af = fam == FAM_V4 ? NULL_AF_INET : NULL_AF_INET6;
			buf[0] = (u_char)(af >> 24);
			buf[1] = (u_char)(af >> 16);
			buf[2] = (u_char)(af >> 8);
			buf[3] = (u_char)af;
			hdr = 4;
		}
		if (hdr + caplen > OUT_SNAPLEN) {
			caplen = OUT_SNAPLEN - hdr;
			n_trunc++;
		}
		memcpy(buf + hdr, data + off, caplen);
		oh.ts = h->ts;
		oh.caplen = hdr + caplen;
		oh.len = hdr + len;
		pcap_dump((u_char *)dump, &oh, buf);
		n_out++;
	}
	if (rc == -1) {
		fprintf(stderr, "relink: %s: %s\n", argv[2], pcap_geterr(in));
		return 1;
	}
	if (pcap_dump_flush(dump) != 0) {
		fprintf(stderr, "relink: %s: write error\n", argv[3]);
		return 1;
	}
	pcap_dump_close(dump);
	pcap_close(dead);
	pcap_close(in);
	free(buf);
	fprintf(stderr,
		"relink: %s (%s) -> %s (%s): %lu in, %lu out, %lu non-IP, "
		"%lu other family, %lu bad, %lu truncated\n",
		argv[2], pcap_datalink_val_to_name(in_dlt) ? pcap_datalink_val_to_name(in_dlt) : "?",
		argv[3], pcap_datalink_val_to_name(out_dlt), n_in, n_out, n_nonip,
		n_otherfam, n_bad, n_trunc);
	return n_bad ? 1 : 0;
}
