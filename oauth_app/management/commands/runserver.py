"""`manage.py runserver` listens where OAUTH_ISSUER (or OAUTH_BIND) says, not on Django's 127.0.0.1:8000."""

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver


class Command(StaticfilesRunserver):
    default_addr = settings.AS_BIND_HOST
    default_port = str(settings.AS_BIND_PORT)
