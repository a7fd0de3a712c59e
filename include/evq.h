/* evq.h - format events on a second thread: the analyzer's thread queues copies of events in
 * batches, one formatting thread takes them in order. The output is the same as formatting
 * each event in the callback: one formatter runs at a time, in event order. */
#ifndef WSTAP_EVQ_H
#define WSTAP_EVQ_H

#include <stdbool.h>
#include <stddef.h>

#include "wstap/wstap.h"

/* Batches of queued events: at most EVQ_BATCHES * EVQ_BATCH_SIZE bytes are held. */
#define EVQ_BATCHES 4
#define EVQ_BATCH_SIZE (256 * 1024)

/* Formats one event; returns false when the output failed (what is queued after it is then
 * dropped, and evq_failed says so). */
typedef bool (*evq_fmt_fn)(void *ctx, const struct wst_event *ev);

struct evq;

/* NULL when out of memory or when no thread could be started (format in the callback then). */
struct evq *evq_new(evq_fmt_fn fmt, void *ctx);

/*
 * Queue a copy of ev (with the bytes its pointers reach), or return false: ev is capture.end
 * (its summary rows read the caller's state), or its bytes do not fit in a batch. Then call evq_drain and format ev on the calling thread.
 */
bool evq_push(struct evq *q, const struct wst_event *ev);

/* Returns when every event queued so far has been formatted. */
void evq_drain(struct evq *q);

/* The formatter reported a failed output (see evq_fmt_fn). */
bool evq_failed(struct evq *q);

/* Drain, stop the thread, free. NULL is fine. */
void evq_free(struct evq *q);

#endif
