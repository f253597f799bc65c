"""What a TAP synchronous request asks for, read from its parameters (names already
lower-cased: TAP parameter names are case-insensitive). Every parameter this service cannot
honour is a `RegTAPError` naming it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from innerspace.registry.errors import RegTAPError
from innerspace.registry.regtap.results import output_format

LANGUAGES = ("ADQL", "ADQL-2.0", "ADQL-2.1")


@dataclass(frozen=True)
class SyncQuery:
    """One doQuery: the ADQL, MAXREC (None: the service's default) and the output format's
    canonical name."""

    adql: str
    maxrec: int | None
    serialization: str

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Sequence[str]]) -> SyncQuery:
        operation = _single(parameters, "REQUEST")
        if operation is not None and operation.strip().lower() != "doquery":
            raise RegTAPError(f"REQUEST={operation} is not supported; use doQuery")
        language = (_single(parameters, "LANG") or "ADQL").strip()
        if language.upper() not in LANGUAGES:
            raise RegTAPError(f"LANG={language} is not supported; use ADQL")
        if parameters.get("upload"):
            raise RegTAPError("UPLOAD is not supported by this service")
        query = _single(parameters, "QUERY")
        if query is None or not query.strip():
            raise RegTAPError("the QUERY parameter is missing")
        maxrec_text = _single(parameters, "MAXREC")
        try:
            maxrec = int(maxrec_text) if maxrec_text is not None else None
        except ValueError:
            raise RegTAPError(f"MAXREC={maxrec_text} is not an integer") from None
        serialization = output_format(_single(parameters, "RESPONSEFORMAT")
                                      or _single(parameters, "FORMAT"))
        return cls(query, maxrec, serialization)


def _single(parameters: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The value of a parameter given at most once (repeating the same value is allowed)."""
    values = parameters.get(name.lower())
    if not values:
        return None
    if len(set(values)) > 1:
        raise RegTAPError(f"{name.upper()} is given more than once")
    return values[0]
