#!/usr/bin/env python3
"""upgrade_expect.py - the WebSocket upgrade outcome wstap reports for each capture in pcaps/
against what the generator recorded (pcaps/NAME.meta.json, "expected_diagnosis").

Failures: the generator records what went wrong in its own words ("failure"); the table below
maps each to the ws.fail reasons that name that cause and to words the detail must contain.
One check per capture with a recorded failure: some ws.fail has an allowed reason and its detail
matches every pattern. Captures where a proxy stripped the Upgrade headers must show
bad_upgrade_headers on the proxy's upstream connection.

Successes: every capture with a sidecar of sent messages (pcaps/NAME.sent.jsonl) and no
recorded failure was a working WebSocket session. One check per ws.open: accept_ok is true, the
accept equals base64(SHA-1(key + GUID)) computed here, and the negotiated permessage-deflate
parameters equal those this script parses from the 101 response's Sec-WebSocket-Extensions
header (wstap's http.response event, which the http suite checks against tshark). A capture
with a sidecar but no ws.open fails, unless it was picked up mid-stream (tcp.open handshake
"midstream"): then messages must have been decoded on a mid-stream connection.

TLS captures (a key log pcaps/NAME.keys beside them, tests/gen/gen-wss.sh) are read with
--keylog NAME.keys once wstap has that option, and skipped until then; a capture none of whose
sessions has its keys (meta expect_decrypt no_key / bad_key) must then have no ws.open.

Ends with "upgrade: N passed, N failed".
"""
import base64
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

# generator's failure -> (allowed ws.fail reasons, regexes the detail must match)
FAILURES = {
    'server-closed-without-response': (
        ['no_response_reset', 'no_response_closed'],
        [r'without answering', r'\d+ bytes in \d+ segments']),
    'no-response-client-gave-up': (
        ['no_response_closed', 'no_response_reset'],
        [r'client gave up', r'never answered']),
    'upgrade-rejected': (['status'], [r'"400 Bad Request"', r'body begins']),
    'unsupported-websocket-version': (
        ['bad_version'], [r'Sec-WebSocket-Version', r'requires 13']),
    'bad-sec-websocket-accept': (
        ['accept_mismatch'], [r'Sec-WebSocket-Accept is "[^"]+" but the key calls for']),
    'invalid-sec-websocket-key': (
        ['bad_key'], [r'Sec-WebSocket-Key that is not base64 of 16 bytes', r'"400 ']),
    # the server's FIN came before the head was complete, then RSTs: in that order, with the
    # byte counts the generator recorded (filled in from the meta below)
    'server-closed-before-head-complete': (
        ['no_response_closed'],
        [r'closed the connection \(FIN at [0-9.]+ s, #{fin_frame}\) after {bytes_before_fin} '
         r"of the request's bytes had arrived, before the head was complete "
         r'\({request_head_bytes} bytes by its end',
         r'\(FIN at .*\(RST at [0-9.]+ s, #{rst_frame}\)']),
    'server-closed-head-never-complete': (
        ['no_response_closed'],
        [r'closed the connection \(FIN at [0-9.]+ s, #{fin_frame}\) after {bytes_before_fin} '
         r"of the request's bytes had arrived, before the head was complete \(its end is not "
         r'in the capture, which holds {request_head_bytes_captured} bytes of it\)',
         r'\(FIN at .*\(RST at [0-9.]+ s, #{rst_frame}\)']),
    'proxy-dropped-upgrade': (
        ['bad_upgrade_headers'], [r'proxy', r'Upgrade']),
}


def events(pcap, keys=None):
    env = dict(os.environ, TZ='UTC', LC_ALL='C')
    extra = ['--keylog', keys] if keys else []
    p = subprocess.run([os.environ.get('WSTAP_BIN', os.path.join(REPO, 'wstap')), '-r', pcap] +
                       extra + ['--json'], capture_output=True, text=True, env=env, check=False)
    if p.returncode != 0:
        raise RuntimeError('wstap exit %d: %s' % (p.returncode, p.stderr.strip()[-200:]))
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith('{')]


def pmd_params(value):
    """permessage-deflate parameters of an accepted Sec-WebSocket-Extensions value."""
    for ext in value.split(','):
        parts = [x.strip() for x in ext.split(';')]
        if parts[0].lower() != 'permessage-deflate':
            continue
        out = {'server_no_context_takeover': False, 'client_no_context_takeover': False,
               'server_max_window_bits': None, 'client_max_window_bits': None}
        for prm in parts[1:]:
            k, _, v = prm.partition('=')
            k = k.strip().lower()
            v = v.strip().strip('"')
            if k.endswith('no_context_takeover'):
                out[k] = True
            elif k.endswith('max_window_bits'):
                out[k] = int(v) if v else None
        return out
    return {}


def main():
    os.chdir(REPO)
    passed = failed = 0
    try:
        keylog_ok = '--keylog' in subprocess.run(
            [os.environ.get('WSTAP_BIN', os.path.join(REPO, 'wstap')), '--help'],
            capture_output=True, text=True, check=False).stdout
    except OSError:
        keylog_ok = False

    def result(ok, msg):
        nonlocal passed, failed
        print(('ok   ' if ok else 'FAIL ') + msg)
        if ok:
            passed += 1
        else:
            failed += 1

    for meta_path in sorted(glob.glob('pcaps/*.meta.json')):
        name = os.path.basename(meta_path)[:-len('.meta.json')]
        pcap = next((p for p in ('pcaps/%s.pcap' % name, 'pcaps/%s.pcapng' % name)
                     if os.path.exists(p)), None)
        if not pcap:
            continue
        meta = json.load(open(meta_path))
        failure = (meta.get('expected_diagnosis') or {}).get('failure')
        sidecar = os.path.exists('pcaps/%s.sent.jsonl' % name)
        if not failure and not sidecar:
            continue
        keys = 'pcaps/%s.keys' % name
        if not os.path.exists(keys):
            keys = None
        elif not keylog_ok:
            print('skip %s: TLS capture, wstap has no --keylog yet (make tlsoracle)' % name)
            continue
        try:
            evs = events(pcap, keys)
        except RuntimeError as e:
            result(False, '%s: %s' % (name, e))
            continue
        if failure:
            if failure not in FAILURES:
                result(False, '%s: the generator recorded failure "%s", which this test does '
                       'not know' % (name, failure))
                continue
            reasons, pats = FAILURES[failure]
            d = meta['expected_diagnosis']
            c0 = (meta.get('connections') or [{}])[0]
            ev_of = [e for e in c0.get('events', [])]
            fill = {'bytes_before_fin': d.get('bytes_before_fin'),
                    'request_head_bytes': d.get('request_head_bytes'),
                    'request_head_bytes_captured': d.get('request_head_bytes_captured'),
                    'fin_frame': next((e['frame'] for e in ev_of if e['flag'] == 'FIN'), None),
                    'rst_frame': next((e['frame'] for e in ev_of if e['flag'] == 'RST'), None)}
            pats = [p.format(**fill) if '{' in p else p for p in pats]
            fails = [e for e in evs if e['ev'] == 'ws.fail']
            good = [e for e in fails if e['reason'] in reasons and
                    all(re.search(p, e['detail']) for p in pats)]
            result(bool(good), '%s: %s -> ws.fail %s%s' % (
                name, failure, '/'.join(reasons),
                '' if good else '; got ' + json.dumps([(e['reason'], e['detail'][:160])
                                                       for e in fails])))
            # the summary says the same: conn.summary ws "failed" with the reason and the
            # status of the response that failed it; a 101 with a wrong accept is not
            # counted among the WebSocket connections
            sums = {e['conn']: e for e in evs if e['ev'] == 'conn.summary'}
            bad = []
            for f in fails:
                s = sums.get(f['conn'], {})
                if (s.get('ws'), s.get('ws_fail'), s.get('ws_status'), s.get('ok')) != (
                        'failed', f['reason'], f['status'], False):
                    bad.append('conn %d: %r' % (f['conn'], [s.get(k) for k in (
                        'ws', 'ws_fail', 'ws_status', 'ok')]))
            valid = sum(1 for e in evs if e['ev'] == 'ws.open' and e.get('accept_ok') is True)
            end = [e for e in evs if e['ev'] == 'capture.end']
            if not end or end[-1].get('ws_conns') != valid:
                bad.append('capture.end ws_conns %r, valid upgrades %d'
                           % (end[-1].get('ws_conns') if end else None, valid))
            result(bool(fails) and not bad, '%s: conn.summary shows each failed upgrade with '
                   'its reason and status; ws_conns counts valid upgrades only%s'
                   % (name, ': ' + '; '.join(bad) if bad else ''))
            continue
        rsp101 = {}
        for e in evs:
            if e['ev'] == 'http.response' and e.get('status') == 101:
                rsp101[e['conn']] = e
        opens = [e for e in evs if e['ev'] == 'ws.open']
        tls_conns = meta.get('connections') or []
        if keys and tls_conns and all(c.get('expect_decrypt') in ('no_key', 'bad_key')
                                      for c in tls_conns):
            result(not opens, '%s: no session has its keys: %d ws.open' % (name, len(opens)))
            continue
        if not opens:
            # picked up mid-stream: no handshake to check, but the frames must be recognized
            mid = [e['conn'] for e in evs if e['ev'] == 'tcp.open' and
                   e.get('handshake') == 'midstream']
            msgs = [e for e in evs if e['ev'] == 'ws.message' and e['conn'] in mid]
            result(bool(msgs), '%s: %s' % (name, 'no handshake captured; %d messages decoded '
                                           'mid-stream' % len(msgs) if msgs else
                                           'a WebSocket session (sidecar) but no ws.open'))
            continue
        for o in opens:
            want = base64.b64encode(hashlib.sha1((o['key'] + GUID).encode()).digest()).decode()
            problems = []
            if o.get('accept_ok') is not True:
                problems.append('accept_ok is %r' % o.get('accept_ok'))
            if o.get('accept') != want:
                problems.append('accept %r, key calls for %r' % (o.get('accept'), want))
            r = rsp101.get(o['conn'])
            ext = None
            if r:
                for k, v in r['headers']:
                    if k.lower() == 'sec-websocket-extensions':
                        ext = v if ext is None else ext + ', ' + v
            if ext and 'permessage-deflate' in ext.lower():
                if o.get('compression') != 'permessage-deflate':
                    problems.append('compression %r' % o.get('compression'))
                if o.get('params') != pmd_params(ext):
                    problems.append('params %r, the 101 says %r' % (o.get('params'),
                                                                    pmd_params(ext)))
            elif o.get('compression') is not None:
                problems.append('compression %r without a negotiated extension'
                                % o.get('compression'))
            result(not problems, '%s conn %d: ws.open accept ok%s%s' % (
                name, o['conn'], ', ' + ext if ext else '',
                '' if not problems else ': ' + '; '.join(problems)))
    print('upgrade: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
