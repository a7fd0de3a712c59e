#!/usr/bin/python3
"""live_cmp.py - compare wstap's live JSON with its offline analysis of the same traffic.

Usage: live_cmp.py LIVE.json OFFLINE.json
Both must hold the same events in the same order with the same fields and values, except:
  - the packet times ("t", "duration", and every time in milliseconds: "irtt_ms", "rtt_ms" and
    conn.summary's "upgrade_ms", "http_*_ms", "rtt_*_ms", "close_after_ms") may differ by up to
    2 ms: when nobody asked the kernel to timestamp a packet at arrival, each packet socket
    stamps its own copy when it reads it, so wstap's and tcpdump's times for one packet can
    differ by a microsecond or so; the rates derived from them (conn.summary "msg_rate_*",
    "byte_rate_*") may differ by up to 5 percent;
  - capture.end's "dropped"/"ifdropped" are numbers live and null for a file; its "written"
    (the live run's -w) is left out;
  - capture.end's "interrupted" is true live (stopped by SIGINT) and false for the file.
Prints the first differences; exit 0 when equal in that sense, 1 otherwise.
"""
import json
import sys

TIME_KEYS = {"t": 0.002, "duration": 0.002}
MS_TOLERANCE = 2.0     # any other key ending in "_ms"
RATE_TOLERANCE = 0.05  # relative, keys msg_rate_* and byte_rate_*


def tolerance(k, v):
    """How far a live value may be from the offline one, or None when they must be equal."""
    if k in TIME_KEYS:
        return TIME_KEYS[k]
    if k.endswith("_ms"):
        return MS_TOLERANCE
    if k.startswith(("msg_rate_", "byte_rate_")):
        return abs(v) * RATE_TOLERANCE
    return None


def main():
    live = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
    off = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
    bad = []
    if len(live) != len(off):
        bad.append(f"{len(live)} live events, {len(off)} offline")
    maxdt = 0.0
    for i, (a, b) in enumerate(zip(live, off), 1):
        if a.get("ev") == "capture.end":
            for k in ("dropped", "ifdropped"):
                if not isinstance(a.get(k), int):
                    bad.append(f"line {i}: live capture.end {k} is {a.get(k)!r}, want a number")
                a[k] = b.get(k)
            if a.get("interrupted") is not True or b.get("interrupted") is not False:
                bad.append(f"line {i}: capture.end interrupted is {a.get('interrupted')!r} live,"
                           f" {b.get('interrupted')!r} offline; want true, false")
            a["interrupted"] = b.get("interrupted")
            a.pop("written", None)  # -w on the live run (live.sh checks it against the file)
        if set(a) != set(b):
            bad.append(f"line {i}: fields {sorted(set(a) ^ set(b))} in one only")
            continue
        for k in a:
            num = isinstance(a[k], (int, float)) and isinstance(b[k], (int, float)) and \
                not isinstance(a[k], bool) and not isinstance(b[k], bool)
            tol = tolerance(k, b[k]) if num else None
            if tol is not None:
                d = abs(a[k] - b[k])
                if k == "t":
                    maxdt = max(maxdt, d)
                if d > tol:
                    bad.append(f"line {i}: {a.get('ev')} {k} live {a[k]} offline {b[k]}")
            elif a[k] != b[k]:
                bad.append(f"line {i}: {a.get('ev')} {k} live {str(a[k])[:80]!r} offline {str(b[k])[:80]!r}")
    for m in bad[:10]:
        print(m)
    if not bad:
        print(f"{len(live)} events equal; packet times within {maxdt * 1e6:.0f} us")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
