#!/usr/bin/env python3
"""tls_vectors.py NAME PCAP KEYLOG - print one TLS vector as C arrays (for gen-tls-vectors.sh).
The raw TCP payload of each direction and the handshake fields (randoms, suite, version) come
from tshark's dissection, the key log as written by OpenSSL, and the expected plaintext from
tshark's own decryption (-z follow,tls,raw)."""
import subprocess
import sys

name, pcap, klog = sys.argv[1:4]


def tshark(*args):
    return subprocess.run(["tshark", "-r", pcap, *args], check=True, capture_output=True,
                          text=True).stdout


# The raw TCP payload of each direction, in capture order (loopback: no loss, no reordering).
rows = tshark("-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport",
              "-e", "tcp.dstport", "-e", "tcp.payload").split("\n")
raw = {}
first = None
for row in rows:
    if not row.strip():
        continue
    stream, sport, dport, payload = row.split("\t")
    assert stream == "0", "one connection expected"
    if first is None:
        first = sport  # the client speaks first (ClientHello)
    d = "c2s" if sport == first else "s2c"
    raw[d] = raw.get(d, b"") + bytes.fromhex(payload.replace(":", ""))

cr = tshark("-Y", "tls.handshake.type == 1", "-T", "fields", "-e",
            "tls.handshake.random").split()[0].replace(":", "")
sh = tshark("-Y", "tls.handshake.type == 2", "-T", "fields", "-e", "tls.handshake.random",
            "-e", "tls.handshake.ciphersuite", "-e",
            "tls.handshake.extensions.supported_version").split()
sr, suite = sh[0].replace(":", ""), int(sh[1], 0)
version = int(sh[2], 0) if len(sh) > 2 else 0x0303

with open(klog) as f:
    keylog = f.read()
assert cr.lower() in keylog.lower(), "no key log line for the session's client random"

# tshark's decryption: follow,tls,raw names node 0 and node 1 (address:port) and prints node
# 0's data flush left, node 1's after a tab.
out = tshark("-q", "-o", "tls.keylog_file:" + klog, "-z", "follow,tls,raw,0")
plain = {"c2s": b"", "s2c": b""}
node0_client = None
body = False
for line in out.split("\n"):
    if line.startswith("Node 0:"):
        node0_client = line.rsplit(":", 1)[1].strip() == first
        continue
    if line.startswith("Node 1:"):
        body = True
        continue
    if not body or line.startswith("===") or not line.strip():
        continue
    node0 = not line.startswith("\t")
    d = "c2s" if node0 == node0_client else "s2c"
    plain[d] += bytes.fromhex(line.strip())
assert plain["c2s"] and plain["s2c"], "tshark decrypted nothing"


def arr(field, data):
    print("static const uint8_t tlsv_%s_%s[%d] = {" % (name, field, len(data)))
    for i in range(0, len(data), 16):
        print("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",")
    print("};")


print("#define TLSV_%s_SUITE 0x%04x" % (name.upper(), suite))
print("#define TLSV_%s_VERSION 0x%04x" % (name.upper(), version))
print("static const char tlsv_%s_keylog[] =" % name)
for line in keylog.splitlines(True):
    print('    "%s"' % line.replace("\n", "\\n"))
print(";")
arr("client_random", bytes.fromhex(cr))
arr("server_random", bytes.fromhex(sr))
arr("c2s", raw["c2s"])
arr("s2c", raw["s2c"])
arr("c2s_plain", plain["c2s"])
arr("s2c_plain", plain["s2c"])
