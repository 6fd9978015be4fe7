"""The OAuth endpoints, in DOT's `oauth2_provider` namespace (its metadata view reverses these names).

DOT's own lists are reused where its views serve as they are; authorize, introspect and register are this
app's subclasses. Left out on purpose: the device flow, OIDC, and DOT's self-service application pages (any
logged-in user could create clients there).
"""

from django.urls import path

from .views.authorize import AuthorizeView
from .views.introspect import IntrospectView
from .views.metadata import ServerMetadataView
from .views.registration import RegisterView, RegistrationManagementView
from .views.token import RevokeTokenView, TokenView

app_name = "oauth2_provider"

urlpatterns = [
    path(".well-known/oauth-authorization-server", ServerMetadataView.as_view(), name="oauth-server-metadata"),
    path("authorize/", AuthorizeView.as_view(), name="authorize"),
    path("token/", TokenView.as_view(), name="token"),
    path("revoke_token/", RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", IntrospectView.as_view(), name="introspect"),
    path("register/", RegisterView.as_view(), name="dcr-register"),
    path(
        "register/<str:client_id>/",
        RegistrationManagementView.as_view(),
        name="dcr-register-management",
    ),
]
