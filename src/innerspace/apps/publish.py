"""Publishing app images to the OCI repository: tag `<registry>/<namespace>/<name>:<version>`,
push through the Docker engine, and return the manifest digest the registry stored."""

from __future__ import annotations

from collections.abc import Callable

import docker
from docker.errors import APIError

from innerspace.apps.manifest import AppManifest
from innerspace.apps.volumes import local_image_volumes, volumes_problem
from innerspace.config import Repository


class PublishError(RuntimeError):
    """The push failed; the message says why."""


def repository_reference(repository: Repository, manifest: AppManifest) -> str:
    if not repository.url:
        raise PublishError("no repository is configured: set repository.url "
                           "(INNERSPACE_REPOSITORY__URL), e.g. http://127.0.0.1:5000")
    return f"{repository.host}/{repository.namespace}/{manifest.name}"


def push_app_image(client: docker.DockerClient, image_id: str, manifest: AppManifest,
                   repository: Repository, say: Callable[[str], None] = print) -> str:
    """Tag and push the image; return `<registry>/<namespace>/<name>@<digest>`. An image
    that declares a VOLUME is refused before anything is tagged or pushed."""
    target = repository_reference(repository, manifest)
    volumes = local_image_volumes(client, image_id)
    if volumes is None:
        raise PublishError(f"the engine has no image {image_id}")
    problem = volumes_problem(volumes)
    if problem:
        raise PublishError(f"{manifest.ref} ({image_id[:19]}) cannot be published: {problem}")
    client.api.tag(image_id, target, manifest.version)
    auth = ({"username": repository.username, "password": repository.password}
            if repository.username else None)
    digest = None
    try:
        for event in client.api.push(target, manifest.version, stream=True, decode=True,
                                     auth_config=auth):
            if "error" in event:
                raise PublishError(f"pushing {target}:{manifest.version} failed: "
                                   f"{event['error']}")
            status = event.get("status", "")
            if status in ("Pushed", "Layer already exists", "Mounted from"):
                say(f"  {event.get('id', '')}: {status}")
            aux = event.get("aux") or {}
            if "Digest" in aux:
                digest = aux["Digest"]
    except APIError as exc:
        raise PublishError(f"pushing {target}:{manifest.version} failed: {exc}") from exc
    if digest is None:
        raise PublishError(f"the registry did not report a digest for {target}")
    return f"{target}@{digest}"
