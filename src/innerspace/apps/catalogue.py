"""The catalogue of applications a service can run, and resolution of `name[:version]`.

Until an OCI repository is configured, the catalogue is the set of app images on the local
engine (images labelled with a manifest). Resolution pins a job to an immutable image id, so
re-tagging or rebuilding an app later never changes a job that exists. Either catalogue
lists the images it refuses (a broken label, a declared VOLUME) with the reason, and a job
asking for one is told that reason.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

import docker
from docker.errors import DockerException
from requests.exceptions import RequestException

from innerspace.apps.manifest import MANIFEST_LABEL, AppManifest, ManifestError, validate_manifest
from innerspace.apps.volumes import local_image_volumes, volumes_problem
from innerspace.errors import NotFound, Unavailable


@dataclass(frozen=True)
class AppImage:
    """One runnable version of an app: its manifest and the immutable image reference."""

    manifest: AppManifest
    image: str  # pinned reference: an image id (sha256:...) or repository@digest
    tags: tuple[str, ...] = ()
    created: datetime | None = None

    @cached_property
    def manifest_json(self) -> dict[str, Any]:
        """The manifest as JSON data, made once (every job records it)."""
        return self.manifest.model_dump(mode="json")

    @property
    def digest(self) -> str:
        """The content digest the image is pinned to (manifest digest, or local image id)."""
        return self.image.rpartition("@")[2] if "@" in self.image else self.image

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version


class UnknownAppError(NotFound, LookupError):
    """No app (or no such version) in the catalogue; the message names what was asked."""


class CatalogueUnavailable(Unavailable):
    """The catalogue's source (engine or registry) cannot be read right now."""

    topic = "the app catalogue is unavailable"


class AppCatalogue(Protocol):
    """Where the service looks up apps. A later OCI repository implements the same."""

    def apps(self) -> list[AppImage]: ...

    def cached(self, reference: str) -> AppImage | None:
        """The app from a fresh cache, without I/O; None when a lookup is needed."""
        ...

    def resolve(self, reference: str) -> AppImage: ...

    def refresh(self) -> None: ...

    def status(self) -> dict[str, object]:
        """Where the catalogue comes from and how fresh it is."""
        ...


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions naturally: 1.10 > 1.9, and a release > its pre-release (1.0 > 1.0rc1)."""
    parts: list[tuple[int, int | str]] = []
    for token in re.findall(r"\d+|[A-Za-z]+", version):
        parts.append((2, int(token)) if token.isdigit() else (0, token.lower()))
    parts.append((1, ""))  # a release sorts after any suffix of the same numbers
    return tuple(parts)


def split_reference(reference: str) -> tuple[str, str | None]:
    name, _, version = reference.strip().partition(":")
    if not name:
        raise UnknownAppError(f"app reference {reference!r} has no name")
    return name, (version or None)


def pick(images: list[AppImage], reference: str) -> AppImage:
    """The image for `name` (highest version) or `name:version` among `images`."""
    name, version = split_reference(reference)
    candidates = [image for image in images if image.name == name]
    if not candidates:
        known = sorted({image.name for image in images})
        hint = f"; known apps: {', '.join(known)}" if known else "; no apps are available"
        raise UnknownAppError(f"unknown app {name!r}{hint}")
    if version is None:
        return max(candidates, key=lambda image: version_key(image.version))
    for image in candidates:
        if image.version == version:
            return image
    versions = ", ".join(sorted((i.version for i in candidates), key=version_key))
    raise UnknownAppError(f"app {name!r} has no version {version!r}; versions: {versions}")


def pick_or_refusal(images: list[AppImage], problems: dict[str, str],
                    reference: str) -> AppImage:
    """`pick`, except that a miss the catalogue refused (`problems` by "name:version", or
    "name:*" for a whole app) says why instead of "unknown app"."""
    try:
        return pick(images, reference)
    except UnknownAppError:
        name, version = split_reference(reference)
        if version:
            problem = problems.get(f"{name}:{version}")
        elif not any(image.name == name for image in images):
            problem = next((p for k, p in problems.items() if k.startswith(f"{name}:")), None)
        else:
            problem = None
        if problem:
            raise UnknownAppError(problem) from None
        raise


class LocalEngineCatalogue:
    """Apps are the manifest-labelled images on the local Docker engine.

    The listing is cached for `ttl` seconds and refreshed at once when a lookup misses, so
    job creation does not pay a Docker API round trip and a freshly built app is found.
    """

    def __init__(self, client: docker.DockerClient, ttl: float = 30.0,
                 min_refresh: float = 1.0) -> None:
        self._client = client
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._lock = threading.Lock()
        self._images: list[AppImage] = []
        self._loaded_at = float("-inf")
        self.problems: dict[str, str] = {}  # image id or "name:version" -> why it cannot run
        self._volumes: dict[str, list[str]] = {}  # image id -> its declared volumes

    def refresh(self) -> None:
        images: list[AppImage] = []
        problems: dict[str, str] = {}
        try:
            summaries = self._client.api.images(filters={"label": MANIFEST_LABEL})
        except (DockerException, RequestException) as exc:
            raise CatalogueUnavailable(f"cannot list the app images: {exc}") from exc
        for summary in summaries:
            image_id = summary["Id"]
            label = (summary.get("Labels") or {}).get(MANIFEST_LABEL, "")
            try:
                manifest = validate_manifest(json.loads(label), f"label of image {image_id}")
            except (ValueError, ManifestError) as exc:
                problems[image_id] = str(exc)
                continue
            created = datetime.fromtimestamp(summary.get("Created", 0)).astimezone()
            tags = tuple(t for t in summary.get("RepoTags") or () if t != "<none>:<none>")
            images.append(AppImage(manifest, image_id, tags, created))
        # Two images may claim the same name:version (a rebuild); the newest one wins.
        newest: dict[tuple[str, str], AppImage] = {}
        for image in sorted(images, key=lambda i: i.created or datetime.min.astimezone()):
            newest[(image.name, image.version)] = image
        runnable = []
        for image in newest.values():
            volumes = self._declared_volumes(image.image)
            problem = volumes_problem(volumes or [])
            if problem:
                problems[image.manifest.ref] = (f"image {image.image[:19]} of "
                                                f"{image.manifest.ref} cannot run: {problem}")
            elif volumes is not None:  # None: removed since the listing
                runnable.append(image)
        listed = {image.image for image in newest.values()}
        self._volumes = {i: v for i, v in self._volumes.items() if i in listed}
        with self._lock:
            self._images = sorted(runnable, key=lambda i: (i.name, version_key(i.version)))
            self.problems = problems
            self._loaded_at = time.monotonic()

    def _declared_volumes(self, image_id: str) -> list[str] | None:
        """The image's VOLUMEs (None if it is gone); inspected once per image id, since an
        id names fixed content."""
        found = self._volumes.get(image_id)
        if found is None:
            try:
                found = local_image_volumes(self._client, image_id)
            except (DockerException, RequestException) as exc:
                raise CatalogueUnavailable(f"cannot inspect the app image {image_id}: "
                                           f"{exc}") from exc
            if found is not None:
                self._volumes[image_id] = found
        return found

    def apps(self) -> list[AppImage]:
        if time.monotonic() - self._loaded_at > self._ttl:
            self.refresh()
        with self._lock:
            return list(self._images)

    def status(self) -> dict[str, object]:
        return {"registry": None, "source": "local engine", "stale": False,
                "refused": dict(self.problems)}

    def cached(self, reference: str) -> AppImage | None:
        if time.monotonic() - self._loaded_at > self._ttl:
            return None
        with self._lock:
            images = self._images
        try:
            return pick(images, reference)
        except UnknownAppError:
            return None

    def resolve(self, reference: str) -> AppImage:
        try:
            return pick_or_refusal(self.apps(), self.problems, reference)
        except UnknownAppError:
            # A miss may be an app built a moment ago: look again, but at most once a second
            # so that a stream of bad requests cannot hammer the engine.
            if time.monotonic() - self._loaded_at < self._min_refresh:
                raise
            self.refresh()
            return pick_or_refusal(self.apps(), self.problems, reference)
