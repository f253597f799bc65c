"""Reading an application project from disk: its manifest and the files that go in its image.

The manifest lives in `innerspace.toml` or under `[tool.innerspace]` in `pyproject.toml`;
`name`, `version` and `description` fall back to the `[project]` table so that a packaged
Python project states them once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innerspace.apps.manifest import AppManifest, ManifestError, validate_manifest

EXCLUDED = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
            "build", "dist", ".DS_Store"}


@dataclass(frozen=True)
class AppProject:
    """An app's source directory together with its validated manifest."""

    root: Path
    manifest: AppManifest

    def files(self) -> list[Path]:
        """Files copied into the image, relative to the root, in a stable order."""
        found: list[Path] = []
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root)
            if any(part in EXCLUDED or part.endswith(".egg-info") for part in relative.parts):
                continue
            if path.is_file() and not path.is_symlink():
                found.append(relative)
        return found


def read_manifest_data(root: Path) -> tuple[dict[str, Any], str]:
    """Raw manifest data of the project at `root` and the file it came from."""
    if not root.is_dir():
        raise ManifestError([f"{root} is not a directory"], str(root))
    own = root / "innerspace.toml"
    pyproject = root / "pyproject.toml"
    project: dict[str, Any] = {}
    data: dict[str, Any] | None = None
    source = str(own)
    for path in (pyproject, own):
        if not path.is_file():
            continue
        try:
            loaded = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ManifestError([f"not valid TOML: {exc}"], str(path)) from exc
        if path == pyproject:
            project = loaded.get("project", {})
            if "innerspace" in loaded.get("tool", {}):
                data, source = dict(loaded["tool"]["innerspace"]), str(path)
        else:
            data, source = loaded, str(path)
    if data is None:
        raise ManifestError(
            ["no manifest: add innerspace.toml or a [tool.innerspace] table to pyproject.toml"],
            str(root))
    for key in ("name", "version", "description"):
        if key not in data and key in project:
            data[key] = project[key]
    return data, source


def load_project(root: Path | str) -> AppProject:
    """Read and validate the app project at `root`; raise ManifestError listing problems."""
    path = Path(root).resolve()
    data, source = read_manifest_data(path)
    return AppProject(path, validate_manifest(data, source))
