#!/usr/bin/env python3
"""zeek_conn.py - wstap's connection history (tcp.close "history") against Zeek's conn.log
baselines in the corpus (CAPTURE.<test>.conn.log beside each capture).

Usage: zeek_conn.py CORPUS_DIR
Environment: WSTAP_BIN (default ./wstap), WSTAP_WRAP (a command put before wstap, e.g.
valgrind; anything it writes to stderr then fails the file).

For every conn.log: the TCP rows (proto tcp where the log has the column) are matched to
wstap's connections by their endpoints (id.orig_h/p = wstap's client, id.resp_h/p = its
server) where the log has them, else in order (then the counts must be equal). One check per
row: the history strings must be equal after leaving out of Zeek's the letters wstap does not
record: '^' (Zeek flipped the roles; wstap reports the roles it decided, and the letters'
case follows them in both), C (bad checksum: wstap does not verify checksums), I
(inconsistent packet), Q (SYN with data-carrying flags) and the lower/upper N, ... of newer
Zeek versions. Both record S H A D F R once per side and T G W at the 1st, 10th, 100th, ...
occurrence (Zeek's scheme), upper case for the client.
Explained (counted apart, not failed): a row whose Zeek history has C and differs. Zeek
(ignore_checksums=F) discards a segment with a bad TCP checksum and records only C; wstap,
like tshark's default (tcp.check_checksum off), does not verify checksums, because captures
taken on the sending host carry checksums the NIC fills in later (offload), so it analyzes
the segment (zeek/tcp/syn-bad.pcap: Zeek "C", wstap "S").
Prints "ok ..." / "FAIL ..." / "explained ..." per row and ends with
"zeekconn: N passed, N failed, N explained".
"""
import glob
import json
import os
import re
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEEP = set('SHADFRTGWshadfrtgw')


def capture_of(log):
    m = re.match(r'(.*\.pcap(?:ng)?)\.', log)
    return m.group(1) if m else None


def zeek_rows(log):
    fields = None
    rows = []
    with open(log, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('#fields'):
                fields = line.split('\t')[1:]
                continue
            if line.startswith('#') or not line.strip():
                continue
            cols = line.split('\t')
            if fields is None:  # a baseline printed with a header line of its own
                if 'history' in cols:
                    fields = cols
                continue
            rows.append(dict(zip(fields, cols)))
    if fields is None or 'history' not in fields:
        return None
    if 'proto' in fields:
        rows = [r for r in rows if r.get('proto') == 'tcp']
    return rows


def wstap_conns(path):
    wstap = os.environ.get('WSTAP_BIN', os.path.join(REPO, 'wstap'))
    wrap = shlex.split(os.environ.get('WSTAP_WRAP', ''))
    out = subprocess.run(wrap + [wstap, '-r', path, '--json'], capture_output=True, text=True,
                         env=dict(os.environ, TZ='UTC', LC_ALL='C'), check=False)
    if out.returncode not in (0, 2):
        raise RuntimeError('wstap exited %d: %s' % (out.returncode, out.stderr.strip()[:500]))
    if wrap and out.stderr.strip():
        raise RuntimeError('%s wrote to stderr: %s' % (wrap[0], out.stderr.strip()[:500]))
    opens, closes = {}, {}
    for line in out.stdout.splitlines():
        e = json.loads(line)
        if e['ev'] == 'tcp.open':
            opens[e['conn']] = (e['client'], e['server'])
        elif e['ev'] == 'tcp.close':
            closes[e['conn']] = e
    return [(cid, opens.get(cid), closes[cid]) for cid in sorted(closes)]


def ep(addr, port):
    return ('[%s]:%s' % (addr, port)) if ':' in addr else ('%s:%s' % (addr, port))


def main():
    corpus = sys.argv[1]
    passed = failed = explained = 0
    logs = sorted(glob.glob(os.path.join(corpus, '**', '*conn.log'), recursive=True))
    if not logs:
        print('FAIL %s: no conn.log baselines found' % corpus)
        failed += 1
    for log in logs:
        label = os.path.relpath(log, corpus)
        cap = capture_of(log)
        rows = zeek_rows(log)
        if not cap or not os.path.exists(cap) or rows is None:
            print('FAIL %s: no capture or no history column' % label)
            failed += 1
            continue
        try:
            conns = wstap_conns(cap)
        except RuntimeError as err:
            print('FAIL %s: %s' % (label, err))
            failed += 1
            continue
        have_ids = rows and all('id.orig_h' in r for r in rows)
        if not have_ids and len(rows) != len(conns):
            print('FAIL %s: Zeek has %d TCP connections, wstap %d' % (label, len(rows),
                                                                     len(conns)))
            failed += 1
            continue
        used = set()
        for i, r in enumerate(rows):
            match = None
            if have_ids:
                c, s = ep(r['id.orig_h'], r['id.orig_p']), ep(r['id.resp_h'], r['id.resp_p'])
                for cid, o, cl in conns:
                    if cid not in used and o and set(o) == {c, s}:
                        match = (cid, o, cl)
                        break
            else:
                match = conns[i]
            if match is None:
                print('FAIL %s row %d: no wstap connection between %s and %s' % (
                    label, i + 1, r.get('id.orig_h'), r.get('id.resp_h')))
                failed += 1
                continue
            used.add(match[0])
            want = ''.join(ch for ch in r['history'] if ch in KEEP)
            got = match[2].get('history')
            if got == want:
                print('ok %s row %d -> c%d: history %s (Zeek %s)' % (label, i + 1, match[0], got,
                                                                     r['history']))
                passed += 1
            elif 'C' in r['history'] or 'c' in r['history']:
                print('explained %s row %d -> c%d: history wstap %s, Zeek %s: Zeek dropped '
                      'segments with a bad checksum, wstap does not verify checksums' % (
                          label, i + 1, match[0], got, r['history']))
                explained += 1
            else:
                print('FAIL %s row %d -> c%d: history wstap %s, Zeek %s (compared: %s)' % (
                    label, i + 1, match[0], got, r['history'], want))
                failed += 1
    print('zeekconn: %d passed, %d failed, %d explained' % (passed, failed, explained))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
