"""Reads for machine and enterprise clients and trusted identity providers."""

from oauth2_provider.models import get_application_model

from .models import FederatedIdentity, MachineClient, TrustedIdentityProvider


def _enabled_machine_clients():
    # Defence in depth: even a row staff added by hand opens nothing for a public, disabled or self-registered
    # (DCR, CIMD) client. Every such grant needs a confidential client staff registered.
    Application = get_application_model()
    return MachineClient.objects.select_related("application").filter(
        application__client_type=Application.CLIENT_CONFIDENTIAL,
        application__authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        application__registration_source=Application.RegistrationSource.MANUAL,
        application__disabled__isnull=True,
    )


def machine_client_get(*, application, grant_type: str) -> MachineClient | None:
    """The client's enablement for `grant_type`, or None: then the grant is refused (`unauthorized_client`)."""
    if application is None or application.pk is None:
        return None
    return _enabled_machine_clients().filter(application=application, grant_type=grant_type).first()


def machine_client_for_private_key_jwt(*, client_id: str) -> MachineClient | None:
    """The enabled client `client_id` registered for private_key_jwt, or None (a CIMD URL is never fetched here)."""
    return (
        _enabled_machine_clients()
        .filter(application__client_id=client_id, auth_method=MachineClient.AuthMethod.PRIVATE_KEY_JWT)
        .first()
    )


def identity_provider_trusted(*, issuer: str) -> TrustedIdentityProvider | None:
    return TrustedIdentityProvider.objects.filter(issuer=issuer, enabled=True).first()


def federated_identity_get(*, identity_provider, subject: str) -> FederatedIdentity | None:
    return (
        FederatedIdentity.objects.select_related("user")
        .filter(identity_provider=identity_provider, subject=subject)
        .first()
    )


def enterprise_refresh_allowed(*, user, application, resource_uris) -> bool:
    """Whether a refresh token of an ID-JAG grant may still be used: the client is still enabled for the grant, and
    the identity provider that granted it still trusted and still allowing refresh."""
    from ..models import Consent
    from . import JWT_BEARER

    if machine_client_get(application=application, grant_type=JWT_BEARER) is None:
        return False
    return Consent.objects.filter(
        user=user,
        application=application,
        resource__uri__in=resource_uris,
        identity_provider__enabled=True,
        identity_provider__allow_refresh=True,
    ).exists()


def grant_identity_provider(*, token):
    """The identity provider of the enterprise grant an access token came from, or None."""
    from ..models import Consent

    if token.user_id is None or token.application_id is None:
        return None
    consent = (
        Consent.objects.select_related("identity_provider")
        .filter(user_id=token.user_id, application_id=token.application_id, resource__uri__in=token.resource)
        .exclude(identity_provider=None)
        .first()
    )
    return consent.identity_provider if consent else None
