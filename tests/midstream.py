#!/usr/bin/env python3
"""midstream.py - WebSocket picked up without its handshake, without --ws-port (issue 18, 3).

Part 1, messages. For every capture of pcaps/ with a generator's record (NAME.sent.jsonl):
wstap reads the whole capture; its messages must equal the record one for one (else the
capture is skipped: the wsmsg suite reports that). Each message gets the packet holding its
first frame header (from the ws.frame events) and the packet that completed it. The capture is
then cut with editcap (libpcap; `editcap -r IN OUT FIRST-LAST`) so that it starts
  boundary  at a packet that starts a message (the one before it in that direction completed
            in an earlier packet),
  midframe  at a packet inside a frame shorter than 64 KiB that spans packets,
  midlarge  inside a frame of 64 KiB or more,
(the first such point past the first third of the messages; a kind a capture has no point for
is counted as n/a) and wstap reads the cut capture WITHOUT --ws-port. Connections are matched
by their endpoints. Then:
  - every message whose first header is at or after the cut is reported, and its bytes equal
    the record; the only exception is a compressed message reported with no data and a
    lost_context error (its DEFLATE data refers to bytes before the cut) - and only in a
    capture negotiated with context takeover: without it every message must decode; and
    never a message whose DEFLATE data inflates alone to the recorded bytes (no
    back-reference at all: found independently of wstap, by parsing the frames of the whole
    capture's streams from tshark's follow,tcp,raw and inflating each with a fresh zlib);
  - every message reported (with or without data) is one of those, in order: no message the
    generator did not send, none from the tail of a frame cut in two;
  - every connection that carries such a message says "ws.midstream" with recognized true.

Part 2, no false WebSocket. For every capture of pcaps/ and of the corpus (../shared/corpus),
the connections that are not WebSocket in the whole capture (no ws.open, no ws.midstream
recognized) must stay so when the capture is cut at packets 2, N/3 and N/2 (so that their
streams start mid-stream): no ws.midstream recognized, no ws.frame, ws.message or ws.control.
This covers TLS, SSH, DNS over TCP, SMB, databases, HTTP with binary bodies in the corpus, and
the TCP streams of captures that carry WebSocket only inside TLS or a tunnel.

Environment: WSTAP_BIN (default ./wstap), WSTAP_CORPUS. Last line: "midstream: N passed, N failed".
"""
import base64
import glob
import json
import os
import subprocess
import sys
import tempfile
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WSTAP = os.environ.get("WSTAP_BIN", os.path.join(REPO, "wstap"))
CORPUS = os.environ.get("WSTAP_CORPUS", os.path.join(os.path.dirname(REPO), "shared", "corpus"))
LARGE = 65536


def run(path):
    out = subprocess.run([WSTAP, "-r", path, "--json", "--payload-max", "0"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0 or out.stderr.strip():
        raise RuntimeError("wstap exited %d: %s" % (out.returncode, out.stderr.strip()[:500]))
    return [json.loads(l) for l in out.stdout.splitlines()]


def packets(path):
    out = subprocess.run(["capinfos", "-c", "-M", path], capture_output=True, text=True,
                         check=True)
    for line in out.stdout.splitlines():
        if "Number of packets" in line:
            return int(line.split(":")[1].strip())
    raise RuntimeError("capinfos: no packet count for " + path)


def cut(path, first, tmp):
    """The capture from packet `first` (1-based) on, by editcap (libpcap/wiretap)."""
    dst = os.path.join(tmp, "cut-%d%s" % (first, os.path.splitext(path)[1]))
    subprocess.run(["editcap", "-r", path, dst, "%d-%d" % (first, 1 << 30)], check=True,
                   capture_output=True)
    return dst


def conn_keys(events):
    keys = {}
    for e in events:
        if e["ev"] == "tcp.open":
            keys[e["conn"]] = (e["client"], e["server"])
    return keys


def ev_bytes(e):
    if "text" in e:
        return e["text"].encode("utf-8")
    if "data_b64" in e:
        return base64.b64decode(e["data_b64"])
    return b""


def rec_bytes(r):
    if "text" in r:
        return r["text"].encode("utf-8")
    if "data_b64" in r:
        return base64.b64decode(r["data_b64"])
    return b""


def same(r, e):
    if r["opcode"] != e["opcode"]:
        return False
    if r["opcode"] == "close":
        return r.get("code") == e.get("code") and (r.get("reason") or "") == (e.get("reason") or "")
    return r["len"] == e["len"] and rec_bytes(r) == ev_bytes(e) and not e.get("truncated")


def messages(events):
    """Per (client, server, dir): the messages and control frames in order, each with the packet
    of its first header (hdr), the packet that completed it (end) and its largest frame."""
    keys = conn_keys(events)
    out = {}
    starts = {}
    for e in events:
        if e["ev"] not in ("ws.frame", "ws.message", "ws.control"):
            continue
        k = keys.get(e["conn"], ("?", "?")) + (e["dir"],)
        if e["ev"] == "ws.frame":
            st = starts.setdefault(k, {"data": [], "ctrl": None, "cur": None})
            if e["opcode"] in ("close", "ping", "pong"):
                st["ctrl"] = (e["frame"], e["len"])
            elif e["opcode"] == "cont":
                if st["cur"] is not None:
                    st["cur"][1] = max(st["cur"][1], e["len"])
            else:
                st["cur"] = [e["frame"], e["len"]]
                st["data"].append(st["cur"])
            continue
        st = starts.get(k, {"data": [], "ctrl": None, "cur": None})
        if e["ev"] == "ws.control":
            hdr, big = st["ctrl"] if st["ctrl"] else (None, 0)
        else:
            hdr, big = st["data"].pop(0) if st["data"] else (None, 0)
        out.setdefault(k, []).append({"e": e, "hdr": hdr, "end": e["frame"], "big": big})
    return out


def records(path):
    want = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                want.setdefault((r["conn"], r["dir"]), []).append(r)
    return want


def cut_points(msgs):
    """{kind: [packet, ...]} for boundary, midframe, midlarge: candidates in order (past the
    first third of the messages, but for midlarge any large frame)."""
    allm = sorted((m for ms in msgs.values() for m in ms if m["hdr"]), key=lambda m: m["hdr"])
    if not allm:
        return {}
    third = allm[len(allm) // 3]["hdr"]
    pts = {}
    for k, ms in msgs.items():
        prev_end = 0
        for m in ms:
            if m["hdr"] is None:
                continue
            if m["hdr"] >= third and m["hdr"] > prev_end:
                pts.setdefault("boundary", set()).add(m["hdr"])
            if m["end"] > m["hdr"] and m["big"] >= LARGE:  # any large frame will do
                pts.setdefault("midlarge", set()).add(m["hdr"] + 1)
            elif m["end"] > m["hdr"] and m["hdr"] >= third - 1:
                pts.setdefault("midframe", set()).add(m["hdr"] + 1)
            prev_end = m["end"]
    return {k: sorted(v) for k, v in pts.items()}


def tcp_trouble(events, shift, keys=None):
    """The gaps and TCP anomalies, by connection endpoints, kind and (whole-capture) packet."""
    keys = keys or conn_keys(events)
    return {(keys.get(e["conn"]), e["ev"], e.get("kind"), e["frame"] + shift) for e in events
            if e["ev"] in ("tcp.gap", "tcp.anomaly")}


def follow_raw(cap, idx):
    """The two byte streams of TCP stream idx (node 0 = the sender of its first packet), by
    tshark's follow (libpcap and tshark's reassembly; no pcap parsing here)."""
    out = subprocess.run(["tshark", "-r", cap, "-q", "-z", "follow,tcp,raw,%d" % idx],
                         capture_output=True, text=True, check=True).stdout
    data = [bytearray(), bytearray()]
    body = False
    for line in out.splitlines():
        if line.startswith("Node 1:"):
            body = True
            continue
        if not body or line.startswith("===") or not line.strip():
            continue
        data[1 if line.startswith("\t") else 0] += bytes.fromhex(line.strip())
    return bytes(data[0]), bytes(data[1])


def raw_messages(buf, masked):
    """[(opcode, compressed DEFLATE data or None)] per message/control frame, in completion
    order, parsed from a direction's bytes (after the HTTP head when there is one)."""
    pos = buf.index(b"\r\n\r\n") + 4 if buf[:4] in (b"GET ", b"HTTP") else 0
    out, msg = [], None
    while pos < len(buf):
        b0, b1 = buf[pos], buf[pos + 1]
        fin, rsv1, op, ln = b0 >> 7, (b0 >> 6) & 1, b0 & 15, b1 & 127
        pos += 2
        if ln >= 126:
            k = 2 if ln == 126 else 8
            ln = int.from_bytes(buf[pos:pos + k], "big")
            pos += k
        if (b1 >> 7) != masked:
            raise ValueError("mask bit")
        key = buf[pos:pos + 4] if masked else b""
        pos += 4 if masked else 0
        pl = bytearray(buf[pos:pos + ln])
        if len(pl) != ln:
            raise ValueError("truncated")
        pos += ln
        for i in range(ln if masked else 0):
            pl[i] ^= key[i & 3]
        if op >= 8:
            out.append((op, None))
            continue
        if op:
            msg = [op, [], bool(rsv1)]
        msg[1].append(bytes(pl))
        if fin:
            out.append((msg[0], b"".join(msg[1]) + b"\x00\x00\xff\xff" if msg[2] else None))
            msg = None
    return out


def standalone(cap, full, fm, rec_of):
    """{(key, i): True} for the compressed messages of the whole capture whose DEFLATE data
    inflates alone, with no earlier bytes (no back-reference), to the recorded bytes. Empty
    when the streams cannot be parsed (a capture with holes, say)."""
    keys = conn_keys(full)
    rows = subprocess.run(["tshark", "-r", cap, "-T", "fields", "-e", "tcp.stream", "-e",
                           "tcp.srcport"], capture_output=True, text=True,
                          check=True).stdout.split("\n")
    first = {}
    for r in rows:
        f = r.split("\t")
        if len(f) == 2 and f[0] and f[0] not in first:
            first[f[0]] = int(f[1])
    res = {}
    ops = {1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
    for sid, sport in first.items():
        try:
            n0, n1 = follow_raw(cap, int(sid))
        except subprocess.CalledProcessError:
            continue
        for k in [k for k in fm if k[:2] in keys.values()]:
            cport = int(k[0].rsplit(":", 1)[1])
            c2s, s2c = (n0, n1) if sport == cport else (n1, n0)
            if int(k[1].rsplit(":", 1)[1]) not in (sport,) and sport != cport:
                continue
            try:
                msgs = raw_messages(c2s if k[2] == "c2s" else s2c, 1 if k[2] == "c2s" else 0)
            except (ValueError, IndexError, TypeError):
                continue
            if [ops.get(o) for o, _ in msgs] != [m["e"]["opcode"] for m in fm[k]]:
                continue
            for i, (_, z) in enumerate(msgs):
                if z is None or (k, i) not in rec_of:
                    continue
                try:
                    alone = zlib.decompressobj(-15).decompress(z) == rec_bytes(rec_of[(k, i)])
                except zlib.error:
                    alone = False
                if alone:
                    res[(k, i)] = True
    return res


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.na = 0

    def ok(self, label):
        self.passed += 1
        print("ok   " + label)

    def fail(self, label, why):
        self.failed += 1
        print("FAIL %s: %s" % (label, why))


def check_cut(t, base, cap, full_msgs, rec_of, takeover, kind, first, tmp, full_trouble,
              alone):
    """False when the cut falls inside a loss episode (the cut capture shows gaps or TCP
    anomalies that the whole one does not: bytes sent before the cut arrive after it, so which
    messages "start after the cut" is not defined by packets); the caller tries the next."""
    label = "%s %s (from packet %d)" % (base, kind, first)
    try:
        events = run(cut(cap, first, tmp))
    except Exception as ex:  # noqa: BLE001
        t.fail(label, str(ex))
        return True
    keys = conn_keys(events)
    if tcp_trouble(events, first - 1, keys) - full_trouble:
        print("skip %s: inside a loss episode (TCP sees gaps or anomalies the whole capture "
              "does not)" % label)
        return False
    got = messages(events)
    recognized = {keys.get(e["conn"]) for e in events
                  if e["ev"] == "ws.midstream" and e.get("recognized")}
    opened = {keys.get(e["conn"]) for e in events if e["ev"] == "ws.open"}
    bad = []
    decoded = nodata = 0
    standalone_seen = [0]
    shift = first - 1
    for k in sorted(set(full_msgs) | set(got)):
        want = [(m, rec_of[(k, i)], alone.get((k, i))) for i, m in enumerate(full_msgs.get(k, []))
                if m["hdr"] is not None and m["hdr"] > shift]
        have = got.get(k, [])
        if want and k[:2] not in opened and k[:2] not in recognized:
            bad.append("%s %s: no ws.midstream recognized" % (k[1], k[2]))
        # every reported message is the next expected one, completed by the same packet
        j = 0
        for h in have:
            e = h["e"]
            while j < len(want) and want[j][0]["end"] - shift < h["end"]:
                m, r, _ = want[j]
                if not (r.get("lost")):
                    bad.append("%s: message completed at packet %d (%s) missing"
                               % (k[2], m["end"], r["opcode"]))
                j += 1
            if j >= len(want) or want[j][0]["end"] - shift != h["end"]:
                bad.append("%s: a %s at packet %d that the generator did not send there"
                           % (k[2], e["opcode"], h["end"] + shift))
                continue
            m, r, alone_ok = want[j]
            j += 1
            no_data = e["ev"] == "ws.message" and e.get("lost")
            if no_data:
                if alone_ok:
                    bad.append("%s: message at packet %d reported lost_context, but its DEFLATE "
                               "data inflates alone (no back-reference)" % (k[2], m["end"]))
                    alone_ok = None
                if not (e.get("compressed") and takeover):
                    bad.append("%s: message at packet %d reported without data (%s)"
                               % (k[2], m["end"], "compressed, no context takeover"
                                  if e.get("compressed") else "uncompressed"))
                nodata += 1
            elif not same(r, e):
                bad.append("%s: message at packet %d differs from the record" % (k[2], m["end"]))
            else:
                decoded += 1
                standalone_seen[0] += bool(alone_ok)
        for m, r, _ in want[j:]:
            if not r.get("lost"):
                bad.append("%s: message completed at packet %d (%s) missing"
                           % (k[2], m["end"], r["opcode"]))
    if bad:
        t.fail(label, " | ".join(bad[:4]) + (" (+%d)" % (len(bad) - 4) if len(bad) > 4 else ""))
    else:
        t.ok("%s: %d decoded (%d compressed without back-reference), %d lost_context"
             % (label, decoded, standalone_seen[0], nodata))
    return True


def part1(t, tmp):
    for side in sorted(glob.glob(os.path.join(REPO, "pcaps", "*.sent.jsonl"))):
        base = os.path.basename(side)[:-len(".sent.jsonl")]
        cap = next((os.path.join(REPO, "pcaps", base + x) for x in (".pcap", ".pcapng")
                    if os.path.exists(os.path.join(REPO, "pcaps", base + x))), None)
        if not cap:
            continue
        full = run(cap)
        fm = messages(full)
        keys = conn_keys(full)
        want = records(side)
        rec_of = {}
        usable = bool(fm)
        for k, ms in fm.items():
            cid = next((c for c, v in keys.items() if v == k[:2]), None)
            rs = want.get((cid, k[2]), [])
            if len(rs) != len(ms) or any(not r.get("lost") and not same(r, m["e"])
                                         for r, m in zip(rs, ms)):
                usable = False
                break
            for i, r in enumerate(rs):
                rec_of[(k, i)] = r
        if not usable:
            print("n/a  %s: the whole capture does not match its record message for message "
                  "(see the wsmsg suite)" % base)
            t.na += 1
            continue
        takeover = any(e["ev"] == "ws.open" and e.get("compression") == "permessage-deflate"
                       and not (e["params"]["server_no_context_takeover"]
                                and e["params"]["client_no_context_takeover"])
                       for e in full)
        if not any(e["ev"] == "ws.open" for e in full):
            takeover = True  # nothing negotiated seen: assume the worst for lost_context
        pts = cut_points(fm)
        trouble = tcp_trouble(full, 0)
        alone = standalone(cap, full, fm, rec_of) if any(
            m["e"].get("compressed") for ms in fm.values() for m in ms) else {}
        for kind in ("boundary", "midframe", "midlarge"):
            done = False
            for first in pts.get(kind, [])[:8]:
                if check_cut(t, base, cap, fm, rec_of, takeover, kind, first, tmp, trouble,
                             alone):
                    done = True
                    break
            if not done:
                print("n/a  %s %s: no such point in this capture%s" % (
                    base, kind, " outside loss episodes" if pts.get(kind) else ""))
                t.na += 1


def ws_conns(events):
    keys = conn_keys(events)
    return {keys.get(e["conn"]) for e in events
            if e["ev"] == "ws.open" or (e["ev"] == "ws.midstream" and e.get("recognized"))}


def part2(t, tmp):
    caps = sorted(glob.glob(os.path.join(REPO, "pcaps", "*.pcap")) +
                  glob.glob(os.path.join(REPO, "pcaps", "*.pcapng")))
    for ext in ("pcap", "pcapng", "cap"):
        caps += sorted(glob.glob(os.path.join(CORPUS, "**", "*." + ext), recursive=True))
    for cap in caps:
        label = os.path.relpath(cap, os.path.dirname(REPO))
        try:
            full = run(cap)
            n = packets(cap)
        except Exception as ex:  # noqa: BLE001
            t.fail(label, str(ex))
            continue
        ws = ws_conns(full)
        bad = []
        for first in sorted({p for p in (1, 2, n // 3, n // 2) if 1 <= p <= n}):
            try:
                ev = run(cap if first == 1 else cut(cap, first, tmp))
            except Exception as ex:  # noqa: BLE001
                bad.append("from packet %d: %s" % (first, ex))
                continue
            keys = conn_keys(ev)
            for e in ev:
                k = keys.get(e.get("conn"))
                if k in ws or k is None:
                    continue
                if e["ev"] in ("ws.frame", "ws.message", "ws.control") or (
                        e["ev"] == "ws.midstream" and e.get("recognized")):
                    bad.append("from packet %d: %s on non-WebSocket %s > %s (packet %d)"
                               % (first, e["ev"], k[0], k[1], e["frame"] + first - 1))
                    break
        if bad:
            t.fail(label, " | ".join(bad[:3]))
        else:
            t.ok("%s: no false WebSocket (%d WebSocket connection%s in the whole capture)"
                 % (label, len(ws), "" if len(ws) == 1 else "s"))


def main():
    t = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        part1(t, tmp)
        part2(t, tmp)
    print("midstream: %d passed, %d failed (%d n/a)" % (t.passed, t.failed, t.na))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
