#!/usr/bin/python3
"""WebSocket traffic helper for the wstap loopback capture generators.

Uses Debian's python3-websockets (10.x); run with /usr/bin/python3.

  ws_py.py server --host H --port P [--compression none|deflate] --log FILE
      Echo server: answers every message with the same message and exits
      after the first connection is closed.  Logs every frame the server
      sent (JSON lines with a "t" timestamp in ns) to FILE.

  ws_py.py client --url URL --scenario NAME [--compression none|deflate]
                  --log FILE [--meta FILE]
      Runs a scripted exchange (scenarios: plain, deflate, small, proxy, hostile),
      waiting for each echo before sending the next message.  Logs the
      frames it sent, plus the frames the server's library sent on its own
      (pong, close reply; marked "auto": true), and writes the handshake's
      negotiated Sec-WebSocket-Extensions to --meta.

  ws_py.py merge --out SIDECAR [--proxy] LOG...
      Merges the logs by timestamp into the NAME.sent.jsonl sidecar.  With
      --proxy, every frame is also emitted for the second TCP connection
      (client->nginx is conn 1, nginx->backend is conn 2).

Everything is bounded: the client and server give up after 20 s.
"""

import argparse
import asyncio
import base64
import json
import random
import sys
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


def compression_arg(name):
    return None if name == "none" else "deflate"


# ---------------------------------------------------------------- scenarios

def det_bytes(n, seed):
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


def scenario(name):
    """List of ("text"|"binary"|"ping", payload) items, then the close."""
    if name == "plain":
        long_text = ("wstap-300:" + "abcdefghijklmnopqrstuvwxyz0123456789" * 9)[:300]
        assert len(long_text.encode()) == 300
        items = [
            ("text", "hello wstap"),
            ("text", long_text),
            ("binary", det_bytes(70000, 1)),
            ("text", "héllo wörld — ünïcödé ✓ 日本語 🚀"),
            ("ping", b"ping-data-42"),
        ]
        close = (1000, "client done, bye")
    elif name == "deflate":
        items = []
        for i in range(20):
            msg = {
                "type": "tick",
                "seq": i,
                "symbol": "WSTAP",
                "price": round(100 + i * 0.25, 2),
                "tags": ["alpha", "beta", "gamma"],
                "note": "similar json messages so context takeover matters",
            }
            items.append(("text", json.dumps(msg, separators=(",", ":"))))
        para = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
                "eiusmod tempor incididunt ut labore et dolore magna aliqua. ")
        items.append(("text", (para * 40)[:4096]))
        rnd = random.Random(7)
        words = ["websocket", "deflate", "frame", "mask", "opcode", "payload",
                 "window", "context", "takeover", "inflate", "tcp", "wstap"]
        big = " ".join(rnd.choice(words) for _ in range(3000))
        items.append(("text", big))
        close = (1000, "")
    elif name == "small":
        items = [
            ("text", "hello small"),
            ("binary", det_bytes(200, 2)),
            ("ping", b"p1"),
            ("text", "ünïcödé ✓"),
        ]
        close = (1000, "bye")
    elif name == "proxy":
        items = [
            ("text", "hello through nginx"),
            ("binary", det_bytes(1000, 3)),
            ("ping", b"proxy-ping"),
            ("text", "x" * 200),
            ("text", "ünïcödé via proxy ✓"),
        ]
        close = (1000, "proxy test done")
    elif name == "hostile":
        # Payloads an attacker would send to take over the terminal of whoever reads a
        # capture: ANSI/VT escape sequences (clear screen, cursor moves, colours, OSC window
        # title with BEL, DCS), C0 controls (NUL, BS, CR, DEL), the 8-bit CSI as U+009B, bidi
        # overrides (U+202E), line separators (U+2028) and a BOM; in binary messages also
        # invalid UTF-8 (0xff 0xfe, overlong 0xc0 0xaf, lone continuation bytes, a cut
        # sequence). Sent by python3-websockets like any other message.
        items = [
            ("text", "\x1b[2J\x1b[H\x1b[31mred alert\x1b[0m cleared your screen"),
            ("text", "title \x1b]0;pwned by a packet\x07 and \x1bP+q544e\x1b\\ dcs"),
            ("text", "nul\x00 bs\x08\x08\x08 cr\r del\x7f tab\t vt\x0b ff\x0c"),
            ("text", "c1 csi \u009b31m bidi \u202eevil\u202c sep\u2028line bom\ufeff end"),
            ("binary", b"\xff\xfe invalid \xc0\xaf overlong \x80\x81 lone \xe2\x82 cut "
                       b"\x1b[5m blink \x1b]2;bin title\x07"),
            ("ping", b"ping \x1b[1A up"),
        ]
        close = (4000, "bye \x1b[31mred\x1b[0m \u202eclose")
    else:
        raise SystemExit(f"unknown scenario {name}")
    return items, close


# ---------------------------------------------------------------- server

async def run_server(a):
    log = open(a.log, "w")
    done = asyncio.Event()

    async def handler(ws, path=None):
        try:
            async for msg in ws:
                if isinstance(msg, str):
                    rec(log, "s2c", "text", msg)
                else:
                    rec(log, "s2c", "binary", msg)
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            # The library answered the client's close frame with the same
            # code and reason.
            if ws.close_code is not None:
                rec(log, "s2c", "close", code=ws.close_code,
                    reason=ws.close_reason or "", auto=True)
            done.set()

    async with websockets.serve(handler, a.host, a.port,
                                compression=compression_arg(a.compression),
                                ping_interval=None, max_size=None):
        print("listening", flush=True)
        await asyncio.wait_for(done.wait(), 20)
    log.close()


# ---------------------------------------------------------------- client

async def run_client(a):
    log = open(a.log, "w")
    items, (code, reason) = scenario(a.scenario)
    async with websockets.connect(a.url,
                                  compression=compression_arg(a.compression),
                                  ping_interval=None, max_size=None,
                                  close_timeout=5) as ws:
        if a.meta:
            with open(a.meta, "w") as m:
                json.dump({
                    "request_extensions": ws.request_headers.get("Sec-WebSocket-Extensions"),
                    "response_extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
                    "server_header": ws.response_headers.get("Server"),
                }, m)
        for kind, payload in items:
            if kind == "ping":
                rec(log, "c2s", "ping", payload)
                waiter = await ws.ping(payload)
                await asyncio.wait_for(waiter, 10)
                # websockets answers pings automatically with the same data.
                rec(log, "s2c", "pong", payload, auto=True)
                continue
            rec(log, "c2s", kind, payload)
            await ws.send(payload)
            echo = await asyncio.wait_for(ws.recv(), 10)
            if echo != payload:
                raise SystemExit("echo mismatch")
        rec(log, "c2s", "close", code=code, reason=reason)
        await ws.close(code=code, reason=reason)
    log.close()


# ---------------------------------------------------------------- merge

def merge(a):
    recs = []
    for i, path in enumerate(a.logs):
        with open(path) as f:
            for n, line in enumerate(f):
                if line.strip():
                    recs.append((json.loads(line)["t"], i, n, json.loads(line)))
    recs.sort(key=lambda x: x[:3])
    out = []
    for _, _, _, r in recs:
        del r["t"]
        if a.proxy:
            order = (1, 2) if r["dir"] == "c2s" else (2, 1)
        else:
            order = (1,)
        for conn in order:
            out.append(dict({"conn": conn}, **r))
    with open(a.out, "w") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--compression", default="none", choices=["none", "deflate"])
    s.add_argument("--log", required=True)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--scenario", required=True)
    c.add_argument("--compression", default="none", choices=["none", "deflate"])
    c.add_argument("--log", required=True)
    c.add_argument("--meta")
    m = sub.add_parser("merge")
    m.add_argument("--out", required=True)
    m.add_argument("--proxy", action="store_true")
    m.add_argument("logs", nargs="+")
    a = p.parse_args()
    if a.cmd == "server":
        asyncio.run(asyncio.wait_for(run_server(a), 25))
    elif a.cmd == "client":
        asyncio.run(asyncio.wait_for(run_client(a), 20))
    else:
        merge(a)


if __name__ == "__main__":
    main()
