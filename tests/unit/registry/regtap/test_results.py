"""Writing RegTAP query results: the VOTable writer stays within its buffers whatever the
length of a row, and TABLEDATA carries what BINARY2 carries."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from astropy.io.votable import parse

from innerspace.registry.regtap import QueryResult
from innerspace.registry.regtap.results import votable_document

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



def test_tabledata_carries_what_binary2_carries() -> None:
    """TABLEDATA rows are written by the service itself (astropy's Python writer was most of
    a large search's time): the same values, types and NULLs as astropy's BINARY2, and only
    characters XML can carry."""
    result = QueryResult(
        ["ivoid", "res_title", "cap_index", "region_of_regard", "n", "updated"],
        [("ivo://a/1", "x < y & z > 0", 1, 1.5, 10**12, "2020-01-01T00:00:00"),
         ("ivo://a/é", "", None, float("nan"), None, None),
         ("ivo://a/3", None, -5, None, 0, "2021-02-03T04:05:06"),
         ("ivo://a/4", "bad \x01 char\x00", 7, float("inf"), -1, None)], False, "q")
    query = "SELECT ivoid, res_title, cap_index, region_of_regard FROM rr.resource"
    tables = [parse(io.BytesIO(votable_document(result, query, serialization)))
              .get_first_table() for serialization in ("tabledata", "binary2")]
    text, binary = (t.to_table(use_names_over_ids=True) for t in tables)
    assert [f.datatype for f in tables[0].fields] == [f.datatype for f in tables[1].fields]
    assert text.colnames == binary.colnames
    for name in text.colnames:
        left, right = text[name], binary[name]
        assert list(getattr(left, "mask", [False] * len(left))) == \
            list(getattr(right, "mask", [False] * len(right))), name
        shown = [str(v) for v in left], [str(v) for v in right]
        assert shown[0][:3] == shown[1][:3], name
    assert text["res_title"][3] == "bad ? char?", "no control character in the XML"
