"""The staging wrapper (engines/staging/job.py) without a cluster: its options, the rlimits it
hands the app, and the non-dumpable flag it sets on itself (each checked in a child process,
so that this one keeps its own limits)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from innerspace.engines.staging import job


def in_child(code: str) -> str:
    """Run `code` after importing the wrapper, in a fresh interpreter; its stdout."""
    done = subprocess.run([sys.executable, "-c", f"from innerspace.engines.staging import job\n"
                                                 f"{code}"],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_options_come_before_the_apps_argv() -> None:
    options, argv = job.parse_args(["--max-file-size", "1024", "--max-open-files", "64",
                                    "--result-quota", "4096", "--", "python3", "--x=1", "--"])
    assert options == {"max_file_size": 1024, "max_open_files": 64, "result_quota": 4096}
    assert argv == ["python3", "--x=1", "--"]
    assert job.parse_args(["--", "run"]) == ({}, ["run"])
    assert job.parse_args(["run"]) == ({}, [])


@pytest.mark.parametrize("args", [["--max-file-size", "-1", "--", "x"],
                                  ["--unknown", "1", "--", "x"]])
def test_a_bad_option_is_refused(args: list[str]) -> None:
    with pytest.raises(ValueError, match="unknown option"):
        job.parse_args(args)


def test_the_app_inherits_lowered_rlimits() -> None:  # 7: RLIMIT_NOFILE on Linux
    report = "import resource as r; print(r.getrlimit(r.RLIMIT_FSIZE), r.getrlimit(7))"
    out = in_child("import subprocess, sys\n"
                   "job.limit_app({'max_file_size': 4096, 'max_open_files': 50})\n"
                   f"print(subprocess.run([sys.executable, '-c', {report!r}],\n"
                   "                     capture_output=True, text=True).stdout)")
    assert out == "(4096, 4096) (50, 50)"


def test_the_wrapper_makes_itself_non_dumpable() -> None:
    out = in_child("import ctypes\n"
                   "libc = ctypes.CDLL(None)\n"
                   "before = libc.prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE\n"
                   "job.make_undumpable()\n"
                   "print(before, libc.prctl(3, 0, 0, 0, 0))")
    assert out == "1 0"
