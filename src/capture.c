/* capture.c - libpcap front end: offline files, live interfaces, BPF, privileges, signals. */
#include <errno.h>
#include <grp.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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
    ctx->delivered++;
    if (ctx->o->count != 0 && ctx->delivered >= ctx->o->count)
        ctx->stop = true;
    return !ctx->stop;
}

/* Read one file to its end. Returns 1 when the file was read (whole or until a stop), 0 when
 * it failed before any packet (not opened, unsupported, filter), -1 when it failed midway. */
static int capture_read_file(struct capture_ctx *ctx, const char *path, bool *filter_failed)
{
    const struct capture_opts *o = ctx->o;
    const char *name = capture_file_name(path);
    char errbuf[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *ph;
    const u_char *data;
    int result = 1;

    errbuf[0] = '\0';
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
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
    ctx->ops->set_link(ctx->user, link);
    while (!ctx->stop && !capture_stop_flag) {
        int r = pcap_next_ex(p, &ph, &data);
        if (r == 1) {
            capture_deliver(ctx, ph, data);
            if (ctx->ops->progress && (ctx->delivered & 4095) == 0) {
                FILE *f = pcap_file(p);
                long pos = f ? ftell(f) : -1;
                ctx->ops->progress(ctx->user, ctx->bytes_before + (pos > 0 ? (uint64_t)pos : 0),
                                   ctx->bytes_total);
            }
        } else if (r == PCAP_ERROR_BREAK) {
            break; /* end of file */
        } else if (r == 0) {
            continue; /* only live captures time out */
        } else if (capture_stop_flag) {
            break; /* a signal interrupted a read from a pipe: a clean stop */
        } else {
            capture_msg(o, "%s: %s", name, pcap_geterr(p));
            result = -1;
            break;
        }
    }
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
        struct stat sb;
        if (strcmp(o->files[i], "-") != 0 && stat(o->files[i], &sb) == 0 && S_ISREG(sb.st_mode))
            ctx->bytes_total += (uint64_t)sb.st_size;
    }
    for (size_t i = 0; i < o->nfiles && !ctx->stop && !capture_stop_flag; i++) {
        bool filter_failed = false;
        int r = capture_read_file(ctx, o->files[i], &filter_failed);
        struct stat sb;
        if (strcmp(o->files[i], "-") != 0 && stat(o->files[i], &sb) == 0 && S_ISREG(sb.st_mode))
            ctx->bytes_before += (uint64_t)sb.st_size;
        /* A filter that does not compile on the first input is a usage error: stop now. */
        if (filter_failed && !any_read)
            return CAPTURE_FAILED;
        if (r != 0)
            any_read = true;
        if (r <= 0)
            any_failed = true;
    }
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
out_close:
    pcap_close(p);
    return st;
}

enum capture_status capture_run(const struct capture_opts *o, const struct capture_ops *ops,
                                void *user, struct wst_capture_stats *stats)
{
    struct capture_ctx ctx = {o, ops, user, 0, false, 0, 0};
    struct sigaction old[2];
    enum capture_status st;

    memset(stats, 0, sizeof *stats);
    capture_signals_install(old);
    if (o->iface)
        st = capture_run_live(&ctx, stats);
    else
        st = capture_run_offline(&ctx);
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
