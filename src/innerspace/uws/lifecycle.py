"""Phase changes: the one way a job moves from one UWS phase to another.

Queueing, starting, ending, aborting and recovery all call `JobLifecycle.move`, which checks
the move against the phase machine (uws/phases.py), writes the new phase and the values that
go with it in one update, and wakes the WAIT requests watching the job. The update only
applies while the job is still in the phase that was checked, so two changes that meet (an
abort and a natural end) cannot both land: the first wins and the second is refused.
"""

from __future__ import annotations

import time
from typing import Any

from innerspace.uws.errors import JobNotFound, PhaseConflict
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import Phase, check_transition
from innerspace.uws.store import JobStore


class JobLifecycle:
    """Moves jobs between phases in the store and tells the notifier."""

    def __init__(self, store: JobStore, notifier: PhaseNotifier) -> None:
        self._store = store
        self._notifier = notifier

    def move(self, job_id: str, target: Phase, **values: Any) -> Phase:
        """Move the job to `target`, writing `values` with the phase; return the phase it
        left. Raises JobNotFound for a job that is gone, PhaseConflict for a move the phase
        machine forbids or one that another change overtook."""
        job = self._store.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        check_transition(job.phase, target)
        if not self._store.change_phase(job_id, job.phase, target, **values):
            raise PhaseConflict(f"job {job_id} left phase {job.phase} before it could move "
                                f"to {target}")
        self._notifier.changed(job_id)
        return job.phase

    def end(self, job_id: str, phase: Phase, **values: Any) -> bool:
        """End the job in final `phase` now, keeping the values that are not None; an ERROR
        is fatal unless said otherwise, and the progress message goes.

        The first final phase wins: a job that has already ended (or has been deleted) is
        left as it is and False comes back, so that whoever comes second (an abort meeting a
        natural end, a supervisor meeting a deletion) finishes quietly. A move that the phase
        machine forbids from a phase that is not final still raises PhaseConflict."""
        if not phase.is_final:
            raise ValueError(f"{phase} is not a final phase")
        written = {name: value for name, value in values.items() if value is not None}
        written["message"] = None
        written.setdefault("end_time", time.time())
        if phase is Phase.ERROR:
            written.setdefault("error_type", "fatal")
        try:
            self.move(job_id, phase, **written)
        except JobNotFound:
            return False
        except PhaseConflict:
            job = self._store.get(job_id)
            if job is None or job.phase.is_final:
                return False
            raise
        return True
