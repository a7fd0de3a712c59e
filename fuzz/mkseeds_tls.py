#!/usr/bin/env python3
"""mkseeds_tls.py --out DIR - seeds for fuzz_tls: the five connections of
tests/unit/tls_vectors.h in the fuzz_tls input format (fuzz/fuzz_tls.c), each as the
application layer would feed it (ClientHello, the server's stream, the rest of the client's),
in whole records, in 100-byte chunks, with the hellos read from the input, and with a gap."""
import argparse
import hashlib
import os
import re

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--vectors", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                   "unit", "tls_vectors.h"))
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
text = open(args.vectors).read()


def arr(name):
    m = re.search(r"static const uint8_t %s\[\d+\] = \{(.*?)\};" % name, text, re.S)
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", m.group(1)))


def direction(data, size):
    """data as chunks of at most size bytes: the first one switches direction (or, at the very
    start of the input, goes client to server), the others stay."""
    out = b""
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += (len(piece) | (0x4000 if i else 0)).to_bytes(2, "big") + piece
    return out


def put(seed):
    open(os.path.join(args.out, hashlib.sha1(seed).hexdigest()), "wb").write(seed)


names = ["aes128gcm", "aes256gcm", "chacha", "t13aes256", "t13chacha"]
n = 0
for i, name in enumerate(names):
    c2s, s2c = arr("tlsv_%s_c2s" % name), arr("tlsv_%s_s2c" % name)
    ch = 5 + (c2s[3] << 8 | c2s[4])
    for mode, size in ((i, 16383), (i | 0x08, 16383), (i | 0x10, 100), (i | 0x20, 1000)):
        put(bytes([mode]) + b"\x00\x00" + direction(c2s[:ch], size) + direction(s2c, size) +
            direction(c2s[ch:], size))
        n += 1
    # a gap of 40 bytes in the middle of the server's stream
    half = len(s2c) // 2
    srv = half.to_bytes(2, "big") + s2c[:half]
    srv += (0x8000 | 0x4000 | 40).to_bytes(2, "big")
    srv += (0x4000 | (len(s2c) - half - 40)).to_bytes(2, "big") + s2c[half + 40:]
    put(bytes([i]) + b"\x00\x00" + direction(c2s[:ch], 16383) + srv)
    n += 1
print("mkseeds_tls: %d seeds in %s" % (n, args.out))
