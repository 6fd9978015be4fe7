"""An OpenAPI 3.1 description of the AS's HTTP endpoints, served at /openapi.json (and fuzzed in the tests)."""

from django.conf import settings

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
FORM = "application/x-www-form-urlencoded"


def _errors(*statuses: int) -> dict:
    described = {
        400: "Bad request",
        401: "Client authentication failed",
        403: "Forbidden",
        404: "Not found",
        429: "Rate limited (Retry-After)",
        503: "Database unavailable (Retry-After)",
    }
    return {
        str(status): {"description": described[status], "content": {"application/json": {"schema": ERROR}}}
        for status in statuses
    }


def _form(properties: dict, required: list[str]) -> dict:
    return {
        "required": True,
        "content": {FORM: {"schema": {"type": "object", "properties": properties, "required": required}}},
    }


STRING = {"type": "string"}
CLIENT_METADATA = {
    "type": "object",
    "properties": {
        "redirect_uris": {"type": "array", "items": STRING},
        "client_name": STRING,
        "grant_types": {"type": "array", "items": STRING},
        "token_endpoint_auth_method": {"type": "string", "enum": ["none", "client_secret_basic", "client_secret_post"]},
        "application_type": STRING,
        "client_uri": STRING,
        "logo_uri": STRING,
        "software_id": STRING,
        "software_version": STRING,
        "contacts": {"type": "array", "items": STRING},
        "scope": STRING,
    },
}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "django-mcp-auth authorization server", "version": "1.0"},
        "servers": [{"url": settings.OAUTH_ISSUER}],
        "components": {
            "securitySchemes": {
                "resourceServer": {"type": "http", "scheme": "basic", "description": "An RS's client credentials"},
                "registrationToken": {"type": "http", "scheme": "bearer", "description": "RFC 7592 token"},
            }
        },
        "paths": {
            "/.well-known/oauth-authorization-server": {
                "get": {
                    "summary": "RFC 8414 metadata",
                    "responses": {
                        "200": {
                            "description": "Metadata",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_errors(503),
                    },
                }
            },
            "/authorize/": {
                "get": {
                    "summary": "Authorization endpoint (RFC 6749 §4.1.1, PKCE S256, RFC 8707 resource)",
                    "parameters": [
                        {"name": name, "in": "query", "required": False, "schema": STRING}
                        for name in (
                            "response_type",
                            "client_id",
                            "redirect_uri",
                            "state",
                            "scope",
                            "code_challenge",
                            "code_challenge_method",
                            "resource",
                        )
                    ],
                    "responses": {
                        "200": {"description": "Consent page (HTML)"},
                        "302": {"description": "To the login page, or to the client's registered redirect URI"},
                        "400": {"description": "Error page (HTML): unknown client or unregistered redirect URI"},
                    },
                }
            },
            "/token/": {
                "post": {
                    "summary": "Token endpoint (authorization_code, refresh_token; client_credentials and the "
                    "jwt-bearer ID-JAG grant for clients staff enabled)",
                    "requestBody": _form(
                        {
                            "grant_type": {
                                "type": "string",
                                "enum": [
                                    "authorization_code",
                                    "refresh_token",
                                    "client_credentials",
                                    "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                ],
                            },
                            "code": STRING,
                            "redirect_uri": STRING,
                            "client_id": STRING,
                            "code_verifier": STRING,
                            "refresh_token": STRING,
                            "resource": STRING,
                            "scope": STRING,
                            "assertion": STRING,
                            "client_assertion_type": STRING,
                            "client_assertion": STRING,
                        },
                        ["grant_type"],
                    ),
                    "responses": {
                        "200": {
                            "description": "Tokens",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_errors(400, 401, 429, 503),
                    },
                }
            },
            "/introspect/": {
                "post": {
                    "summary": "RFC 7662 introspection, for resource servers",
                    "security": [{"resourceServer": []}],
                    "requestBody": _form({"token": STRING, "token_type_hint": STRING}, ["token"]),
                    "responses": {
                        "200": {
                            "description": "Token state",
                            "content": {"application/json": {"schema": {"type": "object", "required": ["active"]}}},
                        },
                        **_errors(400, 401, 503),
                    },
                }
            },
            "/revoke_token/": {
                "post": {
                    "summary": "RFC 7009 revocation",
                    "requestBody": _form({"token": STRING, "token_type_hint": STRING, "client_id": STRING}, ["token"]),
                    "responses": {"200": {"description": "Revoked (or already invalid)"}, **_errors(400, 401, 503)},
                }
            },
            "/register/": {
                "post": {
                    "summary": "RFC 7591 dynamic client registration",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": CLIENT_METADATA}}},
                    "responses": {
                        "201": {
                            "description": "Registered",
                            "content": {"application/json": {"schema": {"type": "object", "required": ["client_id"]}}},
                        },
                        **_errors(400, 401, 403, 429, 503),
                    },
                }
            },
            "/register/{client_id}/": {
                "parameters": [{"name": "client_id", "in": "path", "required": True, "schema": STRING}],
                "get": {
                    "summary": "RFC 7592 read",
                    "security": [{"registrationToken": []}],
                    "responses": {"200": {"description": "Metadata"}, **_errors(401, 404, 503)},
                },
                "put": {
                    "summary": "RFC 7592 update",
                    "security": [{"registrationToken": []}],
                    "requestBody": {"content": {"application/json": {"schema": CLIENT_METADATA}}},
                    "responses": {"200": {"description": "Updated"}, **_errors(400, 401, 404, 503)},
                },
                "delete": {
                    "summary": "RFC 7592 delete",
                    "security": [{"registrationToken": []}],
                    "responses": {"204": {"description": "Deleted"}, **_errors(401, 404, 503)},
                },
            },
            "/healthz": {
                "get": {
                    "summary": "Health: the database answers",
                    "responses": {"200": {"description": "Healthy"}, **_errors(503)},
                }
            },
        },
    }
