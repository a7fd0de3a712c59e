#!/usr/bin/env python3
"""tshark_tls.py - the TLS captures of pcaps/ (each NAME.pcap with its key log NAME.keys)
decrypted by tshark with that key log, against the generators' records.

For each capture (every pcaps/NAME.keys beside a NAME.pcap, or the one given with --capture):
  * the TLS facts tshark decodes per TCP connection: version (supported_versions), cipher suite
    (IANA name), ALPN (ServerHello, or EncryptedExtensions decrypted), HelloRetryRequest,
    resumption (no Certificate message in a decrypted handshake), KeyUpdate messages per
    direction, against the "connections" of NAME.meta.json;
  * `tshark -o tls.keylog_file:K -q -z follow,tls,raw,N` per TCP stream: the decrypted byte
    streams; the WebSocket frames in them are parsed, unmasked and inflated by
    tests/gen/ws_verify.py's decoder and must equal NAME.sent.jsonl record for record
    (opcode, exact bytes, close code/reason); a connection whose keys are missing on purpose
    (meta expect_decrypt "no_key", or "bad_key": wrong secrets) must give no decrypted byte at all;
  * `tshark -Y websocket` with the key log: the WebSocket opcodes per connection and
    direction in order, against the sidecar;
  * HTTP/1.1 and h2 captures (curl): the responses tshark decrypts against the bodies the
    generator served (meta "requests": path, status, length, sha256).
With --wstap (or automatically when ./wstap --help lists --keylog): also runs
`wstap -r NAME.pcap --keylog NAME.keys --json --payload-max 0` and compares its ws.message and
ws.control events with the sidecar the same way (every message byte-identical, none extra).

Usage: tests/tshark_tls.py [--wstap] [--capture C --keys K --sidecar S --meta M]
Last line: "tlsoracle: N passed, N failed".  Environment: TSHARK, WSTAP_BIN.
"""
import argparse
import base64
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "gen"))
import ws_verify  # noqa: E402  (the decoder the plaintext generators use)

TSHARK = os.environ.get("TSHARK", "tshark")
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
SUITES = {
    0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0xc02b: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xc02c: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xc02f: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xc030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xcca8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xcca9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0x009e: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009f: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
}
OPCODES = {"text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}


def tshark(args):
    p = subprocess.run([TSHARK] + args, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise RuntimeError("tshark %s: %s" % (" ".join(args[:6]), p.stderr.strip()[:500]))
    return p.stdout


def base_args(cap, keys, meta):
    # out-of-order reassembly: without it tshark stops decrypting a direction at its first
    # lost segment (lossy-wss-recv), with it the retransmissions fill the gaps
    a = ["-r", cap, "-o", "tls.keylog_file:" + keys, "-o", "tcp.reassemble_out_of_order:TRUE"]
    for p in meta.get("tls_ports", []):
        a += ["-d", "tcp.port==%d,tls" % p, "-d", "tls.port==%d,http" % p]
    for p in meta.get("http_ports", []):
        if p not in meta.get("tls_ports", []):
            a += ["-d", "tcp.port==%d,http" % p]
    return a


def follow(args, proto, idx, server_ports):
    """-> (c2s, s2c) bytes.  tshark's Node 0 is whoever sent the first (decrypted) byte: in
    TLS 1.3 that can be the server, so the direction comes from the node's port."""
    out = tshark(args + ["-q", "-z", "follow,%s,raw,%d" % (proto, idx)])
    data = [bytearray(), bytearray()]
    node_srv = [False, False]
    body = False
    for line in out.splitlines():
        m = re.match(r"Node ([01]): .*:(\d+)$", line)
        if m:
            node_srv[int(m.group(1))] = int(m.group(2)) in server_ports
            body = body or m.group(1) == "1"
            continue
        if not body or line.startswith("===") or not line.strip():
            continue
        data[1 if line.startswith("\t") else 0] += bytes.fromhex(line.strip())
    if node_srv[0] and not node_srv[1]:
        data.reverse()
    return bytes(data[0]), bytes(data[1])


def split(v):
    return [x for x in re.split(r"[|,]", v) if x] if v else []


def tls_facts(args, server_ports):
    """Per tcp.stream: version, cipher, alpn, hrr, certificate seen, key updates per dir."""
    out = tshark(args + ["-Y", "tls.handshake", "-T", "fields", "-E", "occurrence=a",
                         "-E", "aggregator=|", "-e", "tcp.stream", "-e", "tcp.srcport",
                         "-e", "tls.handshake.type", "-e", "tls.handshake.random",
                         "-e", "tls.handshake.ciphersuite",
                         "-e", "tls.handshake.extensions.supported_version",
                         "-e", "tls.handshake.version",
                         "-e", "tls.handshake.extensions_alpn_str"])
    facts = {}
    for line in out.splitlines():
        f = (line.split("\t") + [""] * 8)[:8]
        s = int(f[0])
        d = facts.setdefault(s, {"version": None, "cipher": None, "alpn": None, "hrr": False,
                                 "certificate": False, "key_updates": {"c2s": 0, "s2c": 0},
                                 "server_hello": False})
        srv = int(f[1]) in server_ports
        types = [int(t) for t in split(f[2])]
        if 11 in types and srv:
            d["certificate"] = True
        d["key_updates"]["s2c" if srv else "c2s"] += types.count(24)
        if not srv:
            continue
        if HRR_RANDOM in split(f[3]):
            d["hrr"] = True
        if 2 in types:
            d["server_hello"] = True
            cs = split(f[4])
            if cs:
                d["cipher"] = SUITES.get(int(cs[-1], 16), cs[-1])
            sv = split(f[5])
            hv = split(f[6])
            v = sv[-1] if sv else (hv[-1] if hv else None)
            d["version"] = {"0x0304": "1.3", "0x0303": "1.2"}.get(v, v)
        alpn = split(f[7])
        if alpn:
            d["alpn"] = alpn[-1]
    return facts


def expected_frames(records):
    """Sidecar records -> the opcodes of the frames on the wire, in order."""
    ops = []
    for r in records:
        n = len(r.get("fragments", [])) or 1
        ops += [OPCODES[r["opcode"]]] + [0] * (n - 1)
    return ops


def check_ws(label, got, want):
    """ws_verify-decoded messages vs sidecar records -> list of problems."""
    bad = []
    if len(got) != len(want):
        bad.append("%d messages/control frames decrypted, %d in the record" % (len(got), len(want)))
    for i, (g, w) in enumerate(zip(got, want)):
        if g["opcode"] != w["opcode"]:
            bad.append("#%d opcode %s, record %s" % (i + 1, g["opcode"], w["opcode"]))
        elif g["opcode"] == "close":
            if (g["code"], g["reason"], g["len"]) != (w["code"], w["reason"], w["len"]):
                bad.append("#%d close %s/%r, record %s/%r" % (i + 1, g["code"], g["reason"],
                                                             w["code"], w["reason"]))
        else:
            exp = w["text"].encode() if "text" in w else base64.b64decode(w.get("data_b64", ""))
            if g["data"] != exp or len(exp) != w["len"]:
                bad.append("#%d %s payload differs (%d vs %d bytes)" % (i + 1, w["opcode"],
                                                                         len(g["data"]), len(exp)))
    return bad


def parse_h1_responses(buf):
    """s2c HTTP/1.1 bytes -> [(status, body)] (Content-Length bodies only)."""
    res = []
    pos = 0
    while pos < len(buf):
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head = buf[pos:end].decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        cl = 0
        for h in head[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                cl = int(v)
        res.append((status, buf[end + 4:end + 4 + cl]))
        pos = end + 4 + cl
    return res


class Oracle:
    def __init__(self):
        self.passed = self.failed = 0

    def result(self, label, bad):
        if bad:
            self.failed += 1
            print("FAIL %s: %s" % (label, " | ".join(bad[:4])))
        else:
            self.passed += 1
            print("ok   %s" % label)

    def capture(self, cap, keys, sidecar, metaf, use_wstap):
        name = os.path.basename(cap).rsplit(".", 1)[0]
        meta = json.load(open(metaf, encoding="utf-8"))
        recs = []
        if sidecar and os.path.exists(sidecar):
            recs = [json.loads(x) for x in open(sidecar, encoding="utf-8") if x.strip()]
        args = base_args(cap, keys, meta)
        conns = {c["conn"]: c for c in meta["connections"]}
        server_ports = {c["server_port"] for c in meta["connections"]}
        streams = sorted({int(x) for x in tshark(["-r", cap, "-T", "fields", "-e",
                                                   "tcp.stream"]).split()})
        if [s + 1 for s in streams] != sorted(conns):
            self.result(name, ["tcp streams %s, meta connections %s" %
                               ([s + 1 for s in streams], sorted(conns))])
            return
        facts = tls_facts(args, server_ports)
        wsops = {}
        for line in tshark(args + ["-Y", "websocket", "-T", "fields", "-E", "occurrence=a",
                                   "-E", "aggregator=|", "-e", "tcp.stream", "-e",
                                   "tcp.srcport", "-e", "websocket.opcode"]).splitlines():
            f = line.split("\t")
            d = "s2c" if int(f[1]) in server_ports else "c2s"
            wsops.setdefault((int(f[0]) + 1, d), []).extend(int(x) for x in split(f[2]))
        for s in streams:
            n = s + 1
            c = conns[n]
            label = "%s conn %d" % (name, n)
            bad = []
            if c.get("tls"):
                fa = facts.get(s, {})
                keyed = c.get("expect_decrypt") == "ok"
                want = {"version": c["version"], "cipher": c["cipher"], "hrr": c.get("hrr", False)}
                got = {k: fa.get(k) for k in want}
                if keyed:  # these need the decrypted handshake (1.3) or are checked only then
                    want.update(alpn=c.get("alpn"), resumed=c.get("resumed", False),
                                key_updates=c.get("key_updates", {"c2s": 0, "s2c": 0}))
                    got.update(alpn=fa.get("alpn"), resumed=not fa.get("certificate", False),
                               key_updates=fa.get("key_updates"))
                for k in want:
                    if want[k] != got[k]:
                        bad.append("%s: tshark %r, meta %r" % (k, got[k], want[k]))
                c2s, s2c = follow(args, "tls", s, server_ports)
            else:
                keyed = True
                c2s, s2c = follow(args, "tcp", s, server_ports)
            if not keyed:
                if c2s or s2c:
                    bad.append("tshark decrypted %d/%d bytes of a connection without keys"
                               % (len(c2s), len(s2c)))
                if wsops.get((n, "c2s")) or wsops.get((n, "s2c")):
                    bad.append("tshark shows WebSocket frames of a connection without keys")
                self.result(label + " (%s: nothing decrypted)" % c.get("expect_decrypt"), bad)
                continue
            app = c.get("app")
            if app == "websocket":
                pmd = ws_verify.parse_ext(c.get("response_extensions"))
                counts = []
                for d, buf, masked, nt in (
                        ("c2s", c2s, 1, pmd is not None and "client_no_context_takeover" in pmd),
                        ("s2c", s2c, 0, pmd is not None and "server_no_context_takeover" in pmd)):
                    want_r = [r for r in recs if r["conn"] == n and r["dir"] == d]
                    try:
                        got_m = ws_verify.decode(buf, masked, pmd, nt)
                    except Exception as ex:  # noqa: BLE001 - report it
                        bad.append("%s: cannot parse the decrypted stream: %s" % (d, ex))
                        continue
                    bad += ["%s %s" % (d, x) for x in check_ws(label, got_m, want_r)]
                    wo = wsops.get((n, d), [])
                    if wo != expected_frames(want_r):
                        bad.append("%s: tshark -Y websocket opcodes %s, record %s"
                                   % (d, wo, expected_frames(want_r)))
                    counts.append(len(want_r))
                    mc = c.get("messages", {}).get(d)
                    if mc is not None and mc != len(want_r):
                        bad.append("%s: meta says %d messages, record has %d" % (d, mc, len(want_r)))
                label += " %s (%d c2s / %d s2c records)" % (
                    "TLS" if c.get("tls") else "plain", *(counts + [0, 0])[:2])
            elif app == "http/1.1":
                res = parse_h1_responses(s2c)
                want_r = c.get("requests", [])
                if len(res) != len(want_r):
                    bad.append("%d responses decrypted, %d expected" % (len(res), len(want_r)))
                for (st, body), w in zip(res, want_r):
                    if st != w["status"] or hashlib.sha256(body).hexdigest() != w["body_sha256"]:
                        bad.append("%s: status %d, %d bytes, want %d, %d bytes" % (
                            w["path"], st, len(body), w["status"], w["body_len"]))
                if not c2s.startswith(b"GET "):
                    bad.append("c2s does not start with the request")
                label += " http/1.1 (%d responses)" % len(res)
            elif app == "h2":
                want_r = c.get("requests", [])
                if not c2s.startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):
                    bad.append("c2s does not start with the h2 preface")
                out = tshark(args + ["-Y", "http2.type==0 && tcp.srcport==%d" % c["server_port"],
                                     "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
                                     "-e", "http2.type", "-e", "http2.length"])
                data = 0
                for line in out.splitlines():
                    t, ln = line.split("\t")
                    data += sum(int(y) for x, y in zip(split(t), split(ln)) if x == "0")
                stat = tshark(args + ["-Y", "http2.header.value == \"200\"", "-T", "fields",
                                      "-e", "frame.number"]).split()
                if data != sum(w["body_len"] for w in want_r):
                    bad.append("h2 DATA %d bytes, bodies %d" % (data, sum(w["body_len"] for w in want_r)))
                if len(stat) != len(want_r):
                    bad.append("%d :status 200 HEADERS, want %d" % (len(stat), len(want_r)))
                label += " h2 (%d responses, %d DATA bytes)" % (len(stat), data)
            self.result(label, bad)
        if use_wstap:
            self.wstap(name, cap, keys, recs, conns)

    def wstap(self, name, cap, keys, recs, conns):
        wstap = os.environ.get("WSTAP_BIN", os.path.join(REPO, "wstap"))
        p = subprocess.run([wstap, "-r", cap, "--keylog", keys, "--json", "--payload-max", "0"],
                           capture_output=True, text=True, check=False)
        got = {}
        for line in p.stdout.splitlines():
            e = json.loads(line)
            if e.get("ev") in ("ws.message", "ws.control"):
                got.setdefault((e["conn"], e["dir"]), []).append(e)
        for n, c in sorted(conns.items()):
            for d in ("c2s", "s2c"):
                want = [r for r in recs if r["conn"] == n and r["dir"] == d]
                if c.get("expect_decrypt") in ("no_key", "bad_key"):
                    want = []
                g = [{"opcode": e["opcode"], "code": e.get("code"), "reason": e.get("reason") or "",
                      "len": e.get("len"),
                      "data": e["text"].encode() if "text" in e else
                      base64.b64decode(e.get("data_b64", ""))} for e in got.get((n, d), [])]
                bad = check_ws(name, g, want)
                self.result("%s conn %d %s: wstap --keylog (%d records)" % (name, n, d, len(want)),
                            bad)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wstap", action="store_true")
    ap.add_argument("--capture")
    ap.add_argument("--keys")
    ap.add_argument("--sidecar")
    ap.add_argument("--meta")
    a = ap.parse_args()
    use_wstap = a.wstap
    if not use_wstap and not a.capture:
        wstap = os.environ.get("WSTAP_BIN", os.path.join(REPO, "wstap"))
        try:
            h = subprocess.run([wstap, "--help"], capture_output=True, text=True).stdout
            use_wstap = "--keylog" in h
        except OSError:
            pass
    o = Oracle()
    if a.capture:
        jobs = [(a.capture, a.keys, a.sidecar, a.meta)]
    else:
        jobs = []
        for k in sorted(glob.glob(os.path.join(REPO, "pcaps", "*.keys"))):
            b = k[:-len(".keys")]
            cap = next((b + e for e in (".pcap", ".pcapng") if os.path.exists(b + e)), None)
            if not cap:
                o.result(os.path.basename(k), ["no capture beside the key log"])
                continue
            jobs.append((cap, k, b + ".sent.jsonl", b + ".meta.json"))
    for cap, keys, sidecar, metaf in jobs:
        try:
            o.capture(cap, keys, sidecar, metaf, use_wstap)
        except Exception as ex:  # noqa: BLE001 - one broken capture must not hide the rest
            o.result(os.path.basename(cap), ["%s: %s" % (type(ex).__name__, ex)])
    print("tlsoracle: %d passed, %d failed" % (o.passed, o.failed))
    return 1 if o.failed else 0


if __name__ == "__main__":
    sys.exit(main())
