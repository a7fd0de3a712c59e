/* tcpanal.h - TCP sequence analysis (Wireshark's tcp.analysis.* definitions). */
#ifndef WSTAP_TCPANAL_H
#define WSTAP_TCPANAL_H

#include "core.h"

/* Analyze a segment sent by side s; returns the kind bits (1 << enum wst_anomaly). */
unsigned tcp_analyze(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p,
                     uint32_t *dup_num);
/* One tcp.anomaly event per bit. */
void tcp_emit_anomalies(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p,
                        unsigned fl, uint32_t dup_num);
/* The window shift in effect for side s: -1 unknown, 0 none. */
int tcp_window_shift(const struct conn *c, int s);
/* Relative sequence number in side s's stream (first data byte = 1). */
uint64_t tcp_rel_seq(const struct conn *c, int s, uint32_t seq);
/* Free the connection's loss records (at its close). */
void tcp_anal_free(struct wst_analyzer *a, struct conn *c);
/* Report a finding of the reassembler (overlap_mismatch, ooo_limit) on this segment. */
void tcp_emit_stream_anomaly(struct wst_analyzer *a, struct conn *c, int s, const struct pkt *p,
                             enum wst_anomaly kind);

#endif
