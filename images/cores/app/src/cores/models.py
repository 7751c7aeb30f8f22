"""A lab sample: what the portal counts and creates."""
from django.db import models


class Sample(models.Model):
    name = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name
