#!/usr/bin/python3
"""WebSocket client/server used by the ns-*.sh capture generators.

Runs under Debian's /usr/bin/python3 with python3-websockets (10.x), always
with compression=None so the frames on the wire are plain RFC 6455 frames.

Every frame that goes on the wire is logged as one JSON line to --log:
  {"t": <CLOCK_REALTIME ns>, "cport": <client TCP port>, "sport": <server
   TCP port>, "dir": "c2s"|"s2c", "opcode": ..., "len": ..., ...}
Frames the library emits by itself (the pong answering a ping, the close
frame echoed by the peer) carry "auto": true and are logged by the side that
observes them, at the moment it observes them; the exchange is lock-step (each step waits for its
answer), so sorting all lines by "t" yields the true send order.
ns-pcaptool.py merges the client and server logs into NAME.sent.jsonl.

  ns-ws.py server --host H --port P --log FILE --ready FILE
  ns-ws.py client --url ws://H:P/path --log FILE --scenario full|small
"""
import argparse
import asyncio
import base64
import json
import os
import sys
import time

import websockets


class Log:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def write(self, ws, side, direction, opcode, payload=None, code=None,
              reason=None, auto=False):
        if side == "client":
            cport, sport = ws.local_address[1], ws.remote_address[1]
        else:
            cport, sport = ws.remote_address[1], ws.local_address[1]
        rec = {"t": time.time_ns(), "cport": cport, "sport": sport,
               "dir": direction, "opcode": opcode}
        if opcode == "text":
            rec["len"] = len(payload.encode("utf-8"))
            rec["text"] = payload
        elif opcode == "close":
            r = reason or ""
            rec["len"] = (2 + len(r.encode("utf-8"))) if code is not None else 0
            if code is not None:
                rec["code"] = code
                rec["reason"] = r
        else:
            rec["len"] = len(payload)
            rec["data_b64"] = base64.b64encode(payload).decode("ascii")
        if auto:
            rec["auto"] = True  # sent by the library itself, not by a call
        self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.f.flush()


# ---------------------------------------------------------------- server
async def serve(args):
    log = Log(args.log)

    async def handler(ws, path=None):
        async for msg in ws:
            if isinstance(msg, bytes):
                out = bytes(reversed(msg))
                log.write(ws, "server", "s2c", "binary", out)
                await ws.send(out)
            elif msg == "please-ping":
                data = b"srv-ping"
                log.write(ws, "server", "s2c", "ping", data)
                waiter = await ws.ping(data)
                await waiter
                # the client library answered with a pong carrying the data
                log.write(ws, "server", "c2s", "pong", data, auto=True)
                reply = "pinged"
                log.write(ws, "server", "s2c", "text", reply)
                await ws.send(reply)
            elif len(msg) > 1000:
                reply = "got %d chars" % len(msg)
                log.write(ws, "server", "s2c", "text", reply)
                await ws.send(reply)
            else:
                reply = "echo: " + msg
                log.write(ws, "server", "s2c", "text", reply)
                await ws.send(reply)

    async with websockets.serve(handler, args.host, args.port,
                                compression=None, ping_interval=None):
        with open(args.ready, "w") as f:
            f.write("ready\n")
        await asyncio.Future()  # until killed


# ---------------------------------------------------------------- client
SCENARIOS = {
    # full: used for the netns captures
    "full": [
        ("text", "hello from the client"),
        ("text", "h\u00e9llo w\u00f6rld \u2713 \u2014 \u00fcn\u00ef\u00e7\u00f8d\u00e9 \U0001F600"),
        ("binary", bytes(range(256)) + bytes(range(44))),          # 300 bytes
        ("ping", b"cli-ping-1"),
        ("text", "please-ping"),
        ("text", "".join(chr(0x41 + (i % 26)) for i in range(66000))),  # 64-bit length
        ("binary", b""),                                              # empty binary
        ("text", ""),                                                 # empty text
        ("close", (1000, "bye")),
    ],
    # small: used for the loopback capture that gets relinked (no segment
    # may exceed 65535 bytes once re-encapsulated)
    "small": [
        ("text", "hello over loopback"),
        ("text", "caf\u00e9 \u2615"),
        ("binary", bytes(range(200))),
        ("ping", b"lo-ping"),
        ("text", "please-ping"),
        ("text", "".join(chr(0x61 + (i % 26)) for i in range(20000))),  # 16-bit length
        ("close", (1000, "done")),
    ],
}


async def client(args):
    log = Log(args.log)
    async with websockets.connect(args.url, compression=None,
                                  ping_interval=None, open_timeout=10) as ws:
        for kind, val in SCENARIOS[args.scenario]:
            if kind == "text" or kind == "binary":
                log.write(ws, "client", "c2s", kind, val)
                await ws.send(val)
                reply = await ws.recv()
                _ = reply  # logged by the server when it sent it
            elif kind == "ping":
                log.write(ws, "client", "c2s", "ping", val)
                waiter = await ws.ping(val)
                await waiter
                log.write(ws, "client", "s2c", "pong", val, auto=True)
            elif kind == "close":
                code, reason = val
                log.write(ws, "client", "c2s", "close", code=code, reason=reason)
                await ws.close(code, reason)
                # websockets echoes the received close frame
                log.write(ws, "client", "s2c", "close",
                          code=ws.close_code, reason=ws.close_reason, auto=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--ready", required=True)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--scenario", default="full", choices=sorted(SCENARIOS))
    args = ap.parse_args()
    if args.cmd == "server":
        try:
            asyncio.run(serve(args))
        except KeyboardInterrupt:
            pass
        return 0
    return asyncio.run(client(args))


if __name__ == "__main__":
    sys.exit(main())
