"""An app's parameters as a job holds them: the values given, checked against the app's
manifest before anything is stored; uploads given safe names and copied into the job's
inputs within the upload limit; and the check that a job has all it needs to run."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from innerspace.apps.manifest import RESERVED_PARAMETERS, AppManifest
from innerspace.apps.values import ParameterType, ParameterValueError, coerce_value
from innerspace.errors import BadRequest, TooLarge, Unavailable
from innerspace.uws.disk import disk_problem
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.request import Upload
from innerspace.uws.store import JobParameter

_COPY_CHUNK = 1024 * 1024
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


@dataclass(frozen=True)
class PendingUpload:
    """An upload accepted for `parameter`, to be stored in the job's inputs as `stored`."""

    parameter: str
    upload: Upload
    stored: str


def check_parameters(manifest: AppManifest, given: list[tuple[str, str | Upload]],
                     existing: tuple[JobParameter, ...]
                     ) -> tuple[list[JobParameter], list[PendingUpload]]:
    """Check every given value against `manifest`; return the job's parameters (the given
    ones replacing `existing`) and the uploads to store. Nothing is written here."""
    result: dict[str, JobParameter] = {p.id: p for p in existing}
    uploads: list[PendingUpload] = []
    seen: set[str] = set()
    for name, value in given:
        if name.lower() in RESERVED_PARAMETERS:
            raise BadRequest(f"{name} cannot be set here")
        found = manifest.parameter(name)
        if found is None:
            known = ", ".join(manifest.parameters) or "none"
            raise BadRequest(f"unknown parameter {name!r} for app {manifest.name} "
                             f"(its parameters: {known})")
        key, param = found
        if key in seen:
            raise BadRequest(f"parameter {key!r} is given more than once")
        seen.add(key)
        if param.type is ParameterType.FILE:
            if not isinstance(value, Upload):
                raise BadRequest(f"parameter {key!r} is a file: upload it as "
                                 "multipart/form-data")
            suffix = Path(value.filename or "").suffix
            stored = f"{key}-{secrets.token_hex(4)}" + (
                suffix if _SAFE_SUFFIX.match(suffix) else "")
            uploads.append(PendingUpload(key, value, stored))
            result[key] = JobParameter(key, value.filename or key, True, stored)
            continue
        if isinstance(value, Upload):
            raise BadRequest(f"parameter {key!r} takes a value, not a file")
        try:
            coerce_value(param, value)
        except ParameterValueError as exc:
            raise BadRequest(f"parameter {key!r} {exc}") from None
        result[key] = JobParameter(key, value)
    return list(result.values()), uploads


def require_complete(manifest: AppManifest, parameters: list[JobParameter]) -> None:
    """Refuse to run a job that lacks a required parameter."""
    given = {p.id for p in parameters}
    missing = [name for name, p in manifest.parameters.items()
               if p.required and name not in given]
    if missing:
        raise BadRequest(f"missing required parameter{'s' if len(missing) > 1 else ''} "
                         f"for app {manifest.name}: {', '.join(missing)}")


def store_uploads(files: JobFiles, uploads: list[PendingUpload], limit: int) -> None:
    """Copy the uploads into the job's inputs, `limit` bytes at most for them all; a file
    cut short by the limit or an error is removed, and a job file system that fails (is
    full) answers 503 (blocking: run it in a thread)."""
    written = 0
    try:
        files.create()
        for pending in uploads:
            written = _store(files.inputs / pending.stored, pending, written, limit)
    except OSError as exc:
        raise Unavailable(disk_problem(exc, "storing the uploads")) from exc


def _store(target: Path, pending: PendingUpload, written: int, limit: int) -> int:
    """Copy one upload to `target`, `written` bytes having gone before it; the new total."""
    try:
        with target.open("wb") as out:
            while chunk := pending.upload.stream.read(_COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise TooLarge(f"the uploads are larger than the limit of {limit} "
                                   f"bytes (at parameter {pending.parameter!r})")
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    target.chmod(0o644)
    return written
