"""The form of an app, generated from its manifest, and the check of what it sends.

One field per parameter: its HTML input (a number with min/max/step for numbers, a select
for an enum, a checkbox for a boolean, a file input for a file, a URL or text input), its
unit, default, help text (linked by aria-describedby) and required mark. A value is checked
by the job service's own code (uws/parameters.py over apps/values.py), one field at a time,
so that the page shows at each field exactly the message the UWS API gives for it; the
page's script asks for the same check (`check_value`, at /portal/apps/{name}/check).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.datastructures import UploadFile

from innerspace.apps.manifest import AppManifest, Parameter
from innerspace.apps.values import ParameterType
from innerspace.errors import BadRequest
from innerspace.uws.parameters import check_parameters, require_complete
from innerspace.uws.request import Upload
from innerspace.uws.store import JobParameter

VERSION_FIELD = "version"  # the app version a form runs (not a parameter of the app)

INPUT_TYPES = {ParameterType.INTEGER: "number", ParameterType.FLOAT: "number",
               ParameterType.URL: "url", ParameterType.STRING: "text",
               ParameterType.BOOLEAN: "checkbox", ParameterType.FILE: "file"}


def _number(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(frozen=True)
class FormField:
    """One parameter as a form field."""

    name: str
    kind: ParameterType
    label: str
    help: str
    required: bool
    unit: str | None
    default: str
    minimum: str | None
    maximum: str | None
    choices: tuple[str, ...]

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.kind, "text")

    @property
    def step(self) -> str | None:
        if self.kind is ParameterType.INTEGER:
            return "1"
        return "any" if self.kind is ParameterType.FLOAT else None

    @property
    def dom_id(self) -> str:
        return f"p-{self.name}"

    def checked(self, value: str) -> bool:
        return value.strip().lower() in ("true", "1", "yes", "on", "t")


def form_fields(manifest: AppManifest) -> list[FormField]:
    """The form's fields, in the manifest's order."""
    return [_field(name, param) for name, param in manifest.parameters.items()]


def _field(name: str, param: Parameter) -> FormField:
    return FormField(
        name=name, kind=param.type, label=name.replace("_", " "), help=param.description,
        required=param.required, unit=param.unit, default=_text(param.default),
        minimum=_number(param.minimum), maximum=_number(param.maximum),
        choices=tuple(param.choices or ()))


def check_value(manifest: AppManifest, name: str, value: str) -> str | None:
    """The message the job service gives for `value` of parameter `name`, or None when it
    is good (an empty value is no value: the default applies, or the field is missing)."""
    try:
        if value == "":
            param = manifest.parameters.get(name)
            if param is not None and param.required:
                # As the job service says it of a job lacking this parameter only.
                require_complete(manifest, [JobParameter(other, "")
                                            for other in manifest.parameters if other != name])
            return None
        check_parameters(manifest, [(name, value)], existing=())
    except BadRequest as exc:
        return exc.describe()
    return None


@dataclass
class Submission:
    """What a form sent: the values to show again, the job's parameters, the errors."""

    values: dict[str, str]
    parameters: list[tuple[str, str | Upload]]
    errors: dict[str, str]
    version: str | None = None


def read_submission(manifest: AppManifest,
                    fields: Sequence[tuple[str, str | UploadFile]]) -> Submission:
    """The job parameters a form's fields give, each checked on its own (the messages at
    their fields). Empty text and empty file inputs are no value (the default applies); a
    checkbox left unticked is `false` (a browser sends nothing for it)."""
    given: dict[str, str | UploadFile] = {}
    for key, sent in fields:
        if key in manifest.parameters and key not in given:
            given[key] = sent
    submission = Submission({}, [], {}, submitted_version(fields))
    for name, param in manifest.parameters.items():
        value = given.get(name)
        if param.type is ParameterType.BOOLEAN:
            text = "true" if isinstance(value, str) and value else "false"
            submission.values[name] = text
            submission.parameters.append((name, text))
            continue
        if isinstance(value, UploadFile):
            if value.filename:
                submission.parameters.append((name, Upload(value.filename, value.file)))
                submission.values[name] = value.filename
            elif param.required:
                submission.errors[name] = check_value(manifest, name, "") or ""
            continue
        text = value or ""
        submission.values[name] = text
        if param.type is ParameterType.FILE:
            if param.required:
                submission.errors[name] = check_value(manifest, name, "") or ""
            continue
        message = check_value(manifest, name, text)
        if message:
            submission.errors[name] = message
        elif text != "":
            submission.parameters.append((name, text))
    return submission


def submitted_version(fields: Sequence[tuple[str, str | UploadFile]]) -> str | None:
    """The app version a form asks to run (None: the newest)."""
    for name, value in fields:
        if name == VERSION_FIELD and isinstance(value, str):
            return value.strip() or None
    return None


def error_field(manifest: AppManifest, message: str) -> str | None:
    """The parameter a job service message is about (`parameter 'name' ...`), if any."""
    for name in manifest.parameters:
        if message.startswith(f"parameter {name!r}"):
            return name
    return None


def initial_values(fields: Sequence[FormField],
                   previous: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values a new form shows: `previous` ones (a re-run), else the defaults."""
    return {f.name: (previous or {}).get(f.name, f.default) for f in fields}


def given_parameters(parameters: Sequence[JobParameter]) -> dict[str, str]:
    """A job's plain parameters as form values (for re-running it with changes)."""
    return {p.id: p.value for p in parameters if p.file is None}
