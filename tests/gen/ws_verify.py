#!/usr/bin/python3
"""Cross-check a WebSocket capture against its NAME.sent.jsonl sidecar.

  ws_verify.py CAPTURE SIDECAR META

Independent of wstap: uses `tshark -z follow,tcp,raw` to get each TCP
connection's byte streams, skips the HTTP Upgrade request/response, parses
the WebSocket frames itself (unmasking, reassembling fragments, inflating
permessage-deflate messages with or without context takeover as negotiated
in META's "extensions_negotiated"), and requires that, per connection and
direction, the decoded messages and control frames equal the sidecar's
records in order (opcode, exact payload, close code/reason, fragment
lengths where recorded).  Exit status 0 when everything matches.
"""

import base64
import json
import subprocess
import sys
import zlib

OPS = {1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


def streams(cap):
    out = subprocess.run(["tshark", "-r", cap, "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True, check=True).stdout
    return sorted({int(x) for x in out.split()})


def follow(cap, idx):
    out = subprocess.run(["tshark", "-r", cap, "-q", "-z", f"follow,tcp,raw,{idx}"],
                         capture_output=True, text=True, check=True).stdout
    data = [bytearray(), bytearray()]
    body = False
    for line in out.splitlines():
        if line.startswith("Node 1:"):
            body = True
            continue
        if not body or line.startswith("===") or not line.strip():
            continue
        side = 1 if line.startswith("\t") else 0
        data[side] += bytes.fromhex(line.strip())
    return bytes(data[0]), bytes(data[1])


def parse_ext(hdr):
    """-> dict of permessage-deflate params, or None."""
    if not hdr:
        return None
    for ext in hdr.split(","):
        parts = [p.strip() for p in ext.split(";")]
        if parts[0] == "permessage-deflate":
            return {p.split("=")[0].strip(): (p.split("=")[1].strip() if "=" in p else True)
                    for p in parts[1:]}
    return None


def decode(buf, masked, pmd, no_takeover):
    """Parse frames of one direction -> list of records (completion order)."""
    end = buf.index(b"\r\n\r\n") + 4
    pos = end
    inflater = zlib.decompressobj(-15)
    out = []
    msg = None  # [opcode, [payloads], compressed]
    while pos < len(buf):
        b0, b1 = buf[pos], buf[pos + 1]
        fin, rsv1, op = b0 >> 7, (b0 >> 6) & 1, b0 & 15
        m, ln = b1 >> 7, b1 & 127
        pos += 2
        if ln == 126:
            ln = int.from_bytes(buf[pos:pos + 2], "big"); pos += 2
        elif ln == 127:
            ln = int.from_bytes(buf[pos:pos + 8], "big"); pos += 8
        if m != masked:
            raise ValueError(f"mask bit {m}, expected {masked}")
        key = b""
        if m:
            key = buf[pos:pos + 4]; pos += 4
        payload = bytearray(buf[pos:pos + ln])
        if len(payload) != ln:
            raise ValueError("truncated frame")
        pos += ln
        if m:
            for i in range(ln):
                payload[i] ^= key[i & 3]
        payload = bytes(payload)
        if op >= 8:
            r = {"opcode": OPS[op]}
            if op == 8:
                r["code"] = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                r["reason"] = payload[2:].decode("utf-8")
                r["len"] = len(payload)
            else:
                r["data"] = payload
            out.append(r)
            continue
        if op != 0:
            if msg is not None:
                raise ValueError("new message inside a fragmented one")
            if rsv1 and pmd is None:  # {} = negotiated without parameters
                raise ValueError("RSV1 without permessage-deflate")
            msg = [op, [], bool(rsv1)]
        elif msg is None:
            raise ValueError("continuation without a message")
        msg[1].append(payload)
        if fin:
            op0, parts, comp = msg
            msg = None
            data = b"".join(parts)
            if comp:
                if no_takeover:
                    inflater = zlib.decompressobj(-15)
                data = inflater.decompress(data + b"\x00\x00\xff\xff")
            r = {"opcode": OPS[op0], "data": data}
            if len(parts) > 1:
                r["nfrag"] = len(parts)
                if not comp:
                    r["fragments"] = [len(p) for p in parts]
            out.append(r)
    return out


def expected_payload(r):
    if r["opcode"] == "text":
        return r["text"].encode("utf-8")
    return base64.b64decode(r.get("data_b64", ""))


def main():
    cap, sidecar, metaf = sys.argv[1:4]
    meta = json.load(open(metaf))
    pmd = parse_ext(meta.get("extensions_negotiated"))
    sent = [json.loads(line) for line in open(sidecar) if line.strip()]
    errors = 0
    total = 0
    for idx in streams(cap):
        conn = idx + 1
        c2s, s2c = follow(cap, idx)
        for d, buf, masked, nt in (
                ("c2s", c2s, 1, pmd is not None and "client_no_context_takeover" in pmd),
                ("s2c", s2c, 0, pmd is not None and "server_no_context_takeover" in pmd)):
            got = decode(buf, masked, pmd, nt)
            want = [r for r in sent if r["conn"] == conn and r["dir"] == d]
            if len(got) != len(want):
                print(f"conn {conn} {d}: {len(got)} frames/messages in capture, "
                      f"{len(want)} in sidecar", file=sys.stderr)
                errors += 1
            for i, (g, w) in enumerate(zip(got, want)):
                total += 1
                bad = None
                if g["opcode"] != w["opcode"]:
                    bad = f"opcode {g['opcode']} != {w['opcode']}"
                elif g["opcode"] == "close":
                    if (g["code"], g["reason"], g["len"]) != (w["code"], w["reason"], w["len"]):
                        bad = f"close {g} != {w}"
                else:
                    exp = expected_payload(w)
                    if g["data"] != exp:
                        bad = "payload differs"
                    elif len(exp) != w["len"]:
                        bad = "sidecar len wrong"
                    elif "fragments" in w and g.get("nfrag") != len(w["fragments"]):
                        bad = f"{g.get('nfrag')} fragments, sidecar says {len(w['fragments'])}"
                    elif "fragments" in g and g["fragments"] != w.get("fragments"):
                        bad = f"fragment lengths {g['fragments']} != {w.get('fragments')}"
                if bad:
                    errors += 1
                    print(f"conn {conn} {d} #{i}: {bad}", file=sys.stderr)
    if errors:
        print(f"ws_verify: {cap}: {errors} mismatch(es)", file=sys.stderr)
        sys.exit(1)
    if total != len(sent):
        print(f"ws_verify: {cap}: sidecar has {len(sent)} records, matched {total}",
              file=sys.stderr)
        sys.exit(1)
    print(f"ws_verify: {cap}: {total} sidecar records match the capture", file=sys.stderr)


if __name__ == "__main__":
    main()
