#!/usr/bin/env python3
"""tshark_http.py - compare wstap's http.request / http.response events with tshark's HTTP
dissector, message by message.

Usage: tshark_http.py [--jobs N] CAPTURE...
Environment: WSTAP_BIN (default ./wstap), WSTAP_WRAP (prefix, e.g. valgrind), WSTAP_TIMEOUT
(seconds per wstap run, default 300), TSHARK (default tshark).

wstap runs first (--json). The server port (tcp.open "server") of every connection on which wstap
reported an http.request or http.response is decoded as HTTP by tshark (-d tcp.port==P,http for
P != 80; tshark's own HTTP ports stay on, so HTTP that wstap missed on them is found too). tshark
runs with http.desegment_body off and tcp.desegment_tcp_streams / http.desegment_headers on, so it
reports each HTTP message in the frame that completes its head: the event's `frame` in wstap (the
last of `segments`). tshark lists every frame with TCP payload (-T fields, aggregator 0x1f); a
frame with exactly one request or status line gives that message (method, URI, status code, and
the http.request.line / http.response.line items, one per header field line). A frame with
several messages (fields mode aggregates them all into one row) or with HTTP below another
protocol (WebSocket, TLS) is dissected again as PDML, where each message is its own <proto>.
Parts without a request or status line ("Continuation": body bytes) are not messages.

Matching: per frame, wstap's messages (in event order) against tshark's messages carried directly
by TCP (in dissection order), pair by pair. One check per message (a request or a response); a
pair passes when the kind, method, target (request URI), status code and header count
(len(headers) against tshark's header lines) are equal. Everything unpaired fails (on both sides:
wstap reporting HTTP that tshark does not see is a failure too), except the differences below,
each decided by RFC 9112 in wstap's favour, checked by a rule that can fail, printed as
"explained ..." and counted as explained (one check each). tshark 4.0 is not ground truth.

A pair that differs:
- obs-fold: only the header count differs, wstap's first folded field (a value holding
  CRLF + SP/HT) is field number i, and tshark counts exactly i lines: tshark ends the head at
  the continuation line. RFC 9112 section 5.2: the fold belongs to the field value.
A message only tshark reports:
- inside WebSocket: tshark dissects HTTP inside a WebSocket payload on a connection that wstap
  reports upgraded (ws.open, or a 101 response) at or before that frame. After the 101 the bytes
  belong to the new protocol (RFC 9110 section 7.8): HTTP text in a WebSocket message is
  application data, not HTTP on the TCP stream (e.g. a nested handshake in a tunnel).
- after a switch of protocols: the message is directly on TCP at or after the frame of a 101, or
  of a 2xx answer to CONNECT, that wstap reported on that connection (RFC 9110 sections 7.8 and
  9.3.6: the connection is then no longer HTTP/1.1).
- invalid field line: wstap reports http.error on that connection and direction in that frame,
  and the head tshark dissected (in the stream bytes) has a line that is not field-name ":"
  (RFC 9112 section 5.1; whitespace before the colon or before the first field line, section
  2.2, included): the message is invalid; tshark ends the head at that line.
- not HTTP/1.x: the start line's version is not "HTTP/" DIGIT "." DIGIT (RFC 9112 section 2.3),
  e.g. SIP/2.0 on a port decoded as HTTP.
- retransmission: tshark flags the frame as a TCP retransmission, the same message (kind, method,
  target, status, header count) was already matched in an earlier frame of the same stream and
  direction, and this frame carries no byte past that frame's end: wstap reports a head once.
A message only wstap reports:
- a head that never completed: wstap's http.request flagged "partial" (the connection ended
  first); checked: tshark's stream holds its hdr_bytes from the start line on, without an empty
  line, and nothing after them in that direction.
- after an obs-fold: the message before it on that direction has a folded field (see above):
  tshark takes the rest of that head as body and misses this one.
- no body: the response before it on that direction answers HEAD, or is 1xx/204/304, and
  carries a non-zero Content-Length or a Transfer-Encoding; such a response has no body (RFC 9112
  section 6.3 rule 1), tshark takes the bytes after its head as body.
- body glued to the head: tshark reassembled this frame with earlier ones (tcp.segment) into a PDU
  that starts before this head, and the previous message's body, framed by its Content-Length or
  chunked coding read from the stream bytes (RFC 9112 section 6.3), ends exactly where this head
  starts. (With body reassembly off, tshark treats a segment of body bytes as the start of a head
  and appends the next segments to it until it finds an empty line.)
- first copy flagged as a retransmission: tshark flags the frame as a retransmission, yet no
  earlier frame of that direction carried the head's bytes in it (an out-of-order first copy
  filling a hole), and tshark does not hand it to HTTP.

Prints one line per mismatch, "explained ..." lines, "ok FILE: N message(s)" for each file
without a failure, and ends with "http: N passed, N failed, N explained".
"""
import concurrent.futures
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

AGG = '\x1f'
TSHARK_FIELDS = ['frame.number', 'tcp.stream', 'ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst',
                 'ipv6.dst', 'tcp.dstport', 'tcp.seq', 'tcp.len', 'tcp.payload', 'tcp.segment',
                 'tcp.analysis.retransmission', 'frame.protocols',
                 'http.request.method', 'http.request.uri', 'http.request.version',
                 'http.response.code', 'http.response.version',
                 'http.request.line', 'http.response.line']
TSHARK_PREFS = ['-o', 'http.desegment_body:FALSE', '-o', 'http.desegment_headers:TRUE',
                '-o', 'tcp.desegment_tcp_streams:TRUE']
# Protocols that can carry HTTP inside them (HTTP in such a layer is not HTTP on the TCP stream).
CARRIERS = ('websocket', 'tls', 'ssl', 'http2', 'socks')
HTTP1_VERSION = re.compile(r'^HTTP/[0-9]\.[0-9]$')
OBS_FOLD = re.compile(r'\r?\n[ \t]')  # RFC 9112 section 5.2, as wstap keeps it in the value


def env_c():
    env = dict(os.environ)
    env['TZ'] = 'UTC'
    env['LC_ALL'] = 'C'
    return env


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


def port_of(ep):
    try:
        return int(ep.rsplit(':', 1)[1])
    except (AttributeError, IndexError, ValueError):
        return None


# ---- one HTTP message, either side --------------------------------------------------------------


class Msg:
    def __init__(self, frame, kind, method=None, target=None, status=None, nhdr=None,
                 version=None):
        self.frame = frame
        self.kind = kind  # 'request' or 'response'
        self.method = method
        self.target = target
        self.status = status
        self.nhdr = nhdr
        self.version = version
        # wstap side
        self.conn = None
        self.dir = None
        self.segments = []
        self.seg_bytes = []
        self.fold_at = None  # index of the first header with an obs-fold continuation
        self.partial = False  # wstap: a head that never completed (flags "partial")
        self.req_method = None  # for a response: the method of the request it answers
        self.headers = []
        self.hdr_bytes = None
        self.idx = None  # position among wstap's messages
        # tshark side
        self.stream = None
        self.src = self.dst = None
        self.seq = self.len = None
        self.retrans = False
        self.inside = None  # carrier protocol when not directly on TCP
        self.matched = None

    def key(self):
        return (self.kind, self.method, self.target, self.status, self.nhdr)

    def desc(self):
        if self.kind == 'request':
            s = '%s %s' % (self.method, json.dumps(self.target))
        else:
            s = 'status %s' % self.status
        return '%s (%s headers)' % (s, self.nhdr)


# ---- wstap side ---------------------------------------------------------------------------------


class Wstap:
    def __init__(self):
        self.msgs = []
        self.conns = {}  # conn -> (client, server, tcp.open frame)
        self.upgraded = {}  # conn -> frame of the first ws.open / 101 response
        self.switched = {}  # conn -> frame after which the stream is no longer HTTP/1.1
        self.errors = {}  # (conn, dir) -> [(frame, kind)] of http.error events
        self.ports = set()


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
    w = Wstap()
    connect_pending = {}  # conn -> number of CONNECT requests not yet answered
    pending = {}  # conn -> methods of the requests not yet answered
    for line in p.stdout.decode('utf-8', 'replace').splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if not isinstance(ev, dict):
            continue
        name, conn, frame = ev.get('ev'), ev.get('conn'), ev.get('frame')
        if name == 'tcp.open':
            w.conns[conn] = (norm_ep(ev.get('client')), norm_ep(ev.get('server')), frame)
        elif name in ('http.request', 'http.response'):
            hdrs = ev.get('headers')
            m = Msg(frame, name[5:], method=ev.get('method'), target=ev.get('target'),
                    status=ev.get('status'), nhdr=len(hdrs) if isinstance(hdrs, list) else None,
                    version=ev.get('version'))
            m.conn, m.dir = conn, ev.get('dir')
            m.headers = [h for h in hdrs or [] if isinstance(h, list) and len(h) == 2]
            m.hdr_bytes = ev.get('hdr_bytes')
            m.fold_at = next((i for i, h in enumerate(hdrs or [])
                              if isinstance(h, list) and len(h) == 2 and
                              isinstance(h[1], str) and OBS_FOLD.search(h[1])), None)
            m.partial = 'partial' in (ev.get('flags') or [])
            if m.fold_at is None and 'folded' in (ev.get('flags') or []):
                m.fold_at = -1  # folded, position unknown
            segs = [s for s in ev.get('segments') or [] if isinstance(s, list) and len(s) == 2]
            m.segments = [s[0] for s in segs]
            m.seg_bytes = [s[1] for s in segs]
            m.idx = len(w.msgs)
            w.msgs.append(m)
            if conn in w.conns:
                w.ports.add(port_of(w.conns[conn][1]))
            # the request each response answers: 1xx interim responses (but 101) answer the
            # request without completing it (RFC 9110 section 15.2)
            q = pending.setdefault(conn, [])
            if m.kind == 'request':
                q.append(m.method)
            elif isinstance(m.status, int) and 100 <= m.status < 200 and m.status != 101:
                m.req_method = q[0] if q else None
            else:
                m.req_method = q.pop(0) if q else None
            if m.kind == 'request' and m.method == 'CONNECT':
                connect_pending[conn] = connect_pending.get(conn, 0) + 1
            elif m.kind == 'response' and isinstance(m.status, int):
                if m.status == 101:
                    w.upgraded.setdefault(conn, frame)
                    w.switched.setdefault(conn, frame)
                elif 200 <= m.status < 300 and connect_pending.get(conn):
                    w.switched.setdefault(conn, frame)
                if m.status >= 200 and connect_pending.get(conn):
                    connect_pending[conn] -= 1
        elif name == 'ws.open':
            w.upgraded.setdefault(conn, frame)
        elif name == 'http.error':
            w.errors.setdefault((conn, ev.get('dir')), []).append((frame, ev.get('kind')))
    w.ports.discard(None)
    return w


# ---- tshark side --------------------------------------------------------------------------------


def vals(s):
    return s.split(AGG) if s else []


def last(s):
    v = [x for x in vals(s) if x != '']
    return v[-1] if v else None


def to_int(s):
    try:
        return int(s, 0)
    except (TypeError, ValueError):
        return None


def tshark_base(path, ports):
    cmd = [os.environ.get('TSHARK', 'tshark'), '-n', '-r', path] + TSHARK_PREFS
    for p in sorted(ports):
        if p != 80:
            cmd += ['-d', 'tcp.port==%d,http' % p]
    return cmd


def run(cmd, confdir):
    env = env_c()
    env['WIRESHARK_CONFIG_DIR'] = confdir  # ignore the user's preferences
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                           timeout=300)
    except subprocess.TimeoutExpired:
        raise RuntimeError('tshark timed out') from None
    if p.returncode != 0:
        err = p.stderr.decode('utf-8', 'replace').strip().splitlines()
        raise RuntimeError('tshark exit %d: %s' % (p.returncode, err[-1] if err else ''))
    return p.stdout


def chain_after_tcp(protocols):
    """frame.protocols after the (last) tcp layer, e.g. ['http', 'websocket', 'http']."""
    names = protocols.split(':') if protocols else []
    if 'tcp' in names:
        names = names[len(names) - 1 - names[::-1].index('tcp') + 1:]
    return names


class Frame:
    """Per-frame TCP facts from the fields output."""

    def __init__(self, f):
        self.frame = int(f['frame.number'])
        self.stream = last(f['tcp.stream'])
        src = last(f['ipv6.src']) or last(f['ip.src'])
        dst = last(f['ipv6.dst']) or last(f['ip.dst'])
        sport, dport = last(f['tcp.srcport']), last(f['tcp.dstport'])
        self.src = ep_str(src, sport) if src and sport else None
        self.dst = ep_str(dst, dport) if dst and dport else None
        self.seq = to_int(last(f['tcp.seq']))
        self.len = to_int(last(f['tcp.len']))
        self.retrans = bool([x for x in vals(f['tcp.analysis.retransmission']) if x])
        # frames of the PDU tshark reassembled in this frame (empty when none)
        self.segs = [n for n in (to_int(x) for x in vals(f['tcp.segment'])) if n is not None]
        try:
            self.payload = bytes.fromhex(last(f['tcp.payload']) or '')
        except ValueError:
            self.payload = b''

    def stamp(self, m):
        m.stream, m.src, m.dst = self.stream, self.src, self.dst
        m.seq, m.len, m.retrans = self.seq, self.len, self.retrans
        return m


def tshark_fields(path, ports, confdir):
    # every frame with TCP payload: the HTTP ones give the messages, all of them give each
    # stream's sequence space (which bytes an earlier frame already carried)
    cmd = tshark_base(path, ports) + ['-Y', 'tcp.len > 0', '-T', 'fields',
                                      '-E', 'separator=/t', '-E', 'aggregator=' + AGG,
                                      '-E', 'occurrence=a']
    for f in TSHARK_FIELDS:
        cmd += ['-e', f]
    out = run(cmd, confdir).decode('utf-8', 'replace')
    msgs, frames, again = [], {}, []
    for line in out.splitlines():
        cols = line.split('\t')
        if not cols or not cols[0].strip():
            continue
        cols += [''] * (len(TSHARK_FIELDS) - len(cols))
        f = dict(zip(TSHARK_FIELDS, cols))
        fr = Frame(f)
        frames[fr.frame] = fr
        methods = vals(f['http.request.method'])
        codes = vals(f['http.response.code'])
        if not methods and not codes:
            continue  # body only ("Continuation")
        chain = chain_after_tcp(f['frame.protocols'])
        first_http = chain.index('http') if 'http' in chain else 0
        nested = any(c in CARRIERS for c in chain[:first_http]) or \
            any(c in CARRIERS for c in chain[first_http:]) and chain.count('http') > 1
        if len(methods) + len(codes) != 1 or nested:
            again.append(fr.frame)  # several messages, or HTTP inside another protocol
            continue
        if methods:
            m = Msg(fr.frame, 'request', method=methods[0],
                    target=(vals(f['http.request.uri']) or [None])[0],
                    nhdr=len(vals(f['http.request.line'])),
                    version=(vals(f['http.request.version']) or [None])[0])
        else:
            m = Msg(fr.frame, 'response', status=to_int(codes[0]),
                    nhdr=len(vals(f['http.response.line'])),
                    version=(vals(f['http.response.version']) or [None])[0])
        msgs.append(fr.stamp(m))
    if again:
        msgs += tshark_pdml(path, ports, confdir, again, frames)
    msgs.sort(key=lambda m: m.frame)  # stable: keeps the order inside a frame
    return msgs, frames


def pdml_messages(packet):
    """HTTP messages of one PDML packet in dissection order, with the carrier of each."""
    res = []
    seen = []  # protocol names in document order

    def fields_of(proto):
        """Fields of one proto, not descending into protocols nested in it."""
        stack = list(proto)[::-1]
        while stack:
            el = stack.pop()
            if el.tag == 'proto':
                continue
            yield el
            stack.extend(list(el)[::-1])

    def walk(el):
        for child in el:
            if child.tag != 'proto':
                walk(child)
                continue
            name = child.get('name')
            if name == 'http':
                after_tcp = seen[len(seen) - 1 - seen[::-1].index('tcp') + 1:] \
                    if 'tcp' in seen else seen
                inside = next((p for p in reversed(after_tcp) if p in CARRIERS), None)
                got = {}
                nreq = nresp = 0
                for fl in fields_of(child):
                    n = fl.get('name')
                    if n == 'http.request.line':
                        nreq += 1
                    elif n == 'http.response.line':
                        nresp += 1
                    elif n in ('http.request.method', 'http.request.uri', 'http.request.version',
                               'http.response.code', 'http.response.version'):
                        got.setdefault(n, fl.get('show'))
                if 'http.request.method' in got:
                    m = Msg(None, 'request', method=got['http.request.method'],
                            target=got.get('http.request.uri'), nhdr=nreq,
                            version=got.get('http.request.version'))
                elif 'http.response.code' in got:
                    m = Msg(None, 'response', status=to_int(got['http.response.code']),
                            nhdr=nresp, version=got.get('http.response.version'))
                else:
                    m = None  # body only
                if m is not None:
                    m.inside = inside
                    res.append(m)
            seen.append(name)
            walk(child)

    walk(packet)
    return res


def tshark_pdml(path, ports, confdir, frame_numbers, frames):
    msgs = []
    for i in range(0, len(frame_numbers), 200):
        chunk = frame_numbers[i:i + 200]
        flt = 'frame.number in {%s}' % ','.join(map(str, chunk))
        out = run(tshark_base(path, ports) + ['-Y', flt, '-T', 'pdml'], confdir)
        root = ET.fromstring(out)
        for packet in root.iter('packet'):
            num = None
            for fl in packet.iter('field'):
                if fl.get('name') == 'frame.number':
                    num = int(fl.get('show'))
                    break
            if num is None or num not in frames:
                continue
            for m in pdml_messages(packet):
                m.frame = num
                msgs.append(frames[num].stamp(m))
    return msgs


# ---- comparison ---------------------------------------------------------------------------------


def conn_of(w, t):
    """The wstap connection carrying tshark message t: same endpoints, the latest tcp.open at or
    before the frame (port reuse), else the first one."""
    cands = sorted((fr or 0, conn) for conn, (c, s, fr) in w.conns.items()
                   if {c, s} == {t.src, t.dst})
    if not cands:
        return None, None
    before = [x for x in cands if x[0] <= t.frame]
    conn = (before[-1] if before else cands[0])[1]
    return conn, ('c2s' if t.src == w.conns[conn][0] else 's2c')


def carried_before(frames, f, lo, hi):
    """Whether the bytes [lo, hi) of frame f's stream and direction were all in earlier frames
    (tshark's relative sequence numbers)."""
    spans = sorted((x.seq, x.seq + x.len) for x in frames.values()
                   if x.frame < f.frame and x.stream == f.stream and x.src == f.src and
                   x.seq is not None and x.len)
    pos = lo
    for a, b in spans:
        if a > pos:
            break
        pos = max(pos, b)
    return pos >= hi


class Streams:
    """Each direction of each tshark stream as bytes, by tshark's relative sequence numbers
    (the first copy of a byte wins, as in wstap)."""
    MAX = 64 << 20

    def __init__(self, frames):
        self.frames = frames
        self.dirs = {}  # (stream, src) -> (buf, have), built on first use

    def build(self, key):
        buf, have = bytearray(), bytearray()
        for fr in sorted(self.frames.values(), key=lambda x: x.frame):
            if (fr.stream, fr.src) != key or fr.seq is None or not fr.payload or \
                    fr.seq < 0 or fr.seq + len(fr.payload) > self.MAX:
                continue
            lo, end = fr.seq, fr.seq + len(fr.payload)
            if len(buf) < end:
                buf.extend(bytes(end - len(buf)))
                have.extend(bytes(end - len(have)))
            if not any(have[lo:end]):
                buf[lo:end] = fr.payload
                have[lo:end] = b'\1' * (end - lo)
                continue
            for i, c in enumerate(fr.payload):
                if not have[lo + i]:
                    buf[lo + i] = c
                    have[lo + i] = 1
        return buf, have

    def get(self, fr, lo, hi):
        """Bytes [lo, hi) of frame fr's direction, or None where any was never captured."""
        key = (fr.stream, fr.src)
        if key not in self.dirs:
            self.dirs[key] = self.build(key)
        d = self.dirs[key]
        if d is None or lo < 0 or hi > len(d[0]) or not all(d[1][lo:hi]):
            return None
        return bytes(d[0][lo:hi])


def start_line_prefix(m):
    if m.kind == 'request':
        return (m.method or '').encode('latin-1', 'replace') + b' '
    return b'HTTP/'


def head_span(m, streams):
    """[start, end) of wstap message m's head in tshark's sequence space, or None: the head is
    hdr_bytes long, ends with an empty line and begins (after optional empty lines) with m's
    start line; its last segment is m.frame."""
    fr = streams.frames.get(m.frame)
    if fr is None or fr.seq is None or not m.hdr_bytes or not m.seg_bytes:
        return None

    def ok(lo):
        b = streams.get(fr, lo, lo + m.hdr_bytes)
        return b is not None and b.lstrip(b'\r\n').startswith(start_line_prefix(m)) and \
            (b.endswith(b'\n\n') or b.endswith(b'\n\r\n'))

    if len(m.seg_bytes) > 1:  # the head's tail opens its last segment
        lo = fr.seq + m.seg_bytes[-1] - m.hdr_bytes
        return (lo, lo + m.hdr_bytes) if ok(lo) else None
    for lo in range(fr.seq, fr.seq + max(0, len(fr.payload) - m.hdr_bytes) + 1):
        if ok(lo):
            return lo, lo + m.hdr_bytes
    return None


def header(m, name):
    return [str(v) for k, v in m.headers if isinstance(k, str) and k.lower() == name]


def body_end(m, start, fr, streams):
    """Where the body of message m (head ending at start) ends, by RFC 9112 section 6.3, or
    None (read until close, or not computable)."""
    if m.kind == 'response' and no_body_reason(m):
        return start
    te = ','.join(header(m, 'transfer-encoding')).lower()
    if te.strip():
        if te.replace(' ', '').split(',')[-1] != 'chunked':
            return None
        pos = start
        while True:  # chunk-size [ext] CRLF data CRLF ... 0 CRLF trailers CRLF
            line = b''
            while not line.endswith(b'\n'):
                c = streams.get(fr, pos, pos + 1)
                if c is None or len(line) > 4096:
                    return None
                line += c
                pos += 1
            try:
                n = int(line.split(b';')[0].strip(), 16)
            except ValueError:
                return None
            if n == 0:
                while True:  # trailer section up to the empty line
                    line = b''
                    while not line.endswith(b'\n'):
                        c = streams.get(fr, pos, pos + 1)
                        if c is None or len(line) > 65536:
                            return None
                        line += c
                        pos += 1
                    if line.strip(b'\r\n') == b'':
                        return pos
            pos += n
            crlf = streams.get(fr, pos, pos + 2)
            if crlf is None:
                return None
            pos += 2 if crlf == b'\r\n' else 1
    cl = header(m, 'content-length')
    if cl:
        try:
            return start + int(cl[0].split(',')[0].strip())
        except ValueError:
            return None
    return start if m.kind == 'request' else None


def no_body_reason(r):
    """Why the response r has no body whatever its header fields say (RFC 9112 section 6.3
    rule 1), or None."""
    if r.req_method == 'HEAD':
        return 'answers a HEAD request'
    if isinstance(r.status, int) and (100 <= r.status < 200 or r.status in (204, 304)):
        return 'has status %d' % r.status
    return None


def explain_wstap_only(w, m, frames, streams):
    """Why tshark does not report the wstap message m; None when nothing explains it."""
    if m.partial and m.segments and m.hdr_bytes:
        lf = streams.frames.get(m.segments[-1])
        if lf is not None and lf.seq is not None:
            lo = lf.seq + m.seg_bytes[-1] - m.hdr_bytes
            b = streams.get(lf, lo, lo + m.hdr_bytes)
            if b is not None and b.startswith(start_line_prefix(m)) and \
                    b'\r\n\r\n' not in b and b'\n\n' not in b and \
                    streams.get(lf, lo + m.hdr_bytes, lo + m.hdr_bytes + 1) is None:
                return ('wstap reports a request head that never completed (flag partial): '
                        "tshark's stream holds its %d bytes from the start line on, with no "
                        'empty line and nothing after them, and tshark reports no message '
                        'without the end of its head' % m.hdr_bytes)
    prev = [x for x in w.msgs[:m.idx] if x.conn == m.conn and x.dir == m.dir]
    if prev and prev[-1].fold_at is not None:
        return ('the message before it on this direction (frame %d) has an obs-fold header; '
                'tshark ends that head at the continuation line and takes the rest as body, so '
                'it misses this one' % prev[-1].frame)
    if prev and m.kind == 'response' and prev[-1].kind == 'response':
        p = prev[-1]
        why = no_body_reason(p)
        framing = [h[0] for h in p.headers if isinstance(h[0], str) and
                   h[0].lower() in ('content-length', 'transfer-encoding') and
                   not (h[0].lower() == 'content-length' and str(h[1]).strip() == '0')]
        if why and framing:
            return ('the response before it on this direction (frame %d) %s, so it has no '
                    'body (RFC 9112 section 6.3 rule 1), yet it carries %s: tshark takes the '
                    'bytes after that head as its body' % (p.frame, why, framing[0]))
    f = frames.get(m.frame)
    if f is None or f.seq is None or not f.len:
        return None
    earlier = [n for n in f.segs if n < f.frame and n in frames]
    if prev and earlier:
        p = prev[-1]
        span, pspan = head_span(m, streams), head_span(p, streams)
        pf = frames.get(p.frame)
        end = body_end(p, pspan[1], pf, streams) if pspan and pf else None
        first = frames[min(earlier)]
        if span and end == span[0] and first.seq is not None and first.seq < span[0]:
            return ('tshark reassembles frames %s into one PDU that starts at seq %d, inside the '
                    'body of the message at frame %d, which by its framing ends at seq %d where '
                    'this head starts (RFC 9112 section 6.3); tshark takes it all as body' % (
                        ','.join(map(str, f.segs)), first.seq, p.frame, end))
    b = m.seg_bytes[-1] if m.seg_bytes else None
    if f.retrans and b and not carried_before(frames, f, f.seq, f.seq + min(b, f.len)):
        return ('tshark flags frame %d as a retransmission although no earlier frame carried '
                'its bytes %d-%d (an out-of-order first copy filling a hole) and does not '
                'dissect it' % (f.frame, f.seq, f.seq + min(b, f.len) - 1))
    return None


FIELD_LINE = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+:")


def invalid_field_line(t, frames, streams):
    """The first line of tshark message t's head that is not a field line (RFC 9112 section 5.1:
    field-name ":" with no whitespace before the colon; section 2.2: no whitespace before the
    first field line), or None. The head is looked for in the PDU tshark dissected in t.frame."""
    f = frames.get(t.frame)
    if f is None or f.seq is None:
        return None
    firsts = [frames[n] for n in f.segs if n in frames and frames[n].seq is not None]
    lo = min([x.seq for x in firsts] + [f.seq])
    data = streams.get(f, lo, f.seq + len(f.payload))
    if data is None:
        return None
    if t.kind == 'request':
        start = (t.method or '').encode('latin-1', 'replace') + b' ' + \
            (t.target or '').encode('utf-8', 'replace') + b' '
    else:
        start = b'HTTP/'
    at = data.find(start)
    if at < 0:
        return None
    lines = data[at:].split(b'\n')
    for i, raw in enumerate(lines[1:], 2):
        line = raw.rstrip(b'\r')
        if line == b'':
            return None  # end of the head: every line was a field line (or a fold)
        if line[:1] in (b' ', b'\t') and i > 2:
            continue  # obs-fold
        if not FIELD_LINE.match(line):
            return i, line[:60].decode('latin-1')
    return None


def explain_tshark_only(w, t, matched_pairs, frames, streams):
    """Why the tshark message t, which wstap does not report, is not an HTTP/1.x message on the
    TCP stream; None when nothing explains it."""
    conn, d = conn_of(w, t)
    if t.inside == 'websocket':
        up = w.upgraded.get(conn)
        if up is not None and up <= t.frame:
            return ('tshark dissects HTTP inside a WebSocket payload; wstap reports conn %s '
                    'upgraded at frame %d' % (conn, up))
        return None
    if t.inside is not None:
        return None
    sw = w.switched.get(conn)
    if sw is not None and sw <= t.frame:
        return ('after frame %d (101 / CONNECT 2xx) conn %s no longer carries HTTP/1.1'
                % (sw, conn))
    errs = [fr for fr, kind in w.errors.get((conn, d), []) if fr == t.frame]
    bad = invalid_field_line(t, frames, streams) if errs else None
    if bad:
        return ('line %d of the head, %s, is not a field line (RFC 9112 section 5.1), so the '
                'message is invalid; wstap reports http.error there, tshark ends the head at '
                'that line' % (bad[0], json.dumps(bad[1])))
    if t.version is not None and not HTTP1_VERSION.match(t.version):
        return 'start line version %s is not HTTP/1.x (RFC 9112 section 2.3)' % json.dumps(
            t.version)
    if t.retrans:
        for tm, wm in matched_pairs:
            if (tm.frame < t.frame and tm.stream == t.stream and tm.src == t.src and
                    tm.key() == t.key() and None not in (tm.seq, tm.len, t.seq, t.len) and
                    t.seq + t.len <= tm.seq + tm.len):
                return ('TCP retransmission of the head wstap reported at frame %d (tshark '
                        'dissects the copy again)' % wm.frame)
    return None


def compare(label, w, tmsgs, frames):
    passed = failed = explained = 0
    lines = []
    streams = Streams(frames)
    by_frame_w, by_frame_t = {}, {}
    for m in w.msgs:
        by_frame_w.setdefault(m.frame, []).append(m)
    nested = []
    for m in tmsgs:
        if m.inside is None:
            by_frame_t.setdefault(m.frame, []).append(m)
        else:
            nested.append(m)
    matched_pairs = []
    only_w, only_t = [], list(nested)
    for fr in sorted(set(by_frame_w) | set(by_frame_t)):
        ws, ts = by_frame_w.get(fr, []), by_frame_t.get(fr, [])
        for i in range(max(len(ws), len(ts))):
            if i >= len(ws):
                only_t.append(ts[i])
                continue
            if i >= len(ts):
                only_w.append(ws[i])
                continue
            wm, tm = ws[i], ts[i]
            where = '%s: frame %d conn %s %s' % (label, fr, wm.conn, wm.dir)
            bad = []
            if wm.kind != tm.kind:
                bad.append('kind: wstap %s, tshark %s' % (wm.kind, tm.kind))
            elif wm.kind == 'request':
                if wm.method != tm.method:
                    bad.append('method: wstap %s, tshark %s' % (json.dumps(wm.method),
                                                                json.dumps(tm.method)))
                if wm.target != tm.target:
                    bad.append('target: wstap %s, tshark %s' % (json.dumps(wm.target),
                                                                json.dumps(tm.target)))
            elif wm.status != tm.status:
                bad.append('status: wstap %s, tshark %s' % (wm.status, tm.status))
            if wm.nhdr != tm.nhdr:
                bad.append('header count: wstap %s, tshark %s' % (wm.nhdr, tm.nhdr))
            tm.matched = wm
            wm.matched = tm
            only_count = bad and all(b.startswith('header count') for b in bad)
            if only_count and wm.fold_at is not None and wm.fold_at >= 0 and \
                    tm.nhdr == wm.fold_at + 1:
                explained += 1
                lines.append('explained %s %s: header count: wstap %s, tshark %s: header %d has '
                             'an obs-fold continuation line and tshark ends the head there '
                             '(RFC 9112 section 5.2: the fold is part of the field value)' % (
                                 where, wm.kind, wm.nhdr, tm.nhdr, wm.fold_at + 1))
            elif bad:
                failed += 1
                lines.append('FAIL %s %s: %s' % (where, wm.kind, '; '.join(bad)))
            else:
                passed += 1
                matched_pairs.append((tm, wm))
    for tm in sorted(only_t, key=lambda m: m.frame):
        why = explain_tshark_only(w, tm, matched_pairs, frames, streams)
        conn, d = conn_of(w, tm)
        where = '%s: frame %d conn %s %s [tshark stream %s%s]' % (
            label, tm.frame, conn, d, tm.stream,
            ', inside ' + tm.inside if tm.inside else '')
        if why:
            explained += 1
            lines.append('explained %s: tshark %s %s, wstap none: %s' % (
                where, tm.kind, tm.desc(), why))
        else:
            failed += 1
            same = [wm for wm in w.msgs if wm.conn == conn and wm.key() == tm.key() and
                    wm.matched is None]
            hint = ('; wstap reports it at frame %s' % ','.join(str(x.frame) for x in same)
                    if same else '')
            lines.append('FAIL %s: tshark %s %s, wstap none%s' % (where, tm.kind, tm.desc(),
                                                                   hint))
    for wm in sorted(only_w, key=lambda m: m.frame):
        why = explain_wstap_only(w, wm, frames, streams)
        if why:
            explained += 1
            lines.append('explained %s: frame %d conn %s %s: wstap %s %s, tshark none: %s' % (
                label, wm.frame, wm.conn, wm.dir, wm.kind, wm.desc(), why))
            continue
        failed += 1
        same = [tm for tm in tmsgs if tm.key() == wm.key() and tm.matched is None]
        hint = ('; tshark reports it at frame %s' % ','.join(str(x.frame) for x in same)
                if same else '')
        lines.append('FAIL %s: frame %d conn %s %s: wstap %s %s (segments %s), tshark none%s' % (
            label, wm.frame, wm.conn, wm.dir, wm.kind, wm.desc(),
            ','.join(map(str, wm.segments)), hint))
    return passed, failed, explained, lines


def check_file(path, label, confdir):
    try:
        w = run_wstap(path)
        tmsgs, frames = tshark_fields(path, w.ports, confdir)
    except (RuntimeError, OSError, ET.ParseError) as e:
        return 0, 1, 0, ['FAIL %s: %s' % (label, e)]
    p, f, x, lines = compare(label, w, tmsgs, frames)
    if not f:
        lines.append('ok   %s: %d message(s)%s' % (label, p, ', %d explained' % x if x else ''))
    return p, f, x, lines


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
    passed = failed = explained = 0
    with tempfile.TemporaryDirectory(prefix='wstap-tshark-') as confdir:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            labels = [f[len(root):].lstrip('/') if root and f.startswith(root) else f
                      for f in files]
            results = pool.map(lambda fl: check_file(fl[0], fl[1], confdir), zip(files, labels))
            for p, f, x, lines in results:
                passed += p
                failed += f
                explained += x
                for line in lines:
                    print(line)
                sys.stdout.flush()
    print('http: %d passed, %d failed, %d explained' % (passed, failed, explained))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
