#!/usr/bin/env python3
"""check_events.py - validate `wstap --json` output against the event contract (shared/EVENTS.md).

Usage: check_events.py [--offline] [--label L] [--max N] FILE...   ('-' reads stdin)

Every line must be one strict JSON object (UTF-8, no NaN/Infinity, no duplicate keys) carrying the
common fields and the documented fields of its event; exactly one capture.end, on the last line.
Prints one line per problem (at most --max per file) and exits 1 if there was any.
Only what EVENTS.md promises (and tcp.fin, vlan, ip_datagrams, interrupted, community_id, which wstap(1)
documents) is checked: extra fields and extra event names are allowed.
"""
import base64
import binascii
import json
import math
import re
import sys

# ---- value kinds -----------------------------------------------------------------------------


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


KINDS = {
    'str': lambda v: isinstance(v, str),
    'int': _is_int,
    'uint': lambda v: _is_int(v) and v >= 0,
    'num': _is_num,
    'bool': lambda v: isinstance(v, bool),
    'list': lambda v: isinstance(v, list),
    'obj': lambda v: isinstance(v, dict),
    'any': lambda v: True,
    'b64': lambda v: isinstance(v, str) and _is_b64(v),
    'endpoint': lambda v: isinstance(v, str) and ENDPOINT_RE.match(v) is not None,
    # Community ID v1: "1:" and the base64 of a 20-byte SHA-1
    'cid': lambda v: isinstance(v, str) and re.fullmatch(r'1:[A-Za-z0-9+/]{27}=', v) is not None,
    'vlan': lambda v: isinstance(v, list) and 1 <= len(v) <= 4 and all(
        _is_int(x) and 0 <= x <= 4095 for x in v),
    'headers': lambda v: isinstance(v, list) and all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in v),
    'segments': lambda v: isinstance(v, list) and all(
        isinstance(s, list) and len(s) == 2 and all(_is_int(x) and x >= 0 for x in s)
        for s in v),
    'rsv': lambda v: _is_int(v) and 0 <= v <= 7,
    'shift': lambda v: _is_int(v) and 0 <= v <= 14,
    'frame_op': lambda v: v in ('cont', 'text', 'binary', 'close', 'ping', 'pong') or (
        _is_int(v) and 0 <= v <= 15),
}

ENDPOINT_RE = re.compile(r'^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+(?:%[^\]]+)?\]):\d{1,5}$')


def _is_b64(s):
    try:
        base64.b64decode(s, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def enum(*names):
    return frozenset(names)


DIR = enum('c2s', 's2c')
ANOMALY_KINDS = enum(
    'retransmission', 'fast_retransmission', 'spurious_retransmission', 'out_of_order',
    'lost_segment', 'acked_unseen', 'dup_ack', 'zero_window', 'zero_window_probe', 'window_full',
    'window_update', 'keep_alive', 'keep_alive_ack', 'overlap_mismatch', 'ooo_limit',
    'data_after_rst')
# "evicted" is not in EVENTS.md but wstap.h documents it (--max-flows) and it is additive.
CLOSE_HOW = enum('fin', 'rst', 'timeout', 'open', 'evicted')
FAIL_REASONS = enum('no_response_closed', 'no_response_reset', 'no_response_eof', 'status',
                    'accept_mismatch', 'missing_key', 'bad_version', 'bad_upgrade_headers',
                    'bad_key')

# ---- the contract: fields beyond ev/t/frame/conn, per event (EVENTS.md "Events" table) ---------
# A spec is a kind name from KINDS or a frozenset of allowed values; a trailing '?' on a kind
# name (or None inside the tuple form (spec, None)) means null is allowed.
EVENTS = {
    'tcp.syn': {'dir': DIR, 'flags': enum('S', 'SA'), 'win': 'uint', 'mss': 'uint?',
                'wscale': 'uint?', 'sack_perm': 'bool?', 'tsopt': 'any'},
    'tcp.open': {'client': 'endpoint', 'server': 'endpoint',
                 'handshake': enum('full', 'midstream'), 'irtt_ms': 'num?', 'mss_c': 'uint?',
                 'mss_s': 'uint?', 'wscale_c': 'shift?', 'wscale_s': 'shift?', 'sack': 'bool',
                 'vlan': 'vlan?', 'community_id': 'cid'},
    'tcp.anomaly': {'dir': DIR, 'kind': ANOMALY_KINDS, 'seq': 'int', 'len': 'uint'},
    'tcp.gap': {'dir': DIR, 'seq': 'int', 'len': 'uint'},
    'tcp.fin': {'dir': DIR, 'seq': 'uint', 'retransmitted': 'bool', 'peer_fin': 'bool'},
    'tcp.rst': {'dir': DIR, 'seq': 'uint', 'first': 'bool', 'len': 'uint'},
    'tcp.close': {'how': CLOSE_HOW, 'by': (enum('client', 'server'), None),
                  'teardown': (enum('4way', '3way', 'simultaneous', 'half'), None),
                  'bytes_c2s': 'uint', 'bytes_s2c': 'uint', 'pkts_c2s': 'uint',
                  'pkts_s2c': 'uint', 'duration': 'num'},
    'http.request': {'dir': DIR, 'method': 'str', 'target': 'str', 'version': 'str',
                     'headers': 'headers', 'hdr_bytes': 'uint', 'segments': 'segments'},
    'http.response': {'dir': DIR, 'status': 'uint', 'reason': 'str', 'version': 'str',
                      'headers': 'headers', 'hdr_bytes': 'uint', 'segments': 'segments'},
    'ws.open': {'key': 'str?', 'accept': 'str?', 'accept_ok': 'bool', 'version': 'any',
                'protocol': 'str?', 'extensions': 'str?',
                'compression': (enum('permessage-deflate', 'x-webkit-deflate-frame'), None),
                'params': 'obj'},
    'ws.fail': {'reason': FAIL_REASONS, 'status': 'uint?', 'detail': 'str'},
    'ws.frame': {'dir': DIR, 'fin': 'bool', 'rsv': 'rsv', 'opcode': 'frame_op', 'masked': 'bool',
                 'len': 'uint'},
    'ws.message': {'dir': DIR, 'opcode': enum('text', 'binary'), 'fragments': 'uint',
                   'compressed': 'bool', 'wire_len': 'uint', 'len': 'uint'},
    'ws.control': {'dir': DIR, 'opcode': enum('close', 'ping', 'pong'), 'len': 'uint'},
    'ws.error': {'dir': DIR, 'kind': 'str', 'detail': 'str'},
    'capture.end': {'packets': 'uint', 'bytes': 'uint', 'tcp_conns': 'uint', 'ws_conns': 'uint',
                    'dropped': 'uint?', 'ifdropped': 'uint?', 'ip_fragments': 'uint',
                    'ip_datagrams': 'uint', 'interrupted': 'bool'},
    # EVENTS.md "Added": one per connection at the end, what the summary row says
    'conn.summary': {'client': 'endpoint', 'server': 'endpoint', 'duration': 'num',
                     'bytes_c2s': 'uint', 'bytes_s2c': 'uint', 'pkts_c2s': 'uint',
                     'pkts_s2c': 'uint', 'how': (CLOSE_HOW, None),
                     'by': (enum('client', 'server'), None),
                     'teardown': (enum('4way', '3way', 'simultaneous', 'half'), None),
                     'history': 'str', 'retransmissions': 'uint', 'anomalies': 'uint',
                     'gap_bytes': 'uint', 'tls': 'bool', 'http2': 'bool',
                     'http_requests': 'uint', 'http_responses': 'uint', 'http_errors': 'uint',
                     'http_status_max': 'uint?', 'ws': enum('none', 'open', 'failed', 'midstream',
                                                           'unrecognized'),
                     'ws_fail': (FAIL_REASONS | {'bad_extension'}, None), 'ws_status': 'uint?',
                     'compression': (enum('permessage-deflate', 'x-webkit-deflate-frame'), None),
                     'text_c2s': 'uint', 'text_s2c': 'uint', 'binary_c2s': 'uint',
                     'binary_s2c': 'uint', 'ping': 'uint', 'pong': 'uint',
                     'deflate_wire': 'uint', 'deflate_len': 'uint', 'deflate_ratio': 'num?',
                     'close_c2s': 'uint?', 'close_s2c': 'uint?', 'ws_errors': 'uint',
                     'ws_error_first': 'str?', 'ok': 'bool', 'bad': 'list',
                     'community_id': 'cid?',
                     # latency and rates (issue 20), milliseconds / per second or null
                     'upgrade_ms': 'num?', 'http_min_ms': 'num?', 'http_median_ms': 'num?',
                     'http_max_ms': 'num?', 'rtt_min_ms': 'num?', 'rtt_median_ms': 'num?',
                     'rtt_max_ms': 'num?', 'rtt_pairs': 'uint', 'msg_rate_c2s': 'num?',
                     'msg_rate_s2c': 'num?', 'byte_rate_c2s': 'num?', 'byte_rate_s2c': 'num?',
                     'close_after_ms': 'num?'},
    # not in EVENTS.md (added by issue 19, documented in man/wstap.1 "JSON events")
    'tls.server_hello': {'dir': DIR, 'version': 'str', 'cipher': 'str', 'alpn': 'str?',
                         'resumed': 'bool', 'hrr': 'bool'},
    'tls.decrypt': {'status': enum('ok', 'no_key', 'tls13_needs_traffic_secrets', 'bad_key',
                                   'no_handshake', 'unsupported_cipher', 'gap'),
                    'record': 'uint', 'detail': 'str'},
    'tls.alert': {'dir': DIR, 'level': (enum('warning', 'fatal'), None), 'description': 'uint',
                  'name': 'str?', 'encrypted': 'bool'},
    'tls.key_update': {'dir': DIR, 'generation': 'uint', 'record': 'uint'},
    # not in EVENTS.md (an added event, documented in man/wstap.1 "Mid-stream WebSocket")
    'ws.midstream': {'recognized': 'bool',
                     'rule': (enum('chain', 'both_directions', 'end_of_stream', 'ws_port'), None),
                     'at_frame': 'uint?', 'detail': 'str'},
}
# Fields that depend on another field's value.
CLOSE_FIELDS = {'code': 'uint?', 'reason': 'str?'}       # ws.control opcode close
PINGPONG_FIELDS = {'data_b64': 'b64'}                     # ws.control opcode ping / pong
COMMON_ORDER = ('ev', 't', 'frame', 'conn', 'dir')
REPORT_MAX_ROWS = 16384  # connections with a summary row (and a conn.summary), src/report.h


def spec_ok(spec, v):
    nullable = False
    if isinstance(spec, tuple):
        spec, nullable = spec[0], True
    elif isinstance(spec, str) and spec.endswith('?'):
        spec, nullable = spec[:-1], True
    if v is None:
        return nullable or spec == 'any'
    if isinstance(spec, frozenset):
        return isinstance(v, str) and v in spec
    return KINDS[spec](v)


def spec_str(spec):
    if isinstance(spec, tuple):
        return spec_str(spec[0]) + ' or null'
    if isinstance(spec, frozenset):
        return 'one of ' + '/'.join(sorted(spec))
    if spec.endswith('?'):
        return spec[:-1] + ' or null'
    return spec


# ---- strict parsing ---------------------------------------------------------------------------


class RawFloat(float):
    """A float that remembers its text, to check the microsecond precision of "t"."""

    def __new__(cls, text):
        f = float.__new__(cls, text)
        f.text = text
        return f


def _reject_constant(name):
    raise ValueError('non-JSON number ' + name)


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError('duplicate key "%s"' % k)
        d[k] = v
    return d


DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_float=RawFloat,
                           parse_constant=_reject_constant)


def parse_line(text):
    obj, end = DECODER.raw_decode(text)
    if text[end:].strip():
        raise ValueError('trailing data after the object')
    return obj


# ---- the checker ------------------------------------------------------------------------------


class Checker:
    def __init__(self, label, offline, max_report):
        self.label = label
        self.offline = offline
        self.max_report = max_report
        self.problems = 0
        self.order = {}  # ev -> {(a, b)}: key a was seen before key b

    def bad(self, lineno, msg):
        self.problems += 1
        if self.problems <= self.max_report:
            where = '%s:%d' % (self.label, lineno) if lineno else self.label
            print('%s: %s' % (where, msg))

    def field(self, n, ev, obj, key, spec):
        if key not in obj:
            self.bad(n, '%s: missing "%s"' % (ev, key))
        elif not spec_ok(spec, obj[key]):
            self.bad(n, '%s: "%s" is %s, want %s' % (ev, key, json.dumps(obj[key])[:60],
                                                     spec_str(spec)))

    def key_order(self, n, ev, keys):
        seen = self.order.setdefault(ev, set())
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if (b, a) in seen:
                    self.bad(n, '%s: key order differs from an earlier %s line ("%s" before "%s" here)'
                             % (ev, ev, a, b))
                    return
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                seen.add((a, b))

    def check_event(self, n, obj):
        ev = obj.get('ev')
        if not isinstance(ev, str) or not ev:
            self.bad(n, 'missing or bad "ev": %s' % json.dumps(obj.get('ev')))
            return None
        keys = list(obj)
        common = [k for k in keys if k in COMMON_ORDER]
        if common != [k for k in COMMON_ORDER if k in obj]:
            self.bad(n, '%s: common keys out of order: %s' % (ev, ','.join(common)))
        if keys[0] != 'ev':
            self.bad(n, '%s: "ev" is not the first key' % ev)
        self.key_order(n, ev, keys)
        # t: seconds with microsecond precision
        t = obj.get('t')
        if not _is_num(t):
            self.bad(n, '%s: missing or bad "t": %s' % (ev, json.dumps(t)))
        elif isinstance(t, RawFloat) and re.search(r'\.\d{7,}|[eE]', t.text):
            self.bad(n, '%s: "t" %s is not in seconds with microsecond precision' % (ev, t.text))
        if not (_is_int(obj.get('frame')) and obj['frame'] >= (0 if ev.startswith('capture.')
                                                               else 1)):
            self.bad(n, '%s: missing or bad "frame": %s' % (ev, json.dumps(obj.get('frame'))))
        if ev.startswith('capture.'):
            if 'conn' in obj:
                self.bad(n, '%s: "conn" must be absent on capture.* events' % ev)
        elif ev in EVENTS:
            if not (_is_int(obj.get('conn')) and obj['conn'] >= 1):
                self.bad(n, '%s: missing or bad "conn": %s' % (ev, json.dumps(obj.get('conn'))))
        elif 'conn' in obj and not _is_int(obj['conn']):
            self.bad(n, '%s: bad "conn": %s' % (ev, json.dumps(obj['conn'])))
        spec = EVENTS.get(ev)
        if 'dir' in obj and obj['dir'] not in DIR and 'dir' not in (spec or {}):
            self.bad(n, '%s: bad "dir": %s' % (ev, json.dumps(obj['dir'])))
        if spec is None:
            return ev  # an event EVENTS.md does not define: only the common fields apply
        for key, s in spec.items():
            self.field(n, ev, obj, key, s)
        if ev == 'ws.message':
            has_text, has_b64 = 'text' in obj, 'data_b64' in obj
            if has_text == has_b64:
                self.bad(n, 'ws.message: needs exactly one of "text" and "data_b64"')
            if has_text:
                self.field(n, ev, obj, 'text', 'str')
            if has_b64:
                self.field(n, ev, obj, 'data_b64', 'b64')
            if 'truncated' in obj and obj['truncated'] is not True:
                self.bad(n, 'ws.message: "truncated" present but not true')
        elif ev == 'ws.control':
            extra = CLOSE_FIELDS if obj.get('opcode') == 'close' else PINGPONG_FIELDS
            for key, s in extra.items():
                self.field(n, ev, obj, key, s)
            if obj.get('opcode') == 'pong':
                self.field(n, ev, obj, 'rtt_ms', 'num?')
        elif ev == 'capture.end' and self.offline:
            for key in ('dropped', 'ifdropped'):
                if obj.get(key, None) is not None:
                    self.bad(n, 'capture.end: "%s" must be null when reading a file' % key)
        return ev

    def check_file(self, data):
        if not data:
            self.bad(0, 'no output at all (want at least capture.end)')
            return
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError as e:
            self.bad(0, 'output is not valid UTF-8: %s' % e)
            text = data.decode('utf-8', 'replace')
        if not text.endswith('\n'):
            self.bad(0, 'the last line does not end with a newline')
        lines = text.split('\n')
        if lines and lines[-1] == '':
            lines.pop()
        events = []  # (lineno, ev, obj)
        for n, line in enumerate(lines, 1):
            try:
                obj = parse_line(line)
            except ValueError as e:
                self.bad(n, 'not a JSON object line (%s): %s' % (e, line[:80]))
                continue
            if not isinstance(obj, dict):
                self.bad(n, 'not a JSON object: %s' % line[:80])
                continue
            ev = self.check_event(n, obj)
            if ev is not None:
                events.append((n, ev, obj))
        self.check_whole(len(lines), events)

    def check_whole(self, nlines, events):
        ends = [e for e in events if e[1] == 'capture.end']
        if len(ends) != 1:
            self.bad(0, '%d capture.end events, want exactly 1' % len(ends))
        if not ends or ends[-1][0] != nlines:
            self.bad(0, 'capture.end is not the last line')
        if not ends:
            return
        end = ends[-1][2]
        packets = end.get('packets')
        if _is_int(packets):
            for n, ev, obj in events:
                if _is_int(obj.get('frame')) and obj['frame'] > packets:
                    self.bad(n, '%s: frame %d is past the %d packets read' % (ev, obj['frame'],
                                                                              packets))
                    break
        # Connections: every id in 1..tcp_conns, each opened at most once, each closed once
        # (wst_finish closes what is still open with how "open").
        opens, closes, seen = {}, {}, set()
        for n, ev, obj in events:
            c = obj.get('conn')
            if ev.startswith('capture.') or not _is_int(c) or c < 1:
                continue
            seen.add(c)
            if ev == 'tcp.open':
                opens[c] = opens.get(c, 0) + 1
            elif ev == 'tcp.close':
                closes[c] = closes.get(c, 0) + 1
        for c in sorted(seen):
            if opens.get(c, 0) > 1:
                self.bad(0, 'conn %d: %d tcp.open events' % (c, opens[c]))
            if closes.get(c, 0) != 1:
                self.bad(0, 'conn %d: %d tcp.close events, want 1' % (c, closes.get(c, 0)))
        # tcp.fin: one first FIN per direction, before the close; a retransmitted one repeats
        # the first one's seq; peer_fin says whether the other direction's FIN came first.
        fins, closed = {}, set()
        for n, ev, obj in events:
            c = obj.get('conn')
            if ev == 'tcp.close':
                closed.add(c)
            if ev != 'tcp.fin':
                continue
            key, other = (c, obj.get('dir')), (c, 's2c' if obj.get('dir') == 'c2s' else 'c2s')
            if c in closed:
                self.bad(n, 'tcp.fin: after the tcp.close of conn %s' % c)
            if obj.get('retransmitted') is True:
                if key not in fins:
                    self.bad(n, 'tcp.fin: retransmitted, but no first FIN in that direction')
                elif fins[key] != obj.get('seq'):
                    self.bad(n, 'tcp.fin: retransmitted with seq %s, first FIN had %s'
                             % (obj.get('seq'), fins[key]))
                continue
            if key in fins:
                self.bad(n, 'tcp.fin: a second first FIN in the same direction')
            elif obj.get('peer_fin') is not (other in fins):
                self.bad(n, 'tcp.fin: peer_fin %s, but the other direction\'s FIN was%s seen'
                         % (obj.get('peer_fin'), '' if other in fins else ' not'))
            fins[key] = obj.get('seq')
        frags, dgrams = end.get('ip_fragments'), end.get('ip_datagrams')
        if _is_int(frags) and _is_int(dgrams) and 2 * dgrams > frags:
            self.bad(0, 'capture.end: %d datagrams cannot come from %d fragments'
                     % (dgrams, frags))
        self.check_summaries(nlines, events, seen)
        nconn = end.get('tcp_conns')
        if _is_int(nconn) and seen and max(seen) > nconn:
            self.bad(0, 'conn id %d is above capture.end tcp_conns %d' % (max(seen), nconn))
        if _is_int(nconn) and len(closes) != nconn:
            self.bad(0, 'capture.end tcp_conns is %d but %d connections were closed'
                     % (nconn, len(closes)))


    def check_summaries(self, nlines, events, seen):
        """conn.summary: one per connection, in id order, right before capture.end, agreeing
        with the connection's own events (where they were printed, i.e. not under -q)."""
        sums = [(n, obj) for n, ev, obj in events if ev == 'conn.summary']
        ids = [obj.get('conn') for n, obj in sums]
        want = sorted(c for c in seen if c <= REPORT_MAX_ROWS)
        if ids != want:
            self.bad(0, 'conn.summary for connections %s, want one each for %s in order'
                     % (ids[:10], want[:10]))
        if not sums:
            return
        if [n for n, obj in sums] != list(range(nlines - len(sums), nlines)):
            self.bad(0, 'conn.summary lines are not the ones right before capture.end')
        per = {}
        for n, ev, obj in events:
            if ev not in ('conn.summary', 'capture.end'):
                per.setdefault(obj.get('conn'), []).append((ev, obj))
        for n, s in sums:
            evs = per.get(s.get('conn'), [])
            if all(ev == 'tcp.close' for ev, _ in evs):
                continue  # -q, or a connection with nothing above TCP: nothing to compare
            self.summary_agrees(n, s, evs)

    def summary_agrees(self, n, s, evs):
        def want(key, v):
            if s.get(key) != v:
                self.bad(n, 'conn.summary conn %s: "%s" is %s, the events say %s'
                         % (s.get('conn'), key, json.dumps(s.get(key)), json.dumps(v)))
        count = lambda ev, **kv: sum(1 for e, o in evs if e == ev and all(
            o.get(k) == v for k, v in kv.items()))
        want('http_requests', count('http.request'))
        want('http_responses', count('http.response'))
        want('http_errors', count('http.error'))
        for op in ('text', 'binary'):
            for d in ('c2s', 's2c'):
                want('%s_%s' % (op, d), count('ws.message', opcode=op, dir=d))
        want('ping', count('ws.control', opcode='ping'))
        want('pong', count('ws.control', opcode='pong'))
        rtts = [o.get('rtt_ms') for e, o in evs if e == 'ws.control' and o.get('opcode') == 'pong'
                and o.get('rtt_ms') is not None]
        want('rtt_pairs', len(rtts))
        if 'rtt_min_ms' in s:  # the same text: min and max are values of the pongs' rtt_ms
            want('rtt_min_ms', min(rtts, key=float) if rtts else None)
            want('rtt_max_ms', max(rtts, key=float) if rtts else None)
        want('ws_errors', count('ws.error'))
        for d in ('c2s', 's2c'):
            codes = [o.get('code') for e, o in evs
                     if e == 'ws.control' and o.get('opcode') == 'close' and o.get('dir') == d]
            want('close_' + d, (1005 if codes[0] is None else codes[0]) if codes else None)
        last = [(e, o) for e, o in evs if e in ('ws.open', 'ws.fail')][-1:]
        if last and last[0][0] == 'ws.fail':  # the last upgrade on the connection failed
            want('ws', 'failed')
            want('ws_fail', last[0][1].get('reason'))
            want('ws_status', last[0][1].get('status'))
        elif last:
            want('ws', 'open')
        for e, o in evs:
            if e == 'tcp.close':
                for k in ('how', 'by', 'teardown', 'bytes_c2s', 'bytes_s2c', 'pkts_c2s',
                          'pkts_s2c', 'history'):
                    want(k, o.get(k))
        ok = s.get('ok')
        if ok is not (s.get('bad') == []):
            self.bad(n, 'conn.summary conn %s: "ok" %s with "bad" %s'
                     % (s.get('conn'), json.dumps(ok), json.dumps(s.get('bad'))[:80]))
        if last and last[0][0] == 'ws.fail' and ok:
            self.bad(n, 'conn.summary conn %s: ok although the upgrade failed' % s.get('conn'))


def main(argv):
    offline = False
    label = None
    max_report = 20
    files = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--offline':
            offline = True
        elif a in ('--label', '--max') and i + 1 < len(argv):
            i += 1
            if a == '--label':
                label = argv[i]
            else:
                max_report = int(argv[i])
        elif a.startswith('--'):
            print('usage: check_events.py [--offline] [--label L] [--max N] FILE...',
                  file=sys.stderr)
            return 2
        else:
            files.append(a)
        i += 1
    if not files:
        files = ['-']
    status = 0
    for f in files:
        if f == '-':
            data = sys.stdin.buffer.read()
        else:
            with open(f, 'rb') as fh:
                data = fh.read()
        c = Checker(label or f, offline, max_report)
        c.check_file(data)
        if c.problems:
            if c.problems > max_report:
                print('%s: ... %d problems in all' % (c.label, c.problems))
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
