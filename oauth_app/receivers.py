"""Signal receivers: how this app hears about what Django and django-oauth-toolkit did."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from oauth2_provider.models import get_application_model
from oauth2_provider.signals import app_authorized

from . import audit, introspection, services
from .models import DisabledClient, ProtectedResource


@receiver(app_authorized)
def token_issued(sender, request, token, **kwargs):
    refreshed = request.POST.get("grant_type") == "refresh_token"
    audit.record(
        audit.Kind.TOKEN_REFRESHED if refreshed else audit.Kind.TOKEN_ISSUED,
        actor=token.user,
        client_id=token.application.client_id if token.application else "",
        resource=" ".join(token.resource),
        scope=token.scope,
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


@receiver([post_save, post_delete], sender=get_application_model())
@receiver([post_save, post_delete], sender=DisabledClient)
@receiver([post_save, post_delete], sender=ProtectedResource)
def introspection_clients_changed(sender, **kwargs):
    # A secret rotated, a client disabled or a resource moved in this process counts here at once; other
    # processes see it when their cached entry expires (OAUTH_INTROSPECTION_CLIENT_CACHE_SECONDS).
    introspection.forget_clients()
