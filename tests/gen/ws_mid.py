#!/usr/bin/python3
"""ws_mid.py - a python3-websockets echo pair whose capture starts after the upgrade
(tests/gen/gen-ws-midstream.sh). Run with /usr/bin/python3 (Debian's websockets 10.x).

  ws_mid.py server --host H --port P --log FILE
      Echo server with permessage-deflate (library default: context takeover both ways);
      logs every frame it sends (JSON lines with "t" in ns); exits after one connection.

  ws_mid.py client --url URL --log FILE --meta FILE --ready FILE --go FILE
      Connects (the handshake), sends two JSON texts before the capture, touches --ready,
      waits for --go (the capture is running), then sends the scenario below, each echoed:
        a 150000-byte random binary first (a single large first message: its frame spans
        ~100 packets at MTU 1500, and random bytes do not compress), 8 JSON texts like the
        ones before the capture (their DEFLATE data may refer back to those: lost_context),
        a 3-fragment text, a 20000-byte text of random hex digits (compressed to ~10 KB:
        a frame of several packets), a 30000-byte random binary, a ping; closes 1000.
      Logs every frame it sends; the server's automatic pong and close reply too ("auto").

  ws_mid.py raw-server --host H --port P
  ws_mid.py raw-client --host H --port P --ready FILE --go FILE
      Not WebSocket: plain sockets speaking length-prefixed records (a 2-byte big-endian
      length, then that many random bytes, like DNS over TCP). The client connects and sends
      one record before --ready, then after --go 20 records of 20..1400 bytes, each echoed,
      and closes; the server echoes until EOF.

  ws_mid.py merge --out SIDECAR --after NS LOG...
      The sidecar: the records of both logs sent at or after time NS, in time order.

Everything gives up after 30 s.
"""
import argparse
import asyncio
import base64
import json
import os
import random
import time

import websockets


def rec(log, direction, opcode, payload=None, code=None, reason=None, auto=False):
    r = {"t": time.time_ns(), "dir": direction, "opcode": opcode}
    if opcode == "close":
        rb = reason.encode("utf-8")
        r["len"] = 2 + len(rb) if code is not None else 0
        r["code"] = code
        r["reason"] = reason
    elif opcode == "text":
        r["len"] = len(payload.encode("utf-8"))
        r["text"] = payload
    else:
        r["len"] = len(payload)
        r["data_b64"] = base64.b64encode(payload).decode("ascii")
    if auto:
        r["auto"] = True
    log.write(json.dumps(r, ensure_ascii=False) + "\n")
    log.flush()


def tick(i):
    return json.dumps({"type": "tick", "seq": i, "symbol": "WSTAP-MID", "price": 100 + i / 4,
                       "tags": ["alpha", "beta", "gamma"],
                       "note": "similar json messages so context takeover matters"})


def items():
    rnd = random.Random(18931)
    out = [("binary", rnd.randbytes(150000))]
    out += [("text", tick(i)) for i in range(2, 10)]
    out.append(("frag", ["fragment one; ", "fragment two ✓; ", "fragment three, the end"]))
    out.append(("text", "".join(rnd.choice("0123456789abcdef") for _ in range(20000))))
    out.append(("binary", rnd.randbytes(30000)))
    out.append(("ping", b"mid-ping"))
    return out


async def wait_path(path):
    for _ in range(300):
        if os.path.exists(path):
            return
        await asyncio.sleep(0.1)
    raise SystemExit("timed out waiting for " + path)


async def run_server(a):
    log = open(a.log, "w")
    done = asyncio.Event()

    async def handler(ws, path=None):
        try:
            async for msg in ws:
                rec(log, "s2c", "text" if isinstance(msg, str) else "binary", msg)
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            if ws.close_code is not None:
                rec(log, "s2c", "close", code=ws.close_code, reason=ws.close_reason or "",
                    auto=True)
            done.set()

    async with websockets.serve(handler, a.host, a.port, compression="deflate",
                                ping_interval=None, max_size=None):
        await asyncio.wait_for(done.wait(), 30)
    log.close()


async def run_client(a):
    log = open(a.log, "w")
    async with websockets.connect(a.url, compression="deflate", ping_interval=None,
                                  max_size=None, close_timeout=5) as ws:
        with open(a.meta, "w") as m:
            json.dump({"request_extensions": ws.request_headers.get("Sec-WebSocket-Extensions"),
                       "response_extensions": ws.response_headers.get("Sec-WebSocket-Extensions")},
                      m)
        for i in range(2):  # before the capture
            rec(log, "c2s", "text", tick(i))
            await ws.send(tick(i))
            await asyncio.wait_for(ws.recv(), 10)
        open(a.ready, "w").close()
        await wait_path(a.go)
        for kind, payload in items():
            await asyncio.sleep(0.05)  # paced, so that the capture keeps up
            if kind == "ping":
                rec(log, "c2s", "ping", payload)
                waiter = await ws.ping(payload)
                await asyncio.wait_for(waiter, 10)
                rec(log, "s2c", "pong", payload, auto=True)
                continue
            if kind == "frag":
                whole = "".join(payload)
                rec(log, "c2s", "text", whole)
                await ws.send(payload)  # an iterable: one frame per fragment
                payload = whole
            else:
                rec(log, "c2s", kind, payload)
                await ws.send(payload)
            if await asyncio.wait_for(ws.recv(), 10) != payload:
                raise SystemExit("echo mismatch")
        rec(log, "c2s", "close", code=1000, reason="midstream capture done")
        await ws.close(code=1000, reason="midstream capture done")
    log.close()


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise SystemExit("raw: connection closed early")
        buf += chunk
    return buf


def raw_server(a):
    import socket
    with socket.create_server((a.host, a.port)) as srv:
        srv.settimeout(30)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(30)
            while True:
                head = conn.recv(2)
                if not head:
                    break
                if len(head) == 1:
                    head += recv_exact(conn, 1)
                body = recv_exact(conn, int.from_bytes(head, "big"))
                conn.sendall(head + body)


def raw_client(a):
    import socket
    rnd = random.Random(18932)
    with socket.create_connection((a.host, a.port), timeout=30) as s:
        def record(n):
            body = rnd.randbytes(n)
            s.sendall(len(body).to_bytes(2, "big") + body)
            if recv_exact(s, 2 + n)[2:] != body:
                raise SystemExit("raw: echo mismatch")
        record(100)  # before the capture
        open(a.ready, "w").close()
        for _ in range(300):
            if os.path.exists(a.go):
                break
            time.sleep(0.1)
        for i in range(20):
            time.sleep(0.02)
            record(rnd.randint(20, 1400))


def merge(a):
    recs = []
    for i, path in enumerate(a.logs):
        with open(path) as f:
            for n, line in enumerate(f):
                if line.strip():
                    r = json.loads(line)
                    recs.append((r["t"], i, n, r))
    recs.sort(key=lambda x: x[:3])
    with open(a.out, "w") as f:
        for t, _, _, r in recs:
            if t < a.after:
                continue
            del r["t"]
            f.write(json.dumps(dict({"conn": 1}, **r), ensure_ascii=False) + "\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--log", required=True)
    c = sub.add_parser("client")
    for k in ("--url", "--log", "--meta", "--ready", "--go"):
        c.add_argument(k, required=True)
    for role in ("raw-server", "raw-client"):
        r = sub.add_parser(role)
        r.add_argument("--host", required=True)
        r.add_argument("--port", type=int, required=True)
        if role == "raw-client":
            r.add_argument("--ready", required=True)
            r.add_argument("--go", required=True)
    m = sub.add_parser("merge")
    m.add_argument("--out", required=True)
    m.add_argument("--after", type=int, required=True)
    m.add_argument("logs", nargs="+")
    a = p.parse_args()
    if a.cmd == "server":
        asyncio.run(asyncio.wait_for(run_server(a), 35))
    elif a.cmd == "client":
        asyncio.run(asyncio.wait_for(run_client(a), 35))
    elif a.cmd == "raw-server":
        raw_server(a)
    elif a.cmd == "raw-client":
        raw_client(a)
    else:
        merge(a)


if __name__ == "__main__":
    main()
