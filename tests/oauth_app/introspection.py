"""Call the introspection endpoint with a resource server's credentials (HTTP Basic, RFC 6749 §2.3.1)."""

import base64
from urllib.parse import quote_plus


def basic_auth(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def introspect(client, credentials: tuple[str, str], token: str) -> dict:
    response = client.post("/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(*credentials))
    assert response.status_code == 200, response.content
    return response.json()
