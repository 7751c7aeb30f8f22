"""The tutorial's app (docs/tutorial.md), one file for its three commands:
`app.py api` serves jobs over HTTP, `app.py worker` does them, `app.py
migrate` creates the table. /etc/app/app.conf, rendered by init, says
where the database is."""
import configparser
import http.server
import json
import os
import signal
import sys
import time

import psycopg2

RESULTS = "/var/lib/app/results"


def connect():
    conf = configparser.ConfigParser(interpolation=None)
    conf.read("/etc/app/app.conf")
    return psycopg2.connect(**conf["database"])


def migrate():
    with connect() as db, db.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS jobs"
                    " (id serial PRIMARY KEY, text text NOT NULL, done boolean NOT NULL DEFAULT false)")
    print("migrate: table jobs ready")


class Api(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            return self.reply(200, {"ok": True})
        job = self.path.removeprefix("/jobs/")
        if not job.isdigit():
            return self.reply(404, {"error": "no such path"})
        with connect() as db, db.cursor() as cur:
            cur.execute("SELECT text, done FROM jobs WHERE id = %s", (job,))
            row = cur.fetchone()
        if row is None:
            return self.reply(404, {"error": f"no job {job}"})
        result = open(f"{RESULTS}/{job}.txt").read() if row[1] else None
        self.reply(200, {"id": int(job), "text": row[0], "done": row[1], "result": result})

    def do_POST(self):
        text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with connect() as db, db.cursor() as cur:
            cur.execute("INSERT INTO jobs (text) VALUES (%s) RETURNING id", (text,))
            job = cur.fetchone()[0]
        self.reply(201, {"id": job})


def api():
    server = http.server.HTTPServer(("0.0.0.0", 8080), Api)
    print("api: listening on port 8080", flush=True)
    server.serve_forever()


def worker():
    os.makedirs(RESULTS, exist_ok=True)
    db = connect()
    print("worker: waiting for jobs", flush=True)
    while True:
        with db, db.cursor() as cur:
            cur.execute("SELECT id, text FROM jobs WHERE NOT done ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
            row = cur.fetchone()
            if row:
                with open(f"{RESULTS}/{row[0]}.txt", "w") as f:
                    f.write(row[1].upper())
                cur.execute("UPDATE jobs SET done = true WHERE id = %s", (row[0],))
                print(f"worker: job {row[0]} done", flush=True)
        if not row:
            time.sleep(1)


if __name__ == "__main__":
    # SIGTERM, what `podman stop` sends through init: a clean exit, code 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    {"api": api, "worker": worker, "migrate": migrate}[sys.argv[1]]()
