"""The portal's web app (gunicorn portal.web:app)."""

import os

import redis
from flask import Flask, jsonify

from portal import db

app = Flask(__name__)
store = redis.Redis.from_url(os.environ["REDIS_URL"])


@app.get("/healthz")
def healthz():
    return "ok\n"


@app.get("/")
def index():
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT email FROM users WHERE role = 'admin' ORDER BY id")
        admins = [row[0] for row in cur.fetchall()]
    return jsonify(
        portal=os.environ.get("PORTAL_TITLE"),
        admins=admins,
        beats=int(store.get("beats") or 0),
        uid=os.getuid(),
    )
