"""Benchmark 9: the Swarm engine against the local engine, side by side in one run.

(a) Round trip of a trivial `hello` job (create with PHASE=RUN, UWS WAIT, fetch the result)
    on the local engine, on Swarm placed on the manager node and on Swarm placed on the
    worker node (staging over the overlay network), alternated.
(b) Jobs per second for a batch of `hello` jobs that each sleep 2 s and reserve half a core,
    on Swarm with one node (placed on the manager) and with two nodes, same batch, same
    service limits.

Needs root: it brings up the second node with scripts/swarm-node.sh and takes it down after
(the host engine leaves the swarm again if it was not in one). The two "nodes" share this
machine's 2 cores, so (b) measures scheduling capacity, not extra CPU.
"""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import httpx

from benchmarks.common import ROOT, build_examples, running_service, summary
from benchmarks.roundtrip import innerspace_round_trip
from innerspace.engines.swarm import remove_swarm_objects

ON_MANAGER = "node.labels.org.innerspace.node==manager"
ON_WORKER = "node.labels.org.innerspace.node==isnode2"
NODE_SOCKET = "/run/innerspace/isnode2/docker.sock"


def node_script(action: str) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "swarm-node.sh"), action], check=True,
                   capture_output=True)


def swarm_env(*constraints: str, max_running: int = 4) -> dict[str, str]:
    return {"engine": "swarm", "swarm__constraints": json.dumps(list(constraints)),
            "swarm__poll_interval": "0.1", "limits__max_running_jobs": str(max_running)}


def round_trips(rounds: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"local": [], "swarm_manager": [], "swarm_worker": []}
    with running_service() as (local, _), \
            running_service(**swarm_env(ON_MANAGER)) as (manager, _), \
            running_service(**swarm_env(ON_WORKER)) as (worker, _):
        clients = {name: httpx.Client(base_url=url, timeout=60) for name, url in
                   (("local", local), ("swarm_manager", manager), ("swarm_worker", worker))}
        for http in clients.values():
            innerspace_round_trip(http)  # warm-up
        for _ in range(rounds):
            for name, http in clients.items():
                times[name].append(innerspace_round_trip(http))
        for http in clients.values():
            http.close()
    result: dict[str, Any] = {f"{name}_s": summary(values) for name, values in times.items()}
    local = result["local_s"]["median"]
    result["swarm_manager_vs_local"] = result["swarm_manager_s"]["median"] / local
    result["swarm_worker_vs_local"] = result["swarm_worker_s"]["median"] / local
    return result


def batch(url: str, jobs: int, delay: float) -> float:
    """Seconds to run `jobs` jobs submitted at once, until the last has ended."""
    def one(index: int) -> str:
        with httpx.Client(base_url=url, timeout=120) as http:
            created = http.post("/jobs", data={"app": "hello", "name": f"b{index}",
                                               "delay": str(delay), "PHASE": "RUN"})
            job_url = created.headers["location"]
            phase = "QUEUED"
            while phase not in ("COMPLETED", "ERROR", "ABORTED"):
                answer = http.get(job_url, params={"WAIT": 60})
                phase = answer.text.split("<uws:phase>")[1].split("<")[0]
            return phase

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        phases = list(pool.map(one, range(jobs)))
    elapsed = time.perf_counter() - start
    assert phases == ["COMPLETED"] * jobs, phases
    return elapsed


def throughput(jobs: int, delay: float, repeats: int) -> dict[str, Any]:
    one_node: list[float] = []
    two_nodes: list[float] = []
    with running_service(**swarm_env(ON_MANAGER, max_running=16)) as (single, _), \
            running_service(**swarm_env(max_running=16)) as (both, _):
        batch(single, 2, delay)
        batch(both, 2, delay)
        for _ in range(repeats):
            one_node.append(jobs / batch(single, jobs, delay))
            two_nodes.append(jobs / batch(both, jobs, delay))
    result = {"jobs": jobs, "delay_s": delay, "one_node_jobs_per_s": summary(one_node),
              "two_nodes_jobs_per_s": summary(two_nodes)}
    result["speed_up"] = (result["two_nodes_jobs_per_s"]["median"]
                          / result["one_node_jobs_per_s"]["median"])
    return result


def run(rounds: int = 15) -> dict[str, Any]:
    client = docker.from_env()
    was_in_swarm = client.info()["Swarm"]["LocalNodeState"] == "active"
    image = build_examples()["hello"]
    node_script("up")
    worker = docker.DockerClient(base_url=f"unix://{NODE_SOCKET}")
    try:
        worker.images.load(b"".join(client.images.get(image).save(named=True)))
        manager_node = client.info()["Swarm"]["NodeID"]
        node = client.api.inspect_node(manager_node)
        spec = node["Spec"]
        spec.setdefault("Labels", {})["org.innerspace.node"] = "manager"
        client.api.update_node(manager_node, node["Version"]["Index"], spec)
        result: dict[str, Any] = {"round_trip": round_trips(rounds),
                                  "throughput": throughput(jobs=16, delay=2.0, repeats=3)}
    finally:
        remove_swarm_objects(client)
        worker_id = worker.info()["Swarm"]["NodeID"]
        worker.close()
        node_script("down")
        if was_in_swarm:
            client.api.remove_node(worker_id, force=True)
        else:
            client.swarm.leave(force=True)
    result["target"] = ("Swarm round trip reported against local; two nodes >= 1.5 x the "
                        "jobs/s of one node for jobs limited by node capacity")
    result["met"] = result["throughput"]["speed_up"] >= 1.5
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
