"""Staging for cluster engines, where a job may run on a node that cannot see the service's
files: a small file server next to the job files (`server.py`) and a wrapper that runs
inside each job's container (`job.py`). Both are stdlib-only scripts; the Swarm engine ships
them to the cluster (the wrapper as a Swarm config, the server as its container's command),
so they do not depend on what the app image holds."""

from __future__ import annotations

from importlib import resources

STAGE_PORT = 8470


def script(name: str) -> bytes:
    """The text of one staging script, `server.py` or `job.py`."""
    return resources.files(__package__).joinpath(name).read_bytes()
