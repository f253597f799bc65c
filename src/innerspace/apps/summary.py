"""The JSON summary of an app image: what /apps answers and what `innerspace app list`
shows, one shape for both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from innerspace.apps.catalogue import AppImage


def app_summary(app: AppImage) -> dict[str, Any]:
    """Name, version, image and digest of `app`, and its manifest as JSON data."""
    manifest = app.manifest
    return {"name": app.name, "version": app.version, "title": manifest.title,
            "description": manifest.description, "image": app.image, "digest": app.digest,
            "tags": list(app.tags), "subjects": manifest.subjects,
            "parameters": {k: p.model_dump(mode="json", exclude_none=True)
                           for k, p in manifest.parameters.items()},
            "resources": manifest.resources.model_dump(mode="json"),
            "results": [r.model_dump(mode="json", exclude_none=True) for r in manifest.results],
            "inner_apis": [r.model_dump(mode="json", exclude_none=True)
                           for r in manifest.inner_apis]}
