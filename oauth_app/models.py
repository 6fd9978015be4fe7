"""What this AS adds to django-oauth-toolkit's models: the resource servers it issues tokens for."""

from django.conf import settings
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


class RedeemedAuthorizationCode(models.Model):
    """Remembers which token family an authorization code produced, after the code itself is gone.

    RFC 6749 §4.1.2: a code used twice means it leaked; the AS denies the second use and SHOULD revoke the tokens
    the first one issued. DOT deletes the grant on redemption, so the link is kept here, keyed by a checksum.
    """

    code_checksum = models.CharField(max_length=64, unique=True)
    token_family = models.UUIDField()
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
