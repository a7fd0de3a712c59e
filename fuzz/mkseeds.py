#!/usr/bin/env python3
"""mkseeds.py - seed corpora for the libFuzzer targets (make fuzz runs it).

Usage: mkseeds.py --wstap ./wstap --out DIR [--max-len N] PATH...

PATH is a capture or a directory searched recursively for captures (*.pcap, *.pcapng; the
corpus keeps peer outputs such as X.pcap.tshark.txt beside them, which are not captures).
  DIR/pcap/    every capture, copied as it is (fuzz_pcap reads whole files)
  DIR/stream/  fuzz_stream inputs made from each connection's reassembled streams:
               `wstap --json --streams TMP -r CAPTURE` gives TMP/<conn>.c2s and .s2c, and its
               tcp.gap events say where bytes were never captured. Per connection:
                 - mode 0 (plain): both streams as they are, chunks alternating c2s / s2c,
                   the gaps where they were;
                 - for a connection with ws.open: the frames after the handshake, once with the
                   harness's own handshake (mode 1, or mode 2 with the negotiated
                   permessage-deflate parameters / deflate-frame) and once as raw WebSocket
                   on a --ws-port (mode 3).
The input format is described at the top of fuzz/fuzz_stream.c. Seeds are named by the SHA-1
of their contents (as libFuzzer names corpus files), so duplicates collapse.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

CHUNK = 1448  # bytes per chunk: one Ethernet-sized TCP segment


def find_captures(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith((".pcap", ".pcapng")):
                        out.append(os.path.join(root, f))
        elif os.path.isfile(p):
            out.append(p)
    return out


def gap_header(n):
    """Gap chunks for n lost bytes: (h & 0xfff) << (4 * ((h >> 12) & 3))."""
    hs = []
    while n > 0:
        for e in range(4):
            m = n >> (4 * e)
            if m < 0x1000:
                break
        else:
            m = 0xFFF
        if m == 0:
            m = 1
        hs.append((e, min(m, 0xFFF)))
        n -= min(m, 0xFFF) << (4 * e)
    return [0x8000 | (e << 12) | m for e, m in hs]


def items_of(data, gaps):
    """One direction as a list of ('d', bytes) and ('g', n) in stream order.
    gaps: [(file_offset, len)] sorted."""
    items = []
    pos = 0
    for off, n in gaps:
        off = min(max(off, pos), len(data))
        while pos < off:
            items.append(("d", data[pos:min(off, pos + CHUNK)]))
            pos = min(off, pos + CHUNK)
        items.append(("g", n))
    while pos < len(data):
        items.append(("d", data[pos:pos + CHUNK]))
        pos += CHUNK
    return items


def encode(header, c2s_items, s2c_items, max_len):
    """Interleave two directions' items (c2s first) in the harness's chunk format."""
    out = bytearray(header)
    cur = 0  # the first chunk goes client to server
    first = True
    queues = [list(c2s_items), list(s2c_items)]
    turn = 0
    while queues[0] or queues[1]:
        side = turn if queues[turn] else 1 - turn
        turn = 1 - side
        kind, v = queues[side].pop(0)
        if first and side == 1:
            out += b"\x00\x00"  # an empty c2s chunk, so the next one switches to s2c
            first = False
        keep = 0x4000 if (not first and side == cur) else 0
        first = False
        cur = side
        if kind == "g":
            for i, h in enumerate(gap_header(v)):
                out += (h | (keep if i == 0 else 0x4000)).to_bytes(2, "big")
        else:
            out += (len(v) | keep).to_bytes(2, "big") + v
        if len(out) >= max_len:
            return bytes(out[:max_len])
    return bytes(out)


def head_end(data, needle):
    """Offset just past the HTTP head that contains needle (case-insensitive), or None."""
    i = data.lower().find(needle)
    if i < 0:
        return None
    j = data.find(b"\r\n\r\n", i)
    return None if j < 0 else j + 4


def run_wstap(wstap, cap, tmp):
    try:
        r = subprocess.run([wstap, "--json", "--streams", tmp, "-r", cap],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=300)
    except subprocess.TimeoutExpired:
        return []
    evs = []
    for line in r.stdout.splitlines():
        try:
            evs.append(json.loads(line))
        except ValueError:
            pass
    return evs


def ws_mode(op):
    """Mode and window-bits bytes of fuzz_stream for a ws.open event."""
    comp = op.get("compression")
    if comp == "permessage-deflate":
        p = op.get("params") or {}
        mode, bits = 2, 0
        if p.get("server_no_context_takeover"):
            mode |= 0x04
        if p.get("client_no_context_takeover"):
            mode |= 0x08
        if p.get("server_max_window_bits") not in (None, 15):
            mode |= 0x10
            bits |= (p["server_max_window_bits"] - 8) & 7
        if p.get("client_max_window_bits") not in (None, 15):
            mode |= 0x20
            bits |= ((p["client_max_window_bits"] - 8) & 7) << 3
        return mode, bits
    if comp:
        return 2 | 0x40, 0
    return 1, 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wstap", default="./wstap")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-len", type=int, default=65536)
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()

    pdir = os.path.join(a.out, "pcap")
    sdir = os.path.join(a.out, "stream")
    os.makedirs(pdir, exist_ok=True)
    os.makedirs(sdir, exist_ok=True)
    seen = set()

    def put(seed):
        h = hashlib.sha1(seed).hexdigest()
        if h not in seen:
            seen.add(h)
            with open(os.path.join(sdir, h), "wb") as f:
                f.write(seed)

    caps = find_captures(a.paths)
    for cap in caps:
        name = cap.lstrip("./").replace("/", "__")
        shutil.copyfile(cap, os.path.join(pdir, name))
        with tempfile.TemporaryDirectory() as tmp:
            evs = run_wstap(a.wstap, cap, tmp)
            gaps = {}
            opens = {}
            for e in evs:
                if e.get("ev") == "tcp.gap":
                    gaps.setdefault((e["conn"], e["dir"]), []).append((e["seq"] - 1, e["len"]))
                elif e.get("ev") == "ws.open":
                    opens[e["conn"]] = e
            conns = sorted({int(f.split(".")[0]) for f in os.listdir(tmp)})
            for conn in conns:
                d = {}
                for dr in ("c2s", "s2c"):
                    try:
                        with open(os.path.join(tmp, "%d.%s" % (conn, dr)), "rb") as f:
                            d[dr] = f.read()
                    except OSError:
                        d[dr] = b""
                if not d["c2s"] and not d["s2c"]:
                    continue
                # tcp.gap seq is a stream offset; the files leave the gaps out
                fg = {}
                for dr in ("c2s", "s2c"):
                    lost, lst = 0, []
                    for off, n in sorted(gaps.get((conn, dr), [])):
                        lst.append((off - lost, n))
                        lost += n
                    fg[dr] = lst
                put(encode(b"\x00\x00\x00", items_of(d["c2s"], fg["c2s"]),
                           items_of(d["s2c"], fg["s2c"]), a.max_len))
                op = opens.get(conn)
                if not op:
                    continue
                c0 = head_end(d["c2s"], b"sec-websocket-key")
                s0 = head_end(d["s2c"], b" 101 ")
                if c0 is None or s0 is None:
                    continue
                ws = {}
                for dr, start in (("c2s", c0), ("s2c", s0)):
                    ws[dr] = items_of(d[dr][start:],
                                      [(o - start, n) for o, n in fg[dr] if o >= start])
                mode, bits = ws_mode(op)
                put(encode(bytes([mode, bits, 0]), ws["c2s"], ws["s2c"], a.max_len))
                put(encode(b"\x03\x00\x00", ws["c2s"], ws["s2c"], a.max_len))
    print("mkseeds: %d captures in %s, %d stream seeds in %s"
          % (len(caps), pdir, len(seen), sdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
