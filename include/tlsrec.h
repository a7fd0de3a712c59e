/* tlsrec.h - the TLS record layer over one reassembled TCP direction (stream-consumer shape:
 * feed/gap), AEAD record decryption (TLS 1.3 RFC 8446 5.2-5.4; TLS 1.2 AES-GCM RFC 5288 and
 * ChaCha20-Poly1305 RFC 7905) with libcrypto's EVP_CIPHER, resynchronization after a capture
 * gap, and a per-connection session (tls_sess) that installs keys from the key log and
 * switches them at ChangeCipherSpec, Finished and KeyUpdate. No I/O.
 *
 * How the application layer uses it (one struct tls_sess per TLS connection):
 *   tls_sess_init(&s, budget);
 *   tls_sess_client_hello(&s, random);                    -- from the ClientHello
 *   tls_sess_server_hello(&s, random, version, suite);    -- from the ServerHello (version from
 *                                                            supported_versions when present)
 *   st = tls_sess_keys(&s, keylog);                       -- again after the key log grew
 *   tls_sess_feed(&s, TLS_C2S or TLS_S2C, bytes, n, fn, user) / tls_sess_gap(...)
 *       -> fn(user, ev) for each record (plaintext, type, record number, stream offset of its
 *          last byte), each complete handshake message (TLSREC_EV_HANDSHAKE), key change, gap,
 *          resynchronization or loss of framing.
 * The ClientHello and ServerHello arrive as TLSREC_EV_HANDSHAKE events (reassembled across
 * records); the caller parses them (sniff.c style) and calls the two hello functions and
 * tls_sess_keys from its callback, before the next record is framed, so the keys are in place
 * when the protected records come. EncryptedExtensions (ALPN), NewSessionTicket, KeyUpdate and
 * alerts come the same way, decrypted. Event data is valid during the callback only; the
 * callback must not feed the same or (with a shared scratch buffer) another session. Frame
 * numbers: ev->end_off is the stream offset just past the record's last byte, which the caller
 * maps to the packet that carried it. A key log that grows later: call tls_sess_keys again
 * (best before the first protected record: at the ServerHello). Keys found later apply from the
 * next record on where the sequence number is known: TLS 1.2 keys and TLS 1.3 handshake keys
 * continue at the count of protected records seen; TLS 1.3 application keys are tried at
 * sequence number 0 only, so records under them already passed make them unusable (limit).
 */
/*
 * Memory: struct tls_sess is about 1.5 KiB. Per direction, on demand and charged to the budget
 * given at init: the record being received when it spans TCP segments (up to 5 + 2^14 + 2048
 * bytes, kept for the next one), twice that while resynchronizing (TLSREC_BUF_MAX), a
 * handshake message being reassembled (up to TLS_HS_MSG_MAX, released after messages above
 * 4 KiB), and the decryption output (TLSREC_SCRATCH_LEN, or one buffer shared by the caller).
 */
#ifndef WSTAP_TLSREC_H
#define WSTAP_TLSREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "dynbuf.h"
#include "keylog.h"
#include "tlskdf.h"

#define TLSREC_HDR 5
#define TLSREC_MAX_PLAIN 16384                  /* 2^14: TLSPlaintext / inner plaintext */
#define TLSREC_MAX_CT13 (TLSREC_MAX_PLAIN + 256)  /* TLS 1.3 TLSCiphertext (RFC 8446 5.2) */
#define TLSREC_MAX_CT12 (TLSREC_MAX_PLAIN + 2048) /* TLS 1.2 TLSCiphertext (RFC 5246 6.2.3) */
/* Bytes buffered per direction at most: two largest records (a partial record while framing;
 * a candidate record and the next header while resynchronizing). Charged to the budget. */
#define TLSREC_BUF_MAX (2 * (TLSREC_HDR + TLSREC_MAX_CT12))
/* Resynchronization after a gap (see tlsrec_gap): at most this many AEAD trials in all, at most
 * TLSREC_RESYNC_SEQS sequence numbers per candidate record start, and at most
 * TLSREC_RESYNC_SCAN bytes examined, before the direction is declared lost. */
#define TLSREC_RESYNC_TRIES 1024
#define TLSREC_RESYNC_SEQS 64
#define TLSREC_RESYNC_SCAN (1u << 20)
/* A record whose tag does not verify does not advance the sequence number for certain: the
 * next record is tried at the expected number and, after n such records, at up to
 * min(n, TLSREC_FAIL_SEQS) numbers after it (a foreign record such as TLS 1.3's EndOfEarlyData
 * under the early keys takes none; an altered one takes one). */
#define TLSREC_FAIL_SEQS 4

/* Content types (RFC 8446 5.1). */
#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT 21
#define TLS_CT_HANDSHAKE 22
#define TLS_CT_APPLICATION_DATA 23
#define TLS_CT_HEARTBEAT 24

/* Alerts (RFC 8446 6, RFC 5246 7.2): a record of type TLS_CT_ALERT holds level (1 warning,
 * 2 fatal) and description. The IANA name of a description ("close_notify",
 * "bad_record_mac", ...), or NULL when unknown (print the number then). */
#define TLS_ALERT_WARNING 1
#define TLS_ALERT_FATAL 2
#define TLS_ALERT_CLOSE_NOTIFY 0
const char *tls_alert_name(unsigned desc);

/* Handshake message types the session follows (RFC 8446 4). */
#define TLS_HS_FINISHED 20
#define TLS_HS_KEY_UPDATE 24

enum tlsrec_status {
    TLSREC_PLAIN,     /* not protected: data is the fragment as sent */
    TLSREC_DECRYPTED, /* authenticated and decrypted: data is the plaintext, type the (inner)
                         content type */
    TLSREC_NO_KEY,    /* protected, and no keys for it: data is the protected body */
    TLSREC_BAD_TAG,   /* protected, and the AEAD tag did not verify with the keys we have
                         (keys of another session or hop, or altered bytes) */
    TLSREC_BAD_INNER, /* TLS 1.3: authenticated, but the plaintext is all zero padding (no
                         content type), or longer than 2^14 + 1 */
};

enum tlsrec_evkind {
    TLSREC_EV_RECORD,   /* one complete record (see status) */
    TLSREC_EV_KEYS,     /* the keys for the next records changed (keys_why) */
    TLSREC_EV_GAP,      /* bytes missing from the stream: record `index` (and maybe more)
                           lost; resynchronizing follows unless the boundary is known */
    TLSREC_EV_RESYNC,   /* framing found again after a gap or bad header: `index`, `seq` is
                           the next record; `skipped` bytes were passed over */
    TLSREC_EV_LOST,     /* framing could not be found again: the rest of the direction is
                           ignored (bounded trials exhausted, or not TLS) */
    TLSREC_EV_BAD_HEADER, /* a record header that is not TLS or too long (resync follows) */
    TLSREC_EV_HANDSHAKE,  /* tls_sess only: one complete handshake message (hs_type; data/len
                             its body, at most TLS_HS_MSG_MAX bytes of hs_len), after the
                             record that completed it */
};

enum tlsrec_keys_why {
    TLSREC_KEYS_CCS,        /* TLS 1.2 ChangeCipherSpec: the pending keys are now current */
    TLSREC_KEYS_FINISHED,   /* TLS 1.3: application traffic keys after the sender's Finished */
    TLSREC_KEYS_TRIAL,      /* TLS 1.3: application keys taken because a record verified only
                               with them (the Finished could not be read) */
    TLSREC_KEYS_KEY_UPDATE, /* TLS 1.3: next generation after a KeyUpdate message (or, after a
                               gap, because the next record verified only with it) */
};

struct tlsrec_ev {
    enum tlsrec_evkind kind;
    int dir; /* TLS_C2S or TLS_S2C as given to tls_sess_feed (tlsrec_dir.id) */
    /* TLSREC_EV_RECORD */
    enum tlsrec_status status;
    uint8_t outer_type;  /* the header's content type */
    uint8_t type;        /* the real content type (inner one for TLS 1.3 protected records) */
    uint16_t version;    /* the header's version field */
    uint64_t index;      /* record number in this direction, from 0 (RECORD, GAP, RESYNC;
                            HANDSHAKE: the record that completed the message; KEYS: the next) */
    bool index_exact;    /* false after a gap that could not be counted exactly */
    uint64_t seq;        /* AEAD sequence number (protected records; RESYNC) */
    uint32_t epoch;      /* key generation: 0 none, +1 at each key change */
    const uint8_t *data; /* valid during the callback only */
    size_t len;
    uint64_t end_off; /* stream offset just past the record's (or gap's) last byte */
    /* TLSREC_EV_KEYS */
    enum tlsrec_keys_why keys_why;
    /* TLSREC_EV_GAP, TLSREC_EV_RESYNC */
    uint64_t gap_len;
    uint64_t skipped;
    /* TLSREC_EV_LOST, TLSREC_EV_BAD_HEADER */
    const char *why;
    /* TLSREC_EV_HANDSHAKE */
    uint8_t hs_type;   /* 1 ClientHello, 2 ServerHello, 8 EncryptedExtensions, 20 Finished... */
    uint32_t hs_len;   /* the message's declared body length */
    bool hs_truncated; /* only the first len bytes were kept (cap or memory budget) */
};

typedef void (*tlsrec_fn)(void *user, const struct tlsrec_ev *ev);

/* One set of record keys of one direction with its libcrypto context. */
struct tlsrec_cipher {
    bool set;
    uint16_t version;     /* TLS_VERSION_12 or TLS_VERSION_13: which record format */
    struct tls_keys k;
    void *ctx;            /* EVP_CIPHER_CTX, keyed once */
    uint64_t seq;         /* next sequence number */
    enum tls_hash hash;   /* TLS 1.3: for KeyUpdate */
    uint8_t secret[TLS_SECRET_MAX]; /* TLS 1.3 traffic secret (KeyUpdate), else unused */
    uint8_t slen;
};

enum tlsrec_state { TLSREC_ST_FRAMING, TLSREC_ST_SKIP, TLSREC_ST_RESYNC, TLSREC_ST_LOST };

/* One direction of the record layer. */
struct tlsrec_dir {
    int id;
    enum tlsrec_state st;
    uint16_t version;  /* 0 until known; TLS_VERSION_12/13 decides record formats and limits */
    bool protect;      /* records are protected from now on (1.2: after CCS; 1.3: after SH) */
    struct tlsrec_cipher cur, next;
    struct tlsrec_cipher upd; /* while resynchronizing: cur's next generation (TLS 1.3) */
    uint32_t epoch;
    uint64_t off;      /* stream offset of the next byte the record layer has not consumed */
    uint64_t index;    /* number of the next record */
    bool index_exact;
    struct dynbuf buf; /* a partial record, or the bytes being scanned while resynchronizing */
    uint8_t *plain;    /* decryption output, TLSREC_MAX_CT12 bytes: allocated on first use
                          (charged to bud), or the caller's scratch (tlsrec_set_scratch) */
    bool plain_borrowed;
    struct wst_budget *bud;
    uint64_t skip;     /* ST_SKIP: bytes of a lost record still to pass over */
    unsigned fails;    /* records that did not verify since the last one that did (capped) */
    bool lost_before;  /* a protected record was lost just before (a KeyUpdate, maybe) */
    /* ST_RESYNC */
    uint64_t unknown;  /* stream bytes of whole records lost since the last known boundary */
    uint64_t scanned;  /* bytes passed over while scanning */
    uint32_t tries;    /* AEAD trials so far */
    uint64_t seq_base; /* cur.seq when the gap began */
    /* statistics */
    uint64_t n_records, n_decrypted, n_bad_tag, n_no_key, n_gaps, n_resync;
};

/* Record layer primitives (the session below drives them; tests call them directly). */
void tlsrec_init(struct tlsrec_dir *d, int id, struct wst_budget *bud);
void tlsrec_free(struct tlsrec_dir *d);
/* Install keys: as the current keys now (continuing the direction's sequence number: 0 unless
 * protected records passed without keys) or as the pending ones (activated by a TLS 1.2
 * ChangeCipherSpec, a TLS 1.3 Finished, or a record that verifies only with them). For TLS 1.3,
 * secret/slen (the traffic secret) allow KeyUpdate. Returns 0 or -1 (libcrypto failure). */
int tlsrec_set_keys(struct tlsrec_dir *d, uint16_t version, const struct tls_keys *k,
                    enum tls_hash hash, const uint8_t *secret, size_t slen, bool now);
/* Decrypt into the caller's buffer of TLSREC_MAX_CT12 bytes instead of one allocated per
 * direction: one analyzer may share a single buffer among all its sessions (the plaintext given
 * to the callback lives there until the callback returns; do not feed another session from the
 * callback). NULL goes back to a private buffer. */
#define TLSREC_SCRATCH_LEN TLSREC_MAX_CT12
void tlsrec_set_scratch(struct tlsrec_dir *d, uint8_t *scratch);

/* Records are protected from now on (with whatever keys are, or will be, installed). */
void tlsrec_protect(struct tlsrec_dir *d, uint16_t version);
/* Pending keys become current (seq 0). */
void tlsrec_activate_next(struct tlsrec_dir *d);
/* TLS 1.3 KeyUpdate: derive the next generation from the current secret. Returns 0 or -1. */
int tlsrec_key_update(struct tlsrec_dir *d);
/* Feed stream bytes; returns len (every byte is consumed: a partial record is kept in the
 * capped buffer, a lost direction discards). fn is called for every event. */
size_t tlsrec_feed(struct tlsrec_dir *d, const uint8_t *buf, size_t len, tlsrec_fn fn,
                   void *user);
/* len bytes of the stream were never seen. A record cut by it is lost (reported), then:
 * if the gap ends inside that record, framing resumes exactly at the next record (which is
 * also tried with the pending keys and, TLS 1.3, the next generation, in case the lost record
 * was a Finished or a KeyUpdate); otherwise
 * the layer scans for the next record start. With keys, a candidate is accepted only when its
 * AEAD tag verifies for a sequence number within the bounds the byte count allows (whole records
 * of 5 + 17 .. 5 + max bytes each), trying at most TLSREC_RESYNC_SEQS numbers per candidate and
 * TLSREC_RESYNC_TRIES in all; TLS 1.2 GCM tries the record's explicit nonce first. The keys
 * tried: the current ones, the pending ones (TLS 1.3 Finished lost) and the current ones' next
 * generation (TLS 1.3 KeyUpdate lost; one generation). Without
 * keys, a candidate is accepted when the next record's header follows it consistently. */
void tlsrec_gap(struct tlsrec_dir *d, uint64_t len, tlsrec_fn fn, void *user);

/* ---- per-connection session ---------------------------------------------------------------- */

#define TLS_C2S 0
#define TLS_S2C 1

/* What the key log offers this session (tls.decrypt status). */
enum tls_keystat {
    TLS_KEYS_NONE,            /* not asked yet */
    TLS_KEYS_OK,              /* keys for both directions */
    TLS_KEYS_NO_HANDSHAKE,    /* ClientHello or ServerHello not seen: no randoms, no suite */
    TLS_KEYS_UNSUPPORTED,     /* cipher suite we do not decrypt (name it: suite->name) */
    TLS_KEYS_NO_KEY,          /* the key log has nothing for the client random */
    TLS_KEYS_TLS13_NEEDS_TRAFFIC_SECRETS, /* TLS 1.3 but only CLIENT_RANDOM lines */
    TLS_KEYS_PARTIAL,         /* TLS 1.3: application secrets without handshake secrets (or the
                                 reverse): some records stay NO_KEY */
    TLS_KEYS_ERROR,           /* libcrypto failed or secret lengths do not fit the suite */
};

const char *tls_keystat_str(enum tls_keystat st);

/* Handshake messages of one direction, reassembled across records from plain and decrypted
 * handshake records. Bodies longer than TLS_HS_MSG_MAX (certificate chains) are followed to
 * their end but handed over truncated. */
#define TLS_HS_MSG_MAX 65536
struct tls_hsframe {
    uint8_t hdr[4];
    uint8_t nhdr;
    uint8_t type;
    uint32_t msglen;
    uint32_t left;
    struct dynbuf msg; /* the body so far (charged to the budget; released after a message
                          longer than 4 KiB) */
    bool refused;      /* the budget refused more of this body */
    bool finished;     /* a Finished ended in the current record */
    bool key_update;
};

struct tls_sess {
    bool have_client_random, have_server_hello, hrr;
    uint8_t client_random[TLS_RANDOM_LEN];
    uint8_t server_random[TLS_RANDOM_LEN];
    uint16_t version; /* negotiated: TLS_VERSION_12 or TLS_VERSION_13 (0 before ServerHello) */
    uint16_t suite_id;
    const struct tls_suite *suite; /* NULL when the id is not in the table */
    enum tls_keystat keystat;
    uint8_t ap_secret[2][TLS_SECRET_MAX]; /* TLS 1.3 *_TRAFFIC_SECRET_0, until Finished */
    uint8_t ap_len[2];
    struct tlsrec_dir dir[2];
    struct tls_hsframe hs[2];
    tlsrec_fn fn; /* during tls_sess_feed */
    void *user;
};

void tls_sess_init(struct tls_sess *s, struct wst_budget *bud);
void tls_sess_free(struct tls_sess *s);
/* Both directions decrypt into scratch (TLSREC_SCRATCH_LEN bytes, see tlsrec_set_scratch). */
void tls_sess_set_scratch(struct tls_sess *s, uint8_t *scratch);
void tls_sess_client_hello(struct tls_sess *s, const uint8_t random[TLS_RANDOM_LEN]);
/* The ServerHello: random, negotiated version (supported_versions, else legacy_version) and
 * suite. A HelloRetryRequest (RFC 8446 4.1.3's special random) is noted (s->hrr) and
 * otherwise ignored: the real ServerHello follows. Returns true for a real ServerHello. */
bool tls_sess_server_hello(struct tls_sess *s, const uint8_t random[TLS_RANDOM_LEN],
                           uint16_t version, uint16_t suite_id);
/* Look the session up in the key log and install what it offers. May be called again (after
 * the key log grew) while the result is TLS_KEYS_NO_KEY / NEEDS / PARTIAL: keys found later
 * apply to the records that come later. */
enum tls_keystat tls_sess_keys(struct tls_sess *s, const struct keylog *kl);
size_t tls_sess_feed(struct tls_sess *s, int dir, const uint8_t *buf, size_t len, tlsrec_fn fn,
                     void *user);
void tls_sess_gap(struct tls_sess *s, int dir, uint64_t len, tlsrec_fn fn, void *user);

#endif
