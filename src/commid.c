/* commid.c - Community ID v1 (Corelight's community-id-spec): a flow hash that Zeek and
 * Suricata write too, so that wstap's events join their logs. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "wstap/wstap.h"

/* "1:" + base64(SHA-1(seed . saddr . daddr . proto . 0 . sport . dport)), the endpoints ordered
 * so that the smaller address (then the smaller port) comes first: both directions of a flow
 * get the same ID. Addresses and ports in network byte order. */
void wst_community_id(uint16_t seed, const struct wst_endpoint *a, const struct wst_endpoint *b,
                      uint8_t proto, char out[WST_COMMUNITY_ID_LEN])
{
    uint8_t buf[2 + 16 + 16 + 2 + 2 + 2];
    size_t alen = a->family == 4 ? 4 : 16;
    size_t n = 0;

    int c = memcmp(a->addr, b->addr, alen);
    if (c > 0 || (c == 0 && a->port > b->port)) {
        const struct wst_endpoint *t = a;
        a = b;
        b = t;
    }
    buf[n++] = (uint8_t)(seed >> 8);
    buf[n++] = (uint8_t)seed;
    memcpy(buf + n, a->addr, alen);
    n += alen;
    memcpy(buf + n, b->addr, alen);
    n += alen;
    buf[n++] = proto;
    buf[n++] = 0;
    buf[n++] = (uint8_t)(a->port >> 8);
    buf[n++] = (uint8_t)a->port;
    buf[n++] = (uint8_t)(b->port >> 8);
    buf[n++] = (uint8_t)b->port;

    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1(buf, n, md);
    out[0] = '1';
    out[1] = ':';
    /* 20 bytes -> 28 base64 characters and a NUL */
    EVP_EncodeBlock((unsigned char *)out + 2, md, SHA_DIGEST_LENGTH);
}
