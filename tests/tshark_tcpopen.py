#!/usr/bin/env python3
"""tshark_tcpopen.py - compare wstap's tcp.open and tcp.fin events with tshark's view of each TCP
handshake and FIN.

Usage: tshark_tcpopen.py [--jobs N] CAPTURE...
Environment: WSTAP_BIN (default ./wstap), WSTAP_WRAP (prefix, e.g. valgrind), WSTAP_TIMEOUT
(seconds per wstap run, default 300), TSHARK (default tshark).

For each capture, tshark lists the SYN and SYN-ACK packets; they are grouped into handshake
attempts by endpoint pair and initial sequence number (a retransmitted SYN keeps its ISN; a reused
port gets a new one). The client is the side that sent a SYN without ACK (if tshark saw only a
SYN-ACK, its receiver). An attempt is a *handshake* when the client's SYN, a SYN from the server
(normally the SYN-ACK) and a SYN-ACK acknowledging the other side's ISN are all present.

Every wstap tcp.open with "handshake":"full" is matched, in connection order, to an attempt with
the same (client, server) pair: the one sharing a SYN frame with the connection's tcp.syn events,
else the first unmatched handshake of that pair. One check per connection, failing when
  - no attempt has that pair (or tshark has it the other way round: client and server swapped),
  - tshark has no SYN from one of the sides,
  - mss_c / mss_s differ from the MSS options (null where absent),
  - wscale_c / wscale_s differ: each side's shift clamped to 14 when both SYNs carry the option,
    else both must be null,
  - sack differs from (both SYNs carried SACK_PERM),
  - vlan differs from the VLAN ids of the client's SYN (802.1ad outer id, then 802.1Q ids;
    null when untagged),
and one failing check for every tshark handshake that wstap does not report as a full tcp.open,
except (printed as "skip", counted as neither) when the first SYN the client sent in it is one
that tshark flags as a retransmission (it came after the connection was under way) or when all
the SYNs of one side were cut short by the capture's snapshot length.
FINs, from the same tshark run: every FIN segment (not SYN, not RST) must be a tcp.fin of the
same frame with the same relative sequence number (tshark's tcp.seq + tcp.len), "retransmitted"
exactly where tshark flags a retransmission, and every tcp.fin a FIN segment; one check per
capture with FINs. Explained (printed, counted as neither): a FIN after wstap closed every
connection of those endpoints (wstap reports FINs while it tracks the connection), and a first
FIN with relative sequence number 0 that tshark flags as a retransmission because it reuses the
SYN's sequence number.
Where a side sent several SYNs whose options differ, the last one the side sent before the other
side's first SYN counts (the one that was answered).
Prints one line per mismatch and ends with "oracle: N passed, N failed".
"""
import concurrent.futures
import ipaddress
import json
import os
import shlex
import subprocess
import sys
import tempfile

TSHARK_FIELDS = ['frame.number', 'tcp.stream', 'ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst',
                 'ipv6.dst', 'tcp.dstport', 'tcp.flags.ack', 'tcp.options.mss_val',
                 'tcp.options.wscale.shift', 'tcp.options.sack_perm', 'tcp.seq_raw',
                 'tcp.ack_raw', 'tcp.analysis.retransmission', '_ws.short', 'ieee8021ad.id',
                 'vlan.id', 'tcp.flags.syn', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.seq',
                 'tcp.len']
# TCP headers quoted inside ICMP errors are not packets of the connection.
TSHARK_FILTER = '(tcp.flags.syn==1 || tcp.flags.fin==1) && !icmp && !icmpv6'
MAX_SHIFT = 14  # RFC 7323 section 2.3


def env_c():
    env = dict(os.environ)
    env['TZ'] = 'UTC'
    env['LC_ALL'] = 'C'
    return env


# ---- tshark side ------------------------------------------------------------------------------


def vals(s):
    return [v for v in s.split(',') if v != ''] if s else []


def first_int(s):
    v = vals(s)
    try:
        return int(v[0], 0) if v else None
    except ValueError:
        return None


def ep_str(addr, port):
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return '%s:%s' % (addr, port)
    if ip.version == 6:
        return '[%s]:%s' % (ip.compressed, port)
    return '%s:%s' % (ip, port)


def norm_ep(s):
    """wstap's "addr:port" / "[addr]:port" in the same spelling as ep_str."""
    if not isinstance(s, str):
        return s
    try:
        if s.startswith('['):
            addr, port = s[1:].rsplit(']:', 1)
        else:
            addr, port = s.rsplit(':', 1)
        return ep_str(addr, int(port))
    except ValueError:
        return s


class Syn:
    """One SYN or SYN-ACK packet as tshark decoded it."""

    def __init__(self, cols):
        cols = cols + [''] * (len(TSHARK_FIELDS) - len(cols))
        f = dict(zip(TSHARK_FIELDS, cols))
        self.frame = int(f['frame.number'])
        self.stream = f['tcp.stream']
        # With tunnels the innermost header is the last value; prefer IPv6 (6in4 is the common
        # case of both being present).
        src = vals(f['ipv6.src']) or vals(f['ip.src'])
        dst = vals(f['ipv6.dst']) or vals(f['ip.dst'])
        sport = vals(f['tcp.srcport'])
        dport = vals(f['tcp.dstport'])
        self.src = ep_str(src[-1], sport[-1]) if src and sport else '?'
        self.dst = ep_str(dst[-1], dport[-1]) if dst and dport else '?'
        ack = vals(f['tcp.flags.ack'])
        self.ack = bool(ack) and ack[-1] in ('1', 'True', 'true', 'Set')
        self.mss = first_int(f['tcp.options.mss_val'])
        self.wscale = first_int(f['tcp.options.wscale.shift'])
        self.sack_perm = bool(vals(f['tcp.options.sack_perm']))
        self.seq = first_int(f['tcp.seq_raw'])
        self.ackno = first_int(f['tcp.ack_raw'])
        # tshark had already seen this SYN's sequence space (a retransmitted or late SYN)
        self.retrans = bool(vals(f['tcp.analysis.retransmission']))
        # the capture cut the packet short ("Packet size limited during capture")
        self.short = bool(f['_ws.short'])
        # VLAN ids, outermost first: the 802.1ad (QinQ outer) tag, then the 802.1Q ones
        self.vlan = [int(v) for v in vals(f['ieee8021ad.id']) + vals(f['vlan.id'])] or None
        flag = lambda k: bool(vals(f[k])) and vals(f[k])[-1] in ('1', 'True', 'true', 'Set')
        self.syn, self.fin, self.rst = flag('tcp.flags.syn'), flag('tcp.flags.fin'), \
            flag('tcp.flags.reset')
        rel, ln = first_int(f['tcp.seq']), first_int(f['tcp.len'])
        self.fin_seq = None if rel is None else rel + (ln or 0)  # relative seq of the FIN

    def opts(self):
        return (self.mss, self.wscale, self.sack_perm)


def same_isn(a, b):
    return a is None or b is None or a == b


def prev_seq(n):
    return None if n is None else (n - 1) & 0xffffffff


class Attempt:
    def __init__(self, client, server, client_isn):
        self.client = client
        self.server = server
        self.client_isn = client_isn
        self.server_isn = None
        self.client_syns = []
        self.server_syns = []
        self.other_syns = []  # the client's SYN-ACK of a split handshake
        self.synack = False
        self.matched = False

    @property
    def pair(self):
        return (self.client, self.server)

    def all_syns(self):
        return self.client_syns + self.server_syns + self.other_syns

    def first_frame(self):
        return min(s.frame for s in self.all_syns())

    def frames(self):
        return sorted(s.frame for s in self.all_syns())

    def complete(self):
        return bool(self.client_syns and self.server_syns and self.synack)

    def excuse(self):
        """Why wstap need not report this complete handshake as full, or None."""
        if self.client_syns[0].retrans:
            return ('the client SYN (frame %d) came after the connection was under way; tshark '
                    'flags it as a retransmission' % self.client_syns[0].frame)
        for side, syns in (('client', self.client_syns), ('server', self.server_syns)):
            if all(s.short for s in syns):
                return ('the %s SYN (frame %d) was cut short by the capture' %
                        (side, syns[0].frame))
        return None

    def streams(self):
        return ','.join(sorted({s.stream for s in self.all_syns()}))


def group_attempts(syns):
    attempts = []

    def latest(pred):
        for a in reversed(attempts):
            if pred(a):
                return a
        return None

    for s in sorted(syns, key=lambda s: s.frame):
        if not s.ack:
            # pure SYN: a retransmission, the server's SYN of a simultaneous open / split
            # handshake, or a new attempt
            a = latest(lambda a: a.pair == (s.src, s.dst) and a.client_isn is not None and
                       same_isn(a.client_isn, s.seq))
            if a is None:
                a = latest(lambda a: a.pair == (s.src, s.dst) and a.client_isn is None)
            if a is not None:
                a.client_syns.append(s)
                if a.client_isn is None:
                    a.client_isn = s.seq
                continue
            a = latest(lambda a: a.pair == (s.dst, s.src) and not a.synack and
                       (not a.server_syns or same_isn(a.server_isn, s.seq)))
            if a is not None:
                a.server_syns.append(s)
                a.server_isn = s.seq
                continue
            a = Attempt(s.src, s.dst, s.seq)
            a.client_syns.append(s)
            attempts.append(a)
        else:
            # SYN-ACK from the server answering the client's SYN ...
            a = latest(lambda a: a.pair == (s.dst, s.src) and
                       same_isn(a.client_isn, prev_seq(s.ackno)))
            if a is not None:
                a.server_syns.append(s)
                if a.server_isn is None:
                    a.server_isn = s.seq
                a.synack = True
                continue
            # ... or from the client answering the server's SYN (split handshake)
            a = latest(lambda a: a.pair == (s.src, s.dst) and a.server_syns and
                       same_isn(a.server_isn, prev_seq(s.ackno)))
            if a is not None:
                a.other_syns.append(s)
                a.synack = True
                continue
            # only the SYN-ACK was captured
            a = Attempt(s.dst, s.src, prev_seq(s.ackno))
            a.server_syns.append(s)
            a.server_isn = s.seq
            a.synack = True
            attempts.append(a)
    attempts.sort(key=lambda a: a.first_frame())
    return attempts


def side_opts(mine, theirs):
    """Options of one side: the SYN answered by the other side when they differ."""
    if not mine:
        return None
    mine = [s for s in mine if not s.short] or mine
    if len({s.opts() for s in mine}) == 1:
        return mine[0].opts()
    first_other = min((s.frame for s in theirs), default=None)
    before = [s for s in mine if first_other is None or s.frame < first_other]
    return (before[-1] if before else mine[0]).opts()


def expected_open(a):
    c = side_opts(a.client_syns, a.server_syns)
    s = side_opts(a.server_syns, a.client_syns)
    if c[1] is not None and s[1] is not None:
        wc, ws = min(c[1], MAX_SHIFT), min(s[1], MAX_SHIFT)
    else:
        wc = ws = None
    return {'mss_c': c[0], 'mss_s': s[0], 'wscale_c': wc, 'wscale_s': ws,
            'sack': bool(c[2] and s[2]), 'vlan': a.client_syns[0].vlan}


def run_tshark(path, confdir):
    env = env_c()
    env['WIRESHARK_CONFIG_DIR'] = confdir  # ignore the user's preferences
    cmd = [os.environ.get('TSHARK', 'tshark'), '-n', '-r', path, '-Y', TSHARK_FILTER,
           '-T', 'fields', '-E', 'separator=/t']
    for f in TSHARK_FIELDS:
        cmd += ['-e', f]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                           timeout=300)
    except subprocess.TimeoutExpired:
        raise RuntimeError('tshark timed out') from None
    if p.returncode != 0:
        err = p.stderr.decode('utf-8', 'replace').strip().splitlines()
        raise RuntimeError('tshark exit %d: %s' % (p.returncode, err[-1] if err else ''))
    rows = [line.split('\t') for line in p.stdout.decode('utf-8', 'replace').splitlines()]
    return [Syn(r) for r in rows if r and r[0].strip()]


# ---- wstap side -------------------------------------------------------------------------------


def run_wstap(path):
    cmd = (shlex.split(os.environ.get('WSTAP_WRAP', '')) +
           [os.environ.get('WSTAP_BIN', './wstap'), '-r', path, '--json'])
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env_c(),
                           timeout=float(os.environ.get('WSTAP_TIMEOUT', '300')))
    except subprocess.TimeoutExpired:
        raise RuntimeError('wstap timed out') from None
    if p.returncode != 0:
        err = p.stderr.decode('utf-8', 'replace').strip().splitlines()
        raise RuntimeError('wstap exit %d%s' % (p.returncode, ': ' + err[-1] if err else ''))
    opens, syn_frames = [], {}
    fins, closes, resets = {}, {}, {}
    for line in p.stdout.decode('utf-8', 'replace').splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if not isinstance(ev, dict):
            continue
        if ev.get('ev') == 'tcp.syn':
            syn_frames.setdefault(ev.get('conn'), set()).add(ev.get('frame'))
        elif ev.get('ev') == 'tcp.open':
            opens.append(ev)
        elif ev.get('ev') == 'tcp.fin':
            fins[ev.get('frame')] = ev
        elif ev.get('ev') == 'tcp.close':
            closes[ev.get('conn')] = ev.get('frame')
        elif ev.get('ev') == 'tcp.rst' and ev.get('first') is True:
            resets[ev.get('conn')] = ev.get('frame')
    opens.sort(key=lambda e: e.get('conn') if isinstance(e.get('conn'), int) else 0)
    return opens, syn_frames, fins, closes, resets


# ---- comparison -------------------------------------------------------------------------------


def fmt(v):
    return json.dumps(v)


def compare(label, opens, syn_frames, attempts):
    """Returns (passed, failed, lines)."""
    passed = failed = 0
    lines = []
    for ev in opens:
        if ev.get('handshake') != 'full':
            continue
        conn = ev.get('conn')
        pair = (norm_ep(ev.get('client')), norm_ep(ev.get('server')))
        where = '%s: conn %s (%s -> %s)' % (label, conn, ev.get('client'), ev.get('server'))
        cands = [a for a in attempts if a.pair == pair and not a.matched]
        mine = syn_frames.get(conn, set())
        pick = next((a for a in cands if mine & set(a.frames())), None)
        if pick is None:
            pick = next((a for a in cands if a.complete()), None)
        if pick is None and cands:
            pick = cands[0]
        if pick is None:
            rev = [a for a in attempts if a.pair == (pair[1], pair[0])]
            if rev:
                why = ('client/server: tshark has the SYN from %s (frames %s)' %
                       (rev[0].client, ','.join(map(str, rev[0].frames()))))
            else:
                why = 'handshake "full" but tshark saw no SYN or SYN-ACK between these endpoints'
            lines.append('FAIL %s: %s' % (where, why))
            failed += 1
            continue
        pick.matched = True
        where += ' [tshark stream %s, frames %s]' % (
            pick.streams(), ','.join(map(str, pick.frames())))
        if not pick.client_syns or not pick.server_syns:
            side = 'client' if not pick.client_syns else 'server'
            lines.append('FAIL %s: handshake "full" but tshark saw no SYN from the %s'
                         % (where, side))
            failed += 1
            continue
        want = expected_open(pick)
        bad = ['%s: wstap %s, tshark %s' % (k, fmt(ev.get(k, '(absent)')), fmt(v))
               for k, v in want.items() if ev.get(k, '(absent)') != v]
        if not pick.synack:
            bad.append('handshake: wstap "full", tshark saw no SYN-ACK acknowledging a SYN')
        if bad:
            for b in bad:
                lines.append('FAIL %s: %s' % (where, b))
            failed += 1
        else:
            passed += 1
    for a in attempts:
        if a.complete() and not a.matched and a.excuse():
            lines.append('skip %s: tshark handshake %s -> %s [frames %s] need not be full: %s'
                         % (label, a.client, a.server, ','.join(map(str, a.frames())),
                            a.excuse()))
        elif a.complete() and not a.matched:
            other = [e for e in opens
                     if (norm_ep(e.get('client')), norm_ep(e.get('server'))) in
                     (a.pair, (a.server, a.client))]
            seen = ('; wstap has ' + ', '.join('conn %s %s -> %s "%s"' % (
                e.get('conn'), e.get('client'), e.get('server'), e.get('handshake'))
                for e in other)) if other else '; wstap has no tcp.open for these endpoints'
            lines.append('FAIL %s: tshark handshake %s -> %s [stream %s, frames %s] has no '
                         'full tcp.open%s' % (label, a.client, a.server, a.streams(),
                                              ','.join(map(str, a.frames())), seen))
            failed += 1
    return passed, failed, lines


def compare_fins(label, tfins, fins, conn_pairs, starts, closes, resets):
    """tcp.fin against tshark's FIN segments (not SYN or RST ones): the same frames, the same
    relative sequence numbers, "retransmitted" exactly where tshark flags a retransmission.
    Returns (failed, explained, lines)."""
    failed, explained, lines = 0, 0, []
    pairs = {}
    for c, pr in conn_pairs.items():
        pairs.setdefault(pr, []).append(c)
    for t in sorted(tfins, key=lambda t: t.frame):
        w = fins.pop(t.frame, None)
        where = '%s: FIN frame %d %s -> %s' % (label, t.frame, t.src, t.dst)
        if w is None:
            # the connections of these endpoints that had started by this frame
            conns = [c for c in pairs.get(frozenset((t.src, t.dst)), [])
                     if starts.get(c, t.frame) <= t.frame]
            ended = [c for c in conns if isinstance(closes.get(c), int) and closes[c] < t.frame]
            reset = [c for c in conns if c not in ended and isinstance(resets.get(c), int)
                     and resets[c] < t.frame]
            if reset and len(ended) + len(reset) == len(conns):
                lines.append('explained %s: after the RST of conn %d (frame %d): wstap takes a '
                             'segment after a reset only when it is acceptable to the receiver '
                             '(RFC 9293 3.10.7.4), and this one is not' % (where, reset[-1],
                                                                           resets[reset[-1]]))
                explained += 1
            elif ended and len(ended) == len(conns):
                lines.append('explained %s: after wstap closed conn %d (frame %d): a FIN once the '
                             'connection ended is not reported' % (where, ended[-1],
                                                                    closes[ended[-1]]))
                explained += 1
            else:
                lines.append('FAIL %s: no tcp.fin' % where)
                failed += 1
            continue
        if w.get('seq') != t.fin_seq:
            lines.append('FAIL %s: seq wstap %s, tshark %s' % (where, w.get('seq'), t.fin_seq))
            failed += 1
        elif w.get('retransmitted') is not t.retrans:
            if t.retrans and w.get('seq') == 0:
                lines.append('explained %s: tshark flags a retransmission by sequence number (the '
                             'FIN reuses the SYN\'s), wstap reports the side\'s first FIN'
                             % where)
                explained += 1
            else:
                lines.append('FAIL %s: retransmitted wstap %s, tshark %s'
                             % (where, w.get('retransmitted'), t.retrans))
                failed += 1
    for frame, w in sorted(fins.items()):
        lines.append('FAIL %s: tcp.fin at frame %s (conn %s) is no FIN segment for tshark'
                     % (label, frame, w.get('conn')))
        failed += 1
    return failed, explained, lines


def check_file(path, label, confdir):
    try:
        rows = run_tshark(path, confdir)
        opens, syn_frames, fins, closes, resets = run_wstap(path)
    except (RuntimeError, OSError) as e:
        return 0, 1, ['FAIL %s: %s' % (label, e)]
    attempts = group_attempts([r for r in rows if r.syn])
    p, f, lines = compare(label, opens, syn_frames, attempts)
    tfins = [r for r in rows if r.fin and not r.syn and not r.rst]
    # each wstap connection's endpoints: from its tcp.open, else from its SYNs in tshark's rows
    conn_pairs = {e.get('conn'): frozenset((norm_ep(e.get('client')), norm_ep(e.get('server'))))
                  for e in opens}
    starts = {e.get('conn'): e.get('frame') for e in opens}
    for c, frames in syn_frames.items():
        starts[c] = min([starts.get(c, min(frames))] + list(frames))
    by_frame = {r.frame: r for r in rows}
    for c, frames in syn_frames.items():
        for fr in frames:
            if c not in conn_pairs and fr in by_frame:
                conn_pairs[c] = frozenset((by_frame[fr].src, by_frame[fr].dst))
    nconn = p
    ff, fx, flines = compare_fins(label, tfins, fins, conn_pairs, starts, closes, resets)
    lines += flines
    if tfins or fins:
        if ff:
            f += 1
        else:
            p += 1
            lines.append('ok   %s: %d FIN(s)%s' % (label, len(tfins),
                                                   ' (%d explained)' % fx if fx else ''))
    if not f:
        lines.append('ok   %s: %d connection(s)' % (label, nconn))
    return p, f, lines


def main(argv):
    jobs = min(4, os.cpu_count() or 2)
    files = []
    i = 0
    while i < len(argv):
        if argv[i] == '--jobs' and i + 1 < len(argv):
            jobs = max(1, int(argv[i + 1]))
            i += 2
            continue
        files.append(argv[i])
        i += 1
    root = os.environ.get('WSTAP_CORPUS_LABEL_ROOT', '')
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix='wstap-tshark-') as confdir:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            labels = [f[len(root):].lstrip('/') if root and f.startswith(root) else f
                      for f in files]
            results = pool.map(lambda fl: check_file(fl[0], fl[1], confdir), zip(files, labels))
            for p, f, lines in results:
                passed += p
                failed += f
                for line in lines:
                    print(line)
                sys.stdout.flush()
    print('oracle: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
