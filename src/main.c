/* main.c - command line, wiring capture -> analyzer -> sink, exit status. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "evq.h"
#include "har.h"
#include "keylog.h"
#include "outbuf.h"
#include "report.h"
#include "tfilter.h"
#include "sink.h"
#include "streams.h"
#include "wstap/wstap.h"

enum { MAIN_EXIT_OK = 0, MAIN_EXIT_FINDINGS = 1, MAIN_EXIT_ERROR = 2 };

#define MAIN_MAX_FLOWS_CAP (1u << 24)
#define MAIN_IDLE_MAX_S 1000000000ULL /* about 31 years */
#define MAIN_FILTER_FILE_MAX (64 * 1024)
#define MAIN_BUFFER_KIB_MAX (1024 * 1024) /* 1 GiB */

enum main_long_opt {
    OPT_JSON = 0x100,
    OPT_MAX_FLOWS,
    OPT_IDLE_TIMEOUT,
    OPT_VERSION,
    OPT_PAYLOAD_MAX,
    OPT_STREAMS,
    OPT_MAX_OOO,
    OPT_MAX_OOO_TOTAL,
    OPT_MAX_MESSAGE,
    OPT_MAX_APP_TOTAL,
    OPT_WS_PORT,
    OPT_COLOR,
    OPT_STRICT,
    OPT_FAIL_ON,
    OPT_IMMEDIATE,
    OPT_HAR,
    OPT_KEYLOG,
    OPT_COMMUNITY_ID_SEED,
    OPT_GREP,
    OPT_HIDE,
    OPT_DIR,
};

enum main_color { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct main_opts {
    const char **files;
    size_t nfiles;
    const char *iface;
    bool list_ifaces;
    uint64_t snaplen;
    bool no_promisc;
    bool immediate;
    uint64_t buffer_kib;
    const char *filter_file;
    uint64_t count;
    const char *user;
    bool quiet;
    bool json;
    bool have_max_flows;
    uint64_t max_flows;
    bool have_idle;
    int64_t idle_us;
    bool hex;
    bool verbose;
    bool have_payload_max;
    uint64_t payload_max;
    const char *streams_dir;
    bool have_max_ooo, have_max_ooo_total;
    uint64_t max_ooo, max_ooo_total;
    bool have_max_message;
    uint64_t max_message;
    bool have_max_app_total;
    uint64_t max_app_total;
    uint16_t ws_ports[8];
    size_t nws_ports;
    int tflags;     /* how many -t */
    uint64_t only_conn; /* -C: 0 for all */
    enum main_color color;
    const char **fail_on; /* --fail-on lists and --strict ("strict"), in order */
    size_t nfail_on;
    const char *har_path; /* --har FILE */
    const char **keylogs; /* --keylog files, in order */
    size_t nkeylogs;
    const char *write_file;     /* -w */
    uint64_t community_id_seed; /* --community-id-seed */
    const char *grep, *hide; /* timeline filters */
    enum wst_dir dir;
};

/* The TLS key table and the files it comes from (--keylog). A live capture re-reads what the
 * files gained since, at most once per KEYLOG_REREAD_US of packet time. */
#define KEYLOG_REREAD_US 1000000
#define KEYLOG_FILES_MAX 16
struct main_keys {
    struct keylog kl;
    const char *files[KEYLOG_FILES_MAX];
    long pos[KEYLOG_FILES_MAX];       /* bytes read (up to the last complete line) */
    uint64_t lineno[KEYLOG_FILES_MAX];
    size_t n;
    const char *cur; /* the file being read, for warnings */
    bool live;
    bool have_reread;
    int64_t last_reread;
    char name[256];
};

/* What the event callback and the capture callbacks share. */
struct main_app {
    struct wst_analyzer *an;
    struct outbuf *out;
    bool json;
    bool quiet;
    uint64_t only_conn;
    bool only_conn_seen; /* -C: an event of that connection was seen */
    uint64_t tcp_conns;  /* from capture.end, for the -C error */
    struct sink_opts sink;
    struct sink_state st;
    struct report *report;
    struct har *har; /* --har; NULL: none */
    struct tfilter *tf; /* --grep, --hide, --dir; NULL: none */
    struct evq *q;    /* formatting thread (offline files to a non-terminal); NULL: inline */
    bool out_failed;  /* an inline write failed (with q: read only while q is drained) */
    /* progress line on stderr */
    bool progress;
    bool progress_shown;
    uint64_t packets;
    struct timespec started, last_progress;
};

static void main_keys_bad(void *user, uint64_t line, enum keylog_err err)
{
    struct main_keys *k = user;
    fprintf(stderr, "wstap: %s:%" PRIu64 ": %s\n", k->cur, line, keylog_err_str(err));
}

/* Feed what file i gained since the last read: everything and its end (offline), or up to
 * its last complete line (live: the writer may be half-way through the next). Returns 0, or
 * -1 when the file cannot be read (message printed). */
static int main_keys_read(struct main_keys *k, size_t i)
{
    FILE *f = fopen(k->files[i], "rb");
    if (!f) {
        fprintf(stderr, "wstap: --keylog %s: %s\n", k->files[i], strerror(errno));
        return -1;
    }
    if (k->pos[i] > 0 && fseek(f, k->pos[i], SEEK_SET) != 0) {
        fclose(f);
        return 0;
    }
    k->cur = k->files[i];
    k->kl.lineno = k->lineno[i];
    uint8_t buf[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        size_t use = n;
        if (k->live) {
            while (use > 0 && buf[use - 1] != '\n')
                use--;
            if (use == 0 && n == sizeof buf) /* an overlong line: let the parser skip it */
                use = n;
        }
        keylog_feed(&k->kl, buf, use);
        k->pos[i] += (long)use;
        if (use < n)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "wstap: --keylog %s: read error\n", k->files[i]);
        rc = -1;
    }
    fclose(f);
    if (!k->live)
        keylog_end(&k->kl);
    k->lineno[i] = k->kl.lineno;
    return rc;
}

static int main_keys_open(struct main_keys *k, const char **files, size_t n, bool live)
{
    keylog_init(&k->kl, 0, main_keys_bad, k);
    k->n = n;
    k->live = live;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        k->files[i] = files[i];
        if (main_keys_read(k, i) < 0)
            return -1;
        int w = snprintf(k->name + len, sizeof k->name - len, "%s%s", i ? ", " : "", files[i]);
        if (w > 0 && (size_t)w < sizeof k->name - len)
            len += (size_t)w;
    }
    return 0;
}

/* A pcapng Decryption Secrets Block: whole key log lines. */
static void main_keys_dsb(void *user, const uint8_t *p, size_t n)
{
    struct main_keys *k = user;
    k->kl.lineno = 0;
    keylog_feed(&k->kl, p, n);
    keylog_end(&k->kl);
}

static void main_keys_name_add(struct main_keys *k, const char *what)
{
    size_t len = strlen(k->name);
    snprintf(k->name + len, sizeof k->name - len, "%s%s", len ? ", " : "", what);
}

/* The analyzer met a session the table does not know: a live capture re-reads what the files
 * gained. At a session's ServerHello every time a file has grown (one stat per file); at a
 * later record without keys at most once per KEYLOG_REREAD_US of packet time. */
static bool main_keys_more(void *user, int64_t ts, bool new_session)
{
    struct main_keys *k = user;
    if (!k->live)
        return false;
    if (!new_session && k->have_reread && ts - k->last_reread < KEYLOG_REREAD_US)
        return false;
    bool grew = false;
    for (size_t i = 0; i < k->n; i++) {
        struct stat sb;
        grew |= stat(k->files[i], &sb) == 0 && sb.st_size > (off_t)k->pos[i];
    }
    if (!grew)
        return false;
    k->have_reread = true;
    k->last_reread = ts;
    uint64_t gen = k->kl.generation;
    for (size_t i = 0; i < k->n; i++)
        main_keys_read(k, i);
    return k->kl.generation != gen;
}

static void main_usage(FILE *f)
{
    fputs("Usage: wstap [options] -r FILE [-r FILE]... [FILTER...]\n"
          "       wstap [options] -i IFACE [FILTER...]\n"
          "       wstap -D | -h | --version\n"
          "Passive TCP/HTTP/WebSocket analyzer: reads captures (or captures live with\n"
          "libpcap) and prints a timeline of connection events, or NDJSON with --json.\n"
          "\n"
          "Input:\n"
          "  -r FILE              read a pcap or pcapng file (\"-\" is stdin); repeatable,\n"
          "                       files are read in order as one capture\n"
          "  -i IFACE             capture live on IFACE\n"
          "  -D                   list the interfaces -i accepts, then exit\n"
          "  -F FILE              read the BPF filter from FILE (instead of FILTER...)\n"
          "  -c COUNT             stop after COUNT packets (counted after the filter)\n"
          "Live capture:\n"
          "  -s SNAPLEN           bytes kept of each packet (default and 0: 262144)\n"
          "  -p                   do not put the interface into promiscuous mode\n"
          "  -B KIB               kernel capture buffer size in KiB\n"
          "  -Z USER              switch to USER right after opening the interface\n"
          "      --immediate-mode deliver every packet as it arrives (default: in batches,\n"
          "                       100 ms at most)\n"
          "Output:\n"
          "  -q                   quiet: only the summary (with --json: tcp.close and\n"
          "                       capture.end)\n"
          "      --json           one JSON object per event and line (see wstap(1))\n"
          "  -C ID                only connection ID (as in c1, or 1)\n"
          "  -t                   no time column; -tt seconds since the epoch, -ttt since\n"
          "                       the previous line, -tttt date and time, -ttttt (the\n"
          "                       default) since the first packet\n"
          "      --color[=WHEN]   colour the timeline: auto (default: a terminal and no\n"
          "                       NO_COLOR), always, never\n"
          "  -v                   also show every WebSocket frame in the timeline\n"
          "  -x                   hex dump of message payloads in the timeline\n"
          "      --payload-max N  payload bytes shown per message (timeline default 120,\n"
          "                       JSON default 4096; 0 shows all)\n"
          "      --streams DIR    write each connection's reassembled bytes to\n"
          "                       DIR/<conn>.c2s and DIR/<conn>.s2c\n"
          "      --har FILE       write the HTTP exchanges and WebSocket messages as an\n"
          "                       HTTP Archive (HAR 1.2, with DevTools' _webSocketMessages)\n"
          "  -w FILE              also write the packets that pass the filter to the pcap\n"
          "                       FILE (with -C: only that connection's); -w - writes to\n"
          "                       stdout and moves the timeline to stderr\n"
          "      --community-id-seed N  seed of the Community ID in tcp.open and\n"
          "                       conn.summary (0..65535, default 0)\n"
          "      --grep REGEX     timeline: only the text messages matching REGEX (POSIX\n"
          "                       extended), with their connections' open/upgrade/close\n"
          "      --hide LIST      timeline: leave out tcp-chatter, anomalies, syn, fin, rst,\n"
          "                       http, frames, ping, pong, text, binary\n"
          "      --dir c2s|s2c    timeline: only one direction's lines\n"
          "Limits:\n"
          "      --max-flows N    connections tracked at once (default 131072)\n"
          "      --idle-timeout S close connections idle for S seconds (default 300)\n"
          "      --max-ooo-bytes N out-of-order bytes queued per direction (default 1048576)\n"
          "      --max-ooo-total N out-of-order bytes queued in all (default 67108864)\n"
          "      --max-message N  decoded bytes kept per WebSocket message; inflation stops\n"
          "                       there too (default 16777216)\n"
          "      --max-app-total N bytes held by HTTP and WebSocket decoding in all\n"
          "                       connections (default 268435456)\n"
          "CI:\n"
          "      --strict         exit 1 if an upgrade failed, or on any ws.error or\n"
          "                       retransmission with different content\n"
          "      --fail-on LIST   exit 1 if one of these findings holds, e.g.\n"
          "                       upgrade,ws-error,retransmissions>10,close!=1000\n"
          "TLS:\n"
          "      --keylog FILE    decrypt TLS 1.2/1.3 with the secrets of an NSS key log\n"
          "                       (SSLKEYLOGFILE); repeatable, re-read while capturing live\n"
          "WebSocket:\n"
          "      --ws-port PORT   treat streams to server PORT as WebSocket even without a\n"
          "                       captured handshake (repeatable, up to 8)\n"
          "\n"
          "  -h, --help           this help\n"
          "      --version        print the version of wstap and libpcap\n"
          "FILTER is a pcap-filter(7) expression; its words are joined with spaces.\n"
          "Exit status: 0 success, 1 a --strict or --fail-on finding, 2 usage or input error.\n",
          f);
}

__attribute__((format(printf, 1, 2))) static void main_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("wstap: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'wstap --help' for more information.\n", stderr);
}

/* A decimal number in [min, max]: digits only, no sign, no spaces, no trailing bytes. */
static int main_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Seconds with up to six decimals ("300", "0.25"), as microseconds; must be > 0. */
static int main_parse_seconds(const char *s, int64_t *out_us)
{
    char *end;
    uint64_t frac = 0;
    unsigned ndig = 0;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long whole = strtoull(s, &end, 10);
    if (errno == ERANGE || whole > MAIN_IDLE_MAX_S)
        return -1;
    if (*end == '.') {
        end++;
        while (*end >= '0' && *end <= '9') {
            if (ndig == 6)
                return -1;
            frac = frac * 10 + (uint64_t)(*end - '0');
            ndig++;
            end++;
        }
        if (ndig == 0)
            return -1;
        for (; ndig < 6; ndig++)
            frac *= 10;
    }
    if (*end != '\0')
        return -1;
    uint64_t us = (uint64_t)whole * 1000000u + frac;
    if (us == 0)
        return -1;
    *out_us = (int64_t)us;
    return 0;
}

/* The words after the options, joined with single spaces as tcpdump does; NULL if none. */
static char *main_join_args(char **argv, int argc)
{
    size_t len = 0;

    if (argc <= 0)
        return NULL;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t pos = 0;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (i > 0)
            s[pos++] = ' ';
        memcpy(s + pos, argv[i], n);
        pos += n;
    }
    s[pos] = '\0';
    return s;
}

/* The whole of a filter file as a string; NULL with a message on failure. */
static char *main_read_filter_file(const char *path)
{
    char *buf = NULL;
    size_t len = 0;

    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "wstap: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = malloc(MAIN_FILTER_FILE_MAX + 1);
    if (!buf) {
        fprintf(stderr, "wstap: out of memory\n");
        goto out_close;
    }
    len = fread(buf, 1, MAIN_FILTER_FILE_MAX + 1, f);
    if (ferror(f)) {
        fprintf(stderr, "wstap: %s: read error\n", path);
        goto out_free_buf;
    }
    if (len > MAIN_FILTER_FILE_MAX) {
        fprintf(stderr, "wstap: %s: filter file larger than %d bytes\n", path,
                MAIN_FILTER_FILE_MAX);
        goto out_free_buf;
    }
    if (memchr(buf, '\0', len)) {
        fprintf(stderr, "wstap: %s: filter file contains a NUL byte\n", path);
        goto out_free_buf;
    }
    buf[len] = '\0';
    fclose(f);
    return buf;

out_free_buf:
    free(buf);
    buf = NULL;
out_close:
    fclose(f);
    return buf;
}

/* -q keeps the summary (and, in JSON, one line per connection: its close; the conn.summary
 * lines come with capture.end). */
static bool main_quiet_shows(const struct main_app *app, enum wst_ev_type t)
{
    return t == WST_EV_CAPTURE_END || (app->json && t == WST_EV_TCP_CLOSE);
}

static void main_progress_clear(struct main_app *app);

/* Format one event (on the evq thread, or inline); false when the output failed. */
static bool main_format(void *ctx, const struct wst_event *ev)
{
    struct main_app *app = ctx;
    if (app->json)
        sink_json_event(app->out, &app->sink, ev);
    else
        tfilter_text(app->tf, app->out, &app->sink, ev);
    return !outbuf_failed(app->out);
}

static void main_on_event(const struct wst_event *ev, void *user)
{
    struct main_app *app = user;

    if (ev->type == WST_EV_CAPTURE_END)
        app->tcp_conns = ev->u.end.tcp_conns;
    if (app->only_conn && ev->conn != app->only_conn && ev->type != WST_EV_CAPTURE_END)
        return;
    if (app->only_conn && ev->conn == app->only_conn)
        app->only_conn_seen = true;
    report_event(app->report, ev);
    if (app->har)
        har_event(app->har, ev);
    if (app->quiet && !main_quiet_shows(app, ev->type))
        return;
    if (ev->type == WST_EV_CAPTURE_END)
        main_progress_clear(app);
    if (app->q) {
        if (evq_push(app->q, ev))
            return;
        evq_drain(app->q); /* a type that is not queued: the thread is idle after this */
    }
    if (!main_format(app, ev))
        app->out_failed = true;
}

static bool main_out_failed(struct main_app *app)
{
    if (app->q)
        return app->out_failed || evq_failed(app->q);
    return outbuf_failed(app->out);
}

static void main_on_link(void *user, enum wst_link link)
{
    struct main_app *app = user;
    wst_set_link(app->an, link);
}

static bool main_on_packet(void *user, const struct wst_pkthdr *h, const uint8_t *data)
{
    struct main_app *app = user;
    app->packets++;
    wst_packet(app->an, h, data);
    return !main_out_failed(app);
}

static double main_elapsed(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The progress line: wall-clock time is used only here, on stderr, never in the output. */
static void main_on_progress(void *user, uint64_t done, uint64_t total)
{
    struct main_app *app = user;
    struct timespec now;

    if (!app->progress || clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return;
    if (main_elapsed(&app->last_progress, &now) < 0.25)
        return;
    app->last_progress = now;
    double secs = main_elapsed(&app->started, &now);
    if (secs < 0.5)
        return; /* a short run shows nothing */
    double rate = secs > 0 ? (double)app->packets / secs : 0;
    if (total > 0 && done <= total)
        fprintf(stderr, "\r\033[Kwstap: %.1f of %.1f MB (%.0f%%), %" PRIu64 " packets, %.0f packets/s",
                (double)done / 1e6, (double)total / 1e6, 100.0 * (double)done / (double)total,
                app->packets, rate);
    else
        fprintf(stderr, "\r\033[Kwstap: %.1f MB, %" PRIu64 " packets, %.0f packets/s",
                (double)done / 1e6, app->packets, rate);
    fflush(stderr);
    app->progress_shown = true;
}

static void main_progress_clear(struct main_app *app)
{
    if (app->progress_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        app->progress_shown = false;
    }
}

static void main_end_rows(void *ctx, struct outbuf *ob)
{
    struct main_app *app = ctx;
    report_put_summary(app->report, ob);
}

static void main_end_total(void *ctx, struct outbuf *ob)
{
    struct main_app *app = ctx;
    report_put_total(app->report, ob);
}

static void main_end_json(void *ctx, struct outbuf *ob, const struct wst_event *end)
{
    struct main_app *app = ctx;
    report_put_json(app->report, ob, end);
}

static void main_on_flush(void *user)
{
    struct main_app *app = user;
    if (app->q)
        evq_drain(app->q);
    outbuf_flush(app->out);
}

/* -w: write the packet just analyzed? With -C only when it is that connection's. */
static bool main_keep(void *user)
{
    struct main_app *app = user;
    return !app->only_conn || wst_packet_conn(app->an) == app->only_conn;
}

/* Every input is a regular file (not standard input, a pipe or a device). */
static bool main_files_regular(const struct main_opts *o)
{
    for (size_t i = 0; i < o->nfiles; i++)
        if (capture_file_size(o->files[i]) < 0)
            return false;
    return o->nfiles > 0;
}

static uint64_t main_random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    return seed;
}

/* Parse argv into o; the filter words are left at argv[*first_arg..]. 0, 1 (done: help or
 * version printed), or -1 (usage error, message printed). */
static int main_parse_args(int argc, char **argv, struct main_opts *o, int *first_arg)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"immediate-mode", no_argument, NULL, OPT_IMMEDIATE},
        {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"payload-max", required_argument, NULL, OPT_PAYLOAD_MAX},
        {"streams", required_argument, NULL, OPT_STREAMS},
        {"max-ooo-bytes", required_argument, NULL, OPT_MAX_OOO},
        {"max-ooo-total", required_argument, NULL, OPT_MAX_OOO_TOTAL},
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"max-app-total", required_argument, NULL, OPT_MAX_APP_TOTAL},
        {"ws-port", required_argument, NULL, OPT_WS_PORT},
        {"color", optional_argument, NULL, OPT_COLOR},
        {"colour", optional_argument, NULL, OPT_COLOR},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"har", required_argument, NULL, OPT_HAR},
        {"keylog", required_argument, NULL, OPT_KEYLOG},
        {"community-id-seed", required_argument, NULL, OPT_COMMUNITY_ID_SEED},
        {"grep", required_argument, NULL, OPT_GREP},
        {"hide", required_argument, NULL, OPT_HIDE},
        {"dir", required_argument, NULL, OPT_DIR},
        {NULL, 0, NULL, 0},
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:i:Ds:pB:F:c:Z:qvxhtC:w:", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            o->files[o->nfiles++] = optarg;
            break;
        case 'i':
            if (o->iface) {
                main_usage_error("-i given twice");
                return -1;
            }
            o->iface = optarg;
            break;
        case 'D':
            o->list_ifaces = true;
            break;
        case 's':
            if (main_parse_u64(optarg, 0, CAPTURE_SNAPLEN_MAX, &o->snaplen) < 0) {
                main_usage_error("-s: invalid snapshot length '%s' (0..%d)", optarg,
                                 CAPTURE_SNAPLEN_MAX);
                return -1;
            }
            break;
        case 'p':
            o->no_promisc = true;
            break;
        case 'B':
            if (main_parse_u64(optarg, 1, MAIN_BUFFER_KIB_MAX, &o->buffer_kib) < 0) {
                main_usage_error("-B: invalid buffer size '%s' (1..%d KiB)", optarg,
                                 MAIN_BUFFER_KIB_MAX);
                return -1;
            }
            break;
        case 'F':
            o->filter_file = optarg;
            break;
        case 'c':
            if (main_parse_u64(optarg, 1, UINT64_MAX, &o->count) < 0) {
                main_usage_error("-c: invalid packet count '%s'", optarg);
                return -1;
            }
            break;
        case 'Z':
            o->user = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 't':
            o->tflags++;
            break;
        case OPT_HAR:
            o->har_path = optarg;
            break;
        case 'C': {
            const char *id = optarg[0] == 'c' ? optarg + 1 : optarg;
            if (main_parse_u64(id, 1, UINT64_MAX, &o->only_conn) < 0) {
                main_usage_error("-C: invalid connection id '%s' (c1, or 1)", optarg);
                return -1;
            }
            break;
        }
        case OPT_COLOR:
            if (!optarg || strcmp(optarg, "auto") == 0) {
                o->color = COLOR_AUTO;
            } else if (strcmp(optarg, "always") == 0) {
                o->color = COLOR_ALWAYS;
            } else if (strcmp(optarg, "never") == 0) {
                o->color = COLOR_NEVER;
            } else {
                main_usage_error("--color: '%s' is not auto, always or never", optarg);
                return -1;
            }
            break;
        case OPT_STRICT:
            o->fail_on[o->nfail_on++] = "strict";
            break;
        case OPT_FAIL_ON:
            o->fail_on[o->nfail_on++] = optarg;
            break;
        case OPT_KEYLOG:
            if (o->nkeylogs >= KEYLOG_FILES_MAX) {
                main_usage_error("--keylog: at most %d files", KEYLOG_FILES_MAX);
                return -1;
            }
            o->keylogs[o->nkeylogs++] = optarg;
            break;
        case OPT_IMMEDIATE:
            o->immediate = true;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'x':
            o->hex = true;
            break;
        case OPT_PAYLOAD_MAX:
            if (main_parse_u64(optarg, 0, SIZE_MAX, &o->payload_max) < 0) {
                main_usage_error("--payload-max: invalid number '%s'", optarg);
                return -1;
            }
            o->have_payload_max = true;
            break;
        case OPT_STREAMS:
            o->streams_dir = optarg;
            break;
        case OPT_MAX_OOO:
            if (main_parse_u64(optarg, 0, UINT32_MAX, &o->max_ooo) < 0) {
                main_usage_error("--max-ooo-bytes: invalid number '%s'", optarg);
                return -1;
            }
            o->have_max_ooo = true;
            break;
        case OPT_MAX_MESSAGE:
            if (main_parse_u64(optarg, 1, UINT32_MAX, &o->max_message) < 0) {
                main_usage_error("--max-message: invalid number '%s' (1..%u)", optarg,
                                 UINT32_MAX);
                return -1;
            }
            o->have_max_message = true;
            break;
        case OPT_MAX_APP_TOTAL:
            if (main_parse_u64(optarg, 0, UINT64_MAX, &o->max_app_total) < 0) {
                main_usage_error("--max-app-total: invalid number '%s'", optarg);
                return -1;
            }
            o->have_max_app_total = true;
            break;
        case 'w':
            if (o->write_file) {
                main_usage_error("-w given twice");
                return -1;
            }
            o->write_file = optarg;
            break;
        case OPT_COMMUNITY_ID_SEED:
            if (main_parse_u64(optarg, 0, 65535, &o->community_id_seed) < 0) {
                main_usage_error("--community-id-seed: invalid seed '%s' (0..65535)", optarg);
                return -1;
            }
            break;
        case OPT_GREP:
            o->grep = optarg;
            break;
        case OPT_HIDE:
            o->hide = optarg;
            break;
        case OPT_DIR:
            if (strcmp(optarg, "c2s") == 0) {
                o->dir = WST_DIR_C2S;
            } else if (strcmp(optarg, "s2c") == 0) {
                o->dir = WST_DIR_S2C;
            } else {
                main_usage_error("--dir: '%s' is not c2s or s2c", optarg);
                return -1;
            }
            break;
        case OPT_WS_PORT: {
            uint64_t port;
            if (main_parse_u64(optarg, 1, 65535, &port) < 0) {
                main_usage_error("--ws-port: invalid port '%s'", optarg);
                return -1;
            }
            if (o->nws_ports == sizeof o->ws_ports / sizeof o->ws_ports[0]) {
                main_usage_error("--ws-port: at most 8 ports");
                return -1;
            }
            o->ws_ports[o->nws_ports++] = (uint16_t)port;
            break;
        }
        case OPT_MAX_OOO_TOTAL:
            if (main_parse_u64(optarg, 0, UINT64_MAX, &o->max_ooo_total) < 0) {
                main_usage_error("--max-ooo-total: invalid number '%s'", optarg);
                return -1;
            }
            o->have_max_ooo_total = true;
            break;
        case OPT_MAX_FLOWS:
            if (main_parse_u64(optarg, 1, MAIN_MAX_FLOWS_CAP, &o->max_flows) < 0) {
                main_usage_error("--max-flows: invalid number '%s' (1..%u)", optarg,
                                 MAIN_MAX_FLOWS_CAP);
                return -1;
            }
            o->have_max_flows = true;
            break;
        case OPT_IDLE_TIMEOUT:
            if (main_parse_seconds(optarg, &o->idle_us) < 0) {
                main_usage_error("--idle-timeout: invalid number of seconds '%s'", optarg);
                return -1;
            }
            o->have_idle = true;
            break;
        case 'h':
            main_usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("wstap %s\n%s\n", WSTAP_VERSION, capture_lib_version());
            return 1;
        case ':':
            if (optopt >= 0x100 || optopt == 0)
                main_usage_error("option '%s' needs an argument", argv[optind - 1]);
            else
                main_usage_error("option '-%c' needs an argument", optopt);
            return -1;
        default:
            if (optopt >= 0x100 || optopt == 0)
                main_usage_error("unknown option '%s'", argv[optind - 1]);
            else
                main_usage_error("unknown option '-%c'", optopt);
            return -1;
        }
    }
    *first_arg = optind;
    return 0;
}

/* Cross-option rules, once everything is parsed. */
static int main_check_args(const struct main_opts *o, int nwords)
{
    if (o->list_ifaces)
        return 0;
    if (o->nfiles > 0 && o->iface) {
        main_usage_error("-r and -i cannot be used together");
        return -1;
    }
    if (o->nfiles == 0 && !o->iface) {
        main_usage_error("nothing to read: give -r FILE or -i IFACE");
        return -1;
    }
    if (o->write_file && o->write_file[0] == '\0') {
        main_usage_error("-w: empty file name");
        return -1;
    }
    /* -w onto an input would truncate it before it is read */
    struct stat wsb, rsb;
    if (o->write_file && strcmp(o->write_file, "-") != 0 && stat(o->write_file, &wsb) == 0) {
        for (size_t i = 0; i < o->nfiles; i++) {
            if (strcmp(o->files[i], "-") != 0 && stat(o->files[i], &rsb) == 0 &&
                rsb.st_dev == wsb.st_dev && rsb.st_ino == wsb.st_ino) {
                main_usage_error("-w %s: is also an input (-r %s)", o->write_file, o->files[i]);
                return -1;
            }
        }
    }
    if (o->user && !o->iface) {
        main_usage_error("-Z only applies to a live capture (-i)");
        return -1;
    }
    if (o->filter_file && nwords > 0) {
        main_usage_error("give the filter either with -F or as arguments, not both");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct main_opts o;
    struct main_app app;
    struct capture_opts co;
    struct wst_capture_stats stats;
    struct wst_limits lim;
    struct sigaction sa;
    char *filter = NULL;
    struct streams *streams = NULL;
    int har_fd = -1;
    int first_arg = argc;
    int rc = MAIN_EXIT_ERROR;
    struct main_keys *keys = NULL;

    /* A closed pipe must surface as EPIPE from write(2), not kill us. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    memset(&o, 0, sizeof o);
    memset(&app, 0, sizeof app);
    o.files = calloc((size_t)argc + 1, sizeof *o.files);
    o.fail_on = calloc((size_t)argc + 1, sizeof *o.fail_on);
    o.keylogs = calloc((size_t)argc + 1, sizeof *o.keylogs);
    if (!o.files || !o.fail_on || !o.keylogs) {
        free(o.files);
        free(o.fail_on);
        free(o.keylogs);
        fprintf(stderr, "wstap: out of memory\n");
        return MAIN_EXIT_ERROR;
    }
    int pr = main_parse_args(argc, argv, &o, &first_arg);
    if (pr != 0) {
        rc = pr > 0 ? MAIN_EXIT_OK : MAIN_EXIT_ERROR;
        if (pr > 0 && fflush(stdout) != 0)
            rc = MAIN_EXIT_ERROR;
        goto out_free_files;
    }
    if (main_check_args(&o, argc - first_arg) < 0)
        goto out_free_files;

    app.out = malloc(sizeof *app.out);
    if (!app.out) {
        fprintf(stderr, "wstap: out of memory\n");
        goto out_free_files;
    }
    /* -w - : the pcap goes to stdout, the timeline to stderr */
    int out_fd = o.write_file && strcmp(o.write_file, "-") == 0 ? STDERR_FILENO : STDOUT_FILENO;
    outbuf_init(app.out, out_fd);

    if (o.list_ifaces) {
        if (capture_list_interfaces(app.out, stderr) == 0 && outbuf_flush(app.out) == 0)
            rc = MAIN_EXIT_OK;
        goto out_free_out;
    }

    if (o.filter_file) {
        filter = main_read_filter_file(o.filter_file);
        if (!filter)
            goto out_free_out;
    } else if (first_arg < argc) {
        filter = main_join_args(argv + first_arg, argc - first_arg);
        if (!filter) {
            fprintf(stderr, "wstap: out of memory\n");
            goto out_free_out;
        }
    }

    wst_limits_default(&lim);
    if (o.have_max_flows)
        lim.max_flows = (uint32_t)o.max_flows;
    if (o.have_idle)
        lim.idle_timeout_us = o.idle_us;
    if (o.have_max_ooo)
        lim.max_ooo_conn = (uint32_t)o.max_ooo;
    if (o.have_max_ooo_total)
        lim.max_ooo_total = o.max_ooo_total;
    if (o.have_max_message)
        lim.max_message = o.max_message;
    if (o.have_max_app_total)
        lim.max_app_total = o.max_app_total;
    for (size_t i = 0; i < o.nws_ports; i++)
        lim.ws_ports[i] = o.ws_ports[i];
    lim.hash_seed = main_random_seed();
    lim.community_id_seed = (uint16_t)o.community_id_seed;

    app.report = report_new();
    if (!app.report) {
        fprintf(stderr, "wstap: out of memory\n");
        goto out_free_filter;
    }
    for (size_t i = 0; i < o.nfail_on; i++) {
        char err[256];
        if (report_add_rules(app.report, o.fail_on[i], err, sizeof err) < 0) {
            main_usage_error("--fail-on: %s", err);
            goto out_free_report;
        }
    }
    /* --har: opened now (an unwritable path fails before the capture), written at the end */
    if (o.har_path) {
        har_fd = open(o.har_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (har_fd < 0) {
            fprintf(stderr, "wstap: --har %s: %s\n", o.har_path, strerror(errno));
            goto out_free_report;
        }
        app.har = har_new();
        if (!app.har) {
            fprintf(stderr, "wstap: out of memory\n");
            goto out_free_report;
        }
    }
    if (o.grep || o.hide || o.dir != WST_DIR_NONE) {
        char err[256];
        app.tf = tfilter_new(o.grep, o.hide, o.dir, err, sizeof err);
        if (!app.tf) {
            main_usage_error("%s", err);
            goto out_free_report;
        }
    }
    app.json = o.json;
    app.quiet = o.quiet;
    app.only_conn = o.only_conn;
    app.sink = sink_opts_default;
    app.sink.st = &app.st;
    app.sink.end_rows = main_end_rows;
    app.sink.end_total = main_end_total;
    app.sink.end_ctx = &app;
    app.sink.end_json = main_end_json;
    {
        static const enum sink_ts tmodes[] = {SINK_TS_REL, SINK_TS_NONE, SINK_TS_EPOCH,
                                              SINK_TS_DELTA, SINK_TS_DATE, SINK_TS_REL};
        app.sink.ts = tmodes[o.tflags > 5 ? 5 : o.tflags];
    }
    if (!o.json) {
        const char *nc = getenv("NO_COLOR");
        const char *term = getenv("TERM");
        app.sink.color = o.color == COLOR_ALWAYS ||
                         (o.color == COLOR_AUTO && isatty(out_fd) && !(nc && nc[0]) &&
                          !(term && strcmp(term, "dumb") == 0));
        report_set_color(app.report, app.sink.color);
    }
    app.progress = !o.iface && isatty(STDERR_FILENO) && out_fd != STDERR_FILENO;
    clock_gettime(CLOCK_MONOTONIC, &app.started);
    app.last_progress = app.started;
    app.sink.hex = o.hex;
    app.sink.frames = o.verbose;
    if (o.have_payload_max)
        app.sink.text_payload_max = app.sink.json_payload_max = (size_t)o.payload_max;
    app.an = wst_new(&lim, main_on_event, &app);
    if (!app.an) {
        fprintf(stderr, "wstap: out of memory\n");
        goto out_free_report;
    }
    if (o.nkeylogs > 0 || o.nfiles > 0) {
        keys = calloc(1, sizeof *keys);
        if (!keys) {
            fprintf(stderr, "wstap: out of memory\n");
            goto out_free_analyzer;
        }
        if (main_keys_open(keys, o.keylogs, o.nkeylogs, o.iface != NULL) < 0)
            goto out_free_analyzer;
        /* pcapng files may carry their own key log (Decryption Secrets Blocks) */
        int dsb = 0;
        for (size_t i = 0; i < o.nfiles; i++) {
            char where[300];
            snprintf(where, sizeof where, "%s (decryption secrets)", o.files[i]);
            keys->cur = where;
            int n = capture_pcapng_secrets(o.files[i], main_keys_dsb, keys);
            if (n > 0)
                main_keys_name_add(keys, where);
            dsb += n;
        }
        if (o.nkeylogs > 0 || dsb > 0)
            wst_set_keylog(app.an, &keys->kl, keys->name, main_keys_more, keys);
    }
    if (o.streams_dir) {
        streams = streams_open(o.streams_dir, stderr);
        if (!streams)
            goto out_free_analyzer;
        struct wst_stream_hooks hooks;
        streams_hooks(streams, &hooks);
        wst_set_stream_hooks(app.an, &hooks);
    }

    memset(&co, 0, sizeof co);
    co.files = o.files;
    co.nfiles = o.nfiles;
    co.iface = o.iface;
    co.filter = filter;
    co.snaplen = o.snaplen == 0 ? CAPTURE_SNAPLEN_MAX : (int)o.snaplen;
    co.promisc = !o.no_promisc;
    co.buffer_kib = (int)o.buffer_kib;
    co.immediate = o.immediate;
    co.count = o.count;
    co.user = o.user;
    co.err = stderr;
    co.write_file = o.write_file;
    static const struct capture_ops ops = {main_on_link, main_on_packet, main_on_flush,
                                           main_on_progress, main_keep};

    /* Reading files into a file or pipe: format on a second thread. A terminal (or a live
     * capture, or a pipe in) gets every line as soon as it is known, from this thread. */
    if (!o.iface && main_files_regular(&o) && !isatty(out_fd))
        app.q = evq_new(main_format, &app); /* NULL: format inline */

    enum capture_status st = capture_run(&co, &ops, &app, &stats);
    if (st != CAPTURE_FAILED) {
        wst_finish(app.an, &stats);
        rc = st == CAPTURE_OK ? MAIN_EXIT_OK : MAIN_EXIT_ERROR;
    }
    evq_free(app.q);
    app.q = NULL;
    main_progress_clear(&app);
    outbuf_flush(app.out);
    if (outbuf_failed(app.out)) {
        /* A reader that went away (wstap ... | head) is not worth a message. */
        if (app.out->errnum != EPIPE)
            fprintf(stderr, "wstap: write error: %s\n", strerror(app.out->errnum));
        rc = MAIN_EXIT_ERROR;
    }

    if (streams_close(streams) < 0)
        rc = MAIN_EXIT_ERROR;
    if (app.har && st != CAPTURE_FAILED) {
        struct outbuf *hob = malloc(sizeof *hob);
        if (!hob) {
            fprintf(stderr, "wstap: out of memory\n");
            rc = MAIN_EXIT_ERROR;
        } else {
            outbuf_init(hob, har_fd);
            har_write(app.har, hob);
            outbuf_flush(hob);
            if (outbuf_failed(hob) || close(har_fd) != 0) {
                fprintf(stderr, "wstap: --har %s: write error: %s\n", o.har_path,
                        strerror(outbuf_failed(hob) ? hob->errnum : errno));
                rc = MAIN_EXIT_ERROR;
            }
            har_fd = -1;
            free(hob);
        }
    }
    /* -C naming no connection of the input is an error, not an empty success. */
    if (st != CAPTURE_FAILED && app.only_conn && !app.only_conn_seen) {
        fprintf(stderr,
                "wstap: -C c%" PRIu64 ": no such connection (the input has %" PRIu64
                " TCP connection%s)\n",
                app.only_conn, app.tcp_conns, app.tcp_conns == 1 ? "" : "s");
        rc = MAIN_EXIT_ERROR;
    }
    /* Findings decide the status only when the run itself succeeded. */
    if (st != CAPTURE_FAILED && report_failed(app.report, stderr) && rc == MAIN_EXIT_OK)
        rc = MAIN_EXIT_FINDINGS;
out_free_analyzer:
    wst_free(app.an);
out_free_report:
    har_free(app.har);
    if (har_fd >= 0)
        close(har_fd);
    tfilter_free(app.tf);
    report_free(app.report);
out_free_filter:
    free(filter);
out_free_out:
    free(app.out);
out_free_files:
    free(o.files);
    free(o.fail_on);
    free(o.keylogs);
    if (keys) {
        keylog_free(&keys->kl);
        free(keys);
    }
    return rc;
}
