#!/usr/bin/python3
"""Servers and clients for the upgrade-failure captures (tests/gen/upg-gen.sh).

Run with /usr/bin/python3 (Debian python3-websockets 10.4).  Every program
is bounded (socket timeouts / asyncio.wait_for) and writes what it saw to a
--result JSON file; programs that send WebSocket frames also write --log
(JSON lines with a "t" timestamp in ns, merged by ws_py.py merge into the
NAME.sent.jsonl sidecar).

  short-read-server  accept one connection, sleep --settle, recv(--bufsize)
                     ONCE, close without answering (naive fixed-buffer server)
  split-client       raw-socket client: a browser-like upgrade request (Chrome's
                     header order, a --cookie-bytes Cookie) written in TWO writes
                     --pause seconds apart (the first ends before the Cookie and
                     the key), then reads the answer (records EOF / ECONNRESET)
  hang-server        accept one connection, read the whole request head,
                     never answer; keep the socket open until --hold-file
                     exists (so the capture ends with the client's FIN)
  bad-accept-server  answer the upgrade with a 101 whose Sec-WebSocket-Accept
                     is the RFC 6455 example value (wrong for any other key),
                     then send one unmasked text frame
  ws-server          python3-websockets server (legacy asyncio API), --mode
                       echo     echo every message (logs its sends)
                       reject400  process_request -> 400 "missing token\\n"
                       rfc426   process_request -> 426 + Sec-WebSocket-Version:
                                13 when the version is not 13 (RFC 6455 4.4)
                       plain    no hook: the library's own answers
                     exits once its first connection has gone
  ws-client          python3-websockets client that is expected to FAIL the
                     opening handshake (records the exception); optional big
                     Cookie header, --open-timeout
  version-client     raw-socket client: upgrade request with
                     Sec-WebSocket-Version: --version (and Sec-WebSocket-Key:
                     --key, default a random valid key), reads the answer to EOF
  keepalive-client   raw-socket client: two GETs (Content-Length and chunked
                     answers), then a WebSocket upgrade on the SAME connection
                     (checks Sec-WebSocket-Accept), masked frames, close
"""

import argparse
import asyncio
import base64
import fcntl
import hashlib
import http
import json
import os
import socket
import struct
import termios
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
RFC_EXAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # for key dGhlIHNhbXBsZSBub25jZQ==


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def rec(log, direction, opcode, payload=None, code=None, reason=None, auto=False):
    """One sidecar record (same format as ws_py.py)."""
    r = {"t": time.time_ns(), "dir": direction, "opcode": opcode}
    if opcode == "close":
        rb = (reason or "").encode("utf-8")
        r["len"] = 2 + len(rb) if code is not None else 0
        r["code"] = code
        r["reason"] = reason or ""
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


def listen(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(4)
    s.settimeout(20)
    print("listening", flush=True)
    return s


def read_head(c, limit=65536):
    """Read until the end of an HTTP head; returns (head, extra)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            raise EOFError("EOF before end of head (%d bytes)" % len(buf))
        buf += d
        if len(buf) > limit:
            raise ValueError("head too long")
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs


def wait_peer(c, secs):
    """Wait for the peer to close; return what happened."""
    c.settimeout(secs)
    got = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                return {"peer": "EOF (FIN)", "bytes_after": got}
            got += len(d)
    except ConnectionResetError:
        return {"peer": "RST (ECONNRESET)", "bytes_after": got}
    except socket.timeout:
        return {"peer": "nothing within %.1fs" % secs, "bytes_after": got}


# ---------------------------------------------------------------- servers

def short_read_server(a):
    s = listen(a.host, a.port)
    c, peer = s.accept()
    time.sleep(a.settle)  # let the whole request head arrive: deterministic
    data = c.recv(a.bufsize)  # ONE read into a fixed-size buffer
    unread = struct.unpack("i", fcntl.ioctl(c.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
    c.close()  # unread data in the receive queue -> the kernel sends RST
    s.close()
    write_json(a.result, {
        "peer": "%s:%d" % peer[:2], "bufsize": a.bufsize, "settle_s": a.settle,
        "bytes_read": len(data), "unread_in_socket_at_close": unread,
        "first_line": data.split(b"\r\n", 1)[0].decode("latin-1"),
        "close": "RST expected (unread data)" if unread else "FIN expected",
    })


def split_client(a):
    key = base64.b64encode(os.urandom(16)).decode()
    # Chrome's order: request line, Host, Connection, Pragma, Cache-Control, User-Agent,
    # Upgrade, Origin, Sec-WebSocket-Version, Accept-Encoding, Accept-Language, Cookie,
    # Sec-WebSocket-Key, Sec-WebSocket-Extensions
    part1 = ("GET /chat HTTP/1.1\r\n"
             "Host: %s:%d\r\n"
             "Connection: Upgrade\r\n"
             "Pragma: no-cache\r\n"
             "Cache-Control: no-cache\r\n"
             "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
             "Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
             "Upgrade: websocket\r\n"
             "Origin: http://%s:%d\r\n"
             "Sec-WebSocket-Version: 13\r\n"
             "Accept-Encoding: gzip, deflate\r\n"
             "Accept-Language: en-US,en;q=0.9\r\n" % (a.host, a.port, a.host, a.port)).encode()
    jar, i = [], 0
    while sum(len(x) + 2 for x in jar) < a.cookie_bytes:
        jar.append("c%d=%s" % (i, base64.b64encode(os.urandom(45)).decode()))
        i += 1
    part2 = ("Cookie: %s\r\n"
             "Sec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
             "\r\n" % ("; ".join(jar), key)).encode()
    # --writes 3: the rest in two writes --pause apart (the Cookie line, then the key):
    # the server's RST for the second arrives before the third is written
    writes = [part1, part2]
    if a.writes == 3:
        cut = part2.index(b"\r\n") + 2
        writes = [part1, part2[:cut], part2[cut:]]
    c = socket.create_connection((a.host, a.port), timeout=10)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.time()
    res = {"write1_bytes": len(part1), "write2_bytes": len(part2),
           "head_bytes": len(part1) + len(part2), "pause_s": a.pause, "key": key,
           "writes": [len(w) for w in writes], "write_results": []}
    for i, w in enumerate(writes):
        if i:
            time.sleep(a.pause)
        try:
            c.sendall(w)
            res["write_results"].append("accepted by the kernel")
        except OSError as e:
            res["write_results"].append(repr(e))
            break
    try:
        got = b""
        while True:
            d = c.recv(65536)
            if not d:
                res["answer"] = "EOF (FIN) after %d bytes" % len(got)
                break
            got += d
    except ConnectionResetError:
        res["answer"] = "RST (ECONNRESET)"
    except socket.timeout:
        res["answer"] = "nothing within 10 s"
    res["elapsed_s"] = round(time.time() - t0, 3)
    c.close()
    write_json(a.result, res)


def hang_server(a):
    s = listen(a.host, a.port)
    c, peer = s.accept()
    head, extra = read_head(c)
    first, hdrs = parse_head(head)
    t_head = time.time()
    w = wait_peer(c, 10)  # never answer; notice the client giving up
    t_eof = time.time()
    for _ in range(150):  # hold the socket (no FIN) until the capture stopped
        if os.path.exists(a.hold_file):
            break
        time.sleep(0.1)
    c.close()
    s.close()
    write_json(a.result, {
        "peer": "%s:%d" % peer[:2], "request_line": first,
        "request_head_bytes": len(head), "answered": False,
        "client": w, "client_gave_up_after_s": round(t_eof - t_head, 3),
        "server_closed": "after the capture was stopped",
    })


def bad_accept_server(a):
    s = listen(a.host, a.port)
    c, peer = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head, _ = read_head(c)
    first, hdrs = parse_head(head)
    key = hdrs.get("sec-websocket-key", "")
    log = open(a.log, "w")
    resp = ("HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n\r\n" % RFC_EXAMPLE_ACCEPT).encode()
    c.sendall(resp)
    time.sleep(a.frame_delay)
    text = "welcome"
    rec(log, "s2c", "text", text)
    sent_frame = True
    try:
        c.sendall(bytes([0x81, len(text)]) + text.encode())
    except OSError as e:
        sent_frame = repr(e)
    w = wait_peer(c, 5)
    c.close()
    s.close()
    log.close()
    write_json(a.result, {
        "peer": "%s:%d" % peer[:2], "request_line": first, "client_key": key,
        "correct_accept": accept_for(key), "sent_accept": RFC_EXAMPLE_ACCEPT,
        "frame_delay_s": a.frame_delay, "text_frame_sent": sent_frame,
        "client_reaction": w,
    })


async def ws_server(a):
    import websockets
    log = open(a.log, "w") if a.log else None
    seen = []

    async def process_request(path, headers):
        seen.append({"path": path, "upgrade": headers.get("Upgrade"),
                     "connection": headers.get("Connection"),
                     "sec_websocket_key": headers.get("Sec-WebSocket-Key"),
                     "sec_websocket_version": headers.get("Sec-WebSocket-Version"),
                     "headers": list(headers.raw_items())})
        if a.mode == "reject400":
            return (http.HTTPStatus.BAD_REQUEST,
                    [("Content-Type", "text/plain")], b"missing token\n")
        if a.mode == "rfc426" and headers.get("Sec-WebSocket-Version") != "13":
            return (http.HTTPStatus.UPGRADE_REQUIRED,
                    [("Sec-WebSocket-Version", "13"), ("Content-Type", "text/plain")],
                    b"unsupported WebSocket version; use 13\n")
        return None

    async def handler(ws, path=None):
        try:
            async for msg in ws:
                if log:
                    rec(log, "s2c", "text" if isinstance(msg, str) else "binary", msg)
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            await ws.wait_closed()
            if log and ws.close_code is not None:
                rec(log, "s2c", "close", code=ws.close_code,
                    reason=ws.close_reason or "", auto=True)

    conns = {"opened": 0, "open": 0}
    gone = asyncio.Event()

    class Proto(websockets.WebSocketServerProtocol):
        # counts TCP connections, whatever becomes of their handshake
        def connection_made(self, transport):
            conns["opened"] += 1
            conns["open"] += 1
            super().connection_made(transport)

        def connection_lost(self, exc):
            super().connection_lost(exc)
            conns["open"] -= 1
            if conns["open"] == 0:
                gone.set()

    server = await websockets.serve(
        handler, a.host, a.port, compression=None, ping_interval=None,
        create_protocol=Proto,
        process_request=process_request)  # in "plain" mode it only records
    print("listening", flush=True)
    await gone.wait()  # the first connection (and any other) has gone
    server.close()
    await server.wait_closed()
    if log:
        log.close()
    write_json(a.result, {"mode": a.mode, "connections": conns["opened"], "requests": seen})


# ---------------------------------------------------------------- clients

def cookie_header(n):
    parts, i = [], 0
    while len("; ".join(parts)) < n:
        parts.append("sess_%02d=%s" % (i, base64.b64encode(hashlib.sha256(b"%d" % i).digest() * 2).decode()))
        i += 1
    return "; ".join(parts)


async def ws_client(a):
    import websockets
    extra = {}
    if a.cookie_bytes:
        extra["Cookie"] = cookie_header(a.cookie_bytes)
    res = {"url": a.url, "cookie_header_bytes": len(extra.get("Cookie", "")),
           "open_timeout_s": a.open_timeout}
    t0 = time.monotonic()
    try:
        async with websockets.connect(a.url, extra_headers=extra,
                                      open_timeout=a.open_timeout,
                                      ping_interval=None, close_timeout=2) as ws:
            res["outcome"] = "connected (unexpected)"
            res["response_headers"] = list(ws.response_headers.raw_items())
    except BaseException as e:  # noqa: B902 - record whatever it is
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        res["outcome"] = "failed"
        res["exception"] = "%s.%s" % (type(e).__module__, type(e).__name__)
        res["message"] = str(e)
        if e.__cause__ is not None:
            res["cause"] = "%s: %s" % (type(e.__cause__).__name__, e.__cause__)
        if hasattr(e, "status_code"):
            res["status_code"] = e.status_code
    res["elapsed_s"] = round(time.monotonic() - t0, 3)
    write_json(a.result, res)
    print(json.dumps(res), flush=True)


def connect(host, port):
    c = socket.create_connection((host, port), timeout=10)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def version_client(a):
    c = connect(a.host, a.port)
    key = a.key if a.key is not None else base64.b64encode(os.urandom(16)).decode()
    req = ("GET /chat HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: %s\r\nOrigin: http://%s:%d\r\n\r\n"
           % (a.host, a.port, key, a.version, a.host, a.port))
    c.sendall(req.encode())
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        buf += d
    c.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    first, hdrs = parse_head(head + b"\r\n\r\n")
    write_json(a.result, {"sent_version": a.version, "sent_key": key, "status_line": first,
                          "headers": hdrs, "body": body.decode("utf-8", "replace"),
                          "server_closed_first": True})


class Reader:
    def __init__(self, c):
        self.c, self.buf = c, b""

    def fill(self):
        d = self.c.recv(65536)
        if not d:
            raise EOFError("peer closed")
        self.buf += d

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n\r\n") + 4
        h, self.buf = self.buf[:i], self.buf[i:]
        return parse_head(h)

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n")
        d, self.buf = self.buf[:i], self.buf[i + 2:]
        return d

    def body(self, hdrs):
        if "content-length" in hdrs:
            return self.exact(int(hdrs["content-length"])), "content-length"
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            out, sizes = b"", []
            while True:
                n = int(self.line().split(b";")[0], 16)
                sizes.append(n)
                if n == 0:
                    while self.line():  # trailers
                        pass
                    return out, "chunked %s" % sizes
                out += self.exact(n)
                self.exact(2)
        raise ValueError("no framing")

    def frame(self):
        b0, b1 = self.exact(2)
        n = b1 & 127
        if n == 126:
            n = struct.unpack(">H", self.exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.exact(8))[0]
        if b1 & 0x80:
            raise ValueError("server frame is masked")
        return b0, self.exact(n)


def masked_frame(op, payload, mask):
    n = len(payload)
    hdr = bytes([0x80 | op])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return hdr + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


def keepalive_client(a):
    c = connect(a.host, a.port)
    r = Reader(c)
    log = open(a.log, "w")
    hostp = "%s:%d" % (a.host, a.port)
    res = {"exchanges": []}
    for path in ("/a", "/b"):
        c.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: wstap-upg-client\r\n"
                   "Accept: */*\r\n\r\n" % (path, hostp)).encode())
        first, hdrs = r.head()
        body, framing = r.body(hdrs)
        res["exchanges"].append({"request": "GET %s" % path, "status_line": first,
                                 "framing": framing, "body": body.decode(),
                                 "connection": hdrs.get("connection")})
    key = base64.b64encode(os.urandom(16)).decode()
    c.sendall(("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (hostp, key)).encode())
    first, hdrs = r.head()
    if not first.startswith("HTTP/1.1 101"):
        raise SystemExit("upgrade failed: %s" % first)
    if hdrs.get("sec-websocket-accept") != accept_for(key):
        raise SystemExit("bad Sec-WebSocket-Accept")
    res["exchanges"].append({"request": "GET /ws (upgrade)", "status_line": first,
                             "accept_ok": True})
    msgs = [(1, "text", "hello after two GETs".encode()),
            (2, "binary", bytes(range(10)))]
    for op, name, payload in msgs:
        rec(log, "c2s", name, payload.decode() if op == 1 else payload)
        c.sendall(masked_frame(op, payload, os.urandom(4)))
        b0, echo = r.frame()
        if b0 != 0x80 | op or echo != payload:
            raise SystemExit("bad echo")
        rec(log, "s2c", name, echo.decode() if op == 1 else echo)
    reason = "keep-alive test done"
    rec(log, "c2s", "close", code=1000, reason=reason)
    c.sendall(masked_frame(8, struct.pack(">H", 1000) + reason.encode(), os.urandom(4)))
    b0, pl = r.frame()
    if b0 != 0x88:
        raise SystemExit("expected close")
    code = struct.unpack(">H", pl[:2])[0]
    rec(log, "s2c", "close", code=code, reason=pl[2:].decode(), auto=True)
    # the server closes the TCP connection first (RFC 6455 5.5.1)
    try:
        while r.c.recv(65536):
            pass
        res["tcp_close"] = "server FIN first"
    except ConnectionResetError:
        res["tcp_close"] = "server RST"
    c.close()
    log.close()
    write_json(a.result, res)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, server=True):
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--result", required=True)

    s = sub.add_parser("short-read-server"); common(s)
    s.add_argument("--bufsize", type=int, default=512)
    s.add_argument("--settle", type=float, default=0.2)
    s = sub.add_parser("split-client"); common(s)
    s.add_argument("--cookie-bytes", type=int, default=2500)
    s.add_argument("--pause", type=float, default=0.1)
    s.add_argument("--writes", type=int, choices=[2, 3], default=2)
    s = sub.add_parser("hang-server"); common(s)
    s.add_argument("--hold-file", required=True)
    s = sub.add_parser("bad-accept-server"); common(s)
    s.add_argument("--log", required=True)
    s.add_argument("--frame-delay", type=float, default=0.0)
    s = sub.add_parser("ws-server"); common(s)
    s.add_argument("--mode", choices=["echo", "reject400", "rfc426", "plain"], required=True)
    s.add_argument("--log")
    s = sub.add_parser("ws-client")
    s.add_argument("--url", required=True)
    s.add_argument("--result", required=True)
    s.add_argument("--cookie-bytes", type=int, default=0)
    s.add_argument("--open-timeout", type=float, default=10)
    s = sub.add_parser("version-client"); common(s)
    s.add_argument("--version", default="8")
    s.add_argument("--key", help="Sec-WebSocket-Key to send as is (default: a random valid one)")
    s = sub.add_parser("keepalive-client"); common(s)
    s.add_argument("--log", required=True)
    a = p.parse_args()
    if a.cmd == "short-read-server":
        short_read_server(a)
    elif a.cmd == "split-client":
        split_client(a)
    elif a.cmd == "hang-server":
        hang_server(a)
    elif a.cmd == "bad-accept-server":
        bad_accept_server(a)
    elif a.cmd == "ws-server":
        asyncio.run(asyncio.wait_for(ws_server(a), 25))
    elif a.cmd == "ws-client":
        asyncio.run(asyncio.wait_for(ws_client(a), 20))
    elif a.cmd == "version-client":
        version_client(a)
    elif a.cmd == "keepalive-client":
        keepalive_client(a)


if __name__ == "__main__":
    main()
