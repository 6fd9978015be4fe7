import httpx
import pytest

from mcp_rs.cache import TTLCache
from mcp_rs.token_verifier import IntrospectionTokenVerifier, IntrospectionUnavailable
from tests.mcp_rs.conftest import SERVER_URL


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def verifier(rs_settings, as_http):
    return IntrospectionTokenVerifier(rs_settings, http=as_http)


async def test_active_token_for_this_server_is_accepted(verifier, scripted_as):
    scripted_as.active("t1")

    access = await verifier.verify_token("t1")

    assert access is not None
    assert access.scopes == ["mcp"] and access.client_id == "client-1" and access.subject == "1"
    assert access.resource == SERVER_URL and access.claims["username"] == "alice"
    request = scripted_as.calls[0]
    assert request.headers["authorization"].startswith("Basic ")  # the RS's own credentials
    assert request.url.path == "/introspect/"


@pytest.mark.parametrize(
    "claims",
    [
        {"active": False},
        {"aud": "http://127.0.0.1:9999/mcp"},
        {"aud": None},
        {"aud": []},
        {"aud": ["https://other.example/mcp"]},
        {"iss": "http://evil.example"},
        {"exp": 1},
        {"exp": None},
    ],
    ids=["inactive", "other-aud", "no-aud", "empty-aud", "other-aud-list", "other-issuer", "expired", "no-exp"],
)
async def test_fail_closed_on_anything_but_a_live_token_for_this_server(verifier, scripted_as, claims):
    scripted_as.active("t1", **claims)

    assert await verifier.verify_token("t1") is None


@pytest.mark.parametrize("aud", [SERVER_URL.upper().replace("/MCP", "/mcp"), SERVER_URL + "/", [SERVER_URL, "x"]])
async def test_audience_compares_as_canonical_uri(verifier, scripted_as, aud):
    scripted_as.active("t1", aud=aud)

    assert await verifier.verify_token("t1") is not None


async def test_positive_answers_are_cached_for_the_window(rs_settings, as_http, scripted_as):
    clock = Clock()
    verifier = IntrospectionTokenVerifier(rs_settings, http=as_http, cache=TTLCache(clock=clock), clock=clock)
    scripted_as.active("t1", exp=int(clock.now) + 600)

    await verifier.verify_token("t1")
    await verifier.verify_token("t1")
    assert len(scripted_as.calls) == 1

    clock.now += rs_settings.cache_seconds + 1  # revocation becomes visible after the window
    await verifier.verify_token("t1")
    assert len(scripted_as.calls) == 2


async def test_cache_never_outlives_the_token(rs_settings, as_http, scripted_as):
    clock = Clock()
    verifier = IntrospectionTokenVerifier(rs_settings, http=as_http, cache=TTLCache(clock=clock), clock=clock)
    scripted_as.active("t1", exp=int(clock.now) + 5)

    assert await verifier.verify_token("t1") is not None
    clock.now += 6
    scripted_as.answers.clear()

    assert await verifier.verify_token("t1") is None
    assert len(scripted_as.calls) == 2


async def test_negative_answers_are_not_cached(verifier, scripted_as):
    assert await verifier.verify_token("t1") is None
    scripted_as.active("t1")

    assert await verifier.verify_token("t1") is not None


async def test_cache_keys_are_hashes_not_tokens(verifier, scripted_as):
    scripted_as.active("secret-token-value")
    await verifier.verify_token("secret-token-value")

    assert all("secret-token-value" not in key for key in verifier.cache._entries)


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 500, 401, 404],
    ids=["down", "timeout", "500", "rs-credentials-wrong", "404"],
)
async def test_as_failures_raise_unavailable_never_pass(verifier, scripted_as, failure):
    scripted_as.active("t1")
    scripted_as.failure = failure

    with pytest.raises(IntrospectionUnavailable):
        await verifier.verify_token("t1")


async def test_non_json_answer_is_unavailable(rs_settings):
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, text="<html>")))
    verifier = IntrospectionTokenVerifier(rs_settings, http=http)

    with pytest.raises(IntrospectionUnavailable):
        await verifier.verify_token("t1")


def test_ttl_cache_evicts_oldest_beyond_capacity():
    cache = TTLCache(max_entries=2)
    for key in "abc":
        cache.set(key, key, ttl=60)

    assert cache.get("a") is None and cache.get("c") == "c" and len(cache) == 2
