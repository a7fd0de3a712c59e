/* fuzz_pcap.c - libFuzzer target: the input is a whole pcap or pcapng file, read exactly as
 * `wstap -r FILE` reads it: the real capture front end (capture_run in src/capture.c, so
 * libpcap parses the file format, maps the link type and hands packets over), the core
 * (wst_new / wst_set_link / wst_packet / wst_finish / wst_free), and both sinks into a
 * discarding output. --streams hooks are off.
 *
 * capture_run reads files by name, so the input is written to a memfd once per run and
 * opened as /proc/self/fd/N: the front end is used as it is, no pcap parsing of our own.
 *
 * The limits are small, so the caps are reached: the same values as the command line
 *   wstap --max-flows 64 --max-message 65536 --max-app-total 1048576 \
 *         --max-ooo-bytes 65536 --max-ooo-total 1048576 --ws-port 9001 -r FILE
 * which is how tests/fuzz-regress.sh replays a reproducer through the binary.
 * (A selector byte for default limits is not used: every byte of a capture is the file
 * format's, and a selector would change what the seed files mean.)
 *
 * After wst_finish every connection has been closed, so nothing may still be charged to the
 * application-layer budget or the reassembly pools: a charge left over is reported as a bug.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "core.h"
#include "fuzz_common.h"
#include "wstap/wstap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_fd = -1;
static char fuzz_path[64];
static FILE *fuzz_err;

static void fuzz_pcap_limits(struct wst_limits *lim)
{
    wst_limits_default(lim);
    lim->max_flows = 64;
    lim->max_message = 64u << 10;
    lim->max_app_total = 1u << 20;
    lim->max_ooo_conn = 64u << 10;
    lim->max_ooo_total = 1u << 20;
    lim->ws_ports[0] = 9001;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sinks_init();
    fuzz_fd = memfd_create("fuzz_pcap", MFD_CLOEXEC);
    fuzz_err = fopen("/dev/null", "w");
    if (fuzz_fd < 0 || !fuzz_err) {
        perror("fuzz_pcap: memfd_create or /dev/null");
        abort();
    }
    snprintf(fuzz_path, sizeof fuzz_path, "/proc/self/fd/%d", fuzz_fd);
    return 0;
}

static void fuzz_on_link(void *user, enum wst_link link)
{
    wst_set_link(user, link);
}

static bool fuzz_on_packet(void *user, const struct wst_pkthdr *h, const uint8_t *data)
{
    wst_packet(user, h, data);
    return true;
}

static void fuzz_write_input(const uint8_t *data, size_t size)
{
    if (ftruncate(fuzz_fd, 0) < 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t n = pwrite(fuzz_fd, data + off, size - off, (off_t)off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wst_limits lim;
    struct wst_capture_stats stats;
    struct capture_opts co;
    const char *files[1] = {fuzz_path};
    static const struct capture_ops ops = {.set_link = fuzz_on_link, .packet = fuzz_on_packet};

    fuzz_write_input(data, size);
    fuzz_pcap_limits(&lim);
    struct fuzz_expect expect = {lim.max_message};
    struct wst_analyzer *a = wst_new(&lim, fuzz_sinks_event, &expect);
    if (!a)
        return 0;

    memset(&co, 0, sizeof co);
    co.files = files;
    co.nfiles = 1;
    co.snaplen = CAPTURE_SNAPLEN_MAX;
    co.err = fuzz_err;
    enum capture_status st = capture_run(&co, &ops, a, &stats);
    if (st != CAPTURE_FAILED) {
        wst_finish(a, &stats);
        if (a->app_budget.used != 0 || a->pool.ooo_bytes != 0 || a->pool.ret_bytes != 0) {
            fprintf(stderr,
                    "fuzz_pcap: after wst_finish %zu application bytes, %llu out-of-order "
                    "bytes and %llu retention bytes are still charged\n",
                    a->app_budget.used, (unsigned long long)a->pool.ooo_bytes,
                    (unsigned long long)a->pool.ret_bytes);
            abort();
        }
    }
    fuzz_sinks_flush();
    wst_free(a);
    return 0;
}
