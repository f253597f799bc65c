"""The files of a job under the data directory: uploads, params.json, results and logs.

    jobs/<id>/inputs/      uploaded files (mounted read-only at /innerspace/inputs)
    jobs/<id>/params.json  typed parameters (mounted read-only at /innerspace/params.json)
    jobs/<id>/results/     what the app writes (mounted at /innerspace/results)
    jobs/<id>/logs/        stdout and stderr of the container
"""

from __future__ import annotations

import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from innerspace.uws.disk import CutBack, TreeSize, cut_back, tree_size
from innerspace.uws.removal import remove_tree
from innerspace.uws.store import JobResult
from innerspace.xmltext import xml_safe

LOG_RESULTS = ("stdout", "stderr")
MAX_DEPTH = 32
MAX_RESULTS = 10_000


def usable_name(name: str) -> bool:
    """A result id must be valid text that an XML document can hold."""
    return xml_safe(name)


_EXTRA_TYPES = {
    ".fits": "application/fits", ".fit": "application/fits", ".fz": "application/fits",
    ".vot": "application/x-votable+xml", ".votable": "application/x-votable+xml",
    ".ecsv": "text/x-ecsv", ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json", ".csv": "text/csv", ".txt": "text/plain", ".log": "text/plain",
    ".png": "image/png", ".h5": "application/x-hdf5", ".hdf5": "application/x-hdf5",
}


def mime_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class JobFiles:
    """The file tree of one job (see the module docstring); `JobFiles.of` finds it."""

    root: Path

    @classmethod
    def of(cls, jobs_dir: Path, job_id: str) -> JobFiles:
        """The files of job `job_id` under `jobs_dir`: the one way to locate them."""
        if not job_id or job_id in (".", "..") or "/" in job_id or "\\" in job_id:
            raise ValueError(f"{job_id!r} cannot name a job directory")
        return cls(jobs_dir / job_id)

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def params(self) -> Path:
        return self.root / "params.json"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.txt"

    def create(self) -> None:
        for path in (self.inputs, self.results, self.logs):
            path.mkdir(parents=True, exist_ok=True)

    def open_results_to(self, uid: int, gid: int) -> None:
        """Let the sandbox user (and only it, besides us) write the results directory."""
        try:
            os.chown(self.results, uid, gid)
            self.results.chmod(0o700)
        except PermissionError:
            # Not root: the service cannot give the directory away, so it opens it instead.
            self.results.chmod(0o777)

    def clear_results(self) -> None:
        """Empty the results and logs (a job restarted after a crash starts clean)."""
        for path in (self.results, self.logs):
            if path.exists() and any(path.iterdir()):
                remove_tree(path)
            path.mkdir(parents=True, exist_ok=True)

    def remove(self) -> None:
        remove_tree(self.root)

    def results_size(self, max_entries: int) -> TreeSize:
        """What the results take now (the app may still be writing them), looking at no
        more than `max_entries` entries and MAX_DEPTH levels."""
        return tree_size(self.results, max_entries, MAX_DEPTH)

    def stored_bytes(self, max_entries: int) -> int:
        """Bytes all the job's files take: uploads, parameters, results and logs."""
        return tree_size(self.root, max_entries, MAX_DEPTH + 2).bytes

    def cut_results(self, quota: int, max_entries: int) -> CutBack:
        """Cut the results back under `quota` bytes, keeping the files written first."""
        return cut_back(self.results, quota, max_entries, MAX_DEPTH)

    def scan_results(self) -> tuple[list[JobResult], list[str]]:
        """Every regular file the app wrote, then the logs; and the names that were skipped.

        Result ids are paths relative to the results directory. Symlinks, special files,
        names that XML cannot carry, and anything deeper than MAX_DEPTH or beyond MAX_RESULTS
        entries are skipped: the app controls this tree, so it is walked without recursion.
        """
        found: list[JobResult] = []
        skipped: list[str] = []
        pending: list[tuple[Path, int]] = [(self.results, 0)] if self.results.is_dir() else []
        seen = 0
        while pending:
            directory, depth = pending.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name, reverse=True)
            except OSError:
                continue
            for entry in entries:
                seen += 1
                relative = Path(entry.path).relative_to(self.results).as_posix()
                if seen > MAX_RESULTS:
                    skipped.append(relative)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if depth + 1 < MAX_DEPTH:
                        pending.append((Path(entry.path), depth + 1))
                    else:
                        skipped.append(relative)
                    continue
                if not entry.is_file(follow_symlinks=False) or not usable_name(relative) \
                        or relative in LOG_RESULTS:
                    skipped.append(relative)
                    continue
                found.append(JobResult(relative, entry.stat(follow_symlinks=False).st_size,
                                       mime_type(entry.name)))
        found.sort(key=lambda r: r.id)
        for name in LOG_RESULTS:
            path = self.log(name)
            if path.is_file():
                found.append(JobResult(name, path.stat().st_size, "text/plain"))
        return found, skipped

    def result_path(self, result_id: str) -> Path | None:
        """The file behind result `result_id`, refusing anything outside the job's results
        (path tricks) and anything that is not a regular file (symlinks planted by the app)."""
        if result_id in LOG_RESULTS:
            path = self.log(result_id)
            return path if path.is_file() else None
        parts = Path(result_id).parts
        if not parts or Path(result_id).is_absolute() or any(p in ("..", ".") for p in parts):
            return None
        path = self.results.joinpath(*parts)
        try:
            info = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        # A parent directory could itself be a symlink planted by the app.
        if self.results.resolve() not in path.resolve().parents:
            return None
        return path
