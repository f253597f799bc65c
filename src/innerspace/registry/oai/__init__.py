"""The OAI-PMH 2.0 interface of the publishing registry (IVOA Registry Interfaces 1.1).

`respond` answers one request (all six verbs, metadata formats `ivo_vor` and `oai_dc`, the
`ivo_managed` set, deleted records, stateless resumption tokens, every OAI error code) from
the records it is handed. Every bad request is an OAI error document with HTTP 200, as
OAI-PMH requires.

- `protocol`: formats, sets, verbs, argument checking, datestamps;
- `tokens`: resumption tokens;
- `documents`: the envelope, headers, records, Dublin Core, the error document;
- `verbs`: the six verbs and `respond`;
- `routes`: the HTTP side at /registry/oai (the app factory imports it directly).
"""

from innerspace.registry.errors import RecordError, RecordsUnavailable
from innerspace.registry.oai.documents import dublin_core
from innerspace.registry.oai.protocol import Repository, datestamp
from innerspace.registry.oai.verbs import respond

__all__ = ["RecordError", "RecordsUnavailable", "Repository", "datestamp", "dublin_core",
           "respond"]
