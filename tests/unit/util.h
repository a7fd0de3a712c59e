/* util.h - helpers shared by the Check unit tests: event recording and suite running. */
#ifndef WSTAP_TEST_UTIL_H
#define WSTAP_TEST_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wstap/wstap.h"

/* Events copied out of the callback (pointers inside are not kept). */
struct evlog {
    struct wst_event ev[256];
    char hist[256][WST_HISTORY_MAX + 1]; /* tcp.close history, copied */
    int n;
};

static inline void evlog_fn(const struct wst_event *ev, void *user)
{
    struct evlog *log = user;
    if (log->n < (int)(sizeof log->ev / sizeof log->ev[0])) {
        log->ev[log->n] = *ev;
        log->ev[log->n].client = NULL;
        log->ev[log->n].server = NULL;
        if (ev->type == WST_EV_TCP_CLOSE) {
            snprintf(log->hist[log->n], sizeof log->hist[0], "%s",
                     ev->u.close.history ? ev->u.close.history : "");
            log->ev[log->n].u.close.history = log->hist[log->n];
        }
        log->n++;
    }
}

static inline int evlog_count(const struct evlog *log, enum wst_ev_type t)
{
    int c = 0;
    for (int i = 0; i < log->n; i++)
        c += log->ev[i].type == t;
    return c;
}

static inline const struct wst_event *evlog_find(const struct evlog *log, enum wst_ev_type t,
                                                 int nth)
{
    for (int i = 0; i < log->n; i++)
        if (log->ev[i].type == t && nth-- == 0)
            return &log->ev[i];
    return NULL;
}

/* Run one suite; the process exit status is the number of failures (capped). */
static inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
