/* zfloor.c - the floor for inflating a capture's permessage-deflate messages: zlib alone, called
 * as wstap's pmd.c calls it, over the compressed messages of the streams that
 * `wstap -q --streams DIR -r FILE` wrote (DIR/<conn>.c2s and DIR/<conn>.s2c). (issue #7)
 *
 *   cc -O2 -Wall -Wextra -Werror -o zfloor bench/zfloor.c -lz -pthread
 *   zfloor [-j THREADS] DIR
 *
 * Each file of a connection whose response is "HTTP/1.1 101" is loaded and its WebSocket frames
 * (after the HTTP head up to the first CRLFCRLF) are parsed and unmasked before the clock starts; then every RSV1 message of a file is
 * inflated in order by one raw inflater with a 15-bit window kept between messages (context
 * takeover, as bench/traffic.js negotiates): inflate(Z_SYNC_FLUSH) over the payload into a
 * reused 64 KiB buffer, then over the 00 00 ff ff that senders strip, as pmd.c does. With -j,
 * files are shared among THREADS threads (a file stays on one thread). Prints messages,
 * compressed and inflated bytes, wall and CPU seconds. Stops at the first malformed frame of
 * a file (what was parsed before it is still used) and says so.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

struct stream {
    char *name;
    uint8_t *z;      /* the compressed payloads of its messages, back to back, unmasked */
    size_t zlen;
    size_t *msg_end; /* end offset in z of each message */
    size_t nmsg;
    uint64_t out;    /* bytes inflated (filled by the timed pass) */
    int err;         /* a zlib error in the timed pass */
};

static struct stream *streams;
static size_t nstreams;
static int nthreads = 1;

/* The connection of DIR/N.c2s or DIR/N.s2c switched protocols: N.s2c starts "HTTP/1.1 101". */
static bool upgraded(const char *dir, const char *file)
{
    char path[4096], line[16] = {0};
    size_t n = strlen(file);
    snprintf(path, sizeof path, "%s/%.*ss2c", dir, (int)(n - 3), file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t got = fread(line, 1, 12, f);
    fclose(f);
    return got == 12 && memcmp(line, "HTTP/1.1 101", 12) == 0;
}

static int load(const char *dir, const char *file, struct stream *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n >= 0 ? malloc(n > 0 ? (size_t)n : 1) : NULL;
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(b);
        return -1;
    }
    fclose(f);
    size_t len = (size_t)n, off = 0;
    if (!upgraded(dir, file))
        len = 0; /* not a WebSocket connection: no frames to look for */
    const uint8_t *hend = len >= 4 ? memmem(b, len, "\r\n\r\n", 4) : NULL;
    if (hend)
        off = (size_t)(hend - b) + 4;
    else
        off = len; /* no HTTP head: nothing to parse */

    memset(s, 0, sizeof *s);
    s->name = strdup(file);
    s->z = malloc(len ? len : 1); /* the payloads of a file are never longer than the file */
    size_t cap = 1024;
    s->msg_end = malloc(cap * sizeof *s->msg_end);
    if (!s->name || !s->z || !s->msg_end) {
        fprintf(stderr, "zfloor: out of memory\n");
        exit(2);
    }
    bool in_msg = false, compressed = false;
    while (off < len) {
        if (len - off < 2)
            break;
        uint8_t b0 = b[off], b1 = b[off + 1];
        size_t h = 2;
        uint64_t plen = b1 & 0x7f;
        if (plen == 126) {
            if (len - off < 4)
                break;
            plen = (uint64_t)b[off + 2] << 8 | b[off + 3];
            h = 4;
        } else if (plen == 127) {
            if (len - off < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | b[off + 2 + i];
            h = 10;
        }
        const uint8_t *mask = NULL;
        if (b1 & 0x80) {
            if (len - off - h < 4)
                break;
            mask = b + off + h;
            h += 4;
        }
        if (plen > len - off - h) {
            fprintf(stderr, "zfloor: %s: frame at %zu runs past the end; stopped there\n", file,
                    off);
            break;
        }
        const uint8_t *p = b + off + h;
        unsigned op = b0 & 0x0f;
        bool fin = b0 & 0x80;
        if (op == 1 || op == 2) {
            in_msg = true;
            compressed = b0 & 0x40;
        } else if (op != 0) {
            off += h + (size_t)plen; /* control frame */
            continue;
        }
        if (in_msg && compressed) {
            for (uint64_t i = 0; i < plen; i++)
                s->z[s->zlen + i] = mask ? p[i] ^ mask[i & 3] : p[i];
            s->zlen += (size_t)plen;
        }
        if (in_msg && fin) {
            if (compressed) {
                if (s->nmsg == cap) {
                    cap *= 2;
                    s->msg_end = realloc(s->msg_end, cap * sizeof *s->msg_end);
                    if (!s->msg_end) {
                        fprintf(stderr, "zfloor: out of memory\n");
                        exit(2);
                    }
                }
                s->msg_end[s->nmsg++] = s->zlen;
            }
            in_msg = false;
        }
        off += h + (size_t)plen;
    }
    free(b);
    return 0;
}

static void inflate_stream(struct stream *s, uint8_t *out, size_t outsz)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) {
        s->err = Z_MEM_ERROR;
        return;
    }
    size_t start = 0;
    for (size_t m = 0; m < s->nmsg && !s->err; m++) {
        const uint8_t *in[2] = {s->z + start, tail};
        size_t inlen[2] = {s->msg_end[m] - start, sizeof tail};
        start = s->msg_end[m];
        for (int k = 0; k < 2 && !s->err; k++) {
            z.next_in = (uint8_t *)(uintptr_t)in[k];
            z.avail_in = (uInt)inlen[k];
            do {
                z.next_out = out;
                z.avail_out = (uInt)outsz;
                int r = inflate(&z, Z_SYNC_FLUSH);
                s->out += outsz - z.avail_out;
                if (r == Z_BUF_ERROR || r == Z_STREAM_END)
                    break;
                if (r != Z_OK) {
                    s->err = r;
                    break;
                }
            } while (z.avail_in > 0 || z.avail_out == 0);
        }
    }
    inflateEnd(&z);
}

static void *worker(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    uint8_t *out = malloc(65536);
    if (!out)
        return NULL; /* its streams then show 0 bytes out */
    for (size_t i = t; i < nstreams; i += (size_t)nthreads)
        inflate_stream(&streams[i], out, 65536);
    free(out);
    return NULL;
}

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    int ai = 1;
    if (argc > 2 && strcmp(argv[1], "-j") == 0) {
        nthreads = atoi(argv[2]);
        ai = 3;
    }
    if (argc != ai + 1 || nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "usage: zfloor [-j THREADS] DIR\n");
        return 2;
    }
    DIR *d = opendir(argv[ai]);
    if (!d) {
        perror(argv[ai]);
        return 2;
    }
    size_t cap = 64;
    streams = malloc(cap * sizeof *streams);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 4 || (strcmp(de->d_name + n - 4, ".c2s") && strcmp(de->d_name + n - 4, ".s2c")))
            continue;
        if (nstreams == cap) {
            cap *= 2;
            streams = realloc(streams, cap * sizeof *streams);
        }
        if (!streams) {
            fprintf(stderr, "zfloor: out of memory\n");
            return 2;
        }
        if (load(argv[ai], de->d_name, &streams[nstreams]) == 0)
            nstreams++;
    }
    closedir(d);

    struct timespec w0, w1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    pthread_t th[64];
    for (int t = 0; t < nthreads; t++)
        pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t);
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);

    uint64_t msgs = 0, zin = 0, out = 0;
    int errs = 0;
    for (size_t i = 0; i < nstreams; i++) {
        msgs += streams[i].nmsg;
        zin += streams[i].zlen;
        out += streams[i].out;
        if (streams[i].err) {
            fprintf(stderr, "zfloor: %s: zlib error %d\n", streams[i].name, streams[i].err);
            errs++;
        }
    }
    printf("zfloor: %zu streams, %d thread(s): %llu compressed messages, %llu bytes in, %llu bytes "
           "out; inflate wall %.2f s, cpu %.2f s (%.2f us/message, %.0f MB/s out per cpu s)\n",
           nstreams, nthreads, (unsigned long long)msgs, (unsigned long long)zin,
           (unsigned long long)out, secs(&w0, &w1), secs(&c0, &c1),
           msgs ? secs(&c0, &c1) * 1e6 / (double)msgs : 0.0,
           secs(&c0, &c1) > 0 ? (double)out / 1e6 / secs(&c0, &c1) : 0.0);
    return errs ? 1 : 0;
}
