/* http.h - incremental HTTP/1.x head parsing and body framing (RFC 9112), no I/O, no allocation. */
#ifndef WSTAP_HTTP_H
#define WSTAP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wstap/wstap.h"

/* picohttpparser-style outcomes: >= 0 bytes consumed, or one of these. */
#define HTTP_MALFORMED (-1)  /* not valid HTTP/1.x; the caller resynchronizes or gives up */
#define HTTP_INCOMPLETE (-2) /* need more bytes; call again with the longer buffer */
#define HTTP_TOO_LARGE (-3)  /* a limit was hit (header bytes, header count) */

/* Sniffing outcomes (with HTTP_INCOMPLETE when the bytes so far cannot tell). */
#define HTTP_SNIFF_NO 0
#define HTTP_SNIFF_YES 1

/* http_msg.flags. The first two share their values with wst_ev_http.flags. */
#define HTTP_F_BARE_LF WST_HTTP_BARE_LF /* some line ended in LF alone (tolerated) */
#define HTTP_F_FOLDED WST_HTTP_FOLDED   /* obsolete line folding (tolerated, see below) */
#define HTTP_F_LEADING_EMPTY 0x4        /* empty lines before the start line were skipped */
#define HTTP_F_NO_REASON_SP 0x8         /* status line "HTTP/1.1 200" without the SP */
#define HTTP_F_TARGET_8BIT 0x10         /* request target holds bytes >= 0x80 (tolerated) */

#define HTTP_DEFAULT_MAX_HEADER_BYTES 65536
#define HTTP_DEFAULT_MAX_HEADERS 128

struct http_limits {
    size_t max_header_bytes; /* whole head incl. skipped empty lines and the final empty line */
    size_t max_headers;      /* header field lines */
};

void http_limits_default(struct http_limits *lim);

/*
 * One parsed head. Every slice (wst_str) points into the buffer given to http_parse_head and
 * is valid only while that buffer is; the glue copies or emits before it moves the bytes.
 *
 * Folded headers (obs-fold, RFC 9112 5.2): the value slice runs from the first non-blank byte
 * of the first line to the last non-blank byte of the last continuation line, so it contains
 * the raw CR/LF and indentation between them. A value holds an LF byte only when folding joined
 * two non-blank lines (the parser rejects LF anywhere else), and msg.flags has HTTP_F_FOLDED
 * whenever a fold was seen. http_value_unfold() writes the logical value
 * (each line break plus its surrounding blanks replaced by one SP) into a caller buffer; the
 * token-list helpers below treat CR and LF as blanks, so they work on folded values directly.
 */
struct http_msg {
    struct wst_str method, target; /* requests */
    int status;                    /* responses: 100..999 */
    struct wst_str reason;         /* responses; may be empty */
    int vmajor, vminor;            /* always 1 and 0..9 on success */
    struct wst_header *headers;    /* the caller's array, set by http_msg_init */
    size_t hdr_cap;                /* its length */
    size_t nhdrs;
    size_t hdr_bytes; /* start line through the empty line (skipped empty lines excluded) */
    size_t skipped;   /* empty lines before the start line (RFC 9112 2.2) */
    unsigned flags;   /* HTTP_F_* */
};

/* Attach the header array; the effective header cap is min(cap, limits.max_headers). */
void http_msg_init(struct http_msg *m, struct wst_header *hdrs, size_t cap);

/*
 * Parse a request line (is_request) or a status line plus the header block at the start of
 * buf. prev_len is how many bytes of this same head a previous call already saw (it returned
 * HTTP_INCOMPLETE), so only the new tail is scanned for the end of the block; pass 0 the first
 * time. lim may be NULL for the defaults. Returns the bytes consumed (> 0: skipped empty lines
 * + hdr_bytes), HTTP_INCOMPLETE, HTTP_MALFORMED or HTTP_TOO_LARGE. Control bytes (other than
 * HTAB), DEL and bare CR are rejected as soon as they arrive, so a binary stream fails on the
 * first call instead of filling the buffer. out is only meaningful on success.
 */
ptrdiff_t http_parse_head(const uint8_t *buf, size_t len, size_t prev_len, bool is_request,
                          const struct http_limits *lim, struct http_msg *out);

/* Header lookup; names compare case-insensitively. NULL / 0 when absent. */
const struct wst_header *http_header_find(const struct http_msg *m, const char *name);
/* The next header with this name after prev (NULL: the first). */
const struct wst_header *http_header_next(const struct http_msg *m, const char *name,
                                          const struct wst_header *prev);
size_t http_header_count(const struct http_msg *m, const char *name);

/* Does a comma-separated list (OWS, empty elements allowed) contain token, case-insensitively?
 * An element's parameters (";...") are ignored: "chunked;x=1" has "chunked". */
bool http_token_list_has(const uint8_t *value, size_t len, const char *token);
/* The same over every header line called name ("Connection: a" + "Connection: b"). */
bool http_header_has_token(const struct http_msg *m, const char *name, const char *token);

/* Write the unfolded value of a folded (or plain) header value into out (cap bytes, not NUL
 * terminated). Returns the logical length; only min(len, cap) bytes are written. */
size_t http_value_unfold(const uint8_t *value, size_t len, uint8_t *out, size_t cap);

/* Cheap content sniffing at the start of a stream (leading empty lines skipped):
 * a request is a known method + SP + a target start ('/', '*' or a letter), or an upper-case
 * token + SP + '/' on a line ending in " HTTP/1.x"; a response starts "HTTP/1." DIGIT.
 * HTTP_SNIFF_YES, HTTP_SNIFF_NO, or HTTP_INCOMPLETE while the prefix still fits. */
int http_looks_like_request(const uint8_t *buf, size_t len);
int http_looks_like_response(const uint8_t *buf, size_t len);

/* 1xx other than 101: another response for the same request follows. */
bool http_status_interim(int status);

/* ---- message bodies (RFC 9112 6.3) ---- */

enum http_body_kind {
    HTTP_BODY_NONE,        /* no body: the message ends with its head */
    HTTP_BODY_LENGTH,      /* Content-Length bytes */
    HTTP_BODY_CHUNKED,     /* chunked transfer coding */
    HTTP_BODY_UNTIL_CLOSE, /* a response delimited by the connection closing */
    HTTP_BODY_UPGRADE,     /* 101 Switching Protocols: the next byte is the new protocol */
    HTTP_BODY_TUNNEL,      /* 2xx to CONNECT: the next byte is tunnelled data */
    HTTP_BODY_INVALID,     /* framing cannot be determined (see err); give up on the stream */
};

enum http_body_err {
    HTTP_BODY_OK = 0,
    HTTP_BODY_ERR_CL_INVALID,     /* Content-Length not 1*DIGIT, or above 2^63-1 */
    HTTP_BODY_ERR_CL_CONFLICT,    /* several Content-Length values that differ */
    HTTP_BODY_ERR_TE_REQUEST,     /* request whose Transfer-Encoding does not end in chunked */
    HTTP_BODY_ERR_TE_TWICE,       /* chunked applied more than once */
    HTTP_BODY_ERR_CHUNK_SIZE,     /* chunk-size missing or not hex */
    HTTP_BODY_ERR_CHUNK_OVERFLOW, /* chunk-size above 2^63-1 */
    HTTP_BODY_ERR_CHUNK_SYNTAX,   /* bad byte in a chunk line, or no CRLF after chunk data */
    HTTP_BODY_ERR_CHUNK_LINE,     /* chunk-size line (with extensions) above HTTP_CHUNK_LINE_MAX */
    HTTP_BODY_ERR_TRAILER,        /* trailer section above HTTP_TRAILER_MAX or a bad byte in it */
    HTTP_BODY_ERR_TRUNCATED,      /* the stream ended before the body did */
};

/* http_body.flags */
#define HTTP_BODY_F_TE_AND_CL 0x1   /* both Transfer-Encoding and Content-Length (TE wins) */
#define HTTP_BODY_F_CL_REPEATED 0x2 /* the same Content-Length value given more than once */
#define HTTP_BODY_F_TE_HTTP10 0x4   /* Transfer-Encoding in an HTTP/1.0 message */
#define HTTP_BODY_F_BARE_LF 0x8     /* a chunk line ended in LF alone */
#define HTTP_BODY_F_CHUNK_EXT 0x10  /* chunk extensions were present (ignored) */

#define HTTP_BODY_PREFIX 256 /* decoded body bytes kept for display */
#define HTTP_CHUNK_LINE_MAX 4096
#define HTTP_TRAILER_MAX 16384

struct http_body {
    enum http_body_kind kind;
    enum http_body_err err;
    unsigned flags;
    bool done;          /* the body is complete; further bytes belong to the next message */
    uint64_t length;    /* LENGTH: the Content-Length */
    uint64_t remaining; /* LENGTH: bytes left; CHUNKED: data bytes left in this chunk */
    uint64_t decoded;   /* body bytes seen, chunk framing excluded (saturates) */
    uint64_t wire;      /* bytes consumed by http_body_feed, framing included (saturates) */
    uint64_t nchunks;   /* chunks with data seen */
    uint32_t ntrailers; /* trailer field lines */
    /* chunked decoder state */
    int cstate;
    uint32_t line_len;
    uint32_t trailer_bytes;
    bool have_digit;
    size_t prefix_len;
    uint8_t prefix[HTTP_BODY_PREFIX]; /* the first decoded body bytes (a copy) */
};

/*
 * Decide the framing of the body that follows msg. For a response, req_method is the method of
 * the request it answers (NUL-terminated; NULL when unknown, treated as GET) so HEAD and CONNECT
 * are honoured. Returns 0, or HTTP_MALFORMED with kind HTTP_BODY_INVALID and err set.
 * NONE, UPGRADE, TUNNEL and LENGTH 0 are done at once.
 */
int http_body_init(struct http_body *b, const struct http_msg *msg, bool is_request,
                   const char *req_method);
/*
 * Consume body bytes without buffering them. Returns the bytes consumed (<= len; fewer only
 * when the body ended inside buf, *done then true), or HTTP_MALFORMED with b->err set.
 * Chunked bodies may be split at any byte. After done, returns 0.
 */
ptrdiff_t http_body_feed(struct http_body *b, const uint8_t *buf, size_t len, bool *done);
/* The stream ended. Returns 0 when that completes the body (UNTIL_CLOSE, or already done),
 * else HTTP_INCOMPLETE with err HTTP_BODY_ERR_TRUNCATED. */
int http_body_end_of_stream(struct http_body *b);

const char *http_body_kind_name(enum http_body_kind k);
/* A sentence describing err, or NULL for HTTP_BODY_OK. */
const char *http_body_err_str(enum http_body_err e);

#endif
