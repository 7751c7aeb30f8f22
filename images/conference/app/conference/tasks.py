"""The Celery worker's tasks. Redis is the broker and keeps the results."""

import os

from celery import Celery

from conference import db

app = Celery("conference", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
app.conf.broker_connection_retry_on_startup = True
# No broadcast consumers (remote control, gossip, mingle): the worker then
# holds no fanout bindings in redis, whose unbinding could keep a warm
# shutdown going past the container's stop budget.
app.conf.worker_enable_remote_control = False


@app.task
def add_event(title):
    """Stores an event and archives it as a file on the shared archive volume."""
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO events (title) VALUES (%s) RETURNING id", (title,))
        event_id = cur.fetchone()[0]
    path = os.path.join(os.environ["ARCHIVE_DIR"], f"event-{event_id}.txt")
    with open(path, "w") as f:
        f.write(title + "\n")
    return {"id": event_id, "file": path, "worker_uid": os.getuid()}
