"""Signal receivers: how this app hears about what Django and django-oauth-toolkit did."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from oauth2_provider.models import get_application_model
from oauth2_provider.signals import app_authorized

from . import audit, services
from .grants.auditing import issuance_detail


@receiver(app_authorized)
def token_issued(sender, request, token, **kwargs):
    refreshed = request.POST.get("grant_type") == "refresh_token"
    audit.record(
        audit.Kind.TOKEN_REFRESHED if refreshed else audit.Kind.TOKEN_ISSUED,
        actor=token.user,
        client_id=token.application.client_id if token.application else "",
        resource=" ".join(token.resource),
        scope=token.scope,
        **issuance_detail(request=request, token=token),
    )
    if token.application_id is not None:
        services.client_token_used(application=token.application, user=token.user)


@receiver(user_logged_in)
def login_succeeded(sender, request, user, **kwargs):
    audit.record(audit.Kind.LOGIN_SUCCEEDED, actor=user)


@receiver(user_login_failed)
def login_failed(sender, credentials, request=None, **kwargs):
    audit.record(audit.Kind.LOGIN_FAILED, actor_name=str(credentials.get("username", ""))[:150])


@receiver(post_save, sender=get_application_model())
def client_registered(sender, instance, created, **kwargs):
    if created:
        audit.record(audit.Kind.CLIENT_REGISTERED, client_id=instance.client_id, source=instance.registration_source)
