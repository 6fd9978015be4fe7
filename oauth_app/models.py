"""What this AS adds to django-oauth-toolkit's models: the resource servers it issues tokens for."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .resource_uri import canonical_resource_uri


class ProtectedResource(models.Model):
    """A resource server (an MCP server) this AS issues tokens for (RFC 8707 §2, RFC 9728 `resource`).

    Tokens are only ever bound to a registered resource; its `scopes` are the ones a client may ask for, and only
    its `introspection_client` may introspect tokens bound to it (RFC 7662 §2.1 leaves who may ask to the AS).
    """

    uri = models.CharField(
        max_length=255, unique=True, help_text="Canonical URI of the MCP server, e.g. https://mcp.example.com/mcp"
    )
    name = models.CharField(max_length=255, help_text="Shown to people on the consent page")
    scopes = models.JSONField(
        default=dict, help_text='Scopes this server accepts, each with the words shown on consent: {"mcp": "..."}'
    )
    introspection_client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="introspectable_resources",
        help_text="The resource server's own confidential client, the only one that may introspect its tokens",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uri"]

    def __str__(self):
        return f"{self.name} ({self.uri})"

    def save(self, *args, **kwargs):
        self.uri = canonical_resource_uri(self.uri)
        super().save(*args, **kwargs)

    def clean(self):
        from .scopes import resource_scopes_problem  # scopes.py reads these models: import when used

        try:
            self.uri = canonical_resource_uri(self.uri)
        except ValueError as exc:
            raise ValidationError({"uri": str(exc)}) from exc
        problem = resource_scopes_problem(self.scopes)
        if problem:
            raise ValidationError({"scopes": problem})


class RedeemedAuthorizationCode(models.Model):
    """Remembers which tokens an authorization code produced, after the code itself is gone.

    RFC 6749 §4.1.2: a code used twice means it leaked; the AS denies the second use and SHOULD revoke the tokens
    the first one issued. DOT deletes the grant on redemption, so the link is kept here, keyed by a checksum: the
    refresh-token family when a refresh token was issued, and the access token's checksum always (with
    OAUTH_REFRESH_REQUIRES_OFFLINE_ACCESS a code may give an access token alone, outside any family).
    """

    code_checksum = models.CharField(max_length=64, unique=True)
    token_family = models.UUIDField(null=True, blank=True)
    access_token_checksum = models.CharField(max_length=64, blank=True)
    redeemed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"code redeemed at {self.redeemed_at:%Y-%m-%d %H:%M:%S} (family {self.token_family})"


class ClientRegistration(models.Model):
    """What a client said about itself when it registered (RFC 7591 §2), and what the AS saw of it."""

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="registration"
    )
    application_type = models.CharField(max_length=16, default="native")
    client_uri = models.URLField(max_length=500, blank=True)
    logo_uri = models.URLField(max_length=500, blank=True)
    software_id = models.CharField(max_length=500, blank=True)
    software_version = models.CharField(max_length=500, blank=True)
    contacts = models.JSONField(default=list, blank=True)
    scope = models.CharField(max_length=500, blank=True)
    registered_from = models.GenericIPAddressField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the registered metadata")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    first_token_at = models.DateTimeField(null=True, blank=True, help_text="When the client first got a token")

    def __str__(self):
        return f"registration of {self.application_id} from {self.registered_from}"


class InitialAccessToken(models.Model):
    """RFC 7591 §3: in `token` registration mode, only a bearer of one of these (issued by staff) may register."""

    label = models.CharField(max_length=200, help_text="Who or what it is for")
    token_checksum = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited")
    uses = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.label


class Consent(models.Model):
    """A person's approvals of a client for a resource: what the connected-apps page lists and can revoke.

    `scopes` is everything the person approved for this client and resource, the union of their approvals (the
    client may hold tokens from each of them until they are revoked). `remembered_scopes` is the part approved
    with "Remember this decision": a request within it skips the consent page; anything wider asks again.
    An enterprise grant (ID-JAG) is recorded here too, with the identity provider that made it and nothing
    remembered, so the person sees it and can revoke it like any other.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    resource = models.ForeignKey(ProtectedResource, on_delete=models.CASCADE, related_name="consents")
    scopes = models.TextField(help_text="Every scope approved for this client and resource; space-separated, sorted")
    remembered_scopes = models.TextField(
        blank=True, help_text="The scopes approved with 'Remember this decision' (skip the page); space-separated"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    last_used = models.DateTimeField(null=True, blank=True, help_text="Last token issued or refreshed")
    identity_provider = models.ForeignKey(
        "oauth_app.TrustedIdentityProvider",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consents",
        help_text="Granted by this enterprise identity provider (an ID-JAG), not on the consent page",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "application", "resource"], name="one_consent_per_client_resource")
        ]

    def __str__(self):
        return f"{self.user} → {self.application} on {self.resource.uri}"

    @property
    def remembered(self) -> bool:
        return bool(self.remembered_scopes)

    def covers(self, scopes) -> bool:
        """Whether remembered approvals cover every one of `scopes`: never a scope the person did not approve with
        "Remember this decision" ticked."""
        return set(scopes) <= set(self.remembered_scopes.split())


class DisabledClient(models.Model):
    """A client staff switched off: it is treated as unknown at the authorize and token endpoints."""

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="disabled"
    )
    disabled_at = models.DateTimeField(auto_now_add=True)
    disabled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    def __str__(self):
        return f"{self.application} (disabled)"


class AuditEvent(models.Model):
    """Append-only record of security events. Rows are never updated; `prune_audit` deletes old ones."""

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login.succeeded"
        LOGIN_FAILED = "login.failed"
        CONSENT_GRANTED = "consent.granted"
        CONSENT_DENIED = "consent.denied"
        TOKEN_ISSUED = "token.issued"
        TOKEN_REFRESHED = "token.refreshed"
        TOKEN_REVOKED = "token.revoked"
        REPLAY_DETECTED = "token.replay_detected"
        CLIENT_REGISTERED = "client.registered"
        CLIENT_DISABLED = "client.disabled"
        REGISTRATION_REFUSED = "registration.refused"
        INTROSPECTION_REFUSED = "introspection.refused"
        RESOURCE_REGISTERED = "resource.registered"
        # Sign-in through an upstream identity provider (identity/): detail names the provider's id.
        UPSTREAM_SUCCEEDED = "upstream.succeeded"
        UPSTREAM_REFUSED = "upstream.refused"  # by the operator's policy (domain, sign-up closed, email in use)
        UPSTREAM_FAILED = "upstream.failed"  # provider error or unreachable, state mismatch, cancelled
        UPSTREAM_LINKED = "upstream.linked"
        UPSTREAM_UNLINKED = "upstream.unlinked"
        # Second factors (allauth.mfa): detail names the type (totp, webauthn, recovery_codes).
        MFA_SUCCEEDED = "mfa.succeeded", "MFA succeeded"
        MFA_FAILED = "mfa.failed", "MFA failed"
        MFA_ADDED = "mfa.added", "MFA added"
        MFA_REMOVED = "mfa.removed", "MFA removed"
        MFA_RESET = "mfa.reset", "MFA reset"
        TOKEN_REFUSED = "token.refused", "Token refused (client credentials, jwt-bearer)"
        GRANT_ENABLED = "client.grant_enabled", "Grant enabled for a machine or enterprise client"
        IDP_TRUSTED = "idp.trusted", "Identity provider trusted"
        IDENTITY_LINKED = "identity.linked", "Federated identity linked"

    kind = models.CharField(max_length=40, choices=Kind.choices, db_index=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True, help_text="Username at the time (kept if deleted)")
    client_id = models.CharField(max_length=255, blank=True, db_index=True)
    resource = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.kind} {self.actor_name or '-'} {self.client_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are append-only; use `manage.py prune_audit` for retention")


# Machine and enterprise clients live with their grants (oauth_app/grants/); imported here so they are this app's.
from .grants.models import FederatedIdentity, MachineClient, TrustedIdentityProvider, UsedAssertion  # noqa: E402, F401
