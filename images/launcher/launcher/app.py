#!/usr/bin/python3
"""The launcher's web app: a page made from /run/launcher/launcher.conf
(rendered at start from the data volume's launcher.conf) and /healthz.
Python's standard library only; nginx is in front of it."""
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONF = "/run/launcher/launcher.conf"


def settings(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = "ok\n"
        elif self.path == "/":
            body = f"{self.server.conf.get('title', 'launcher')}\n{self.server.conf.get('message', '')}\n"
        else:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        # The probes of init.toml and nginx would fill the log.
        if self.path != "/healthz":
            super().log_message(fmt, *args)


def stop(signum, frame):
    # A stop is a clean end: exit 0 (mooring sends SIGTERM, docs/reference.md).
    sys.exit(0)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.conf = settings(CONF)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"app: serving {server.conf.get('title')!r} on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
