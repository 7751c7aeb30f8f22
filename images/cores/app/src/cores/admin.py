from django.contrib import admin

from .models import Sample

admin.site.register(Sample)
