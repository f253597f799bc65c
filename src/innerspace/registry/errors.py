"""The errors of the registry, in innerspace's one hierarchy.

They know nothing of HTTP: each protocol's renderer turns them into its own answer (a TAP
error VOTable under /registry/tap; under /registry/oai an OAI-PMH error document, or 503 with
Retry-After when the registry itself is in trouble).
"""

from __future__ import annotations

from innerspace.errors import BadRequest, Unavailable


class RegTAPError(BadRequest):
    """A RegTAP request or query that cannot be answered: a parameter, the ADQL, or what
    SQLite made of it (unknown column, time limit); the message is for the user."""


class SearchUnavailable(Unavailable):
    """This service has no usable RegTAP index just now."""


class SearchBusy(SearchUnavailable):
    """Every RegTAP query slot stayed taken while the query waited for one: come back
    later (`retry_after` seconds)."""

    topic = "the registry search is busy"


class RecordsUnavailable(Unavailable):
    """The registry's records cannot be read just now: the registry's fault, not the
    harvester's, so OAI-PMH asks it to come back later."""

    topic = "the registry's records are unavailable"


class RecordError(RecordsUnavailable):
    """A stored record cannot be disseminated (its XML is broken)."""


class HarvestError(Unavailable):
    """Another registry could not be harvested (unreachable, not OAI-PMH, or broken)."""

    topic = "harvesting failed"


class OAIError(HarvestError):
    """The harvested endpoint answered with OAI-PMH errors; `oai_code` is the first one's
    code (badArgument, noRecordsMatch, ...). The message names the codes only: the peer's
    own texts stay out of it (they would reach our clients and logs unchecked)."""

    def __init__(self, endpoint: str, errors: list[tuple[str, str]]) -> None:
        self.endpoint = endpoint
        self.errors = errors
        self.oai_code = errors[0][0]
        listed = ", ".join(dict.fromkeys(code for code, _ in errors))
        super().__init__(f"{endpoint} answered with OAI-PMH errors: {listed}")
