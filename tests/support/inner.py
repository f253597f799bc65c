"""Inner APIs for tests: a real HTTP file service on an internal network, and the
datacentre settings that describe it."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any


def file_server(docker_client: Any, network: str, alias: str, directory: Path) -> Any:
    """A real HTTP file service (python3 -m http.server) on an internal network."""
    existing = docker_client.networks.list(names=[network])
    net = existing[0] if existing else docker_client.networks.create(
        network, driver="bridge", internal=True)
    container = docker_client.containers.run(
        "innerspace/base:bookworm", ["python3", "-m", "http.server", "8080", "-d", "/srv"],
        detach=True, user="10001:10001", volumes={str(directory): {"bind": "/srv",
                                                                   "mode": "ro"}},
        network=network, name=f"{alias}-{secrets.token_hex(3)}")
    net.disconnect(container)
    net.connect(container, aliases=[alias])
    container.reload()
    probe = ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/')"]
    give_up = time.monotonic() + 120  # until the server answers, however loaded the machine
    while time.monotonic() < give_up:
        if container.exec_run(probe, user="10001:10001").exit_code == 0:
            return container
        time.sleep(0.1)
    raise RuntimeError(f"the test file server {alias} did not start")


def datacentre(network: str, sky: Path, extra: Path) -> dict[str, Any]:
    return {"authority": "ivo://inner.example", "inner_network": network,
            "inner_apis": [
                {"name": "files", "kind": "http-files", "url": "http://files.inner:8080/"},
                {"name": "sky-images", "kind": "posix-collection", "path": str(sky),
                 "collections": ["sky"]},
                {"name": "not-asked-for", "kind": "posix-collection", "path": str(extra),
                 "collections": ["private"]},
                {"name": "archive", "kind": "tap", "url": "http://tap.inner/tap"}]}
