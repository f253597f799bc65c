"""Run every benchmark in one go and write benchmarks/results.json (figures for
docs/benchmarks.md). Run on a quiet machine: `make bench`."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import (
    auth,
    creation,
    joblist,
    planning,
    regtap,
    regtap_scale,
    repository,
    roundtrip,
    swarm,
    throughput,
)


def main() -> int:
    import os

    import docker

    results: dict[str, object] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "docker": docker.from_env().version()["Version"]},
    }
    for name, module in (("1_roundtrip", roundtrip), ("2_creation", creation),
                         ("3_throughput", throughput), ("4_joblist", joblist),
                         ("5_6_repository", repository), ("7_regtap", regtap),
                         ("8_planning", planning), ("9_swarm", swarm), ("10_auth", auth),
                         ("11_regtap_scale", regtap_scale)):
        if module is swarm and os.geteuid() != 0:
            print("==> benchmark 9_swarm skipped: a second engine needs root", flush=True)
            continue
        print(f"==> benchmark {name}", flush=True)
        results[name] = module.run()
        print(json.dumps(results[name], indent=2), flush=True)
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")
    return 0 if all(r.get("met") for r in results.values() if isinstance(r, dict)
                    and "met" in r) else 1


if __name__ == "__main__":
    sys.exit(main())
