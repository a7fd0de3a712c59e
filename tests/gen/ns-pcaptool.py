#!/usr/bin/python3
"""Helpers for the ns-*.sh capture generators.  Reads captures only through
tshark/capinfos (never parses the file format itself).

  sidecar PCAP LOG... --out FILE     merge ns-ws.py logs into NAME.sent.jsonl
  verify-ws PCAP SIDECAR --port P    tshark's WebSocket decode == sidecar
  subset SIDECAR OUT --conns 2,1     keep these conns, renumber 1..n
  conv PCAP                          print the normalised conv,tcp table
  conv-compare SRC DST [--family 4|6]  same TCP connections and frame counts
  meta OUT --pcap P [--kv k=v] [--json k=JSON]   write NAME.meta.json
"""
import argparse
import base64
import ipaddress
import json
import subprocess
import sys


def tshark(*args):
    r = subprocess.run(["tshark", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors="replace"))
        raise SystemExit("tshark failed: %s" % " ".join(args))
    return r.stdout.decode("utf-8", errors="replace")


def die(msg):
    sys.stderr.write("ns-pcaptool: FAIL: %s\n" % msg)
    sys.exit(1)


# ------------------------------------------------------------ connections
def syn_order(pcap):
    """[(stream, cport, sport)] for every TCP connection, in capture order."""
    out = tshark("-r", pcap, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0",
                 "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport",
                 "-e", "tcp.dstport")
    seen, res = set(), []
    for line in out.splitlines():
        if not line.strip():
            continue
        st, sp, dp = line.split("\t")
        if st in seen:
            continue  # SYN retransmission
        seen.add(st)
        res.append((int(st), int(sp), int(dp)))
    res.sort()
    return res


def cmd_sidecar(a):
    recs = []
    for path in a.logs:
        with open(path, encoding="utf-8") as f:
            recs += [json.loads(line) for line in f if line.strip()]
    recs.sort(key=lambda r: r["t"])
    conns = {(c, s): i + 1 for i, (_, c, s) in enumerate(syn_order(a.pcap))}
    with open(a.out, "w", encoding="utf-8") as f:
        for r in recs:
            key = (r["cport"], r["sport"])
            if key not in conns:
                die("no TCP connection %s in %s" % (key, a.pcap))
            o = {"conn": conns[key], "dir": r["dir"], "opcode": r["opcode"],
                 "len": r["len"]}
            for k in ("text", "data_b64", "code", "reason", "auto"):
                if k in r:
                    o[k] = r[k]
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
    print("ns-pcaptool: wrote %s (%d frames)" % (a.out, len(recs)))


def load_sidecar(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_subset(a):
    order = [int(x) for x in a.conns.split(",")]
    ren = {old: i + 1 for i, old in enumerate(order)}
    with open(a.out, "w", encoding="utf-8") as f:
        for r in load_sidecar(a.sidecar):
            if r["conn"] in ren:
                r = dict(r, conn=ren[r["conn"]])
                f.write(json.dumps(r, ensure_ascii=False) + "\n")


OPNAMES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping",
           10: "pong"}


def hexbytes(s):
    return bytes.fromhex(s.replace(":", "")) if s else b""


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def cmd_verify_ws(a):
    """Every WebSocket frame tshark decodes must match the sidecar, per
    (conn, dir), in order; and nothing may be missing."""
    ports = set(a.port)
    streams = {st: i + 1 for i, (st, _, _) in enumerate(syn_order(a.pcap))}
    pk = json.loads(tshark("-r", a.pcap, "-Y", "websocket", "-T", "json",
                           "--no-duplicate-keys", "-J", "tcp websocket data"))
    got = {}
    for p in pk:
        layers = p["_source"]["layers"]
        tcp = layers["tcp"]
        conn = streams[int(tcp["tcp.stream"])]
        d = "s2c" if int(tcp["tcp.srcport"]) in ports else "c2s"
        datas = as_list(layers.get("data"))
        for ws in as_list(layers.get("websocket")):
            op = int(ws["websocket.opcode"])
            plen = int(ws.get("websocket.payload_length_ext_64")
                       or ws.get("websocket.payload_length_ext_16")
                       or ws["websocket.payload_length"])
            pl = ws.get("websocket.payload") or {}
            fr = {"opcode": OPNAMES.get(op, str(op)), "len": plen}
            if op == 1 and plen:
                fr["text"] = pl["websocket.payload.text"]
            elif op == 1:
                fr["text"] = ""
            elif op == 2:
                fr["data"] = hexbytes(datas.pop(0)["data.data"]) if plen else b""
            elif op in (9, 10):
                key = "websocket.payload.ping" if op == 9 else "websocket.payload.pong"
                fr["data"] = hexbytes(pl.get(key, "")) if plen else b""
            elif op == 8 and plen:
                c = pl["websocket.payload.close"]
                fr["code"] = int(c["websocket.payload.close.status_code"])
                fr["reason"] = c.get("websocket.payload.close.reason", "")
            got.setdefault((conn, d), []).append(fr)
    want = {}
    for r in load_sidecar(a.sidecar):
        fr = {"opcode": r["opcode"], "len": r["len"]}
        if "text" in r:
            fr["text"] = r["text"]
        if "data_b64" in r:
            fr["data"] = base64.b64decode(r["data_b64"])
        if "code" in r:
            fr["code"] = r["code"]
            fr["reason"] = r["reason"]
        want.setdefault((r["conn"], r["dir"]), []).append(fr)
    if set(got) != set(want):
        die("conn/dir sets differ: capture %s sidecar %s" % (sorted(got), sorted(want)))
    n = 0
    for k in sorted(want):
        g, w = got[k], want[k]
        if len(g) != len(w):
            die("%s: %d frames in capture, %d in sidecar" % (k, len(g), len(w)))
        for i, (x, y) in enumerate(zip(g, w)):
            if x != y:
                die("%s frame %d: capture %r != sidecar %r" % (
                    k, i, {kk: (str(v)[:60]) for kk, v in x.items()},
                    {kk: (str(v)[:60]) for kk, v in y.items()}))
            n += 1
    print("ns-pcaptool: %s: %d WebSocket frames match the sidecar" % (a.pcap, n))


# ------------------------------------------------------------ conversations
def conv_table(pcap):
    """{(endpointA, endpointB): frames} from tshark -z conv,tcp."""
    res = {}
    for line in tshark("-r", pcap, "-q", "-z", "conv,tcp").splitlines():
        if "<->" not in line:
            continue
        f = line.split()
        a, b = f[0], f[2]
        # columns: A <-> B  fr bytes [unit]  fr bytes [unit]  fr bytes [unit] ...
        nums = [x for x in f[3:] if x.replace(".", "").isdigit()]
        # frames are the 1st, 3rd and 5th numbers
        res[(a, b)] = int(nums[4])
    return res


def family(ep):
    host = ep.rsplit(":", 1)[0]
    return ipaddress.ip_address(host.strip("[]")).version


def cmd_conv(a):
    for (x, y), n in sorted(conv_table(a.pcap).items()):
        print("%s <-> %s frames=%d" % (x, y, n))


def cmd_conv_compare(a):
    s, d = conv_table(a.src), conv_table(a.dst)
    if a.family:
        s = {k: v for k, v in s.items() if family(k[0]) == a.family}
    if not s:
        die("no TCP conversations in %s" % a.src)
    if s != d:
        die("conv,tcp differs:\n  %s: %s\n  %s: %s" % (a.src, s, a.dst, d))
    print("ns-pcaptool: %s: same %d TCP conversation(s) as %s" % (a.dst, len(d), a.src))


# ------------------------------------------------------------ meta
ENCAP = {  # capinfos short name -> (LINKTYPE_ name, LINKTYPE value)
    "ether": ("EN10MB", 1), "rawip": ("RAW", 101), "null": ("NULL", 0),
    "loop": ("LOOP", 108), "rawip4": ("IPV4", 228), "rawip6": ("IPV6", 229),
    "linux-sll": ("LINUX_SLL", 113), "linux-sll2": ("LINUX_SLL2", 276),
}


def versions():
    def run(cmd):
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               check=False, timeout=10)
            return r.stdout.decode(errors="replace")
        except OSError:
            return ""
    v = {}
    td = run(["tcpdump", "--version"]).splitlines()
    for line in td:
        if line.startswith("tcpdump version"):
            v["tcpdump"] = line.split()[2]
        if line.startswith("libpcap version"):
            v["libpcap"] = line.split()[2]
    for line in run(["tshark", "--version"]).splitlines():
        if line.startswith("TShark"):
            v["tshark"] = line.split()[2]
            break
    v["python"] = sys.version.split()[0]
    try:
        import websockets
        v["python-websockets"] = websockets.__version__
    except ImportError:
        pass
    cu = run(["curl", "--version"]).split()
    if len(cu) > 1:
        v["curl"] = cu[1]
    v["kernel"] = run(["uname", "-r"]).strip()
    return v


def cmd_meta(a):
    r = subprocess.run(["capinfos", "-M", "-T", "-r", "-t", "-E", "-c", a.pcap],
                       stdout=subprocess.PIPE, check=True)
    fields = r.stdout.decode().strip().split("\t")
    # File name, File type, File encapsulation, Number of packets
    ftype, encap, npk = fields[-3], fields[-2], int(fields[-1])
    lt = ENCAP.get(encap, (encap, None))
    conv = conv_table(a.pcap)
    meta = {
        "file": a.pcap.rsplit("/", 1)[-1],
        "file_format": ftype,
        "link_type": lt[0],
        "linktype_value": lt[1],
        "packets": npk,
        "tcp_connections": [
            {"a": x, "b": y, "frames": n} for (x, y), n in
            sorted(conv.items(), key=lambda kv: kv[0])
        ],
        "real_traffic": True,
        "versions": versions(),
    }
    for kv in a.kv or []:
        k, v = kv.split("=", 1)
        meta[k] = v
    for kv in a.json or []:
        k, v = kv.split("=", 1)
        meta[k] = json.loads(v)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sidecar")
    p.add_argument("pcap")
    p.add_argument("logs", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_sidecar)
    p = sub.add_parser("verify-ws")
    p.add_argument("pcap")
    p.add_argument("sidecar")
    p.add_argument("--port", type=int, action="append", required=True)
    p.set_defaults(fn=cmd_verify_ws)
    p = sub.add_parser("subset")
    p.add_argument("sidecar")
    p.add_argument("out")
    p.add_argument("--conns", required=True)
    p.set_defaults(fn=cmd_subset)
    p = sub.add_parser("conv")
    p.add_argument("pcap")
    p.set_defaults(fn=cmd_conv)
    p = sub.add_parser("conv-compare")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--family", type=int, choices=(4, 6))
    p.set_defaults(fn=cmd_conv_compare)
    p = sub.add_parser("meta")
    p.add_argument("out")
    p.add_argument("--pcap", required=True)
    p.add_argument("--kv", action="append")
    p.add_argument("--json", action="append")
    p.set_defaults(fn=cmd_meta)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
