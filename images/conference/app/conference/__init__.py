"""The conference app: a Flask web worker and a Celery worker from one image."""
