"""Middleware: Content-Security-Policy, request IDs and request logs, and database outages answered as 503."""

import logging
import re
import time
import uuid

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

DATABASE_ERRORS = (OperationalError, InterfaceError)

# No framing anywhere (clickjacking on consent); elsewhere only our own static files. No `form-action`: browsers
# apply it to the redirect that follows the consent form, which goes to the client's redirect URI.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
ADMIN_POLICY = "frame-ancestors 'none'"  # Django's admin ships inline scripts; it still must never be framed


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and "Content-Security-Policy" not in response:
            admin = request.path.startswith("/admin/")
            response["Content-Security-Policy"] = ADMIN_POLICY if admin else PAGE_POLICY
        return response


REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
request_log = logging.getLogger("oauth_app.requests")


class RequestIdMiddleware:
    """Gives every request an ID (the caller's X-Request-ID when well-formed, e.g. from the RS, else a new one),
    returns it in X-Request-ID, and logs one structured line per request: no query string, no bodies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        supplied = request.headers.get("X-Request-ID", "")
        request.request_id = supplied if REQUEST_ID.match(supplied) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        user = getattr(request, "user", None)
        request_log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request.request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "ip": request.META.get("REMOTE_ADDR"),
                    "user": user.get_username() if user is not None and user.is_authenticated else None,
                }
            },
        )
        return response


def database_unavailable(request=None) -> JsonResponse:
    response = JsonResponse(
        {"error": "temporarily_unavailable", "error_description": "the database is unreachable; retry shortly"},
        status=503,
    )
    response["Retry-After"] = "5"
    return response


class DatabaseUnavailableMiddleware:
    """A lost database answers 503 with an RFC 6749-shaped JSON error, not a 500 and never a stack trace.
    Django reconnects by itself (CONN_HEALTH_CHECKS) once the database is back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            logging.getLogger("oauth_app.database").warning(
                "database unavailable", extra={"fields": {"error": type(exception).__name__}}
            )
            return database_unavailable(request)
        return None


class RejectNulCharactersMiddleware:
    """A NUL character in the path, the query or a form field is refused with a JSON 400.

    PostgreSQL cannot store or even compare a text value containing NUL: psycopg raises ValueError before the query
    is sent, which Django would turn into a 500 (schemathesis found it on /revoke_token/). Nothing legitimate in
    OAuth carries a NUL, so the request stops here, whatever the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        fields = [request.path, *request.GET.keys(), *(v for vs in request.GET.lists() for v in vs[1])]
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += [*request.POST.keys(), *(v for vs in request.POST.lists() for v in vs[1])]
        if any("\x00" in field for field in fields):
            return JsonResponse(
                {"error": "invalid_request", "error_description": "NUL characters are not allowed"}, status=400
            )
        return self.get_response(request)
