"""Middleware: Content-Security-Policy, request IDs and request logs, database outages answered as 503, malformed
bodies answered as JSON 400, a lean path for the machine-to-machine endpoints, and an optional Server-Timing header.
"""

import logging
import re
import threading
import time
import uuid

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import BadRequest, ImproperlyConfigured, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError, connection
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError

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


def malformed_request(description: str) -> JsonResponse:
    return JsonResponse({"error": "invalid_request", "error_description": description}, status=400)


class RejectNulCharactersMiddleware:
    """A body Django cannot parse, or a NUL character in the path, the query or a form field, is refused with a JSON
    400 before any view runs.

    - A form body must be UTF-8 (the WHATWG URL standard; Django raises BadRequest for a declared `charset=utf-16`).
      Answered here, every endpoint gives the same RFC 6749 §5.2-shaped error with DEBUG on as off: with DEBUG on,
      Django's technical error page re-reads the body to show it, fails again, and turns the 400 into a 500.
    - PostgreSQL cannot store or even compare a text value containing NUL: psycopg raises ValueError before the
      query is sent, which Django would turn into a 500 (schemathesis found it on /revoke_token/). Nothing
      legitimate in OAuth carries a NUL, so the request stops here, whatever the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        fields = [request.path, *request.GET.keys(), *(v for vs in request.GET.lists() for v in vs[1])]
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                fields += [*request.POST.keys(), *(v for vs in request.POST.lists() for v in vs[1])]
            except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB); no OAuth request comes close
                return malformed_request("malformed or oversized request")
            except (BadRequest, MultiPartParserError, SuspiciousOperation, UnicodeDecodeError):
                # Answered, not raised: no error page (DEBUG's or handler400) ever gets to read the body again.
                return malformed_request("the form body must be UTF-8 (RFC 6749 Appendix B) and well-formed")
        if any("\x00" in field for field in fields):
            return malformed_request("NUL characters are not allowed")
        return self.get_response(request)


# --- A lean path for the machine-to-machine endpoints ------------------------------------------------------------
# The token (RFC 6749 §3.2), introspection (RFC 7662) and revocation (RFC 7009) endpoints authenticate clients, never
# people: no cookie, session, CSRF token, flash message or login lockout means anything there (the views are
# CSRF-exempt already). In MIDDLEWARE, those middlewares sit between PeoplesPagesStart and PeoplesPagesEnd, and
# requests to these paths jump over them; everything else (request IDs, NUL and body checks, security headers, CORS,
# CSP, X-Frame-Options, the audit context, database-outage handling) stays on every path.
API_PATHS = frozenset({"/token/", "/introspect/", "/revoke_token/"})
_block = threading.local()  # Django builds the chain innermost first: the end marker exists before the start one


class PeoplesPagesEnd:
    """Where the people's-pages block ends in MIDDLEWARE: passes every request on, and hands the rest of the chain
    (what follows it) to the PeoplesPagesStart built next."""

    def __init__(self, get_response):
        self.get_response = get_response
        _block.rest = get_response

    def __call__(self, request):
        return self.get_response(request)


class PeoplesPagesStart:
    """Where the people's-pages block starts: requests to API_PATHS go straight to what follows PeoplesPagesEnd."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.api_response = getattr(_block, "rest", None)
        _block.rest = None
        if self.api_response is None:
            raise ImproperlyConfigured("PeoplesPagesStart needs PeoplesPagesEnd after it in MIDDLEWARE")

    def __call__(self, request):
        if request.path_info in API_PATHS:
            request.user = AnonymousUser()  # a person's session cookie sent along does not make the request theirs
            return self.api_response(request)
        return self.get_response(request)


# --- Server-Timing -----------------------------------------------------------------------------------------------
class ServerTimingMiddleware:
    """With OAUTH_SERVER_TIMING=1, every response carries `Server-Timing: db;dur=…;desc="N queries", app;dur=…`
    (W3C Server Timing): the time in the database and in all of Django, so a client-side trace of a whole flow
    (`make bench`) can say where each request's milliseconds went. Off by default: timings are nobody else's
    business, and the query wrapper costs a little on every query."""

    def __init__(self, get_response):
        from django.conf import settings
        from django.core.exceptions import MiddlewareNotUsed

        if not settings.MCP_AUTH["SERVER_TIMING"]:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        queries, database = 0, 0.0

        def timed(execute, sql, params, many, context):
            nonlocal queries, database
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries += 1
                database += time.perf_counter() - started

        started = time.perf_counter()
        with connection.execute_wrapper(timed):
            response = self.get_response(request)
        total = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = (
            f'db;dur={database * 1000:.2f};desc="{queries} queries", app;dur={total:.2f};desc="Django"'
        )
        return response
