"""Copyable snippets that make a job again, outside the browser: with pyvo, with curl
against the UWS API, and with the `innerspace` command. File parameters are shown as the
file to upload (`@file`), since the browser's copy of it is not the reader's."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from innerspace.uws.store import Job


@dataclass(frozen=True)
class Snippet:
    """One way to make the job again: its `label` and the `text` to copy."""

    label: str
    text: str


def _values(job: Job) -> list[tuple[str, str, bool]]:
    """(name, value, is a file) of each parameter, in the job's order."""
    return [(p.id, p.file if p.file else p.value, bool(p.file)) for p in job.parameters]


def curl(job: Job, service_url: str) -> str:
    lines = [f"curl -L -H 'Authorization: Bearer '\"$TOKEN\" {shlex.quote(service_url)}/jobs",
             f"  -F app={shlex.quote(job.app_reference)}", "  -F PHASE=RUN"]
    for name, value, is_file in _values(job):
        field = f"{name}=@{value}" if is_file else f"{name}={value}"
        lines.append(f"  -F {shlex.quote(field)}")
    return " \\\n".join(lines)


def cli(job: Job, service_url: str) -> str:
    lines = [f"innerspace submit {shlex.quote(job.app_reference)} --wait",
             f"  --url {shlex.quote(service_url)}"]
    for name, value, is_file in _values(job):
        option = "--file" if is_file else "-p"
        lines.append(f"  {option} {shlex.quote(f'{name}={value}')}")
    return " \\\n".join(lines)


def pyvo(job: Job, service_url: str) -> str:
    plain = {name: value for name, value, is_file in _values(job) if not is_file}
    files = {name: value for name, value, is_file in _values(job) if is_file}
    # pyvo has no generic UWS job creator: its session posts the job, its AsyncTAPJob
    # class follows any UWS job (phase, wait, results).
    lines = ["from pyvo.dal import AsyncTAPJob",
             "from pyvo.utils.http import create_session", "",
             f"service = {service_url + '/jobs'!r}",
             "session = create_session()  # add credentials if the service needs them",
             f"data = {{'app': {job.app_reference!r}, 'PHASE': 'RUN', **{plain!r}}}"]
    if files:
        opened = ", ".join(f"{name!r}: open({path!r}, 'rb')" for name, path in files.items())
        lines.append(f"files = {{{opened}}}")
    else:
        lines.append("files = None")
    lines += ["response = session.post(service, data=data, files=files)",
              "response.raise_for_status()",
              "job = AsyncTAPJob(response.url, session=session)",
              "job.wait()",
              "for result in job.result_uris:",
              "    print(result)"]
    return "\n".join(lines)


def snippets(job: Job, service_url: str) -> list[Snippet]:
    """The job's snippets, for the service at `service_url` (its public base URL)."""
    return [Snippet("pyvo", pyvo(job, service_url)),
            Snippet("curl", curl(job, service_url)),
            Snippet("innerspace", cli(job, service_url))]
