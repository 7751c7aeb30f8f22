"""The Celery app: the worker runs `beat`, which celerybeat sends every
BEAT_SECONDS; the web page shows how many came through."""

import os

from celery import Celery

app = Celery("portal", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
app.conf.broker_connection_retry_on_startup = True
# No broadcast consumers (remote control, gossip, mingle): the worker then
# holds no fanout bindings in redis, whose unbinding could keep a warm
# shutdown going past the container's stop budget.
app.conf.worker_enable_remote_control = False
app.conf.beat_schedule = {"beat": {"task": "portal.tasks.beat", "schedule": float(os.environ.get("BEAT_SECONDS", "2"))}}


@app.task
def beat():
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).incr("beats")
