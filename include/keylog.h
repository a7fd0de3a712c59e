/* keylog.h - NSS key log (SSLKEYLOGFILE, RFC 9850) parser: lines fed as bytes, secrets kept in a
 * capped table keyed by the 32-byte client random. No I/O: the front end reads the file(s) and
 * feeds what it read, again when a live capture's file has grown. */
#ifndef WSTAP_KEYLOG_H
#define WSTAP_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlskdf.h"

/* Longest line kept (a valid one is at most 31 + 1 + 64 + 1 + 96 bytes plus CR); a longer line
 * is reported as KEYLOG_E_TOO_LONG and skipped up to its newline, never buffered. */
#define KEYLOG_LINE_MAX 512
/* Default cap on the sessions (client randoms) kept: 65536, at 335 bytes each with the index
 * that is 21 MiB at most (the table grows by doubling as lines arrive, so about half more
 * while it moves). Lines for new sessions beyond the cap are reported as KEYLOG_E_FULL; the
 * sessions already known keep working. */
#define KEYLOG_DEFAULT_MAX_SESSIONS 65536u
#define KEYLOG_MAX_SESSIONS_LIMIT (1u << 24)

/* The labels wstap uses. Others (EXPORTER_SECRET, OpenSSL's *_TRAFFIC_SECRET_N, ECH labels)
 * are well-formed lines that are counted in keylog.ignored and otherwise skipped. */
enum keylog_label {
    KEYLOG_CLIENT_RANDOM,                   /* TLS 1.2 (and older) master secret, 48 bytes */
    KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET,     /* TLS 1.3 0-RTT */
    KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, /* TLS 1.3, 32 or 48 bytes (the suite's hash) */
    KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET,
    KEYLOG_CLIENT_TRAFFIC_SECRET_0,
    KEYLOG_SERVER_TRAFFIC_SECRET_0,
    KEYLOG__COUNT
};

/* Why a line was rejected (reported through keylog.bad with the 1-based line number). */
enum keylog_err {
    KEYLOG_E_TOO_LONG,  /* longer than KEYLOG_LINE_MAX */
    KEYLOG_E_CONTROL,   /* a NUL or other control byte (other than TAB, CR at the end) */
    KEYLOG_E_LABEL,     /* the first field is not a label ([A-Z0-9_]+) */
    KEYLOG_E_FIELDS,    /* a known label without exactly three space-separated fields */
    KEYLOG_E_RANDOM,    /* the client random is not 64 hex digits */
    KEYLOG_E_SECRET,    /* the secret is not hex, or its length does not fit the label */
    KEYLOG_E_CONFLICT,  /* the same client random and label with a different secret before:
                           the first is kept */
    KEYLOG_E_FULL,      /* a new session beyond the cap (or out of memory) */
};

const char *keylog_err_str(enum keylog_err e);
const char *keylog_label_name(enum keylog_label l);

/* The secrets known for one client random. */
struct keylog_entry {
    uint8_t random[TLS_RANDOM_LEN];
    uint8_t have; /* bit (1 << label) per label present */
    uint8_t len[KEYLOG__COUNT];
    uint8_t secret[KEYLOG__COUNT][TLS_SECRET_MAX];
};

typedef void (*keylog_bad_fn)(void *user, uint64_t line, enum keylog_err err);

struct keylog {
    /* statistics */
    uint64_t lines;      /* complete lines seen, all files */
    uint64_t lineno;     /* the current file's line number (reported to bad) */
    uint64_t secrets;    /* lines that added a secret */
    uint64_t duplicates; /* lines that repeated a known secret exactly (harmless) */
    uint64_t ignored;    /* well-formed lines with a label wstap does not use, comments, blanks */
    uint64_t bad;        /* lines reported through bad */
    uint64_t generation; /* grows whenever a secret is added: "did re-reading help?" */
    /* table */
    struct keylog_entry *ent; /* in the order the sessions first appeared */
    uint32_t count, cap, max;
    uint32_t *idx; /* open addressing over ent (index + 1, 0 = empty), 2 * cap slots */
    uint32_t nidx;
    /* the line being assembled across feeds */
    uint8_t line[KEYLOG_LINE_MAX];
    size_t linelen;
    bool overlong; /* the current line passed KEYLOG_LINE_MAX: skip to its newline */
    keylog_bad_fn bad_fn;
    void *user;
};

/* max_sessions: 0 = KEYLOG_DEFAULT_MAX_SESSIONS, capped at KEYLOG_MAX_SESSIONS_LIMIT. bad may
 * be NULL. Allocates nothing until the first secret. */
void keylog_init(struct keylog *kl, uint32_t max_sessions, keylog_bad_fn bad, void *user);
/* Frees the table after wiping the secrets. */
void keylog_free(struct keylog *kl);

/* Feed bytes of a key log file. Complete lines are parsed now; a final line without its
 * newline is kept (up to KEYLOG_LINE_MAX) until more bytes or keylog_end arrive, so a file read
 * while its writer is half-way through a line loses nothing. Feeding lines that are already
 * known again is harmless (counted in duplicates), so a front end may re-read a whole file. */
void keylog_feed(struct keylog *kl, const uint8_t *buf, size_t len);
/* The end of one file: parse a last line that has no newline, restart line numbers at 1 for
 * the next file. Don't call it for a live file that may still grow. */
void keylog_end(struct keylog *kl);

/* The secrets for a client random, or NULL. The pointer stays valid until the next
 * keylog_feed/keylog_end (the table may move when it grows). */
const struct keylog_entry *keylog_find(const struct keylog *kl,
                                       const uint8_t random[TLS_RANDOM_LEN]);

/* One secret of an entry: its bytes and length, or NULL when absent (e may be NULL). */
static inline const uint8_t *keylog_secret(const struct keylog_entry *e, enum keylog_label l,
                                           size_t *len)
{
    if (!e || !(e->have & (1u << l))) {
        *len = 0;
        return NULL;
    }
    *len = e->len[l];
    return e->secret[l];
}

/* Number of sessions (distinct client randoms) known, for "(12 sessions in the file)". */
static inline uint32_t keylog_sessions(const struct keylog *kl)
{
    return kl->count;
}

#endif
