"""Plain-text views: each answer comes from the database, so a response
through nginx shows that the app and PostgreSQL both work."""
from django.contrib.auth.models import User
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .models import Sample


def summary():
    admins = User.objects.filter(is_superuser=True).count()
    return f"cores: {Sample.objects.count()} samples, {admins} admins\n"


@require_GET
def index(request):
    return HttpResponse(summary(), content_type="text/plain")


# An API for lab instruments, which send no CSRF token.
@csrf_exempt
@require_POST
def samples(request):
    name = request.POST.get("name", "").strip()
    if not name:
        return HttpResponseBadRequest("name is required\n", content_type="text/plain")
    Sample.objects.create(name=name)
    return HttpResponse(summary(), status=201, content_type="text/plain")


# The readiness probe: the app answers (the database is not asked).
@require_GET
def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")
