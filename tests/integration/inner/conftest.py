"""Fixtures of the inner API tests: two internal networks, each with a real file service
(ours, and another data centre's that no job may reach)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.inner import file_server


@pytest.fixture
def two_networks(docker_client: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    tag = secrets.token_hex(3)
    ours, theirs = f"innerspace-test-{tag}-a", f"innerspace-test-{tag}-b"
    served = tmp_path / "served"
    served.mkdir()
    (served / "greeting.txt").write_text("from the inner file service\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "greeting.txt").write_text("from another data centre\n")
    for path in (served, other):
        path.chmod(0o755)
        (path / "greeting.txt").chmod(0o644)
    mine = file_server(docker_client, ours, "files.inner", served)
    foreign = file_server(docker_client, theirs, "files.other", other)
    foreign_ip = foreign.attrs["NetworkSettings"]["Networks"][theirs]["IPAddress"]
    yield {"network": ours, "foreign": f"{foreign_ip}:8080"}
    for container in (mine, foreign):
        container.remove(force=True)
    for name in (ours, theirs):
        for net in docker_client.networks.list(names=[name]):
            net.remove()
