#!/usr/bin/env python3
"""bench/fake-registry.py - a tiny registry front for the Bazel rows (stdlib only).

Listens on 127.0.0.1 (a free port, printed on stdout as the first line), answers `GET /v2/` with
a Bearer challenge whose realm is its own `/token`, and `/token` with a fresh token valid for an
hour. Every token exchange is counted in the file given as argv[1] (one line per exchange), and
every request of any kind in the file given as argv[2] (optional).
Stop it with SIGTERM.
"""
import json
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNT = sys.argv[1] if len(sys.argv) > 1 else None
REQUESTS = sys.argv[2] if len(sys.argv) > 2 else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        port = self.server.server_address[1]
        if REQUESTS:
            with open(REQUESTS, "a") as f:
                f.write("%s %s\n" % (self.command, self.path))
        if self.path.startswith("/token"):
            if COUNT:
                with open(COUNT, "a") as f:
                    f.write(self.path + "\n")
            self.reply(200, {"token": "bench-token-%d" % time.time_ns(), "expires_in": 3600,
                             "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        elif self.path.startswith("/v2/"):
            realm = 'Bearer realm="http://127.0.0.1:%d/token",service="bench"' % port
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                       [("WWW-Authenticate", realm)])
        else:
            self.reply(404, {})

    do_POST = do_GET


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
