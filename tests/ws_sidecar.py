#!/usr/bin/env python3
"""ws_sidecar.py - every WebSocket message and control frame in pcaps/ decoded by wstap must
be byte-identical to what the generating application recorded sending (pcaps/NAME.sent.jsonl,
written by tests/gen/), in both directions, compressed or not.

Per connection and direction, wstap's ws.message / ws.control events (with --payload-max 0,
so nothing is cut) are compared in order with the sidecar's records: opcode, decoded length,
the text or the bytes (base64), and for close frames the code and reason. A record the
capture could not contain (the sidecar says so with "lost": true) is skipped. TLS captures
(pcaps/NAME.keys beside them) are read with --keylog NAME.keys once wstap has that option and
skipped until then (make tlsoracle checks them with tshark).

Order: within one direction a WebSocket connection is ordered, so records must match one for
one. Across directions the generators' order is the order of send calls, so directions are
compared separately.

Environment: WSTAP_BIN (default ./wstap), WSTAP_WRAP (a command put before wstap, e.g.
valgrind; anything the run writes to stderr then fails the capture).
"""
import base64
import json
import os
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wstap_has_keylog():
    wstap = os.environ.get("WSTAP_BIN", os.path.join(REPO, "wstap"))
    try:
        return "--keylog" in subprocess.run([wstap, "--help"], capture_output=True,
                                            text=True, check=False).stdout
    except OSError:
        return False


def wstap_events(path, keys=None):
    wstap = os.environ.get("WSTAP_BIN", os.path.join(REPO, "wstap"))
    wrap = shlex.split(os.environ.get("WSTAP_WRAP", ""))
    extra = ["--keylog", keys] if keys else []
    out = subprocess.run(wrap + [wstap, "-r", path] + extra + ["--json", "--payload-max", "0"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError("wstap exited %d: %s" % (out.returncode, out.stderr.strip()))
    if wrap and out.stderr.strip():
        raise RuntimeError("%s wrote to stderr: %s" % (wrap[0], out.stderr.strip()[:2000]))
    got = {}
    for line in out.stdout.splitlines():
        e = json.loads(line)
        if e["ev"] == "tls.decrypt":
            got.setdefault((e["conn"], "tls"), []).append(e)
        if e["ev"] not in ("ws.message", "ws.control"):
            continue
        got.setdefault((e["conn"], e["dir"]), []).append(e)
    return got


def event_bytes(e):
    if "text" in e:
        return e["text"].encode("utf-8")
    if "data_b64" in e:
        return base64.b64decode(e["data_b64"])
    return b""


def record_bytes(r):
    if "text" in r:
        return r["text"].encode("utf-8")
    if "data_b64" in r:
        return base64.b64decode(r["data_b64"])
    return b""


def compare(r, e):
    """A list of differences between a sidecar record and a wstap event."""
    diffs = []
    if r["opcode"] != e["opcode"]:
        return ["opcode %s vs %s" % (r["opcode"], e["opcode"])]
    if r["opcode"] == "close":
        if r.get("code") != e.get("code"):
            diffs.append("close code %s vs %s" % (r.get("code"), e.get("code")))
        if (r.get("reason") or "") != (e.get("reason") or ""):
            diffs.append("close reason %r vs %r" % (r.get("reason"), e.get("reason")))
        return diffs
    if r["len"] != e["len"]:
        diffs.append("len %d vs %d" % (r["len"], e["len"]))
    rb, eb = record_bytes(r), event_bytes(e)
    if rb != eb:
        i = next((k for k in range(min(len(rb), len(eb))) if rb[k] != eb[k]),
                 min(len(rb), len(eb)))
        diffs.append("payload differs at byte %d (%d vs %d bytes)" % (i, len(rb), len(eb)))
    if e.get("truncated"):
        diffs.append("wstap cut the payload")
    return diffs


def main():
    pdir = os.path.join(REPO, "pcaps")
    passed = failed = 0
    keylog_ok = wstap_has_keylog()
    for fn in sorted(os.listdir(pdir)):
        if not fn.endswith(".sent.jsonl"):
            continue
        base = fn[:-len(".sent.jsonl")]
        cap = next((os.path.join(pdir, base + ext) for ext in (".pcap", ".pcapng")
                    if os.path.exists(os.path.join(pdir, base + ext))), None)
        if not cap:
            print("FAIL %s: no capture beside the sidecar" % fn)
            failed += 1
            continue
        # TLS captures (pcaps/NAME.keys beside them, tests/gen/gen-wss.sh): read with their key
        # log once wstap has --keylog; until then `make tlsoracle` checks them with tshark.
        # Connections whose keys are missing or wrong on purpose (meta expect_decrypt no_key,
        # bad_key) have no message wstap could decode.
        keys = os.path.join(pdir, base + ".keys")
        nokey = set()
        expect = {}
        if os.path.exists(keys):
            if not keylog_ok:
                print("skip %s: TLS capture, wstap has no --keylog yet (make tlsoracle)" % base)
                continue
            with open(os.path.join(pdir, base + ".meta.json"), encoding="utf-8") as f:
                conns = json.load(f).get("connections", [])
            nokey = {c["conn"] for c in conns
                     if c.get("expect_decrypt") in ("no_key", "bad_key")}
            expect = {c["conn"]: c["expect_decrypt"] for c in conns if c.get("expect_decrypt")}
        else:
            keys = None
        want = {}
        with open(os.path.join(pdir, fn), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    if r.get("lost") or r["conn"] in nokey:
                        continue
                    want.setdefault((r["conn"], r["dir"]), []).append(r)
        try:
            got = wstap_events(cap, keys)
        except Exception as ex:  # noqa: BLE001 - report and count
            print("FAIL %s: %s" % (base, ex))
            failed += 1
            continue
        # TLS: every connection's decryption verdict is the one the generator expects: "ok"
        # in both directions, or one line (one kind of tls.decrypt) naming the cause
        for n, exp in sorted(expect.items()):
            decs = got.get((n, "tls"), [])
            kinds = sorted({e["status"] for e in decs})
            if exp == "ok":
                good = kinds == ["ok"] and {e.get("dir") for e in decs} == {"c2s", "s2c"}
            else:
                good = kinds == [exp] and len({e.get("dir") for e in decs}) == len(decs)
            label = "%s conn %d: tls.decrypt %s" % (base, n, exp)
            if good:
                passed += 1
                print("ok   %s" % label)
            else:
                failed += 1
                print("FAIL %s: got %s" % (label, [(e.get("dir"), e["status"]) for e in decs]))
        for key in sorted(set(want) | set(k for k in got if k[1] != "tls")):
            w, g = want.get(key, []), got.get(key, [])
            bad = []
            for i in range(max(len(w), len(g))):
                if i >= len(w):
                    bad.append("#%d: wstap has an extra %s" % (i + 1, g[i]["opcode"]))
                    break
                if i >= len(g):
                    bad.append("#%d: wstap lacks %s (%d bytes)" % (i + 1, w[i]["opcode"],
                                                                 w[i].get("len", 0)))
                    break
                d = compare(w[i], g[i])
                if d:
                    bad.append("#%d %s: %s" % (i + 1, w[i]["opcode"], "; ".join(d)))
            label = "%s conn %d %s (%d records)" % (base, key[0], key[1], len(w))
            if bad:
                failed += 1
                print("FAIL %s: %s" % (label, " | ".join(bad[:3])))
            else:
                passed += 1
                print("ok   %s" % label)
    print("wsmsg: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
