"""A RegTAP 1.1 searchable registry: the `rr` tables in SQLite, filled from VOResource
records, queried with ADQL through a TAP 1.1 sync endpoint (plus VOSI capabilities,
availability and tables), so that pyvo.registry and TOPCAT can search it.

- `rr_tables`, `schema`: the tables as data, their SQL, and TAP_SCHEMA;
- `elements`, `ingest`: VOResource records -> rows;
- `adql`: ADQL -> SQLite, refusing anything but one read-only SELECT (and recursion);
- `index`: `RegTAPIndex`, the SQLite database changed record by record (`updates`: one
  transaction per change, WAL for the readers), its queries run in the worker processes of
  `registry.sandbox`; `gate`: how many queries at once;
- `request`, `results`, `vosi`: what a query asks for, the answers, the VOSI documents;
- `routes`: the HTTP side at /registry/tap (the app factory imports it directly).
"""

from innerspace.registry.errors import RegTAPError, SearchUnavailable
from innerspace.registry.regtap.index import LoadReport, QueryResult, RegTAPIndex

__all__ = ["LoadReport", "QueryResult", "RegTAPError", "RegTAPIndex", "SearchUnavailable"]
