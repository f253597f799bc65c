"""Publishing temporary copies of the hello example, removed again when the test ends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.oci_registry import LiveRegistry
from tests.support.repository import ImageJanitor, copy_hello, digest_of


@pytest.fixture
def publish_copy(publish: Callable[..., str], docker_client: Any, janitor: ImageJanitor,
                 registry: LiveRegistry, tmp_path: Path) -> Callable[..., tuple[str, str]]:
    """Publish a temporary copy of hello; returns (pinned reference, local image id). The
    image is removed (all its tags) from the engine and the registry when the test ends."""

    def push(namespace: str, version: str, greeting: str | None = None) -> tuple[str, str]:
        pinned = publish(copy_hello(tmp_path, version, greeting), namespace=namespace)
        image_id = str(docker_client.images.get(f"innerspace-app/hello:{version}").id)
        janitor.image(image_id)
        janitor.manifest(f"{registry.url}/v2/{namespace}/hello/manifests/{digest_of(pinned)}")
        return pinned, image_id

    return push
