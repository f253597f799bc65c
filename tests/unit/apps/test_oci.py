"""The OCI registry client's own logic, against a fake registry (httpx.MockTransport):
the Bearer-token flow GHCR/Harbor/GitLab use, Basic auth, pagination, index resolution and
digest checking. (The real registry is exercised in tests/integration/repository.)"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from innerspace.apps.oci import (
    DigestMismatch,
    RegistryClient,
    RegistryError,
    RegistryNotFound,
    sha256_digest,
)

CONFIG = json.dumps({"config": {"Labels": {"org.innerspace.manifest": "{}"}}}).encode()
MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"digest": sha256_digest(CONFIG), "size": len(CONFIG)}, "layers": []}).encode()
INDEX = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {"digest": "sha256:" + "1" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": sha256_digest(MANIFEST),
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()


def fake_registry(token_required: bool = False, tamper: bool = False,
                  seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        path = request.url.path
        if request.url.host == "auth.example" and path == "/token":
            return httpx.Response(200, json={"token": "T0K", "expires_in": 300})
        if token_required and request.headers.get("authorization") != "Bearer T0K":
            return httpx.Response(401, headers={"WWW-Authenticate": (
                'Bearer realm="https://auth.example/token",service="reg",'
                'scope="repository:ns/app:pull"')})
        if path == "/v2/_catalog":
            if request.url.params.get("last") == "ns/b":
                return httpx.Response(200, json={"repositories": ["other/x", "ns/c"]})
            return httpx.Response(200, json={"repositories": ["ns/a", "ns/b"]},
                                  headers={"Link": '</v2/_catalog?last=ns/b&n=2>; rel="next"'})
        if path == "/v2/ns/app/manifests/1.0":
            body = INDEX
            return httpx.Response(200, content=body, headers={
                "Content-Type": "application/vnd.oci.image.index.v1+json",
                "Docker-Content-Digest": sha256_digest(body)})
        if path == f"/v2/ns/app/manifests/{sha256_digest(MANIFEST)}":
            body = MANIFEST + (b" " if tamper else b"")
            return httpx.Response(200, content=body)
        if path == f"/v2/ns/app/blobs/{sha256_digest(CONFIG)}":
            return httpx.Response(200, content=CONFIG)
        return httpx.Response(404)

    return httpx.MockTransport(handle)


def test_catalog_pagination_and_prefix() -> None:
    client = RegistryClient("http://reg.example", transport=fake_registry())
    assert client.repositories("ns/") == ["ns/a", "ns/b", "ns/c"]


def test_index_resolves_to_the_amd64_manifest_and_labels() -> None:
    client = RegistryClient("http://reg.example", transport=fake_registry())
    ref = client.manifest("ns/app", "1.0")
    assert ref.digest == sha256_digest(MANIFEST)
    assert ref.config_digest == sha256_digest(CONFIG)
    assert client.labels("ns/app", ref) == {"org.innerspace.manifest": "{}"}


def test_tampered_content_is_refused() -> None:
    client = RegistryClient("http://reg.example", transport=fake_registry(tamper=True))
    with pytest.raises(DigestMismatch, match="digest"):
        client.manifest("ns/app", sha256_digest(MANIFEST))


def test_missing_things_are_not_found() -> None:
    client = RegistryClient("http://reg.example", transport=fake_registry())
    with pytest.raises(RegistryNotFound):
        client.manifest("ns/app", "9.9")


def test_bearer_token_flow() -> None:
    seen: list[httpx.Request] = []
    client = RegistryClient("https://ghcr.example", "robot", "secret",
                            transport=fake_registry(token_required=True, seen=seen))
    assert client.manifest("ns/app", "1.0").digest == sha256_digest(MANIFEST)
    asked = [r for r in seen if r.url.host == "auth.example"]
    assert len(asked) == 1, "one token for the one scope read"
    assert str(asked[0].url.copy_with(query=None)) == "https://auth.example/token"
    assert dict(asked[0].url.params) == {"service": "reg", "scope": "repository:ns/app:pull"}
    expected = "Basic " + base64.b64encode(b"robot:secret").decode()
    assert asked[0].headers["authorization"] == expected


def test_basic_auth_is_sent() -> None:
    seen: list[httpx.Request] = []
    client = RegistryClient("http://reg.example", "user", "pw",
                            transport=fake_registry(seen=seen))
    client.repositories()
    expected = "Basic " + base64.b64encode(b"user:pw").decode()
    assert seen[0].headers["authorization"] == expected


def test_unreachable_registry_is_a_registry_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = RegistryClient("http://reg.example", transport=httpx.MockTransport(refuse))
    with pytest.raises(RegistryError, match="does not answer"):
        client.ping()


def test_bad_url_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        RegistryClient("reg.example:5000")
