/*
 * impair.c - user-space impairing L2 bridge for the wstap lossy-path captures
 * (tests/gen/lossy-*.sh).  The kernel here has no sch_netem, so loss,
 * duplication and reordering are done by this program instead.
 *
 * It runs in a "router" network namespace that has two interfaces (veths)
 * and no IP configuration at all.  It opens one AF_PACKET/SOCK_RAW socket
 * per interface (ETH_P_ALL, promiscuous, PACKET_IGNORE_OUTGOING) and copies
 * every Ethernet frame received on one interface out of the other one,
 * unchanged.  IPv4/TCP frames may be impaired on the way, per direction:
 *
 *   drop=P     drop a share P (0..1) of the TCP frames
 *   dup=P      send a share P twice (back to back)
 *   delay=P    hold a share P back for DMIN..DMAX ms (uniform) while later
 *              frames pass: this reorders them
 *   dmin=MS, dmax=MS
 *   lat=MS     base latency: every frame of this direction (TCP or not) is
 *              held LAT ms (order kept); delayed frames get LAT + extra
 *   dropseg=N[:N...]  always drop the N-th TCP segment *with payload* of
 *              this direction (1-based, counted over all connections, the
 *              first transmission only: a retransmission counts as a new
 *              segment)
 *   dropfin=N[:N...]  always drop the N-th TCP frame carrying FIN of this
 *              direction (1-based, counted over all connections and every
 *              FIN frame, retransmissions included): the sender retransmits
 *              its FIN
 *   syn        allow random impairment of SYN segments too (default: SYNs
 *              are never impaired at random, which keeps runs short)
 *
 * One random draw (seeded xorshift64*, a separate generator per direction,
 * seeded from SEED and the direction) is made for every TCP frame that may
 * be impaired, so the k-th TCP frame of a direction always gets the same
 * decision for a given seed.  Non-TCP frames (ARP) are always forwarded.
 *
 * Every impaired frame is logged to LOGFILE (tab-separated, one line per
 * event; this is the ground truth for the capture), see usage().  A summary
 * (counts by direction and action, socket drop statistics) is appended to
 * the log as "# " lines and written as JSON to SUMMARY.
 *
 *   impair -a IF_A -b IF_B [-n NAME_A2B] [-m NAME_B2A] [-A SPEC] [-B SPEC]
 *          [-s SEED] [-t SECONDS] -l LOGFILE [-j SUMMARY.json] [-r READYFILE]
 *
 * It stops after SECONDS (default 60) or on SIGTERM/SIGINT.
 * Build: cc -O2 -Wall -Wextra -o impair impair.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define MAXFRAME 65536
#define MAXDELAYED 4096
#define MAXDROPSEG 64
#define MAXFLOWS 256

struct spec {
	double drop, dup, delay;
	int dmin, dmax;
	double lat;
	uint64_t dropseg[MAXDROPSEG];
	int ndropseg;
	uint64_t dropfin[MAXDROPSEG];
	int ndropfin;
	int syn;
};

struct counts {
	uint64_t frames, bytes, nontcp, tcp, dataseg;
	uint64_t forwarded, dropped, dropseg, duplicated, delayed, released;
	uint64_t fins, dropfin;
	uint64_t send_errors;
};

struct dir {
	const char *name;
	int in_fd, out_fd;
	const char *in_if, *out_if;
	struct spec sp;
	uint64_t rng;
	struct counts c;
};

struct delayed {
	int used;
	struct dir *d;
	double due;
	uint64_t order;
	double delay_ms;
	uint64_t n, dseg;
	size_t len;
	unsigned char *buf;
};

struct flow {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint32_t isn;
	int used;
};

static volatile sig_atomic_t stop_flag;
static FILE *logf;
static struct delayed dq[MAXDELAYED];
static struct flow flows[MAXFLOWS];
static double t0_mono, t0_real;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "impair: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64* seeded through splitmix64 */
static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(uint64_t *s)
{
	return (rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static void parse_spec(struct spec *sp, const char *str)
{
	char *dup = strdup(str), *save = NULL, *tok;
	sp->dmin = 5;
	sp->dmax = 20;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *val = eq ? eq + 1 : "";
		if (eq)
			*eq = 0;
		if (!strcmp(tok, "drop"))
			sp->drop = atof(val);
		else if (!strcmp(tok, "dup"))
			sp->dup = atof(val);
		else if (!strcmp(tok, "delay"))
			sp->delay = atof(val);
		else if (!strcmp(tok, "dmin"))
			sp->dmin = atoi(val);
		else if (!strcmp(tok, "dmax"))
			sp->dmax = atoi(val);
		else if (!strcmp(tok, "lat"))
			sp->lat = atof(val);
		else if (!strcmp(tok, "syn"))
			sp->syn = 1;
		else if (!strcmp(tok, "dropseg")) {
			char *s2 = NULL, *t2, *v = strdup(val);
			for (t2 = strtok_r(v, ":", &s2); t2; t2 = strtok_r(NULL, ":", &s2)) {
				if (sp->ndropseg >= MAXDROPSEG)
					die("too many dropseg indexes");
				sp->dropseg[sp->ndropseg++] = strtoull(t2, NULL, 10);
			}
			free(v);
		} else if (!strcmp(tok, "dropfin")) {
			char *s2 = NULL, *t2, *v = strdup(val);
			for (t2 = strtok_r(v, ":", &s2); t2; t2 = strtok_r(NULL, ":", &s2)) {
				if (sp->ndropfin >= MAXDROPSEG)
					die("too many dropfin indexes");
				sp->dropfin[sp->ndropfin++] = strtoull(t2, NULL, 10);
			}
			free(v);
		} else if (*tok)
			die("unknown impairment '%s'", tok);
	}
	if (sp->drop < 0 || sp->dup < 0 || sp->delay < 0 ||
	    sp->drop + sp->dup + sp->delay > 1.0)
		die("bad shares in '%s'", str);
	if (sp->dmin < 0 || sp->dmax < sp->dmin || sp->lat < 0)
		die("bad delay range in '%s'", str);
	free(dup);
}

static int open_if(const char *ifname)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		die("socket: %s", strerror(errno));
	unsigned idx = if_nametoindex(ifname);
	if (!idx)
		die("no interface %s", ifname);
	struct sockaddr_ll sll = {0};
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
		die("bind %s: %s", ifname, strerror(errno));
	struct packet_mreq mr = {0};
	mr.mr_ifindex = (int)idx;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0)
		die("promisc %s: %s", ifname, strerror(errno));
	int one = 1;
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
		die("PACKET_IGNORE_OUTGOING: %s", strerror(errno));
	int sz = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	/* drain anything queued before bind completed */
	unsigned char tmp[2048];
	while (recv(fd, tmp, sizeof tmp, MSG_DONTWAIT) > 0)
		;
	return fd;
}

/* ------------------------------------------------------------ frame info */

struct finfo {
	int is_tcp;
	uint16_t ipid;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint32_t plen;
	int has_isn;
	uint32_t rseq;
};

static struct flow *flow_find(uint32_t sa, uint32_t da, uint16_t sp, uint16_t dp, int create)
{
	int i, freei = -1;
	for (i = 0; i < MAXFLOWS; i++) {
		if (flows[i].used && flows[i].saddr == sa && flows[i].daddr == da &&
		    flows[i].sport == sp && flows[i].dport == dp)
			return &flows[i];
		if (!flows[i].used && freei < 0)
			freei = i;
	}
	if (!create)
		return NULL;
	if (freei < 0)
		freei = (int)(sa ^ sp) % MAXFLOWS; /* overwrite: only used for rseq */
	flows[freei].used = 1;
	flows[freei].saddr = sa;
	flows[freei].daddr = da;
	flows[freei].sport = sp;
	flows[freei].dport = dp;
	return &flows[freei];
}

static void parse_frame(const unsigned char *p, size_t len, struct finfo *fi)
{
	memset(fi, 0, sizeof *fi);
	if (len < 14 + 20)
		return;
	uint16_t et = (uint16_t)(p[12] << 8 | p[13]);
	if (et != 0x0800)
		return;
	const unsigned char *ip = p + 14;
	unsigned ihl = (ip[0] & 15) * 4u;
	if ((ip[0] >> 4) != 4 || ihl < 20 || len < 14 + ihl)
		return;
	unsigned tot = (unsigned)(ip[2] << 8 | ip[3]);
	unsigned frag = (unsigned)((ip[6] & 0x1f) << 8 | ip[7]);
	if (ip[9] != 6 || frag != 0 || (ip[6] & 0x20))
		return;
	if (tot > len - 14 || tot < ihl + 20)
		return;
	const unsigned char *t = ip + ihl;
	unsigned doff = (t[12] >> 4) * 4u;
	if (doff < 20 || ihl + doff > tot)
		return;
	fi->is_tcp = 1;
	fi->ipid = (uint16_t)(ip[4] << 8 | ip[5]);
	memcpy(&fi->saddr, ip + 12, 4);
	memcpy(&fi->daddr, ip + 16, 4);
	fi->sport = (uint16_t)(t[0] << 8 | t[1]);
	fi->dport = (uint16_t)(t[2] << 8 | t[3]);
	fi->seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
	fi->ack = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
	fi->flags = t[13];
	fi->plen = tot - ihl - doff;
	struct flow *f;
	if (fi->flags & 0x02) { /* SYN: remember the ISN for relative numbers */
		f = flow_find(fi->saddr, fi->daddr, fi->sport, fi->dport, 1);
		f->isn = fi->seq;
	}
	f = flow_find(fi->saddr, fi->daddr, fi->sport, fi->dport, 0);
	if (f) {
		fi->has_isn = 1;
		fi->rseq = fi->seq - f->isn;
	}
}

static void flags_str(uint8_t fl, char *out)
{
	const char *names = "FSRPAUEC";
	int i, n = 0;
	for (i = 0; i < 8; i++)
		if (fl & (1 << i))
			out[n++] = names[i];
	out[n] = 0;
}

static void log_event(struct dir *d, uint64_t n, uint64_t dseg, const char *action,
		      double delay_ms, const unsigned char *p, size_t len)
{
	struct finfo fi;
	char sa[16], da[16], fl[9], dl[16], rs[16], ds[24];
	parse_frame(p, len, &fi);
	if (!fi.is_tcp) {
		fprintf(logf, "%.6f\t%.6f\t%s\t%" PRIu64 "\t-\t%s\t-\tnon-tcp\t-\t-\t-\t-\t-\t-\t%zu\n",
			now_real(), now_mono() - t0_mono, d->name, n, action, len);
		return;
	}
	inet_ntop(AF_INET, &fi.saddr, sa, sizeof sa);
	inet_ntop(AF_INET, &fi.daddr, da, sizeof da);
	flags_str(fi.flags, fl);
	if (delay_ms >= 0)
		snprintf(dl, sizeof dl, "%.3f", delay_ms);
	else
		snprintf(dl, sizeof dl, "-");
	if (fi.has_isn)
		snprintf(rs, sizeof rs, "%" PRIu32, fi.rseq);
	else
		snprintf(rs, sizeof rs, "-");
	if (dseg)
		snprintf(ds, sizeof ds, "%" PRIu64, dseg);
	else
		snprintf(ds, sizeof ds, "-");
	fprintf(logf, "%.6f\t%.6f\t%s\t%" PRIu64 "\t%s\t%s\t%s\t0x%04x\t%s:%u\t%s:%u\t%s\t%" PRIu32
		"\t%s\t%" PRIu32 "\t%" PRIu32 "\n",
		now_real(), now_mono() - t0_mono, d->name, n, ds, action, dl, fi.ipid,
		sa, fi.sport, da, fi.dport, fl, fi.seq, rs, fi.ack, fi.plen);
}

static void xmit(struct dir *d, const unsigned char *p, size_t len)
{
	for (int tries = 0; tries < 50; tries++) {
		ssize_t r = send(d->out_fd, p, len, 0);
		if (r == (ssize_t)len)
			return;
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)) {
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
			continue;
		}
		break;
	}
	d->c.send_errors++;
	fprintf(stderr, "impair: send on %s failed: %s\n", d->out_if, strerror(errno));
}

static int dq_used;
static uint64_t dq_order;

/* hold a copy of the frame for ms milliseconds */
static void enqueue(struct dir *d, const unsigned char *p, size_t len, double ms,
		    uint64_t n, uint64_t dseg, int logged)
{
	int i;
	for (i = 0; i < MAXDELAYED && dq[i].used; i++)
		;
	if (i == MAXDELAYED)
		die("delay queue full");
	dq[i].used = logged ? 2 : 1;
	dq[i].d = d;
	dq[i].due = now_mono() + ms / 1000.0;
	dq[i].order = ++dq_order;
	dq[i].delay_ms = ms;
	dq[i].n = n;
	dq[i].dseg = dseg;
	dq[i].len = len;
	dq[i].buf = malloc(len);
	if (!dq[i].buf)
		die("malloc");
	memcpy(dq[i].buf, p, len);
	dq_used++;
}

/* forward now, or after the base latency */
static void out(struct dir *d, const unsigned char *p, size_t len)
{
	if (d->sp.lat > 0)
		enqueue(d, p, len, d->sp.lat, 0, 0, 0);
	else
		xmit(d, p, len);
}

static int is_dropseg(struct spec *sp, uint64_t dseg)
{
	for (int i = 0; i < sp->ndropseg; i++)
		if (sp->dropseg[i] == dseg)
			return 1;
	return 0;
}

static void handle(struct dir *d, unsigned char *p, size_t len)
{
	struct finfo fi;
	d->c.frames++;
	d->c.bytes += len;
	parse_frame(p, len, &fi);
	if (!fi.is_tcp) {
		d->c.nontcp++;
		d->c.forwarded++;
		out(d, p, len);
		return;
	}
	uint64_t n = ++d->c.tcp;
	uint64_t dseg = 0;
	if (fi.plen > 0)
		dseg = ++d->c.dataseg;
	if (fi.flags & 0x01) {
		uint64_t nfin = ++d->c.fins;
		for (int i = 0; i < d->sp.ndropfin; i++) {
			if (d->sp.dropfin[i] != nfin)
				continue;
			d->c.dropfin++;
			log_event(d, n, dseg, "dropfin", -1, p, len);
			return;
		}
	}
	if (dseg && is_dropseg(&d->sp, dseg)) {
		d->c.dropseg++;
		log_event(d, n, dseg, "dropseg", -1, p, len);
		return;
	}
	int eligible = d->sp.syn || !(fi.flags & 0x02);
	double r = eligible ? rng_unit(&d->rng) : 2.0;
	if (r < d->sp.drop) {
		d->c.dropped++;
		log_event(d, n, dseg, "drop", -1, p, len);
		return;
	}
	r -= d->sp.drop;
	if (r < d->sp.dup) {
		d->c.duplicated++;
		log_event(d, n, dseg, "dup", -1, p, len);
		out(d, p, len);
		out(d, p, len);
		return;
	}
	r -= d->sp.dup;
	if (r < d->sp.delay) {
		double ms = d->sp.dmin + (d->sp.dmax - d->sp.dmin) * rng_unit(&d->rng);
		enqueue(d, p, len, d->sp.lat + ms, n, dseg, 1);
		d->c.delayed++;
		log_event(d, n, dseg, "delay", ms, p, len);
		return;
	}
	d->c.forwarded++;
	out(d, p, len);
}

/* release due frames (in due order); return ms until the next one or -1 */
static int release_due(void)
{
	for (;;) {
		double now = now_mono(), best = 1e300;
		int bi = -1;
		if (!dq_used)
			return -1;
		for (int i = 0; i < MAXDELAYED; i++)
			if (dq[i].used && (dq[i].due < best ||
					   (dq[i].due == best && dq[i].order < dq[bi].order))) {
				best = dq[i].due;
				bi = i;
			}
		if (bi < 0)
			return -1;
		if (best > now) {
			int ms = (int)((best - now) * 1000.0) + 1;
			return ms;
		}
		struct delayed *e = &dq[bi];
		xmit(e->d, e->buf, e->len);
		if (e->used == 2) { /* a "delay" decision, not just the base latency */
			e->d->c.released++;
			log_event(e->d, e->n, e->dseg, "release", (now - e->due) * 1000.0 + e->delay_ms,
				  e->buf, e->len);
		}
		free(e->buf);
		e->used = 0;
		dq_used--;
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: impair -a IF_A -b IF_B [-n NAME_A2B] [-m NAME_B2A] [-A SPEC] [-B SPEC]\n"
		"              [-s SEED] [-t SECONDS] -l LOG [-j SUMMARY.json] [-r READYFILE]\n"
		"  SPEC: comma list of drop=P,dup=P,delay=P,dmin=MS,dmax=MS,lat=MS,dropseg=N[:N..],dropfin=N[:N..],syn\n"
		"  -A applies to frames received on IF_A (sent out of IF_B), -B the reverse.\n"
		"  log columns: t_epoch t_rel dir n dseg action delay_ms ip_id src dst flags\n"
		"               seq rseq ack len   (n: TCP frame index in dir, dseg: index\n"
		"               of TCP segments with payload; 'delay' lines: the extra delay\n"
		"               drawn; 'release' lines: the real hold time incl. lat)\n");
	exit(2);
}

static void print_counts(FILE *f, struct dir *d, int json)
{
	struct counts *c = &d->c;
	if (json)
		fprintf(f,
			"\"%s\": {\"frames\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"non_tcp\": %" PRIu64
			", \"tcp\": %" PRIu64 ", \"tcp_data_segments\": %" PRIu64
			", \"forwarded\": %" PRIu64 ", \"drop\": %" PRIu64 ", \"dropseg\": %" PRIu64
			", \"dup\": %" PRIu64 ", \"delay\": %" PRIu64 ", \"released\": %" PRIu64
			", \"send_errors\": %" PRIu64 ", \"fins\": %" PRIu64 ", \"dropfin\": %" PRIu64 "}",
			d->name, c->frames, c->bytes, c->nontcp, c->tcp, c->dataseg, c->forwarded,
			c->dropped, c->dropseg, c->duplicated, c->delayed, c->released, c->send_errors,
			c->fins, c->dropfin);
	else
		fprintf(f,
			"# %s: frames=%" PRIu64 " bytes=%" PRIu64 " non_tcp=%" PRIu64 " tcp=%" PRIu64
			" tcp_data_segments=%" PRIu64 " forwarded=%" PRIu64 " drop=%" PRIu64
			" dropseg=%" PRIu64 " dup=%" PRIu64 " delay=%" PRIu64 " released=%" PRIu64
			" send_errors=%" PRIu64 " fins=%" PRIu64 " dropfin=%" PRIu64 "\n",
			d->name, c->frames, c->bytes, c->nontcp, c->tcp, c->dataseg, c->forwarded,
			c->dropped, c->dropseg, c->duplicated, c->delayed, c->released, c->send_errors,
			c->fins, c->dropfin);
}

int main(int argc, char **argv)
{
	const char *ifa = NULL, *ifb = NULL, *na = "a2b", *nb = "b2a", *sa = "", *sb = "";
	const char *logpath = NULL, *jpath = NULL, *ready = NULL;
	uint64_t seed = 1;
	double secs = 60;
	int opt;
	while ((opt = getopt(argc, argv, "a:b:n:m:A:B:s:t:l:j:r:h")) != -1) {
		switch (opt) {
		case 'a': ifa = optarg; break;
		case 'b': ifb = optarg; break;
		case 'n': na = optarg; break;
		case 'm': nb = optarg; break;
		case 'A': sa = optarg; break;
		case 'B': sb = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': secs = atof(optarg); break;
		case 'l': logpath = optarg; break;
		case 'j': jpath = optarg; break;
		case 'r': ready = optarg; break;
		default: usage();
		}
	}
	if (!ifa || !ifb || !logpath)
		usage();

	struct dir d[2] = {{0}, {0}};
	d[0].name = na;
	d[1].name = nb;
	d[0].in_if = d[1].out_if = ifa;
	d[0].out_if = d[1].in_if = ifb;
	parse_spec(&d[0].sp, sa);
	parse_spec(&d[1].sp, sb);
	d[0].rng = splitmix64(seed * 2 + 1);
	d[1].rng = splitmix64(seed * 2 + 2);
	if (!d[0].rng) d[0].rng = 1;
	if (!d[1].rng) d[1].rng = 1;

	logf = fopen(logpath, "w");
	if (!logf)
		die("open %s: %s", logpath, strerror(errno));
	setvbuf(logf, NULL, _IOLBF, 0);

	int fa = open_if(ifa), fb = open_if(ifb);
	d[0].in_fd = fa;
	d[0].out_fd = fb;
	d[1].in_fd = fb;
	d[1].out_fd = fa;

	struct sigaction sa_ = {0};
	sa_.sa_handler = on_signal;
	sigaction(SIGTERM, &sa_, NULL);
	sigaction(SIGINT, &sa_, NULL);
	signal(SIGPIPE, SIG_IGN);

	t0_mono = now_mono();
	t0_real = now_real();
	fprintf(logf, "# impair: %s=%s->%s spec '%s'; %s=%s->%s spec '%s'; seed=%" PRIu64
		" start=%.6f\n", na, ifa, ifb, sa, nb, ifb, ifa, sb, seed, t0_real);
	fprintf(logf, "# t_epoch\tt_rel\tdir\tn\tdseg\taction\tdelay_ms\tip_id\tsrc\tdst\tflags\tseq\trseq\tack\tlen\n");
	if (ready) {
		FILE *rf = fopen(ready, "w");
		if (rf) {
			fprintf(rf, "%d\n", (int)getpid());
			fclose(rf);
		}
	}

	static unsigned char buf[MAXFRAME];
	struct pollfd pfd[2] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}};
	double end = t0_mono + secs;
	while (!stop_flag && now_mono() < end) {
		int to = release_due();
		if (to < 0 || to > 50)
			to = 50;
		int r = poll(pfd, 2, to);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (int k = 0; k < 2; k++) {
			if (!(pfd[k].revents & POLLIN))
				continue;
			for (int burst = 0; burst < 256; burst++) {
				struct sockaddr_ll from;
				socklen_t fl = sizeof from;
				ssize_t n = recvfrom(pfd[k].fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC,
						     (struct sockaddr *)&from, &fl);
				if (n < 0)
					break;
				if (from.sll_pkttype == PACKET_OUTGOING)
					continue;
				if ((size_t)n > sizeof buf)
					die("frame of %zd bytes truncated (offloads on?)", n);
				handle(&d[k], buf, (size_t)n);
			}
		}
		release_due();
	}

	int pending = dq_used; /* frames still held at exit are not sent */
	struct tpacket_stats st[2];
	for (int k = 0; k < 2; k++) {
		socklen_t sl = sizeof st[k];
		memset(&st[k], 0, sizeof st[k]);
		getsockopt(k ? fb : fa, SOL_PACKET, PACKET_STATISTICS, &st[k], &sl);
	}
	fprintf(logf, "# end=%.6f duration=%.3f stopped_by=%s pending_delayed=%d socket_drops=%u,%u\n",
		now_real(), now_mono() - t0_mono, stop_flag ? "signal" : "timer", pending,
		st[0].tp_drops, st[1].tp_drops);
	print_counts(logf, &d[0], 0);
	print_counts(logf, &d[1], 0);
	fclose(logf);
	if (jpath) {
		FILE *jf = fopen(jpath, "w");
		if (!jf)
			die("open %s: %s", jpath, strerror(errno));
		fprintf(jf, "{\"seed\": %" PRIu64 ", \"spec\": {\"%s\": \"%s\", \"%s\": \"%s\"}, ",
			seed, na, sa, nb, sb);
		fprintf(jf, "\"duration_s\": %.3f, \"pending_delayed_at_exit\": %d, "
			"\"socket_drops\": %u, ", now_mono() - t0_mono, pending,
			st[0].tp_drops + st[1].tp_drops);
		fprintf(jf, "\"counts\": {");
		print_counts(jf, &d[0], 1);
		fprintf(jf, ", ");
		print_counts(jf, &d[1], 1);
		fprintf(jf, "}}\n");
		fclose(jf);
	}
	return 0;
}
