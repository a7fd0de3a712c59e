#!/usr/bin/python3
"""Small HTTP/1.1 server for ns-ipfrag.sh (standard library http.server).

  GET  /obj10k.txt  -> 10240 bytes of deterministic text
  POST /upload      -> reads the body, answers with its length and SHA-256

  ns-httpd.py --host H --port P --ready FILE
"""
import argparse
import hashlib
import http.server
import socket


def object_10k():
    lines = []
    i = 0
    while sum(len(x) for x in lines) < 10240:
        lines.append("line %05d: the quick brown fox jumps over the lazy dog\n" % i)
        i += 1
    return "".join(lines).encode("ascii")[:10240]


OBJ = object_10k()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: both requests on one connection
    server_version = "wstap-ns-httpd/1"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        if self.path != "/obj10k.txt":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(OBJ)))
        self.end_headers()
        self.wfile.write(OBJ)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        out = ('{"received": %d, "sha256": "%s"}\n' % (
            len(body), hashlib.sha256(body).hexdigest())).encode("ascii")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class Server(http.server.HTTPServer):
    def __init__(self, addr, handler):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, handler)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    srv = Server((a.host, a.port), Handler)
    with open(a.ready, "w") as f:
        f.write("ready\n")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
