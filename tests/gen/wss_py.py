#!/usr/bin/python3
"""wss (WebSocket over TLS) helper for the wstap TLS capture generators.

Debian's python3-websockets (10.x) and Python's ssl module; run with /usr/bin/python3.
Frames are logged like ws_py.py (JSON lines, "t" = time in ns, plus "conn"), so
`wss_py.py merge` turns the logs into the pcaps/NAME.sent.jsonl sidecar.

  wss_py.py server --host H --port P --cert C --key K --log FILE [--conns N]
                   [--tls12] [--ciphers S] [--dh FILE] [--curve NAME] [--alpn P]
                   [--no-ticket] [--compression none|deflate]
      TLS echo server: answers every message with the same message; exits after N
      connections have closed.  Logs every frame it sent.
  wss_py.py client --url wss://... --ca C --log FILE --scenario S [--conns N]
                   [--keylog FILE] [--tls12] [--ciphers S] [--alpn P]
                   [--compression none|deflate] [--meta FILE]
      Runs the scenario N times, one TLS connection after the other, lock-step (waits for
      each echo).  SSLContext.keylog_filename = --keylog: Python's own key log.
  wss_py.py feed --host H --port P --log FILE --scenario S [--conn N]
      Writes a WebSocket client session (Upgrade request, masked frames, a close) to
      stdout, for `openssl s_client` to send over TLS; a line "K" or "k" between frames
      is s_client's command to send a TLS 1.3 KeyUpdate (K: update_requested, so the
      server updates its keys too).  Each piece is one write followed by a pause, so
      s_client reads it as one chunk.
  wss_py.py merge [--proxy] --out SIDECAR LOG...
      Merges the logs by time into the sidecar (conn, dir, opcode, len, text|data_b64|
      code+reason, auto).  --proxy: every frame also for conn 2 (a proxy's second hop).
"""

import argparse
import asyncio
import base64
import json
import os
import random
import ssl
import sys
import time

import websockets


def rec(log, conn, direction, opcode, payload=None, code=None, reason=None, auto=False):
    r = {"t": time.time_ns(), "conn": conn, "dir": direction, "opcode": opcode}
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


def det_bytes(n, seed):
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


def scenario(name, conn):
    """("text"|"binary"|"ping"|"K"|"k", payload) items, then the close."""
    tag = "conn %d" % conn
    if name == "tls":
        items = [
            ("text", "hello over TLS, " + tag),
            ("text", ("wss-300:" + "abcdefghijklmnopqrstuvwxyz0123456789" * 9)[:300]),
            # 20000 bytes: more than one TLS record (16384 bytes of plaintext at most)
            ("binary", det_bytes(20000, 100 + conn)),
            ("ping", b"tls-ping-" + str(conn).encode()),
            ("text", "ünïcödé ✓ 日本語 🚀 " + tag),
        ]
        close = (1000, "wss done")
    elif name == "deflate":
        items = []
        for i in range(12):
            items.append(("text", json.dumps({"type": "tick", "seq": i, "conn": conn,
                                              "price": round(100 + i * 0.25, 2),
                                              "note": "similar json over TLS, context takeover"},
                                             separators=(",", ":"))))
        rnd = random.Random(17)
        words = ["wss", "deflate", "record", "nonce", "aead", "frame", "mask", "inflate"]
        items.append(("text", " ".join(rnd.choice(words) for _ in range(3000))))
        items.append(("binary", det_bytes(600, 7)))
        close = (1000, "")
    elif name == "small":
        items = [
            ("text", "small " + tag),
            ("binary", det_bytes(200, 2 + conn)),
            ("ping", b"p" + str(conn).encode()),
            ("text", "ünïcödé ✓ " + tag),
        ]
        close = (1000, "bye")
    elif name == "keyupdate":
        items = [
            ("text", "before any key update"),
            ("K", None),
            ("text", "after K: client updated, server asked to update too"),
            ("binary", det_bytes(3000, 5)),
            ("k", None),
            ("text", "after k: client updated again, server not asked"),
            ("ping", b"ku-ping"),
            ("K", None),
            ("text", "after the second K " + "x" * 200),
            ("binary", det_bytes(6000, 6)),
        ]
        close = (1000, "key updates done")
    elif name == "resume":
        items = [
            ("text", "session " + tag),
            ("binary", det_bytes(1500, 40 + conn)),
            ("text", "ünïcödé resumed? " + tag),
        ]
        close = (1000, "bye " + tag)
    elif name == "lossy":
        items = [("text", "lossy start")]
        for i in range(20):
            items.append(("binary", det_bytes(1500 + 231 * i, 500 + i)))
            if i % 5 == 4:
                items.append(("text", "status %d " % i + "s" * (80 * i)))
        items.append(("ping", b"lossy-ping"))
        close = (1000, "lossy wss done")
    else:
        raise SystemExit("unknown scenario %s" % name)
    return items, close


def comp(name):
    return None if name == "none" else "deflate"


def tls_context(a, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    if server:
        ctx.load_cert_chain(a.cert, a.key)
        if a.dh:
            ctx.load_dh_params(a.dh)
        if a.curve:
            ctx.set_ecdh_curve(a.curve)
        if a.no_ticket:
            ctx.options |= ssl.OP_NO_TICKET
    else:
        ctx.load_verify_locations(a.ca)
        if a.keylog:
            ctx.keylog_filename = a.keylog
    if a.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if a.ciphers:
        ctx.set_ciphers(a.ciphers)
    if a.alpn:
        ctx.set_alpn_protocols([a.alpn])
    return ctx


# ---------------------------------------------------------------- server

async def run_server(a):
    log = open(a.log, "w")
    done = asyncio.Event()
    state = {"accepted": 0, "closed": 0}

    async def handler(ws, path=None):
        state["accepted"] += 1
        conn = state["accepted"]
        try:
            async for msg in ws:
                rec(log, conn, "s2c", "text" if isinstance(msg, str) else "binary", msg)
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            if ws.close_code is not None:
                rec(log, conn, "s2c", "close", code=ws.close_code,
                    reason=ws.close_reason or "", auto=True)
            state["closed"] += 1
            if state["closed"] >= a.conns:
                done.set()

    async with websockets.serve(handler, a.host, a.port, ssl=tls_context(a, True),
                                compression=comp(a.compression), ping_interval=None,
                                max_size=None):
        print("listening", flush=True)
        await asyncio.wait_for(done.wait(), 40)
    log.close()


# ---------------------------------------------------------------- client

async def run_client(a):
    log = open(a.log, "w")
    ctx = tls_context(a, False)
    meta = {"connections": []}
    for conn in range(1, a.conns + 1):
        items, (code, reason) = scenario(a.scenario, conn)
        async with websockets.connect(a.url, ssl=ctx, compression=comp(a.compression),
                                      ping_interval=None, max_size=None,
                                      close_timeout=5) as ws:
            sslobj = ws.transport.get_extra_info("ssl_object")
            meta["connections"].append({
                "conn": conn,
                "tls_version": sslobj.version(),
                "cipher": sslobj.cipher()[0],
                "alpn": sslobj.selected_alpn_protocol(),
                "request_extensions": ws.request_headers.get("Sec-WebSocket-Extensions"),
                "response_extensions": ws.response_headers.get("Sec-WebSocket-Extensions"),
                "server_header": ws.response_headers.get("Server"),
            })
            for kind, payload in items:
                if kind == "ping":
                    rec(log, conn, "c2s", "ping", payload)
                    waiter = await ws.ping(payload)
                    await asyncio.wait_for(waiter, 10)
                    rec(log, conn, "s2c", "pong", payload, auto=True)
                    continue
                rec(log, conn, "c2s", kind, payload)
                await ws.send(payload)
                echo = await asyncio.wait_for(ws.recv(), 10)
                if echo != payload:
                    raise SystemExit("echo mismatch")
            rec(log, conn, "c2s", "close", code=code, reason=reason)
            await ws.close(code=code, reason=reason)
        await asyncio.sleep(0.2)
    log.close()
    if a.meta:
        with open(a.meta, "w") as m:
            json.dump(meta, m)


# ---------------------------------------------------------------- feed (for s_client)

def frame(opcode, payload, fin=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        hdr = bytes([b0, 0x80 | n])
    elif n < 65536:
        hdr = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        hdr = bytes([b0, 0x80 | 127]) + n.to_bytes(8, "big")
    key = os.urandom(4)
    return hdr + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def run_feed(a):
    out = sys.stdout.buffer
    log = open(a.log, "w")
    conn = a.conn
    items, (code, reason) = scenario(a.scenario, conn)
    wskey = base64.b64encode(os.urandom(16)).decode()

    def put(b, pause=0.4):
        out.write(b)
        out.flush()
        time.sleep(pause)

    time.sleep(a.start_delay)
    put(("GET /feed HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
         "User-Agent: openssl-s_client-feed\r\n\r\n" % (a.host, a.port, wskey)).encode(), 0.6)
    ops = {"text": 1, "binary": 2, "ping": 9}
    for kind, payload in items:
        if kind in ("K", "k"):
            put(kind.encode() + b"\n")
            continue
        data = payload.encode("utf-8") if kind == "text" else payload
        assert len(data) < 7000   # s_client reads stdin in chunks of 8 KiB
        rec(log, conn, "c2s", kind, payload)
        put(frame(ops[kind], data))
        if kind == "ping":
            rec(log, conn, "s2c", "pong", payload, auto=True)
    rec(log, conn, "c2s", "close", code=code, reason=reason)
    put(frame(8, code.to_bytes(2, "big") + reason.encode("utf-8")), 1.0)
    log.close()


# ---------------------------------------------------------------- merge

def merge(a):
    recs = []
    for i, path in enumerate(a.logs):
        with open(path) as f:
            for n, line in enumerate(f):
                if line.strip():
                    r = json.loads(line)
                    recs.append((r.pop("t"), i, n, r))
    recs.sort(key=lambda x: x[:3])
    if a.proxy:
        # a proxy forwards every frame: c2s on conn 1 then conn 2, s2c on conn 2 then conn 1
        dup = []
        for t, i, n, r in recs:
            for k, conn in enumerate((1, 2) if r["dir"] == "c2s" else (2, 1)):
                dup.append((t, i, n * 2 + k, dict(r, conn=conn)))
        recs = dup
    with open(a.out, "w") as f:
        for _, _, _, r in sorted(recs, key=lambda x: (x[3]["conn"],) + x[:3]):
            r = dict({"conn": r["conn"]}, **{k: v for k, v in r.items() if k != "conn"})
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--dh")
    s.add_argument("--curve")
    s.add_argument("--no-ticket", action="store_true")
    s.add_argument("--conns", type=int, default=1)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--ca", required=True)
    c.add_argument("--keylog")
    c.add_argument("--scenario", required=True)
    c.add_argument("--conns", type=int, default=1)
    c.add_argument("--meta")
    for x in (s, c):
        x.add_argument("--log", required=True)
        x.add_argument("--tls12", action="store_true")
        x.add_argument("--ciphers")
        x.add_argument("--alpn")
        x.add_argument("--compression", default="none", choices=["none", "deflate"])
    f = sub.add_parser("feed")
    f.add_argument("--host", required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--log", required=True)
    f.add_argument("--scenario", required=True)
    f.add_argument("--conn", type=int, default=1)
    f.add_argument("--start-delay", type=float, default=1.0)
    m = sub.add_parser("merge")
    m.add_argument("--out", required=True)
    m.add_argument("--proxy", action="store_true")
    m.add_argument("logs", nargs="+")
    a = p.parse_args()
    if a.cmd == "server":
        asyncio.run(asyncio.wait_for(run_server(a), 45))
    elif a.cmd == "client":
        asyncio.run(asyncio.wait_for(run_client(a), 40))
    elif a.cmd == "feed":
        run_feed(a)
    else:
        merge(a)


if __name__ == "__main__":
    main()
