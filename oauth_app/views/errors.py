"""Errors shaped as OAuth clients expect them: JSON bodies (RFC 6749 §5.2), even for a wrong HTTP method."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse


class JsonMethodNotAllowedMixin:
    def http_method_not_allowed(self, request, *args, **kwargs):
        response = JsonResponse(
            {"error": "invalid_request", "error_description": f"{request.method} is not allowed here"}, status=405
        )
        response["Allow"] = ", ".join(self._allowed_methods())
        return response


def too_many_requests(retry_after: int) -> JsonResponse:
    """RFC 6585 §4: 429 with Retry-After; the body is shaped like every other OAuth error."""
    response = JsonResponse(
        {"error": "slow_down", "error_description": f"too many requests; retry after {retry_after} seconds"}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


def server_error(request):
    """handler500 (DEBUG off): database outages outside a view are 503s too; anything else a JSON 500, no trace."""
    exception = sys.exc_info()[1]
    if isinstance(exception, (OperationalError, InterfaceError)):
        from ..middleware import database_unavailable

        return database_unavailable(request)
    return JsonResponse({"error": "server_error", "error_description": "internal error"}, status=500)
