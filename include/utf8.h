/* utf8.h - strict UTF-8 decoding of untrusted bytes, shared by the text and JSON sinks. */
#ifndef WSTAP_UTF8_H
#define WSTAP_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_INVALID 0xFFFFFFFFu

/*
 * Decode one character at p (n > 0 bytes available). Returns the number of bytes it used
 * (1..4) and sets *cp, or sets *cp = UTF8_INVALID and returns the length of the maximal
 * invalid subpart (at least 1), so a caller printing one U+FFFD per return follows the
 * Unicode "substitution of maximal subparts" practice. Rejects overlong forms, surrogates
 * and code points above U+10FFFF (RFC 3629).
 */
static inline size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b = p[0];
    size_t need;
    uint32_t c;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        c = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        c = b & 0x0Fu;
        if (b == 0xE0)
            lo = 0xA0; /* overlong */
        else if (b == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        c = b & 0x07u;
        if (b == 0xF0)
            lo = 0x90; /* overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        *cp = UTF8_INVALID; /* a stray continuation byte, C0, C1 or F5..FF */
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n) {
            *cp = UTF8_INVALID;
            return i;
        }
        uint8_t t = p[i];
        if (i == 1 ? (t < lo || t > hi) : (t < 0x80 || t > 0xBF)) {
            *cp = UTF8_INVALID;
            return i;
        }
        c = c << 6 | (t & 0x3Fu);
    }
    *cp = c;
    return need + 1;
}

/* The largest length <= n that does not end inside a character of valid UTF-8 text, so a
 * preview cut at n bytes does not split one (invalid text is cut where asked). */
static inline size_t utf8_boundary(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = utf8_decode(p + i, n - i, &cp);
        if (cp == UTF8_INVALID && i + k >= n)
            return i; /* a character cut at n */
        i += k;
    }
    return n;
}

#endif
