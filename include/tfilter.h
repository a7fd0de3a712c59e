/* tfilter.h - the timeline filters (--grep, --hide, --dir): which events the text timeline
 * shows. The JSON stream and the summary never go through it. Not part of the core: it sits
 * between main.c and the text sink. */
#ifndef WSTAP_TFILTER_H
#define WSTAP_TFILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "outbuf.h"
#include "sink.h"
#include "wstap/wstap.h"

#define TFILTER_CTX_CONN 4096       /* context bytes kept per connection awaiting a match */
#define TFILTER_CTX_TOTAL (8u << 20) /* the same, all connections */

struct tfilter;

/* Parse a --hide list ("tcp-chatter,ping"); NULL grep/hide, dir WST_DIR_NONE: that filter is
 * off. Returns NULL with a sentence in err (bad regex, unknown class) or when out of memory. */
struct tfilter *tfilter_new(const char *grep, const char *hide, enum wst_dir dir, char *err,
                            size_t errlen);
void tfilter_free(struct tfilter *f);

/* The timeline's lines for ev, through the filters, to ob. */
void tfilter_text(struct tfilter *f, struct outbuf *ob, const struct sink_opts *so,
                  const struct wst_event *ev);

#endif
