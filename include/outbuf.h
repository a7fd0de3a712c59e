/* outbuf.h - a block-buffered writer to a file descriptor with a sticky error flag. */
#ifndef WSTAP_OUTBUF_H
#define WSTAP_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBUF_SIZE (64 * 1024)

/*
 * Output goes into buf and reaches fd when the buffer is full or on outbuf_flush().
 * The first failed write(2) sets err (with its errno in errnum); from then on every call
 * is a no-op that returns -1, so callers check once (outbuf_failed) rather than per call.
 * Nothing here allocates: the buffer is part of the struct.
 */
struct outbuf {
    int fd;
    size_t len;
    bool err;
    int errnum;
    char buf[OUTBUF_SIZE];
};

void outbuf_init(struct outbuf *ob, int fd);
/* Each returns 0, or -1 when the output has failed (now or earlier). */
int outbuf_put(struct outbuf *ob, const void *data, size_t len);
int outbuf_puts(struct outbuf *ob, const char *s);
int outbuf_putc(struct outbuf *ob, char c);
/* One formatted piece; at most OUTBUF_SIZE - 1 bytes of it are kept (returns -1 if cut). */
int outbuf_printf(struct outbuf *ob, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int outbuf_flush(struct outbuf *ob);
/* v in decimal, at least width digits (zero-padded; width <= 20); no printf on the hot path. */
int outbuf_put_u64(struct outbuf *ob, uint64_t v, unsigned width);

static inline bool outbuf_failed(const struct outbuf *ob)
{
    return ob->err;
}

#endif
