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
