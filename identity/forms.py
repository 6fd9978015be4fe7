"""allauth's login form under the field names of the page it replaced (ACCOUNT_FORMS in project/settings.py)."""

from allauth.account.forms import LoginForm as AllauthLoginForm


class LoginForm(AllauthLoginForm):
    """Posts `username` and `password`, as Django's login form did: password managers, scripts and the e2e tests
    keep working, and django-axes keys lockouts on the same `username`. allauth calls that field `login`."""

    def __init__(self, *args, **kwargs):
        data = kwargs.get("data")
        if data is not None and "username" in data:
            data = data.copy()
            data["login"] = data["username"]
            kwargs["data"] = data
        super().__init__(*args, **kwargs)
