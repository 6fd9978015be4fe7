"""The resource server's settings: one typed object, read from the environment once at start-up."""

import os
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RSSettings:
    server_url: str  # MCP_SERVER_URL: the canonical resource URI (RFC 8707 §2); the RS listens on it
    issuer: str  # OAUTH_ISSUER: the AS, as named in RFC 9728 `authorization_servers`
    as_url: str  # where the RS reaches the AS (introspection, legacy forwarding); OAUTH_ISSUER unless split
    client_id: str  # the RS's own confidential client, for introspection
    client_secret: str
    scopes: tuple[str, ...] = ("mcp",)  # required on every request, advertised as `scopes_supported`
    cache_seconds: float = 30.0  # positive introspection answers are reused this long, never past `exp`
    introspection_timeout: float = 3.0  # seconds; past it the request fails (503), it never passes
    bind_host: str = ""
    bind_port: int = 0
    name: str = ""  # MCP_SERVER_NAME: RFC 9728 `resource_name`; the MCPServer's own name when empty
    redis_url: str = ""  # REDIS_URL: share the introspection cache between workers and replicas
    cache_key_prefix: str = "mcp-auth"  # CACHE_KEY_PREFIX: keeps deployments sharing one Redis apart
    workers: int = 1  # MCP_WORKERS: uvicorn worker processes
    stateless: bool = False  # MCP_STATELESS: no MCP sessions, so any worker or replica can answer any request

    # Derived once (the guard and the verifier read them on every request), not re-parsed per request.
    @cached_property
    def mcp_path(self) -> str:
        return urlsplit(self.server_url).path or "/"

    @cached_property
    def origin(self) -> str:
        parts = urlsplit(self.server_url)
        return f"{parts.scheme}://{parts.netloc}"

    @cached_property
    def resource_metadata_url(self) -> str:
        # RFC 9728 §3.1: the well-known suffix is inserted between the host and the resource's path.
        path = self.mcp_path if self.mcp_path != "/" else ""
        return f"{self.origin}/.well-known/oauth-protected-resource{path}"

    @cached_property
    def introspection_url(self) -> str:
        return f"{self.as_url}/introspect/"

    @classmethod
    def from_env(cls, environ=os.environ) -> "RSSettings":
        def env(name: str, default: str) -> str:
            return environ.get(name) or default  # unset and empty both mean the default

        server_url = env("MCP_SERVER_URL", "http://127.0.0.1:8001/mcp")
        issuer = env("OAUTH_ISSUER", "http://127.0.0.1:8000")
        secret = env("MCP_RS_CLIENT_SECRET", "")
        if not secret:
            raise SystemExit(
                "MCP_RS_CLIENT_SECRET is not set: run `python manage.py bootstrap_rs` "
                "on the AS and export what it prints"
            )
        parts = urlsplit(server_url)
        bind = env("MCP_BIND", "")
        host, _, port = bind.rpartition(":") if bind else (parts.hostname, ":", "")
        scopes = tuple(env("MCP_REQUIRED_SCOPES", "mcp").split())
        if "offline_access" in scopes:
            raise SystemExit("MCP_REQUIRED_SCOPES must not name offline_access: it is the AS's, not a resource's")
        workers = int(env("MCP_WORKERS", "1"))
        if workers < 1:
            raise SystemExit("MCP_WORKERS must be at least 1")
        stateless = env("MCP_STATELESS", "1" if workers > 1 else "0").strip().lower() in {"1", "true", "yes", "on"}
        if workers > 1 and not stateless:
            raise SystemExit(
                "MCP_WORKERS > 1 needs MCP_STATELESS=1: an MCP session lives in the worker that opened it, "
                "and the next request of that session may reach another worker"
            )
        return cls(
            server_url=server_url,
            issuer=issuer,
            as_url=env("MCP_AS_URL", issuer).rstrip("/"),
            client_id=env("MCP_RS_CLIENT_ID", "mcp-resource-server"),
            client_secret=secret,
            scopes=scopes,
            cache_seconds=float(env("MCP_TOKEN_CACHE_SECONDS", "30")),
            introspection_timeout=float(env("MCP_INTROSPECTION_TIMEOUT", "3")),
            bind_host=host or "127.0.0.1",
            bind_port=int(port or parts.port or (443 if parts.scheme == "https" else 80)),
            name=env("MCP_SERVER_NAME", ""),
            redis_url=env("REDIS_URL", ""),
            cache_key_prefix=env("CACHE_KEY_PREFIX", "mcp-auth"),
            workers=workers,
            stateless=stateless,
        )
