"""A client of the OCI Distribution API (the Docker registry HTTP API v2): catalog, tags,
manifests and config blobs, with anonymous, Basic or Bearer-token access, so that any OCI
registry works (distribution, Harbor, GitLab, GHCR).

Every manifest fetched is checked against its digest: the registry is trusted to serve
content, never to vouch for it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[2:]
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(RuntimeError):
    """The registry cannot be reached or answered with an error (a 5xx, a refusal)."""


class RegistryNotFound(LookupError):
    """The registry has no such repository, tag or digest."""


class DigestMismatch(ValueError):
    """Content does not hash to the digest it was fetched by or announced with."""


@dataclass(frozen=True)
class ManifestRef:
    """A resolved image manifest: its digest and the digest of its config blob."""

    repository: str
    digest: str
    config_digest: str
    media_type: str


def is_digest(text: str) -> bool:
    return bool(_DIGEST.match(text))


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """Talks to one registry. `url` is its base URL, e.g. http://127.0.0.1:5000."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"registry URL {url!r} must be http(s)://host[:port]")
        self.host = parts.netloc  # how image references name this registry
        self._auth: tuple[str, str] | None = (username, password or "") if username else None
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport,
                                  follow_redirects=True)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    # -- HTTP with the registry's auth dance ------------------------------------------

    def _get(self, path: str, headers: dict[str, str] | None = None,
             params: dict[str, str] | None = None) -> httpx.Response:
        headers = dict(headers or {})
        for attempt in range(2):
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            try:
                response = self._http.get(path, headers=headers, params=params,
                                          auth=self._auth if not self._token else None)
            except httpx.HTTPError as exc:
                raise RegistryError(f"the registry {self.url} does not answer: {exc}") from exc
            if response.status_code == 401 and attempt == 0:
                self._token = self._fetch_token(response.headers.get("www-authenticate", ""))
                if self._token:
                    continue
            break
        if response.status_code == 404:
            raise RegistryNotFound(f"{self.url}{path}: not found")
        if response.status_code in (401, 403):
            raise RegistryError(f"the registry {self.url} refused access to {path} "
                                f"({response.status_code}); check the credentials")
        if response.status_code >= 400:
            raise RegistryError(f"the registry {self.url} answered {response.status_code} "
                                f"for {path}")
        return response

    def _fetch_token(self, challenge: str) -> str | None:
        """The Docker token flow: a Bearer challenge names a realm that issues tokens."""
        scheme, _, rest = challenge.partition(" ")
        if scheme.lower() != "bearer":
            return None
        fields = dict(_CHALLENGE.findall(rest))
        realm = fields.pop("realm", None)
        if not realm:
            return None
        try:
            answer = httpx.get(realm, params=fields, auth=self._auth, timeout=10)
            answer.raise_for_status()
            data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RegistryError(f"could not get a registry token from {realm}: {exc}") from exc
        token = data.get("token") or data.get("access_token")
        return str(token) if token else None

    # -- the API ---------------------------------------------------------------------

    def ping(self) -> None:
        self._get("/v2/")

    def repositories(self, prefix: str = "") -> list[str]:
        """Repository names (optionally only those under `prefix`), following pagination."""
        names: list[str] = []
        path: str | None = "/v2/_catalog"
        params: dict[str, str] | None = {"n": "1000"}
        while path:
            response = self._get(path, params=params)
            names += [n for n in response.json().get("repositories") or []
                      if n.startswith(prefix)]
            path, params = _next_page(response.headers.get("link")), None
        return names

    def tags(self, repository: str) -> list[str]:
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list"
        params: dict[str, str] | None = {"n": "1000"}
        while path:
            response = self._get(path, params=params)
            tags += response.json().get("tags") or []
            path, params = _next_page(response.headers.get("link")), None
        return tags

    def manifest(self, repository: str, reference: str,
                 platform: tuple[str, str] = ("linux", "amd64")) -> ManifestRef:
        """The image manifest for a tag or digest; an index resolves to `platform`'s."""
        response = self._get(f"/v2/{repository}/manifests/{reference}",
                             headers={"Accept": ", ".join(MANIFEST_TYPES)})
        body = response.content
        digest = sha256_digest(body)
        announced = response.headers.get("docker-content-digest")
        if is_digest(reference) and digest != reference:
            raise DigestMismatch(f"{repository}@{reference}: the registry served content "
                                 f"whose digest is {digest}")
        if announced and announced != digest:
            raise DigestMismatch(f"{repository}:{reference}: the registry announced "
                                 f"{announced} but the content's digest is {digest}")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise RegistryError(f"{repository}:{reference}: the manifest is not JSON") from exc
        media_type = data.get("mediaType") or response.headers.get("content-type", "")
        if media_type in INDEX_TYPES or "manifests" in data:
            for entry in data.get("manifests", []):
                plat = entry.get("platform") or {}
                if (plat.get("os"), plat.get("architecture")) == platform:
                    return self.manifest(repository, entry["digest"], platform)
            raise RegistryNotFound(f"{repository}:{reference} has no {'/'.join(platform)} "
                                   "image")
        config = (data.get("config") or {}).get("digest")
        if not config or not is_digest(config):
            raise RegistryError(f"{repository}:{reference}: the manifest names no config")
        return ManifestRef(repository, digest, config, media_type)

    def config(self, repository: str, digest: str) -> dict[str, Any]:
        """The image config blob (verified against its digest)."""
        body = self._get(f"/v2/{repository}/blobs/{digest}").content
        if sha256_digest(body) != digest:
            raise DigestMismatch(f"{repository}: config blob {digest} does not match its "
                                 "content")
        try:
            return dict(json.loads(body))
        except ValueError as exc:
            raise RegistryError(f"{repository}: config blob {digest} is not JSON") from exc

    def labels(self, repository: str, manifest: ManifestRef) -> dict[str, str]:
        config = self.config(repository, manifest.config_digest)
        return dict((config.get("config") or {}).get("Labels") or {})


def _next_page(link: str | None) -> str | None:
    """The next page from an RFC 5988 Link header (`</v2/_catalog?last=x&n=1000>; rel="next"`)."""
    if not link:
        return None
    match = re.match(r'\s*<([^>]+)>\s*;\s*rel="?next"?', link)
    return match.group(1) if match else None
