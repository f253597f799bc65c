"""Where the OCI client's credentials may go (httpx.MockTransport, no network): Basic
credentials only to the registry's own origin, a Bearer realm only over https (or on the
registry's own origin), redirects to another origin only over https and without
credentials, and Bearer tokens cached per scope until they expire."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest

from innerspace.apps.oci import RegistryClient, RegistryError, RegistryLimits, sha256_digest
from innerspace.apps.oci_http import TokenCache, scope_of, token_lifetime

Handler = Callable[[httpx.Request], httpx.Response]
BASIC = "Basic " + base64.b64encode(b"robot:secret").decode()
CONFIG = json.dumps({"config": {"Labels": {"a": "b"}}}).encode()
CONFIG_DIGEST = sha256_digest(CONFIG)


def client_of(url: str, handle: Handler, seen: list[httpx.Request],
              limits: RegistryLimits | None = None) -> RegistryClient:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handle(request)

    return RegistryClient(url, "robot", "secret", limits=limits,
                          transport=httpx.MockTransport(record))


def credentials_seen(seen: list[httpx.Request]) -> dict[str, set[str]]:
    """Origin -> the Authorization headers sent there."""
    sent: dict[str, set[str]] = {}
    for request in seen:
        where = f"{request.url.scheme}://{request.url.netloc.decode()}"
        sent.setdefault(where, set())
        if "authorization" in request.headers:
            sent[where].add(request.headers["authorization"])
    return sent


def challenge(realm: str) -> httpx.Response:
    return httpx.Response(401, headers={"WWW-Authenticate": (
        f'Bearer realm="{realm}",service="reg",scope="repository:ns/app:pull"')})


# -- Basic credentials and redirects ---------------------------------------------------------


def test_basic_credentials_go_to_the_registry_only() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "reg.example":  # blobs live in object storage, as on S3
            return httpx.Response(307, headers={
                "Location": f"https://blobs.example/store/{request.url.path}?sig=x"})
        return httpx.Response(200, content=CONFIG)

    client = client_of("https://reg.example", handle, seen)
    assert client.config("ns/app", CONFIG_DIGEST) == {"config": {"Labels": {"a": "b"}}}
    assert credentials_seen(seen) == {"https://reg.example": {BASIC},
                                      "https://blobs.example": set()}


def test_a_redirect_to_plain_http_elsewhere_is_refused() -> None:
    seen: list[httpx.Request] = []
    client = client_of("https://reg.example", lambda r: httpx.Response(
        302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}), seen)
    with pytest.raises(RegistryError, match=r"redirects to http://169\.254\.169\.254:80.*"
                                            "not https: refused"):
        client.config("ns/app", CONFIG_DIGEST)
    assert [r.url.host for r in seen] == ["reg.example"]


def test_a_redirect_on_the_registry_keeps_the_credentials() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/_catalog":
            return httpx.Response(301, headers={"Location": "/v2/_catalog/"})
        return httpx.Response(200, json={"repositories": ["ns/a"]})

    assert client_of("http://reg.example", handle, seen).repositories() == ["ns/a"]
    assert [r.headers["authorization"] for r in seen] == [BASIC, BASIC]


def test_redirects_are_bounded() -> None:
    seen: list[httpx.Request] = []
    client = client_of("http://reg.example", lambda r: httpx.Response(
        302, headers={"Location": r.url.path + "x"}), seen,
        limits=RegistryLimits(max_redirects=2))
    with pytest.raises(RegistryError, match="more than 2 redirects"):
        client.ping()
    assert len(seen) == 3


# -- Bearer realms ---------------------------------------------------------------------------


@pytest.mark.parametrize("realm", ["http://auth.example/token",
                                   "http://reg.example:8080/token",
                                   "ftp://auth.example/token"])
def test_a_realm_neither_https_nor_the_registry_is_refused(realm: str) -> None:
    seen: list[httpx.Request] = []
    client = client_of("http://reg.example", lambda r: challenge(realm), seen)
    with pytest.raises(RegistryError, match=r"neither https nor the registry itself|no usable"):
        client.tags("ns/app")
    assert {r.url.netloc for r in seen} == {b"reg.example"}, "the realm is never asked"


def test_a_realm_on_the_registry_itself_may_be_plain_http() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"token": "T"})
        if request.headers.get("authorization") != "Bearer T":
            return challenge("http://127.0.0.1:5000/token")
        return httpx.Response(200, json={"tags": ["1.0"]})

    assert client_of("http://127.0.0.1:5000", handle, seen).tags("ns/app") == ["1.0"]
    assert credentials_seen(seen) == {"http://127.0.0.1:5000": {BASIC, "Bearer T"}}


def test_an_https_realm_elsewhere_gets_the_credentials() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"access_token": "T"})
        if request.headers.get("authorization") != "Bearer T":
            return challenge("https://auth.example/token")
        return httpx.Response(200, json={"tags": ["1.0"]})

    assert client_of("https://reg.example", handle, seen).tags("ns/app") == ["1.0"]
    assert credentials_seen(seen) == {"https://reg.example": {BASIC, "Bearer T"},
                                      "https://auth.example": {BASIC}}


def test_a_challenge_from_a_redirect_target_is_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "reg.example":
            return httpx.Response(307, headers={"Location": "https://cdn.example/blob"})
        if request.url.host == "cdn.example":
            return challenge("https://auth.example/token")
        return httpx.Response(200, json={"token": "T"})

    client = client_of("https://reg.example", handle, seen)
    with pytest.raises(RegistryError, match="refused access"):
        client.config("ns/app", CONFIG_DIGEST)
    assert "https://auth.example" not in credentials_seen(seen)


def test_the_token_answer_is_capped() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"token": "T" * 5000})
        return challenge("https://auth.example/token")

    client = client_of("https://reg.example", handle, seen,
                       limits=RegistryLimits(max_page_bytes=1024))
    with pytest.raises(RegistryError, match=r"token realm.*1024 bytes"):
        client.tags("ns/app")


# -- tokens per scope ------------------------------------------------------------------------


def scoped_registry(expires_in: float, issued: list[str]) -> Handler:
    """A registry whose token for repository R opens only R."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            scope = request.url.params["scope"]
            issued.append(scope)
            return httpx.Response(200, json={"token": f"T:{scope}", "expires_in": expires_in})
        repository = request.url.path.split("/tags/")[0][len("/v2/"):]
        scope = f"repository:{repository}:pull"
        if request.headers.get("authorization") != f"Bearer T:{scope}":
            return httpx.Response(401, headers={"WWW-Authenticate": (
                f'Bearer realm="https://auth.example/token",service="reg",scope="{scope}"')})
        return httpx.Response(200, json={"tags": [repository.replace("/", "-")]})

    return handle


def test_tokens_are_cached_per_scope() -> None:
    issued: list[str] = []
    seen: list[httpx.Request] = []
    client = client_of("https://reg.example", scoped_registry(300, issued), seen)
    for repository in ("ns/a", "ns/b", "ns/a", "ns/b", "ns/a"):
        assert client.tags(repository) == [repository.replace("/", "-")]
    assert issued == ["repository:ns/a:pull", "repository:ns/b:pull"]
    # after the first challenge of each scope, every request carried the right token at once
    assert len([r for r in seen if r.url.host == "reg.example"]) == 2 * 2 + 3


def test_an_expired_token_is_fetched_again() -> None:
    issued: list[str] = []
    client = client_of("https://reg.example", scoped_registry(1, issued), [])
    client.tags("ns/a")
    client.tags("ns/a")
    # a token living 1 s is past its safety margin at once: never reused
    assert issued == ["repository:ns/a:pull", "repository:ns/a:pull"]


def test_token_cache_honours_expiry_and_is_bounded() -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    cache.put("repository:a:pull", "A", 60)
    cache.put("repository:b:pull", "B", 300)
    assert cache.get("repository:a:pull") == "A"
    now[0] += 56  # 60 s minus the 5 s margin have passed
    assert cache.get("repository:a:pull") is None
    assert cache.get("repository:b:pull") == "B"
    for index in range(1000):
        cache.put(f"repository:r{index}:pull", "T", 300)
    assert cache.get("repository:b:pull") is None, "the oldest scope made room"
    assert cache.get("repository:r999:pull") == "T"


@pytest.mark.parametrize(("path", "scope"), [
    ("/v2/_catalog", "registry:catalog:*"),
    ("/v2/ns/app/tags/list", "repository:ns/app:pull"),
    ("/v2/ns/deep/app/manifests/1.0", "repository:ns/deep/app:pull"),
    ("/v2/ns/app/blobs/sha256:00", "repository:ns/app:pull"),
    ("/v2/", ""),
])
def test_scope_of_a_path(path: str, scope: str) -> None:
    assert scope_of(path) == scope


@pytest.mark.parametrize(("expires_in", "lifetime"), [
    (300, 300.0), (None, 60.0), ("300", 60.0), (True, 60.0), (-5, 0.0),
    (float("nan"), 0.0), (float("inf"), 86400.0), (10**12, 86400.0),
])
def test_token_lifetime(expires_in: object, lifetime: float) -> None:
    assert token_lifetime(expires_in) == lifetime
