"""Images that declare a `VOLUME` are refused.

Docker gives each declared volume of an image an anonymous volume on the host's disk,
writable and without a size limit, around the container's read-only root: an app could
fill the host's disk through it. innerspace refuses such images wherever it meets one (the
base image before a build, the built image, publishing, both catalogues); the engines
cover any volume that still reaches them with a size-limited tmpfs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import docker
from docker.errors import ImageNotFound

_NAMED = 5  # volumes a message names; a hostile image may declare thousands
_PATH_CHARS = 120


def declared_volumes(config: Mapping[str, Any] | None) -> list[str]:
    """The paths the `Volumes` of an image's run config declares: the `config` section of
    an OCI config blob, or the `Config` of `docker image inspect`."""
    volumes = (config or {}).get("Volumes")
    return sorted(str(path) for path in volumes) if isinstance(volumes, Mapping) else []


def local_image_volumes(client: docker.DockerClient, image: str) -> list[str] | None:
    """The volumes a local image declares, or None when the engine has no such image."""
    try:
        inspected = client.api.inspect_image(image)
    except ImageNotFound:
        return None
    return declared_volumes(inspected.get("Config"))


def volumes_problem(volumes: list[str]) -> str | None:
    """Why an image declaring `volumes` cannot run (a sentence part), or None if it can."""
    if not volumes:
        return None
    named = [path if len(path) <= _PATH_CHARS else path[:_PATH_CHARS] + "..."
             for path in volumes[:_NAMED]]
    more = f" and {len(volumes) - _NAMED} more" if len(volumes) > _NAMED else ""
    return (f"it declares VOLUME {', '.join(named)}{more}: a volume is writable space "
            "without a size limit around the read-only root, so innerspace refuses images "
            "that declare one (remove the VOLUME instruction from the image or its base)")
