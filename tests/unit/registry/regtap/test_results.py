"""Writing RegTAP query results: the VOTable writer stays within its buffers whatever the
length of a row."""

from __future__ import annotations

import os
import subprocess
import sys

# Whatever the length of a row, the VOTable writer stays within its buffers. astropy's C
# TABLEDATA writer wrote one byte past its row buffer for rows of exactly 256, 512, ... bytes;
# that corrupted the heap silently and crashed the service later, at random. Python's debug
# allocator (PYTHONMALLOC=debug) aborts at once on such an overrun, hence the subprocess.
ROW_LENGTHS_SCRIPT = """
import re
from innerspace.registry.regtap import QueryResult
from innerspace.registry.regtap.results import votable_document
lengths = set()
for n in range(150, 700):
    body = votable_document(QueryResult(["ivoid"], [("x" * n,)], False, "q"), "q")
    lengths.add(len(re.search(rb"\\n( *<TR>.*?</TR>\\n)", body, re.S).group(1)))
assert {256, 512} <= lengths, sorted(lengths)
"""


def test_votable_rows_of_any_length_keep_memory_intact() -> None:
    done = subprocess.run([sys.executable, "-c", ROW_LENGTHS_SCRIPT], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONMALLOC": "debug"})
    assert done.returncode == 0, done.stderr[-3000:]

