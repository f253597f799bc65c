"""Writes an endless line and floods progress lines, then a result saying what it did."""

from __future__ import annotations

import json
import sys

from innerspace import runtime


def main() -> None:
    params = runtime.params()
    chunk = "x" * (1024 * 1024)
    for _ in range(int(params.get("line_mb", 0))):
        sys.stdout.write(chunk)
    sys.stdout.flush()
    lines = int(params.get("progress_lines", 0))
    if lines:
        sys.stdout.write("\n")
        for number in range(lines):
            runtime.progress(number / lines, f"line {number}")
    runtime.write_result("noisy.json", json.dumps({"line_mb": params.get("line_mb", 0),
                                                   "progress_lines": lines}))


if __name__ == "__main__":
    main()
