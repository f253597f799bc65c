"""The helper app code uses inside its container: parameters, inputs, results, progress.

Standard library only: it is copied into every app image and must import with nothing but
Python. It implements the app side of the runtime contract in docs/runtime.md; every path can
be moved with an environment variable so that an app can also be tried outside a container.

    from innerspace import runtime

    params = runtime.params()
    image = runtime.input_path("image")
    runtime.progress(0.5, "half way")
    runtime.write_result("stats.json", json.dumps(stats))
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path("/innerspace")
PROGRESS_PREFIX = "##innerspace-progress"

__all__ = [
    "data_path", "input_path", "inputs_dir", "job_id", "params", "progress", "result_path",
    "results_dir", "service", "services", "write_result",
]


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else default


def job_id() -> str | None:
    """The UWS job id this run belongs to (None outside innerspace)."""
    return os.environ.get("INNERSPACE_JOB_ID")


def params() -> dict[str, Any]:
    """The job's parameters, typed as the manifest declares (file parameters: their path)."""
    path = _path("INNERSPACE_PARAMS", ROOT / "params.json")
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def services() -> dict[str, Any]:
    """The inner APIs bound to this job (services.json): {"kinds": {kind: [api, ...]},
    "standard_ids": {standardID: [api, ...]}}; empty when the app requires none."""
    path = _path("INNERSPACE_SERVICES", ROOT / "services.json")
    if not path.is_file():
        return {"kinds": {}, "standard_ids": {}}
    with path.open(encoding="utf-8") as handle:
        return dict(json.load(handle))


def service(kind: str, collection: str | None = None) -> dict[str, Any]:
    """The inner API of `kind` (a kind name such as "tap", or an IVOA standardID), optionally
    the one exposing `collection`. Its "url" (network kinds) or "path" (collections) is how
    to reach it. KeyError, naming what is bound, if the job has no such API."""
    bound = services()
    entries = bound["kinds"].get(kind) or bound["standard_ids"].get(kind) or []
    for entry in entries:
        if collection is None or collection in entry.get("collections", []):
            return dict(entry)
    have = ", ".join(bound["kinds"]) or "none"
    wanted = kind + (f" with collection {collection!r}" if collection else "")
    raise KeyError(f"no inner API {wanted} is bound to this job (bound: {have}); declare "
                   "it in the manifest's inner_apis")


def data_path(collection: str) -> Path:
    """Where the data collection `collection` is mounted (read-only)."""
    entry = service("posix-collection", collection)
    paths = entry.get("paths") or {}
    return Path(paths.get(collection) or entry["path"])


def inputs_dir() -> Path:
    """Read-only directory holding the uploaded files."""
    return _path("INNERSPACE_INPUTS", ROOT / "inputs")


def input_path(name: str) -> Path:
    """Path of the file uploaded for file parameter `name`."""
    value = params().get(name)
    if not isinstance(value, str):
        raise KeyError(f"no file was given for parameter {name!r}")
    path = Path(value)
    # params.json holds container paths; outside a container resolve them in inputs_dir().
    return path if path.exists() else inputs_dir() / path.name


def results_dir() -> Path:
    """Directory whose files become the job's UWS results."""
    return _path("INNERSPACE_RESULTS", ROOT / "results")


def result_path(name: str) -> Path:
    """Where to write result `name` (a plain file name; sub-directories are allowed)."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"result name {name!r} must be a relative path inside the results")
    path = results_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_result(name: str, data: str | bytes) -> Path:
    """Write one result file and return its path."""
    path = result_path(name)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def progress(fraction: float | None = None, message: str = "") -> None:
    """Report progress (0..1) and/or a message on stdout, in a line the service recognises."""
    parts = [PROGRESS_PREFIX]
    if fraction is not None:
        parts.append(f"{max(0.0, min(1.0, float(fraction))):.3f}")
    else:
        parts.append("-")
    if message:
        parts.append(" ".join(message.split()))
    print(" ".join(parts), file=sys.stdout, flush=True)
