"""The staging wrapper inside a cluster job's container: fetch the job's files from the
stage server into /innerspace (a tmpfs), run the app's command, send every result back, and
exit with the app's own status.

Stdlib only, run by the image's python3 as the sandbox user, as PID 1 of the container. The
app sees exactly the runtime contract of the local engine (docs/runtime.md); only this
wrapper knows the stage server and the job's token. The app runs as the same user, so
before anything else the wrapper makes itself non-dumpable (prctl PR_SET_DUMPABLE 0): its
/proc files (environ, mem, ...) then belong to root and it cannot be ptrace'd, which keeps
the token, given to it in its environment, out of the app's reach; the app's environment
never holds it. The app runs under the job's rlimits (largest file, open files), which the
wrapper sets for it, since a Swarm service (API 1.41) cannot ask for ulimits.

Messages go to stderr prefixed "innerspace-stage:"; a staging failure exits with status 75
(EX_TEMPFAIL) after saying what failed.

    python3 job.py [--max-file-size N] [--max-open-files N] [--result-quota N] -- ARGV...
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar
from urllib.parse import quote

ROOT = Path(os.environ.get("INNERSPACE_ROOT", "/innerspace"))
STAGING_FAILED = 75
ATTEMPTS = 9  # about 50 s: long enough for a restarting service's stage server
CHUNK = 1 << 20
PR_SET_DUMPABLE = 4
OPTIONS = {"--max-file-size": "max_file_size", "--max-open-files": "max_open_files",
           "--result-quota": "result_quota"}

T = TypeVar("T")


def say(text: str) -> None:
    sys.stderr.write(f"innerspace-stage: {text}\n")
    sys.stderr.flush()


def make_undumpable() -> None:
    """Make this process non-dumpable: a process of the same user (the app) can then
    neither read its /proc/PID/environ or mem nor ptrace it; an OSError if that fails."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def parse_args(args: list[str]) -> tuple[dict[str, int], list[str]]:
    """The wrapper's options (before `--`) and the app's argv (after it)."""
    if "--" not in args:
        return {}, []
    split = args.index("--")
    options: dict[str, int] = {}
    mine = args[:split]
    for flag, value in zip(mine[::2], mine[1::2], strict=False):
        if flag not in OPTIONS or not value.isdigit():
            raise ValueError(f"unknown option {flag} {value}")
        options[OPTIONS[flag]] = int(value)
    return options, args[split + 1:]


def limit_app(options: dict[str, int]) -> None:
    """Lower this process's rlimits to the job's, soft and hard (no privilege needed):
    the app inherits them, and the wrapper only reads and sends from here on."""
    for name, limit in (("max_file_size", resource.RLIMIT_FSIZE),
                        ("max_open_files", resource.RLIMIT_NOFILE)):
        if name in options:
            _, hard = resource.getrlimit(limit)
            value = options[name] if hard == resource.RLIM_INFINITY else min(options[name], hard)
            resource.setrlimit(limit, (value, value))


def request(url: str, token: str, method: str = "GET", body: BinaryIO | None = None,
            length: int | None = None) -> urllib.request.Request:
    headers = {"Authorization": f"Bearer {token}"}
    if length is not None:
        headers["Content-Length"] = str(length)
    return urllib.request.Request(url, data=body, headers=headers, method=method)


def with_retries(what: str, action: Callable[[], T]) -> T:
    """The stage server may still be starting, or the overlay network still settling."""
    delay = 0.2
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return action()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == ATTEMPTS:
                raise
        except OSError:
            if attempt == ATTEMPTS:
                raise
        say(f"{what}: retrying")
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def fetch_inputs(base: str, token: str) -> None:
    def listing() -> list[dict[str, object]]:
        with urllib.request.urlopen(request(f"{base}/files", token), timeout=30) as answer:
            return list(json.load(answer)["files"])

    for item in with_retries("listing the job's files", listing):
        relative = str(item["path"])
        target = ROOT / relative
        target.parent.mkdir(parents=True, exist_ok=True)

        def download(relative: str = relative, target: Path = target) -> None:
            url = f"{base}/files/{quote(relative)}"
            with urllib.request.urlopen(request(url, token), timeout=60) as answer, \
                    target.open("wb") as stream:
                while chunk := answer.read(CHUNK):
                    stream.write(chunk)

        with_retries(f"fetching {relative}", download)
        target.chmod(0o444)
    (ROOT / "inputs").chmod(0o555)  # read-only, as the local engine mounts them


def result_files(results: Path) -> list[Path]:
    """Regular files under results, symlinks left out (they could point anywhere)."""
    found = []
    for directory, subdirs, names in os.walk(results):
        subdirs[:] = [d for d in subdirs if not os.path.islink(os.path.join(directory, d))]
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return sorted(found)


def send_results(base: str, token: str, results: Path, quota: int | None = None) -> None:
    files = result_files(results)
    total = sum(path.stat().st_size for path in files)
    if quota is not None and total > quota:
        raise OSError(f"the results take {total} bytes, more than the job's quota of "
                      f"{quota} bytes")
    for path in files:
        relative = path.relative_to(results).as_posix()

        def upload(path: Path = path, relative: str = relative) -> None:
            size = path.stat().st_size
            with path.open("rb") as stream:
                url = f"{base}/results/{quote(relative)}"
                with urllib.request.urlopen(request(url, token, "PUT", stream, size),
                                            timeout=300):
                    pass

        try:
            with_retries(f"sending {relative}", upload)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace").strip()
            raise OSError(f"the result {relative} was refused: {detail or exc.code}") from exc


def run(argv: list[str]) -> int:
    child = subprocess.Popen(argv)

    def forward(signum: int, _: object) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    return child.wait()


def main() -> int:
    try:
        make_undumpable()  # first: nothing of the token may be readable by the app
    except (OSError, AttributeError) as exc:
        say(f"cannot protect the job's token from the app, so the app is not run: {exc}")
        return STAGING_FAILED
    token = os.environ.pop("INNERSPACE_STAGE_TOKEN", "")
    base = os.environ.pop("INNERSPACE_STAGE_URL", "")
    try:
        options, argv = parse_args(sys.argv[1:])
    except ValueError as exc:
        say(str(exc))
        return STAGING_FAILED
    results = ROOT / "results"
    if not os.access(ROOT, os.W_OK):
        say(f"{ROOT} is not writable in this image: build it with `innerspace app build` "
            f"(which opens {ROOT} to the sandbox user) to run it on a cluster engine")
        return STAGING_FAILED
    try:
        (ROOT / "inputs").mkdir(parents=True, exist_ok=True)
        results.mkdir(exist_ok=True)
        fetch_inputs(base, token)
    except (OSError, ValueError, KeyError) as exc:
        say(f"could not fetch the job's inputs: {exc}")
        return STAGING_FAILED
    if not argv:
        say("no command to run")
        return STAGING_FAILED
    try:
        limit_app(options)
        status = run(argv)
    except OSError as exc:
        say(f"could not start {argv[0]}: {exc}")
        return 127
    try:
        send_results(base, token, results, options.get("result_quota"))
    except OSError as exc:
        say(f"could not send the results back: {exc}")
        return STAGING_FAILED
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
