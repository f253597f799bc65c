"""The moment a RegTAP query must have ended by. SQLite's progress handler asks it between
steps of the query; the Python functions the query calls ask it before they run (and the
slow ones while they run): once it has passed, SQLite stops the statement."""

from __future__ import annotations

import time


class QueryTimeout(Exception):
    """Raised inside a Python function the query called, once its time is up: SQLite then
    aborts the statement, and the index reports the time limit."""


class Deadline:
    """`seconds` from now. `expired` stays True once the moment has passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False

    def passed(self) -> bool:
        """Whether the time is up (as a progress handler: a true answer interrupts)."""
        if not self.expired and time.monotonic() >= self.at:
            self.expired = True
        return self.expired

    def check(self) -> None:
        """Raise QueryTimeout once the time is up."""
        if self.passed():
            raise QueryTimeout(f"the query ran longer than {self.seconds:g} s")
