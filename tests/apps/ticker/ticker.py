"""Writes "tick N" to stdout and "tock N" to stderr once a second, flushing each line."""

from __future__ import annotations

import sys
import time

from innerspace import runtime


def main() -> None:
    seconds = int(runtime.params().get("seconds", 120))
    for number in range(1, seconds + 1):
        print(f"tick {number}", flush=True)
        print(f"tock {number}", file=sys.stderr, flush=True)
        time.sleep(1)
    runtime.write_result("ticks.txt", f"{seconds}\n")


if __name__ == "__main__":
    main()
