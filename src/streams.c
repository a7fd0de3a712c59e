/* streams.c - --streams DIR: writes each connection's byte streams to DIR/<conn>.<dir>.
 * Files stay open while their connection lives; when descriptors run short the least
 * recently written one is closed and reopened for appending when needed. */
#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAMS_MAX_OPEN 256 /* descriptors we keep open at once */
#define STREAMS_BUCKETS 4096

struct sfile {
    struct sfile *next; /* hash chain */
    uint64_t conn;
    int dir; /* 0 c2s, 1 s2c */
    int fd;  /* -1 when closed for lack of descriptors (reopened to append) */
    uint64_t last_use;
};

struct streams {
    char *dir;
    FILE *err;
    struct sfile *buckets[STREAMS_BUCKETS];
    unsigned nopen;
    uint64_t tick;
    bool failed;
};

struct streams *streams_open(const char *dir, FILE *err)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(err, "wstap: --streams %s: %s\n", dir, strerror(errno));
        return NULL;
    }
    struct streams *s = calloc(1, sizeof *s);
    if (!s)
        goto out_nomem;
    s->dir = strdup(dir);
    if (!s->dir)
        goto out_free;
    s->err = err;
    return s;

out_free:
    free(s);
out_nomem:
    fprintf(err, "wstap: out of memory\n");
    return NULL;
}

static unsigned streams_bucket(uint64_t conn)
{
    return (unsigned)((conn * 0x9e3779b97f4a7c15ULL) >> 52) % STREAMS_BUCKETS;
}

static void streams_fail(struct streams *s, uint64_t conn, int dir, const char *what)
{
    if (!s->failed)
        fprintf(s->err, "wstap: --streams %s/%" PRIu64 ".%s: %s: %s\n", s->dir, conn,
                dir ? "s2c" : "c2s", what, strerror(errno));
    s->failed = true;
}

/* Close the least recently used open file to free a descriptor. */
static void streams_shed(struct streams *s)
{
    struct sfile *lru = NULL;
    for (unsigned b = 0; b < STREAMS_BUCKETS; b++)
        for (struct sfile *f = s->buckets[b]; f; f = f->next)
            if (f->fd >= 0 && (!lru || f->last_use < lru->last_use))
                lru = f;
    if (lru) {
        close(lru->fd);
        lru->fd = -1;
        s->nopen--;
    }
}

static int streams_fd(struct streams *s, uint64_t conn, int dir)
{
    struct sfile **pp = &s->buckets[streams_bucket(conn)];
    struct sfile *f;
    for (f = *pp; f; f = f->next)
        if (f->conn == conn && f->dir == dir)
            break;
    bool fresh = !f;
    if (!f) {
        f = calloc(1, sizeof *f);
        if (!f) {
            errno = ENOMEM;
            return -1;
        }
        f->conn = conn;
        f->dir = dir;
        f->fd = -1;
        f->next = *pp;
        *pp = f;
    }
    f->last_use = ++s->tick;
    if (f->fd >= 0)
        return f->fd;
    if (s->nopen >= STREAMS_MAX_OPEN)
        streams_shed(s);
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%" PRIu64 ".%s", s->dir, conn, dir ? "s2c" : "c2s");
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* The first open of a run starts the file afresh; a reopen appends. */
    f->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (fresh ? O_TRUNC : O_APPEND), 0644);
    if (f->fd >= 0)
        s->nopen++;
    return f->fd;
}

static void streams_write(struct streams *s, uint64_t conn, int dir, const uint8_t *p,
                          size_t len)
{
    int fd = streams_fd(s, conn, dir);
    if (fd < 0) {
        streams_fail(s, conn, dir, "open");
        return;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            streams_fail(s, conn, dir, "write");
            return;
        }
        p += w;
        len -= (size_t)w;
    }
}

static void streams_on_data(void *user, uint64_t conn, enum wst_dir dir, const uint8_t *p,
                            size_t len)
{
    streams_write(user, conn, dir == WST_DIR_S2C, p, len);
}

/* Bytes never captured are left out of the file (tshark's follow does the same); the
 * tcp.gap events say where they were. An empty direction still gets its file. */
static void streams_on_gap(void *user, uint64_t conn, enum wst_dir dir, uint64_t len)
{
    (void)len;
    streams_write(user, conn, dir == WST_DIR_S2C, NULL, 0);
}

static void streams_on_end(void *user, uint64_t conn)
{
    struct streams *s = user;
    struct sfile **pp = &s->buckets[streams_bucket(conn)];
    while (*pp) {
        struct sfile *f = *pp;
        if (f->conn != conn) {
            pp = &f->next;
            continue;
        }
        if (f->fd >= 0) {
            if (close(f->fd) < 0)
                streams_fail(s, conn, f->dir, "close");
            s->nopen--;
        }
        *pp = f->next;
        free(f);
    }
}

void streams_hooks(struct streams *s, struct wst_stream_hooks *h)
{
    h->data = streams_on_data;
    h->gap = streams_on_gap;
    h->end = streams_on_end;
    h->user = s;
}

int streams_close(struct streams *s)
{
    if (!s)
        return 0;
    for (unsigned b = 0; b < STREAMS_BUCKETS; b++) {
        while (s->buckets[b]) {
            struct sfile *f = s->buckets[b];
            s->buckets[b] = f->next;
            if (f->fd >= 0 && close(f->fd) < 0)
                streams_fail(s, f->conn, f->dir, "close");
            free(f);
        }
    }
    int rc = s->failed ? -1 : 0;
    free(s->dir);
    free(s);
    return rc;
}
