"""The WSGI entry point gunicorn serves (cores.wsgi:application)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cores.settings")
application = get_wsgi_application()
