/* capture.c - libpcap front end: offline files, live interfaces, BPF, privileges, signals. */
#include <errno.h>
#include <grp.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "capture.h"
#include "sink.h"

#define CAPTURE_TIMEOUT_MS 100

struct dlt_map {
    int dlt;
    enum wst_link link;
};

/* DLT_NULL is 0, so the sentinel is the entry whose link is WST_LINK_UNSUPPORTED. */
static const struct dlt_map dlt_links[] = {
    {DLT_EN10MB, WST_LINK_ETHERNET},
    {DLT_LINUX_SLL, WST_LINK_SLL},
#ifdef DLT_LINUX_SLL2
    {DLT_LINUX_SLL2, WST_LINK_SLL2},
#endif
    {DLT_NULL, WST_LINK_NULL},
    {DLT_LOOP, WST_LINK_LOOP},
    {DLT_RAW, WST_LINK_RAW},
    {101, WST_LINK_RAW}, /* LINKTYPE_RAW, should a libpcap ever hand it over unmapped */
#ifdef DLT_IPV4
    {DLT_IPV4, WST_LINK_IPV4},
#endif
#ifdef DLT_IPV6
    {DLT_IPV6, WST_LINK_IPV6},
#endif
    {0, WST_LINK_UNSUPPORTED},
};

/* Set by the signal handler; the packet loops check it. */
static volatile sig_atomic_t capture_stop_flag;
/* The handle a signal should break out of (lock-free, so usable from the handler). */
static _Atomic(pcap_t *) capture_active;

/* State of one run, shared by the packet handlers. */
struct capture_ctx {
    const struct capture_opts *o;
    const struct capture_ops *ops;
    void *user;
    uint64_t delivered; /* packets handed over, for -c */
    bool stop;          /* count reached or the consumer asked to stop */
    uint64_t bytes_before, bytes_total; /* offline progress: files done, all files */
    /* -w: the packets written, through a dead handle of the inputs' link type */
    pcap_t *wdead;
    pcap_dumper_t *dumper;
    int wdlt;
    int wsnap; /* offline: the largest snapshot length of the inputs checked beforehand */
    uint64_t written;
    bool write_failed; /* then the count is not reported: the file does not hold them */
};

enum wst_link capture_link_from_dlt(int dlt)
{
    for (const struct dlt_map *m = dlt_links; m->link != WST_LINK_UNSUPPORTED; m++)
        if (m->dlt == dlt)
            return m->link;
    return WST_LINK_UNSUPPORTED;
}

__attribute__((format(printf, 2, 3))) static void capture_msg(const struct capture_opts *o,
                                                              const char *fmt, ...)
{
    FILE *f = o->err ? o->err : stderr;
    va_list ap;

    fputs("wstap: ", f);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}

static const char *capture_file_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "(stdin)" : path;
}

static void capture_on_signal(int sig)
{
    (void)sig;
    capture_stop_flag = 1;
    pcap_t *p = atomic_load(&capture_active);
    if (p)
        pcap_breakloop(p);
}

static void capture_signals_install(struct sigaction old[2])
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = capture_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: a blocked read returns at once */
    capture_stop_flag = 0;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void capture_signals_restore(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

/* Compile expr against p and install it; 0, or -1 with pcap's message in err. */
static int capture_filter_set(pcap_t *p, const char *expr, char *err, size_t errlen)
{
    struct bpf_program prog;

    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "%s", pcap_geterr(p));
        return -1;
    }
    int r = pcap_setfilter(p, &prog);
    if (r != 0)
        snprintf(err, errlen, "%s", pcap_geterr(p));
    pcap_freecode(&prog);
    return r == 0 ? 0 : -1;
}

int capture_filter_check(int dlt, const char *expr, char *err, size_t errlen)
{
    struct bpf_program prog;
    int r = -1;

    pcap_t *p = pcap_open_dead(dlt, CAPTURE_SNAPLEN_MAX);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "%s", pcap_geterr(p));
        goto out_close;
    }
    pcap_freecode(&prog);
    r = 0;
out_close:
    pcap_close(p);
    return r;
}

/* A packet time in microseconds. pcapng stores 64-bit timestamps, so libpcap's tv_sec can be
 * far beyond what int64 microseconds hold (2^64 microsecond ticks are 1.8e13 seconds, and
 * 2^64 one-second ticks wrap time_t negative): the seconds are clamped to
 * +-CAPTURE_TS_MAX_S, which keeps every time and every difference of two times the core
 * computes within int64. */
#define CAPTURE_TS_MAX_S 2000000000000LL /* about 63,000 years */

static int64_t capture_ts_us(const struct timeval *tv)
{
    int64_t s = (int64_t)tv->tv_sec;
    int64_t us = (int64_t)tv->tv_usec;

    if (s > CAPTURE_TS_MAX_S)
        return CAPTURE_TS_MAX_S * 1000000;
    if (s < -CAPTURE_TS_MAX_S)
        return -CAPTURE_TS_MAX_S * 1000000;
    /* libpcap keeps tv_usec below 10^6 for pcapng; a classic pcap header may hold any
     * 32-bit value, which still fits next to the clamped seconds */
    return s * 1000000 + us;
}

/* Hand one packet over; false when the run must stop after it. */
static bool capture_deliver(struct capture_ctx *ctx, const struct pcap_pkthdr *ph,
                            const uint8_t *data)
{
    struct wst_pkthdr h;

    h.ts_us = capture_ts_us(&ph->ts);
    h.caplen = ph->caplen;
    h.len = ph->len;
    if (!ctx->ops->packet(ctx->user, &h, data))
        ctx->stop = true;
    if (ctx->dumper && (!ctx->ops->keep || ctx->ops->keep(ctx->user))) {
        pcap_dump((u_char *)ctx->dumper, ph, data);
        ctx->written++;
        /* a full disk or a closed pipe: stop reading (reported when the file is closed) */
        if ((ctx->written & 4095) == 0 && ferror(pcap_dump_file(ctx->dumper)))
            ctx->stop = true;
    }
    ctx->delivered++;
    if (ctx->o->count != 0 && ctx->delivered >= ctx->o->count)
        ctx->stop = true;
    return !ctx->stop;
}

/* -w: open the output for link type dlt (0, or -1 with a message). Timestamps are written in
 * microseconds, as every input is read. */
static int capture_write_open(struct capture_ctx *ctx, int dlt, int snaplen)
{
    const struct capture_opts *o = ctx->o;

    ctx->wdead = pcap_open_dead_with_tstamp_precision(dlt, snaplen, PCAP_TSTAMP_PRECISION_MICRO);
    if (!ctx->wdead) {
        capture_msg(o, "-w %s: out of memory", o->write_file);
        return -1;
    }
    ctx->dumper = pcap_dump_open(ctx->wdead, o->write_file);
    if (!ctx->dumper) {
        capture_msg(o, "-w %s", pcap_geterr(ctx->wdead));
        pcap_close(ctx->wdead);
        ctx->wdead = NULL;
        return -1;
    }
    ctx->wdlt = dlt;
    return 0;
}

/* -w: push what is buffered to the file; false when a write failed. */
static bool capture_write_flush(struct capture_ctx *ctx)
{
    if (!ctx->dumper)
        return true;
    return pcap_dump_flush(ctx->dumper) == 0 && !ferror(pcap_dump_file(ctx->dumper));
}

/* -w: flush and close; false when a write failed (the message is printed). */
static bool capture_write_close(struct capture_ctx *ctx)
{
    bool ok = true;
    if (!ctx->dumper)
        return true;
    if (!capture_write_flush(ctx)) {
        capture_msg(ctx->o, "-w %s: write error: %s", ctx->o->write_file, strerror(errno));
        ctx->write_failed = true;
        ok = false;
    }
    pcap_dump_close(ctx->dumper);
    pcap_close(ctx->wdead);
    ctx->dumper = NULL;
    ctx->wdead = NULL;
    return ok;
}

/* Open a capture file (or "-", standard input) for libpcap with a large stdio buffer: libpcap
 * reads each record with fread, and glibc's default st_blksize buffer (4 KiB) makes that one
 * read(2) per 4 KiB -- most of the system time of a big file. */
#define CAPTURE_FILE_BUFSZ (1u << 20)
static pcap_t *capture_open_file(const char *path, char *errbuf)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %s", path, strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, CAPTURE_FILE_BUFSZ);
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!p && !is_stdin)
        fclose(f);
    return p;
}

/* Progress of an offline read: every 4096 packets, the file offset reached. */
static void capture_progress(struct capture_ctx *ctx, long pos)
{
    if (ctx->ops->progress && (ctx->delivered & 4095) == 0)
        ctx->ops->progress(ctx->user, ctx->bytes_before + (pos > 0 ? (uint64_t)pos : 0),
                           ctx->bytes_total);
}

/* Read p in this thread, one packet after the other. 1 at the end, -1 on a read error. */
static int capture_read_direct(struct capture_ctx *ctx, pcap_t *p, const char *name)
{
    struct pcap_pkthdr *ph;
    const u_char *data;

    while (!ctx->stop && !capture_stop_flag) {
        int r = pcap_next_ex(p, &ph, &data);
        if (r == 1) {
            capture_deliver(ctx, ph, data);
            if (ctx->ops->progress && (ctx->delivered & 4095) == 0) {
                FILE *f = pcap_file(p);
                capture_progress(ctx, f ? ftell(f) : -1);
            }
        } else if (r == PCAP_ERROR_BREAK) {
            break; /* end of file */
        } else if (r == 0) {
            continue; /* only live captures time out */
        } else if (capture_stop_flag) {
            break; /* a signal interrupted a read from a pipe: a clean stop */
        } else {
            capture_msg(ctx->o, "%s: %s", name, pcap_geterr(p));
            return -1;
        }
    }
    return 1;
}

/*
 * Read-ahead for regular files: a second thread runs libpcap (the read(2) calls, the record
 * parsing) and copies the packets into a few large chunks, while this thread analyzes the
 * chunks it filled before. The packets reach the analyzer in file order, the same as
 * capture_read_direct; only the reading overlaps with the analysis. Memory: CAPTURE_RA_CHUNKS
 * chunks of CAPTURE_RA_CHUNK bytes (a packet larger than a chunk grows that chunk).
 */
#define CAPTURE_RA_CHUNK (1u << 20)
#define CAPTURE_RA_CHUNKS 4u

struct ra_rec { /* one packet in a chunk, its bytes after it, the next one 8-aligned */
    struct timeval ts;
    uint32_t caplen, len;
};

struct ra_chunk {
    uint8_t *buf;
    size_t cap, used;
    long pos; /* file offset after the chunk's last packet */
    int end;  /* 0: more chunks follow; 1: the file ended; -1: a read error (msg) */
    char msg[PCAP_ERRBUF_SIZE];
};

struct readahead {
    pcap_t *p;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ra_chunk ch[CAPTURE_RA_CHUNKS];
    unsigned filled, consumed; /* chunks handed over and given back (counters, mod N) */
    bool quit;                 /* the consumer stopped: the reader ends at its next chunk */
};

static size_t ra_align(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Reader thread: take an empty chunk (NULL when told to quit). */
static struct ra_chunk *ra_take_empty(struct readahead *ra)
{
    pthread_mutex_lock(&ra->mu);
    while (ra->filled - ra->consumed == CAPTURE_RA_CHUNKS && !ra->quit)
        pthread_cond_wait(&ra->cv, &ra->mu);
    struct ra_chunk *c = ra->quit ? NULL : &ra->ch[ra->filled % CAPTURE_RA_CHUNKS];
    pthread_mutex_unlock(&ra->mu);
    if (c) {
        c->used = 0;
        c->end = 0;
    }
    return c;
}

static void ra_publish(struct readahead *ra, struct ra_chunk *c)
{
    FILE *f = pcap_file(ra->p);
    c->pos = f ? ftell(f) : -1;
    pthread_mutex_lock(&ra->mu);
    ra->filled++;
    pthread_cond_broadcast(&ra->cv);
    pthread_mutex_unlock(&ra->mu);
}

/* Copy a packet into c: 0, 1 when it does not fit (c holds packets), -1 out of memory. */
static int ra_put(struct ra_chunk *c, const struct pcap_pkthdr *ph, const u_char *data)
{
    size_t need = ra_align(sizeof(struct ra_rec) + ph->caplen);
    if (c->cap - c->used < need) {
        if (c->used > 0)
            return 1;
        uint8_t *nb = realloc(c->buf, need); /* a packet larger than a chunk grows it */
        if (!nb)
            return -1;
        c->buf = nb;
        c->cap = need;
    }
    struct ra_rec rec = {ph->ts, ph->caplen, ph->len};
    memcpy(c->buf + c->used, &rec, sizeof rec);
    memcpy(c->buf + c->used + sizeof rec, data, ph->caplen);
    c->used += need;
    return 0;
}

static void *ra_main(void *arg)
{
    struct readahead *ra = arg;
    struct ra_chunk *c = ra_take_empty(ra);
    struct pcap_pkthdr *ph;
    const u_char *data;

    while (c) {
        int r;
        do
            r = pcap_next_ex(ra->p, &ph, &data);
        while (r == 0); /* only live captures time out; a file never does */
        if (r != 1) {
            c->end = r == PCAP_ERROR_BREAK ? 1 : -1;
            if (c->end < 0)
                snprintf(c->msg, sizeof c->msg, "%s", pcap_geterr(ra->p));
            ra_publish(ra, c);
            return NULL;
        }
        int put = ra_put(c, ph, data);
        if (put > 0) { /* full: hand it over, the packet opens the next chunk */
            ra_publish(ra, c);
            c = ra_take_empty(ra);
            if (!c)
                return NULL;
            put = ra_put(c, ph, data);
        }
        if (put < 0) {
            c->end = -1;
            snprintf(c->msg, sizeof c->msg, "out of memory for a %u-byte packet", ph->caplen);
            ra_publish(ra, c);
            return NULL;
        }
        if (capture_stop_flag) {
            c->end = 1;
            ra_publish(ra, c);
            return NULL;
        }
    }
    return NULL;
}

/* Analyze p's packets as the reader thread hands them over. 1 at the end, -1 on an error. */
static int capture_read_threaded(struct capture_ctx *ctx, pcap_t *p, const char *name)
{
    struct readahead *ra = calloc(1, sizeof *ra);
    unsigned i;
    int result = 1;

    if (!ra)
        return capture_read_direct(ctx, p, name);
    ra->p = p;
    for (i = 0; i < CAPTURE_RA_CHUNKS; i++) {
        ra->ch[i].buf = malloc(CAPTURE_RA_CHUNK);
        if (!ra->ch[i].buf)
            break;
        ra->ch[i].cap = CAPTURE_RA_CHUNK;
    }
    pthread_t th;
    bool started = false;
    if (i == CAPTURE_RA_CHUNKS && pthread_mutex_init(&ra->mu, NULL) == 0) {
        if (pthread_cond_init(&ra->cv, NULL) == 0) {
            started = pthread_create(&th, NULL, ra_main, ra) == 0;
            if (!started)
                pthread_cond_destroy(&ra->cv);
        }
        if (!started)
            pthread_mutex_destroy(&ra->mu);
    }
    if (!started) { /* no thread (or no memory): read here */
        for (i = 0; i < CAPTURE_RA_CHUNKS; i++)
            free(ra->ch[i].buf);
        free(ra);
        return capture_read_direct(ctx, p, name);
    }

    bool done = false;
    while (!done) {
        pthread_mutex_lock(&ra->mu);
        while (ra->filled == ra->consumed)
            pthread_cond_wait(&ra->cv, &ra->mu);
        struct ra_chunk *c = &ra->ch[ra->consumed % CAPTURE_RA_CHUNKS];
        pthread_mutex_unlock(&ra->mu);

        for (size_t off = 0; off < c->used && !ctx->stop && !capture_stop_flag;) {
            struct ra_rec rec;
            struct pcap_pkthdr ph;
            memcpy(&rec, c->buf + off, sizeof rec);
            ph.ts = rec.ts;
            ph.caplen = rec.caplen;
            ph.len = rec.len;
            capture_deliver(ctx, &ph, c->buf + off + sizeof rec);
            capture_progress(ctx, c->pos);
            off += ra_align(sizeof rec + rec.caplen);
        }
        if (c->end < 0 && !ctx->stop && !capture_stop_flag) {
            capture_msg(ctx->o, "%s: %s", name, c->msg);
            result = -1;
        }
        done = c->end != 0 || ctx->stop || capture_stop_flag;
        pthread_mutex_lock(&ra->mu);
        ra->consumed++;
        if (done)
            ra->quit = true;
        pthread_cond_broadcast(&ra->cv);
        pthread_mutex_unlock(&ra->mu);
    }
    pthread_join(th, NULL);
    pthread_cond_destroy(&ra->cv);
    pthread_mutex_destroy(&ra->mu);
    for (i = 0; i < CAPTURE_RA_CHUNKS; i++)
        free(ra->ch[i].buf);
    free(ra);
    return result;
}

/* Read one file to its end. Returns 1 when the file was read (whole or until a stop), 0 when
 * it failed before any packet (not opened, unsupported, filter), -1 when it failed midway. */
static int capture_read_file(struct capture_ctx *ctx, const char *path, bool *filter_failed)
{
    const struct capture_opts *o = ctx->o;
    const char *name = capture_file_name(path);
    char errbuf[PCAP_ERRBUF_SIZE];
    int result = 1;

    errbuf[0] = '\0';
    /* a pipe is read packet by packet, so that each one is analyzed as soon as it arrives */
    bool threaded = capture_file_size(path) >= 0;
    pcap_t *p = capture_open_file(path, errbuf);
    if (!p) {
        size_t plen = strlen(path);
        /* libpcap's message often names the file already ("FILE: No such file ..."). */
        if (strncmp(errbuf, path, plen) == 0 && errbuf[plen] == ':')
            capture_msg(o, "%s", errbuf);
        else
            capture_msg(o, "%s: %s", name, errbuf[0] ? errbuf : "cannot open");
        return 0;
    }
    int dlt = pcap_datalink(p);
    enum wst_link link = capture_link_from_dlt(dlt);
    if (link == WST_LINK_UNSUPPORTED) {
        const char *dname = pcap_datalink_val_to_name(dlt);
        capture_msg(o, "%s: unsupported link type %s (%d)", name, dname ? dname : "unknown", dlt);
        result = 0;
        goto out_close;
    }
    if (o->filter && capture_filter_set(p, o->filter, errbuf, sizeof errbuf) < 0) {
        capture_msg(o, "%s: bad filter: %s", name, errbuf);
        *filter_failed = true;
        result = 0;
        goto out_close;
    }
    if (o->write_file && !ctx->dumper) {
        int snap = pcap_snapshot(p) > ctx->wsnap ? pcap_snapshot(p) : ctx->wsnap;
        if (capture_write_open(ctx, dlt, snap) < 0) {
            ctx->stop = true;
            result = 0;
            goto out_close;
        }
    } else if (o->write_file && dlt != ctx->wdlt) {
        capture_msg(o, "%s: link type %d differs from the first input's (%d): -w writes one",
                    name, dlt, ctx->wdlt);
        result = 0;
        goto out_close;
    }
    ctx->ops->set_link(ctx->user, link);
    if (threaded)
        result = capture_read_threaded(ctx, p, name);
    else
        result = capture_read_direct(ctx, p, name);
out_close:
    pcap_close(p);
    return result;
}

static enum capture_status capture_run_offline(struct capture_ctx *ctx)
{
    const struct capture_opts *o = ctx->o;
    bool any_read = false;
    bool any_failed = false;

    for (size_t i = 0; i < o->nfiles; i++) {
        int64_t sz = capture_file_size(o->files[i]);
        if (sz > 0)
            ctx->bytes_total += (uint64_t)sz;
    }
    /* -w writes one pcap file, of one link type: check the inputs before writing anything
     * (standard input cannot be read twice: it is checked when it comes) */
    int first_dlt = -1;
    const char *first_name = NULL;
    for (size_t i = 0; o->write_file && i < o->nfiles; i++) {
        char errbuf[PCAP_ERRBUF_SIZE];
        if (capture_file_size(o->files[i]) < 0)
            continue;
        errbuf[0] = '\0';
        pcap_t *p = capture_open_file(o->files[i], errbuf);
        if (!p)
            continue; /* reported when it is read */
        int dlt = pcap_datalink(p);
        if (pcap_snapshot(p) > ctx->wsnap)
            ctx->wsnap = pcap_snapshot(p);
        pcap_close(p);
        if (first_dlt < 0) {
            first_dlt = dlt;
            first_name = capture_file_name(o->files[i]);
        } else if (dlt != first_dlt) {
            const char *a = pcap_datalink_val_to_name(first_dlt);
            const char *b = pcap_datalink_val_to_name(dlt);
            capture_msg(o, "-w: %s has link type %s and %s %s: a pcap file holds one link type",
                        first_name, a ? a : "?", capture_file_name(o->files[i]), b ? b : "?");
            return CAPTURE_FAILED;
        }
    }
    for (size_t i = 0; i < o->nfiles && !ctx->stop && !capture_stop_flag; i++) {
        bool filter_failed = false;
        int r = capture_read_file(ctx, o->files[i], &filter_failed);
        int64_t sz = capture_file_size(o->files[i]);
        if (sz > 0)
            ctx->bytes_before += (uint64_t)sz;
        /* A filter that does not compile on the first input is a usage error: stop now. */
        if (filter_failed && !any_read)
            return CAPTURE_FAILED;
        if (r != 0)
            any_read = true;
        if (r <= 0)
            any_failed = true;
    }
    if (!capture_write_close(ctx))
        any_failed = true;
    if (!any_read)
        return CAPTURE_FAILED;
    return any_failed ? CAPTURE_PARTIAL : CAPTURE_OK;
}

/* Become o->user: supplementary groups, then group, then user; every failure is fatal. */
static int capture_drop_privileges(const struct capture_opts *o)
{
    errno = 0;
    struct passwd *pw = getpwnam(o->user);
    if (!pw) {
        capture_msg(o, "-Z %s: %s", o->user, errno ? strerror(errno) : "no such user");
        return -1;
    }
    if (geteuid() != 0) {
        /* Without root the only possible "switch" is to ourselves. */
        if (pw->pw_uid == getuid() && pw->pw_gid == getgid())
            return 0;
        capture_msg(o, "-Z %s: cannot switch user: not running as root", o->user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0) {
        capture_msg(o, "-Z %s: initgroups: %s", o->user, strerror(errno));
        return -1;
    }
    if (setgid(pw->pw_gid) != 0) {
        capture_msg(o, "-Z %s: setgid: %s", o->user, strerror(errno));
        return -1;
    }
    if (setuid(pw->pw_uid) != 0) {
        capture_msg(o, "-Z %s: setuid: %s", o->user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && setuid(0) == 0) {
        capture_msg(o, "-Z %s: root privileges could be regained", o->user);
        return -1;
    }
    return 0;
}

static void capture_on_packet(u_char *arg, const struct pcap_pkthdr *ph, const u_char *data)
{
    struct capture_ctx *ctx = (struct capture_ctx *)arg;

    if (ctx->stop)
        return;
    if (!capture_deliver(ctx, ph, data)) {
        pcap_t *p = atomic_load(&capture_active);
        if (p)
            pcap_breakloop(p);
    }
}

/* Report pcap_activate's outcome: errors (< 0) are fatal, warnings (> 0) are printed. */
static int capture_report_activate(const struct capture_opts *o, pcap_t *p, int rc)
{
    if (rc == 0)
        return 0;
    const char *detail = pcap_geterr(p);
    const char *what = pcap_statustostr(rc);
    if (rc > 0) {
        if (detail && detail[0])
            capture_msg(o, "%s: warning: %s: %s", o->iface, what, detail);
        else
            capture_msg(o, "%s: warning: %s", o->iface, what);
        return 0;
    }
    if (detail && detail[0] && rc != PCAP_ERROR_NO_SUCH_DEVICE)
        capture_msg(o, "%s: %s (%s)", o->iface, what, detail);
    else if (detail && detail[0])
        capture_msg(o, "%s: %s", o->iface, detail);
    else
        capture_msg(o, "%s: %s", o->iface, what);
    return -1;
}

static enum capture_status capture_run_live(struct capture_ctx *ctx,
                                            struct wst_capture_stats *stats)
{
    const struct capture_opts *o = ctx->o;
    char errbuf[PCAP_ERRBUF_SIZE];
    enum capture_status st = CAPTURE_FAILED;
    struct pcap_stat ps;

    errbuf[0] = '\0';
    pcap_t *p = pcap_create(o->iface, errbuf);
    if (!p) {
        capture_msg(o, "%s: %s", o->iface, errbuf[0] ? errbuf : "cannot open");
        return CAPTURE_FAILED;
    }
    pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : CAPTURE_SNAPLEN_MAX);
    pcap_set_promisc(p, o->promisc ? 1 : 0);
    if (o->buffer_kib > 0)
        pcap_set_buffer_size(p, o->buffer_kib * 1024);
    /* Not immediate by default, as tcpdump: libpcap then uses TPACKET_V3, whose blocks hold
     * packets back to back. In immediate mode every ring slot is snaplen bytes long, so the
     * default 2 MiB buffer holds only 7 packets of the default 262144-byte snaplen, and a
     * reader that falls behind for a moment loses packets. */
    pcap_set_immediate_mode(p, o->immediate ? 1 : 0);
    pcap_set_timeout(p, CAPTURE_TIMEOUT_MS);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO);
    if (capture_report_activate(o, p, pcap_activate(p)) < 0)
        goto out_close;
    if (o->user && capture_drop_privileges(o) < 0)
        goto out_close;

    int dlt = pcap_datalink(p);
    enum wst_link link = capture_link_from_dlt(dlt);
    if (link == WST_LINK_UNSUPPORTED) {
        const char *dname = pcap_datalink_val_to_name(dlt);
        capture_msg(o, "%s: unsupported link type %s (%d)", o->iface, dname ? dname : "unknown",
                    dlt);
        goto out_close;
    }
    if (o->filter && capture_filter_set(p, o->filter, errbuf, sizeof errbuf) < 0) {
        capture_msg(o, "bad filter: %s", errbuf);
        goto out_close;
    }
    if (o->write_file && capture_write_open(ctx, dlt, pcap_snapshot(p)) < 0)
        goto out_close;
    const char *dname = pcap_datalink_val_to_name(dlt);
    const char *ddesc = pcap_datalink_val_to_description(dlt);
    capture_msg(o, "listening on %s, link-type %s (%s), snapshot length %d bytes", o->iface,
                dname ? dname : "?", ddesc ? ddesc : "?", pcap_snapshot(p));

    ctx->ops->set_link(ctx->user, link);
    atomic_store(&capture_active, p);
    st = CAPTURE_OK;
    while (!ctx->stop && !capture_stop_flag) {
        int n = pcap_dispatch(p, -1, capture_on_packet, (u_char *)ctx);
        if (ctx->ops->flush)
            ctx->ops->flush(ctx->user);
        if (!capture_write_flush(ctx)) {
            capture_msg(o, "-w %s: write error: %s", o->write_file, strerror(errno));
            ctx->write_failed = true;
            st = CAPTURE_PARTIAL;
            break;
        }
        if (n == PCAP_ERROR_BREAK)
            break;
        if (n < 0) {
            capture_msg(o, "%s: %s", o->iface, pcap_geterr(p));
            st = CAPTURE_PARTIAL;
            break;
        }
    }
    atomic_store(&capture_active, NULL);
    /* Stopped by a signal: take what the kernel already holds for us, without waiting, so
     * that the packets that arrived before the signal are all analyzed. Bounded: at most 64
     * batches (the buffer is finite and new packets may keep coming). */
    if (capture_stop_flag && !ctx->stop && st == CAPTURE_OK && pcap_setnonblock(p, 1, errbuf) == 0) {
        for (int k = 0; k < 64 && !ctx->stop; k++) {
            if (pcap_dispatch(p, -1, capture_on_packet, (u_char *)ctx) <= 0)
                break;
        }
        if (ctx->ops->flush)
            ctx->ops->flush(ctx->user);
    }
    if (pcap_stats(p, &ps) == 0) {
        stats->valid = true;
        stats->dropped = ps.ps_drop;
        stats->ifdropped = ps.ps_ifdrop;
    } else {
        capture_msg(o, "%s: no drop statistics: %s", o->iface, pcap_geterr(p));
    }
    if (!capture_write_close(ctx) && st == CAPTURE_OK)
        st = CAPTURE_PARTIAL;
out_close:
    capture_write_close(ctx);
    pcap_close(p);
    return st;
}

int64_t capture_file_size(const char *path)
{
    struct stat sb;
    if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return -1;
    return (int64_t)sb.st_size;
}

enum capture_status capture_run(const struct capture_opts *o, const struct capture_ops *ops,
                                void *user, struct wst_capture_stats *stats)
{
    struct capture_ctx ctx = {o, ops, user, 0, false, 0, 0, NULL, NULL, 0, 0, 0, false};
    struct sigaction old[2];
    enum capture_status st;

    memset(stats, 0, sizeof *stats);
    capture_signals_install(old);
    if (o->iface)
        st = capture_run_live(&ctx, stats);
    else
        st = capture_run_offline(&ctx);
    stats->interrupted = capture_stop_flag != 0;
    stats->have_written = o->write_file != NULL && st != CAPTURE_FAILED && !ctx.write_failed;
    stats->written = ctx.written;
    capture_signals_restore(old);
    return st;
}

struct flag_name {
    bpf_u_int32 flag;
    const char *name;
};

static const struct flag_name if_flags[] = {
    {PCAP_IF_UP, "Up"},
    {PCAP_IF_RUNNING, "Running"},
    {PCAP_IF_LOOPBACK, "Loopback"},
#ifdef PCAP_IF_WIRELESS
    {PCAP_IF_WIRELESS, "Wireless"},
#endif
    {0, NULL},
};

/* The connection status word tcpdump shows after the flags, or NULL. */
static const char *capture_if_status(bpf_u_int32 flags)
{
#ifdef PCAP_IF_CONNECTION_STATUS
    bpf_u_int32 st = flags & PCAP_IF_CONNECTION_STATUS;
#ifdef PCAP_IF_WIRELESS
    if (flags & PCAP_IF_WIRELESS) {
        if (st == PCAP_IF_CONNECTION_STATUS_CONNECTED)
            return "Associated";
        if (st == PCAP_IF_CONNECTION_STATUS_DISCONNECTED)
            return "Not associated";
        return NULL;
    }
#endif
    if (st == PCAP_IF_CONNECTION_STATUS_CONNECTED)
        return "Connected";
    if (st == PCAP_IF_CONNECTION_STATUS_DISCONNECTED)
        return "Disconnected";
#else
    (void)flags;
#endif
    return NULL;
}

const char *capture_lib_version(void)
{
    return pcap_lib_version();
}

int capture_list_interfaces(struct outbuf *out, FILE *err)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_if_t *devs = NULL;
    unsigned idx = 0;

    errbuf[0] = '\0';
    if (pcap_findalldevs(&devs, errbuf) != 0) {
        fprintf(err ? err : stderr, "wstap: cannot list interfaces: %s\n", errbuf);
        return -1;
    }
    if (!devs) {
        fprintf(err ? err : stderr, "wstap: no capture interfaces found\n");
        return -1;
    }
    for (pcap_if_t *d = devs; d; d = d->next) {
        const char *sep = "";
        outbuf_printf(out, "%u.", ++idx);
        term_put_cstr(out, d->name);
        if (d->description) {
            outbuf_puts(out, " (");
            term_put_cstr(out, d->description);
            outbuf_putc(out, ')');
        }
        if (d->flags != 0) {
            outbuf_puts(out, " [");
            for (const struct flag_name *f = if_flags; f->name; f++) {
                if (d->flags & f->flag) {
                    outbuf_printf(out, "%s%s", sep, f->name);
                    sep = ", ";
                }
            }
            const char *status = capture_if_status(d->flags);
            if (status)
                outbuf_printf(out, "%s%s", sep, status);
            else if (sep[0] == '\0')
                outbuf_puts(out, "none");
            outbuf_putc(out, ']');
        }
        outbuf_putc(out, '\n');
    }
    pcap_freealldevs(devs);
    return 0;
}

/* ---- pcapng Decryption Secrets Blocks (the pre-scan documented in capture.h) ---- */

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_DSB 0x0000000Au
#define PCAPNG_BOM 0x1A2B3C4Du
#define PCAPNG_TLSK 0x544c534bu

static uint32_t capture_u32(const uint8_t *p, bool swap)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    if (swap)
        v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
    return v;
}

int capture_pcapng_secrets(const char *path, capture_secrets_fn fn, void *user)
{
    if (capture_file_size(path) < 0)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int found = 0;
    uint64_t total = 0;
    bool swap = false;
    uint8_t hdr[12];
    for (;;) {
        if (fread(hdr, 1, 8, f) != 8)
            break;
        uint32_t type = capture_u32(hdr, false); /* SHB's type reads the same either way */
        if (type == PCAPNG_SHB) {
            if (fread(hdr + 8, 1, 4, f) != 4)
                break;
            uint32_t bom = capture_u32(hdr + 8, false);
            if (bom == PCAPNG_BOM)
                swap = false;
            else if (capture_u32(hdr + 8, true) == PCAPNG_BOM)
                swap = true;
            else
                break;
        } else if (total == 0 && found == 0 && ftell(f) == 8) {
            break; /* not pcapng */
        }
        type = capture_u32(hdr, swap);
        uint32_t len = capture_u32(hdr + 4, swap);
        if (len < 12 || len % 4 != 0)
            break;
        long body = (long)len - (type == PCAPNG_SHB ? 12 : 8);
        if (type == PCAPNG_DSB && body >= 12) {
            uint8_t dh[8];
            if (fread(dh, 1, 8, f) != 8)
                break;
            uint32_t stype = capture_u32(dh, swap);
            uint32_t slen = capture_u32(dh + 4, swap);
            body -= 8;
            if (stype == PCAPNG_TLSK && slen <= (uint64_t)body - 4 &&
                total + slen <= CAPTURE_SECRETS_MAX) {
                uint8_t *buf = malloc(slen ? slen : 1);
                if (!buf)
                    break;
                if (fread(buf, 1, slen, f) != slen) {
                    free(buf);
                    break;
                }
                fn(user, buf, slen);
                free(buf);
                total += slen;
                found++;
                body -= (long)slen;
            }
        }
        if (fseek(f, body, SEEK_CUR) != 0)
            break;
    }
    fclose(f);
    return found;
}
