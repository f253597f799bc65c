"""Binding a job to the inner APIs its app requires: which of the data centre's APIs satisfy
each requirement, and what the container is given for them (services.json, environment
variables, read-only mounts under /data/<collection>, and the inner network only when a
network API is needed). A job gets exactly what its app asked for, and nothing when it asks
for nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from innerspace.apps.manifest import AppManifest, InnerApiRequirement
from innerspace.config.datacentre import DataCentre, InnerApi
from innerspace.errors import BadRequest
from innerspace.vocabulary import Access, inner_api_kind

DATA_ROOT = "/data"


class MissingInnerApis(BadRequest):
    """The data centre lacks what the app requires; the message names every missing one."""


@dataclass
class Binding:
    """What one job's container receives."""

    services: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    mounts: list[tuple[str, str]] = field(default_factory=list)  # host path -> container path
    network: bool = False

    def document(self) -> dict[str, Any]:
        """services.json: by kind, and by standardID, the APIs bound to this job."""
        by_standard: dict[str, list[dict[str, Any]]] = {}
        for entries in self.services.values():
            for entry in entries:
                by_standard.setdefault(entry["standard_id"], []).append(entry)
        return {"kinds": self.services, "standard_ids": by_standard}


def describe(requirement: InnerApiRequirement) -> str:
    return requirement.kind + (f" with collection {requirement.collection!r}"
                               if requirement.collection else "")


def _satisfies(api: InnerApi, requirement: InnerApiRequirement) -> bool:
    return api.kind == requirement.kind and (
        requirement.collection is None or requirement.collection in api.collections)


def missing(datacentre: DataCentre, manifest: AppManifest) -> list[str]:
    """The app's requirements that no inner API of the data centre satisfies."""
    return [describe(r) for r in manifest.inner_apis
            if not any(_satisfies(api, r) for api in datacentre.inner_apis)]


def _env_name(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def bind(datacentre: DataCentre, manifest: AppManifest) -> Binding:
    """The binding for a job of `manifest`; MissingInnerApis if something is lacking."""
    lacking = missing(datacentre, manifest)
    if lacking:
        raise MissingInnerApis(f"app {manifest.name} needs inner APIs this data centre "
                               f"does not offer: {', '.join(lacking)}")
    binding = Binding()
    for requirement in manifest.inner_apis:
        api = next(a for a in datacentre.inner_apis if _satisfies(a, requirement))
        definition = inner_api_kind(api.kind)
        entry: dict[str, Any] = {"name": api.name, "kind": api.kind,
                                 "standard_id": definition.standard_id,
                                 "collections": list(api.collections)}
        if definition.access is Access.MOUNT:
            wanted = [requirement.collection] if requirement.collection else api.collections
            wanted = wanted or [api.name]
            paths = {}
            for collection in wanted:
                target = f"{DATA_ROOT}/{collection}"
                if (str(api.path), target) not in binding.mounts:
                    binding.mounts.append((str(api.path), target))
                paths[collection] = target
                binding.env[f"INNERSPACE_DATA_{_env_name(collection)}"] = target
            entry["paths"] = paths
            entry["path"] = next(iter(paths.values()))
        else:
            binding.network = True
            entry["url"] = api.url
            if api.bucket:
                entry["bucket"] = api.bucket
            binding.env.setdefault(f"INNERSPACE_{_env_name(api.kind)}_URL", str(api.url))
        entries = binding.services.setdefault(api.kind, [])
        if entry not in entries:
            entries.append(entry)
    return binding
