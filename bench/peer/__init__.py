"""The peer authorization server `make bench` measures beside ours: django-allauth's OpenID Connect provider
(`allauth.idp.oidc`), configured minimally, run as its own process under the same WSGI server and settings."""
