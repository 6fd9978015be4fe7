"""ASGI entry point for the authorization server (`uvicorn project.asgi:application`).

The AS is served under WSGI (`manage.py serve`, README); this entry point remains for anyone who mounts it in an ASGI
server. Under ASGI Django runs every request's code in a thread of its own, so a persistent database connection is
never reused, only left open until collected: connections are per request here (Django's docs say the same).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["DATABASE_CONN_MAX_AGE"] = "0"

application = get_asgi_application()
