"""The app catalogue read from an OCI registry: every `<namespace>/<name>:<version>` image
whose config carries a valid manifest label and declares no VOLUME, pinned to its manifest
digest.

Label sets are cached by config digest (content-addressed, so never stale); the listing of
repositories and tags is refreshed when older than `ttl` or on demand. When the registry is
away the catalogue keeps serving what it knew, says it is stale, and refuses new jobs
(CatalogueUnavailable), while running jobs go on.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import UTC, datetime

from innerspace.apps.catalogue import (
    AppImage,
    CatalogueUnavailable,
    UnknownAppError,
    pick,
    pick_or_refusal,
    version_key,
)
from innerspace.apps.manifest import (
    _NAME,
    MANIFEST_LABEL,
    AppManifest,
    ManifestError,
    validate_manifest,
)
from innerspace.apps.oci import (
    DigestMismatch,
    ManifestRef,
    RegistryClient,
    RegistryError,
    RegistryNotFound,
    is_digest,
)
from innerspace.apps.volumes import declared_volumes, volumes_problem

log = logging.getLogger(__name__)


class RegistryCatalogue:
    """Apps are the labelled images under one namespace of one registry."""

    def __init__(self, client: RegistryClient, namespace: str, allowed: list[str],
                 ttl: float = 60.0, min_refresh: float = 1.0) -> None:
        self.client = client
        self.namespace = namespace.strip("/")
        self.allowed = allowed
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._images: list[AppImage] = []
        self._manifests: dict[str, AppManifest | str] = {}  # config digest -> manifest/problem
        self.problems: dict[str, str] = {}  # "name:version" -> why it cannot run
        self.refreshed_at: float | None = None
        self._tried_at = float("-inf")
        self.stale: str | None = None  # why the last refresh failed, while it did

    # -- reading the registry --------------------------------------------------------

    def refresh(self) -> None:
        with self._refreshing:
            self._tried_at = time.monotonic()
            try:
                images, problems = self._read_registry()
            except RegistryNotFound as exc:  # e.g. no catalog API (GHCR, Docker Hub)
                self.stale = (f"the registry does not list its repositories "
                              f"(/v2/_catalog): {exc}")
                raise CatalogueUnavailable(self.stale) from exc
            except RegistryError as exc:
                self.stale = str(exc)
                raise CatalogueUnavailable(str(exc)) from exc
            with self._lock:
                self._images = images
                self.problems = problems
                self.refreshed_at = time.monotonic()
                self.stale = None

    def _read_registry(self) -> tuple[list[AppImage], dict[str, str]]:
        images: list[AppImage] = []
        problems: dict[str, str] = {}
        prefix = f"{self.namespace}/"
        for repository in self.client.repositories(prefix):
            name = repository[len(prefix):]
            try:
                tags = self.client.tags(repository)
            except RegistryNotFound:
                continue  # deleted between the listing and now
            except RegistryError as exc:  # one unreadable repository spoils only itself
                problems[f"{name}:*"] = str(exc)
                continue
            for tag in tags:
                try:
                    ref = self.client.manifest(repository, tag)
                    images.append(self._image(name, tag, ref))
                except (RegistryNotFound, DigestMismatch, UnknownAppError, RegistryError,
                        ValueError, KeyError) as exc:
                    problems[f"{name}:{tag}"] = str(exc)
        images.sort(key=lambda i: (i.name, version_key(i.version)))
        return images, problems

    def _image(self, name: str, tag: str | None, ref: ManifestRef) -> AppImage:
        """The app image behind a manifest, or UnknownAppError saying why it cannot run."""
        found = self._manifests.get(ref.config_digest)
        if found is None:
            found, lasting = self._read_label(ref)
            if lasting:
                self._manifests[ref.config_digest] = found
        where = f"{self.client.host}/{ref.repository}" + (f":{tag}" if tag else "")
        if isinstance(found, str):
            raise UnknownAppError(f"image {where} cannot run: {found}")
        if found.name != name or (tag is not None and found.version != tag):
            raise UnknownAppError(f"image {where} cannot run: its manifest label describes "
                                  f"{found.name}:{found.version}")
        image = f"{self.client.host}/{ref.repository}@{ref.digest}"
        tags = (f"{self.client.host}/{ref.repository}:{tag}",) if tag else ()
        return AppImage(found, image, tags, datetime.now(UTC))

    def _read_label(self, ref: ManifestRef) -> tuple[AppManifest | str, bool]:
        """The manifest (or why the image cannot run) and whether that verdict can be
        cached: a config blob is content-addressed, but a corrupted download must be
        retried."""
        try:
            config = self.client.image_config(ref.repository, ref)
        except DigestMismatch as exc:
            return str(exc), False
        labels = config.get("Labels")
        text = labels.get(MANIFEST_LABEL) if isinstance(labels, dict) else None
        if not text:
            return (f"it has no {MANIFEST_LABEL} label (not built by `innerspace app build`)",
                    True)
        try:
            manifest = validate_manifest(json.loads(text), f"{MANIFEST_LABEL} label")
        except (ValueError, ManifestError) as exc:
            return f"its manifest label is invalid: {exc}", True
        return volumes_problem(declared_volumes(config)) or manifest, True

    # -- the catalogue interface -------------------------------------------------------

    def _fresh(self) -> bool:
        return (self.stale is None and self.refreshed_at is not None
                and time.monotonic() - self.refreshed_at <= self._ttl)

    def apps(self) -> list[AppImage]:
        """What the catalogue knows; refreshed when old, served from cache if that fails."""
        if not self._fresh() and time.monotonic() - self._tried_at > self._min_refresh:
            try:
                self.refresh()
            except CatalogueUnavailable as exc:
                if self.refreshed_at is None:
                    raise
                log.warning("app catalogue is stale: %s", exc)
        if self.refreshed_at is None:  # never read: an empty list would be a lie
            raise CatalogueUnavailable(self.stale or "the app catalogue has not been read yet")
        with self._lock:
            return list(self._images)

    def cached(self, reference: str) -> AppImage | None:
        if not self._fresh() or "@" in reference:
            return None
        with self._lock:
            images = self._images
        try:
            return self._allowed(pick(images, reference))
        except UnknownAppError:
            return None

    def resolve(self, reference: str) -> AppImage:
        """`name`, `name:version` or `name@sha256:...` to an image pinned by digest."""
        name, _, digest = reference.partition("@")
        if digest:
            return self._allowed(self._by_digest(name, digest))
        if self.stale is not None and time.monotonic() - self._tried_at > self._min_refresh:
            self.refresh()  # raises CatalogueUnavailable while the registry is away
        if self.stale is not None:
            raise CatalogueUnavailable(self.stale)
        try:
            return self._allowed(self._pick(reference))
        except UnknownAppError:
            if time.monotonic() - self._tried_at < self._min_refresh:
                raise
            self.refresh()  # a miss may be an app published a moment ago
            return self._allowed(self._pick(reference))

    def _pick(self, reference: str) -> AppImage:
        images = self.apps()
        if self.stale is not None:  # the registry went away just now: no new jobs
            raise CatalogueUnavailable(self.stale)
        return pick_or_refusal(images, self.problems, reference)

    def _by_digest(self, name: str, digest: str) -> AppImage:
        if not re.match(_NAME, name):
            raise UnknownAppError(f"{name!r} is not an app name")
        if not is_digest(digest):
            raise UnknownAppError(f"{digest!r} is not a sha256 digest")
        repository = f"{self.namespace}/{name}"
        try:  # reading the config blob too: a registry failing there is no 500 either
            return self._image(name, None, self.client.manifest(repository, digest))
        except RegistryNotFound:
            raise UnknownAppError(f"app {name!r} has no image with digest {digest}") from None
        except DigestMismatch as exc:
            raise UnknownAppError(str(exc)) from None
        except RegistryError as exc:
            raise CatalogueUnavailable(str(exc)) from exc

    def _allowed(self, image: AppImage) -> AppImage:
        if not any(image.image.startswith(prefix) for prefix in self.allowed):
            raise UnknownAppError(f"image {image.image} is not from an allowed registry or "
                                  f"namespace ({', '.join(self.allowed) or 'none allowed'})")
        return image

    def status(self) -> dict[str, object]:
        """How fresh the catalogue is, for /apps."""
        age = None if self.refreshed_at is None else time.monotonic() - self.refreshed_at
        return {"registry": self.client.url, "namespace": self.namespace,
                "stale": self.stale is not None, "problem": self.stale,
                "age_seconds": None if age is None else round(age, 1),
                "refused": dict(self.problems)}
