"""Plain pages: the home page."""

from django.conf import settings
from django.shortcuts import render


def home(request):
    return render(
        request,
        "oauth_app/home.html",
        {"mcp_server_url": settings.MCP_SERVER_URL, "issuer": settings.OAUTH_ISSUER},
    )
