"""The `innerspace` command: run the service, build images and apps, submit and follow jobs.

The commands are grouped by who types them: `operators` (serve, base-image, repo serve),
`authors` (app lint/build/publish/list/show), `jobs` (submit, jobs, job, results, plan,
run), `login` (login, logout, token) and `swarm` (swarm clean); `rendering` shows their
output and `common` holds what they share. This module puts them together into one
program, in the order `innerspace --help` lists them.
"""

from __future__ import annotations

import os

import typer

from innerspace.cli import authors, jobs, login, operators, swarm

app = typer.Typer(help="innerspace: run containerised Python apps next to astronomy data, "
                       "through IVOA UWS.", no_args_is_help=True, add_completion=False)
app.add_typer(operators.commands)  # no name: its commands join the top level
app.add_typer(jobs.commands)
app.add_typer(login.commands)
app.add_typer(authors.commands, name="app")
app.add_typer(operators.repo_commands, name="repo")
app.add_typer(swarm.commands, name="swarm")

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    """Run the program, with unbuffered output for the Python processes it starts."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
