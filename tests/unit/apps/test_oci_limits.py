"""What a hostile OCI registry can make the client read (httpx.MockTransport, no network):
next-page links stay on the registry's origin, a listing has at most `max_pages` pages,
every body is read as a stream and refused past its cap (never buffered whole), compressed
bodies are refused, an index may not hold an index, and names outside the Distribution
grammar never reach a request path."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from innerspace.apps.oci import RegistryClient, RegistryError, RegistryLimits, next_page
from innerspace.apps.oci_http import RegistryNotFound as NotFoundInRegistry
from innerspace.apps.oci_http import read_capped

Handler = Callable[[httpx.Request], httpx.Response]
LIMITS = RegistryLimits(max_pages=3, max_manifest_bytes=4096, max_page_bytes=1024)


def client_of(handle: Handler, seen: list[httpx.Request] | None = None,
              limits: RegistryLimits = LIMITS) -> RegistryClient:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handle(request)

    return RegistryClient("http://reg.example:5000", limits=limits,
                          transport=httpx.MockTransport(record))


class Endless(httpx.SyncByteStream):
    """A body that never ends, counting what the client took of it."""

    def __init__(self, chunk: bytes = b"x" * 1000) -> None:
        self.chunk = chunk
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.sent += len(self.chunk)
            yield self.chunk


# -- pagination ------------------------------------------------------------------------------


def catalog_page(link: str) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"repositories": ["ns/a"]},
                              headers={"Link": f'<{link}>; rel="next"'})

    return handle


@pytest.mark.parametrize(("link", "named"), [
    ("http://evil.example:5000/v2/_catalog?last=a", "http://evil.example:5000"),
    ("https://reg.example:5000/v2/_catalog?last=a", "https://reg.example:5000"),
    ("http://reg.example:5001/v2/_catalog?last=a", "http://reg.example:5001"),
    ("//evil.example/v2/_catalog", "http://evil.example"),  # scheme-relative
])
def test_next_page_on_another_origin_is_refused(link: str, named: str) -> None:
    seen: list[httpx.Request] = []
    client = client_of(catalog_page(link), seen)
    with pytest.raises(RegistryError, match="another origin") as refused:
        client.repositories()
    assert f"({named})" in str(refused.value)
    assert [r.url.host for r in seen] == ["reg.example"], "the other origin is never asked"


def test_next_page_on_the_same_origin_is_followed() -> None:
    pages = {None: ("ns/a", '<http://reg.example:5000/v2/_catalog?last=ns/a>; rel="next"'),
             "ns/a": ("ns/b", '</v2/_catalog?last=ns/b>; rel="next"'),
             "ns/b": ("ns/c", None)}

    def handle(request: httpx.Request) -> httpx.Response:
        name, link = pages[request.url.params.get("last")]
        return httpx.Response(200, json={"repositories": [name]},
                              headers={"Link": link} if link else {})

    assert client_of(handle).repositories() == ["ns/a", "ns/b", "ns/c"]


def test_pages_are_bounded() -> None:
    seen: list[httpx.Request] = []
    client = client_of(catalog_page("/v2/_catalog?last=a"), seen)
    with pytest.raises(RegistryError, match="more than 3 pages"):
        client.repositories()
    assert len(seen) == 3
    with pytest.raises(RegistryError, match="more than 3 pages"):
        client.tags("ns/a")


def test_first_page_asks_for_a_page_size() -> None:
    seen: list[httpx.Request] = []
    client_of(lambda r: httpx.Response(200, json={"tags": ["1.0"]}), seen).tags("ns/a")
    assert seen[0].url.params["n"] == "1000"


@pytest.mark.parametrize(("header", "target"), [
    ('</v2/_catalog?last=b>; rel="next"', "/v2/_catalog?last=b"),
    ("</v2/_catalog?last=b>; rel=next", "/v2/_catalog?last=b"),
    ('</first>; rel="prev", </second>; rel="next"', "/second"),
    ('</x>; title="a"; rel="last next"', "/x"),
    ('</x>; rel="prev"', None),
    ("garbage", None),
    (None, None),
])
def test_next_page_parsing(header: str | None, target: str | None) -> None:
    assert next_page(header) == target


# -- body caps -------------------------------------------------------------------------------


def test_a_page_past_its_cap_is_refused_while_streaming() -> None:
    body = Endless()
    client = client_of(lambda r: httpx.Response(200, stream=body))
    with pytest.raises(RegistryError, match="more than the 1024 bytes"):
        client.repositories()
    assert body.sent <= 1024 + 64 * 1024, "read stopped at the cap, not at the end"


def test_an_announced_size_past_the_cap_is_refused_unread() -> None:
    body = Endless()
    client = client_of(lambda r: httpx.Response(
        200, stream=body, headers={"Content-Length": str(10**9)}))
    with pytest.raises(RegistryError, match="announces 1000000000 bytes, more than the 1024 bytes"):
        client.tags("ns/a")
    assert body.sent == 0


def test_manifests_and_config_blobs_are_capped() -> None:
    big = json.dumps({"config": {"digest": "sha256:" + "a" * 64},
                      "padding": "x" * 5000}).encode()
    client = client_of(lambda r: httpx.Response(200, content=big))
    with pytest.raises(RegistryError, match=r"the manifest ns/app:1\.0.*4096 bytes"):
        client.manifest("ns/app", "1.0")
    with pytest.raises(RegistryError, match=r"config blob.*4096 bytes"):
        client.config("ns/app", "sha256:" + "a" * 64)


def test_the_manifest_cap_is_separate_from_the_page_cap() -> None:
    config = json.dumps({"config": {"digest": "sha256:" + "a" * 64},
                         "padding": "x" * 2000}).encode()
    client = client_of(lambda r: httpx.Response(200, content=config))
    assert client.manifest("ns/app", "1.0").config_digest == "sha256:" + "a" * 64


def test_a_compressed_body_is_refused() -> None:
    client = client_of(lambda r: httpx.Response(
        200, content=b"\x1f\x8b", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(RegistryError, match="gzip-encoded"):
        client.repositories()


def test_identity_is_asked_for() -> None:
    seen: list[httpx.Request] = []
    client_of(lambda r: httpx.Response(200, json={"repositories": []}), seen).repositories()
    assert seen[0].headers["accept-encoding"] == "identity"


def test_reading_past_the_deadline_is_refused() -> None:
    response = httpx.Response(200, stream=Endless())
    with pytest.raises(RegistryError, match="takes longer than the repository timeout"):
        read_capped(response, 10**6, time.monotonic() - 1, "the catalog")


def test_non_json_answers_are_registry_errors() -> None:
    client = client_of(lambda r: httpx.Response(200, content=b"<html>"))
    with pytest.raises(RegistryError, match="not JSON"):
        client.repositories()
    deep = client_of(lambda r: httpx.Response(200, content=b"[" * 1000))
    with pytest.raises(RegistryError, match="nested too deeply"):
        deep.repositories()
    listing = client_of(lambda r: httpx.Response(200, json={"tags": "1.0"}))
    with pytest.raises(RegistryError, match="not a list"):
        listing.tags("ns/a")


# -- indexes and names -----------------------------------------------------------------------


def test_an_index_inside_an_index_is_refused() -> None:
    inner = json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": []}).encode()
    from innerspace.apps.oci import sha256_digest

    outer = json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"digest": sha256_digest(inner), "platform": {
                            "os": "linux", "architecture": "amd64"}}]}).encode()

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=inner if "sha256" in request.url.path else outer)

    with pytest.raises(RegistryError, match="an image index inside an image index"):
        client_of(handle).manifest("ns/app", "1.0")


def test_an_index_entry_must_be_a_digest() -> None:
    index = {"manifests": [{"digest": "../../../v2/_catalog",
                            "platform": {"os": "linux", "architecture": "amd64"}}]}
    client = client_of(lambda r: httpx.Response(200, json=index))
    with pytest.raises(RegistryError, match="names no digest"):
        client.manifest("ns/app", "1.0")


def test_names_outside_the_grammar_are_dropped() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/_catalog":
            return httpx.Response(200, json={"repositories": [
                "ns/ok", "ns/../../x", "ns/UPPER", 7, "ns/a b", "ns/fine.name"]})
        return httpx.Response(200, json={"tags": ["1.0", "../x", "-bad", "x" * 200, None]})

    client = client_of(handle, seen)
    assert client.repositories("ns/") == ["ns/ok", "ns/fine.name"]
    assert client.tags("ns/ok") == ["1.0"]
    with pytest.raises(NotFoundInRegistry, match="not a repository name"):
        client.tags("ns/../x")
    with pytest.raises(NotFoundInRegistry, match="neither a tag nor"):
        client.manifest("ns/ok", "../../blobs/x")
    assert [r.url.path for r in seen] == ["/v2/_catalog", "/v2/ns/ok/tags/list"]


def test_an_oversized_config_blob_refuses_the_image_not_the_service() -> None:
    from innerspace.apps.catalogue import CatalogueUnavailable
    from innerspace.apps.oci import sha256_digest
    from innerspace.apps.repository import RegistryCatalogue

    config_digest = "sha256:" + "c" * 64
    manifest = json.dumps({"config": {"digest": config_digest}}).encode()

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/_catalog":
            return httpx.Response(200, json={"repositories": ["ns/big"]})
        if path == "/v2/ns/big/tags/list":
            return httpx.Response(200, json={"tags": ["1.0"]})
        if "/manifests/" in path:
            return httpx.Response(200, content=manifest)
        return httpx.Response(200, stream=Endless())  # the config blob never ends

    catalogue = RegistryCatalogue(client_of(handle), "ns", ["reg.example:5000/ns/"])
    assert catalogue.apps() == []
    refused = catalogue.status()["refused"]
    assert isinstance(refused, dict)
    assert "more than the 4096 bytes allowed" in refused["big:1.0"]
    with pytest.raises(CatalogueUnavailable, match="4096 bytes"):
        catalogue.resolve(f"big@{sha256_digest(manifest)}")
