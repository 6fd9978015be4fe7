"""RFC 7591 dynamic client registration, governed by this AS's registration policy (oauth_app/registration.py)."""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone
from oauth2_provider.models import get_application_model
from oauth2_provider.utils import parse_bearer_token
from oauth2_provider.views import DynamicClientRegistrationManagementView, DynamicClientRegistrationView

from .. import audit, selectors, services, throttling
from ..registration import RegistrationRefused, client_metadata_validate
from ..scopes import ResourceScopes
from .errors import JsonMethodNotAllowedMixin, json_body, too_many_requests

REGISTRABLE_GRANT_TYPES = {"authorization_code", "refresh_token"}


def _error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


def validated_metadata(request):
    """(metadata with our defaults, the validated ClientMetadata, None), or (None, None, an RFC 7591 error).

    One policy for registering (RFC 7591) and for updating a registration (RFC 7592 PUT)."""
    metadata, refused = json_body(request)
    if refused is not None:
        return None, None, refused
    if not isinstance(metadata, dict):
        return None, None, _error(400, "invalid_client_metadata", "the body must be a JSON object")
    grant_types = metadata.setdefault("grant_types", ["authorization_code", "refresh_token"])
    if not isinstance(grant_types, list) or not all(
        isinstance(g, str) and g in REGISTRABLE_GRANT_TYPES for g in grant_types
    ):
        return (
            None,
            None,
            _error(
                400, "invalid_client_metadata", "only the authorization_code and refresh_token grant types register"
            ),
        )
    metadata.setdefault("token_endpoint_auth_method", "none")
    try:
        # Every scope on offer (RFC 8414 `scopes_supported`), `offline_access` included: MCP clients that support
        # refresh register with it once the metadata lists it (MCP 2026-07-28, "Refresh Tokens").
        cleaned = client_metadata_validate(metadata, offered_scopes=set(ResourceScopes().get_available_scopes()))
    except RegistrationRefused as refused:
        return None, None, _error(400, refused.error, refused.description)
    return metadata, cleaned, None


class RegisterView(JsonMethodNotAllowedMixin, DynamicClientRegistrationView):
    """DOT's registration endpoint behind this AS's policy.

    - Mode (OAUTH_REGISTRATION_MODE): `open`, `token` (an initial access token issued by staff, RFC 7591 §3), or
      `closed`. Per-IP rate limit and a cap on live self-registered clients answer 429 with Retry-After.
    - Only clients that act for a person register (authorization_code, with refresh_token); DOT would also
      register client_credentials, implicit, password and device-code clients.
    - Redirect URIs and metadata follow oauth_app/registration.py; the metadata is stored (ClientRegistration).
    - RFC 7591 §2 says an omitted `token_endpoint_auth_method` means `client_secret_basic`, and DOT follows it
      literally, handing every MCP client (which cannot keep a secret) a confidential registration. MCP clients
      are native or browser apps: an omitted method registers a public client (`none`).
    - The same metadata registered again from the same IP within REGISTRATION_DEDUPE_SECONDS gets the same
      public client back (without a new registration access token) instead of a new row: clients that
      re-register on every start no longer pile up.
    - The response carries `client_id_issued_at`, and `client_secret_expires_at` (0) with a secret (§3.2.1).
    """

    def post(self, request, *args, **kwargs):
        response = self._register(request, *args, **kwargs)
        if response.status_code >= 400 and response.status_code != 429:  # floods are counted, not written down
            reason = json.loads(response.content).get("error", "") if response.content.startswith(b"{") else ""
            audit.record(audit.Kind.REGISTRATION_REFUSED, reason=reason, status=response.status_code)
        return response

    def _register(self, request, *args, **kwargs):
        policy = settings.MCP_AUTH
        if policy["REGISTRATION_MODE"] == "closed":
            return _error(403, "access_denied", "registration is closed; ask the operator for a client")
        wait = throttling.retry_after(request, group="register", rate=policy["REGISTRATION_RATE"])
        if wait:
            return too_many_requests(wait)
        initial_token = parse_bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))
        if policy["REGISTRATION_MODE"] == "token" and not (
            initial_token and selectors.initial_access_token_usable(raw=initial_token)
        ):
            response = _error(401, "invalid_token", "a valid initial access token is required to register")
            response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        metadata, cleaned, refused = validated_metadata(request)
        if refused is not None:
            return refused

        ip = request.META.get("REMOTE_ADDR")
        fingerprint = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode()).hexdigest()
        if metadata["token_endpoint_auth_method"] == "none":
            since = timezone.now() - timedelta(seconds=policy["REGISTRATION_DEDUPE_SECONDS"])
            existing = selectors.registration_duplicate(fingerprint=fingerprint, ip=ip, since=since)
            if existing is not None:
                return JsonResponse(self._describe(existing, metadata), status=201)
        if selectors.self_registered_client_count() >= policy["REGISTRATION_MAX_CLIENTS"]:
            return too_many_requests(3600)

        request._body = json.dumps(metadata).encode()  # HttpRequest.body's cache: what DOT will parse
        with transaction.atomic():
            response = super().post(request, *args, **kwargs)
            if response.status_code != 201:
                return response
            data = json.loads(response.content)
            application = get_application_model().objects.get(client_id=data["client_id"])
            services.client_registration_record(
                application=application, metadata=cleaned, ip=ip, fingerprint=fingerprint
            )
            if policy["REGISTRATION_MODE"] == "token":
                services.initial_access_token_spend(raw=initial_token)
        data["client_id_issued_at"] = int(application.created.timestamp())
        if "client_secret" in data:
            data["client_secret_expires_at"] = 0
        response.content = json.dumps(data)
        return response

    @staticmethod
    def _describe(application, metadata: dict) -> dict:
        return {
            "client_id": application.client_id,
            "client_id_issued_at": int(application.created.timestamp()),
            "client_name": application.name,
            "redirect_uris": application.redirect_uris.split(),
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            **{
                key: metadata[key] for key in ("scope", "application_type", "client_uri", "logo_uri") if key in metadata
            },
        }


class RegistrationManagementView(JsonMethodNotAllowedMixin, DynamicClientRegistrationManagementView):
    """RFC 7592 read, update, delete: DOT's view, with JSON 405s, and updates held to the registration policy
    (DOT would accept any redirect URI its schemes allow, `http://evil.example/cb` included)."""

    def put(self, request, *args, **kwargs):
        metadata, _, refused = validated_metadata(request)
        if refused is not None:
            return refused
        request._body = json.dumps(metadata).encode()  # HttpRequest.body's cache: what DOT will parse
        return super().put(request, *args, **kwargs)
