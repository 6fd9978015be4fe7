"""Errors shaped as OAuth clients expect them: JSON bodies (RFC 6749 §5.2), even for a wrong HTTP method."""

import json
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


MAX_JSON_BODY = 64 * 1024  # client metadata is a few hundred bytes; CIMD documents are capped at 16 KiB by DOT


def json_body(request) -> tuple[object, JsonResponse | None]:
    """The request's JSON body, or an RFC 7591-shaped 400 for one that is too big, too deep or not JSON."""
    if len(request.body) > MAX_JSON_BODY:
        return None, bad_metadata(f"the body exceeds {MAX_JSON_BODY} bytes", status=413)
    try:
        return json.loads(request.body), None
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return None, bad_metadata("the body must be a JSON object")


def bad_metadata(description: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": "invalid_client_metadata", "error_description": description}, status=status)


def bad_request(request, exception=None):
    """handler400: e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE; JSON like every other error here."""
    return JsonResponse({"error": "invalid_request", "error_description": "malformed or oversized request"}, status=400)
