"""Commands for whoever runs apps: submit a job and follow it, list and inspect jobs,
download results, and plan or run an app across the federation's data centres.

These commands talk to services over HTTP only, through `innerspace.client`: nothing here
needs Docker, SQLAlchemy or the server, which a client-only installation lacks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from innerspace.cli.common import TokenOption, UrlOption, console, fail
from innerspace.cli.rendering import (
    follow,
    job_json,
    job_table,
    jobs_table,
    labelled_grid,
    plan_table,
)
from innerspace.client import Client, ClientError
from innerspace.client.federation import Federation
from innerspace.client.uws import DEFAULT_URL

commands = typer.Typer()

AppArgument = Annotated[str, typer.Argument(metavar="APP", help="name or name:version")]
JobIdArgument = Annotated[str, typer.Argument(metavar="ID")]
ParamOption = Annotated[list[str] | None, typer.Option("-p", "--param", help="key=value")]
FileOption = Annotated[list[str] | None, typer.Option("--file", help="key=PATH to upload")]
CollectionOption = Annotated[str | None, typer.Option(help="the data collection you need")]
WaitOption = Annotated[bool, typer.Option(help="wait for the job to end")]
RegistryUrlOption = Annotated[str | None, typer.Option(
    "--registry", envvar="INNERSPACE_REGISTRY",
    help="RegTAP registry of the federation [default: the --url service's]")]


def key_values(items: list[str] | None, option: str) -> dict[str, str]:
    """`key=value` arguments of `option` as a dict; fail on one without a key or `=`."""
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{option} {item!r} is not key=value")
        pairs[key] = value
    return pairs


@commands.command()
def submit(
    app_ref: AppArgument,
    param: ParamOption = None,
    file: FileOption = None,
    wait: WaitOption = False,
    hold: Annotated[bool, typer.Option(help="create the job PENDING, do not run it")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Submit a job (and start it)."""
    files: dict[str, str | Path] = dict(key_values(file, "--file"))
    for key, path in files.items():
        if not Path(path).is_file():
            fail(f"--file {key}={path}: no such file")
    try:
        with Client(url, token) as client:
            job = client.submit(app_ref, key_values(param, "-p"), files, run=not hold)
            console.print(f"submitted job [bold]{job.job_id}[/] ({job.url})", highlight=False)
            if wait:
                status = follow(job)
                console.print(job_table(status))
                if status.phase != "COMPLETED":
                    raise typer.Exit(1)
    except ClientError as exc:
        fail(str(exc))


def _federation(registry: str | None, url: str | None, token: str | None) -> Federation:
    """The federation seen from `registry`, or from the registry of the --url service."""
    return Federation(registry or url or os.environ.get("INNERSPACE_URL") or DEFAULT_URL,
                      token)


@commands.command()
def plan(
    app_ref: AppArgument,
    param: ParamOption = None,
    collection: CollectionOption = None,
    registry: RegistryUrlOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Rank the data centres of the federation that can run APP (with reasons for the rest)."""
    try:
        federation = _federation(registry, url, token)
        result = federation.plan(app_ref, key_values(param, "-p"), collection=collection)
    except ClientError as exc:
        fail(str(exc))
    result.discard()
    console.print(plan_table(result))
    if not result.ranked:
        raise typer.Exit(1)


@commands.command()
def run(
    app_ref: AppArgument,
    param: ParamOption = None,
    file: FileOption = None,
    at: Annotated[str | None, typer.Option(help="run at this data centre (its authority)")
                  ] = None,
    collection: CollectionOption = None,
    out: Annotated[Path, typer.Option(help="where results go")] = Path("results"),
    registry: RegistryUrlOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Plan, run APP at the best data centre, follow it, and download its results."""
    try:
        federation = _federation(registry, url, token)
        job = federation.run(app_ref, key_values(param, "-p"),
                             key_values(file, "--file") or None, at=at, collection=collection)
        console.print(f"running {escape(app_ref)} as job [bold]{job.job_id}[/] at "
                      f"{escape(job.url)}", highlight=False)
        status = follow(job)
        console.print(job_table(status))
        saved = job.download(out / job.job_id)
    except ClientError as exc:
        fail(str(exc))
    for path in saved:
        console.print(f"{path} ({path.stat().st_size} bytes)", highlight=False)
    if status.phase != "COMPLETED":
        raise typer.Exit(1)


@commands.command("jobs")
def list_jobs(
    phase: Annotated[list[str] | None, typer.Option(help="only jobs in this phase")] = None,
    last: Annotated[int | None, typer.Option(help="only the most recent N")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List your jobs."""
    try:
        with Client(url, token) as client:
            rows = client.jobs(phase, last)
    except ClientError as exc:
        fail(str(exc))
    console.print(jobs_table(rows))


@commands.command()
def usage(
    owner: Annotated[str | None, typer.Option(
        help="another owner's usage (administrators only)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show what your jobs use of the service, and your limits."""
    try:
        with Client(url, token) as client:
            found = client.usage(owner)
    except ClientError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(data=found)
    else:
        console.print(usage_table(found))


def usage_table(found: dict[str, Any]) -> Table:
    """Usage against each limit ("no limit" where there is none)."""
    limits = found.get("limits", {})

    def of(value: object, limit: object, size: bool = False) -> str:
        shown = human_bytes(value) if size else str(value)
        if limit is None:
            return f"{shown} (no limit)"
        return f"{shown} of {human_bytes(limit) if size else limit}"

    table = labelled_grid()
    table.add_row("owner", escape(str(found.get("owner") or "(anonymous)")))
    table.add_row("running", of(found.get("running"), limits.get("max_running_per_owner")))
    table.add_row("queued", of(found.get("queued"), limits.get("max_queued_per_owner")))
    table.add_row("storage", of(found.get("storage_bytes"),
                                limits.get("max_storage_per_owner"), size=True))
    table.add_row("service slots", str(limits.get("max_running_jobs")))
    jobs = found.get("jobs") or {}
    table.add_row("jobs", ", ".join(f"{count} {escape(phase)}"
                                    for phase, count in jobs.items()) or "none")
    return table


def human_bytes(value: object) -> str:
    """Bytes in the largest binary unit that leaves at least 1 (e.g. 1.5 GiB)."""
    size = float(value) if isinstance(value, int | float) else 0.0
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


@commands.command("job")
def show_job(
    job_id: JobIdArgument,
    wait: WaitOption = False,
    abort: Annotated[bool, typer.Option(help="abort the job")] = False,
    delete: Annotated[bool, typer.Option(help="delete the job and its files")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show one job (optionally wait for it, abort or delete it)."""
    try:
        with Client(url, token) as client:
            handle = client.job(job_id)
            if delete:
                handle.delete()
                console.print(f"deleted job {job_id}")
                return
            if abort:
                handle.abort()
            status = follow(handle) if wait else handle.status()
    except ClientError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(job_json(status))
    else:
        console.print(job_table(status))


@commands.command()
def results(
    job_id: JobIdArgument,
    out: Annotated[Path, typer.Option(help="directory to save into")] = Path("results"),
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Download every result of a job."""
    try:
        with Client(url, token) as client:
            saved = client.job(job_id).download(out / job_id if out == Path("results") else out)
    except ClientError as exc:
        fail(str(exc))
    for path in saved:
        console.print(f"{path} ({path.stat().st_size} bytes)", highlight=False)
