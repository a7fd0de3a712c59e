#!/usr/bin/python3
"""tls_meta.py - write pcaps/NAME.meta.json for a TLS capture (tests/gen/gen-wss.sh,
gen-https-curl.sh).

  tls_meta.py OUT SPEC_JSON [SIDECAR]

SPEC_JSON (from the generator): generator, description, server, client, capture_tool,
ports {"tls": [...], "http": [...]}, compression, keylog {file, writer, note},
connections: [{conn, tls, version, cipher, alpn, resumed, hrr, key_updates, keys,
expect_decrypt, app, client_meta?}], versions (lib.sh tool_versions plus openssl).
Adds from SIDECAR the message/control-frame counts per connection and direction, from
the key log its labels and line count, and checks the client program's own view of the
session (client_meta: tls_version, cipher) against what the generator asked for.
"""
import collections
import json
import os
import subprocess
import sys

OPENSSL_TO_IANA = {
    "TLSv1.3": "1.3", "TLSv1.2": "1.2",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "DHE-RSA-AES128-GCM-SHA256": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "DHE-RSA-AES256-GCM-SHA384": "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
}


def main():
    out, spec = sys.argv[1], json.loads(sys.argv[2])
    sidecar = sys.argv[3] if len(sys.argv) > 3 else None
    counts = collections.Counter()
    if sidecar:
        for line in open(sidecar, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                counts[(r["conn"], r["dir"])] += 1
    for c in spec["connections"]:
        cm = c.pop("client_meta", None)
        if cm:
            v = OPENSSL_TO_IANA.get(cm.get("tls_version"), cm.get("tls_version"))
            ci = OPENSSL_TO_IANA.get(cm.get("cipher"), cm.get("cipher"))
            if (v, ci) != (c["version"], c["cipher"]):
                sys.exit("tls_meta: conn %d: the client negotiated %s %s, the generator "
                         "expected %s %s" % (c["conn"], v, ci, c["version"], c["cipher"]))
            if c.get("alpn", "-") == "-":
                c["alpn"] = cm.get("alpn")
            for k in ("request_extensions", "response_extensions"):
                if cm.get(k) is not None:
                    c[k] = cm[k]
        if sidecar and c.get("app") == "websocket":
            c["messages"] = {"c2s": counts[(c["conn"], "c2s")], "s2c": counts[(c["conn"], "s2c")]}
    kl = spec.get("keylog")
    if kl:
        path = os.path.join(os.path.dirname(out), kl["file"])
        labels = collections.Counter()
        n = 0
        for line in open(path):
            if line.strip() and not line.startswith("#"):
                n += 1
                labels[line.split()[0]] += 1
        kl["lines"] = n
        kl["labels"] = dict(sorted(labels.items()))
    v = spec.setdefault("versions", {})
    v["openssl"] = subprocess.run(["openssl", "version"], capture_output=True,
                                  text=True).stdout.split()[1]
    json.dump(spec, open(out, "w"), indent=2, ensure_ascii=False)
    open(out, "a").write("\n")


if __name__ == "__main__":
    main()
