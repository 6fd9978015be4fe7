"""Settings for the django-mcp-auth authorization server.

Every deployment choice comes from the environment, with a documented default (README, `.env.example`).
The defaults give a working local set-up with no configuration at all: SQLite, DEBUG on, loopback URLs.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name) or default  # unset and empty both mean the default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


# --- The two URLs everything else derives from ------------------------------------------------------------
# OAUTH_ISSUER is the AS's public base URL and its RFC 8414 `issuer`, byte for byte (RFC 8414 §3.3: clients
# compare it by simple string comparison), so it is used verbatim and never rebuilt from request headers.
OAUTH_ISSUER = env_str("OAUTH_ISSUER", "http://127.0.0.1:8000")
# MCP_SERVER_URL is the RS's canonical resource URI (RFC 8707 §2, RFC 9728 `resource`).
MCP_SERVER_URL = env_str("MCP_SERVER_URL", "http://127.0.0.1:8001/mcp")

_issuer = urlsplit(OAUTH_ISSUER)
if _issuer.scheme not in {"http", "https"} or not _issuer.hostname or _issuer.path or _issuer.query:
    # Endpoints are served at the root of the issuer's origin, so an issuer with a path would advertise URLs
    # that do not exist; refuse it at start-up rather than serve metadata that clients will reject.
    raise ImproperlyConfigured(f"OAUTH_ISSUER must be an http(s) origin with no path, got {OAUTH_ISSUER!r}")

# Where the AS listens: the issuer's host and port unless OAUTH_BIND ("host:port") says otherwise, e.g. behind a
# TLS-terminating proxy whose public issuer is https://auth.example.com.
_bind = env_str("OAUTH_BIND", "")
AS_BIND_HOST, _, _bind_port = _bind.rpartition(":") if _bind else (_issuer.hostname, ":", "")
AS_BIND_PORT = int(_bind_port or _issuer.port or (443 if _issuer.scheme == "https" else 80))
# Worker processes of `manage.py serve` (and so of `make run`); its --workers overrides it.
AS_WORKERS = env_int("OAUTH_WORKERS", 1)

DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - DEBUG only, refused otherwise

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1"]
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", LOOPBACK_HOSTS if _issuer.hostname in LOOPBACK_HOSTS else [_issuer.hostname]
)

# oauthlib refuses plain-http endpoints unless told otherwise. Allow it only for a loopback issuer, which is
# what local development and the test-suite use; a public http issuer is refused by a system check instead.
if _issuer.scheme == "http" and _issuer.hostname in LOOPBACK_HOSTS:
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

INSTALLED_APPS = [
    "oauth_app",  # first: its templates and `runserver` take precedence over the ones below
    "identity",  # sign-in: the login page, upstream providers and MFA (django-allauth); its templates before allauth's
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's security-key list ("added 2 days ago")
    "oauth2_provider",
    "axes",
    "corsheaders",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.mfa",
]

MIDDLEWARE = [
    "oauth_app.middleware.RequestIdMiddleware",
    "oauth_app.middleware.ServerTimingMiddleware",  # only with OAUTH_SERVER_TIMING=1
    "oauth_app.middleware.RejectNulCharactersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "oauth_app.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oauth_app.audit.RequestContextMiddleware",
    # People's pages only: /token/, /introspect/ and /revoke_token/ jump from Start to End (oauth_app/middleware.py).
    "oauth_app.middleware.PeoplesPagesStart",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "identity.middleware.StaffSecondFactorMiddleware",  # OAUTH_MFA_REQUIRED_FOR_STAFF: enrol before anything else
    "axes.middleware.AxesMiddleware",
    "identity.middleware.UpstreamErrorMiddleware",  # an upstream provider's failure is a page, never a 500
    "oauth_app.middleware.PeoplesPagesEnd",
    "oauth_app.middleware.DatabaseUnavailableMiddleware",  # innermost: sees the views' database errors
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Persistent connections: the AS is served under WSGI (`manage.py serve`), where each worker thread keeps
        # its connection from request to request; a new PostgreSQL connection costs ~5 ms and cold catalog caches.
        # project/asgi.py sets 0 (under ASGI every request runs in a new thread and a connection is never reused).
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,  # a connection the database dropped is replaced at the next request, not a 503
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, whose per-request health check looks at the socket instead of a `SELECT 1` round trip.
    DATABASES["default"]["ENGINE"] = "project.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # Several AS threads or workers write at once (token requests, consent, audit events). In WAL mode readers
        # never wait for the writer; IMMEDIATE transactions take the write lock when they begin, so a writer waits
        # up to `timeout` seconds for its turn instead of failing at once with "database is locked" (a deferred
        # transaction that reads first cannot be given the lock later without a deadlock, so SQLite refuses it).
        init_command="PRAGMA journal_mode=WAL;",
        transaction_mode="IMMEDIATE",
        timeout=20,
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# User passwords keep Django's PBKDF2 default. Client secrets are 128 random characters generated by the AS,
# so a slow KDF adds nothing but ~0.3 s of CPU to every introspection and confidential token request; they
# use a salted SHA-256 hasher instead (oauth_app/hashers.py), listed last so no user password ever gets it.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "oauth_app.hashers.ClientSecretHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG  # serve straight from the apps in development; `collectstatic` in production

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"  # Lax, not Strict: the authorize redirect back from the login page is top-level
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _issuer.scheme == "https"
X_FRAME_OPTIONS = "DENY"  # and CSP frame-ancestors 'none' (oauth_app/middleware.py): no consent page in a frame
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
_production_tls = _issuer.scheme == "https" and not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", _production_tls)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if _production_tls else 0)
# HSTS for the whole domain, preload-ready: what `check --deploy` asks for. Turn these off (DJANGO_HSTS_*=0) if
# the AS shares its domain with sites that are not https-only.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", _production_tls)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", _production_tls)
if env_str("DJANGO_SECURE_PROXY_SSL_HEADER", ""):
    # Behind a TLS-terminating proxy that sets e.g. X-Forwarded-Proto: https (and strips it from clients).
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + env_str("DJANGO_SECURE_PROXY_SSL_HEADER", "").upper().replace("-", "_"),
        "https",
    )

# CORS for browser-based MCP clients, only where they need it: discovery, token, registration, revocation. Never
# the authorize or consent pages, never introspection (server to server), never with credentials (cookies).
CORS_URLS_REGEX = r"^/(\.well-known/.*|token/|register/.*|revoke_token/|openapi\.json)$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ["authorization", "content-type", "mcp-protocol-version"]

# --- OAuth 2.1 (django-oauth-toolkit) -------------------------------------------------------------------------
ACCESS_TOKEN_LIFETIME = env_int("OAUTH_ACCESS_TOKEN_LIFETIME", 3600)
REFRESH_TOKEN_LIFETIME = env_int("OAUTH_REFRESH_TOKEN_LIFETIME", 30 * 24 * 3600)

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"  # named so our FK migrates as swappable

OAUTH2_PROVIDER = {
    "OIDC_ISS_ENDPOINT": OAUTH_ISSUER,  # DOT's issuer for RFC 8414 metadata and RFC 9207 `iss`
    "OAUTH2_VALIDATOR_CLASS": "oauth_app.validator.MCPOAuth2Validator",
    "OAUTH2_SERVER_CLASS": "oauth_app.server.S256OnlyServer",
    "SCOPES_BACKEND_CLASS": "oauth_app.scopes.ResourceScopes",
    "CLIENT_SECRET_HASHER": "client_secret_sha256",
    # OAuth 2.1: authorization code + PKCE only, S256 only (RFC 9700 §2.1.1).
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    # RFC 9207 mix-up defence; oauth_app adds `iss` to error redirects too.
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    # Tokens at rest are SHA-256 checksums only (RFC 9700 §4.14); no grace period, which would need plaintext.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # Refresh tokens rotate on every use; replaying a rotated one revokes the whole family (RFC 9700 §4.14.2).
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_GENERATOR": "oauth_app.generators.token_generator",
    "REFRESH_TOKEN_GENERATOR": "oauth_app.generators.token_generator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_EXPIRE_SECONDS": REFRESH_TOKEN_LIFETIME,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "REQUEST_APPROVAL_PROMPT": "force",
    # RFC 8252 §7.3: native clients listen on a loopback port chosen at run time.
    "ALLOW_LOCALHOST_LOOPBACK": True,
    # Redirect URI schemes: https; http (registration allows it on loopback only, see oauth_app/registration.py);
    # and the private-use schemes of MCP clients (RFC 8252 §7.1). Add reverse-DNS schemes (com.example.app) here.
    "ALLOWED_REDIRECT_URI_SCHEMES": env_list(
        "OAUTH_REDIRECT_URI_SCHEMES", ["https", "http", "cursor", "vscode", "vscode-insiders", "claude", "windsurf"]
    ),
    # RFC 7591 registration, open: MCP clients register themselves (public clients by default, see registration.py).
    "DCR_ENABLED": True,
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    # Client ID Metadata Documents: an https client_id URL is fetched (SSRF-guarded) instead of registering.
    "CIMD_ENABLED": env_bool("OAUTH_CIMD_ENABLED", True),
    "CIMD_METADATA_FETCHER": "oauth_app.cimd.PolicyMetadataFetcher",
    # Trusted client hosts (ALLOWED_HOSTS syntax; ".example.com" covers subdomains): marked trusted on the consent
    # page, and the only ones allowed when OAUTH_CIMD_TRUSTED_ONLY=1.
    "CIMD_ALLOWED_HOSTS": env_list("OAUTH_CIMD_TRUSTED_HOSTS", []),
    "CIMD_REGISTRATION_PERMISSION_CLASSES": (
        ("oauth2_provider.cimd.HostAllowlistCIMDPermission",)
        if env_bool("OAUTH_CIMD_TRUSTED_ONLY", False)
        else ("oauth2_provider.cimd.AllowAllCIMDPermission",)
    ),
    # What the RFC 8414 document advertises; each matches what the endpoints accept.
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["none", "client_secret_basic", "client_secret_post"],
}

# --- This product's own settings ------------------------------------------------------------------------------
MCP_AUTH = {
    # Bound into every token whose request names no `resource` (2025-03-26 clients, Claude Code today).
    "DEFAULT_RESOURCE": MCP_SERVER_URL,
    "DEFAULT_RESOURCE_NAME": env_str("MCP_SERVER_NAME", "Demo MCP server"),
    # client_id of the RS's own confidential client, the one allowed to introspect for MCP_SERVER_URL.
    "RS_CLIENT_ID": env_str("MCP_RS_CLIENT_ID", "mcp-resource-server"),
    # Dev-token command: refused outside DEBUG unless --force.
    "DEV_TOKEN_LIFETIME": env_int("OAUTH_DEV_TOKEN_LIFETIME", 3600),
    # RFC 7591 registration: "open" to anyone, "token" (an initial access token issued by staff), or "closed".
    "REGISTRATION_MODE": env_str("OAUTH_REGISTRATION_MODE", "open"),
    # Registrations per client IP, and live self-registered clients in all (beyond it: 429 + Retry-After).
    "REGISTRATION_RATE": env_str("OAUTH_REGISTRATION_RATE", "20/h"),
    "REGISTRATION_MAX_CLIENTS": env_int("OAUTH_REGISTRATION_MAX_CLIENTS", 10_000),
    # The same metadata registered again from the same IP within this many seconds gets the same client back.
    "REGISTRATION_DEDUPE_SECONDS": env_int("OAUTH_REGISTRATION_DEDUPE_SECONDS", 3600),
    # `manage.py prune_registrations` deletes self-registered clients that got no token within this many hours.
    "REGISTRATION_UNUSED_HOURS": env_int("OAUTH_REGISTRATION_UNUSED_HOURS", 24),
    # Audit events older than this many days are deleted by `manage.py prune_audit`.
    "AUDIT_RETENTION_DAYS": env_int("OAUTH_AUDIT_RETENTION_DAYS", 365),
    # Token requests per client IP.
    "TOKEN_RATE": env_str("OAUTH_TOKEN_RATE", "120/m"),
    # Off: every code exchange and refresh gets a refresh token, as before offline_access existed (clients that do
    # not know the scope keep working). On: only token requests whose granted scope includes `offline_access` get
    # one (MCP 2026-07-28 "Refresh Tokens" leaves issuing them to the AS; OpenID Connect Core §11).
    "REFRESH_REQUIRES_OFFLINE_ACCESS": env_bool("OAUTH_REFRESH_REQUIRES_OFFLINE_ACCESS", False),
    # Introspection keeps a resource server's authenticated client and its resource URIs in process for this many
    # seconds, keyed by client id and a hash of the presented secret: a rotated secret or a disabled client stops
    # working within this window (0: checked against the database on every call). The token endpoint keeps each
    # protected resource as long (selectors.resource_recent): a deleted one gets no tokens after it. W002 above 60.
    "INTROSPECTION_CLIENT_CACHE_SECONDS": env_int("OAUTH_INTROSPECTION_CLIENT_CACHE_SECONDS", 5),
    # Server-Timing on every response (db and app durations): for `make bench`'s breakdown of the full flow.
    "SERVER_TIMING": env_bool("OAUTH_SERVER_TIMING", False),
    # Machine and enterprise clients (oauth_app/grants/): the clock skew allowed on the times of client assertions
    # and ID-JAGs, and how long a fetched JWKS is used at most (its Cache-Control may say less).
    "ASSERTION_LEEWAY": env_int("OAUTH_ASSERTION_LEEWAY", 30),
    "JWKS_CACHE_SECONDS": env_int("OAUTH_JWKS_CACHE_SECONDS", 600),
}

SILENCED_SYSTEM_CHECKS = [
    # DOT warns that `http` redirect URIs are allowed at all. RFC 8252 §7.3 needs them for native clients on
    # loopback, and oauth_app/registration.py allows http on loopback hosts only.
    "oauth2_provider.W008",
]

# --- Caches and throttling --------------------------------------------------------------------------------------
# Rate limits and lockouts must hold across workers: with REDIS_URL they live in Redis, otherwise in this process.
REDIS_URL = env_str("REDIS_URL", "")
CACHES = {
    "default": {
        **(
            {"BACKEND": "project.cache.RedisCache", "LOCATION": REDIS_URL}
            if REDIS_URL
            else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        ),
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "mcp-auth"),  # keeps deployments sharing one Redis apart
    }
}

# Login throttling (django-axes): 5 failures lock that username, and separately that IP, for 15 minutes.
AXES_FAILURE_LIMIT = env_int("OAUTH_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("OAUTH_LOGIN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

# --- Sign-in: local accounts, upstream identity providers and MFA (identity/, on django-allauth) ---------------
# Which ways in exist. The policy itself lives in identity/adapters.py; these are its switches (README, *Upstream
# sign-in and MFA*). Upstream providers are data (admin -> Social applications, or `manage.py add_identity_provider`).
_signup = env_str("OAUTH_SIGNUP", "open")
if _signup not in {"open", "closed"}:
    raise ImproperlyConfigured(f"OAUTH_SIGNUP must be 'open' or 'closed', got {_signup!r}")
IDENTITY = {
    # Show and accept the username/password form. Off: sign-in through an upstream provider only (admin included).
    "LOCAL_LOGIN": env_bool("OAUTH_LOCAL_LOGIN", True),
    # `open`: a first upstream sign-in creates the local user. `closed`: only users staff created, linked or invited.
    "SIGNUP": _signup,
    # Email domains allowed to sign in upstream (the provider must say the address is verified); empty: any.
    "ALLOWED_DOMAINS": [domain.lower().lstrip("@") for domain in env_list("OAUTH_UPSTREAM_ALLOWED_DOMAINS", [])],
    # Link a first upstream sign-in to the existing local account with the same (provider-verified) email. Off by
    # default: whoever controls an address at any configured provider would get that account (account takeover).
    "LINK_BY_EMAIL": env_bool("OAUTH_UPSTREAM_LINK_BY_EMAIL", False),
    # Staff signing in with a password must have a second factor (TOTP or a security key) before anything else.
    # On in production; off with DEBUG, where `make run`'s first administrator would otherwise have to enrol an
    # authenticator app before trying the flow once (staff signing in upstream rely on the provider's MFA).
    "MFA_REQUIRED_FOR_STAFF": env_bool("OAUTH_MFA_REQUIRED_FOR_STAFF", not DEBUG),
}

ACCOUNT_ADAPTER = "identity.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "identity.adapters.SocialAccountAdapter"
MFA_ADAPTER = "identity.adapters.MFAAdapter"
ACCOUNT_FORMS = {"login": "identity.forms.LoginForm"}  # keeps the form's `username` field name
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_EMAIL_VERIFICATION = "none"  # this AS sends no mail: emails come from staff or from a provider's claims
ACCOUNT_PREVENT_ENUMERATION = False  # no sign-up, no password reset: nothing to enumerate through allauth
ACCOUNT_SESSION_REMEMBER = True  # sessions last SESSION_COOKIE_AGE, as with Django's login view before
ACCOUNT_AUTHENTICATED_LOGIN_REDIRECTS = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = _issuer.scheme  # callback URLs given to providers use the issuer's scheme
ACCOUNT_RATE_LIMITS = {
    # django-axes owns password lockouts (OAUTH_LOGIN_FAILURE_LIMIT); allauth's own counter stays looser so axes
    # answers first. The same counter limits second-factor codes per user (10 wrong codes per 5 minutes).
    "login": None,
    "login_failed": "20/m/ip,10/300s/key",
}
SOCIALACCOUNT_AUTO_SIGNUP = True  # policy decides (identity/adapters.py); never a sign-up form
SOCIALACCOUNT_LOGIN_ON_GET = False  # "Sign in with ..." is a POST with a CSRF token: no login CSRF by link
SOCIALACCOUNT_STORE_TOKENS = False  # upstream access and refresh tokens are used once and never kept
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = IDENTITY["LINK_BY_EMAIL"]  # allauth matches provider-verified emails only
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True  # and records the link, so later sign-ins find (provider, sub)
SOCIALACCOUNT_PROVIDERS = {
    # PKCE towards every provider that supports it (RFC 9700 §2.1.1), on top of allauth's `state`.
    "openid_connect": {"OAUTH_PKCE_ENABLED": True},
    "google": {"SCOPE": ["openid", "profile", "email"], "OAUTH_PKCE_ENABLED": True},
    "github": {"SCOPE": ["read:user", "user:email"]},  # user:email: GitHub's verified addresses
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = False  # security keys and passkeys are a second factor, not a password-less way in
MFA_RECOVERY_CODES_SHOW_ONCE = True
MFA_TOTP_ISSUER = f"MCP authorization ({_issuer.hostname})"

# One JSON object per line (LOG_FORMAT=json, the default) or plain text (LOG_FORMAT=text).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "oauth_app.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": env_str("LOG_FORMAT", "json")}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # oauthlib and DOT log request bodies (codes, tokens, secrets) at DEBUG: never let that through.
    "loggers": {
        "oauthlib": {"level": "WARNING"},
        "oauth2_provider": {"level": "WARNING"},
        "django.server": {"level": "INFO"},
        # Our request lines replace Django's own 4xx/5xx lines (which carry no request ID).
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "allauth": {"level": "WARNING"},
    },
}
