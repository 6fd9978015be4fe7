"""A person's own pages: the applications they connected, and revoking them."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_application_model

from identity.selectors import last_sign_in

from .. import selectors, services


@login_required
def connected_apps(request):
    consents = selectors.connected_apps(user=request.user)
    context = {
        "consents": consents,
        "enterprise": any(consent.identity_provider_id for consent in consents),  # granted by an IdP (ID-JAG)
        "last_sign_in": last_sign_in(user=request.user),  # how: password (+ second factor) or which provider
    }
    return render(request, "oauth_app/connected_apps.html", context)


@login_required
@require_POST
def connected_app_revoke(request, application_id: int):
    application = get_object_or_404(get_application_model(), pk=application_id, consents__user=request.user)
    services.client_authorization_revoke(user=request.user, application=application)
    return redirect("connected-apps")
