"""wfile_check.py - -w FILE and the Community ID, run by tests/cli_check.py (the cli suite).

8. -w round trip: for captures of pcaps/, `wstap -q -w OUT -r X` writes a pcap that tshark
   reads as the same packets as X (frame.len, frame.cap_len, frame.time_epoch to the
   microsecond, tcp.stream), that `wstap --json` reads as the same events (capture-level lines
   aside), and capture.end's "written" counts them.
9. -C ID -w OUT: for every connection of captures with several, OUT holds exactly the frames
   of tshark's `-Y tcp.stream==N` for that connection (N: tshark's stream of the frame of
   wstap's tcp.open); IP fragments are not attributed to a connection (see wstap(1)).
10. `-w -` writes the pcap to stdout (tshark -r - reads the same packets) and the timeline to
   stderr; several -r files of one link type make one file; files of different link types
   are refused with exit 2 before anything is written; -w onto an input is refused (exit 2).
11. Community ID: tcp.open and conn.summary carry the same community_id; it equals the one
   Arkime recorded (network.community_id in the corpus's other/arkime/*.arkime.test) for the
   same TCP endpoints and the spec computed here in Python (hashlib) over pcaps/, seeds 0 and
   4242; --community-id-seed changes it and is checked for range.
"""
import base64
import glob
import hashlib
import ipaddress
import json
import os
import subprocess
import tempfile

TSHARK_FIELDS = ['frame.len', 'frame.cap_len', 'frame.time_epoch', 'tcp.stream']


def tshark_rows(path, dfilter=None, fields=TSHARK_FIELDS, stdin=None):
    args = ['tshark', '-n', '-r', path, '-T', 'fields']
    if dfilter:
        args += ['-Y', dfilter]
    for f in fields:
        args += ['-e', f]
    p = subprocess.run(args, capture_output=True, input=stdin, timeout=300)
    rows = []
    for line in p.stdout.decode('utf-8', 'replace').splitlines():
        cols = line.split('\t')
        i = fields.index('frame.time_epoch') if 'frame.time_epoch' in fields else -1
        if i >= 0 and '.' in cols[i]:
            a, b = cols[i].split('.', 1)
            cols[i] = a + '.' + b[:6]  # -w writes microseconds, as wstap reads
        rows.append(tuple(cols))
    return p.returncode, rows


def events(run, args):
    p = run(['--json'] + args)
    out = []
    end = None
    for line in p.stdout.decode('utf-8', 'replace').splitlines():
        ev = json.loads(line)
        if ev['ev'] == 'capture.end':
            end = ev
            continue
        out.append(ev)
    return p.returncode, out, end


ROUND_TRIP = ['http-keepalive.pcap', 'ws-python-deflate.pcap', 'ws-pcapng.pcapng', 'ws-sll.pcap',
              'ws-vlan.pcap', 'ws-ipv6.pcap', 'http-ipfrag.pcap', 'lossy-ws-recv.pcap',
              'ws-raw.pcap', 'tcp-rst.pcap']
SPLIT = ['http-keepalive.pcap', 'upg-keepalive.pcap', 'ws-loop.pcap', 'lossy-http-recv.pcap']


def check_round_trip(repo, run, result):
    with tempfile.TemporaryDirectory() as tmp:
        for name in ROUND_TRIP:
            src = os.path.join(repo, 'pcaps', name)
            if not os.path.exists(src):
                result(False, '-w round trip: %s exists' % name)
                continue
            out = os.path.join(tmp, 'out.pcap')
            rc, ev_src, end_src = events(run, ['-r', src])
            rc_w, ev_w, end_w = events(run, ['-w', out, '-r', src])
            _, t_src = tshark_rows(src)
            trc, t_out = tshark_rows(out)
            result(rc_w == rc and trc == 0 and t_src == t_out and len(t_src) > 0,
                   '-w %s: tshark reads the same %d packets (len, caplen, time, stream)'
                   % (name, len(t_src)))
            result(ev_w == ev_src, '-w %s: the JSON events are the same with -w' % name)
            rc2, ev_out, end_out = events(run, ['-r', out])
            result(ev_out == ev_src and rc2 == rc,
                   '-w %s: wstap reads the written file as the same %d events' % (name, len(ev_src)))
            result(end_w is not None and end_w.get('written') == len(t_src) == end_w['packets']
                   and end_src is not None and 'written' not in end_src,
                   '-w %s: capture.end "written" is %d (only with -w)' % (name, len(t_src)))


def check_split(repo, run, result):
    with tempfile.TemporaryDirectory() as tmp:
        for name in SPLIT:
            src = os.path.join(repo, 'pcaps', name)
            _, evs, _ = events(run, ['-r', src])
            opens = [e for e in evs if e['ev'] == 'tcp.open']
            _, frames = tshark_rows(src, fields=['frame.number', 'tcp.stream'])
            stream_of = {int(f[0]): f[1] for f in frames}
            for o in opens:
                out = os.path.join(tmp, 'c%d.pcap' % o['conn'])
                p = run(['-q', '-C', str(o['conn']), '-w', out, '-r', src])
                n = stream_of.get(o['frame'])
                _, want = tshark_rows(src, 'tcp.stream==%s' % n, TSHARK_FIELDS[:3])
                _, got = tshark_rows(out, None, TSHARK_FIELDS[:3])
                result(p.returncode == 0 and n not in (None, '') and got == want and len(got) > 0,
                       '-C c%d -w %s: the %d packets of tshark tcp.stream==%s'
                       % (o['conn'], name, len(want), n))
                _, evc, endc = events(run, ['-r', out])
                mine = [e for e in evs if e.get('conn') == o['conn'] and e['ev'] != 'conn.summary']
                theirs = [e for e in evc if e['ev'] != 'conn.summary']
                same = [(e['ev'], e.get('t') is not None) for e in mine] == \
                       [(e['ev'], e.get('t') is not None) for e in theirs]
                result(same and all(e.get('conn') == 1 for e in theirs),
                       '-C c%d -w %s: wstap sees that connection (as c1) with the same events'
                       % (o['conn'], name))


def check_stdout_and_files(repo, run, result):
    src = os.path.join(repo, 'pcaps', 'ws-python-deflate.pcap')
    p = run(['-w', '-', '-r', src])
    _, want = tshark_rows(src)
    trc, got = tshark_rows('-', stdin=p.stdout)
    err = p.stderr.decode('utf-8', 'replace')
    result(p.returncode == 0 and trc == 0 and got == want and 'end of capture' in err,
           '-w - | tshark -r -: the same %d packets; the timeline is on stderr' % len(want))
    p = run(['-q', '-w', '-', '-r', src])
    result(p.returncode == 0 and p.stdout[:4] in (b'\xd4\xc3\xb2\xa1', b'\xa1\xb2\xc3\xd4'),
           '-q -w -: standard output is a pcap file')
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'two.pcap')
        a = os.path.join(repo, 'pcaps', 'ws-python-plain.pcap')
        b = os.path.join(repo, 'pcaps', 'http-keepalive.pcap')
        p = run(['-q', '-w', out, '-r', a, '-r', b])
        _, ra = tshark_rows(a, fields=TSHARK_FIELDS[:3])
        _, rb = tshark_rows(b, fields=TSHARK_FIELDS[:3])
        _, ro = tshark_rows(out, fields=TSHARK_FIELDS[:3])
        result(p.returncode == 0 and ro == ra + rb,
               '-w with two -r files of one link type: one file of %d packets' % len(ro))
        out2 = os.path.join(tmp, 'mixed.pcap')
        p = run(['-q', '-w', out2, '-r', a, '-r', os.path.join(repo, 'pcaps', 'ws-sll.pcap')])
        result(p.returncode == 2 and b'one link type' in p.stderr and not os.path.exists(out2),
               '-w with -r files of different link types: exit 2, nothing written')
        p = run(['-q', '-w', a, '-r', a])
        result(p.returncode == 2 and b'also an input' in p.stderr,
               '-w onto an -r input: exit 2, the input is kept')
        p = run(['-q', '-w', os.path.join(tmp, 'no', 'such', 'dir.pcap'), '-r', a])
        result(p.returncode == 2 and b'-w ' in p.stderr, '-w into a missing directory: exit 2')
        p = run(['-q', '-w', '/dev/full', '-r', a])
        result(p.returncode == 2 and b'write error' in p.stderr and b'written' not in p.stdout,
               '-w /dev/full: "write error", exit 2, no "packets written" count')


def check_community_id(corpus, run, result):
    checked = 0
    for test in sorted(glob.glob(os.path.join(corpus, 'other', 'arkime', '*.arkime.test'))):
        pcap = test[:-len('.arkime.test')]
        if not os.path.exists(pcap):
            continue
        d = json.load(open(test))
        known = {}
        for s in d.get('sessions3', []):
            b = s.get('body', s)
            if b.get('ipProtocol') != 6 or not b.get('network', {}).get('community_id'):
                continue
            src = (b['source']['ip'], b['source']['port'])
            dst = (b['destination']['ip'], b['destination']['port'])
            known[frozenset([src, dst])] = b['network']['community_id']
        _, evs, _ = events(run, ['-r', pcap])
        for e in evs:
            if e['ev'] != 'tcp.open':
                continue
            ends = []
            for ep in (e['client'], e['server']):
                host, port = ep.rsplit(':', 1)
                ends.append((host.strip('[]'), int(port)))
            want = known.get(frozenset(ends))
            if want is None:
                continue
            checked += 1
            result(e.get('community_id') == want, 'community_id of %s c%d = Arkime\'s %s (got %s)'
                   % (os.path.basename(pcap), e['conn'], want, e.get('community_id')))
    result(checked >= 5, 'community_id compared with Arkime on %d connections' % checked)


def spec_community_id(a, b, seed=0, proto=6):
    """The spec's algorithm, written from its README independently of src/commid.c."""
    def split(ep):
        host, port = ep.rsplit(':', 1)
        return ipaddress.ip_address(host.strip('[]')).packed, int(port)
    (sa, sp), (da, dp) = split(a), split(b)
    if (sa, sp) > (da, dp):
        (sa, sp), (da, dp) = (da, dp), (sa, sp)
    data = (seed.to_bytes(2, 'big') + sa + da + bytes([proto, 0]) + sp.to_bytes(2, 'big')
            + dp.to_bytes(2, 'big'))
    return '1:' + base64.b64encode(hashlib.sha1(data).digest()).decode()


def check_community_id_fields(repo, run, result):
    for name in ('ws-loop.pcap', 'ws-ipv6.pcap', 'ws-vlan.pcap', 'http-keepalive.pcap'):
        for seed in (0, 4242):
            _, evs, _ = events(run, ['--community-id-seed', str(seed), '-r',
                                     os.path.join(repo, 'pcaps', name)])
            opens = [e for e in evs if e['ev'] == 'tcp.open']
            result(opens and all(e['community_id'] == spec_community_id(e['client'], e['server'],
                                                                        seed) for e in opens),
                   'community_id of %s (seed %d, %d connections) = the spec computed in Python'
                   % (name, seed, len(opens)))

    src = os.path.join(repo, 'pcaps', 'http-keepalive.pcap')
    _, evs, _ = events(run, ['-r', src])
    opens = {e['conn']: e['community_id'] for e in evs if e['ev'] == 'tcp.open'}
    sums = {e['conn']: e['community_id'] for e in evs if e['ev'] == 'conn.summary'}
    result(opens and opens == sums and all(v.startswith('1:') and len(v) == 30
                                            for v in opens.values()),
           'community_id: tcp.open and conn.summary agree (%d connections)' % len(opens))
    _, evs1, _ = events(run, ['--community-id-seed', '1', '-r', src])
    o1 = {e['conn']: e['community_id'] for e in evs1 if e['ev'] == 'tcp.open'}
    result(o1.keys() == opens.keys() and all(o1[k] != opens[k] for k in o1),
           '--community-id-seed 1 gives other IDs')
    for bad in ('65536', '-1', 'x'):
        p = run(['--community-id-seed', bad, '-r', src])
        result(p.returncode == 2 and b'--community-id-seed' in p.stderr,
               '--community-id-seed %s: usage error, exit 2' % bad)


def check_all(repo, corpus, run, result):
    check_round_trip(repo, run, result)
    check_split(repo, run, result)
    check_stdout_and_files(repo, run, result)
    check_community_id(corpus, run, result)
    check_community_id_fields(repo, run, result)
