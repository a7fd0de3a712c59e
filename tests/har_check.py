#!/usr/bin/env python3
"""har_check.py - `wstap --har` over every capture of pcaps/ that holds HTTP.

For each capture wstap writes an archive (wstap -q --json --har FILE; the conn.summary lines
say how many HTTP requests and which WebSocket connections the capture has) and checks:
  schema   the archive is valid against the HAR 1.2 JSON schema (tests/har/schema, the
           har-schema package's files) with python3-jsonschema;
  entries  one entry per HTTP request head, each connection's entries in its transaction
           order; every WebSocket connection that opened has its upgrade entry (ws:// URL,
           status 101) with a _webSocketMessages array;
  messages each WebSocket connection's _webSocketMessages equal the generator's record
           (pcaps/NAME.sent.jsonl, text/binary records not marked lost) message by message in
           each direction: type send (c2s) / receive (s2c), opcode, the text or the bytes;
           times never go backwards within a direction.
Then -C (only that connection's entries), determinism (the same archive twice), and a real
HAR consumer: node tests/har/consume.js (har-validator) reads every archive written.
TLS captures (pcaps/NAME.keys) are read with --keylog once wstap has it, skipped until then.

Environment: WSTAP_BIN (default ./wstap); anything wstap writes to stderr fails the capture
(so the sanitizer build's reports fail it too).
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

from jsonschema import Draft6Validator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WSTAP = os.environ.get("WSTAP_BIN", os.path.join(REPO, "wstap"))
SCHEMA_DIR = os.path.join(REPO, "tests", "har", "schema")

passed = failed = 0


def result(ok, label, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + label)
    else:
        failed += 1
        print("FAIL %s: %s" % (label, why))


def har_validator():
    """har.json with its $refs (request.json#, ...) resolved among the vendored files."""
    schemas = {}
    for fn in sorted(os.listdir(SCHEMA_DIR)):
        if fn.endswith(".json"):
            with open(os.path.join(SCHEMA_DIR, fn), encoding="utf-8") as f:
                s = json.load(f)
            schemas[s["$id"].rstrip("#")] = s
    root = schemas["har.json"]
    checker = Draft6Validator.FORMAT_CHECKER
    try:  # jsonschema >= 4.18
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT6
        registry = Registry().with_resources(
            (uri, Resource.from_contents(s, default_specification=DRAFT6))
            for uri, s in schemas.items())
        return Draft6Validator(root, registry=registry, format_checker=checker)
    except ImportError:  # Debian 12's 4.10
        from jsonschema import RefResolver
        resolver = RefResolver(base_uri="har.json", referrer=root, store=dict(schemas))
        return Draft6Validator(root, resolver=resolver, format_checker=checker)


def has_keylog():
    out = subprocess.run([WSTAP, "--help"], capture_output=True, text=True, check=False)
    return "--keylog" in out.stdout


def run_har(cap, out, extra=()):
    """Run wstap; returns (conn.summary lines, error or None)."""
    p = subprocess.run([WSTAP, "-q", "--json", "--har", out, "-r", cap] + list(extra),
                       capture_output=True, text=True, check=False)
    if p.returncode not in (0, 1) or p.stderr.strip():
        return None, "wstap exited %d: %s" % (p.returncode, p.stderr.strip()[:1500])
    rows = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return [r for r in rows if r.get("ev") == "conn.summary"], None


def sidecar(base, nokey):
    want = {}
    path = os.path.join(REPO, "pcaps", base + ".sent.jsonl")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("lost") or r["conn"] in nokey or r["opcode"] not in ("text", "binary"):
                continue
            want.setdefault((r["conn"], r["dir"]), []).append(r)
    return want


def record_bytes(r):
    if "text" in r:
        return r["text"].encode("utf-8")
    return base64.b64decode(r.get("data_b64", ""))


def msg_bytes(m):
    if m["opcode"] == 1:
        return m["data"].encode("utf-8")
    return base64.b64decode(m["data"])


def check_messages(base, har, want, midstream):
    got = {}
    for e in har["log"]["entries"]:
        if "_webSocketMessages" not in e:
            continue
        conn = e["_wstap"]["conn"]
        for m in e["_webSocketMessages"]:
            d = "c2s" if m["type"] == "send" else "s2c"
            got.setdefault((conn, d), []).append(m)
    for key in sorted(set(want) | set(got)):
        if key[0] in midstream:
            print("skip %s conn %d %s: mid-stream WebSocket, no upgrade entry to hold its "
                  "messages" % (base, key[0], key[1]))
            continue
        w, g = want.get(key, []), got.get(key, [])
        bad = []
        for i in range(max(len(w), len(g))):
            if i >= len(w):
                bad.append("#%d: the archive has an extra message" % (i + 1))
                break
            if i >= len(g):
                bad.append("#%d: the archive lacks a %s message" % (i + 1, w[i]["opcode"]))
                break
            op = 1 if w[i]["opcode"] == "text" else 2
            if g[i]["opcode"] != op:
                bad.append("#%d: opcode %s vs %s" % (i + 1, op, g[i]["opcode"]))
            elif record_bytes(w[i]) != msg_bytes(g[i]):
                bad.append("#%d: data differs (%d vs %d bytes)" %
                           (i + 1, len(record_bytes(w[i])), len(msg_bytes(g[i]))))
            if i and g[i]["time"] < g[i - 1]["time"]:
                bad.append("#%d: time goes backwards" % (i + 1))
        result(not bad, "%s conn %d %s: %d messages equal the sidecar" %
               (base, key[0], key[1], len(w)), " | ".join(bad[:3]))


def check_entries(base, har, rows):
    entries = har["log"]["entries"]
    want_req = sum(r.get("http_requests", 0) for r in rows)
    result(len(entries) == want_req, "%s: %d entries for %d HTTP requests" %
           (base, len(entries), want_req), "entry count differs")
    last = {}
    order_ok = True
    for e in entries:
        c, t = e["_wstap"]["conn"], e["_wstap"]["txn"]
        if c in last and t <= last[c]:
            order_ok = False
        last[c] = t
    result(order_ok, "%s: each connection's entries in transaction order" % base)
    for r in rows:
        if r.get("ws") != "open":
            continue
        up = [e for e in entries if e["_wstap"]["conn"] == r["conn"] and
              "_webSocketMessages" in e]
        ok = (len(up) == 1 and up[0]["response"]["status"] == 101 and
              up[0]["request"]["url"].startswith("ws://"))
        result(ok, "%s conn %d: the upgrade entry with _webSocketMessages" % (base, r["conn"]),
               "%d upgrade entries" % len(up))


def main():
    if not os.path.exists(os.path.join(REPO, "tests", "har", "node_modules", "har-validator")):
        print("FAIL har: tests/har/node_modules missing (run tools/deps.sh check as root, or "
              "npm ci --prefix tests/har)")
        print("har: 0 passed, 1 failed")
        return 1
    validator = har_validator()
    keylog = has_keylog()
    tmp = tempfile.mkdtemp(prefix="wstap-har.")
    written = []
    multi = None
    try:
        pdir = os.path.join(REPO, "pcaps")
        for fn in sorted(os.listdir(pdir)):
            if not fn.endswith((".pcap", ".pcapng")):
                continue
            base = fn.rsplit(".", 1)[0]
            cap = os.path.join(pdir, fn)
            extra, nokey = [], set()
            keys = os.path.join(pdir, base + ".keys")
            if os.path.exists(keys):
                if not keylog:
                    print("skip %s: TLS capture, wstap has no --keylog yet" % base)
                    continue
                extra = ["--keylog", keys]
                with open(os.path.join(pdir, base + ".meta.json"), encoding="utf-8") as f:
                    nokey = {c["conn"] for c in json.load(f).get("connections", [])
                             if c.get("expect_decrypt") in ("no_key", "bad_key")}
            out = os.path.join(tmp, base + ".har")
            rows, err = run_har(cap, out, extra)
            if err:
                result(False, base, err)
                continue
            if sum(r.get("http_requests", 0) for r in rows) == 0:
                continue  # no HTTP: nothing the archive must hold
            with open(out, encoding="utf-8") as f:
                try:
                    har = json.load(f)
                except ValueError as ex:
                    result(False, "%s: the archive is JSON" % base, str(ex))
                    continue
            errs = sorted(validator.iter_errors(har), key=lambda e: list(e.path))
            result(not errs, "%s: valid against the HAR 1.2 schema" % base,
                   "; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message[:200])
                             for e in errs[:3]))
            written.append(out)
            check_entries(base, har, rows)
            want = sidecar(base, nokey)
            if want is not None:
                check_messages(base, har, want,
                               {r["conn"] for r in rows if r.get("ws") == "midstream"})
            conns = sorted({e["_wstap"]["conn"] for e in har["log"]["entries"]})
            if multi is None and len(conns) > 1:
                multi = (base, cap, extra, conns[-1], har)

        # -C: only that connection's entries, the same as in the whole archive
        if multi:
            base, cap, extra, conn, whole = multi
            out = os.path.join(tmp, "only.har")
            _, err = run_har(cap, out, list(extra) + ["-C", str(conn)])
            if err:
                result(False, "%s -C %d" % (base, conn), err)
            else:
                with open(out, encoding="utf-8") as f:
                    only = json.load(f)["log"]["entries"]
                mine = [e for e in whole["log"]["entries"] if e["_wstap"]["conn"] == conn]
                result(only == mine, "%s -C %d: the archive holds only that connection's %d "
                       "entries" % (base, conn, len(mine)), "%d entries" % len(only))
                # determinism: the same input gives the same bytes
                out2 = os.path.join(tmp, "only2.har")
                run_har(cap, out2, list(extra) + ["-C", str(conn)])
                with open(out, "rb") as a, open(out2, "rb") as b:
                    result(a.read() == b.read(), "%s -C %d: the same archive twice" %
                           (base, conn))
        else:
            result(False, "-C", "no capture with HTTP on two connections")

        # an archive that cannot be written is an error (exit 2), not a silent success
        p = subprocess.run([WSTAP, "-q", "--har", os.path.join(tmp, "no", "such", "x.har"), "-r",
                            os.path.join(pdir, "upg-nginx-ok.pcap")],
                           capture_output=True, text=True, check=False)
        result(p.returncode == 2 and "--har" in p.stderr, "--har to an unwritable path: exit 2",
               "exit %d, stderr %r" % (p.returncode, p.stderr[:200]))

        # a real HAR consumer: har-validator (node) parses and validates every archive
        node = shutil.which("node") or shutil.which("nodejs")
        if not node:
            result(False, "har-validator", "node not found")
        else:
            p = subprocess.run([node, os.path.join(REPO, "tests", "har", "consume.js")] + written,
                               capture_output=True, text=True, check=False)
            lines = p.stdout.splitlines()
            oks = sum(1 for l in lines if l.startswith("ok "))
            fails = [l for l in lines if not l.startswith("ok ")]
            result(p.returncode == 0 and oks == len(written) and not fails,
                   "har-validator read all %d archives" % len(written),
                   "; ".join(fails[:3]) or p.stderr.strip()[:500])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("har: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
