"""The RS's operator view: request IDs carried to the AS, a health endpoint that checks the AS."""

import httpx

from mcp_rs.app import create_app


def rs_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8001")


async def test_request_id_is_returned_and_sent_on_to_the_as(rs_settings, as_http, scripted_as):
    scripted_as.active("t1", scope="other")  # introspected, then refused (403) before the MCP app
    async with rs_client(create_app(rs_settings, http=as_http)) as rs:
        response = await rs.post("/mcp", json={}, headers={"Authorization": "Bearer t1", "X-Request-ID": "call-42"})

    assert response.headers["x-request-id"] == "call-42"
    assert scripted_as.calls[0].headers["x-request-id"] == "call-42"  # the AS logs the same ID


async def test_a_new_request_id_when_none_or_a_malformed_one_is_sent(rs_settings, as_http):
    async with rs_client(create_app(rs_settings, http=as_http)) as rs:
        made = (await rs.post("/mcp", json={})).headers["x-request-id"]
        replaced = (await rs.post("/mcp", json={}, headers={"X-Request-ID": "a b"})).headers["x-request-id"]

    assert len(made) == 32 and replaced != "a b"


async def test_health_reports_the_as(rs_settings):
    def as_answers(status):
        return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(status, json={})))

    async with rs_client(create_app(rs_settings, http=as_answers(200))) as rs:
        healthy = await rs.get("/healthz")
    async with rs_client(create_app(rs_settings, http=as_answers(503))) as rs:
        sick = await rs.get("/healthz")

    assert healthy.status_code == 200 and healthy.json()["authorization_server"] == "ok"
    assert sick.status_code == 503 and sick.json()["authorization_server"] == "unreachable"
