"""`innerspace swarm clean`: take down what innerspace services left on a Docker Swarm.

A service stopped cleanly takes its own objects down (engines/swarm/engine.py); this is for
a service that crashed or was killed, and is what `make stop` runs. Run it on the manager
node the services ran on (their stage servers are containers there).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from innerspace.cli.common import ConfigOption, console, fail, require_server, settings_or_fail

commands = typer.Typer(help="The Docker Swarm the service runs jobs on.", no_args_is_help=True)


@commands.command("clean")
def clean(
    config: ConfigOption = None,
    jobs: Annotated[bool, typer.Option(
        "--jobs", help="also remove the jobs a stopped service left running")] = False,
    everything: Annotated[bool, typer.Option(
        "--all", help="remove everything innerspace made on the swarm, running services' "
                      "too")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", help="say nothing when there is no swarm here (for scripts)")] = False,
) -> None:
    """Remove what stopped or crashed innerspace services left on the swarm.

    Their stage servers, networks and configs go; services still running are left alone,
    and so are jobs a stopped service left running (it picks them up when it starts
    again), unless --jobs. Run it on the manager node the services ran on.
    """
    require_server("swarm clean")
    from docker.errors import DockerException

    from innerspace.dockerhost import docker_client
    from innerspace.engines.swarm import clean_swarm, remove_swarm_objects

    settings = settings_or_fail(config)
    try:
        client = docker_client(settings.docker_host)
        swarm = client.info().get("Swarm") or {}
    except DockerException as exc:
        if quiet:
            raise typer.Exit(0) from exc
        fail(f"cannot reach the Docker engine ({exc})")
    if not swarm.get("ControlAvailable"):
        if quiet:
            raise typer.Exit(0)
        fail("this Docker engine is not a Swarm manager: run `innerspace swarm clean` on the "
             "manager node the services ran on")
    if everything:
        removed, kept = remove_swarm_objects(client), []
    else:
        report = clean_swarm(client, jobs=jobs)
        removed, kept = report.removed, report.kept
    for line in removed:
        console.print(f"removed {escape(line)}", highlight=False)
    for line in kept:
        console.print(f"kept {escape(line)}", highlight=False)
    if not removed and not kept and not quiet:
        console.print("nothing to clean", highlight=False)
