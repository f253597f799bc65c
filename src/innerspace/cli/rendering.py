"""How the `innerspace` command shows things: rich tables of jobs, plans and apps, the
live status line of a job being followed, and the colour of each UWS phase."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table

from innerspace.cli.common import console

if TYPE_CHECKING:
    from innerspace.client import JobHandle, JobStatus
    from innerspace.client.federation import Plan

PHASE_STYLES = {"COMPLETED": "green", "ERROR": "red", "ABORTED": "yellow",
                "EXECUTING": "cyan", "QUEUED": "blue"}


def phase_style(phase: str) -> str:
    """The rich style of a UWS phase (white for the phases that need no attention)."""
    return PHASE_STYLES.get(phase, "white")


def styled_phase(phase: str) -> str:
    """`phase` as rich markup in its colour."""
    return f"[{phase_style(phase)}]{phase}[/]"


def labelled_grid() -> Table:
    """A borderless two-column table of bold labels and their values."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    return table


def job_table(status: JobStatus) -> Table:
    """Everything about one job: app, phase, times, owner, parameters, error, results."""
    table = labelled_grid()
    table.add_row("job", status.job_id)
    table.add_row("app", escape(f"{status.info.get('app', '?')} "
                                f"{status.info.get('appVersion', '')}"))
    table.add_row("phase", styled_phase(status.phase))
    for label, moment in (("created", status.creation_time), ("started", status.start_time),
                          ("ended", status.end_time), ("quote", status.quote),
                          ("destruction", status.destruction)):
        if moment:
            table.add_row(label, moment.isoformat(timespec="seconds"))
    if status.owner:
        table.add_row("owner", escape(status.owner))
    if status.parameters:
        table.add_row("parameters", escape(", ".join(
            f"{k}={v}" for k, v in status.parameters.items())))
    if status.error:
        table.add_row("error", f"[red]{escape(status.error)}[/]")
    for result in status.results:
        table.add_row("result", escape(f"{result.id} ({result.size} bytes, "
                                       f"{result.mime_type})"))
    return table


def job_json(status: JobStatus) -> str:
    """One job as a JSON document (times in ISO 8601), for scripts."""
    data: dict[str, Any] = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                            for k, v in status.__dict__.items() if k != "results"}
    data["results"] = [r.__dict__ for r in status.results]
    return json.dumps(data)


def jobs_table(rows: list[dict[str, Any]]) -> Table:
    """The job list: id, phase, creation time and run id of each job."""
    table = Table("job", "phase", "created", "run id")
    for row in rows:
        table.add_row(row["id"], styled_phase(row["phase"] or ""), row["created"],
                      escape(row["run_id"] or ""))
    return table


def follow(job: JobHandle) -> JobStatus:
    """Wait for a job with a live status line; return its final status."""
    spinner = Spinner("dots", text=f"job {job.job_id}: submitting")
    with Live(spinner, console=console, transient=True, refresh_per_second=10):
        def show(status: JobStatus) -> None:
            message = status.info.get("message")
            spinner.update(text=f"job {status.job_id}: {styled_phase(status.phase)}"
                                + (f"  {escape(message)}" if message else ""))
            # Without a terminal the live line is not drawn: log each phase change instead.
            if not sys.stdout.isatty():
                console.print(f"job {status.job_id}: {status.phase}", highlight=False)
        return job.wait(on_change=show)


def plan_table(plan: Plan) -> Table:
    """The data centres of a plan, best first, then those left out and why."""
    table = Table()
    for title in ("rank", "data centre", "execution service", "quote", "note"):
        table.add_column(title, overflow="fold")  # identifiers and URLs are never cut
    for rank, candidate in enumerate(plan.ranked, 1):
        quote = candidate.quote.isoformat(timespec="seconds") if candidate.quote else "?"
        table.add_row(str(rank), escape(candidate.authority), escape(candidate.jobs_url or ""),
                      quote, "")
    for candidate in plan.excluded:
        table.add_row("-", escape(candidate.authority), escape(candidate.jobs_url or ""), "",
                      f"[yellow]left out: {escape(candidate.reason or '')}[/]")
    return table


def apps_table(rows: list[dict[str, Any]]) -> Table:
    """One line per app version (rows are app summaries, as /apps gives them)."""
    table = Table("name", "version", "title", "parameters", "digest")
    for row in rows:
        table.add_row(escape(row["name"]), escape(row["version"]), escape(row["title"]),
                      escape(", ".join(row["parameters"])), str(row["digest"])[:19])
    return table


def app_details(row: dict[str, Any]) -> Table:
    """One app version in full: image, parameters, resources, results, inner APIs."""
    table = labelled_grid()
    table.add_row("app", escape(f"{row['name']} {row['version']}: {row['title']}"))
    if row["description"]:
        table.add_row("description", escape(row["description"]))
    table.add_row("image", escape(row["image"]))
    for pname, param in row["parameters"].items():
        extras = ", ".join(f"{k}={v}" for k, v in param.items()
                           if k not in ("type", "description"))
        table.add_row("parameter", escape(f"{pname} ({param['type']}{', ' if extras else ''}"
                                          f"{extras}) {param.get('description', '')}"))
    resources = row["resources"]
    table.add_row("resources", escape(f"{resources['cores']} cores, {resources['memory']}"
                                      f", at most {resources['max_execution_time']} s"))
    for result in row["results"]:
        table.add_row("result", escape(f"{result['name']} {result.get('description', '')}"))
    for api in row["inner_apis"]:
        table.add_row("inner API", escape(str(api)))
    return table
