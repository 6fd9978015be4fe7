"""Plain pages: the home page and the health endpoint."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from ..middleware import DATABASE_ERRORS, database_unavailable


def home(request):
    return render(
        request,
        "oauth_app/home.html",
        {"mcp_server_url": settings.MCP_SERVER_URL, "issuer": settings.OAUTH_ISSUER},
    )


def healthz(request):
    """Liveness and readiness: 200 when the database answers, 503 otherwise (for load balancers and probes)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DATABASE_ERRORS:
        return database_unavailable(request)
    return JsonResponse({"status": "ok", "database": "ok"})
