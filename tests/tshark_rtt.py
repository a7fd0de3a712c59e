#!/usr/bin/env python3
"""tshark_rtt.py - wstap's ping round trips (ws.control pong rtt_ms, conn.summary rtt_*)
against tshark.

Usage: tshark_rtt.py CAPTURE...
Environment: WSTAP_BIN (default ./wstap), TSHARK (default tshark).

For every capture in which wstap reports a pong: tshark (out-of-order reassembly on, each
server port of wstap's conn.summary decoded as http, or as websocket for a connection picked up
mid-stream) lists every WebSocket ping and pong frame with its packet, direction, unmasked
payload and packet time. The expected round trips come from those alone, by RFC 6455 5.5.3:
a pong answers the latest ping the other side sent with the same payload that no pong answered
yet; the pings before it are passed over; a pong that matches no outstanding ping, or two or
more with the same payload, has no round trip. The expected round trip is the pong packet's
time minus the ping packet's time, in microseconds from tshark's nanosecond-printed epoch times
(the capture's own precision). wstap's pong at the same packet, direction and payload must
carry exactly that rtt_ms (null where none is expected), and conn.summary's rtt_pairs,
rtt_min_ms and rtt_max_ms must be the count, minimum and maximum of them. wstap keeps only the
4 latest unanswered pings per direction: a pong whose ping is older than that is reported (as
FAIL) so the bound is seen if a capture ever needs it. One check per capture; a capture where
tshark finds no control frame wstap found (TLS without keys) is skipped.
Last line: "latency: N passed, N failed, N skipped".
"""
import base64
import json
import os
import subprocess
import sys
from decimal import Decimal

WSTAP = os.environ.get('WSTAP_BIN', './wstap')
TSHARK = os.environ.get('TSHARK', 'tshark')


def us_of(epoch):
    d = Decimal(epoch)
    return int((d * 1000000).to_integral_value())


def ms_text(us):
    return '%d.%03d' % (us // 1000, us % 1000)


def wstap_events(cap):
    out = subprocess.run([WSTAP, '--json', '-r', cap], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=False).stdout.decode()
    ctl, sums = [], {}
    for line in out.splitlines():
        o = json.loads(line, parse_float=str)
        if o.get('ev') == 'ws.control' and o.get('opcode') in ('ping', 'pong'):
            ctl.append(o)
        elif o.get('ev') == 'conn.summary':
            sums[o['conn']] = o
    return ctl, sums


def tshark_controls(cap, sums):
    cmd = [TSHARK, '-n', '-r', cap, '-o', 'tcp.reassemble_out_of_order:TRUE']
    ports = {}
    for s in sums.values():
        port = int(s['server'].rsplit(':', 1)[1])
        if s['ws'] in ('open', 'midstream'):
            ports[port] = 'websocket' if s['ws'] == 'midstream' else 'http'
    for port, proto in sorted(ports.items()):
        if port != 80 or proto != 'http':
            cmd += ['-d', 'tcp.port==%d,%s' % (port, proto)]
    cmd += ['-Y', 'websocket.opcode==9 || websocket.opcode==10', '-T', 'fields', '-E',
            'occurrence=a', '-E', 'aggregator=|', '-e', 'frame.number', '-e', 'frame.time_epoch',
            '-e', 'tcp.srcport', '-e', 'websocket.opcode', '-e', 'websocket.payload_length',
            '-e', 'websocket.payload.ping', '-e', 'websocket.payload.pong', '-e', 'tcp.stream']
    env = dict(os.environ)
    env['WIRESHARK_CONFIG_DIR'] = '/nonexistent-wstap-rtt'
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                         check=False).stdout.decode()
    frames = []  # (packet, us, srcport, opcode, payload hex, tcp stream)
    for line in out.splitlines():
        f = line.split('\t')
        while len(f) < 8:
            f.append('')
        ops = [int(x) for x in f[3].split('|') if x]
        lens = [int(x) for x in f[4].split('|') if x]
        pings = [x for x in f[5].split('|') if x]
        pongs = [x for x in f[6].split('|') if x]
        # payload_length lists every frame of the packet; ping/pong payloads only non-empty
        # ones: hand them out in order, an empty payload where the length is 0
        if len(lens) != len(ops):
            lens = [None] * len(ops)
        for op, ln in zip(ops, lens):
            if op not in (9, 10):
                continue
            src = pings if op == 9 else pongs
            if ln == 0:
                hx = ''
            elif src:
                hx = src.pop(0)
            else:
                hx = None  # tshark did not show it
            frames.append((int(f[0]), us_of(f[1]), int(f[2]), op, hx, f[7]))
    return frames


def expected(frames, sums):
    """{(packet, dir, payload hex): rtt us or None}, and the pongs whose ping wstap's ring
    of 4 would have dropped."""
    server_ports = {int(s['server'].rsplit(':', 1)[1]) for s in sums.values()}
    out, beyond = {}, []
    outstanding = {}  # pings by connection and sender: (us, hex)
    for pkt, us, src, op, hx, stream in frames:
        d = 's2c' if src in server_ports else 'c2s'
        other = 'c2s' if d == 's2c' else 's2c'
        if hx is None:
            continue
        if op == 9:
            outstanding.setdefault((stream, d), []).append((us, hx))
            continue
        lst = outstanding.setdefault((stream, other), [])
        idx = [i for i, (_, h) in enumerate(lst) if h == hx]
        if not idx:
            out[(pkt, d, hx)] = None
            continue
        k = idx[-1]
        rtt = us - lst[k][0] if len(idx) == 1 else None
        if len(idx) == 1 and len(lst) - k > 4:
            beyond.append(pkt)
        del lst[:k + 1]
        out[(pkt, d, hx)] = rtt if rtt is None or rtt >= 0 else None
    return out, beyond


def check(cap):
    ctl, sums = wstap_events(cap)
    pongs = [o for o in ctl if o['opcode'] == 'pong']
    if not pongs:
        return None, 'no pong'
    frames = tshark_controls(cap, sums)
    if not frames:
        return 'skip', 'tshark shows no WebSocket control frame (encrypted?)'
    want, beyond = expected(frames, sums)
    problems, paired = [], 0
    for o in pongs:
        hx = base64.b64decode(o['data_b64']).hex()
        key = (o['frame'], o['dir'], hx)
        if key not in want:
            problems.append('pong at #%d %s not among tshark\'s pongs' % (o['frame'], o['dir']))
            continue
        w = want[key]
        got = o.get('rtt_ms')
        if (w is None) != (got is None) or (w is not None and got != ms_text(w)):
            problems.append('pong #%d: rtt_ms %s, tshark\'s packet times say %s' % (
                o['frame'], got, 'null' if w is None else ms_text(w)))
        paired += w is not None
    for conn, s in sums.items():
        rtts = [want.get((o['frame'], o['dir'], base64.b64decode(o['data_b64']).hex()))
                for o in pongs if o['conn'] == conn]
        rtts = [r for r in rtts if r is not None]
        if s['rtt_pairs'] != len(rtts):
            problems.append('c%d: rtt_pairs %d, want %d' % (conn, s['rtt_pairs'], len(rtts)))
        elif rtts and (s['rtt_min_ms'] != ms_text(min(rtts)) or
                       s['rtt_max_ms'] != ms_text(max(rtts))):
            problems.append('c%d: rtt min/max %s/%s, want %s/%s' % (
                conn, s['rtt_min_ms'], s['rtt_max_ms'], ms_text(min(rtts)), ms_text(max(rtts))))
    if beyond:
        problems.append('pongs at %s answer a ping older than the 4 kept' % beyond)
    if problems:
        return 'fail', '; '.join(problems[:4])
    return 'ok', '%d pong(s), %d with a round trip equal to tshark\'s packet times' % (
        len(pongs), paired)


def main(argv):
    P = F = S = 0
    for cap in argv:
        st, msg = check(cap)
        if st is None:
            continue
        label = os.path.basename(cap)
        if st == 'ok':
            P += 1
            print('ok   %s: %s' % (label, msg))
        elif st == 'skip':
            S += 1
            print('skip %s: %s' % (label, msg))
        else:
            F += 1
            print('FAIL %s: %s' % (label, msg))
    print('latency: %d passed, %d failed, %d skipped' % (P, F, S))
    return 1 if F else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
