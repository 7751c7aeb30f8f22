"""The portal: a Flask app on gunicorn, a Celery worker and celerybeat, from one image."""
