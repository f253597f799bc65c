"""The portal's reads of the RegTAP index: ADQL run through the same confined path as
/registry/tap/sync (the index's query gate, then its worker processes, bounded rows), and
quoting for the few values pages put into ADQL. No page sends ADQL of a visitor's own."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from innerspace.errors import BadRequest
from innerspace.registry.regtap.index import RegTAPIndex

Row = dict[str, Any]
MAX_LITERAL = 400  # characters of a value quoted into ADQL
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def index_of(request: Request) -> RegTAPIndex | None:
    """The service's RegTAP index; None when it has none (the pages say so)."""
    index = getattr(getattr(request.app.state, "services", None), "regtap", None)
    return index if isinstance(index, RegTAPIndex) else None


def literal(value: str) -> str:
    """`value` as an ADQL string literal (quotes doubled; control characters refused)."""
    if len(value) > MAX_LITERAL or CONTROL.search(value):
        raise BadRequest(f"the value is longer than {MAX_LITERAL} characters or holds "
                         "control characters")
    return "'" + value.replace("'", "''") + "'"


async def rows(index: RegTAPIndex, adql: str, maxrec: int) -> tuple[list[Row], bool]:
    """The rows of `adql` (column name -> value) and whether MAXREC cut them short; within a
    turn of the index's gate, as /registry/tap/sync runs its queries."""
    async with index.gate.turn():
        result = await run_in_threadpool(index.query, adql, maxrec)
    return [dict(zip(result.names, row, strict=True)) for row in result.rows], result.overflow
