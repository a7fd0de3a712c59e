/* outbuf.c - block-buffered output: write(2) loop, EINTR and short writes, sticky errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "outbuf.h"

void outbuf_init(struct outbuf *ob, int fd)
{
    ob->fd = fd;
    ob->len = 0;
    ob->err = false;
    ob->errnum = 0;
}

/* Write all of data to the fd; sets the sticky error on failure (EPIPE included). */
static int outbuf_write_all(struct outbuf *ob, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(ob->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ob->err = true;
            ob->errnum = errno;
            return -1;
        }
        if (n == 0) {
            ob->err = true;
            ob->errnum = EIO;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int outbuf_flush(struct outbuf *ob)
{
    if (ob->err)
        return -1;
    size_t len = ob->len;
    ob->len = 0;
    return outbuf_write_all(ob, ob->buf, len);
}

int outbuf_put(struct outbuf *ob, const void *data, size_t len)
{
    if (ob->err)
        return -1;
    if (len == 0) /* data may be NULL then (an empty close reason); memcpy must not see it */
        return 0;
    if (len <= sizeof ob->buf - ob->len) {
        memcpy(ob->buf + ob->len, data, len);
        ob->len += len;
        return 0;
    }
    if (outbuf_flush(ob) < 0)
        return -1;
    if (len >= sizeof ob->buf)
        return outbuf_write_all(ob, data, len);
    memcpy(ob->buf, data, len);
    ob->len = len;
    return 0;
}

int outbuf_put_u64(struct outbuf *ob, uint64_t v, unsigned width)
{
    char d[20];
    unsigned n = 0;
    do {
        d[sizeof d - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (width > sizeof d)
        width = sizeof d;
    while (n < width)
        d[sizeof d - 1 - n++] = '0';
    return outbuf_put(ob, d + sizeof d - n, n);
}

int outbuf_puts(struct outbuf *ob, const char *s)
{
    return outbuf_put(ob, s, strlen(s));
}

int outbuf_putc(struct outbuf *ob, char c)
{
    if (ob->err)
        return -1;
    if (ob->len == sizeof ob->buf && outbuf_flush(ob) < 0)
        return -1;
    ob->buf[ob->len++] = c;
    return 0;
}

/* Format into the free space; when it does not fit, flush and format again into the whole
 * buffer. vsnprintf writes a terminating NUL, so one byte of room is always reserved. */
__attribute__((format(printf, 2, 0))) static int outbuf_vprintf(struct outbuf *ob, const char *fmt,
                                                                va_list ap)
{
    va_list ap2;

    if (ob->err)
        return -1;
    va_copy(ap2, ap);
    size_t room = sizeof ob->buf - ob->len;
    int n = vsnprintf(ob->buf + ob->len, room, fmt, ap);
    if (n < 0)
        goto out_end;
    if ((size_t)n < room) {
        ob->len += (size_t)n;
        goto out_end;
    }
    if (outbuf_flush(ob) < 0) {
        n = -1;
        goto out_end;
    }
    n = vsnprintf(ob->buf, sizeof ob->buf, fmt, ap2);
    if (n < 0)
        goto out_end;
    if ((size_t)n >= sizeof ob->buf) {
        /* Longer than the whole buffer: keep what fit and say so. */
        ob->len = sizeof ob->buf - 1;
        n = -1;
        goto out_end;
    }
    ob->len = (size_t)n;
out_end:
    va_end(ap2);
    return n < 0 ? -1 : 0;
}

int outbuf_printf(struct outbuf *ob, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = outbuf_vprintf(ob, fmt, ap);
    va_end(ap);
    return r;
}
