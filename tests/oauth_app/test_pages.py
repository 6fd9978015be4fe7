import pytest
from django.contrib.auth import get_user_model

from oauth_app.selectors import resource_default
from oauth_app.services import dev_token_issue

pytestmark = pytest.mark.django_db


def test_home_page_shows_the_mcp_server_and_a_login_link(client, rs_credentials):
    page = client.get("/")

    assert page.status_code == 200
    assert b"http://127.0.0.1:8001/mcp" in page.content and b"/accounts/login/" in page.content


def test_logout_ends_the_session(client, user):
    client.force_login(user)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_wrong_password_shows_an_error_not_a_session(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200 and b"did not match" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "path",
    [
        "/admin/auth/user/",
        "/admin/oauth2_provider/application/",
        "/admin/oauth2_provider/accesstoken/",
        "/admin/oauth2_provider/refreshtoken/",
        "/admin/oauth_app/protectedresource/",
    ],
)
def test_staff_manage_users_clients_tokens_and_resources_in_the_admin(client, rs_credentials, user, path):
    token = dev_token_issue(user=user, resource=resource_default(), scopes=["mcp"], lifetime=60)
    staff = get_user_model().objects.create_superuser(username="root", password="pw-for-tests")
    client.force_login(staff)

    page = client.get(path)

    assert page.status_code == 200
    assert token.encode() not in page.content
