/* sniff.h - recognize non-HTTP protocols at a stream's start: TLS ClientHello, HTTP/2 preface. */
#ifndef WSTAP_SNIFF_H
#define WSTAP_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wstap/wstap.h"

#define SNIFF_NO 0            /* not this protocol */
#define SNIFF_YES 1           /* recognized (and parsed) */
#define SNIFF_MALFORMED (-1)  /* starts like this protocol, but its lengths contradict each other  \
                               */
#define SNIFF_INCOMPLETE (-2) /* a consistent prefix: need more bytes to decide */

#define TLS_RECORD_HDR 5
#define TLS_RECORD_MAX 16384 /* plaintext record limit (RFC 8446 5.1) */
#define SNIFF_SNI_MAX 255    /* host_name bytes kept (a DNS name is at most 253) */
#define SNIFF_ALPN_MAX WST_MAX_ALPN
#define SNIFF_ALPN_NAME_MAX 64

/* What a ClientHello offered. Strings are raw bytes copied from the capture (not trusted to
 * be text, not NUL-terminated): sinks must escape them. */
struct tls_hello {
    unsigned record_version; /* the record layer's version, e.g. 0x0301 */
    unsigned legacy_version; /* ClientHello.legacy_version, e.g. 0x0303 */
    unsigned max_version;    /* highest non-GREASE supported_versions entry; 0 without one */
    bool has_sni;
    bool sni_truncated; /* the name was longer than SNIFF_SNI_MAX */
    size_t sni_len;
    uint8_t sni[SNIFF_SNI_MAX];
    bool has_alpn;
    bool alpn_truncated; /* more than SNIFF_ALPN_MAX names, or one longer than the cap */
    size_t nalpn;
    size_t alpn_len[SNIFF_ALPN_MAX];
    uint8_t alpn[SNIFF_ALPN_MAX][SNIFF_ALPN_NAME_MAX];
    bool partial;      /* the ClientHello continues in another record: the fields are
                          what the first record holds */
    size_t record_len; /* bytes of the first record, header included */
};

/*
 * Is buf the start of a TLS handshake record carrying a ClientHello (record type 22, version
 * 3.x, handshake type 1)? On SNIFF_YES, out holds the SNI (server_name extension, host_name)
 * and the ALPN list (extension 16) of the first record. SNIFF_INCOMPLETE until the whole first
 * record is in buf (records above 16 KiB are rejected as SNIFF_MALFORMED). Each byte is
 * checked as soon as it arrives, so other protocols get SNIFF_NO early.
 */
int sniff_tls_client_hello(const uint8_t *buf, size_t len, struct tls_hello *out);

/* A TLS record and the header of the next one from buf's first byte (content type 20-23,
 * version 3.0-3.4, a length of 1..16384+2048, the second header right after the first
 * record): a TLS stream picked up after its ClientHello. SNIFF_INCOMPLETE while consistent. */
int sniff_tls_records(const uint8_t *buf, size_t len);

#define SNIFF_H2_PREFACE_LEN 24

/* The HTTP/2 connection preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": SNIFF_YES (the preface is the
 * first SNIFF_H2_PREFACE_LEN bytes), SNIFF_INCOMPLETE for a proper prefix of it, or SNIFF_NO. */
int sniff_h2_preface(const uint8_t *buf, size_t len);

#endif
