"""The app catalogue the settings ask for: the OCI repository when one is configured, else
the app images on the local Docker engine; and the registry client the settings describe."""

from __future__ import annotations

from innerspace.apps.catalogue import AppCatalogue, CatalogueUnavailable, LocalEngineCatalogue
from innerspace.apps.oci import RegistryClient, RegistryLimits
from innerspace.apps.repository import RegistryCatalogue
from innerspace.config import Repository, Settings
from innerspace.dockerhost import docker_client


def registry_client(repository: Repository, url: str | None = None) -> RegistryClient:
    """A client of the repository's registry (or of `url` instead), under its limits."""
    target = url or repository.url
    if not target:
        raise ValueError("no registry URL: set repository.url (INNERSPACE_REPOSITORY__URL)")
    limits = RegistryLimits(max_pages=repository.max_pages,
                            max_manifest_bytes=repository.max_manifest_size,
                            max_page_bytes=repository.max_page_size,
                            timeout=repository.timeout)
    return RegistryClient(target, repository.username, repository.password, limits=limits)


def build_catalogue(settings: Settings) -> AppCatalogue:
    repository = settings.repository
    if repository.url:
        return RegistryCatalogue(registry_client(repository), repository.namespace,
                                 repository.allowed_prefixes, ttl=repository.cache_ttl)
    try:
        return LocalEngineCatalogue(docker_client(settings.docker_host))
    except Exception as exc:  # docker-py raises DockerException, or OSError on a bad socket
        raise CatalogueUnavailable(f"cannot reach the Docker engine for the app images: "
                                   f"{exc}") from exc
