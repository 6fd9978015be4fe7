"""URLs of the authorization server. OAuth endpoints sit at the root of the issuer's origin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from oauth_app.views import account
from oauth_app.views.pages import HealthView, OpenAPIView, home

urlpatterns = [
    path("", include("oauth_app.urls")),
    path("", home, name="home"),
    path("healthz", HealthView.as_view(), name="healthz"),
    path("openapi.json", OpenAPIView.as_view(), name="openapi"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("account/", account.connected_apps, name="connected-apps"),
    path("account/apps/<int:application_id>/revoke/", account.connected_app_revoke, name="connected-app-revoke"),
    path("", include("identity.urls")),  # /accounts/login/, upstream providers, MFA (allauth); before the admin
    path("admin/", admin.site.urls),
]

handler400 = "oauth_app.views.errors.bad_request"
handler500 = "oauth_app.views.errors.server_error"
