"""The web worker (gunicorn conference.web:app)."""

import os

import redis
from flask import Flask, jsonify, request

from conference import db, settings, tasks

app = Flask(__name__)
hits = redis.Redis.from_url(os.environ["REDIS_URL"])


@app.get("/healthz")
def healthz():
    return "ok\n"


@app.get("/")
def index():
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM events")
        events = cur.fetchone()[0]
    return jsonify(
        title=settings.load().get("site_title"),
        events=events,
        hits=hits.incr("hits"),
        uid=os.getuid(),
        user=os.environ.get("USER"),
    )


@app.post("/events")
def add_event():
    """Hands the event to the Celery worker and returns what it did."""
    done = tasks.add_event.delay(request.form["title"]).get(timeout=30)
    return jsonify(done), 201
