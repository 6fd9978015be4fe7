"""The audit log: `record()` appends a security event, with who, which client and resource, and from where.

The request being served is kept in a context variable (RequestContextMiddleware), so events raised deep in
django-oauth-toolkit's code paths or in signal receivers still carry the IP address and user agent.
"""

import logging
from contextvars import ContextVar

from . import prepared, selectors
from .models import AuditEvent

Kind = AuditEvent.Kind
_current_request: ContextVar = ContextVar("current_request", default=None)
log = logging.getLogger("oauth_app.audit")


def storable(text: str) -> str:
    """`text` with any NUL shown as U+FFFD: PostgreSQL stores no NUL in text or jsonb, and what a client claims (a
    client_id in HTTP Basic, a header) reaches the log unchecked; the event is kept, not lost to a DataError."""
    return text.replace("\x00", "\ufffd")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def record(kind: str, *, actor=None, actor_name: str = "", client_id: str = "", resource: str = "", **detail) -> None:
    """Append one event. Never pass secrets, tokens or codes in `detail`.

    An event about a resource keeps the server's name at that time (`resource_name` in the detail): the log says
    which MCP server it was in words, and keeps saying it after the server is renamed or deleted.
    """
    request = _current_request.get()
    if resource and "resource_name" not in detail:
        names = selectors.resource_names(uris=resource.split())
        if names:
            detail["resource_name"] = ", ".join(names)
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    event = AuditEvent(
        kind=kind,
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        client_id=storable(client_id)[:255],
        resource=storable(resource)[:255],
        ip=request.META.get("REMOTE_ADDR") if request is not None else None,
        user_agent=storable(request.META.get("HTTP_USER_AGENT", ""))[:300] if request is not None else "",
        detail={key: storable(value) if isinstance(value, str) else value for key, value in detail.items()},
    )
    prepared.insert(event)
    fields = {"event": kind, "actor": event.actor_name, "client_id": event.client_id, "resource": event.resource}
    fields["request_id"] = getattr(request, "request_id", None)
    log.info("security event", extra={"fields": {**fields, "ip": event.ip, **detail}})
