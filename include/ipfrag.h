/* ipfrag.h - bounded IPv4 and IPv6 fragment reassembly. */
#ifndef WSTAP_IPFRAG_H
#define WSTAP_IPFRAG_H

#include <stdbool.h>
#include <stdint.h>

#define IPFRAG_MAX_VLAN 4 /* = WST_MAX_VLAN */

struct ipfrag_key {
    uint8_t family; /* 4 or 6 */
    uint8_t proto;  /* IPv4 protocol; IPv6: next header after the fragment header */
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t nvlan;                     /* the frame's VLAN tags, outermost first */
    uint16_t vlan[IPFRAG_MAX_VLAN];
};

enum ipfrag_res {
    IPFRAG_HELD,  /* stored, datagram incomplete */
    IPFRAG_DONE,  /* *out / *outlen hold the whole fragmentable part */
    IPFRAG_BAD,   /* inconsistent fragment (length not a multiple of 8, beyond 64 KiB...) */
    IPFRAG_LIMIT, /* no room under the caps: the fragment (or an older datagram) was dropped */
};

struct ipfrag;

struct ipfrag *ipfrag_new(uint32_t max_datagrams, uint32_t max_bytes, int64_t timeout_us);
void ipfrag_free(struct ipfrag *f);
/* off and len in bytes of the fragmentable part; more = the MF / M flag. The output stays
 * valid until the next call. */
enum ipfrag_res ipfrag_add(struct ipfrag *f, const struct ipfrag_key *k, int64_t ts_us,
                           uint32_t off, bool more, const uint8_t *data, uint32_t len,
                           const uint8_t **out, uint32_t *outlen);
/* Datagrams given up on (timeout or eviction) so far. */
uint64_t ipfrag_dropped(const struct ipfrag *f);

#endif
