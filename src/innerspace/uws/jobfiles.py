"""The files of a job under the data directory: uploads, params.json, results and logs.

    jobs/<id>/inputs/      uploaded files (mounted read-only at /innerspace/inputs)
    jobs/<id>/params.json  typed parameters (mounted read-only at /innerspace/params.json)
    jobs/<id>/results/     what the app writes (mounted at /innerspace/results)
    jobs/<id>/logs/        stdout and stderr of the container
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from innerspace.uws.store import JobResult

LOG_RESULTS = ("stdout", "stderr")
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
    root: Path

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

    def open_results_to(self, user: str) -> None:
        """Let the sandbox user (and only it, besides us) write the results directory."""
        uid, _, gid = user.partition(":")
        try:
            os.chown(self.results, int(uid), int(gid or uid))
            self.results.chmod(0o700)
        except PermissionError:
            # Not root: the service cannot give the directory away, so it opens it instead.
            self.results.chmod(0o777)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def scan_results(self) -> list[JobResult]:
        """Every regular file the app wrote (symlinks and special files are ignored), then
        the logs. Result ids are paths relative to the results directory."""
        found: list[JobResult] = []
        if self.results.is_dir():
            for dirpath, dirnames, filenames in os.walk(self.results, followlinks=False):
                dirnames.sort()
                for filename in sorted(filenames):
                    path = Path(dirpath) / filename
                    info = path.lstat()
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    result_id = path.relative_to(self.results).as_posix()
                    if result_id in LOG_RESULTS:
                        continue  # the log results own these ids
                    found.append(JobResult(result_id, info.st_size, mime_type(filename)))
        for name in LOG_RESULTS:
            path = self.log(name)
            if path.is_file():
                found.append(JobResult(name, path.stat().st_size, "text/plain"))
        return found

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
