"""The application manifest: what an app is, how to run it, what it takes and needs.

The pydantic model is the single source of truth; `manifest_json_schema()` derives the
published JSON Schema from it and `validate_manifest()` checks raw data against that schema
first, so that every problem is reported with its location, not just the first one.
"""

from __future__ import annotations

import json
import re
import string
from functools import cache
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from innerspace.apps.values import ParameterType, coerce_value
from innerspace.errors import BadRequest
from innerspace.units import parse_memory
from innerspace.vocabulary import inner_api_kind
from innerspace.xmltext import NOT_XML

MANIFEST_LABEL = "org.innerspace.manifest"
SCHEMA_ID = "https://innerspace.example/schemas/app-manifest.json"

_NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"
_PARAM = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
# Parameter names that UWS itself uses; an app may not claim them.
RESERVED_PARAMETERS = frozenset(
    {"app", "phase", "runid", "action", "destruction", "executionduration", "quote",
     "owner", "wait", "request", "upload", "responseformat", "maxrec"})


class Parameter(BaseModel):
    """One input of an application."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    type: ParameterType = Field(description="how the value is checked and passed")
    description: str = ""
    default: str | int | float | bool | None = Field(
        None, description="used when the job gives no value (not allowed for files)")
    required: bool = Field(False, description="a job must give a value")
    unit: str | None = Field(None, description="physical unit of a numeric value, e.g. deg, s")
    choices: list[str] | None = Field(None, description="allowed values of an enum")
    minimum: float | None = Field(None, description="lower bound of a numeric value")
    maximum: float | None = Field(None, description="upper bound of a numeric value")

    @model_validator(mode="after")
    def _consistent(self) -> Parameter:
        if self.type is ParameterType.ENUM and not self.choices:
            raise ValueError("an enum parameter needs a non-empty 'choices' list")
        if self.type is not ParameterType.ENUM and self.choices is not None:
            raise ValueError("'choices' is only allowed for enum parameters")
        if self.type is ParameterType.FILE and self.default is not None:
            raise ValueError("a file parameter cannot have a default")
        if self.required and self.default is not None:
            raise ValueError("a required parameter cannot have a default")
        if self.default is not None:
            coerce_value(self, self.default)
        return self


class Resources(BaseModel):
    """What one run of the app asks for; the service clips it to its own limits."""

    model_config = ConfigDict(extra="forbid")

    cores: float = Field(1.0, ge=0.01, le=256, description="CPU cores")
    memory: str | int = Field("1G", description="memory limit, e.g. 512M or 2G, or bytes")
    max_execution_time: int = Field(
        3600, ge=1, description="seconds; the job's default UWS executionduration")
    max_result_size: str | int | None = Field(
        None, description="the most its results may take, e.g. 100M; it can only lower the "
                          "service's limit (default: the service's limit)")

    @field_validator("memory", "max_result_size")
    @classmethod
    def _memory(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            parse_memory(value)
        return value

    @property
    def memory_bytes(self) -> int:
        return parse_memory(self.memory)

    @property
    def max_result_bytes(self) -> int | None:
        """The result quota the app asks for, in bytes (None: the service's)."""
        return None if self.max_result_size is None else parse_memory(self.max_result_size)


class Result(BaseModel):
    """A result the app promises to write into /innerspace/results."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    mime_type: str | None = None
    description: str = ""


class InnerApiRequirement(BaseModel):
    """An inner API of the data centre that the app needs (bound at run time)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="inner API kind, e.g. tap, posix-collection")
    collection: str | None = Field(None, description="a named data collection it must expose")

    @field_validator("kind")
    @classmethod
    def _known(cls, value: str) -> str:
        inner_api_kind(value)  # unknown kinds are refused, naming the known ones
        return value


GROUP_NAME = r"^[^\s,]{1,256}$"


class Access(BaseModel):
    """Who may run the app; without it, every caller may. The service's `apps.groups`
    setting overrides it (apps/access.py)."""

    model_config = ConfigDict(extra="forbid")

    groups: list[Annotated[str, Field(pattern=GROUP_NAME)]] = Field(
        min_length=1,
        description="the identity groups whose members may see and run the app (any one "
                    "suffices; administrators always may), as the identity provider names "
                    "them, e.g. astro or /projects/euclid; no spaces or commas")


class Run(BaseModel):
    """How the container is started: an argv template or a Python module."""

    model_config = ConfigDict(extra="forbid")

    command: list[str] | None = Field(
        None, min_length=1,
        description="argv template; {param} fields are replaced by values")
    module: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        description="run as `python3 -m MODULE`")

    @model_validator(mode="after")
    def _one_of(self) -> Run:
        if (self.command is None) == (self.module is None):
            raise ValueError("give exactly one of 'command' (argv list) or 'module'")
        return self

    def argv_template(self) -> list[str]:
        if self.command is not None:
            return list(self.command)
        return ["python3", "-m", str(self.module)]


class AppManifest(BaseModel):
    """The whole description of an application; carried in its image's labels."""

    model_config = ConfigDict(extra="forbid", title="innerspace application manifest")

    name: str = Field(pattern=_NAME, description="lower-case letters, digits, '.', '_' and '-', "
                                                 "starting with a letter or digit; unique in a "
                                                 "repository")
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$",
                         description="version, preferably semantic (1.2.0)")
    title: str = Field(min_length=1)
    description: str = ""
    authors: list[str] = Field(default_factory=list)
    license: str | None = None
    homepage: str | None = None
    subjects: list[str] = Field(default_factory=list, description="keywords, e.g. UAT terms")
    run: Run
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    results: list[Result] = Field(default_factory=list)
    inner_apis: list[InnerApiRequirement] = Field(default_factory=list)
    requirements: list[str] = Field(default_factory=list,
                                    description="pip requirements installed at build time")
    access: Access | None = Field(None, description="limit the app to groups of callers")

    @field_validator("parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, Parameter]) -> dict[str, Parameter]:
        seen: set[str] = set()
        for name in value:
            if not re.match(_PARAM, name):
                raise ValueError(f"parameter name {name!r} must be an identifier")
            if name.lower() in RESERVED_PARAMETERS:
                raise ValueError(f"parameter name {name!r} is reserved by UWS/innerspace")
            if name.lower() in seen:
                raise ValueError(f"parameter names differ only by case: {name!r}")
            seen.add(name.lower())
        return value

    @model_validator(mode="after")
    def _template_fields_known(self) -> AppManifest:
        for arg in self.run.argv_template():
            for field in template_fields(arg):
                if field not in self.parameters:
                    raise ValueError(f"run.command refers to unknown parameter {{{field}}}")
        return self

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def parameter(self, name: str) -> tuple[str, Parameter] | None:
        """The parameter called `name`, compared without regard to case (as UWS does)."""
        lowered = name.lower()
        for key, param in self.parameters.items():
            if key.lower() == lowered:
                return key, param
        return None

    def to_label(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True),
                          separators=(",", ":"), sort_keys=False)


def template_fields(arg: str) -> list[str]:
    """Names of the `{param}` fields in one argv template element. Only plain names are
    allowed: no positional `{}`, conversions (`!r`) or format specs (`:>8`)."""
    names = []
    try:
        parsed = list(string.Formatter().parse(arg))
    except ValueError as exc:
        raise ValueError(f"bad {{field}} in argument {arg!r}: {exc}") from exc
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field or not re.match(_PARAM, field) or spec or conversion:
            raise ValueError(f"argument {arg!r}: write fields as {{name}} with a parameter "
                             f"name, got {{{field}{'!' + conversion if conversion else ''}"
                             f"{':' + spec if spec else ''}}}")
        names.append(field)
    return names


@cache
def manifest_json_schema() -> dict[str, Any]:
    """The published JSON Schema of the manifest (served at /schemas/app-manifest.json)."""
    schema = AppManifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    return schema


class ManifestError(BadRequest, ValueError):
    """A manifest is invalid; `problems` lists every problem as `location: message`."""

    def __init__(self, problems: list[str], source: str = "manifest") -> None:
        self.problems = problems
        super().__init__(f"invalid {source}:\n" + "\n".join(f"  - {p}" for p in problems))


def _unprintable(data: Any, path: str = "") -> list[str]:
    """Locations of strings holding characters no XML document (UWS, registry) can carry."""
    if isinstance(data, str):
        return [f"{path or '(top level)'}: holds control characters"] if NOT_XML.search(
            data) else []
    if isinstance(data, dict):
        return [p for k, v in data.items()
                for p in _unprintable(k, path) + _unprintable(v, f"{path}.{k}".strip("."))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _unprintable(v, f"{path}.{i}")]
    return []


def _problem(error: jsonschema.ValidationError) -> str:
    """`location: message`, with the field's description when a pattern did not match."""
    schema = error.schema
    hint = (f" ({schema['description']})" if error.validator == "pattern"
            and isinstance(schema, dict) and "description" in schema else "")
    return (f"{'.'.join(str(p) for p in error.absolute_path) or '(top level)'}: "
            f"{error.message}{hint}")


def _specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a value matching none of its alternatives (an optional field: the value's schema
    or null), the deepest of the alternatives' errors, which says what is wrong inside."""
    if not error.context:
        return error
    return max(error.context, key=lambda e: len(e.absolute_path))  # the first deepest


def validate_manifest(data: Any, source: str = "manifest") -> AppManifest:
    """Check raw manifest data against the JSON Schema and the model; raise ManifestError."""
    unprintable = _unprintable(data)
    if unprintable:
        raise ManifestError(unprintable, source)
    validator = jsonschema.Draft202012Validator(manifest_json_schema())
    problems = [
        _problem(_specific(error))
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if problems:
        raise ManifestError(problems, source)
    try:
        return AppManifest.model_validate(data)
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        if callable(errors):
            problems = [
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: "
                f"{err['msg'].removeprefix('Value error, ')}"
                for err in errors()
            ]
        else:
            problems = [str(exc)]
        raise ManifestError(problems, source) from exc


ManifestSource = Literal["innerspace.toml", "pyproject.toml"]
