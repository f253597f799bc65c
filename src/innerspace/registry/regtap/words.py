"""The word index of the RegTAP index: a table next to the rr tables that lists the words of
the texts searched by word (a resource's title and description), so that
`1=ivo_hasword(res_description, 'quasar')` looks the word up instead of reading every
description through a Python function.

It holds, for each row of a source table and each of its indexed columns (a `field`
number), the words of the column's text as ivo_hasword sees them
(`sandbox.functions.words`: runs of letters and digits, lower-cased by Python), one row
each. A look-up of the needle's words, compared as they are, finds exactly the rows
ivo_hasword accepts, whatever the script or the punctuation: both sides are the same
function's words. (A plain table, not SQLite's FTS5: its tokenizers are not ivo_hasword's,
and its virtual tables need what a query's guarded connection does not allow: bound
parameters, PRAGMAs, writes of the schema table.)

`updates.IndexWriter` keeps it in the same transactions as the rows it comes from (`rows`
of the texts, inserted with them and deleted before them: the same texts give the same words,
and the index file records the Unicode version its words were made with, `UNICODE`); the
translation rewrites `1=ivo_hasword(...)` into a look-up (`lookup`).
The table is no table of ADQL's: a query reaches it only so.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from innerspace.registry.sandbox.functions import words

UNICODE = unicodedata.unidata_version  # what Python's letters and digits are
TABLE = "index_words"
# (rr table, column) -> its field number in the word index.
INDEXED = {("rr_resource", "res_title"): 1, ("rr_resource", "res_description"): 2}
SOURCES = tuple(dict.fromkeys(table for table, _ in INDEXED))
MAX_WORDS = 64  # a needle with more words is left to ivo_hasword itself

# One b-tree, by word: the look-up reads nothing else, and a record's rows are found by
# their words when it goes (a second index by row would double the writes).
STATEMENTS = (
    f"CREATE TABLE {TABLE} (word TEXT NOT NULL, field INTEGER NOT NULL, "
    "source_row INTEGER NOT NULL, PRIMARY KEY (word, field, source_row)) WITHOUT ROWID",
)
DELETE_STATEMENT = f"DELETE FROM {TABLE} WHERE word = ? AND field = ? AND source_row = ?"
INSERT_STATEMENT = f"INSERT INTO {TABLE} (word, field, source_row) VALUES (?, ?, ?)"


def rows(source: str, found: Iterable[Sequence[Any]]) -> Iterator[tuple[str, int, int]]:
    """The word index rows of `found`: (rowid, then the indexed columns of `source` in the
    order of `columns(source)`) of rows of that table: (word, field, rowid)."""
    fields = [INDEXED[source, column] for column in columns(source)]
    for rowid, *texts in found:
        for field, text in zip(fields, texts, strict=True):
            if text is not None:
                for word in words(str(text)):
                    yield word, field, rowid


def columns(source: str) -> list[str]:
    """The indexed columns of the rr table `source`."""
    return [column for table, column in INDEXED if table == source]


def lookup(source: str, column: str, needle: str) -> str | None:
    """A SELECT of the rowids of the rows of `source` whose `column` has every word of
    `needle` (as ivo_hasword sees them); None when it has no word (ivo_hasword is 0 for
    every row) or too many, or the column has no word index."""
    field = INDEXED.get((source, column))
    wanted = sorted(words(needle))
    if field is None or not wanted or len(wanted) > MAX_WORDS:
        return None
    listed = ", ".join("'" + word.replace("'", "''") + "'" for word in wanted)
    query = f"SELECT source_row FROM {TABLE} WHERE field = {field} AND word IN ({listed})"
    # (source_row, field, word) is unique: a row with as many matches as words has them all.
    return query if len(wanted) == 1 else f"{query} GROUP BY source_row HAVING count(*) = " \
                                          f"{len(wanted)}"
