"""The portal's routes: the sample count, new samples, a health check, the admin."""
from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("samples", views.samples),
    path("healthz", views.healthz),
    path("admin/", admin.site.urls),
]
