/* streams.h - --streams DIR: each connection's reassembled directions as files, like
 * tshark's follow and tcpflow's output (DIR/<conn>.c2s and DIR/<conn>.s2c). */
#ifndef WSTAP_STREAMS_H
#define WSTAP_STREAMS_H

#include <stdio.h>

#include "wstap/wstap.h"

struct streams;

/* Creates DIR when it does not exist. NULL on error (reported to err). */
struct streams *streams_open(const char *dir, FILE *err);
/* Hooks to give to wst_set_stream_hooks. */
void streams_hooks(struct streams *s, struct wst_stream_hooks *h);
/* Closes every file. Returns -1 if any write failed (reported to err). */
int streams_close(struct streams *s);

#endif
