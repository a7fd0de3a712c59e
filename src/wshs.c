/* wshs.c - WebSocket handshake checks: Sec-WebSocket-Accept, extension negotiation, versions. */
#include "wshs.h"

#include <string.h>

#include <openssl/evp.h>

#include "rd.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static bool is_tchar(int c)
{
    if (c < 0)
        return false;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Whitespace inside a header value, folded lines' CR/LF included. */
static bool is_lws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static bool str_ieq(const struct wst_str *s, const char *name)
{
    struct rd r = rd_make(s->p, s->len);

    for (size_t i = 0; name[i] != '\0'; i++) {
        if (rd_left(&r) == 0 || lower(rd_u8(&r)) != lower((unsigned char)name[i]))
            return false;
    }
    return rd_left(&r) == 0;
}

static bool str_ieq2(const struct wst_str *a, const struct wst_str *b)
{
    struct rd x = rd_make(a->p, a->len);
    struct rd y = rd_make(b->p, b->len);

    if (a->len != b->len)
        return false;
    while (rd_left(&x) > 0) {
        if (lower(rd_u8(&x)) != lower(rd_u8(&y)))
            return false;
    }
    return true;
}

static void skip_lws(struct rd *r)
{
    while (is_lws(rd_peek(r, 0)))
        rd_skip(r, 1);
}

static struct wst_str take_token(struct rd *r)
{
    struct wst_str s = {r->p, 0};

    while (is_tchar(rd_peek(r, 0))) {
        rd_skip(r, 1);
        s.len++;
    }
    return s;
}

int wshs_accept(const uint8_t *key, size_t keylen, char out[WSHS_ACCEPT_LEN + 1])
{
    uint8_t in[WSHS_KEY_MAX + sizeof ws_guid];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct rd r = rd_make(key, keylen);

    out[0] = '\0';
    if (keylen > WSHS_KEY_MAX)
        return -1;
    rd_copy(&r, in, keylen);
    memcpy(in + keylen, ws_guid, sizeof ws_guid - 1);
    if (EVP_Digest(in, keylen + sizeof ws_guid - 1, md, &mdlen, EVP_sha1(), NULL) != 1 ||
        mdlen != 20)
        return -1;
    if (EVP_EncodeBlock((unsigned char *)out, md, 20) != WSHS_ACCEPT_LEN) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

bool wshs_accept_ok(const uint8_t *key, size_t keylen, const uint8_t *accept, size_t acceptlen)
{
    char want[WSHS_ACCEPT_LEN + 1];
    struct rd r = rd_make(accept, acceptlen);

    if (acceptlen != WSHS_ACCEPT_LEN || wshs_accept(key, keylen, want) != 0)
        return false;
    for (size_t i = 0; i < WSHS_ACCEPT_LEN; i++) {
        if (rd_u8(&r) != (unsigned char)want[i])
            return false;
    }
    return true;
}

static bool is_b64(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

bool wshs_key_valid(const uint8_t *key, size_t len)
{
    struct rd r = rd_make(key, len);

    /* 16 bytes = 5 groups of 3 plus one byte: 22 characters and "==". */
    if (len != 24)
        return false;
    for (int i = 0; i < 22; i++) {
        if (!is_b64(rd_u8(&r)))
            return false;
    }
    return rd_u8(&r) == '=' && rd_u8(&r) == '=';
}

/* ---- extensions ---- */

/* A quoted-string whose unescaped content must be a token. The cursor is on the '"'. */
static bool ext_quoted(struct rd *r, struct wst_str *val)
{
    size_t n = 0;

    rd_skip(r, 1);
    val->p = r->p;
    for (;;) {
        int c = rd_peek(r, 0);
        if (c < 0)
            return false;
        if (c == '"')
            break;
        if (c == '\\') {
            rd_skip(r, 1);
            val->len++;
            c = rd_peek(r, 0);
        }
        if (!is_tchar(c))
            return false;
        rd_skip(r, 1);
        val->len++;
        n++;
    }
    rd_skip(r, 1);
    return n > 0;
}

/* One extension-param after its ';'. */
static int ext_param(struct rd *r, struct ws_ext *e)
{
    struct ws_ext_param p;

    memset(&p, 0, sizeof p);
    skip_lws(r);
    p.name = take_token(r);
    if (p.name.len == 0)
        return WSHS_MALFORMED;
    skip_lws(r);
    if (rd_peek(r, 0) == '=') {
        rd_skip(r, 1);
        skip_lws(r);
        p.has_value = true;
        p.value.p = r->p;
        p.value.len = 0;
        if (rd_peek(r, 0) == '"') {
            p.quoted = true;
            if (!ext_quoted(r, &p.value))
                return WSHS_MALFORMED;
        } else {
            p.value = take_token(r);
            if (p.value.len == 0)
                return WSHS_MALFORMED;
        }
        skip_lws(r);
    }
    if (e->nparams >= WSHS_MAX_PARAMS)
        return WSHS_TOO_MANY;
    e->params[e->nparams++] = p;
    return WSHS_OK;
}

int wshs_ext_parse(const uint8_t *value, size_t len, struct ws_ext *exts, size_t cap, size_t *n)
{
    struct rd r = rd_make(value, len);

    for (;;) {
        while (is_lws(rd_peek(&r, 0)) || rd_peek(&r, 0) == ',')
            rd_skip(&r, 1);
        if (rd_left(&r) == 0)
            return WSHS_OK;
        struct ws_ext e;
        memset(&e, 0, sizeof e);
        e.name = take_token(&r);
        if (e.name.len == 0)
            return WSHS_MALFORMED;
        skip_lws(&r);
        while (rd_peek(&r, 0) == ';') {
            rd_skip(&r, 1);
            int rc = ext_param(&r, &e);
            if (rc != WSHS_OK)
                return rc;
        }
        if (rd_left(&r) > 0 && rd_peek(&r, 0) != ',')
            return WSHS_MALFORMED;
        if (*n >= cap)
            return WSHS_TOO_MANY;
        exts[(*n)++] = e;
    }
}

size_t wshs_param_value(const struct ws_ext_param *p, uint8_t *out, size_t cap)
{
    struct rd r = rd_make(p->value.p, p->value.len);
    size_t n = 0;

    while (rd_left(&r) > 0) {
        uint8_t c = rd_u8(&r);
        if (p->quoted && c == '\\' && rd_left(&r) > 0)
            c = rd_u8(&r);
        if (n < cap)
            out[n] = c;
        n++;
    }
    return n;
}

const struct ws_ext *wshs_ext_find(const struct ws_ext *exts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (str_ieq(&exts[i].name, name))
            return &exts[i];
    }
    return NULL;
}

static bool ext_is_frame_deflate(const struct wst_str *name)
{
    return str_ieq(name, "x-webkit-deflate-frame") || str_ieq(name, "deflate-frame");
}

enum wst_compression wshs_compression(const struct ws_ext *exts, size_t n)
{
    if (wshs_ext_find(exts, n, "permessage-deflate") != NULL)
        return WST_COMP_PMD;
    for (size_t i = 0; i < n; i++) {
        if (ext_is_frame_deflate(&exts[i].name))
            return WST_COMP_DEFLATE_FRAME;
    }
    return WST_COMP_NONE;
}

/* "8".."15" in decimal without leading zeros; -1 otherwise. */
static int pmd_bits(const struct ws_ext_param *p)
{
    uint8_t v[3];
    size_t n = wshs_param_value(p, v, sizeof v);

    if (n == 1 && v[0] >= '8' && v[0] <= '9')
        return v[0] - '0';
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return 10 + (v[1] - '0');
    return -1;
}

static void pmd_invalid(struct pmd_params *o, const char *why)
{
    if (o->valid) {
        o->valid = false;
        o->why = why;
    }
}

void wshs_pmd_params(const struct ws_ext *e, bool is_offer, struct pmd_params *out)
{
    bool seen_snct = false, seen_cnct = false;

    memset(out, 0, sizeof *out);
    out->server_max_window_bits = 15;
    out->client_max_window_bits = 15;
    out->valid = true;

    for (size_t i = 0; i < e->nparams; i++) {
        const struct ws_ext_param *p = &e->params[i];
        if (str_ieq(&p->name, "server_no_context_takeover") ||
            str_ieq(&p->name, "client_no_context_takeover")) {
            bool server = str_ieq(&p->name, "server_no_context_takeover");
            bool *seen = server ? &seen_snct : &seen_cnct;
            if (*seen)
                pmd_invalid(out, "A permessage-deflate parameter is given twice.");
            if (p->has_value)
                pmd_invalid(out, "A no_context_takeover parameter of permessage-deflate has a "
                                 "value; it takes none.");
            *seen = true;
            if (server)
                out->server_no_context_takeover = true;
            else
                out->client_no_context_takeover = true;
        } else if (str_ieq(&p->name, "server_max_window_bits")) {
            if (out->server_max_window_bits_given)
                pmd_invalid(out, "A permessage-deflate parameter is given twice.");
            out->server_max_window_bits_given = true;
            int bits = p->has_value ? pmd_bits(p) : -1;
            if (bits < 0)
                pmd_invalid(out, "server_max_window_bits must be a value from 8 to 15.");
            else
                out->server_max_window_bits = bits;
        } else if (str_ieq(&p->name, "client_max_window_bits")) {
            if (out->client_max_window_bits_given)
                pmd_invalid(out, "A permessage-deflate parameter is given twice.");
            out->client_max_window_bits_given = true;
            if (!p->has_value) {
                if (is_offer)
                    out->client_max_window_bits = PMD_BITS_NO_VALUE;
                else
                    pmd_invalid(out, "client_max_window_bits in a response needs a value "
                                     "from 8 to 15.");
                continue;
            }
            int bits = pmd_bits(p);
            if (bits < 0)
                pmd_invalid(out, "client_max_window_bits must be a value from 8 to 15.");
            else
                out->client_max_window_bits = bits;
        } else {
            pmd_invalid(out, "permessage-deflate carries an unknown parameter.");
        }
    }
}

/* Is the pmd response acceptable for this (valid) offer? NULL, or why not. */
static const char *pmd_match(const struct pmd_params *off, const struct pmd_params *rsp)
{
    if (rsp->client_max_window_bits_given) {
        if (!off->client_max_window_bits_given)
            return "The response sets client_max_window_bits, which the client did not offer.";
        if (off->client_max_window_bits != PMD_BITS_NO_VALUE &&
            rsp->client_max_window_bits > off->client_max_window_bits)
            return "The response's client_max_window_bits exceeds the offered value.";
    }
    if (off->server_max_window_bits_given) {
        if (!rsp->server_max_window_bits_given)
            return "The client limited server_max_window_bits but the response does not "
                   "confirm it.";
        if (rsp->server_max_window_bits > off->server_max_window_bits)
            return "The response's server_max_window_bits exceeds the offered value.";
    }
    if (off->server_no_context_takeover && !rsp->server_no_context_takeover)
        return "The client asked for server_no_context_takeover but the response omits it.";
    return NULL;
}

const char *wshs_negotiation_check(const struct ws_ext *offers, size_t noffers,
                                   const struct ws_ext *resp, size_t nresp)
{
    bool pmd = false, frame = false;

    for (size_t i = 0; i < nresp; i++) {
        const struct ws_ext *r = &resp[i];
        bool offered = false;
        for (size_t j = 0; j < noffers && !offered; j++)
            offered = str_ieq2(&offers[j].name, &r->name);
        if (!offered)
            return "The response accepts an extension that the client did not offer.";
        for (size_t j = 0; j < i; j++) {
            if (str_ieq2(&resp[j].name, &r->name))
                return "The response accepts the same extension more than once.";
        }
        if (ext_is_frame_deflate(&r->name))
            frame = true;
        if (!str_ieq(&r->name, "permessage-deflate"))
            continue;
        pmd = true;

        struct pmd_params rp;
        wshs_pmd_params(r, false, &rp);
        if (!rp.valid)
            return rp.why;
        const char *why = NULL;
        bool ok = false, any_valid = false;
        for (size_t j = 0; j < noffers && !ok; j++) {
            if (!str_ieq(&offers[j].name, "permessage-deflate"))
                continue;
            struct pmd_params op;
            wshs_pmd_params(&offers[j], true, &op);
            if (!op.valid)
                continue;
            const char *w = pmd_match(&op, &rp);
            if (w == NULL)
                ok = true;
            else if (!any_valid)
                why = w;
            any_valid = true;
        }
        if (!any_valid)
            return "The response accepts permessage-deflate but every offer of it was invalid.";
        if (!ok)
            return why;
    }
    if (pmd && frame)
        return "The response accepts two compression extensions, which both claim RSV1.";
    return NULL;
}

/* ---- versions ---- */

int wshs_versions_parse(const uint8_t *value, size_t len, int *out, size_t cap, size_t *n)
{
    struct rd r = rd_make(value, len);

    for (;;) {
        while (is_lws(rd_peek(&r, 0)) || rd_peek(&r, 0) == ',')
            rd_skip(&r, 1);
        if (rd_left(&r) == 0)
            return WSHS_OK;
        int v = 0, digits = 0, first = rd_peek(&r, 0);
        while (rd_peek(&r, 0) >= '0' && rd_peek(&r, 0) <= '9') {
            v = v * 10 + (rd_u8(&r) - '0');
            if (++digits > 3)
                return WSHS_MALFORMED;
        }
        if (digits == 0 || v > 255 || (first == '0' && digits > 1))
            return WSHS_MALFORMED;
        skip_lws(&r);
        if (rd_left(&r) > 0 && rd_peek(&r, 0) != ',')
            return WSHS_MALFORMED;
        if (*n >= cap)
            return WSHS_TOO_MANY;
        out[(*n)++] = v;
    }
}

bool wshs_version_is_13(const uint8_t *value, size_t len)
{
    int v[2];
    size_t n = 0;

    return wshs_versions_parse(value, len, v, 2, &n) == WSHS_OK && n == 1 && v[0] == 13;
}
