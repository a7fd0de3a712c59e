#!/usr/bin/python3
"""Applications and checkers for the lossy-path capture generators
(tests/gen/lossy-*.sh).  Run with Debian's /usr/bin/python3 (it has
python3-websockets 10.x).

WebSocket (every frame put on the wire is logged as one JSON line with a
CLOCK_REALTIME "t" in ns; frames the library sends by itself - the pong and
the echoed close - carry "auto": true and are logged by the side that sees
them; see tests/gen/README.md for the sidecar format):

  ws-server --host H --port P --scenario lossy|deflate|echo
            --compression none|deflate --log F --ready F [--pace-ms MS]
  ws-client --url U --scenario lossy|deflate|midstream
            --compression none|deflate --log F --meta F
            [--ready F --go F --gotime F --sent F --close F]   (midstream)
  merge --out SIDECAR [--conn N] [--after-file F] [--before-file F] LOG...
      (the files hold a time_ns: keep only the records logged in between)

  lossy/deflate: the client sends "start"; the server then pushes its
  messages (binary 4-16 KB + texts; deflate: many similar JSON texts + a few
  binaries) without waiting; the client echoes back the texts that begin with
  "echo-me" and the binaries shorter than 5000 bytes; after the server's
  "done" text the client pings (auto pong) and closes 1000 "lossy done"; the
  server's library echoes the close.
  midstream: lock-step echo; the client does the handshake and one message,
  signals --ready, waits for --go (capture started), sends its messages
  (each echoed), signals --sent, waits for --close and only then closes.

Plain TCP:
  tcp-server --mode keepalive|rst|halfclose|zerowindow --host H --port P --ready F
  tcp-client --mode ...                                  --host H --port P
HTTP/1.1 keep-alive:
  http-server --host H --port P --dir D --ready F
  http-client --host H --port P --ready F --go F

Checks / metadata:
  check-log --pcap F --log IMPAIR.LOG --side cli|srv [--no-total]
      every impaired frame in the bridge log has the effect it should have
      on this capture (drop: absent / dup: twice / delay: once, when the
      direction arrives at the capture point; once when it leaves it)
  verify-midstream --pcap F --sidecar F --port P
      decodes the WebSocket frames of a connection whose handshake is not in
      the capture (byte 0 of each direction is a frame start) and compares
      them with the sidecar
  meta --pcap F --name N --out F --summary IMPAIR.JSON ... [--kv K=V]
       [--json K=JSON] [--json-file K=FILE | =FILE (merged at top level)]
       [--expect EXPERT>=N ...]   (tshark expert counts, see EXPERT)
"""
import argparse
import asyncio
import base64
import collections
import json
import os
import platform
import random
import re
import socket
import struct
import subprocess
import sys
import time

# --------------------------------------------------------------- WS logging


class Log:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def rec(self, direction, opcode, payload=None, code=None, reason=None, auto=False):
        r = {"t": time.time_ns(), "dir": direction, "opcode": opcode}
        if opcode == "text":
            r["len"] = len(payload.encode("utf-8"))
            r["text"] = payload
        elif opcode == "close":
            reason = reason or ""
            r["len"] = 2 + len(reason.encode("utf-8")) if code is not None else 0
            r["code"] = code
            r["reason"] = reason
        else:
            r["len"] = len(payload)
            r["data_b64"] = base64.b64encode(payload).decode("ascii")
        if auto:
            r["auto"] = True
        self.f.write(json.dumps(r, ensure_ascii=False) + "\n")
        self.f.flush()


def comp_arg(c):
    return None if c == "none" else "deflate"


def touch(path, text=""):
    with open(path, "w") as f:
        f.write(text)


async def wait_path(path, secs=30):
    end = time.monotonic() + secs
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {path}")
        await asyncio.sleep(0.02)


def server_items(scenario):
    """Messages the server pushes in the lossy/deflate scenarios."""
    items = []
    if scenario == "lossy":
        rnd = random.Random(9090)
        for i in range(40):
            size = rnd.randint(4096, 15360)
            items.append(("binary", rnd.randbytes(size)))
            if i % 8 == 3:
                items.append(("text", f"echo-me #{i}: progress {i + 1}/40 über lossy path ✓"))
            if i % 10 == 6:
                items.append(("text", f"status {i}: " + "wstap-lossy " * rnd.randint(20, 200)))
        # a few small binaries the client echoes back
        for n in (100, 1200, 4000):
            items.insert(rnd.randint(5, len(items) - 1), ("binary", rnd.randbytes(n)))
    elif scenario == "deflate":
        rnd = random.Random(93)
        words = ("alpha beta gamma delta websocket frame deflate window context "
                 "takeover inflate wstap price volume order trade bid ask").split()
        for i in range(200):
            d = {"type": "quote", "seq": i, "id": "%032x" % rnd.getrandbits(128),
                 "symbol": rnd.choice(["WSTAP", "LOSSY", "TCPX", "NETEM"]),
                 "bids": [[round(rnd.uniform(99, 101), 4), rnd.randint(1, 5000)] for _ in range(25)],
                 "asks": [[round(rnd.uniform(99, 101), 4), rnd.randint(1, 5000)] for _ in range(25)],
                 "note": " ".join(rnd.choice(words) for _ in range(100))}
            items.append(("text", json.dumps(d, separators=(",", ":"))))
            if i % 25 == 10:
                items.append(("text", f"echo-me #{i}: similar short text, größer ✓"))
            if i % 60 == 30:
                # semi-compressible binary: repeated header + random tail
                items.append(("binary", (b"WSTAP-BIN\x00\x01" * 300) + rnd.randbytes(rnd.randint(2000, 4000))))
        items.append(("binary", rnd.randbytes(1500)))  # client echoes it
    else:
        raise SystemExit(f"no server items for {scenario}")
    return items


MIDSTREAM_ITEMS = [
    ("text", "first message after the capture started"),
    ("binary", random.Random(5).randbytes(3000)),
    ("ping", b"mid-ping"),
    ("text", "ünïcödé mid-stream ✓ 🚀"),
    ("binary", random.Random(6).randbytes(20000)),
    ("text", "x" * 300),
    ("text", "last message before the capture stops"),
]


async def ws_server(a):
    import websockets
    log = Log(a.log)
    done = asyncio.Event()

    async def handler(ws, path=None):
        try:
            if a.scenario == "echo":
                async for msg in ws:
                    log.rec("s2c", "text" if isinstance(msg, str) else "binary", msg)
                    await ws.send(msg)
            else:
                first = await ws.recv()
                if first != "start":
                    raise SystemExit("expected start")

                async def drain():
                    try:
                        async for _ in ws:
                            pass
                    except websockets.ConnectionClosed:
                        pass
                reader = asyncio.create_task(drain())
                for kind, payload in server_items(a.scenario):
                    log.rec("s2c", kind, payload)
                    await ws.send(payload)
                    if a.pace_ms:
                        # spread the transfer so that delayed (reordered)
                        # frames land inside it, not after the close
                        await asyncio.sleep(a.pace_ms / 1000)
                log.rec("s2c", "text", "done")
                await ws.send("done")
                await reader
        except websockets.ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            if ws.close_code is not None:
                log.rec("s2c", "close", code=ws.close_code, reason=ws.close_reason or "",
                        auto=True)
            done.set()

    async with websockets.serve(handler, a.host, a.port, compression=comp_arg(a.compression),
                                ping_interval=None, max_size=None, max_queue=None):
        touch(a.ready, "ok")
        await asyncio.wait_for(done.wait(), 80)


async def ws_client(a):
    import websockets
    log = Log(a.log)
    async with websockets.connect(a.url, compression=comp_arg(a.compression),
                                  ping_interval=None, max_size=None, max_queue=None,
                                  close_timeout=10, open_timeout=20) as ws:
        if a.meta:
            with open(a.meta, "w") as m:
                json.dump({
                    "request_extensions": ws.request_headers.get("Sec-WebSocket-Extensions"),
                    "response_extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
                    "local": list(ws.local_address[:2]),
                }, m)
        if a.scenario == "midstream":
            pre = "hello before the capture"
            log.rec("c2s", "text", pre)
            await ws.send(pre)
            assert await asyncio.wait_for(ws.recv(), 20) == pre
            touch(a.ready, "ok")
            await wait_path(a.go)
            touch(a.gotime, str(time.time_ns()))
            for kind, payload in MIDSTREAM_ITEMS:
                if kind == "ping":
                    log.rec("c2s", "ping", payload)
                    waiter = await ws.ping(payload)
                    await asyncio.wait_for(waiter, 20)
                    log.rec("s2c", "pong", payload, auto=True)
                    continue
                log.rec("c2s", kind, payload)
                await ws.send(payload)
                if await asyncio.wait_for(ws.recv(), 20) != payload:
                    raise SystemExit("echo mismatch")
            touch(a.sent, str(time.time_ns()))
            await wait_path(a.close)
            log.rec("c2s", "close", code=1000, reason="midstream done")
            await ws.close(code=1000, reason="midstream done")
            return
        log.rec("c2s", "text", "start")
        await ws.send("start")
        nrecv = 0
        while True:
            msg = await asyncio.wait_for(ws.recv(), 40)
            nrecv += 1
            if isinstance(msg, str):
                if msg == "done":
                    break
                if msg.startswith("echo-me"):
                    reply = "echo: " + msg[len("echo-me "):]
                    log.rec("c2s", "text", reply)
                    await ws.send(reply)
            elif len(msg) < 5000:
                log.rec("c2s", "binary", msg)
                await ws.send(msg)
        ping = b"lossy-ping"
        log.rec("c2s", "ping", ping)
        waiter = await ws.ping(ping)
        await asyncio.wait_for(waiter, 20)
        log.rec("s2c", "pong", ping, auto=True)
        log.rec("c2s", "close", code=1000, reason="lossy done")
        await ws.close(code=1000, reason="lossy done")
        print(f"client: received {nrecv} messages", flush=True)


def cmd_merge(a):
    after, before = 0, 1 << 64
    if a.after_file:
        after = int(open(a.after_file).read().strip())
    if a.before_file:
        before = int(open(a.before_file).read().strip())
    recs = []
    for i, path in enumerate(a.logs):
        for n, line in enumerate(open(path, encoding="utf-8")):
            if line.strip():
                r = json.loads(line)
                if after <= r["t"] <= before:
                    recs.append((r["t"], i, n, r))
    recs.sort(key=lambda x: x[:3])
    with open(a.out, "w", encoding="utf-8") as f:
        for _, _, _, r in recs:
            del r["t"]
            f.write(json.dumps(dict({"conn": a.conn}, **r), ensure_ascii=False) + "\n")
    print(f"merge: {len(recs)} records", file=sys.stderr)


# --------------------------------------------------------------- plain TCP

def listen(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(4)
    s.settimeout(40)
    return s


def recv_line(c):
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(1024)
        if not d:
            break
        buf += d
    return buf


def recv_all(c, limit=None):
    n = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
    except ConnectionResetError:
        return n, "reset"
    return n, "eof"


def pattern(n, tag):
    line = (tag + " 0123456789abcdefghijklmnopqrstuvwxyz\n").encode()
    return (line * (n // len(line) + 1))[:n]


def cmd_tcp_server(a):
    ls = listen(a.host, a.port)
    touch(a.ready, "ok")
    m = a.mode
    if m == "keepalive":
        c, _ = ls.accept()
        c.settimeout(20)
        req = recv_line(c)
        c.sendall(b"PONG " + req)
        n, how = recv_all(c)
        print(f"server: request {req!r}, then {n} bytes and {how}")
        c.close()
    elif m == "rst":
        # conn 1: answer, then abortive close (SO_LINGER on, 0 s) -> RST
        c, _ = ls.accept()
        c.settimeout(20)
        req = recv_line(c)
        c.sendall(pattern(3000, "rst-data"))
        time.sleep(0.3)  # let the client read and ACK it
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        print(f"server: conn 1 {req!r}: sent 3000, closed with SO_LINGER 0 (RST)")
        # conn 2: answer; the client closes without reading -> client RST
        c, _ = ls.accept()
        c.settimeout(20)
        req = recv_line(c)
        c.sendall(pattern(2000, "unread"))
        n, how = recv_all(c)
        print(f"server: conn 2 {req!r}: sent 2000, then {n} bytes and {how}")
        c.close()
    elif m == "halfclose":
        c, _ = ls.accept()
        c.settimeout(20)
        n, how = recv_all(c)
        print(f"server: read {n} bytes until {how}; now sending after the client's FIN")
        for i in range(10):
            c.sendall(pattern(1200, f"after-fin chunk {i}"))
            time.sleep(0.1)
        c.close()
    elif m == "zerowindow":
        c, _ = ls.accept()
        c.settimeout(30)
        req = recv_line(c)
        data = pattern(a.size, "zero-window")
        t = time.monotonic()
        c.sendall(data)
        print(f"server: {req!r}; sent {len(data)} bytes in {time.monotonic() - t:.2f} s")
        c.shutdown(socket.SHUT_WR)
        n, how = recv_all(c)
        c.close()
    ls.close()


def cmd_tcp_client(a):
    m = a.mode
    if m == "keepalive":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 5)
        s.settimeout(20)
        s.connect((a.host, a.port))
        s.sendall(b"PING keepalive test\n")
        print("client: got", recv_line(s))
        time.sleep(3.5)
        s.close()
    elif m == "rst":
        s = socket.create_connection((a.host, a.port), timeout=20)
        s.sendall(b"GET-DATA please\n")
        n, how = recv_all(s)
        print(f"client: conn 1: {n} bytes then {how}")
        s.close()
        time.sleep(0.3)
        s = socket.create_connection((a.host, a.port), timeout=20)
        s.sendall(b"SEND-MORE but I will not read it\n")
        time.sleep(0.5)  # the 2000 bytes sit unread in the receive queue
        s.close()         # close with unread data -> RST instead of FIN
        print("client: conn 2 closed with unread data")
    elif m == "halfclose":
        s = socket.create_connection((a.host, a.port), timeout=20)
        s.sendall(b"REQUEST half-close test: answer after my FIN\n")
        s.shutdown(socket.SHUT_WR)
        n, how = recv_all(s)
        print(f"client: received {n} bytes after shutdown(SHUT_WR), then {how}")
        if n != 12000:
            raise SystemExit("short read")
        s.close()
    elif m == "zerowindow":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        s.settimeout(30)
        s.connect((a.host, a.port))
        s.sendall(b"GO send me a lot\n")
        time.sleep(2.5)  # not reading: the window closes, the sender probes
        n = 0
        while True:
            d = s.recv(512)
            if not d:
                break
            n += len(d)
            time.sleep(0.004)
        print(f"client: read {n} bytes slowly (rcvbuf {s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)})")
        if n != a.size:
            raise SystemExit("short read")
        s.close()


# --------------------------------------------------------------- HTTP keep-alive

def cmd_http_server(a):
    import http.server
    import functools

    class H(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stdout.write("http: " + fmt % args + "\n")
            sys.stdout.flush()

    srv = http.server.HTTPServer((a.host, a.port), functools.partial(H, directory=a.dir))
    srv.timeout = 40
    touch(a.ready, "ok")
    # one keep-alive connection, then exit
    srv.handle_request()
    srv.server_close()


def cmd_http_client(a):
    import http.client
    c = http.client.HTTPConnection(a.host, a.port, timeout=20)
    c.request("GET", "/one.txt")
    r = c.getresponse()
    b1 = r.read()
    print("GET /one.txt", r.status, len(b1))
    touch(a.ready, "ok")
    end = time.monotonic() + 30
    while not os.path.exists(a.go):
        if time.monotonic() > end:
            raise SystemExit("no go")
        time.sleep(0.02)
    for path, hdrs in (("/two.txt", {}), ("/three.bin", {}), ("/four.txt", {"Connection": "close"})):
        c.request("GET", path, headers=hdrs)
        r = c.getresponse()
        b = r.read()
        print("GET", path, r.status, len(b), r.getheader("Connection"))
        if r.status != 200:
            raise SystemExit("bad status")
        time.sleep(0.2)
    c.close()


# --------------------------------------------------------------- checks

def tshark_fields(pcap, fields, dfilter=None):
    cmd = ["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t"]
    if dfilter:
        cmd += ["-Y", dfilter]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def read_log(path):
    events = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        (t, trel, d, n, dseg, action, dly, ipid, src, dst, flags, seq, rseq, ack, ln) = f
        if src == "non-tcp":
            continue
        events.append({"t": float(t), "dir": d, "n": n, "dseg": dseg, "action": action,
                       "delay_ms": dly, "ipid": int(ipid, 16), "src": src, "dst": dst,
                       "flags": flags, "seq": int(seq), "len": int(ln)})
    return events


def log_totals(path):
    tot = {}
    for line in open(path):
        m = re.match(r"# (c2s|s2c): (.*)", line)
        if m:
            tot[m.group(1)] = {k: int(v) for k, v in
                               (kv.split("=") for kv in m.group(2).split())}
    return tot


def cmd_check_log(a):
    rows = tshark_fields(a.pcap, ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "ip.id",
                                  "tcp.seq_raw", "tcp.len"], "tcp")
    cnt = collections.Counter()
    per_dir = collections.Counter()
    for src, sp, dst, dp, ipid, seq, ln in rows:
        key = (f"{src}:{sp}", f"{dst}:{dp}", int(ipid, 16), int(seq), int(ln))
        cnt[key] += 1
        per_dir["c2s" if src == "10.254.90.1" else "s2c"] += 1
    arriving = "s2c" if a.side == "cli" else "c2s"
    bad = 0
    seen = collections.Counter()
    for e in read_log(a.log):
        if e["action"] == "release":
            continue
        seen[(e["dir"], e["action"])] += 1
        key = (e["src"], e["dst"], e["ipid"], e["seq"], e["len"])
        if e["dir"] == arriving:
            want = {"drop": 0, "dropseg": 0, "dropfin": 0, "dup": 2, "delay": 1}[e["action"]]
        else:
            want = 1
        got = cnt.get(key, 0)
        if got != want and not (a.no_total and got == 0):
            print(f"check-log: {e['dir']} {e['action']} {key}: {got} in capture, expected {want}",
                  file=sys.stderr)
            bad += 1
    tot = log_totals(a.log)
    if not a.no_total:
        for d, c in tot.items():
            lost = c["drop"] + c["dropseg"] + c.get("dropfin", 0) - c["dup"]
            want = c["tcp"] - (lost if d == arriving else 0)
            if per_dir[d] != want:
                print(f"check-log: {d}: {per_dir[d]} TCP packets in capture, bridge log "
                      f"implies {want}", file=sys.stderr)
                bad += 1
    if bad:
        raise SystemExit(f"check-log: {bad} mismatch(es) between {a.pcap} and {a.log}")
    print(f"check-log: ok ({dict(seen)}; arriving direction {arriving})", file=sys.stderr)


OPS = {0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


def follow_raw(pcap, idx):
    out = subprocess.run(["tshark", "-r", pcap, "-q", "-z", f"follow,tcp,raw,{idx}"],
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


def parse_frames(buf, masked):
    out = []
    pos = 0
    while pos < len(buf):
        b0, b1 = buf[pos], buf[pos + 1]
        op, m, ln = b0 & 15, b1 >> 7, b1 & 127
        if not (b0 & 0x80) or op == 0:
            raise ValueError("fragmented messages are not expected here")
        pos += 2
        if ln == 126:
            ln = int.from_bytes(buf[pos:pos + 2], "big"); pos += 2
        elif ln == 127:
            ln = int.from_bytes(buf[pos:pos + 8], "big"); pos += 8
        if m != masked:
            raise ValueError("unexpected mask bit")
        key = buf[pos:pos + 4] if m else b""
        pos += 4 if m else 0
        p = bytearray(buf[pos:pos + ln])
        if len(p) != ln:
            raise ValueError("truncated frame")
        pos += ln
        if m:
            for i in range(ln):
                p[i] ^= key[i & 3]
        out.append((OPS[op], bytes(p)))
    return out


def cmd_verify_midstream(a):
    rows = tshark_fields(a.pcap, ["tcp.stream", "tcp.srcport", "tcp.dstport"], "tcp")
    idx = sorted({int(r[0]) for r in rows if a.port in (int(r[1]), int(r[2]))})
    if len(idx) != 1:
        raise SystemExit(f"expected one stream on port {a.port}, got {idx}")
    first = next(r for r in rows if int(r[0]) == idx[0])
    c2s, s2c = follow_raw(a.pcap, idx[0])
    if int(first[1]) == a.port:  # node 0 is the server side
        c2s, s2c = s2c, c2s
    side = {"c2s": parse_frames(c2s, 1), "s2c": parse_frames(s2c, 0)}
    sent = [json.loads(x) for x in open(a.sidecar, encoding="utf-8") if x.strip()]
    n = 0
    for d in ("c2s", "s2c"):
        want = [r for r in sent if r["dir"] == d]
        got = side[d]
        if len(got) != len(want):
            raise SystemExit(f"verify-midstream: {d}: {len(got)} frames in capture, {len(want)} in sidecar")
        for (op, p), w in zip(got, want):
            exp = w["text"].encode() if w["opcode"] == "text" else base64.b64decode(w.get("data_b64", ""))
            if op != w["opcode"] or p != exp:
                raise SystemExit(f"verify-midstream: {d}: frame differs: {op} vs {w['opcode']}")
            n += 1
    print(f"verify-midstream: {n} frames match the sidecar (stream {idx[0]})", file=sys.stderr)


EXPERT = [
    ("retransmission", "tcp.analysis.retransmission"),
    ("fast_retransmission", "tcp.analysis.fast_retransmission"),
    ("spurious_retransmission", "tcp.analysis.spurious_retransmission"),
    ("lost_segment", "tcp.analysis.lost_segment"),
    ("ack_lost_segment", "tcp.analysis.ack_lost_segment"),
    ("out_of_order", "tcp.analysis.out_of_order"),
    ("duplicate_ack", "tcp.analysis.duplicate_ack"),
    ("zero_window", "tcp.analysis.zero_window"),
    ("zero_window_probe", "tcp.analysis.zero_window_probe"),
    ("zero_window_probe_ack", "tcp.analysis.zero_window_probe_ack"),
    ("window_full", "tcp.analysis.window_full"),
    ("window_update", "tcp.analysis.window_update"),
    ("keep_alive", "tcp.analysis.keep_alive"),
    ("keep_alive_ack", "tcp.analysis.keep_alive_ack"),
    ("sack_packets", "tcp.options.sack_le"),
    ("syn", "tcp.flags.syn==1 && tcp.flags.ack==0"),
    ("fin", "tcp.flags.fin==1"),
    ("rst", "tcp.flags.reset==1"),
]


def expert_counts(pcap):
    """Packets matching each EXPERT filter (= `tshark -r F -Y FILTER | wc -l`),
    all in one tshark pass with -z io,stat,0,FILTER,..."""
    stat = "io,stat,0," + ",".join(f for _, f in EXPERT)
    out = subprocess.run(["tshark", "-r", pcap, "-q", "-z", stat], capture_output=True,
                         text=True, check=True).stdout
    row = [line for line in out.splitlines() if "<>" in line][-1]
    cells = [c.strip() for c in row.split("|")]
    nums = [int(c) for c in cells[2:] if c]
    if len(nums) != 2 * len(EXPERT):
        raise SystemExit(f"cannot parse io,stat row: {row}")
    return {name: nums[2 * i] for i, (name, _) in enumerate(EXPERT)}


def conversations(pcap):
    convs = []
    rows = tshark_fields(pcap, ["tcp.stream", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
                                "tcp.flags.syn", "tcp.flags.ack"], "tcp")
    first = {}
    syn = {}
    npk = collections.Counter()
    for st, src, sp, dst, dp, s, ack in rows:
        st = int(st)
        npk[st] += 1
        first.setdefault(st, (src, int(sp), dst, int(dp)))
        if s in ("1", "True") and ack in ("0", "False"):
            syn[st] = (src, int(sp), dst, int(dp))
    for st in sorted(first):
        src, sp, dst, dp = syn.get(st, first[st])
        if st not in syn and sp < dp:  # no SYN: the server is the low port
            src, sp, dst, dp = dst, dp, src, sp
        convs.append({"conn": st + 1, "client": f"{src}:{sp}", "server": f"{dst}:{dp}",
                      "packets": npk[st], "syn_in_capture": st in syn})
    return convs


def versions():
    def run(cmd, pat):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            m = re.search(pat, p.stdout + p.stderr)
            return m.group(1) if m else None
        except Exception:
            return None
    return {
        "tcpdump": run(["tcpdump", "--version"], r"tcpdump version (\S+)"),
        "libpcap": run(["tcpdump", "--version"], r"libpcap version (\S+)"),
        "tshark": run(["tshark", "--version"], r"TShark \(Wireshark\) (\S+)"),
        "python": platform.python_version(),
        "python-websockets": run(["/usr/bin/python3", "-c", "import websockets;print(websockets.__version__)"], r"(\S+)"),
        "curl": run(["curl", "--version"], r"curl (\S+)"),
        "cc": run(["cc", "--version"], r"\) (\S+)"),
        "kernel": platform.release(),
    }


def cmd_meta(a):
    summ = json.load(open(a.summary))
    packets = len(subprocess.run(["tshark", "-r", a.pcap], capture_output=True, text=True,
                                 check=True).stdout.splitlines())
    convs = conversations(a.pcap)
    meta = {
        "name": a.name,
        "generator": None,
        "description": None,
        "packets": packets,
        "tcp_connections": len(convs),
        "connections": convs,
        "link_type": "EN10MB",
        "capture": {
            "tool": "tcpdump --immediate-mode -U -B 32768 -s 0",
            "netns": re.sub(r'^.*-(cli|srv)$', r'wsl-\1', a.capture_ns),
            "interface": a.capture_if,
            "filter": a.filter,
            "side": "client (receiver of the s2c data)" if a.capture_ns.endswith("-cli")
                    else "server (sender of the s2c data)",
        },
        "topology": {
            "client": {"netns": "wsl-cli", "if": "cli0", "addr": "10.254.90.1",
                       "mac": "02:00:0a:fe:5a:01"},
            "server": {"netns": "wsl-srv", "if": "srv0", "addr": "10.254.90.2",
                       "mac": "02:00:0a:fe:5a:02"},
            "router": {"netns": "wsl-rtr", "ifs": ["rtr-c", "rtr-s"],
                       "bridge": "tests/gen/impair.c (AF_PACKET L2 copy, no IP, no kernel bridge)"},
            "mtu": 1500,
            "offloads": "tso gso gro tx rx off on all veths (frames <= 1514 B, real checksums)",
        },
        "impairment": {
            "seed": summ["seed"],
            "c2s": summ["spec"]["c2s"] or "none",
            "s2c": summ["spec"]["s2c"] or "none",
            "applies_to": "drop/dup/delay/dropseg: IPv4 TCP frames only (SYN segments never "
                          "impaired at random; dropseg=N drops the N-th TCP segment with payload "
                          "of that direction); lat=MS: base latency for every frame of that "
                          "direction (delayed frames: lat + the extra 'delay')",
            "bridge_counts": summ["counts"],
            "bridge_socket_drops": summ["socket_drops"],
            "log": a.name + ".impair.log",
            "log_format": "tab-separated: t_epoch t_rel dir n dseg action delay_ms ip_id src dst "
                          "flags seq(raw) rseq(relative to the SYN seen by the bridge) ack len; "
                          "actions drop|dropseg|dup|delay|release (delay: delay_ms = extra delay "
                          "drawn; release: the frame left the bridge, delay_ms = total hold "
                          "time); frames forwarded normally are not logged; '# ' lines at the "
                          "end: counts per direction",
        },
        "tshark_expert": expert_counts(a.pcap),
        "versions": versions(),
    }
    for kv in a.kv:
        k, v = kv.split("=", 1)
        meta[k] = v
    for kv in a.json:
        k, v = kv.split("=", 1)
        meta[k] = json.loads(v)
    for kv in a.json_file:
        k, v = kv.split("=", 1)
        if k:
            meta[k] = json.load(open(v))
        else:  # "=FILE": merge its keys at the top level
            meta.update(json.load(open(v)))
    if a.sidecar:
        c = collections.Counter()
        nbytes = collections.Counter()
        for line in open(a.sidecar, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                c[f"{r['dir']} {r['opcode']}"] += 1
                nbytes[r["dir"]] += r["len"]
        meta["sidecar"] = os.path.basename(a.sidecar_name or a.sidecar)
        meta["sidecar_summary"] = {"records": sum(c.values()), "by_dir_opcode": dict(sorted(c.items())),
                                   "payload_bytes": dict(nbytes)}
    bad = []
    for ex in a.expect:
        k, n = ex.split(">=")
        if meta["tshark_expert"][k] < int(n):
            bad.append(f"{k}={meta['tshark_expert'][k]} (want >= {n})")
    if bad:
        raise SystemExit(f"meta: {a.pcap}: expert counts too low: {', '.join(bad)}")
    json.dump(meta, open(a.out, "w"), indent=2, ensure_ascii=False)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("ws-server")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--scenario", required=True, choices=["lossy", "deflate", "echo"])
    s.add_argument("--compression", default="none", choices=["none", "deflate"])
    s.add_argument("--log", required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--pace-ms", type=float, default=0)
    c = sub.add_parser("ws-client")
    c.add_argument("--url", required=True)
    c.add_argument("--scenario", required=True, choices=["lossy", "deflate", "midstream"])
    c.add_argument("--compression", default="none", choices=["none", "deflate"])
    c.add_argument("--log", required=True)
    c.add_argument("--meta")
    for f in ("ready", "go", "gotime", "sent", "close"):
        c.add_argument("--" + f)
    m = sub.add_parser("merge")
    m.add_argument("--out", required=True)
    m.add_argument("--conn", type=int, default=1)
    m.add_argument("--after-file")
    m.add_argument("--before-file")
    m.add_argument("logs", nargs="+")
    for name in ("tcp-server", "tcp-client"):
        t = sub.add_parser(name)
        t.add_argument("--mode", required=True, choices=["keepalive", "rst", "halfclose", "zerowindow"])
        t.add_argument("--host", required=True)
        t.add_argument("--port", type=int, required=True)
        t.add_argument("--size", type=int, default=65536)
        if name == "tcp-server":
            t.add_argument("--ready", required=True)
    h = sub.add_parser("http-server")
    h.add_argument("--host", required=True)
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--dir", required=True)
    h.add_argument("--ready", required=True)
    h = sub.add_parser("http-client")
    h.add_argument("--host", required=True)
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--ready", required=True)
    h.add_argument("--go", required=True)
    k = sub.add_parser("check-log")
    k.add_argument("--pcap", required=True)
    k.add_argument("--log", required=True)
    k.add_argument("--side", required=True, choices=["cli", "srv"])
    k.add_argument("--no-total", action="store_true")
    v = sub.add_parser("verify-midstream")
    v.add_argument("--pcap", required=True)
    v.add_argument("--sidecar", required=True)
    v.add_argument("--port", type=int, required=True)
    mt = sub.add_parser("meta")
    for f in ("pcap", "name", "out", "summary", "capture-ns", "capture-if", "filter"):
        mt.add_argument("--" + f, required=True)
    mt.add_argument("--sidecar", help="NAME.sent.jsonl to summarise in the meta")
    mt.add_argument("--sidecar-name")
    mt.add_argument("--kv", action="append", default=[])
    mt.add_argument("--json", action="append", default=[])
    mt.add_argument("--json-file", action="append", default=[])
    mt.add_argument("--expect", action="append", default=[],
                    help="NAME>=N: fail unless tshark_expert[NAME] >= N")
    a = p.parse_args()
    if a.cmd == "ws-server":
        asyncio.run(ws_server(a))
    elif a.cmd == "ws-client":
        asyncio.run(asyncio.wait_for(ws_client(a), 80))
    elif a.cmd == "merge":
        cmd_merge(a)
    elif a.cmd == "tcp-server":
        cmd_tcp_server(a)
    elif a.cmd == "tcp-client":
        cmd_tcp_client(a)
    elif a.cmd == "http-server":
        cmd_http_server(a)
    elif a.cmd == "http-client":
        cmd_http_client(a)
    elif a.cmd == "check-log":
        cmd_check_log(a)
    elif a.cmd == "verify-midstream":
        cmd_verify_midstream(a)
    elif a.cmd == "meta":
        cmd_meta(a)


if __name__ == "__main__":
    main()
