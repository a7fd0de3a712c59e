/* http.c - HTTP/1.x head parser (tail rescan, slices into the caller's buffer) and body framing. */
#include "http.h"

#include <string.h>

#include "rd.h"

#define HTTP_MAX_LEADING_EMPTY 64 /* bytes of empty lines tolerated before a start line */
#define HTTP_SNIFF_TOKEN_MAX 32   /* longest method the sniffer considers */
#define HTTP_SNIFF_LINE_MAX 8192  /* longest request line the sniffer waits for */
#define CL_MAX ((uint64_t)INT64_MAX)

enum chunk_state {
    CS_SIZE,          /* chunk-size hex digits */
    CS_SIZE_BWS,      /* blanks after the size, before ';' or the line end */
    CS_EXT,           /* chunk extensions, up to the line end */
    CS_SIZE_LF,       /* CR seen at the end of the size line */
    CS_DATA,          /* chunk data */
    CS_DATA_CR,       /* the CRLF after chunk data */
    CS_DATA_LF,       /* CR seen after chunk data */
    CS_TRAILER_START, /* start of a trailer line, or the final empty line */
    CS_TRAILER_LINE,  /* inside a trailer field line */
    CS_TRAILER_LF,    /* CR seen at the end of a trailer line */
    CS_END_LF,        /* CR seen on the final empty line */
};

static bool is_tchar(int c)
{
    if (c < 0)
        return false;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Bytes that may never appear in a head: controls other than HTAB/CR/LF, and DEL. */
static bool is_bad_ctl(int c)
{
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

/* Field-value and reason-phrase bytes: HTAB, SP, VCHAR, obs-text. */
static bool is_text(int c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f && c <= 0xff);
}

static bool is_blank(int c)
{
    return c == ' ' || c == '\t';
}

/* List whitespace: blanks, and the CR/LF of an obs-fold inside a folded value. */
static bool is_lws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static struct wst_str slice(const uint8_t *start, const struct rd *r)
{
    struct wst_str s = {start, (size_t)(r->p - start)};
    return s;
}

/* Case-insensitive comparison of a slice with a NUL-terminated ASCII name. */
static bool str_ieq(const uint8_t *p, size_t len, const char *name)
{
    struct rd r = rd_make(p, len);
    size_t i = 0;

    for (; name[i] != '\0'; i++) {
        if (rd_left(&r) == 0)
            return false;
        if (lower(rd_u8(&r)) != lower((unsigned char)name[i]))
            return false;
    }
    return rd_left(&r) == 0;
}

void http_limits_default(struct http_limits *lim)
{
    lim->max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES;
    lim->max_headers = HTTP_DEFAULT_MAX_HEADERS;
}

void http_msg_init(struct http_msg *m, struct wst_header *hdrs, size_t cap)
{
    memset(m, 0, sizeof *m);
    m->headers = hdrs;
    m->hdr_cap = hdrs ? cap : 0;
}

/* Leading empty lines (CRLF or LF). Returns their length, or -1 when there are too many. */
static ptrdiff_t head_skip_empty(const uint8_t *buf, size_t len, bool *partial)
{
    struct rd r = rd_make(buf, len);

    *partial = false;
    for (;;) {
        int c = rd_peek(&r, 0);
        if (c == '\n') {
            rd_skip(&r, 1);
        } else if (c == '\r' && rd_peek(&r, 1) == '\n') {
            rd_skip(&r, 2);
        } else {
            *partial = c < 0 || (c == '\r' && rd_left(&r) == 1);
            break;
        }
        if (len - rd_left(&r) > HTTP_MAX_LEADING_EMPTY)
            return -1;
    }
    return (ptrdiff_t)(len - rd_left(&r));
}

/*
 * Scan buf[from, lim) for the empty line that ends the head. Returns the offset just past it,
 * 0 when it is not there yet, or -1 on a byte no head may contain (a control, DEL, bare CR).
 */
static ptrdiff_t head_find_end(const uint8_t *buf, size_t lim, size_t from)
{
    struct rd r = rd_make(buf, lim);

    rd_skip(&r, from);
    while (rd_left(&r) > 0) {
        int c = rd_peek(&r, 0);
        if (c == '\n') {
            int c1 = rd_peek(&r, 1);
            if (c1 == '\n')
                return (ptrdiff_t)(lim - rd_left(&r) + 2);
            if (c1 == '\r' && rd_peek(&r, 2) == '\n')
                return (ptrdiff_t)(lim - rd_left(&r) + 3);
        } else if (c == '\r') {
            int c1 = rd_peek(&r, 1);
            if (c1 >= 0 && c1 != '\n')
                return -1;
        } else if (is_bad_ctl(c)) {
            return -1;
        }
        rd_skip(&r, 1);
    }
    return 0;
}

/* A line end: CRLF, or a bare LF (flagged). */
static bool head_eol(struct rd *r, struct http_msg *m)
{
    if (rd_peek(r, 0) == '\r' && rd_peek(r, 1) == '\n') {
        rd_skip(r, 2);
        return true;
    }
    if (rd_peek(r, 0) == '\n') {
        rd_skip(r, 1);
        m->flags |= HTTP_F_BARE_LF;
        return true;
    }
    return false;
}

static bool head_expect(struct rd *r, int c)
{
    if (rd_peek(r, 0) != c)
        return false;
    rd_skip(r, 1);
    return true;
}

/* "HTTP/" DIGIT "." DIGIT with major 1. */
static bool head_version(struct rd *r, struct http_msg *m)
{
    static const char pfx[] = "HTTP/1.";

    for (size_t i = 0; pfx[i] != '\0'; i++) {
        if (!head_expect(r, pfx[i]))
            return false;
    }
    int c = rd_peek(r, 0);
    if (c < '0' || c > '9')
        return false;
    rd_skip(r, 1);
    m->vmajor = 1;
    m->vminor = c - '0';
    return true;
}

static bool head_request_line(struct rd *r, struct http_msg *m)
{
    const uint8_t *start = r->p;

    while (is_tchar(rd_peek(r, 0)))
        rd_skip(r, 1);
    m->method = slice(start, r);
    if (m->method.len == 0 || !head_expect(r, ' '))
        return false;

    start = r->p;
    for (;;) {
        int c = rd_peek(r, 0);
        if (c <= 0x20 || c == 0x7f)
            break;
        if (c >= 0x80)
            m->flags |= HTTP_F_TARGET_8BIT;
        rd_skip(r, 1);
    }
    m->target = slice(start, r);
    if (m->target.len == 0 || !head_expect(r, ' '))
        return false;
    return head_version(r, m) && head_eol(r, m);
}

static bool head_status_line(struct rd *r, struct http_msg *m)
{
    if (!head_version(r, m) || !head_expect(r, ' '))
        return false;
    m->status = 0;
    for (int i = 0; i < 3; i++) {
        int c = rd_peek(r, 0);
        if (c < '0' || c > '9')
            return false;
        m->status = m->status * 10 + (c - '0');
        rd_skip(r, 1);
    }
    if (m->status < 100)
        return false;
    m->reason.p = r->p;
    m->reason.len = 0;
    if (rd_peek(r, 0) != ' ') {
        m->flags |= HTTP_F_NO_REASON_SP;
        return head_eol(r, m);
    }
    rd_skip(r, 1);
    const uint8_t *start = r->p;
    while (is_text(rd_peek(r, 0)))
        rd_skip(r, 1);
    m->reason = slice(start, r);
    return head_eol(r, m);
}

/* Value bytes up to the line end; *end is just past the last non-blank byte (start if none). */
static void head_value(struct rd *r, const uint8_t **end)
{
    *end = r->p;
    for (;;) {
        int c = rd_peek(r, 0);
        if (!is_text(c))
            break;
        rd_skip(r, 1);
        if (!is_blank(c))
            *end = r->p;
    }
}

/* Header field lines up to and including the empty line. */
static ptrdiff_t head_fields(struct rd *r, struct http_msg *m, size_t maxh)
{
    for (;;) {
        int c = rd_peek(r, 0);
        if (c == '\r' || c == '\n')
            return head_eol(r, m) ? 0 : HTTP_MALFORMED;

        if (is_blank(c)) {
            /* obs-fold: continues the previous field's value (none before the first field) */
            if (m->nhdrs == 0)
                return HTTP_MALFORMED;
            struct wst_header *h = &m->headers[m->nhdrs - 1];
            while (is_blank(rd_peek(r, 0)))
                rd_skip(r, 1);
            const uint8_t *start = r->p, *end;
            head_value(r, &end);
            if (!head_eol(r, m))
                return HTTP_MALFORMED;
            m->flags |= HTTP_F_FOLDED;
            if (end == start)
                continue;
            if (h->value.len == 0)
                h->value.p = start;
            h->value.len = (size_t)(end - h->value.p);
            continue;
        }

        const uint8_t *start = r->p;
        while (is_tchar(rd_peek(r, 0)))
            rd_skip(r, 1);
        struct wst_str name = slice(start, r);
        if (name.len == 0 || !head_expect(r, ':'))
            return HTTP_MALFORMED;
        while (is_blank(rd_peek(r, 0)))
            rd_skip(r, 1);
        const uint8_t *vstart = r->p, *vend;
        head_value(r, &vend);
        if (!head_eol(r, m))
            return HTTP_MALFORMED;
        if (m->nhdrs >= maxh)
            return HTTP_TOO_LARGE;
        m->headers[m->nhdrs].name = name;
        m->headers[m->nhdrs].value.p = vstart;
        m->headers[m->nhdrs].value.len = (size_t)(vend - vstart);
        m->nhdrs++;
    }
}

ptrdiff_t http_parse_head(const uint8_t *buf, size_t len, size_t prev_len, bool is_request,
                          const struct http_limits *lim, struct http_msg *out)
{
    struct http_limits dflt;
    bool partial;

    if (lim == NULL) {
        http_limits_default(&dflt);
        lim = &dflt;
    }
    size_t maxb = lim->max_header_bytes ? lim->max_header_bytes : HTTP_DEFAULT_MAX_HEADER_BYTES;
    size_t maxh = lim->max_headers ? lim->max_headers : HTTP_DEFAULT_MAX_HEADERS;
    if (maxh > out->hdr_cap)
        maxh = out->hdr_cap;
    if (maxb > (size_t)PTRDIFF_MAX)
        maxb = (size_t)PTRDIFF_MAX;
    if (prev_len > len)
        prev_len = len;

    size_t lim_len = len < maxb ? len : maxb;
    ptrdiff_t skip = head_skip_empty(buf, lim_len, &partial);
    if (skip < 0)
        return HTTP_MALFORMED;
    if (partial)
        return len >= maxb ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;

    size_t from = prev_len >= 3 ? prev_len - 3 : 0;
    if (from < (size_t)skip)
        from = (size_t)skip;
    ptrdiff_t end = head_find_end(buf, lim_len, from);
    if (end < 0)
        return HTTP_MALFORMED;
    if (end == 0)
        return len >= maxb ? HTTP_TOO_LARGE : HTTP_INCOMPLETE;

    /* The block is complete: parse it once, within [skip, end). */
    struct wst_header *hdrs = out->headers;
    size_t cap = out->hdr_cap;
    memset(out, 0, sizeof *out);
    out->headers = hdrs;
    out->hdr_cap = cap;
    out->skipped = (size_t)skip;
    out->hdr_bytes = (size_t)(end - skip);
    if (skip > 0)
        out->flags |= HTTP_F_LEADING_EMPTY;

    struct rd r = rd_make(buf, (size_t)end);
    rd_skip(&r, (size_t)skip);
    bool ok = is_request ? head_request_line(&r, out) : head_status_line(&r, out);
    if (!ok)
        return HTTP_MALFORMED;
    ptrdiff_t rc = head_fields(&r, out, maxh);
    if (rc < 0)
        return rc;
    if (r.err || rd_left(&r) != 0)
        return HTTP_MALFORMED;
    return end;
}

const struct wst_header *http_header_next(const struct http_msg *m, const char *name,
                                          const struct wst_header *prev)
{
    size_t i = 0;

    if (prev != NULL) {
        if (prev < m->headers || prev >= m->headers + m->nhdrs)
            return NULL;
        i = (size_t)(prev - m->headers) + 1;
    }
    for (; i < m->nhdrs; i++) {
        const struct wst_header *h = &m->headers[i];
        if (str_ieq(h->name.p, h->name.len, name))
            return h;
    }
    return NULL;
}

const struct wst_header *http_header_find(const struct http_msg *m, const char *name)
{
    return http_header_next(m, name, NULL);
}

size_t http_header_count(const struct http_msg *m, const char *name)
{
    size_t n = 0;

    for (const struct wst_header *h = http_header_find(m, name); h != NULL;
         h = http_header_next(m, name, h))
        n++;
    return n;
}

/*
 * The next non-empty element of a comma-separated list, blanks trimmed, parameters (from ';')
 * cut off when tok_only. Returns false at the end of the list.
 */
static bool list_next(struct rd *r, bool tok_only, struct wst_str *elem)
{
    for (;;) {
        while (is_lws(rd_peek(r, 0)) || rd_peek(r, 0) == ',')
            rd_skip(r, 1);
        if (rd_left(r) == 0)
            return false;
        const uint8_t *start = r->p, *end = r->p;
        bool in_params = false;
        for (;;) {
            int c = rd_peek(r, 0);
            if (c < 0 || c == ',')
                break;
            if (c == ';' && tok_only)
                in_params = true;
            rd_skip(r, 1);
            if (!in_params && !is_lws(c))
                end = r->p;
        }
        elem->p = start;
        elem->len = (size_t)(end - start);
        if (elem->len > 0)
            return true;
    }
}

bool http_token_list_has(const uint8_t *value, size_t len, const char *token)
{
    struct rd r = rd_make(value, len);
    struct wst_str e;

    while (list_next(&r, true, &e)) {
        if (str_ieq(e.p, e.len, token))
            return true;
    }
    return false;
}

bool http_header_has_token(const struct http_msg *m, const char *name, const char *token)
{
    for (const struct wst_header *h = http_header_find(m, name); h != NULL;
         h = http_header_next(m, name, h)) {
        if (http_token_list_has(h->value.p, h->value.len, token))
            return true;
    }
    return false;
}

size_t http_value_unfold(const uint8_t *value, size_t len, uint8_t *out, size_t cap)
{
    struct rd r = rd_make(value, len);
    size_t n = 0;
    size_t blanks = 0; /* blanks held back: written only if content follows on the line */
    const uint8_t *blank_start = NULL;
    bool fold = false; /* a line break since the last content byte */

    while (rd_left(&r) > 0) {
        const uint8_t *at = r.p;
        uint8_t c = rd_u8(&r);
        if (c == '\r' || c == '\n') {
            fold = true;
            blanks = 0;
            continue;
        }
        if (is_blank(c)) {
            if (!fold && blanks++ == 0)
                blank_start = at;
            continue;
        }
        if (fold && n > 0) {
            if (n < cap)
                out[n] = ' ';
            n++;
        } else if (blanks > 0) {
            struct rd b = rd_make(blank_start, blanks);
            while (rd_left(&b) > 0) {
                uint8_t bc = rd_u8(&b);
                if (n < cap)
                    out[n] = bc;
                n++;
            }
        }
        fold = false;
        blanks = 0;
        if (n < cap)
            out[n] = c;
        n++;
    }
    return n;
}

/* ---- sniffing ---- */

static const char *const known_methods[] = {
    "GET",   "HEAD",   "POST",     "PUT",       "DELETE",     "CONNECT", "OPTIONS",
    "TRACE", "PATCH",  "PROPFIND", "PROPPATCH", "MKCOL",      "COPY",    "MOVE",
    "LOCK",  "UNLOCK", "SEARCH",   "REPORT",    "MKCALENDAR", NULL,
};

static bool is_upper_tok(int c)
{
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* Leading empty lines for the sniffers: false when there are too many. */
static bool sniff_skip_empty(struct rd *r)
{
    size_t n = 0;

    for (;;) {
        int c = rd_peek(r, 0);
        if (c == '\n') {
            rd_skip(r, 1);
            n++;
        } else if (c == '\r' && rd_peek(r, 1) == '\n') {
            rd_skip(r, 2);
            n += 2;
        } else {
            return n <= HTTP_MAX_LEADING_EMPTY;
        }
        if (n > HTTP_MAX_LEADING_EMPTY)
            return false;
    }
}

/* Does the (partial) method tok start a known method? *exact: it is one. */
static bool sniff_method_prefix(const uint8_t *tok, size_t n, bool *exact)
{
    bool any = false;

    *exact = false;
    for (size_t i = 0; known_methods[i] != NULL; i++) {
        const char *km = known_methods[i];
        size_t kl = strlen(km);
        if (n > kl)
            continue;
        struct rd r = rd_make(tok, n);
        size_t j = 0;
        while (j < n && rd_u8(&r) == (unsigned char)km[j])
            j++;
        if (j == n) {
            any = true;
            if (n == kl)
                *exact = true;
        }
    }
    return any;
}

/* The rest of a request line after an unknown method and SP: does it end in " HTTP/1.x"? */
static int sniff_line_tail(struct rd *r)
{
    static const char ver[] = " HTTP/1.";
    size_t scanned = 0;
    const uint8_t *line = r->p;

    for (;;) {
        int c = rd_peek(r, 0);
        if (c < 0)
            return scanned > HTTP_SNIFF_LINE_MAX ? HTTP_SNIFF_NO : HTTP_INCOMPLETE;
        if (c == '\r' || c == '\n')
            break;
        if (is_bad_ctl(c) || c == '\t' || ++scanned > HTTP_SNIFF_LINE_MAX)
            return HTTP_SNIFF_NO;
        rd_skip(r, 1);
    }
    if (rd_peek(r, 0) == '\r' && rd_peek(r, 1) < 0)
        return HTTP_INCOMPLETE;
    if (rd_peek(r, 0) == '\r' && rd_peek(r, 1) != '\n')
        return HTTP_SNIFF_NO;
    /* line[0, scanned) must end in " HTTP/1." DIGIT */
    size_t vl = sizeof ver - 1;
    if (scanned < vl + 2)
        return HTTP_SNIFF_NO;
    struct rd t = rd_make(line, scanned);
    rd_skip(&t, scanned - vl - 1);
    for (size_t i = 0; i < vl; i++) {
        if (rd_u8(&t) != (unsigned char)ver[i])
            return HTTP_SNIFF_NO;
    }
    int d = rd_u8(&t);
    return (d >= '0' && d <= '9') ? HTTP_SNIFF_YES : HTTP_SNIFF_NO;
}

int http_looks_like_request(const uint8_t *buf, size_t len)
{
    struct rd r = rd_make(buf, len);

    if (!sniff_skip_empty(&r))
        return HTTP_SNIFF_NO;
    if (rd_left(&r) == 0 || (rd_peek(&r, 0) == '\r' && rd_left(&r) == 1))
        return HTTP_INCOMPLETE;

    const uint8_t *tok = r.p;
    size_t n = 0;
    bool upper = true;
    while (is_tchar(rd_peek(&r, 0))) {
        upper = upper && is_upper_tok(rd_peek(&r, 0));
        rd_skip(&r, 1);
        if (++n > HTTP_SNIFF_TOKEN_MAX)
            return HTTP_SNIFF_NO;
    }
    bool exact;
    bool prefix = sniff_method_prefix(tok, n, &exact);
    if (rd_left(&r) == 0)
        return (n > 0 && (prefix || upper)) ? HTTP_INCOMPLETE : HTTP_SNIFF_NO;
    if (n == 0 || !head_expect(&r, ' '))
        return HTTP_SNIFF_NO;

    int c = rd_peek(&r, 0);
    if (c < 0)
        return (exact || upper) ? HTTP_INCOMPLETE : HTTP_SNIFF_NO;
    if (exact) {
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        return (c == '/' || c == '*' || c == '[' || alnum) ? HTTP_SNIFF_YES : HTTP_SNIFF_NO;
    }
    if (!upper || c != '/')
        return HTTP_SNIFF_NO;
    return sniff_line_tail(&r);
}

int http_looks_like_response(const uint8_t *buf, size_t len)
{
    static const char pfx[] = "HTTP/1.";
    struct rd r = rd_make(buf, len);

    if (!sniff_skip_empty(&r))
        return HTTP_SNIFF_NO;
    if (rd_left(&r) == 0 || (rd_peek(&r, 0) == '\r' && rd_left(&r) == 1))
        return HTTP_INCOMPLETE;
    for (size_t i = 0; pfx[i] != '\0'; i++) {
        int c = rd_peek(&r, 0);
        if (c < 0)
            return HTTP_INCOMPLETE;
        if (c != (unsigned char)pfx[i])
            return HTTP_SNIFF_NO;
        rd_skip(&r, 1);
    }
    int d = rd_peek(&r, 0);
    if (d < 0)
        return HTTP_INCOMPLETE;
    return (d >= '0' && d <= '9') ? HTTP_SNIFF_YES : HTTP_SNIFF_NO;
}

bool http_status_interim(int status)
{
    return status >= 100 && status <= 199 && status != 101;
}

/* ---- body framing ---- */

static int body_fail(struct http_body *b, enum http_body_err e)
{
    b->kind = HTTP_BODY_INVALID;
    b->err = e;
    b->done = false;
    return HTTP_MALFORMED;
}

/* 1*DIGIT as a value <= 2^63-1. */
static bool parse_decimal(const uint8_t *p, size_t len, uint64_t *out)
{
    struct rd r = rd_make(p, len);
    uint64_t v = 0;

    if (len == 0)
        return false;
    while (rd_left(&r) > 0) {
        int c = rd_u8(&r);
        if (c < '0' || c > '9')
            return false;
        uint64_t d = (uint64_t)(c - '0');
        if (v > (CL_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* All Content-Length values (several lines, or a list in one): 1 found, 0 none, -1 error
 * (with *err set). */
static int body_content_length(struct http_body *b, const struct http_msg *m, uint64_t *len,
                               enum http_body_err *err)
{
    bool found = false;

    for (const struct wst_header *h = http_header_find(m, "Content-Length"); h != NULL;
         h = http_header_next(m, "Content-Length", h)) {
        struct rd r = rd_make(h->value.p, h->value.len);
        struct wst_str e;
        bool any = false;
        while (list_next(&r, false, &e)) {
            uint64_t v;
            any = true;
            if (!parse_decimal(e.p, e.len, &v)) {
                *err = HTTP_BODY_ERR_CL_INVALID;
                return -1;
            }
            if (found && v != *len) {
                *err = HTTP_BODY_ERR_CL_CONFLICT;
                return -1;
            }
            if (found)
                b->flags |= HTTP_BODY_F_CL_REPEATED;
            found = true;
            *len = v;
        }
        if (!any) {
            *err = HTTP_BODY_ERR_CL_INVALID;
            return -1;
        }
    }
    return found ? 1 : 0;
}

/* Transfer-Encoding: 0 absent, 1 final coding chunked (once), 2 final coding not chunked,
 * -1 when chunked appears more than once. */
static int body_transfer_coding(const struct http_msg *m)
{
    bool present = false, last_chunked = false;
    int nchunked = 0;

    for (const struct wst_header *h = http_header_find(m, "Transfer-Encoding"); h != NULL;
         h = http_header_next(m, "Transfer-Encoding", h)) {
        struct rd r = rd_make(h->value.p, h->value.len);
        struct wst_str e;
        present = true;
        last_chunked = false; /* an empty line's "final coding" is none */
        while (list_next(&r, true, &e)) {
            last_chunked = str_ieq(e.p, e.len, "chunked");
            nchunked += last_chunked;
        }
    }
    if (!present)
        return 0;
    if (nchunked > 1)
        return -1;
    return last_chunked ? 1 : 2;
}

int http_body_init(struct http_body *b, const struct http_msg *msg, bool is_request,
                   const char *req_method)
{
    memset(b, 0, sizeof *b);
    b->cstate = CS_SIZE;

    if (!is_request) {
        bool head = req_method != NULL && strcmp(req_method, "HEAD") == 0;
        bool connect = req_method != NULL && strcmp(req_method, "CONNECT") == 0;
        if (msg->status == 101) {
            b->kind = HTTP_BODY_UPGRADE;
            b->done = true;
            return 0;
        }
        if (head || msg->status / 100 == 1 || msg->status == 204 || msg->status == 304) {
            b->kind = HTTP_BODY_NONE;
            b->done = true;
            return 0;
        }
        if (connect && msg->status / 100 == 2) {
            b->kind = HTTP_BODY_TUNNEL;
            b->done = true;
            return 0;
        }
    }

    uint64_t cl = 0;
    enum http_body_err clerr = HTTP_BODY_OK;
    int te = body_transfer_coding(msg);
    int clr = body_content_length(b, msg, &cl, &clerr);
    if (te != 0) {
        if (msg->vminor == 0)
            b->flags |= HTTP_BODY_F_TE_HTTP10;
        if (http_header_find(msg, "Content-Length") != NULL)
            b->flags |= HTTP_BODY_F_TE_AND_CL;
        if (te < 0)
            return body_fail(b, HTTP_BODY_ERR_TE_TWICE);
        if (te == 1) {
            b->kind = HTTP_BODY_CHUNKED;
            return 0;
        }
        if (is_request)
            return body_fail(b, HTTP_BODY_ERR_TE_REQUEST);
        b->kind = HTTP_BODY_UNTIL_CLOSE;
        return 0;
    }
    if (clr < 0)
        return body_fail(b, clerr);
    if (clr > 0) {
        b->kind = HTTP_BODY_LENGTH;
        b->length = cl;
        b->remaining = cl;
        b->done = cl == 0;
        return 0;
    }
    if (is_request) {
        b->kind = HTTP_BODY_NONE;
        b->done = true;
        return 0;
    }
    b->kind = HTTP_BODY_UNTIL_CLOSE;
    return 0;
}

/* Body data: count it and keep the first HTTP_BODY_PREFIX bytes. */
static void body_data(struct http_body *b, struct rd *r, size_t n)
{
    size_t room = sizeof b->prefix - b->prefix_len;
    size_t keep = n < room ? n : room;

    rd_copy(r, b->prefix + b->prefix_len, keep);
    b->prefix_len += keep;
    rd_skip(r, n - keep);
    b->decoded = sat_add(b->decoded, n);
}

static int chunk_error(struct http_body *b, enum http_body_err e)
{
    b->err = e;
    return HTTP_MALFORMED;
}

/* The size line ended: data follows, or the trailer section after the last chunk. */
static void chunk_size_done(struct http_body *b)
{
    b->line_len = 0;
    if (b->remaining == 0) {
        b->cstate = CS_TRAILER_START;
    } else {
        b->nchunks++;
        b->cstate = CS_DATA;
    }
}

/* One framing byte of a chunked body. Returns 0, or HTTP_MALFORMED. */
static int chunk_byte(struct http_body *b, int c)
{
    switch (b->cstate) {
    case CS_SIZE:
    case CS_SIZE_BWS:
    case CS_EXT:
        if (++b->line_len > HTTP_CHUNK_LINE_MAX)
            return chunk_error(b, HTTP_BODY_ERR_CHUNK_LINE);
        break;
    case CS_TRAILER_START:
    case CS_TRAILER_LINE:
    case CS_TRAILER_LF:
    case CS_END_LF:
        if (++b->trailer_bytes > HTTP_TRAILER_MAX)
            return chunk_error(b, HTTP_BODY_ERR_TRAILER);
        break;
    default:
        break;
    }

    switch (b->cstate) {
    case CS_SIZE: {
        int h = rd_hexval(c);
        if (h >= 0) {
            if (b->remaining > (CL_MAX - (uint64_t)h) / 16)
                return chunk_error(b, HTTP_BODY_ERR_CHUNK_OVERFLOW);
            b->remaining = b->remaining * 16 + (uint64_t)h;
            b->have_digit = true;
            return 0;
        }
        if (!b->have_digit)
            return chunk_error(b, HTTP_BODY_ERR_CHUNK_SIZE);
        b->cstate = CS_SIZE_BWS;
        b->line_len--; /* counted again below */
        return chunk_byte(b, c) < 0 ? HTTP_MALFORMED : 0;
    }
    case CS_SIZE_BWS:
        if (is_blank(c))
            return 0;
        if (c == ';') {
            b->flags |= HTTP_BODY_F_CHUNK_EXT;
            b->cstate = CS_EXT;
            return 0;
        }
        if (c == '\r') {
            b->cstate = CS_SIZE_LF;
            return 0;
        }
        if (c == '\n') {
            b->flags |= HTTP_BODY_F_BARE_LF;
            chunk_size_done(b);
            return 0;
        }
        return chunk_error(b, HTTP_BODY_ERR_CHUNK_SIZE);
    case CS_EXT:
        if (c == '\r') {
            b->cstate = CS_SIZE_LF;
            return 0;
        }
        if (c == '\n') {
            b->flags |= HTTP_BODY_F_BARE_LF;
            chunk_size_done(b);
            return 0;
        }
        return is_text(c) ? 0 : chunk_error(b, HTTP_BODY_ERR_CHUNK_SYNTAX);
    case CS_SIZE_LF:
        if (c != '\n')
            return chunk_error(b, HTTP_BODY_ERR_CHUNK_SYNTAX);
        chunk_size_done(b);
        return 0;
    case CS_DATA_CR:
        if (c == '\r') {
            b->cstate = CS_DATA_LF;
            return 0;
        }
        if (c != '\n')
            return chunk_error(b, HTTP_BODY_ERR_CHUNK_SYNTAX);
        b->flags |= HTTP_BODY_F_BARE_LF;
        b->cstate = CS_SIZE;
        b->have_digit = false;
        return 0;
    case CS_DATA_LF:
        if (c != '\n')
            return chunk_error(b, HTTP_BODY_ERR_CHUNK_SYNTAX);
        b->cstate = CS_SIZE;
        b->have_digit = false;
        return 0;
    case CS_TRAILER_START:
        if (c == '\r') {
            b->cstate = CS_END_LF;
            return 0;
        }
        if (c == '\n') {
            b->flags |= HTTP_BODY_F_BARE_LF;
            b->done = true;
            return 0;
        }
        if (!is_tchar(c))
            return chunk_error(b, HTTP_BODY_ERR_TRAILER);
        b->ntrailers++;
        b->cstate = CS_TRAILER_LINE;
        return 0;
    case CS_TRAILER_LINE:
        if (c == '\r') {
            b->cstate = CS_TRAILER_LF;
            return 0;
        }
        if (c == '\n') {
            b->flags |= HTTP_BODY_F_BARE_LF;
            b->cstate = CS_TRAILER_START;
            return 0;
        }
        return is_text(c) ? 0 : chunk_error(b, HTTP_BODY_ERR_TRAILER);
    case CS_TRAILER_LF:
        if (c != '\n')
            return chunk_error(b, HTTP_BODY_ERR_TRAILER);
        b->cstate = CS_TRAILER_START;
        return 0;
    case CS_END_LF:
        if (c != '\n')
            return chunk_error(b, HTTP_BODY_ERR_CHUNK_SYNTAX);
        b->done = true;
        return 0;
    default:
        return chunk_error(b, HTTP_BODY_ERR_CHUNK_SYNTAX);
    }
}

static ptrdiff_t body_feed_chunked(struct http_body *b, struct rd *r)
{
    size_t start = rd_left(r);

    while (!b->done && rd_left(r) > 0) {
        if (b->cstate == CS_DATA) {
            uint64_t n = b->remaining < rd_left(r) ? b->remaining : rd_left(r);
            body_data(b, r, (size_t)n);
            b->remaining -= n;
            if (b->remaining == 0)
                b->cstate = CS_DATA_CR;
            continue;
        }
        if (chunk_byte(b, rd_u8(r)) < 0)
            return HTTP_MALFORMED;
    }
    return (ptrdiff_t)(start - rd_left(r));
}

ptrdiff_t http_body_feed(struct http_body *b, const uint8_t *buf, size_t len, bool *done)
{
    struct rd r = rd_make(buf, len);
    ptrdiff_t used = 0;

    if (b->kind == HTTP_BODY_INVALID || b->err != HTTP_BODY_OK) {
        *done = false;
        return HTTP_MALFORMED;
    }
    if (len > (size_t)PTRDIFF_MAX)
        len = (size_t)PTRDIFF_MAX;
    if (!b->done) {
        switch (b->kind) {
        case HTTP_BODY_LENGTH: {
            uint64_t n = b->remaining < len ? b->remaining : len;
            body_data(b, &r, (size_t)n);
            b->remaining -= n;
            b->done = b->remaining == 0;
            used = (ptrdiff_t)n;
            break;
        }
        case HTTP_BODY_CHUNKED:
            used = body_feed_chunked(b, &r);
            break;
        case HTTP_BODY_UNTIL_CLOSE:
            body_data(b, &r, len);
            used = (ptrdiff_t)len;
            break;
        default:
            b->done = true;
            break;
        }
    }
    *done = b->done;
    if (used < 0)
        return used;
    b->wire = sat_add(b->wire, (uint64_t)used);
    return used;
}

int http_body_end_of_stream(struct http_body *b)
{
    if (b->kind == HTTP_BODY_INVALID || b->err != HTTP_BODY_OK)
        return HTTP_MALFORMED;
    if (b->done)
        return 0;
    if (b->kind == HTTP_BODY_UNTIL_CLOSE) {
        b->done = true;
        return 0;
    }
    b->err = HTTP_BODY_ERR_TRUNCATED;
    return HTTP_INCOMPLETE;
}

const char *http_body_kind_name(enum http_body_kind k)
{
    switch (k) {
    case HTTP_BODY_NONE:
        return "none";
    case HTTP_BODY_LENGTH:
        return "length";
    case HTTP_BODY_CHUNKED:
        return "chunked";
    case HTTP_BODY_UNTIL_CLOSE:
        return "until_close";
    case HTTP_BODY_UPGRADE:
        return "upgrade";
    case HTTP_BODY_TUNNEL:
        return "tunnel";
    case HTTP_BODY_INVALID:
        return "invalid";
    }
    return "unknown";
}

const char *http_body_err_str(enum http_body_err e)
{
    switch (e) {
    case HTTP_BODY_OK:
        return NULL;
    case HTTP_BODY_ERR_CL_INVALID:
        return "The Content-Length value is not a decimal number below 2^63.";
    case HTTP_BODY_ERR_CL_CONFLICT:
        return "The message carries several different Content-Length values.";
    case HTTP_BODY_ERR_TE_REQUEST:
        return "The request's Transfer-Encoding does not end in chunked, so its length is unknown.";
    case HTTP_BODY_ERR_TE_TWICE:
        return "Transfer-Encoding applies chunked more than once.";
    case HTTP_BODY_ERR_CHUNK_SIZE:
        return "A chunk-size line does not start with a hexadecimal size.";
    case HTTP_BODY_ERR_CHUNK_OVERFLOW:
        return "A chunk size exceeds 2^63-1 bytes.";
    case HTTP_BODY_ERR_CHUNK_SYNTAX:
        return "Chunk framing is broken (bad byte in a chunk line or no CRLF after chunk data).";
    case HTTP_BODY_ERR_CHUNK_LINE:
        return "A chunk-size line is longer than 4096 bytes.";
    case HTTP_BODY_ERR_TRAILER:
        return "The chunked trailer section is malformed or larger than 16384 bytes.";
    case HTTP_BODY_ERR_TRUNCATED:
        return "The connection ended before the message body was complete.";
    }
    return "Unknown body error.";
}
