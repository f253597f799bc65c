"""App images without Docker: the example apps' manifests paired with made-up pinned
references, as a registry catalogue would list them."""

from __future__ import annotations

from innerspace.apps.catalogue import AppImage
from innerspace.apps.project import load_project
from tests.support.paths import EXAMPLES


def example_image(name: str, version: str | None = None) -> AppImage:
    """The example app `name` (under another `version` if given) as pushed to a registry."""
    manifest = load_project(EXAMPLES / name).manifest
    if version:
        manifest = manifest.model_copy(update={"version": version})
    return AppImage(manifest, f"127.0.0.1:5000/innerspace/{name}@sha256:" + "b" * 64)
