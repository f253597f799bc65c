"""Connecting to a Docker engine: the one way every part that talks to Docker (the engines,
the local app catalogue, the image builders, the CLI) opens its client."""

from __future__ import annotations

import docker

TIMEOUT = 120  # seconds one Docker API call may take (image pulls and pushes are long)


def docker_client(docker_host: str | None = None) -> docker.DockerClient:
    """A client for `docker_host`, or the environment's engine (DOCKER_HOST, the socket)."""
    if docker_host:
        return docker.DockerClient(base_url=docker_host, timeout=TIMEOUT)
    return docker.from_env(timeout=TIMEOUT)
