"""coerce_value: every parameter type, with the messages a user sees when a value is wrong.

UWS carries every value as text; coerce_value turns it into the JSON value the app gets in
params.json, or raises ParameterValueError whose message completes "parameter 'x' ...".
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from innerspace.apps.manifest import Parameter
from innerspace.apps.values import ParameterType, ParameterValueError, coerce_value


def param(kind: str, **fields: Any) -> Parameter:
    return Parameter(type=ParameterType(kind), **fields)


def refused(p: Parameter, value: Any) -> str:
    with pytest.raises(ParameterValueError) as caught:
        coerce_value(p, value)
    return str(caught.value)


# -- string --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "Vera Rubin", "  spaces kept  ", "ünïcødé", "a{b}c"])
def test_string_is_passed_unchanged(value: str) -> None:
    assert coerce_value(param("string"), value) == value


def test_string_from_toml_scalars() -> None:
    assert coerce_value(param("string"), 12) == "12"
    assert coerce_value(param("string"), True) == "true"


def test_string_refuses_nul() -> None:
    assert refused(param("string"), "a\x00b") == "contains a NUL character"


def test_string_refuses_non_text() -> None:
    assert refused(param("string"), ["a"]) == "must be text, got list"


# -- integer -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("42", 42), ("-7", -7), (" 12 ", 12), ("+3", 3), (5, 5),
    ("123456789012345678901234567890", 123456789012345678901234567890),
])
def test_integer(text: Any, expected: int) -> None:
    value = coerce_value(param("integer"), text)
    assert value == expected and type(value) is int


@pytest.mark.parametrize("text", ["1.5", "ten", "", "1e3", "0x10"])
def test_integer_refuses_non_integers(text: str) -> None:
    assert refused(param("integer"), text) == f"must be an integer, got {text!r}"


def test_integer_refuses_booleans() -> None:
    assert refused(param("integer"), True) == "must be an integer, got True"


def test_integer_bounds() -> None:
    p = param("integer", minimum=1, maximum=10)
    assert coerce_value(p, "1") == 1
    assert coerce_value(p, "10") == 10
    assert refused(p, "0") == "must be >= 1.0, got 0"
    assert refused(p, "11") == "must be <= 10.0, got 11"


# -- float ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0.0), ("1.5", 1.5), ("-2.25", -2.25), ("1e-3", 0.001), (" 3 ", 3.0), (2, 2.0),
])
def test_float(text: Any, expected: float) -> None:
    value = coerce_value(param("float"), text)
    assert value == expected and isinstance(value, float)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_float_refuses_nan_and_infinity(text: str) -> None:
    assert refused(param("float"), text) == f"must be a finite number, got {text!r}"


@pytest.mark.parametrize("text", ["one", "", "1,5", "1.2.3"])
def test_float_refuses_non_numbers(text: str) -> None:
    assert refused(param("float"), text) == f"must be a number, got {text!r}"


def test_float_refuses_booleans() -> None:
    assert refused(param("float"), False) == "must be a number, got False"


def test_float_bounds() -> None:
    p = param("float", minimum=0, maximum=360)
    assert coerce_value(p, "0") == 0.0
    assert coerce_value(p, "360") == 360.0
    assert refused(p, "-0.5") == "must be >= 0.0, got -0.5"
    assert refused(p, "360.1") == "must be <= 360.0, got 360.1"
    assert math.isfinite(coerce_value(p, "359.999"))


# -- boolean -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["true", "TRUE", "True", "1", "yes", "on", "t", " Yes "])
def test_boolean_true_spellings(text: str) -> None:
    assert coerce_value(param("boolean"), text) is True


@pytest.mark.parametrize("text", ["false", "FALSE", "0", "no", "off", "f", " Off "])
def test_boolean_false_spellings(text: str) -> None:
    assert coerce_value(param("boolean"), text) is False


def test_boolean_from_python_values() -> None:
    assert coerce_value(param("boolean"), True) is True
    assert coerce_value(param("boolean"), 0) is False


@pytest.mark.parametrize("text", ["maybe", "", "2", "y", "n"])
def test_boolean_refuses_other_words(text: str) -> None:
    assert refused(param("boolean"), text) == f"must be a boolean (true/false), got {text!r}"


# -- enum ----------------------------------------------------------------------------------


def test_enum() -> None:
    p = param("enum", choices=["linear", "log", "asinh"])
    assert coerce_value(p, "log") == "log"
    assert refused(p, "sqrt") == "must be one of linear, log, asinh, got 'sqrt'"


def test_enum_is_case_sensitive() -> None:
    p = param("enum", choices=["linear", "log"])
    assert refused(p, "LOG") == "must be one of linear, log, got 'LOG'"


# -- url -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://example.org/data.fits",
    "https://example.org/tap/sync?QUERY=SELECT%201",
    "ivo://ivoa.net/std/UWS",
    "s3://bucket/key.fits",
    "ftp://ftp.example.org/pub/x",
])
def test_url_accepted_schemes(url: str) -> None:
    assert coerce_value(param("url"), url) == url


def test_url_is_stripped() -> None:
    assert coerce_value(param("url"), "  https://example.org/x  ") == "https://example.org/x"


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "javascript:alert(1)", "gopher://example.org/", "example.org/x",
    "/relative/path", "https://", "",
])
def test_url_refused(url: str) -> None:
    assert refused(param("url"), url) == f"must be an absolute URL, got {url!r}"


# -- file ----------------------------------------------------------------------------------


def test_file_values_are_refused() -> None:
    message = refused(param("file"), "/etc/passwd")
    assert message == "is a file parameter: upload a file (multipart/form-data)"
