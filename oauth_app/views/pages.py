"""Plain pages: the home page, the health endpoint, the OpenAPI description."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..middleware import DATABASE_ERRORS, database_unavailable
from ..openapi import openapi_document
from .errors import JsonMethodNotAllowedMixin


def home(request):
    return render(
        request,
        "oauth_app/home.html",
        {"mcp_server_url": settings.MCP_SERVER_URL, "issuer": settings.OAUTH_ISSUER},
    )


@method_decorator(csrf_exempt, name="dispatch")
class HealthView(JsonMethodNotAllowedMixin, View):
    """Liveness and readiness: 200 when the database answers, 503 otherwise (for load balancers and probes)."""

    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DATABASE_ERRORS:
            return database_unavailable(request)
        return JsonResponse({"status": "ok", "database": "ok"})


@method_decorator(csrf_exempt, name="dispatch")
class OpenAPIView(JsonMethodNotAllowedMixin, View):
    def get(self, request):
        return JsonResponse(openapi_document())
