"""The Celery app: the worker runs `beat`, which celerybeat sends every
BEAT_SECONDS; the web page shows how many came through."""

import os

import redis
from celery import Celery

app = Celery("portal", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
app.conf.broker_connection_retry_on_startup = True
# No broadcast consumers (remote control, gossip, mingle): the worker then
# holds no fanout bindings in redis, whose unbinding could keep a warm
# shutdown going past the container's stop budget.
app.conf.worker_enable_remote_control = False
app.conf.beat_schedule = {"beat": {"task": "portal.tasks.beat", "schedule": float(os.environ.get("BEAT_SECONDS", "2"))}}


# One client, its connection kept open between beats (not a new connection,
# and a name lookup, per task), and bounded waits: a task blocked in a
# lookup would keep the worker's warm shutdown from ending.
store = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5)


@app.task
def beat():
    store.incr("beats")
