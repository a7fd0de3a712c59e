#!/usr/bin/env python3
"""cli_check.py - the command line against its documentation, the CI exit statuses, and the
terminal safety of the timeline.

Usage: cli_check.py CORPUS_DIR
Environment: WSTAP_BIN (default ./wstap).

1. Every option --help lists (-x and --name) appears in man/wstap.1 (as \\-x / \\-\\-name),
   and every option the man page documents under OPTIONS (".BI \\-x", ".B \\-\\-name", ...)
   appears in --help; `wstap --version`'s version is the one in the man page's .TH line and
   in include/wstap/wstap.h.
2. Exit statuses (man page EXIT STATUS): 0 for a clean run, 1 when --strict or --fail-on
   finds what it names (with one "wstap: --fail-on ..." line per condition on stderr), 2 for
   a usage error, also when the --fail-on list does not parse or -C names no connection;
   the status is computed from facts of the pcaps/ captures that the generators recorded
   (pcaps/NAME.meta.json).
3. Terminal safety: the timeline of every capture in pcaps/ and the corpus, with -v -x and
   --payload-max 0 (everything shown), is valid UTF-8 and holds no C0 control byte but the
   newline, no DEL, no C1 control (U+0080-U+009F), no bidirectional override or isolate and
   no line/paragraph separator. pcaps/ws-hostile.pcap (payloads full of escape sequences and
   invalid UTF-8, see tests/gen/README.md) must show those bytes escaped (\\x1b, \\u202e,
   the binary message's invalid UTF-8 as hex): they are printed, not dropped.
4. The formatting thread changes nothing: for every capture in pcaps/ and the corpus, the
   timeline (-v -x --payload-max 0) and --json of `-r FILE` (formatted on the evq thread)
   are byte for byte those of `-r - < FILE` (formatted inline).
5. The JSON contract and the man page agree: every event name and every top-level field that
   `wstap --json` emits over pcaps/ and the corpus is documented in man/wstap.1's "JSON
   events" section, and every event name documented there is emitted by some capture. The
   documented set is read from the section's structure: the ".TP" items before "The events:"
   are the fields every event may have; each later ".TP" item whose first line is ".B NAME"
   (NAME with a dot) is an event, and the ".B"/".BR" lines of its item whose first word is a
   plain identifier are its fields (nested keys, options and other events' names do not
   count). Documented fields that no capture emits are listed, not failed.
6. The summary row and conn.summary agree: for every capture in pcaps/ and the corpus, each
   row of `wstap -q` ends in "-- ok" exactly when that connection's conn.summary (from
   `wstap -q --json`) has ok true, its "-- BAD: ..." reasons are conn.summary's bad joined
   with ", ", and its "ws failed [STATUS] (REASON)" / "ws open" / "ws midstream" part says
   conn.summary's ws, ws_status and ws_fail. A row wraps (man page: at 100 columns, after ", "
   or before " -- ", continuation lines indented 8 spaces): its lines are joined first, and a
   line longer than 100 columns that could have been broken within 100 fails; the summary's
   last line counts the rows that end in "-- ok" and in "-- BAD".
7. Interrupted reads (man page EXIT STATUS): `wstap -r FIFO` fed the first packets of a
   capture and stopped by SIGINT (JSON) or SIGTERM (timeline) while it waits for more exits 0
   with nothing on stderr; its last line is capture.end with "interrupted": true and the
   packets it was given, or the timeline's "interrupted after N packets" and the summary.
8.-11. -w FILE and the Community ID: see tests/wfile_check.py.
Prints "ok ..." / "FAIL ..." and ends with "cli: N passed, N failed".
"""
import glob
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WSTAP = os.environ.get('WSTAP_BIN', os.path.join(REPO, 'wstap'))
ENV = dict(os.environ, TZ='UTC', LC_ALL='C')
P = F = 0


def result(ok, what):
    global P, F
    if ok:
        P += 1
        print('ok ' + what)
    else:
        F += 1
        print('FAIL ' + what)


def run(args, **kw):
    return subprocess.run([WSTAP] + args, capture_output=True, env=ENV, timeout=300, **kw)


def check_docs():
    helptext = run(['--help']).stdout.decode()
    man = open(os.path.join(REPO, 'man', 'wstap.1'), encoding='utf-8').read()
    short = set(re.findall(r'^\s+-([A-Za-z])\b', helptext, re.M))
    short |= set(re.findall(r',\s+-([A-Za-z])\b', helptext))
    long_ = set(re.findall(r'--([a-z][a-z-]*)', helptext))
    for s in sorted(short):
        result(('\\-' + s) in man, '--help option -%s is in man/wstap.1' % s)
    for name in sorted(long_):
        result(('\\-\\-' + name.replace('-', '\\-')) in man,
               '--help option --%s is in man/wstap.1' % name)
    opts = man.split('.SH OPTIONS', 1)[1].split('\n.SH ', 1)[0]
    man_short = set(re.findall(r'^\.B[IR]* \\-([A-Za-z])\b', opts, re.M))
    man_long = set(m.replace('\\-', '-') for m in
                   re.findall(r'^\.B[IR]* \\-\\-((?:[a-z]|\\-)+)', opts, re.M))
    for s in sorted(man_short):
        result(re.search(r'(^|[\s,])-%s\b' % s, helptext, re.M) is not None,
               'man page option -%s is in --help' % s)
    for name in sorted(man_long):
        result(('--' + name) in helptext, 'man page option --%s is in --help' % name)
    ver = run(['--version']).stdout.decode().split('\n')[0]
    m = re.match(r'wstap (\S+)$', ver)
    th = re.search(r'^\.TH WSTAP 1 "[^"]*" "wstap ([^"]+)"', man, re.M)
    hdr = re.search(r'#define WSTAP_VERSION "([^"]+)"',
                    open(os.path.join(REPO, 'include', 'wstap', 'wstap.h')).read())
    result(bool(m and th and hdr and m.group(1) == th.group(1) == hdr.group(1)),
           '--version (%s) = man page .TH (%s) = WSTAP_VERSION (%s)' % (
               m and m.group(1), th and th.group(1), hdr and hdr.group(1)))


def meta(name):
    with open(os.path.join(REPO, 'pcaps', name + '.meta.json'), encoding='utf-8') as f:
        return json.load(f)


def resent_segments(path, sport):
    """Segments from port sport (Ethernet/IPv4/TCP pcap) whose payload bytes were all sent
    before in the capture: the retransmissions a sender-side capture proves."""
    import struct
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off, sent, n = 24, [], 0
    while off + 16 <= len(data):
        incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or pkt[12:14] != b'\x08\x00' or pkt[23] != 6:
            continue
        ihl = (pkt[14] & 15) * 4
        tot = struct.unpack('>H', pkt[16:18])[0]
        t = 14 + ihl
        if struct.unpack('>H', pkt[t:t + 2])[0] != sport:
            continue
        seq = struct.unpack('>I', pkt[t + 4:t + 8])[0]
        plen = tot - ihl - (pkt[t + 12] >> 4) * 4
        if plen <= 0:
            continue
        if any(lo <= seq and seq + plen <= hi for lo, hi in sent):
            n += 1
        sent.append((seq, seq + plen))
    return n


def check_exit(name, args, want, stderr_re=None):
    p = run(['-q', '-r', os.path.join(REPO, 'pcaps', name + '.pcap')] + args)
    err = p.stderr.decode(errors='replace')
    ok = p.returncode == want and (stderr_re is None or re.search(stderr_re, err, re.M))
    if want != 1 and stderr_re is None:
        ok = ok and err == ''
    result(bool(ok), '%s %s: exit %d (want %d)%s' % (
        name, ' '.join(args), p.returncode, want, (': ' + ' '.join(err.split())[:200]) if err else ''))


def check_ci():
    # a failure the generator recorded: the server reset the connection instead of answering
    m = meta('upg-short-read')
    failure = json.dumps(m).find('server') >= 0
    check_exit('upg-short-read', ['--strict'], 1 if failure else 0,
               r'^wstap: --fail-on upgrade>0: 1 failed WebSocket upgrade\(s\), first in c1 at #10$')
    check_exit('upg-short-read', ['--fail-on', 'rst'], 1, r'^wstap: --fail-on rst>0: 1 ')
    check_exit('upg-short-read', ['--fail-on', 'ws-error,overlap,gaps'], 0)
    # the two-write variant: the server's FIN came before the head was complete, its RSTs
    # after; the head's end arrived after the first RST (data_after_rst)
    m = meta('upg-short-read-2w')
    check_exit('upg-short-read-2w', ['--strict'],
               1 if m['expected_diagnosis']['failure'] else 0,
               r'^wstap: --fail-on upgrade>0: 1 failed WebSocket upgrade\(s\), first in c1 at #11$')
    check_exit('upg-short-read-2w', ['--fail-on', 'anomalies'], 1, r'^wstap: --fail-on ')
    # three writes: the head never completed on the wire; the upgrade still failed
    m = meta('upg-short-read-3w')
    check_exit('upg-short-read-3w', ['--strict'],
               1 if m['expected_diagnosis']['failure'] else 0,
               r'^wstap: --fail-on upgrade>0: 1 failed WebSocket upgrade\(s\), first in c1 at #11$')
    check_exit('ws-python-deflate', ['--strict'], 0)
    check_exit('ws-python-deflate', ['--fail-on', 'close!=1000,status>=400,inflate'], 0)
    # ws-frag-ping's client closes with 4001 (its sidecar records it)
    codes = [json.loads(l).get('code') for l in
             open(os.path.join(REPO, 'pcaps', 'ws-frag-ping.sent.jsonl'), encoding='utf-8')
             if '"close"' in l]
    check_exit('ws-frag-ping', ['--fail-on', 'close!=1000'], 1 if any(c != 1000 for c in codes)
               else 0, r'^wstap: --fail-on close!=1000: 2 WebSocket close code\(s\) matched, '
               r'first %d in c1' % codes[0])
    check_exit('upg-400', ['--fail-on', 'status>=400'], 1,
               r'^wstap: --fail-on status>=400: 1 HTTP response status\(es\) matched, first 400')
    check_exit('upg-400', ['--fail-on', 'status>=500'], 0)
    # the lossy bridge dropped segments: the sender retransmitted (15 segments on this
    # receiver-side capture; tests/tshark-tcpanal.sh checks each against the bridge log)
    check_exit('lossy-ws-recv', ['--fail-on', 'retransmissions>10'], 1,
               r'^wstap: --fail-on retransmissions>10: 15 retransmission')
    check_exit('lossy-ws-recv', ['--fail-on', 'retransmissions>=16'], 0)
    # on the sender-side capture every segment whose bytes were all sent before counts, also
    # those sent soon after the last new one (tshark calls 7 of them out-of-order): the count
    # is taken from the capture's own bytes, and is at least the bridge's drops after it
    for name in ('lossy-ws-send', 'lossy-http-send'):
        m = meta(name)
        n = resent_segments(os.path.join(REPO, 'pcaps', name + '.pcap'), m['server']['port'])
        drops = m['impairment']['bridge_counts']['s2c']
        result(n >= drops['drop'] + drops['dropseg'],
               '%s: %d resent segments >= %d bridge drops' %
               (name, n, drops['drop'] + drops['dropseg']))
        check_exit(name, ['--fail-on', 'retransmissions>%d' % (n - 1)], 1,
                   r'^wstap: --fail-on retransmissions>%d: %d retransmission' % (n - 1, n))
        check_exit(name, ['--fail-on', 'retransmissions>%d' % n], 0)
    check_exit('lossy-ws-recv', ['--fail-on', 'retransmissions>10', '--strict'], 1,
               r'retransmissions>10')
    for bad in ['bogus', 'close', 'retransmissions>', 'upgrade,,rst', 'rst>x']:
        check_exit('lossy-ws-recv', ['--fail-on', bad], 2, r'^wstap: --fail-on: ')
    # -C naming no connection is an error; naming one is not
    check_exit('upg-400', ['-C', 'c1'], 0)
    check_exit('upg-400', ['-C', 'c2'], 2,
               r'^wstap: -C c2: no such connection \(the input has 1 TCP connection\)$')
    check_exit('http-keepalive', ['-C', '999', '--json'], 2, r'no such connection')
    # a corrupt input is 2 even when a finding holds
    p = run(['--strict', '-r', os.path.join(REPO, 'pcaps', 'upg-short-read.pcap'), '-r',
             '/nonexistent.pcap'])
    result(p.returncode == 2, 'input error beats --strict: exit %d (want 2)' % p.returncode)


UNSAFE = re.compile('[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f\u200e\u200f\u2028-\u202e'
                    '\u2066-\u2069\ufeff]')


def check_term(corpus):
    caps = sorted(glob.glob(os.path.join(REPO, 'pcaps', '*.pcap*')))
    caps += sorted(glob.glob(os.path.join(corpus, '**', '*.pcap'), recursive=True))
    caps += sorted(glob.glob(os.path.join(corpus, '**', '*.pcapng'), recursive=True))
    bad = []
    for c in caps:
        out = run(['-v', '-x', '--payload-max', '0', '-r', c]).stdout
        try:
            text = out.decode('utf-8')
        except UnicodeDecodeError as e:
            bad.append('%s: not UTF-8 at byte %d' % (os.path.relpath(c, REPO), e.start))
            continue
        m = UNSAFE.search(text)
        if m:
            line = text.count('\n', 0, m.start()) + 1
            bad.append('%s: U+%04X on line %d' % (os.path.relpath(c, REPO), ord(m.group()), line))
    result(not bad and len(caps) > 50, 'timeline of %d captures (-v -x --payload-max 0) holds '
           'no raw control byte%s' % (len(caps), (': ' + '; '.join(bad[:5])) if bad else ''))
    hostile = os.path.join(REPO, 'pcaps', 'ws-hostile.pcap')
    if not os.path.exists(hostile):
        result(False, 'pcaps/ws-hostile.pcap exists')
        return
    text = run(['-v', '--payload-max', '0', '-r', hostile]).stdout.decode('utf-8', 'replace')
    for esc in ['\\x1b[2J', '\\x1b]0;', '\\x07', '\\u202e', '\\u009b', '\\x00', '\\x7f',
                '\\x08', 'ff fe 20 69 6e 76 61 6c 69 64']:
        result(esc in text, 'ws-hostile timeline shows %s escaped' % esc)


def captures(corpus):
    caps = sorted(glob.glob(os.path.join(REPO, 'pcaps', '*.pcap*')))
    caps += sorted(glob.glob(os.path.join(corpus, '**', '*.pcap'), recursive=True))
    caps += sorted(glob.glob(os.path.join(corpus, '**', '*.pcapng'), recursive=True))
    return caps


def check_threaded_same(corpus):
    caps = captures(corpus)
    for mode, opts in (('timeline', ['-v', '-x', '--payload-max', '0']), ('--json', ['--json'])):
        bad = []
        lines = 0
        for c in caps:
            threaded = run(opts + ['-r', c]).stdout
            with open(c, 'rb') as f:
                inline = run(opts + ['-r', '-'], stdin=f).stdout
            lines += threaded.count(b'\n')
            if threaded != inline or not threaded:
                bad.append(os.path.relpath(c, REPO))
        result(not bad and len(caps) > 50,
               '%s of %d captures (%d lines): -r FILE (formatting thread) = -r - < FILE%s'
               % (mode, len(caps), lines, (': differ: ' + ', '.join(bad[:5])) if bad else ''))


def man_json_contract():
    """(common fields, {event: fields}) documented under .SS JSON events."""
    man = open(os.path.join(REPO, 'man', 'wstap.1'), encoding='utf-8').read()
    sec = man.split('\n.SS JSON events\n', 1)[1]
    sec = re.split(r'\n\.S[HS] ', sec, 1)[0]
    head, sep, body = sec.partition('\nThe events:\n')
    if not sep:
        return None, None
    ident = re.compile(r'^[a-z][a-z0-9_]*$')
    evname = re.compile(r'^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$')
    field_line = re.compile(r'^\.BR? +(\S+)')

    def items(text):
        for item in re.split(r'^\.TP\n', text, flags=re.M)[1:]:
            item = re.split(r'^\.(?:PP|SS|SH)\b', item, 1, flags=re.M)[0]
            yield item.split('\n')

    common = set()
    for lines in items(head):
        m = field_line.match(lines[0])
        if m and ident.match(m.group(1)):
            common.add(m.group(1))
    events = {}
    for lines in items(body):
        m = field_line.match(lines[0])
        if not (m and evname.match(m.group(1))):
            continue
        fields = events.setdefault(m.group(1), set())
        for line in lines[1:]:
            f = field_line.match(line)
            if f and ident.match(f.group(1)):
                fields.add(f.group(1))
    return common, events


def check_json_documented(corpus):
    common, documented = man_json_contract()
    if not documented:
        result(False, 'man/wstap.1 has a "JSON events" section with "The events:" and items')
        return
    emitted = {}
    for c in captures(corpus):
        # a TLS capture with its key log beside it (pcaps/NAME.keys) is read with it, so the
        # events of decrypted sessions (tls.alert, tls.key_update) count as emitted
        keys = os.path.splitext(c)[0] + '.keys'
        extra = ['--keylog', keys] if os.path.exists(keys) else []
        for line in run(['--json', '-r', c] + extra).stdout.decode('utf-8',
                                                                  'replace').splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get('ev'), str):
                emitted.setdefault(obj['ev'], set()).update(obj)
    for ev in sorted(emitted):
        result(ev in documented, 'emitted event %s is documented in man/wstap.1' % ev)
        if ev not in documented:
            continue
        undoc = sorted(k for k in emitted[ev] if k != 'ev' and k not in common
                       and k not in documented[ev])
        result(not undoc, 'every field %s emits is documented in man/wstap.1%s'
               % (ev, (': not ' + ', '.join(undoc)) if undoc else ''))
    for ev in sorted(documented):
        unseen = sorted(documented[ev] - emitted.get(ev, set()))
        result(ev in emitted, 'documented event %s is emitted by some capture%s'
               % (ev, ' (documented fields not emitted here: %s)' % ', '.join(unseen)
                  if ev in emitted and unseen else ''))


ROW_RE = re.compile(r'^  c(\d+) +\S+ > \S+  (.*)$')
# A row whose stream was not recognized as WebSocket ends in this sentence, after its BAD
# reasons if any, instead of "-- ok".
UNREC_RE = re.compile(r'(?: -- |; )no handshake captured; not recognized as WebSocket; '
                      r'--ws-port \d+ forces it$')


def row_tail(rest):
    """(verdict, unrecognized): verdict is "ok", "BAD: ...", "" (unrecognized, no BAD
    reason) or None when the row has no verdict at all."""
    unrec = UNREC_RE.search(rest)
    if unrec:
        rest = rest[:unrec.start()]
    m = re.search(r' -- (ok|BAD: .*)$', rest)
    if m:
        return m.group(1), bool(unrec)
    return ('' if unrec else None), bool(unrec)


def row_ws(line):
    m = re.search(r', ws (failed(?: (\d+))? \(([a-z_]+)\)|open\b|midstream\b)', line)
    if not m:
        return ('none', None, None)
    if m.group(1).startswith('failed'):
        return ('failed', int(m.group(2)) if m.group(2) else None, m.group(3))
    return (m.group(1), None, None)


ROW_WIDTH = 100


def joined_rows(text, bad, label):
    """The timeline's lines with each summary row's continuation lines joined to it; a wrapped
    line that is too long although it has a break within ROW_WIDTH is put in bad."""
    out, in_row = [], False
    for line in text.splitlines():
        cont = in_row and line.startswith(' ' * 8) and not line.startswith(' ' * 9)
        if ROW_RE.match(line) or cont:
            if len(line) > ROW_WIDTH:
                # the first place the line could break: after ", " or before " -- "
                cuts = [i + 1 for i in range(len(line) - 1) if line[i:i + 2] == ', '
                        and line[:i].strip()] + [i for i in range(len(line) - 3)
                                                  if line[i:i + 4] == ' -- ' and line[:i].strip()]
                if cuts and min(cuts) <= ROW_WIDTH:
                    bad.append('%s: a %d-column summary line that breaks at column %d: %s'
                               % (label, len(line), min(cuts), line[:50]))
        if cont:
            out[-1] += ' ' + line.strip()
            continue
        in_row = bool(ROW_RE.match(line))
        out.append(line)
    return out


def check_summary_agrees(corpus):
    bad, rows = [], 0
    for c in captures(corpus):
        text = run(['-q', '-r', c]).stdout.decode('utf-8', 'replace')
        lines = joined_rows(text, bad, os.path.basename(c))
        nok = sum(1 for ln in lines if ROW_RE.match(ln) and ln.endswith(' -- ok'))
        nbad = sum(1 for ln in lines if ROW_RE.match(ln) and ' -- BAD: ' in ln)
        total = [ln for ln in lines if ln.startswith('  connections ') and ' ok, ' in ln]
        if any(ROW_RE.match(ln) for ln in lines) and (
                not total or total[-1] != lines[-1] or
                not total[-1].split(None, 1)[1].startswith('%d ok, %d BAD' % (nok, nbad))):
            bad.append('%s: last line %r, want "connections %d ok, %d BAD"'
                       % (os.path.basename(c), lines[-1] if lines else '', nok, nbad))
        sums = {}
        for line in run(['-q', '--json', '-r', c]).stdout.decode('utf-8', 'replace').splitlines():
            obj = json.loads(line)
            if obj.get('ev') == 'conn.summary':
                sums[obj['conn']] = obj
        seen = set()
        for line in lines:
            m = ROW_RE.match(line)
            if not m:
                continue
            tail, unrec = row_tail(m.group(2))
            if tail is None:
                continue
            rows += 1
            conn = int(m.group(1))
            seen.add(conn)
            s = sums.get(conn)
            if s is None:
                bad.append('%s c%d: a summary row without conn.summary'
                           % (os.path.basename(c), conn))
                continue
            if s['ok']:
                want = '' if s['ws'] == 'unrecognized' else 'ok'
            else:
                want = 'BAD: ' + ', '.join(s['bad'])
            got_ws = ('unrecognized', None, None) if unrec else row_ws(line)
            if tail != want or got_ws != (s['ws'], s['ws_status'], s['ws_fail']) or \
                    unrec != (s['ws'] == 'unrecognized'):
                bad.append('%s c%d: row "%s" %s, conn.summary "%s" %s' % (
                    os.path.basename(c), conn, tail[:60], got_ws, (want or '')[:60],
                    s and (s['ws'], s['ws_status'], s['ws_fail'])))
        if seen != set(sums):
            bad.append('%s: rows for %d connections, conn.summary for %d'
                       % (os.path.basename(c), len(seen), len(sums)))
    result(not bad and rows > 100, 'summary rows and conn.summary agree (%d rows, ok/BAD reasons '
           'and WebSocket verdict)%s' % (rows, (': ' + '; '.join(bad[:4])) if bad else ''))


def first_packets(path, k, tmp):
    """The bytes of a pcap file holding the first k packets of path (written by editcap,
    libpcap's writer in tshark's package: the test never parses the pcap format itself)."""
    out = os.path.join(tmp, 'first.pcap')
    subprocess.run(['editcap', '-F', 'pcap', '-r', path, out, '1-%d' % k], check=True,
                   stdout=subprocess.DEVNULL)
    data = open(out, 'rb').read()
    os.unlink(out)
    return data


def check_interrupt():
    import fcntl
    import signal
    import struct
    import tempfile
    import termios
    import time
    k = 10
    for sig, opts in ((signal.SIGINT, ['--json']), (signal.SIGTERM, [])):
        tmp = tempfile.mkdtemp(prefix='wstap-cli-')
        first = first_packets(os.path.join(REPO, 'pcaps', 'tcp-halfclose.pcap'), k, tmp)
        fifo = os.path.join(tmp, 'in.pcap')
        os.mkfifo(fifo)
        p = subprocess.Popen([WSTAP, '-r', fifo] + opts, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=ENV)
        w = open(fifo, 'wb')
        w.write(first)
        w.flush()
        # wait until wstap has taken every byte out of the pipe, then let it analyze them
        for _ in range(200):
            left = struct.unpack('i', fcntl.ioctl(w.fileno(), termios.FIONREAD, b'\0' * 4))[0]
            if left == 0:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        p.send_signal(sig)
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        w.close()
        os.unlink(fifo)
        os.rmdir(tmp)
        text = out.decode(errors='replace')
        lines = text.splitlines()
        name = signal.Signals(sig).name
        if opts:
            last = json.loads(lines[-1]) if lines else {}
            ok = (last.get('ev') == 'capture.end' and last.get('interrupted') is True and
                  last.get('packets') == k)
            what = 'last line %s' % (lines[-1][:160] if lines else '(none)')
        else:
            ends = [l for l in lines if re.match(r'^[0-9.]+ #%d +interrupted after %d packets$'
                                                 % (k, k), l)]
            ok = len(ends) == 1 and 'end of capture' not in text and \
                re.search(r'^  packets +%d \(' % k, text, re.M) is not None
            what = 'timeline %s' % (ends[0] if ends else 'without "interrupted after %d packets"' % k)
        ok = ok and p.returncode == 0 and err == b''
        result(ok, '%s after %d packets of a FIFO: exit %d (want 0), %s%s' % (
            name, k, p.returncode, what,
            ('; stderr: ' + ' '.join(err.decode(errors='replace').split())[:200]) if err else ''))


def check_tls_keys():
    """--keylog: a bad line warns with FILE:LINE and the run goes on; a missing file is exit 2;
    a pcapng with the key log injected as a Decryption Secrets Block (editcap
    --inject-secrets, made here) decrypts like --keylog; --fail-on tls-undecrypted."""
    import shutil
    import tempfile
    cap = os.path.join(REPO, 'pcaps', 'wss-py-tls12-rsa-aes128.pcap')
    keys = cap[:-len('.pcap')] + '.keys'

    def msgs(out):
        return [l for l in out.decode('utf-8', 'replace').splitlines()
                if '"ev":"ws.message"' in l]

    want = msgs(run(['--json', '-r', cap, '--keylog', keys]).stdout)
    result(len(want) > 0, '--keylog decrypts %s (%d messages)' % (os.path.basename(cap),
                                                                   len(want)))
    tmp = tempfile.mkdtemp(prefix='wstap-cli-tls-')
    try:
        bad = os.path.join(tmp, 'bad.keys')
        with open(keys, 'rb') as f, open(bad, 'wb') as g:
            g.write(b'CLIENT_RANDOM zz 00\n' + f.read())
        p = run(['--json', '-r', cap, '--keylog', bad])
        err = p.stderr.decode('utf-8', 'replace')
        result(p.returncode == 0 and re.match(r'^wstap: %s:1: ' % re.escape(bad), err) and
               len(err.splitlines()) == 1 and msgs(p.stdout) == want,
               'a bad key log line: one warning "wstap: FILE:1: ..." and the same messages '
               '(exit %d, stderr %r)' % (p.returncode, err[:160]))
        p = run(['-r', cap, '--keylog', os.path.join(tmp, 'missing.keys')])
        result(p.returncode == 2 and b'missing.keys' in p.stderr,
               '--keylog of a missing file: exit 2 with its name (exit %d)' % p.returncode)
        p = run(['-q', '-r', cap, '--fail-on', 'tls-undecrypted'])
        p2 = run(['-q', '-r', cap, '--keylog', keys, '--fail-on', 'tls-undecrypted'])
        result(p.returncode == 1 and b'tls-undecrypted' in p.stderr and p2.returncode == 0,
               '--fail-on tls-undecrypted: exit 1 without the key log, 0 with it (%d, %d)'
               % (p.returncode, p2.returncode))
        if not shutil.which('editcap'):
            result(False, 'editcap (wireshark-common) is needed for the pcapng DSB check')
            return
        ng = os.path.join(tmp, 'dsb.pcapng')
        subprocess.run(['editcap', '--inject-secrets', 'tls,' + keys, cap, ng], check=True,
                       capture_output=True)
        got = msgs(run(['--json', '-r', ng]).stdout)
        result(got == want, 'a pcapng Decryption Secrets Block decrypts like --keylog '
               '(%d of %d messages)' % (len(got), len(want)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, '..', 'shared', 'corpus')
    check_docs()
    check_ci()
    check_term(corpus)
    check_threaded_same(corpus)
    check_json_documented(corpus)
    check_summary_agrees(corpus)
    check_interrupt()
    check_tls_keys()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wfile_check
    wfile_check.check_all(REPO, corpus, run, result)
    print('cli: %d passed, %d failed' % (P, F))
    return 1 if F else 0


if __name__ == '__main__':
    sys.exit(main())
