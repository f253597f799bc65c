"""Checking and converting job parameter values against an app's manifest.

UWS carries every value as a string; here each is checked against its declared type and
turned into the JSON value the app receives in params.json.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from innerspace.errors import BadRequest

_TRUE = {"true", "1", "yes", "on", "t"}
_FALSE = {"false", "0", "no", "off", "f"}


class ParameterType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    ENUM = "enum"
    FILE = "file"
    URL = "url"


class ParameterSpec(Protocol):
    """What checking a value needs to know of its parameter (a manifest's Parameter)."""

    @property
    def type(self) -> ParameterType: ...

    @property
    def choices(self) -> list[str] | None: ...

    @property
    def minimum(self) -> float | None: ...

    @property
    def maximum(self) -> float | None: ...


class ParameterValueError(BadRequest, ValueError):
    """A value does not fit its parameter; the message names the problem."""


def coerce_value(param: ParameterSpec, value: Any) -> Any:
    """The typed value of `value` for `param`, or ParameterValueError."""
    kind = param.type
    if kind is ParameterType.FILE:
        raise ParameterValueError("is a file parameter: upload a file (multipart/form-data)")
    if kind is ParameterType.STRING:
        return _text(value)
    if kind is ParameterType.ENUM:
        text = _text(value)
        if text not in (param.choices or []):
            raise ParameterValueError(
                f"must be one of {', '.join(param.choices or [])}, got {text!r}")
        return text
    if kind is ParameterType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = _text(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ParameterValueError(f"must be a boolean (true/false), got {value!r}")
    if kind is ParameterType.INTEGER:
        if isinstance(value, bool):
            raise ParameterValueError(f"must be an integer, got {value!r}")
        try:
            number: int | float = int(value) if isinstance(value, int) else int(_text(value))
        except ValueError:
            raise ParameterValueError(f"must be an integer, got {value!r}") from None
        return _bounded(param, number)
    if kind is ParameterType.FLOAT:
        if isinstance(value, bool):
            raise ParameterValueError(f"must be a number, got {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise ParameterValueError(f"must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ParameterValueError(f"must be a finite number, got {value!r}")
        return _bounded(param, number)
    if kind is ParameterType.URL:
        text = _text(value).strip()
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https", "ivo", "s3", "ftp") or not parts.netloc:
            raise ParameterValueError(f"must be an absolute URL, got {text!r}")
        return text
    raise ParameterValueError(f"has unsupported type {kind}")  # pragma: no cover


def _text(value: Any) -> str:
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        raise ParameterValueError(f"must be text, got {type(value).__name__}")
    if "\x00" in value:
        raise ParameterValueError("contains a NUL character")
    return value


def _bounded(param: ParameterSpec, number: int | float) -> int | float:
    if param.minimum is not None and number < param.minimum:
        raise ParameterValueError(f"must be >= {param.minimum}, got {number}")
    if param.maximum is not None and number > param.maximum:
        raise ParameterValueError(f"must be <= {param.maximum}, got {number}")
    return number
