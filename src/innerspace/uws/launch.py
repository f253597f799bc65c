"""What a job's container gets: typed parameters (params.json), the argv rendered from the
manifest's template, and the ContainerSpec the engine runs, with the server's limits applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from innerspace.apps.manifest import AppManifest, template_fields
from innerspace.apps.values import ParameterType, coerce_value
from innerspace.config import Settings
from innerspace.engines.base import (
    CONTAINER_INPUTS,
    CONTAINER_PARAMS,
    CONTAINER_RESULTS,
    CONTAINER_SERVICES,
    ContainerSpec,
)
from innerspace.inner.binding import bind
from innerspace.units import format_memory
from innerspace.uws.disk import free_bytes, human_size
from innerspace.uws.jobfiles import JobFiles
from innerspace.uws.store import Job


def typed_parameters(manifest: AppManifest, job: Job) -> dict[str, Any]:
    """params.json: every parameter with a value (given or default), typed; files as paths."""
    given = {p.id: p for p in job.parameters}
    values: dict[str, Any] = {}
    for name, param in manifest.parameters.items():
        if name in given:
            item = given[name]
            if param.type is ParameterType.FILE:
                values[name] = f"{CONTAINER_INPUTS}/{item.file}"
            else:
                values[name] = coerce_value(param, item.value)
        elif param.default is not None:
            values[name] = coerce_value(param, param.default)
    return values


def render_argv(manifest: AppManifest, values: dict[str, Any]) -> list[str]:
    """The argv template with values filled in; an element naming a parameter that has no
    value is left out, so optional options vanish cleanly (write them as --opt={opt})."""
    argv: list[str] = []
    for arg in manifest.run.argv_template():
        fields = template_fields(arg)
        if any(name not in values for name in fields):
            continue
        argv.append(arg.format(**{name: _argv_text(values[name]) for name in fields}))
    return argv


def _argv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_allowed(settings: Settings, image: str) -> None:
    """Refuse an image from outside the configured registries/namespaces (defence in depth:
    the catalogue only hands out allowed images, but a job record outlives configuration)."""
    prefixes = settings.repository.allowed_prefixes
    if image.startswith("sha256:") and not settings.repository.url:
        return  # a local image id, with no repository configured
    if not any(image.startswith(prefix) for prefix in prefixes):
        raise ValueError(f"image {image} is not from an allowed registry or namespace")


def container_memory(settings: Settings, manifest: AppManifest) -> int:
    return min(manifest.resources.memory_bytes, settings.limits.max_memory)


def result_quota(settings: Settings, manifest: AppManifest) -> int:
    """Bytes the job's results may take: the service's limit, or less if the app asks."""
    asked = manifest.resources.max_result_bytes
    limit = settings.limits.max_result_size
    return limit if asked is None else min(asked, limit)


def check_room(settings: Settings) -> None:
    """Refuse to start a job on a job file system that has less than `min_free_disk` left
    (blocking: run it in a thread)."""
    free = free_bytes(settings.jobs_dir)
    wanted = settings.limits.min_free_disk
    if free < wanted:
        raise ValueError(f"the job file system has {human_size(free)} free, less than the "
                         f"{format_memory(wanted)} it keeps free for jobs to start")


def prepare(settings: Settings, job: Job, files: JobFiles) -> ContainerSpec:
    """Lay out the job's files (params.json, an empty results directory) and describe its
    container. Runs again from scratch if a job is restarted after a crash."""
    manifest = AppManifest.model_validate(job.manifest)
    values = typed_parameters(manifest, job)
    files.create()
    files.clear_results()
    files.params.write_text(json.dumps(values, indent=2))
    files.params.chmod(0o644)
    files.open_results_to(settings.sandbox.uid, settings.sandbox.gid)
    binding = bind(settings.datacentre, manifest)
    services_file = None
    if manifest.inner_apis:
        services_file = files.root / "services.json"
        services_file.write_text(json.dumps(binding.document(), indent=2))
        services_file.chmod(0o644)
    limits = settings.limits
    return ContainerSpec(
        job_id=job.id,
        owner=job.owner,
        app=manifest.name,
        app_version=manifest.version,
        service_id=settings.service_id,
        image=job.image,
        argv=render_argv(manifest, values),
        env={
            "INNERSPACE_JOB_ID": job.id,
            "INNERSPACE_PARAMS": CONTAINER_PARAMS,
            "INNERSPACE_INPUTS": CONTAINER_INPUTS,
            "INNERSPACE_RESULTS": CONTAINER_RESULTS,
            **({"INNERSPACE_SERVICES": CONTAINER_SERVICES} if services_file else {}),
            **binding.env,
        },
        params_file=files.params,
        inputs_dir=files.inputs,
        results_dir=files.results,
        cores=min(manifest.resources.cores, limits.max_cores),
        memory=container_memory(settings, manifest),
        pids=limits.pids,
        tmp_size=limits.tmp_size,
        uid=settings.sandbox.uid,
        gid=settings.sandbox.gid,
        # No single file may pass the quota: the app gets EFBIG rather than the service
        # finding, up to a second later, a file past it.
        max_file_size=result_quota(settings, manifest),
        max_open_files=limits.max_open_files,
        result_quota=result_quota(settings, manifest),
        services_file=services_file,
        mounts=tuple((Path(host), target) for host, target in binding.mounts),
        network=settings.datacentre.inner_network if binding.network else None,
    )
