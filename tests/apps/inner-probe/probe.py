"""Use the bound inner APIs and try the addresses that must stay out of reach."""

import contextlib
import json
import os
import socket
import time
import urllib.request

from innerspace import runtime


def reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return True
    except OSError:
        return False


files = runtime.service("http-files")
with urllib.request.urlopen(files["url"] + "greeting.txt", timeout=5) as answer:
    served = answer.read().decode()
sky = runtime.data_path("sky")
report = {
    "services": runtime.services(),
    "served": served,
    "sky_files": sorted(os.listdir(sky)),
    "sky_writable": os.access(sky, os.W_OK),
    "data_dirs": sorted(os.listdir("/data")),
    "env": {k: v for k, v in os.environ.items() if k.startswith("INNERSPACE_")},
    "forbidden": {a: reachable(a) for a in filter(None, runtime.params()["forbidden"].split(","))},
}
runtime.write_result("report.json", json.dumps(report, indent=2))

if runtime.params()["listen"]:
    server = socket.create_server(("0.0.0.0", runtime.params()["listen"]))
    server.settimeout(0.2)
    deadline = time.monotonic() + runtime.params()["hold"]
    print("listening", flush=True)
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):  # a time-out: look at the clock again
            server.accept()[0].close()
