"""How a job that ran ended: its final phase, the message a user reads, and the app's exit
code. An engine failure is its own case (ExitStatus.failure), never a made-up exit code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from innerspace.apps.manifest import AppManifest
from innerspace.config import Settings
from innerspace.engines.base import ExitStatus
from innerspace.units import format_memory
from innerspace.uws.launch import container_memory
from innerspace.uws.phases import Phase
from innerspace.uws.store import Job

STDERR_TAIL = 800  # characters of stderr quoted in an error summary


@dataclass(frozen=True)
class Outcome:
    """The final phase of a run, why it is not COMPLETED, and the app's exit code (None
    when the app did not end on its own account: the engine failed or lost the job)."""

    phase: Phase
    message: str | None = None
    exit_code: int | None = None


def judge(settings: Settings, job: Job, status: ExitStatus, *, timed_out: bool,
          aborted: bool, stderr: Path, trouble: str | None = None) -> Outcome:
    """The outcome of `job`'s run, which ended with `status`; `stderr` is its collected log.
    `trouble` says what went wrong with the job's files (its results passed their quota,
    the job file system is full): the job ends in ERROR saying so, unless it was aborted."""
    exit_code = status.exit_code if status.failure is None else None
    if aborted:
        return Outcome(Phase.ABORTED, None, exit_code)
    if trouble is not None:
        return Outcome(Phase.ERROR, trouble, exit_code)
    if timed_out:
        return Outcome(Phase.ERROR, f"the job exceeded its execution duration of "
                                    f"{job.execution_duration} s and was stopped", exit_code)
    if status.oom_killed:
        memory = container_memory(settings, AppManifest.model_validate(job.manifest))
        return Outcome(Phase.ERROR, f"the application ran out of memory "
                                    f"(limit {format_memory(memory)})", exit_code)
    if status.failure is not None or status.exit_code is None:
        return Outcome(Phase.ERROR, f"the job failed: {status.failure or 'the engine lost it'}")
    if status.exit_code != 0:
        why = status.error or stderr_tail(stderr)
        message = f"the application exited with status {status.exit_code}"
        return Outcome(Phase.ERROR, f"{message}: {why}" if why else message, exit_code)
    return Outcome(Phase.COMPLETED, None, exit_code)


def stderr_tail(path: Path) -> str:
    """The end of the app's stderr, to say why it failed ("" when there is none)."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    tail = text[-STDERR_TAIL:]
    return ("..." + tail) if len(text) > STDERR_TAIL else tail
