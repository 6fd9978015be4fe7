"""Per-tool scopes: `@requires_scopes(...)` marks a tool, resource or prompt; `ScopePolicy` is what the guard checks.

MCP 2026-07-28, *Scope challenge handling* (SEP-2350): a call whose token lacks a scope the tool needs is answered
HTTP 403 `insufficient_scope` naming every scope the call needs, before the tool runs, so that the client can
re-authorize with the union of its scopes and retry (step-up). The check happens in `BearerGuard`, in front of the
MCP transport, because the transport may already have sent its 200 (an SSE stream) by the time a tool runs.
"""

import functools
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic_core
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__mcp_required_scopes__"
# Listed tools and resources carry the scopes they need in `_meta` (prefix: a name of ours, as MCP asks).
META_KEY = "django-mcp-auth/required_scopes"
# SEP-2207: refresh tokens are the AS's business, never a resource requirement, so never a per-tool scope.
NEVER_A_RESOURCE_SCOPE = frozenset({"offline_access"})
NONE: frozenset[str] = frozenset()


class InsufficientScope(ToolError, ResourceError):
    """Raised by a marked function called without its scopes (reachable only when BearerGuard is not in front).
    An anticipated failure for the SDK: the client reads the message, the server logs no traceback."""


def requires_scopes(*scopes: str) -> Callable[[F], F]:
    """Mark a tool, resource or prompt function as needing `scopes` on top of MCP_REQUIRED_SCOPES.

    Use it below `@server.tool()` (or `.resource(...)`, `.prompt()`)::

        @server.tool()
        @requires_scopes("files:write")
        async def delete_file(path: str) -> str: ...

    `protect(server)` reads the marks: calls by a token without these scopes get HTTP 403 `insufficient_scope`
    before the function runs. The function also checks the caller's token itself when called, so a marked tool
    served without the guard still fails closed.
    """
    needed = frozenset(scopes)
    if not needed or not all(isinstance(scope, str) and scope and " " not in scope for scope in needed):
        raise ValueError("requires_scopes() takes one or more scope names without spaces")
    if needed & NEVER_A_RESOURCE_SCOPE:
        raise ValueError("offline_access is about refresh tokens, not a scope a tool can require (SEP-2207)")

    def decorate(fn: F) -> F:
        already = getattr(fn, ATTRIBUTE, frozenset())

        def check() -> None:
            token = get_access_token()
            if token is None or not needed <= set(token.scopes):
                raise InsufficientScope(f"this needs the scopes: {' '.join(sorted(needed))}")

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded(*args, **kwargs):
                check()
                return await fn(*args, **kwargs)

        else:

            @functools.wraps(fn)
            def guarded(*args, **kwargs):
                check()
                return fn(*args, **kwargs)

        setattr(guarded, ATTRIBUTE, already | needed)
        return guarded  # type: ignore[return-value]

    return decorate


def scopes_of(fn: Callable[..., Any]) -> frozenset[str]:
    return getattr(fn, ATTRIBUTE, frozenset())


@dataclass
class ScopePolicy:
    """Which scopes each marked tool, prompt and resource needs, read once from a server by `protect()`."""

    required: tuple[str, ...]  # MCP_REQUIRED_SCOPES, in their configured order
    tools: dict[str, frozenset[str]] = field(default_factory=dict)
    prompts: dict[str, frozenset[str]] = field(default_factory=dict)
    resources: dict[str, frozenset[str]] = field(default_factory=dict)
    templates: list[tuple[Any, frozenset[str]]] = field(default_factory=list)  # (ResourceTemplate, scopes)
    unmarked_resources: set[str] = field(default_factory=set)  # concrete URIs match before any template
    markers: tuple[bytes, ...] = ()

    @classmethod
    def from_server(cls, server: MCPServer, *, required: Iterable[str]) -> "ScopePolicy":
        # The SDK keeps registered functions on its managers; they are read here once, at start-up.
        policy = cls(required=tuple(required))
        for tool in server._tool_manager.list_tools():
            if scopes := scopes_of(tool.fn):
                policy.tools[tool.name] = scopes
                tool.meta = {**(tool.meta or {}), META_KEY: sorted(scopes)}
        for prompt in server._prompt_manager.list_prompts():
            if scopes := scopes_of(prompt.fn):
                policy.prompts[prompt.name] = scopes
        for resource in server._resource_manager.list_resources():
            scopes = scopes_of(getattr(resource, "fn", None))
            if scopes:
                policy.resources[str(resource.uri)] = scopes
                resource.meta = {**(resource.meta or {}), META_KEY: sorted(scopes)}
            else:
                policy.unmarked_resources.add(str(resource.uri))
        for template in server._resource_manager.list_templates():
            scopes = scopes_of(template.fn)
            policy.templates.append((template, scopes))
            if scopes:
                template.meta = {**(template.meta or {}), META_KEY: sorted(scopes)}
        # A body without a backslash or NUL spells every JSON string literally (no escapes, UTF-8), so a call of
        # a marked item must contain one of these bytes; any other body cannot need a per-item scope.
        names = [*policy.tools, *policy.prompts]
        policy.markers = tuple(json.dumps(name, ensure_ascii=False).encode() for name in names)
        if policy.resources or any(scopes for _, scopes in policy.templates):
            policy.markers += (b"resources/", b"completion/complete")
        return policy

    @property
    def item_scopes(self) -> frozenset[str]:
        """Every scope some marked item needs (not counting the required ones)."""
        every = [*self.tools.values(), *self.prompts.values(), *self.resources.values()]
        every += [scopes for _, scopes in self.templates]
        return frozenset().union(*every) - frozenset(self.required)

    @property
    def all_scopes(self) -> list[str]:
        """RFC 9728 `scopes_supported`: the required scopes first, then every per-item scope."""
        return [*self.required, *sorted(self.item_scopes)]

    def needed_for(self, body: bytes) -> frozenset[str]:
        """The per-item scopes the JSON-RPC message(s) in `body` need; empty when none is a marked call.

        The body is parsed only when it might name a marked item (see `markers`), with the same parsers the
        SDK's two transports use (json, then pydantic_core), so it is never read differently from how the SDK
        will read it; a body neither can parse is refused by the SDK itself.
        """
        if not self.markers:
            return NONE
        if b"\\" not in body and b"\x00" not in body and not any(marker in body for marker in self.markers):
            return frozenset()
        try:
            messages = json.loads(body)
        except (ValueError, RecursionError):
            try:
                messages = pydantic_core.from_json(body)
            except ValueError:
                return frozenset()
        needed: set[str] = set()
        for message in messages if isinstance(messages, list) else [messages]:
            needed |= self._needed_for_message(message)
        return frozenset(needed)

    def _needed_for_message(self, message: Any) -> frozenset[str]:
        if not isinstance(message, dict) or not isinstance(message.get("params"), dict):
            return NONE
        method, params = message.get("method"), message["params"]
        if method in ("tools/call", "prompts/get"):
            return self._named(self.tools if method == "tools/call" else self.prompts, params.get("name"))
        if method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
            return self._resource_scopes(params["uri"]) if isinstance(params.get("uri"), str) else NONE
        if method == "completion/complete" and isinstance(params.get("ref"), dict):
            # Completing a marked prompt's or resource template's arguments can reveal what only it would show.
            ref = params["ref"]
            if ref.get("type") == "ref/prompt":
                return self._named(self.prompts, ref.get("name"))
            if ref.get("type") == "ref/resource" and isinstance(ref.get("uri"), str):
                return self._template_scopes(ref["uri"])
        return NONE

    @staticmethod
    def _named(table: dict[str, frozenset[str]], name: Any) -> frozenset[str]:
        return table.get(name, NONE) if isinstance(name, str) else NONE

    def _template_scopes(self, uri_template: str) -> frozenset[str]:
        return next((scopes for template, scopes in self.templates if template.uri_template == uri_template), NONE)

    def _resource_scopes(self, uri: str) -> frozenset[str]:
        # The SDK's own order: a concrete resource first, then the first template that matches.
        if uri in self.resources:
            return self.resources[uri]
        if uri in self.unmarked_resources:
            return frozenset()
        for template, scopes in self.templates:
            try:
                matched = template.matches(uri)
            except Exception:  # the SDK refuses such a URI (ResourceSecurityError): no read happens either
                return scopes
            if matched is not None:
                return scopes
        return frozenset()
