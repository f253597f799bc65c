"""A client of the OCI Distribution API (the Docker registry HTTP API v2): catalog, tags,
manifests and config blobs, with anonymous, Basic or Bearer-token access, so that any OCI
registry works (distribution, Harbor, GitLab, GHCR).

Every manifest fetched is checked against its digest: the registry is trusted to serve
content, never to vouch for it. What a registry may cost (body sizes, pages, time) and where
credentials may go is enforced underneath, in `innerspace.apps.oci_http`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import httpx

from innerspace.apps.oci_http import (
    DigestMismatch,
    RegistryError,
    RegistryHTTP,
    RegistryLimits,
    RegistryNotFound,
)

__all__ = ["INDEX_TYPES", "MANIFEST_TYPES", "DigestMismatch", "ManifestRef", "RegistryClient",
           "RegistryError", "RegistryLimits", "RegistryNotFound", "is_digest",
           "sha256_digest"]

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[2:]
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


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


# The Distribution spec's grammars: a name or tag outside them is never put into a path.
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
                         r"(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_PAGE_SIZE = "1000"


class RegistryClient:
    """Talks to one registry. `url` is its base URL, e.g. http://127.0.0.1:5000."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None,
                 limits: RegistryLimits | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._http = RegistryHTTP(url, username, password, limits, transport)
        self.url = self._http.url
        self.host = self._http.base.netloc.decode()  # how image references name it
        self.limits = self._http.limits

    def close(self) -> None:
        self._http.close()

    # -- the API ---------------------------------------------------------------------

    def ping(self) -> None:
        self._http.get("/v2/", self.limits.max_page_bytes, "/v2/")

    def repositories(self, prefix: str = "") -> list[str]:
        """Repository names (optionally only those under `prefix`), following pagination."""
        names = self._listing("/v2/_catalog", "repositories", "the catalog")
        return [name for name in names if name.startswith(prefix) and _REPOSITORY.match(name)]

    def tags(self, repository: str) -> list[str]:
        _check_repository(repository)
        tags = self._listing(f"/v2/{repository}/tags/list", "tags", f"the tags of {repository}")
        return [tag for tag in tags if _TAG.match(tag)]

    def _listing(self, path: str, key: str, what: str) -> list[str]:
        """Every entry of a paginated listing: at most `max_pages` pages, each page capped,
        and every next page on the registry's own origin."""
        items: list[str] = []
        target = self._http.resolve(path).copy_merge_params({"n": _PAGE_SIZE})
        for _ in range(self.limits.max_pages):
            reply = self._http.get(target, self.limits.max_page_bytes, what)
            data = reply.json(what)
            entries = data.get(key) if isinstance(data, dict) else None
            if entries is not None and not isinstance(entries, list):
                raise RegistryError(f"{what}: the registry's {key!r} is not a list")
            items += [entry for entry in entries or () if isinstance(entry, str)]
            link = next_page(reply.headers.get("link"))
            if link is None:
                return items
            target = self._http.resolve(link, relative_to=reply.url)
            if not self._http.same_origin(target):
                raise RegistryError(f"{what}: the registry's next page is on another origin "
                                    f"({target.scheme}://{target.netloc.decode()}): refused")
        raise RegistryError(f"{what}: more than {self.limits.max_pages} pages; the listing "
                            "is refused (raise repository.max_pages to read it)")

    def manifest(self, repository: str, reference: str,
                 platform: tuple[str, str] = ("linux", "amd64")) -> ManifestRef:
        """The image manifest for a tag or digest; an index resolves to `platform`'s."""
        return self._manifest(repository, reference, platform, in_index=False)

    def _manifest(self, repository: str, reference: str, platform: tuple[str, str],
                  in_index: bool) -> ManifestRef:
        _check_repository(repository)
        if not (is_digest(reference) or _TAG.match(reference)):
            raise RegistryNotFound(f"{reference!r} is neither a tag nor a sha256 digest")
        what = f"{repository}:{reference}"
        reply = self._http.get(f"/v2/{repository}/manifests/{reference}",
                               self.limits.max_manifest_bytes, f"the manifest {what}",
                               headers={"Accept": ", ".join(MANIFEST_TYPES)})
        body = reply.content
        digest = sha256_digest(body)
        announced = reply.headers.get("docker-content-digest")
        if is_digest(reference) and digest != reference:
            raise DigestMismatch(f"{repository}@{reference}: the registry served content "
                                 f"whose digest is {digest}")
        if announced and announced != digest:
            raise DigestMismatch(f"{what}: the registry announced {announced} but the "
                                 f"content's digest is {digest}")
        data = reply.json(f"the manifest {what}")
        if not isinstance(data, dict):
            raise RegistryError(f"{what}: the manifest is not a JSON object")
        media_type = str(data.get("mediaType") or reply.headers.get("content-type", ""))
        if media_type in INDEX_TYPES or "manifests" in data:
            if in_index:  # an index of indexes could send us down a chain without end
                raise RegistryError(f"{what}: an image index inside an image index")
            return self._platform_manifest(repository, reference, data, platform)
        config = (data.get("config") or {}).get("digest")
        if not isinstance(config, str) or not is_digest(config):
            raise RegistryError(f"{what}: the manifest names no config")
        return ManifestRef(repository, digest, config, media_type)

    def _platform_manifest(self, repository: str, reference: str, index: dict[str, Any],
                           platform: tuple[str, str]) -> ManifestRef:
        entries = index.get("manifests")
        for entry in entries if isinstance(entries, list) else ():
            plat = (entry.get("platform") or {}) if isinstance(entry, dict) else {}
            if (plat.get("os"), plat.get("architecture")) == platform:
                digest = entry.get("digest")
                if not isinstance(digest, str) or not is_digest(digest):
                    raise RegistryError(f"{repository}:{reference}: the index names no "
                                        f"digest for {'/'.join(platform)}")
                return self._manifest(repository, digest, platform, in_index=True)
        raise RegistryNotFound(f"{repository}:{reference} has no {'/'.join(platform)} image")

    def config(self, repository: str, digest: str) -> dict[str, Any]:
        """The image config blob (verified against its digest)."""
        _check_repository(repository)
        if not is_digest(digest):
            raise RegistryError(f"{repository}: {digest!r} is not a sha256 digest")
        what = f"the config blob {repository}@{digest}"
        reply = self._http.get(f"/v2/{repository}/blobs/{digest}",
                               self.limits.max_manifest_bytes, what)
        if sha256_digest(reply.content) != digest:
            raise DigestMismatch(f"{repository}: config blob {digest} does not match its "
                                 "content")
        data = reply.json(what)
        if not isinstance(data, dict):
            raise RegistryError(f"{what} is not a JSON object")
        return data

    def image_config(self, repository: str, manifest: ManifestRef) -> dict[str, Any]:
        """The `config` section of the image config: Labels, Volumes, User, Env..."""
        section = self.config(repository, manifest.config_digest).get("config")
        return section if isinstance(section, dict) else {}

    def labels(self, repository: str, manifest: ManifestRef) -> dict[str, str]:
        labels = self.image_config(repository, manifest).get("Labels")
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _check_repository(repository: str) -> None:
    if not _REPOSITORY.match(repository):
        raise RegistryNotFound(f"{repository!r} is not a repository name")


def next_page(link: str | None) -> str | None:
    """The target of the rel="next" link of an RFC 8288 Link header
    (`</v2/_catalog?last=x&n=1000>; rel="next"`), or None."""
    for target, params in _LINK.findall(link or ""):
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip('" ').lower().split():
                return str(target)
    return None
