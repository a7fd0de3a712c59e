/* capture.h - packets from pcap/pcapng files or a live interface; the only user of libpcap. */
#ifndef WSTAP_CAPTURE_H
#define WSTAP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "outbuf.h"
#include "wstap/wstap.h"

#define CAPTURE_SNAPLEN_MAX 262144

/* Where packets go. set_link comes before each input's packets; packet returns false to
 * stop the whole run (the output failed); flush (may be NULL) runs after each batch of a
 * live capture, so events reach the operator promptly. */
struct capture_ops {
    void (*set_link)(void *user, enum wst_link link);
    bool (*packet)(void *user, const struct wst_pkthdr *h, const uint8_t *data);
    void (*flush)(void *user);
    /* Offline (may be NULL): every few thousand packets, the bytes read of all inputs so
     * far and their total size (0 when unknown, e.g. standard input). */
    void (*progress)(void *user, uint64_t done, uint64_t total);
    /* -w (may be NULL: every packet): after packet, whether to write that packet */
    bool (*keep)(void *user);
};

struct capture_opts {
    const char *const *files; /* offline: read these in order ("-" is stdin) */
    size_t nfiles;
    const char *iface;  /* live: capture here (files must be empty) */
    const char *filter; /* BPF expression, or NULL */
    int snaplen;        /* live: 1..CAPTURE_SNAPLEN_MAX */
    bool promisc;       /* live */
    int buffer_kib;     /* live: kernel buffer in KiB, 0 for libpcap's default */
    bool immediate;     /* live: deliver each packet at once (else in batches, 100 ms at most) */
    uint64_t count;     /* stop after this many packets (after the filter); 0: no limit */
    const char *user;   /* live: switch to this user right after activation, or NULL */
    FILE *err;          /* error messages, NULL for stderr */
    const char *write_file; /* -w: write the packets that pass the filter here ("-": stdout) */
};

enum capture_status {
    CAPTURE_OK,      /* every input read to its end (or to the count, or a signal) */
    CAPTURE_PARTIAL, /* an input failed; what was read before is valid and worth summing up */
    CAPTURE_FAILED,  /* nothing was read: bad filter, no input could be opened, setup failed */
};

/*
 * Read every input through ops. SIGINT and SIGTERM stop the run cleanly (the first one;
 * a second one has the default effect). For a live capture, stats receives the kernel's
 * drop counters; offline, stats->valid is false.
 */
enum capture_status capture_run(const struct capture_opts *o, const struct capture_ops *ops,
                                void *user, struct wst_capture_stats *stats);

/* The core's link type for a libpcap DLT_ value, WST_LINK_UNSUPPORTED when it has none. */
enum wst_link capture_link_from_dlt(int dlt);

/* The size of a regular file; -1 for "-" (standard input), a pipe, a device or an error.
 * Regular files get the read-ahead thread and the progress total. */
int64_t capture_file_size(const char *path);

/* Compile expr for link type dlt without a capture; 0, or -1 with pcap's message in err. */
int capture_filter_check(int dlt, const char *expr, char *err, size_t errlen);

/* Print the interfaces as "1.lo [Up, Running, Loopback]" lines; 0, or -1 (message to err). */
int capture_list_interfaces(struct outbuf *out, FILE *err);

/*
 * TLS key log lines embedded in a pcapng file: its Decryption Secrets Blocks (block type
 * 0x0000000A) of secrets type 'TLSK' (0x544c534b, NSS key log lines), as
 * "editcap --inject-secrets tls,KEYS" writes them. libpcap does not expose these blocks, so
 * this is the one place that reads a capture file's structure itself: a pre-scan of the block
 * headers (skipping every other block) before libpcap reads the packets. Regular files only;
 * a pcap file, or a structure that stops making sense, ends the scan quietly (libpcap reports
 * what is wrong with the file). fn gets each block's secrets (at most CAPTURE_SECRETS_MAX
 * bytes in all). Returns the number of TLS secrets blocks found.
 */
#define CAPTURE_SECRETS_MAX (16u << 20)
typedef void (*capture_secrets_fn)(void *user, const uint8_t *p, size_t n);
int capture_pcapng_secrets(const char *path, capture_secrets_fn fn, void *user);

/* libpcap's own version string, for --version. */
const char *capture_lib_version(void);

#endif
