/* fuzz_common.h - what both libFuzzer targets share: every event goes through both sinks
 * (timeline and NDJSON, with the default options and with everything shown) into a discarding
 * output, and every byte an event points at is read, so ASan sees each read. */
#ifndef WSTAP_FUZZ_COMMON_H
#define WSTAP_FUZZ_COMMON_H

#include <stdint.h>

#include "wstap/wstap.h"

/* Open the discarding output (once; aborts when /dev/null cannot be opened). With the
 * environment variable WSTAP_FUZZ_PRINT=1 every event is also written to stdout as NDJSON
 * (--payload-max 0), to look at what a reproducer does. */
void fuzz_sinks_init(void);

/* What an event may hold at most, checked on every event (0: not checked). */
struct fuzz_expect {
    uint64_t max_message; /* ws.message data.len */
};

/* A wst_event_fn: user is a const struct fuzz_expect * (or NULL). Aborts when an event
 * breaks the API's promises (a NULL string with a length, a message longer than the cap). */
void fuzz_sinks_event(const struct wst_event *ev, void *user);

/* Drop what the sinks buffered (the output is discarded anyway); flush the printed copy. */
void fuzz_sinks_flush(void);

#endif
