"""Use the job file system as the test asks; report what happened in results/hog.json."""

import errno
import json
import os
import resource
import time
from typing import Any

from innerspace import runtime

MiB = 1024 * 1024


def big_file(size_mb: int) -> dict[str, Any]:
    """Write one file of `size_mb` MiB, or as much of it as the limits allow."""
    path = runtime.result_path("big.bin")
    written = 0
    error = None
    try:
        with path.open("wb", buffering=0) as handle:
            for _ in range(size_mb):
                written += handle.write(b"b" * MiB)
    except OSError as exc:
        error = errno.errorcode.get(exc.errno or 0, str(exc))
    size = path.stat().st_size
    path.unlink()
    return {"written": written, "size": size, "error": error}


def open_files(count: int) -> dict[str, Any]:
    """Hold up to `count` files open at once."""
    handles = []
    error = None
    try:
        for _ in range(count):
            handles.append(open("/dev/null", "rb"))  # noqa: SIM115 - held open on purpose
    except OSError as exc:
        error = errno.errorcode.get(exc.errno or 0, str(exc))
    opened = len(handles)
    for handle in handles:
        handle.close()
    return {"opened": opened, "error": error}


def read_only_tree() -> None:
    """Nested directories and files, all read-only, as an app might leave them."""
    top = runtime.result_path("locked/a/b/c/deep.txt")
    top.write_text("deep\n")
    runtime.write_result("locked/a/top.txt", "top\n")
    for directory, _, files in sorted(os.walk(top.parents[3]), reverse=True):
        for name in files:
            os.chmod(os.path.join(directory, name), 0o444)
        os.chmod(directory, 0o555)


def main() -> None:
    params = runtime.params()
    report: dict[str, Any] = {
        "rlimit_fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
        "rlimit_nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
    }
    if params["big_file_mb"]:
        report["big_file"] = big_file(params["big_file_mb"])
    if params["open_files"]:
        report["open_files"] = open_files(params["open_files"])
    runtime.write_result("hog.json", json.dumps(report, indent=2))
    print("hog.json written", flush=True)
    for index in range(params["write_mb"]):
        with runtime.result_path(f"data-{index:03d}.bin").open("wb") as handle:
            handle.write(b"d" * MiB)
    if params["read_only_tree"]:
        read_only_tree()
    if params["sleep"]:
        time.sleep(params["sleep"])


if __name__ == "__main__":
    main()
