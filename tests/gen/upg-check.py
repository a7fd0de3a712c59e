#!/usr/bin/python3
"""Check an upgrade-failure capture and write its NAME.meta.json.

  upg-check.py WHAT PCAP WORKDIR --port P [--port P...] --versions JSON
               [--openssl VERSION]

Reads the capture only through tshark (-d tcp.port==P,http|tls|http2 for
every --port).  Summarises every TCP connection (client = SYN sender; FIN/RST
events and who sent them first; payload segments and bytes; how many TCP
segments carried the first request head), the HTTP request/status lines, TLS
handshake fields and HTTP/2 frames; checks that WebSocket frames tshark
decodes equal WORKDIR/sent.jsonl (empty = no frame at all); then asserts the
expectations of capture WHAT (the failure it must demonstrate) and writes
WORKDIR/meta.json with the description, the expected diagnosis, what the
programs themselves reported (WORKDIR/*.json) and the observed summary.
Exit status 1 (with the reason) if anything is not as expected, 3 if tshark
sees a retransmitted / lost / out-of-order segment (rare on lo; the capture
is then recorded again by make-upgrade.sh).
"""

import argparse
import base64
import glob
import json
import os
import subprocess
import sys


def tshark(pcap, *args):
    r = subprocess.run(["tshark", "-r", pcap, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors="replace"))
        raise SystemExit("tshark failed: %s" % " ".join(args))
    return r.stdout.decode("utf-8", errors="replace")


def fields(pcap, dargs, flt, names):
    args = list(dargs)
    if flt:
        args += ["-Y", flt]
    args += ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for n in names:
        args += ["-e", n]
    rows = []
    for line in tshark(pcap, *args).splitlines():
        v = line.split("\t")
        v += [""] * (len(names) - len(v))
        rows.append(dict(zip(names, v)))
    return rows


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


# ---------------------------------------------------------------- summary

def summarize(pcap, ports, proto):
    dargs = []
    for p in ports:
        dargs += ["-d", "tcp.port==%d,%s" % (p, proto)]
    pk = fields(pcap, dargs, "tcp", [
        "frame.number", "frame.time_relative", "tcp.stream", "ip.src", "ipv6.src",
        "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.flags.syn",
        "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset", "tcp.seq", "tcp.len",
        "tcp.payload"])
    bad = {int(r["tcp.stream"]) for r in fields(
        pcap, dargs, "tcp.analysis.retransmission || tcp.analysis.lost_segment || "
        "tcp.analysis.ack_lost_segment || tcp.analysis.out_of_order", ["tcp.stream"])}
    conns = {}
    for r in pk:
        st = int(r["tcp.stream"])
        src = "%s:%s" % (r["ip.src"] or "[%s]" % r["ipv6.src"], r["tcp.srcport"])
        dst = "%s:%s" % (r["ip.dst"] or "[%s]" % r["ipv6.dst"], r["tcp.dstport"])
        c = conns.get(st)
        if c is None:
            need(r["tcp.flags.syn"] == "1" and r["tcp.flags.ack"] == "0",
                 "stream %d does not start with a SYN" % st)
            c = conns[st] = {"client": src, "server": dst, "frames": 0,
                             "c2s_payload_segments": 0, "s2c_payload_segments": 0,
                             "c2s_bytes": 0, "s2c_bytes": 0, "events": [],
                             "_c2s": [], "_s2c": [], "anomalies": 0}
        d = "c2s" if src == c["client"] else "s2c"
        c["frames"] += 1
        n = int(r["tcp.len"] or 0)
        if n:
            c[d + "_payload_segments"] += 1
            c[d + "_bytes"] += n
            c["_" + d].append((int(r["tcp.seq"]), bytes.fromhex(r["tcp.payload"].replace(":", ""))))
        who = "client" if d == "c2s" else "server"
        t = round(float(r["frame.time_relative"]), 6)
        for flag, name in (("tcp.flags.fin", "FIN"), ("tcp.flags.reset", "RST")):
            if r[flag] == "1":
                c["events"].append({"frame": int(r["frame.number"]), "t": t,
                                    "by": who, "flag": name})
        if st in bad:
            c["anomalies"] = 1
        c["last_t"] = t
    out = []
    for i, st in enumerate(sorted(conns)):
        c = conns[st]
        c["conn"] = i + 1
        c["tcp_stream"] = st
        c2s = b"".join(p for _, p in sorted(c["_c2s"]))
        s2c = b"".join(p for _, p in sorted(c["_s2c"]))
        c["first_close"] = c["events"][0] if c["events"] else None
        if c2s.startswith((b"GET ", b"POST ", b"PUT ", b"HEAD ")) and b"\r\n\r\n" in c2s:
            hl = c2s.index(b"\r\n\r\n") + 4
            c["first_request_head"] = {
                "bytes": hl,
                "segments": sum(1 for seq, _ in c["_c2s"] if seq - 1 < hl),
                "segment_lengths": [len(p) for seq, p in sorted(c["_c2s"]) if seq - 1 < hl],
            }
        c["_c2s_data"], c["_s2c_data"] = c2s, s2c
        del c["_c2s"], c["_s2c"]
        out.append(c)
    return out, dargs


def http_lines(pcap, dargs, conns):
    bystream = {c["tcp_stream"]: c for c in conns}
    rows = fields(pcap, dargs, "http", [
        "frame.number", "tcp.stream", "http.request.method", "http.request.uri",
        "http.request.version", "http.response.version", "http.response.code",
        "http.response.phrase"])
    res = []
    for r in rows:
        c = bystream[int(r["tcp.stream"])]
        if r["http.request.method"]:
            for m, u, v in zip(*(r[k].split("|") for k in (
                    "http.request.method", "http.request.uri", "http.request.version"))):
                res.append({"conn": c["conn"], "frame": int(r["frame.number"]),
                            "dir": "c2s", "line": "%s %s %s" % (m, u, v)})
        if r["http.response.code"]:
            for v, code, ph in zip(*(r[k].split("|") for k in (
                    "http.response.version", "http.response.code", "http.response.phrase"))):
                res.append({"conn": c["conn"], "frame": int(r["frame.number"]),
                            "dir": "s2c", "line": "%s %s %s" % (v, code, ph)})
    return res


def http_messages(data):
    """Split one direction's HTTP/1.x bytes into (head, headers, body) messages
    (Content-Length / chunked / to EOF); stops at a 101 (rest = WebSocket)."""
    msgs, pos = [], 0
    while pos < len(data) and b"\r\n\r\n" in data[pos:] and \
            data[pos:].startswith((b"GET ", b"HEAD ", b"POST ", b"HTTP/")):
        end = data.index(b"\r\n\r\n", pos) + 4
        head = data[pos:end].decode("latin-1")
        lines = head.split("\r\n")
        hdrs = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:] if ":" in ln]
        h = {k.lower(): v for k, v in hdrs}
        pos = end
        body = b""
        if lines[0].split(" ")[1:2] == ["101"]:
            msgs.append((lines[0], hdrs, b""))
            break
        if "content-length" in h:
            n = int(h["content-length"])
            body, pos = data[pos:pos + n], pos + n
        elif h.get("transfer-encoding", "").lower() == "chunked":
            while True:
                le = data.index(b"\r\n", pos)
                n = int(data[pos:le].split(b";")[0], 16)
                body += data[le + 2:le + 2 + n]
                pos = le + 2 + n + 2
                if n == 0:
                    break
        elif lines[0].startswith("HTTP/"):
            body, pos = data[pos:], len(data)
        msgs.append((lines[0], hdrs, body))
    return msgs


OPNAMES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def hexbytes(s):
    return bytes.fromhex(s.replace(":", "")) if s else b""


def verify_ws(pcap, dargs, conns, sidecar):
    """tshark's WebSocket decode must equal the sidecar (per conn and dir)."""
    bystream = {c["tcp_stream"]: c for c in conns}
    pk = json.loads(tshark(pcap, *dargs, "-Y", "websocket", "-T", "json",
                           "--no-duplicate-keys", "-J", "tcp websocket data"))
    got = {}
    for p in pk:
        layers = p["_source"]["layers"]
        tcp = layers["tcp"]
        c = bystream[int(tcp["tcp.stream"])]
        d = "c2s" if "%s" % tcp["tcp.srcport"] == c["client"].rsplit(":", 1)[1] else "s2c"
        datas = as_list(layers.get("data"))
        for ws in as_list(layers.get("websocket")):
            op = int(ws["websocket.opcode"])
            plen = int(ws.get("websocket.payload_length_ext_64")
                       or ws.get("websocket.payload_length_ext_16")
                       or ws["websocket.payload_length"])
            pl = ws.get("websocket.payload") or {}
            fr = {"opcode": OPNAMES.get(op, str(op)), "len": plen}
            if op == 1:
                fr["text"] = pl["websocket.payload.text"] if plen else ""
            elif op == 2:
                fr["data"] = hexbytes(datas.pop(0)["data.data"]) if plen else b""
            elif op in (9, 10):
                key = "websocket.payload.ping" if op == 9 else "websocket.payload.pong"
                fr["data"] = hexbytes(pl.get(key, "")) if plen else b""
            elif op == 8 and plen:
                cl = pl["websocket.payload.close"]
                fr["code"] = int(cl["websocket.payload.close.status_code"])
                fr["reason"] = cl.get("websocket.payload.close.reason", "")
            got.setdefault((c["conn"], d), []).append(fr)
    want = {}
    with open(sidecar, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            fr = {"opcode": r["opcode"], "len": r["len"]}
            if "text" in r:
                fr["text"] = r["text"]
            if "data_b64" in r:
                fr["data"] = base64.b64decode(r["data_b64"])
            if "code" in r:
                fr["code"], fr["reason"] = r["code"], r["reason"]
            want.setdefault((r["conn"], r["dir"]), []).append(fr)
    need(got == want, "WebSocket frames differ from the sidecar:\n capture %r\n sidecar %r"
         % (got, want))
    return sum(len(v) for v in want.values())


def tls_summary(pcap, dargs):
    rows = fields(pcap, dargs, "tls.handshake.type", [
        "frame.number", "tcp.srcport", "tls.handshake.type",
        "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
        "tls.handshake.extensions.supported_version", "tls.handshake.version"])
    s = {}
    for r in rows:
        types = r["tls.handshake.type"].split("|")
        if "1" in types:
            s["client_hello_frame"] = int(r["frame.number"])
            s["sni"] = r["tls.handshake.extensions_server_name"]
            s["alpn_offered"] = r["tls.handshake.extensions_alpn_str"].split("|")
            s["versions_offered"] = r["tls.handshake.extensions.supported_version"].split("|")
        if "2" in types:
            s["server_hello_frame"] = int(r["frame.number"])
            sv = r["tls.handshake.extensions.supported_version"]
            s["version_selected"] = sv or r["tls.handshake.version"].split("|")[-1]
            # TLS 1.3 puts the ALPN answer in EncryptedExtensions (not visible)
            s["alpn_selected_visible"] = r["tls.handshake.extensions_alpn_str"] or None
    alerts = fields(pcap, dargs, "tls.record.content_type==21 || tls.record.opaque_type==23",
                    ["frame.number", "tcp.srcport", "tls.record.content_type",
                     "tls.record.opaque_type", "tls.record.length"])
    s["records_after_handshake"] = [
        {"frame": int(r["frame.number"]), "srcport": int(r["tcp.srcport"]),
         "content_type": r["tls.record.content_type"], "opaque_type": r["tls.record.opaque_type"],
         "length": r["tls.record.length"]} for r in alerts]
    return s


def h2_summary(pcap, dargs):
    rows = fields(pcap, dargs, "http2", [
        "frame.number", "tcp.srcport", "http2.magic", "http2.type", "http2.streamid",
        "http2.headers.method", "http2.headers.path", "http2.headers.status",
        "http2.header.value"])
    names = {0: "DATA", 1: "HEADERS", 3: "RST_STREAM", 4: "SETTINGS", 7: "GOAWAY", 8: "WINDOW_UPDATE"}
    out = []
    for r in rows:
        types = [names.get(int(t), t) for t in r["http2.type"].split("|") if t]
        out.append({"frame": int(r["frame.number"]), "srcport": int(r["tcp.srcport"]),
                    "magic": bool(r["http2.magic"]), "types": types,
                    "streams": r["http2.streamid"].split("|"),
                    "method": r["http2.headers.method"] or None,
                    "path": r["http2.headers.path"] or None,
                    "status": r["http2.headers.status"] or None})
    return out


# ---------------------------------------------------------------- captures

def hdr(hdrs, name):
    for k, v in hdrs:
        if k.lower() == name.lower():
            return v
    return None


def one_exchange(conn):
    """(request (line, headers, body), response or None) of a connection."""
    req = http_messages(conn["_c2s_data"])
    rsp = http_messages(conn["_s2c_data"])
    return req, rsp


def terminal(conn):
    return ["%s %s" % (e["by"], e["flag"]) for e in conn["events"]]


SPEC = {}


def spec(name, **kw):
    def deco(fn):
        SPEC[name] = dict(kw, check=fn)
        return fn
    return deco


@spec("short-read", proto="http",
      description="python3-websockets client (3 KB Cookie header) -> naive plain-socket "
                  "server that reads at most 512 bytes once and closes without answering; "
                  "over a veth pair between two network namespaces (MTU 1500, TSO/GSO/GRO "
                  "and tx checksum offload off), captured on the server's veth")
def chk_short_read(s, res):
    need(len(s["conns"]) == 1, "one connection")
    c = s["conns"][0]
    h = c.get("first_request_head")
    need(h and h["segments"] >= 3, "request head should span >= 3 segments: %r" % h)
    need(c["s2c_bytes"] == 0, "server must not answer")
    need(terminal(c) == ["server RST"], "expected only a server RST, got %r" % terminal(c))
    need(res["server"]["unread_in_socket_at_close"] > 0, "server left unread data")
    need(res["client"]["exception"].endswith("InvalidMessage"), "client failed")
    return {
        "failure": "server-closed-without-response",
        "summary": "the upgrade request head (%d bytes in %d TCP segments of %s bytes) "
                   "gets no HTTP response; the server read %d bytes and closed with %d bytes "
                   "unread, so its kernel sent RST (not FIN); the WebSocket handshake never "
                   "completed" % (h["bytes"], h["segments"], h["segment_lengths"],
                                  res["server"]["bytes_read"],
                                  res["server"]["unread_in_socket_at_close"]),
        "http_response": None,
        "closed_first_by": "server", "close_kind": "RST",
        "request_head_bytes": h["bytes"], "request_head_segments": h["segments"],
        "client_error": "%s: %s (%s)" % (res["client"]["exception"], res["client"]["message"],
                                         res["client"].get("cause")),
    }


@spec("short-read-2w", proto="http",
      description="plain-socket client writing a browser-like upgrade request (Chrome's "
                  "header order, 2.5 KB Cookie) in two writes 0.1 s apart -> naive "
                  "plain-socket server that reads at most 512 bytes once as soon as data "
                  "arrives and closes without answering (FIN: nothing unread), so its kernel "
                  "resets the second write's segments; over a veth pair between two network "
                  "namespaces (MTU 1500, TSO/GSO/GRO and tx checksum offload off), captured "
                  "on the server's veth")
def chk_short_read_2w(s, res):
    need(len(s["conns"]) == 1, "one connection")
    c = s["conns"][0]
    h = c.get("first_request_head")
    cl, sv = res["client"], res["server"]
    need(h and h["bytes"] == cl["head_bytes"], "the whole head is in the capture: %r" % h)
    need(c["s2c_bytes"] == 0, "server must not answer")
    t = terminal(c)
    need(t[0] == "server FIN" and "server RST" in t, "expected server FIN then RST, got %r" % t)
    need(sv["unread_in_socket_at_close"] == 0 and sv["bytes_read"] == cl["write1_bytes"],
         "server read the whole first write and nothing was left: %r" % sv)
    need(cl["write1_bytes"] < 512, "first write fits the server's buffer")
    fin = c["events"][0]
    rsts = [e for e in c["events"] if e["flag"] == "RST"]
    return {
        "failure": "server-closed-before-head-complete",
        "summary": "the upgrade request head (%d bytes: a first write of %d bytes, a second of "
                   "%d bytes %.1f s later) gets no HTTP response; the server read the first "
                   "write (%d bytes, no Sec-WebSocket-Key) and closed: FIN at %.6f s (frame "
                   "%d); its kernel answered the second write's segments with %d RST(s), the "
                   "first at %.6f s (frame %d)"
                   % (cl["head_bytes"], cl["write1_bytes"], cl["write2_bytes"], cl["pause_s"],
                      sv["bytes_read"], fin["t"], fin["frame"], len(rsts), rsts[0]["t"],
                      rsts[0]["frame"]),
        "http_response": None,
        "closed_first_by": "server", "close_kind": "FIN, then RST",
        "request_head_bytes": h["bytes"], "request_head_segments": h["segments"],
        "bytes_before_fin": cl["write1_bytes"],
        "client_answer": cl["answer"],
    }


@spec("short-read-3w", proto="http",
      description="plain-socket client writing a browser-like upgrade request (Chrome's "
                  "header order, 2.5 KB Cookie) in three writes 0.1 s apart (up to "
                  "Accept-Language; the Cookie line; the key and the empty line) -> naive "
                  "plain-socket server that reads at most 512 bytes once as soon as data "
                  "arrives and closes without answering (FIN); its kernel resets the second "
                  "write, so the third fails (ECONNRESET) and the head's end never reaches the "
                  "wire; over a veth pair between two network namespaces (MTU 1500, "
                  "TSO/GSO/GRO and tx checksum offload off), captured on the server's veth")
def chk_short_read_3w(s, res):
    need(len(s["conns"]) == 1, "one connection")
    c = s["conns"][0]
    cl, sv = res["client"], res["server"]
    need("first_request_head" not in c, "the head must not be complete in the capture")
    need(c["s2c_bytes"] == 0, "server must not answer")
    t = terminal(c)
    need(t[0] == "server FIN" and "server RST" in t, "expected server FIN then RST, got %r" % t)
    need(sv["unread_in_socket_at_close"] == 0 and sv["bytes_read"] == cl["write1_bytes"],
         "server read the whole first write and nothing was left: %r" % sv)
    need(len(cl["write_results"]) == 3 and "Error" in cl["write_results"][2],
         "the third write must fail: %r" % cl["write_results"])
    fin = c["events"][0]
    rsts = [e for e in c["events"] if e["flag"] == "RST"]
    return {
        "failure": "server-closed-head-never-complete",
        "summary": "the upgrade request head never completes on the wire: the client wrote "
                   "%d bytes, then %d bytes 0.1 s later; the server read the first write (%d "
                   "bytes, no Sec-WebSocket-Key) and closed: FIN at %.6f s (frame %d); its "
                   "kernel answered the second write with RST at %.6f s (frame %d), so the "
                   "client's third write (%d bytes, the key and the empty line) failed: %s; "
                   "the capture holds %d bytes of the head"
                   % (cl["writes"][0], cl["writes"][1], sv["bytes_read"], fin["t"],
                      fin["frame"], rsts[0]["t"], rsts[0]["frame"], cl["writes"][2],
                      cl["write_results"][2], c["c2s_bytes"]),
        "http_response": None,
        "closed_first_by": "server", "close_kind": "FIN, then RST",
        "request_head_bytes_captured": c["c2s_bytes"],
        "request_head_segments_captured": c["c2s_payload_segments"],
        "bytes_before_fin": cl["write1_bytes"],
        "client_answer": cl["answer"],
    }


@spec("400", proto="http",
      description="python3-websockets client -> python3-websockets server whose "
                  "process_request hook answers the upgrade with 400 'missing token'")
def chk_400(s, res):
    c = s["conns"][0]
    req, rsp = one_exchange(c)
    need(len(rsp) == 1 and rsp[0][0] == "HTTP/1.1 400 Bad Request", "400 expected: %r" % rsp)
    need(rsp[0][2] == b"missing token\n", "body")
    need(hdr(req[0][1], "Upgrade") == "websocket", "upgrade request")
    need(c["first_close"]["flag"] == "FIN", "FINs only")
    need("RST" not in " ".join(terminal(c)), "no RST")
    return {
        "failure": "upgrade-rejected",
        "summary": "the server answered the WebSocket upgrade with '%s' (Content-Type %s, "
                   "body %r, Connection: %s) instead of 101; no WebSocket frames; the client "
                   "half-closed (FIN) as soon as it had parsed the status, the server closed "
                   "after its response" % (rsp[0][0], hdr(rsp[0][1], "Content-Type"),
                                           rsp[0][2].decode(), hdr(rsp[0][1], "Connection")),
        "status_line": rsp[0][0], "body": rsp[0][2].decode(),
        "response_head_and_body_segments": "head and body were written separately (2 segments)",
        "tcp_close": terminal(c),
        "note": "the client's FIN may come before or after the server's body segment "
                "(it does not read the body); both orders are normal",
    }


@spec("bad-accept", proto="http",
      description="python3-websockets client -> raw-socket server that answers 101 with "
                  "the RFC 6455 example Sec-WebSocket-Accept (s3pPLMBiTxaQ9kYGzzhZRbK+xOo=, "
                  "wrong for the client's key) and then sends one unmasked text frame")
def chk_bad_accept(s, res):
    c = s["conns"][0]
    req, rsp = one_exchange(c)
    key = hdr(req[0][1], "Sec-WebSocket-Key")
    import hashlib
    good = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                         .encode()).digest()).decode()
    got = hdr(rsp[0][1], "Sec-WebSocket-Accept")
    need(rsp[0][0] == "HTTP/1.1 101 Switching Protocols", "101")
    need(got != good, "accept must be wrong")
    need(res["client"]["exception"].endswith("InvalidHeaderValue"), "client rejected")
    need(terminal(c)[0] == "client FIN" and "RST" not in " ".join(terminal(c)),
         "client FIN first, no RST: %r" % terminal(c))
    # the client sent nothing after its request: no close frame
    need(c["first_request_head"]["bytes"] == c["c2s_bytes"],
         "client sent nothing after its request (no close frame)")
    return {
        "failure": "bad-sec-websocket-accept",
        "summary": "the server answered 101 Switching Protocols, but Sec-WebSocket-Accept is "
                   "%s while SHA-1(key + GUID) for the client's key %s is %s; the client "
                   "rejected the handshake: it sent no WebSocket frame (no close frame) and "
                   "half-closed the TCP connection (FIN); the server's text frame after "
                   "the 101 was never accepted as WebSocket data" % (got, key, good),
        "status_line": rsp[0][0], "client_key": key, "sent_accept": got,
        "expected_accept": good,
        "client_reaction": "FIN (half-close via transport.write_eof), no close frame, no RST",
        "client_error": "%s: %s" % (res["client"]["exception"], res["client"]["message"]),
        "tcp_close": terminal(c),
    }


def proxy_common(s, res):
    need(len(s["conns"]) == 2, "two connections")
    c1, c2 = s["conns"]
    need(c1["server"].endswith(":%d" % s["ports"][0]), "conn 1 = client<->nginx")
    need(c2["server"].endswith(":%d" % s["ports"][1]), "conn 2 = nginx<->backend")
    return c1, c2


@spec("nginx-ok", proto="http",
      description="python3-websockets client -> nginx reverse proxy configured for "
                  "WebSocket (proxy_http_version 1.1; proxy_set_header Upgrade "
                  "$http_upgrade; proxy_set_header Connection \"upgrade\") -> "
                  "python3-websockets echo backend; conn 1 = client<->nginx, conn 2 = "
                  "nginx<->backend; compression=None")
def chk_nginx_ok(s, res):
    c1, c2 = proxy_common(s, res)
    r1, p1 = one_exchange(c1)
    r2, p2 = one_exchange(c2)
    need(p1[0][0].split(" ")[1] == "101" and p2[0][0].split(" ")[1] == "101", "101 both")
    need(r2[0][0] == "GET /ws HTTP/1.1" and hdr(r2[0][1], "Upgrade") == "websocket", "fwd")
    need(s["ws_frames"] > 0, "frames")
    return {
        "failure": None,
        "summary": "working proxied WebSocket: nginx forwards 'GET /ws HTTP/1.1' with "
                   "Upgrade: %s / Connection: %s to the backend, both legs switch to "
                   "WebSocket (101), frames are relayed both ways, close 1000" % (
                       hdr(r2[0][1], "Upgrade"), hdr(r2[0][1], "Connection")),
        "client_request": r1[0][0], "upstream_request": r2[0][0],
        "upstream_upgrade_header": hdr(r2[0][1], "Upgrade"),
        "upstream_connection_header": hdr(r2[0][1], "Connection"),
        "status_lines": {"conn1": p1[0][0], "conn2": p2[0][0]},
    }


def chk_noupgrade(s, res, status):
    c1, c2 = proxy_common(s, res)
    r1, p1 = one_exchange(c1)
    r2, p2 = one_exchange(c2)
    need(hdr(r1[0][1], "Upgrade") == "websocket", "client asked for the upgrade")
    need(hdr(r2[0][1], "Upgrade") is None, "nginx dropped Upgrade")
    need(hdr(r2[0][1], "Sec-WebSocket-Key") is not None, "but forwarded the key")
    need(p2[0][0].split(" ")[1] == str(status) and p1[0][0].split(" ")[1] == str(status),
         "%d on both legs: %r %r" % (status, p1[0][0], p2[0][0]))
    need(s["ws_frames"] == 0, "no frames")
    need(res["client"].get("status_code") == status, "client saw %d" % status)
    return c1, c2, r1, p1, r2, p2


@spec("nginx-noupgrade", proto="http",
      description="python3-websockets client -> nginx reverse proxy with DEFAULT proxy "
                  "settings (only proxy_pass: HTTP/1.0 upstream, Connection: close, "
                  "Upgrade not forwarded) -> python3-websockets backend; conn 1 = "
                  "client<->nginx, conn 2 = nginx<->backend")
def chk_nginx_noupgrade(s, res):
    c1, c2, r1, p1, r2, p2 = chk_noupgrade(s, res, 400)
    need(r2[0][0].endswith("HTTP/1.0"), "HTTP/1.0 upstream")
    return {
        "failure": "proxy-dropped-upgrade",
        "summary": "the client's upgrade request reaches nginx with Upgrade: websocket, "
                   "but nginx forwards '%s' with Connection: %s and no Upgrade header "
                   "(Sec-WebSocket-Key/Version are still forwarded); the backend "
                   "(websockets 10.4 rejects anything but HTTP/1.1 before looking at "
                   "Upgrade) answers '%s' (%r); nginx relays '%s' to the client, whose "
                   "handshake fails" % (r2[0][0], hdr(r2[0][1], "Connection"), p2[0][0],
                                        p2[0][2].decode(), p1[0][0]),
        "client_request": r1[0][0], "upstream_request": r2[0][0],
        "upstream_connection_header": hdr(r2[0][1], "Connection"),
        "upstream_upgrade_header": None,
        "status_lines": {"conn1": p1[0][0], "conn2": p2[0][0]},
        "backend_body": p2[0][2].decode(), "client_body": p1[0][2].decode(),
        "tcp_close": {"conn1": terminal(c1), "conn2": terminal(c2)},
    }


@spec("nginx-noupgrade11", proto="http",
      description="like upg-nginx-noupgrade, but nginx has proxy_http_version 1.1 without "
                  "the Upgrade/Connection proxy_set_header lines (the other common "
                  "mistake); conn 1 = client<->nginx, conn 2 = nginx<->backend")
def chk_nginx_noupgrade11(s, res):
    c1, c2, r1, p1, r2, p2 = chk_noupgrade(s, res, 426)
    need(r2[0][0].endswith("HTTP/1.1"), "HTTP/1.1 upstream")
    return {
        "failure": "proxy-dropped-upgrade",
        "summary": "nginx forwards '%s' with Connection: %s and no Upgrade header; the "
                   "backend answers '%s' with Upgrade: %s; nginx relays '%s' to the "
                   "client, whose handshake fails" % (
                       r2[0][0], hdr(r2[0][1], "Connection"), p2[0][0],
                       hdr(p2[0][1], "Upgrade"), p1[0][0]),
        "client_request": r1[0][0], "upstream_request": r2[0][0],
        "upstream_connection_header": hdr(r2[0][1], "Connection"),
        "upstream_upgrade_header": None,
        "status_lines": {"conn1": p1[0][0], "conn2": p2[0][0]},
        "backend_body": p2[0][2].decode(), "client_body": p1[0][2].decode(),
        "tcp_close": {"conn1": terminal(c1), "conn2": terminal(c2)},
    }


@spec("keepalive", proto="http",
      description="raw-socket client -> node http server + node-ws (noServer, "
                  "handleUpgrade from the http server's 'upgrade' event) on ONE "
                  "keep-alive TCP connection: GET /a (Content-Length body), GET /b "
                  "(chunked body), then GET /ws upgrade (client checks "
                  "Sec-WebSocket-Accept), masked text + binary echoed, close 1000")
def chk_keepalive(s, res):
    need(len(s["conns"]) == 1, "one connection")
    c = s["conns"][0]
    req, rsp = one_exchange(c)
    need([m[0] for m in req] == ["GET /a HTTP/1.1", "GET /b HTTP/1.1", "GET /ws HTTP/1.1"],
         "three requests: %r" % [m[0] for m in req])
    need([m[0] for m in rsp] == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK",
                                 "HTTP/1.1 101 Switching Protocols"], "responses")
    need(hdr(rsp[0][1], "Content-Length") is not None, "1st has Content-Length")
    need(hdr(rsp[1][1], "Transfer-Encoding") == "chunked", "2nd chunked")
    need(s["ws_frames"] == 6, "6 frames")
    need(terminal(c)[0] == "server FIN", "server closes first")
    return {
        "failure": None,
        "summary": "one keep-alive connection: two ordinary HTTP/1.1 exchanges (the 1st "
                   "with Content-Length: %s, the 2nd with Transfer-Encoding: chunked), then "
                   "the 3rd request upgrades the SAME connection to WebSocket (101, correct "
                   "accept); 2 echoed messages and a close 1000 handshake; the server "
                   "closes TCP first" % hdr(rsp[0][1], "Content-Length"),
        "requests": [m[0] for m in req], "status_lines": [m[0] for m in rsp],
        "bodies": [m[2].decode() for m in rsp[:2]],
        "upgrade_request_index": 3,
        "tcp_close": terminal(c),
    }


def chk_version(s, res, status):
    c = s["conns"][0]
    req, rsp = one_exchange(c)
    need(hdr(req[0][1], "Sec-WebSocket-Version") == "8", "asked for 8")
    need(rsp[0][0].split(" ")[1] == str(status), "status %r" % rsp[0][0])
    need(terminal(c)[0] == "server FIN", "server closes first: %r" % terminal(c))
    return c, req, rsp


@spec("426", proto="http",
      description="raw-socket client asking for Sec-WebSocket-Version: 8 -> "
                  "python3-websockets server whose process_request hook answers as RFC "
                  "6455 section 4.4 asks: 426 Upgrade Required + Sec-WebSocket-Version: 13 "
                  "(websockets 10.4 alone answers 400, see upg-version-400; node-ws 8.11 "
                  "accepts version 8)")
def chk_426(s, res):
    c, req, rsp = chk_version(s, res, 426)
    need(hdr(rsp[0][1], "Sec-WebSocket-Version") == "13", "advertises 13")
    return {
        "failure": "unsupported-websocket-version",
        "summary": "the client requested Sec-WebSocket-Version: 8; the server answered "
                   "'%s' with Sec-WebSocket-Version: 13 (the version it supports) and "
                   "closed the connection (server FIN first)" % rsp[0][0],
        "requested_version": "8", "status_line": rsp[0][0],
        "server_versions": hdr(rsp[0][1], "Sec-WebSocket-Version"),
        "body": rsp[0][2].decode(), "tcp_close": terminal(c),
    }


@spec("version-400", proto="http",
      description="raw-socket client asking for Sec-WebSocket-Version: 8 -> "
                  "python3-websockets 10.4 server with no hook (the library's own answer)")
def chk_version400(s, res):
    c, req, rsp = chk_version(s, res, 400)
    need(hdr(rsp[0][1], "Sec-WebSocket-Version") is None, "no version header")
    return {
        "failure": "unsupported-websocket-version",
        "summary": "the client requested Sec-WebSocket-Version: 8; websockets 10.4 answers "
                   "'%s' with body %r (no Sec-WebSocket-Version header, unlike RFC 6455 "
                   "4.4's 426) and closes (server FIN first)" % (rsp[0][0], rsp[0][2].decode()),
        "requested_version": "8", "status_line": rsp[0][0], "body": rsp[0][2].decode(),
        "tcp_close": terminal(c),
    }


@spec("bad-key", proto="http",
      description="raw-socket client sending Sec-WebSocket-Key: not-base64 (present but not "
                  "base64 of 16 bytes; Upgrade, Connection and version 13 correct) -> "
                  "python3-websockets 10.4 server with no hook (the library's own answer)")
def chk_bad_key(s, res):
    c = s["conns"][0]
    req, rsp = one_exchange(c)
    need(len(req) == 1 and len(rsp) == 1, "one request, one response")
    need(hdr(req[0][1], "Sec-WebSocket-Key") == "not-base64", "sent the bad key")
    need(hdr(req[0][1], "Sec-WebSocket-Version") == "13", "version 13")
    need(rsp[0][0].split(" ")[1] == "400", "status %r" % rsp[0][0])
    need(b"Sec-WebSocket-Key" in rsp[0][2], "the body names the key: %r" % rsp[0][2])
    need(s["ws_frames"] == 0, "no WebSocket frame")
    return {
        "failure": "invalid-sec-websocket-key",
        "summary": "the client sent Sec-WebSocket-Key: not-base64 (present, but not base64 "
                   "of 16 bytes as RFC 6455 4.1 requires); websockets 10.4 answers '%s' "
                   "with body %r and closes" % (rsp[0][0], rsp[0][2].decode()),
        "sent_key": "not-base64", "status_line": rsp[0][0], "body": rsp[0][2].decode(),
        "tcp_close": terminal(c),
    }


@spec("no-response", proto="http",
      description="python3-websockets client (open_timeout=1) -> plain-socket server that "
                  "reads the whole request head and never answers (and does not close "
                  "while the capture runs)")
def chk_no_response(s, res):
    c = s["conns"][0]
    need(c["s2c_bytes"] == 0, "no answer")
    need(terminal(c) == ["client FIN"], "only the client's FIN: %r" % terminal(c))
    h = c["first_request_head"]
    need(h["bytes"] == c["c2s_bytes"], "whole request, nothing else")
    ev = c["first_close"]
    need(0.9 < ev["t"] < 1.5, "gave up after about 1 s: %r" % ev)
    return {
        "failure": "no-response-client-gave-up",
        "summary": "the upgrade request (%d bytes, 1 segment) was ACKed but never "
                   "answered; after %.2f s the client gave up and half-closed (FIN); the "
                   "server only ACKs the FIN; the capture ends there (server never sent "
                   "a byte nor FIN)" % (h["bytes"], ev["t"]),
        "http_response": None, "closed_first_by": "client", "close_kind": "FIN",
        "client_fin_at_s": ev["t"],
        "client_error": "%s (open_timeout %s s)" % (res["client"]["exception"],
                                                   res["client"]["open_timeout_s"]),
        "tcp_close": terminal(c),
    }


def chk_tls(s, res, version):
    t = s["tls"]
    need(t["sni"] == "ws.example.test", "SNI")
    need(t["alpn_offered"] == ["h2", "http/1.1"], "ALPN offer %r" % t.get("alpn_offered"))
    need(t["version_selected"] == version, "version %r" % t["version_selected"])
    need(s["http"] == [], "no HTTP visible")
    with open(os.path.join(s["work"], "s_client.out"), errors="replace") as f:
        out = f.read()
    need("ALPN protocol: http/1.1" in out, "s_client reports ALPN http/1.1")
    need("hello from s_server" in out, "s_client got the server's line")
    c = s["conns"][0]
    # s_client sends close_notify first (its stdin ended); s_server answers
    # with its own close_notify; which TCP FIN comes first then varies.
    need(sorted(terminal(c)) == ["client FIN", "server FIN"], "FINs: %r" % terminal(c))
    return t, c


@spec("tls", proto="tls",
      description="openssl s_client (-servername ws.example.test -alpn h2,http/1.1) -> "
                  "openssl s_server (self-signed P-256 cert, -alpn http/1.1), default "
                  "TLS 1.3; one line each way, the client quits (close_notify + FIN)")
def chk_tls13(s, res):
    t, c = chk_tls(s, res, "0x0304")
    need(t["alpn_selected_visible"] is None, "TLS 1.3 hides the ALPN answer")
    return {
        "failure": None, "protocol": "TLS 1.3 (not plaintext HTTP/WebSocket)",
        "summary": "TLS on port %d: ClientHello with SNI %s, ALPN offer %s; ServerHello "
                   "selects TLS 1.3, so the chosen ALPN (http/1.1, see s_client output) is "
                   "inside the encrypted EncryptedExtensions and not visible; application "
                   "data is opaque; the client starts the close (encrypted close_notify alert, "
                   "answered by the server's), then both FIN (in either order)" % (
                       s["ports"][0], t["sni"], t["alpn_offered"]),
        "sni": t["sni"], "alpn_offered": t["alpn_offered"], "alpn_selected": "http/1.1",
        "alpn_selected_visible_in_capture": False, "tls_version": "1.3",
        "tcp_close": terminal(c),
    }


@spec("tls12", proto="tls",
      description="as upg-tls but s_client -tls1_2: TLS 1.2, so the ServerHello's ALPN "
                  "(http/1.1) is visible in clear")
def chk_tls12(s, res):
    t, c = chk_tls(s, res, "0x0303")
    need(t["alpn_selected_visible"] == "http/1.1", "ALPN visible")
    return {
        "failure": None, "protocol": "TLS 1.2 (not plaintext HTTP/WebSocket)",
        "summary": "TLS 1.2 on port %d: SNI %s, ALPN offer %s, ServerHello selects "
                   "http/1.1 (visible); encrypted application data; the client starts the close "
                   "(close_notify alert, answered by the server's), then both FIN" % (
                       s["ports"][0], t["sni"], t["alpn_offered"]),
        "sni": t["sni"], "alpn_offered": t["alpn_offered"], "alpn_selected": "http/1.1",
        "alpn_selected_visible_in_capture": True, "tls_version": "1.2",
        "tcp_close": terminal(c),
    }


@spec("h2c", proto="http2",
      description="curl --http2-prior-knowledge -> nginx 'listen ... http2' without TLS "
                  "(h2c, prior knowledge); one GET /")
def chk_h2c(s, res):
    h = s["h2"]
    need(h and h[0]["magic"], "preface first")
    need(any(x["status"] == "200" for x in h), "200")
    need(s["conns"][0]["_c2s_data"].startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), "preface")
    return {
        "failure": None, "protocol": "HTTP/2 cleartext, prior knowledge (no Upgrade)",
        "summary": "the client starts with the HTTP/2 connection preface 'PRI * HTTP/2.0' "
                   "(not an HTTP/1.1 request), SETTINGS both ways, HEADERS GET / on stream "
                   "1, HEADERS :status 200 + DATA; no HTTP/1.1 and no WebSocket",
        "frames": [{"frame": x["frame"], "types": x["types"], "method": x["method"],
                    "path": x["path"], "status": x["status"]} for x in h],
        "tcp_close": terminal(s["conns"][0]),
    }


@spec("h2c-ignored", proto="http",
      description="curl --http2 http://... (HTTP/1.1 request with Upgrade: h2c, "
                  "Connection: Upgrade, HTTP2-Settings) -> nginx plain HTTP/1.1 listener, "
                  "which ignores the h2c upgrade; a 2nd request on the same connection")
def chk_h2c_ignored(s, res):
    c = s["conns"][0]
    req, rsp = one_exchange(c)
    need(hdr(req[0][1], "Upgrade") == "h2c", "h2c upgrade asked")
    need([m[0] for m in rsp] == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"], "200s")
    return {
        "failure": None, "protocol": "HTTP/1.1 (h2c upgrade offered, not taken)",
        "summary": "the 1st request carries Upgrade: h2c / Connection: Upgrade, "
                   "HTTP2-Settings; the server ignores it and answers '%s' in HTTP/1.1 "
                   "(no 101), the connection stays HTTP/1.1 keep-alive for a 2nd GET; not "
                   "a WebSocket upgrade and not a failure" % rsp[0][0],
        "requests": [m[0] for m in req], "status_lines": [m[0] for m in rsp],
        "upgrade_header": hdr(req[0][1], "Upgrade"), "tcp_close": terminal(c),
    }


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=sorted(SPEC))
    ap.add_argument("pcap")
    ap.add_argument("work")
    ap.add_argument("--port", type=int, action="append", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--openssl")
    ap.add_argument("--capture", default="tcpdump --immediate-mode -U -w")
    a = ap.parse_args()
    sp = SPEC[a.what]
    try:
        conns, dargs = summarize(a.pcap, a.port, sp["proto"])
        for c in conns:
            if c["anomalies"]:
                # real but rare on lo (e.g. a tail-loss-probe FIN retransmission
                # when the peer's ACK is late): exit 3 = "record it again"
                print("upg-check: %s: conn %d: tshark reports retransmission/loss/"
                      "out-of-order segments (exit 3: retry)" % (a.what, c["conn"]),
                      file=sys.stderr)
                if os.environ.get("UPG_KEEP"):
                    import shutil
                    shutil.copy(a.pcap, os.environ["UPG_KEEP"])
                sys.exit(3)
        s = {"conns": conns, "ports": a.port, "work": a.work}
        s["http"] = http_lines(a.pcap, dargs, conns) if sp["proto"] == "http" else []
        sidecar = os.path.join(a.work, "sent.jsonl")
        if sp["proto"] == "http":
            s["ws_frames"] = verify_ws(a.pcap, dargs, conns, sidecar)
        if sp["proto"] == "tls":
            s["tls"] = tls_summary(a.pcap, dargs)
        if sp["proto"] == "http2":
            s["h2"] = h2_summary(a.pcap, dargs)
    except Fail as e:
        print("upg-check: %s: FAIL: %s" % (a.what, e), file=sys.stderr)
        if os.environ.get("UPG_KEEP"):  # debugging: keep the failed capture
            import shutil
            shutil.copy(a.pcap, os.environ["UPG_KEEP"])
        sys.exit(1)
    res = {}
    for f in sorted(glob.glob(os.path.join(a.work, "*.json"))):
        n = os.path.basename(f)[:-5]
        if n in ("meta",):
            continue
        with open(f) as fh:
            res[n] = json.load(fh)
    try:
        diag = sp["check"](s, res)
    except Fail as e:
        print("upg-check: %s: FAIL: %s" % (a.what, e), file=sys.stderr)
        if os.environ.get("UPG_KEEP"):  # debugging: keep the failed capture
            import shutil
            shutil.copy(a.pcap, os.environ["UPG_KEEP"])
        for c in conns:
            print("  conn %d %s -> %s events %s" % (c["conn"], c["client"], c["server"],
                                                   terminal(c)), file=sys.stderr)
        for h in s["http"]:
            print("  ", h, file=sys.stderr)
        sys.exit(1)
    npk = len(tshark(a.pcap).splitlines())
    extra_logs = {}
    for f in sorted(glob.glob(os.path.join(a.work, "*.out")) +
                    glob.glob(os.path.join(a.work, "*access.log"))):
        with open(f, errors="replace") as fh:
            extra_logs[os.path.basename(f)] = fh.read()[-3000:]
    pub_conns = []
    for c in conns:
        pc = {k: v for k, v in c.items() if not k.startswith("_") and k != "anomalies"}
        pub_conns.append(pc)
    versions = json.loads(a.versions)
    if a.openssl:
        versions["openssl"] = a.openssl
    meta = {
        "generator": "tests/gen/upg-gen.sh %s" % a.what,
        "description": sp["description"],
        "expected_diagnosis": diag,
        "packets": npk,
        "tcp_connections": len(conns),
        "http_port" if len(a.port) == 1 else "http_ports":
            a.port[0] if len(a.port) == 1 else a.port,
        "ports": a.port,
        "dissect_as": sp["proto"],
        "connections": pub_conns,
        "http_lines": s["http"],
        "websocket_frames": s.get("ws_frames"),
        "sidecar": ("upg-%s.sent.jsonl" % a.what) if sp["proto"] == "http" else None,
        "reported_by_programs": res,
        "program_output": extra_logs or None,
        "capture_tool": a.capture,
        "versions": versions,
    }
    if "tls" in s:
        meta["tls"] = s["tls"]
    with open(os.path.join(a.work, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("upg-check: %s: ok: %d packets, %d connection(s): %s" % (
        a.what, npk, len(conns), diag["summary"]))


if __name__ == "__main__":
    main()
