"""The app catalogue the settings ask for: the OCI repository when one is configured, else
the app images on the local Docker engine."""

from __future__ import annotations

from innerspace.apps.catalogue import AppCatalogue, CatalogueUnavailable, LocalEngineCatalogue
from innerspace.apps.oci import RegistryClient
from innerspace.apps.repository import RegistryCatalogue
from innerspace.config import Settings
from innerspace.dockerhost import docker_client


def build_catalogue(settings: Settings) -> AppCatalogue:
    repository = settings.repository
    if repository.url:
        client = RegistryClient(repository.url, repository.username, repository.password)
        return RegistryCatalogue(client, repository.namespace, repository.allowed_prefixes,
                                 ttl=repository.cache_ttl)
    try:
        return LocalEngineCatalogue(docker_client(settings.docker_host))
    except Exception as exc:  # docker-py raises DockerException, or OSError on a bad socket
        raise CatalogueUnavailable(f"cannot reach the Docker engine for the app images: "
                                   f"{exc}") from exc
