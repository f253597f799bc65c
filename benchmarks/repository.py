"""Benchmark 5 and 6 (the app repository): with 200 apps in a real OCI registry,
(5) how much resolving the app adds to job creation with a warm catalogue (target < 5 ms),
(6) GET /apps with the catalogue warm (target < 200 ms).

The 200 apps are pushed through the registry API itself (a config blob carrying a valid
manifest label, and an image manifest) so that filling the registry takes seconds.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import build_examples, free_port, running_service, summary
from innerspace.apps.oci import sha256_digest

APPS = 200


def start_registry(storage: Path) -> tuple[subprocess.Popen[bytes], str]:
    from innerspace.apps.registry_server import write_config

    port = free_port()
    config = write_config(storage, f"127.0.0.1:{port}")
    binary = shutil.which("docker-registry")
    if binary is None:
        raise SystemExit("docker-registry is missing: make setup installs it")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/v2/", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("registry did not start")


def push_label_only_app(http: httpx.Client, namespace: str, index: int) -> None:
    name = f"bench-{index:03d}"
    manifest = {
        "name": name, "version": "1.0.0", "title": f"Benchmark app {index}",
        "description": "A catalogue entry for the benchmark (its image has no layers).",
        "run": {"command": ["python3", "-m", "bench", "--x={x}"]},
        "parameters": {"x": {"type": "float", "default": 1.0},
                       "label": {"type": "string", "default": "a"}},
    }
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Labels": {"org.innerspace.manifest": json.dumps(manifest)}},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    digest = sha256_digest(config)
    repo = f"{namespace}/{name}"
    start = http.post(f"/v2/{repo}/blobs/uploads/")
    location = start.headers["location"]  # carries the upload's state as a query string
    separator = "&" if "?" in location else "?"
    http.put(f"{location}{separator}digest={digest}", content=config,
             headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    image_manifest = {"schemaVersion": 2,
                      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                      "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                 "size": len(config), "digest": digest},
                      "layers": []}
    http.put(f"/v2/{repo}/manifests/1.0.0", content=json.dumps(image_manifest).encode(),
             headers={"Content-Type": image_manifest["mediaType"]}).raise_for_status()


def creation_latency(url: str, app: str, count: int = 300) -> list[float]:
    timings = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(20):  # warm-up
            http.post("/jobs", data={"app": app, "x": "2"} if app.startswith("bench")
                      else {"app": app, "name": "x"})
        for _ in range(count):
            data = {"app": app, "x": "2"} if app.startswith("bench") else {"app": app,
                                                                           "name": "x"}
            start = time.perf_counter()
            response = http.post("/jobs", data=data)
            timings.append(time.perf_counter() - start)
            assert response.status_code == 303, response.text
    return timings


def resolve_in_process(url: str, namespace: str) -> dict[str, float]:
    from innerspace.apps.oci import RegistryClient
    from innerspace.apps.repository import RegistryCatalogue

    catalogue = RegistryCatalogue(RegistryClient(url), namespace,
                                  [f"{url.split('://')[1]}/{namespace}/"], ttl=3600)
    catalogue.refresh()
    timings = []
    for i in range(2000):
        start = time.perf_counter()
        image = catalogue.cached(f"bench-{i % APPS:03d}")
        timings.append(time.perf_counter() - start)
        assert image is not None
    return summary(timings)


def run() -> dict[str, Any]:
    build_examples()
    storage = Path(tempfile.mkdtemp(prefix="innerspace-bench-registry-"))
    process, url = start_registry(storage)
    namespace = "bench"
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            started = time.perf_counter()
            for index in range(APPS):
                push_label_only_app(http, namespace, index)
            fill_seconds = time.perf_counter() - started
        resolve = resolve_in_process(url, namespace)
        with running_service(repository__url=url, repository__namespace=namespace,
                             repository__cache_ttl="3600") as (service_url, _):
            with httpx.Client(base_url=service_url, timeout=60) as http:
                assert len(http.get("/apps").json()["apps"]) == APPS  # warm the catalogue
                listing = []
                for _ in range(30):
                    start = time.perf_counter()
                    response = http.get("/apps")
                    listing.append(time.perf_counter() - start)
                assert len(response.json()["apps"]) == APPS
            with_registry = creation_latency(service_url, "bench-100")
        with running_service() as (service_url, _):
            local = creation_latency(service_url, "hello")
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(storage, ignore_errors=True)
    added = statistics.median(with_registry) - statistics.median(local)
    result = {
        "apps": APPS, "fill_seconds": fill_seconds,
        "resolve_cached_s": resolve,
        "create_with_registry_catalogue_s": summary(with_registry),
        "create_with_local_catalogue_s": summary(local),
        "added_by_registry_resolution_s": added,
        "list_apps_s": summary(listing),
        "targets": "resolution adds < 5 ms to creation; GET /apps with 200 apps < 200 ms",
    }
    result["met"] = (max(added, resolve["median"]) < 0.005
                     and result["list_apps_s"]["median"] < 0.200)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
