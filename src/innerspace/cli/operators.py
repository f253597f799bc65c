"""Commands for whoever runs a data centre: the service itself (`serve`), the Python base
image every app builds on (`base-image`), and the local OCI repository (`repo serve`).

The server, uvicorn and the image builders are imported inside the commands that use them,
so that the client commands of the same program start without them.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

import innerspace
from innerspace.cli.common import (
    ConfigOption,
    console,
    docker_or_fail,
    err_console,
    fail,
    require_server,
    settings_or_fail,
)

if TYPE_CHECKING:
    from innerspace.config import Settings

commands = typer.Typer()
repo_commands = typer.Typer(help="The local OCI repository of app images.",
                            no_args_is_help=True)


@commands.command()
def version() -> None:
    """Print the innerspace version."""
    console.print(innerspace.__version__)


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the service to this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, settings: Settings) -> str | None:
    """What to tell an operator whose service anyone beyond this machine may use; None when
    it listens on loopback only or needs a token."""
    if is_loopback(host) or not settings.anonymous_allowed:
        return None
    return (f"innerspace listens on {host}, beyond this machine, and accepts requests without "
            "a token: anyone who can reach this address can run jobs on this machine and "
            "read their results. Configure bearer tokens (tokens = {\"<secret>\" = "
            "\"<owner>\"} in the configuration file, or INNERSPACE_TOKENS=<secret>=<owner>; "
            "allow_anonymous then defaults to false), or listen on 127.0.0.1 behind a proxy "
            "that authenticates.")


@commands.command()
def serve(
    config: ConfigOption = None,
    data_dir: Annotated[Path | None, typer.Option(help="where jobs and the database live")
                        ] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    log_level: Annotated[str | None, typer.Option(
        help="debug, info, warning, error or critical [default: logging.level, info]")
                         ] = None,
) -> None:
    """Run the UWS service."""
    require_server("serve")
    import logging
    import socket

    import uvicorn

    from innerspace.observability import configure_logging
    from innerspace.observability.logs import check_level
    from innerspace.server import create_app, http_protocol

    settings = settings_or_fail(config, data_dir=data_dir)
    if not settings.public_url:
        # Registry records need absolute URLs before any request arrives.
        public_host = socket.getfqdn() if host in ("0.0.0.0", "::") else host
        settings.public_url = f"http://{public_host}:{port}"
    try:
        level = check_level(log_level or settings.logging.level)
    except ValueError as exc:
        fail(f"--log-level: {exc}")
    # One handler for every logger, uvicorn's included (log_config=None leaves them to it);
    # uvicorn's own access log is off: it would log query strings, the access log of
    # observability/requests.py does not.
    configure_logging(settings.logging.format, level)
    warning = exposure_warning(host, settings)
    if warning:
        err_console.print(f"[bold red]WARNING: {escape(warning)}[/]", highlight=False)
        logging.getLogger("innerspace").warning(warning)
    console.print(f"innerspace {innerspace.__version__} on http://{host}:{port}/jobs "
                  f"(data in {settings.data_dir})", highlight=False)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=level, log_config=None,
                access_log=False, loop=os.environ.get("INNERSPACE_LOOP", "auto"),
                http=http_protocol(settings),
                # The TCP peer stays the request's client: auth.trusted_proxies is checked
                # against it, never against an X-Forwarded-For anyone could send.
                proxy_headers=False)


@commands.command("base-image")
def base_image(
    config: ConfigOption = None,
    rebuild: Annotated[bool, typer.Option(help="build again even if present")] = False,
    mirror: Annotated[str, typer.Option(help="Debian mirror")] = "http://deb.debian.org/debian",
) -> None:
    """Build the Python base image from Debian packages (reused when present)."""
    require_server("base-image")
    from innerspace.apps.base_image import BaseImageError, build_base_image

    settings = settings_or_fail(config)
    client = docker_or_fail(settings)
    try:
        build_base_image(client, settings.base_image, rebuild=rebuild, mirror=mirror,
                         say=lambda line: console.print(line, highlight=False))
    except BaseImageError as exc:
        fail(str(exc))


@repo_commands.command("serve")
def repo_serve(
    config: ConfigOption = None,
    data_dir: Annotated[Path | None, typer.Option(help="storage lives in DATA_DIR/registry")
                        ] = None,
    address: Annotated[str, typer.Option(help="host:port to listen on")] = "127.0.0.1:5000",
) -> None:
    """Run Debian's docker-registry (CNCF distribution) with storage under the data dir."""
    require_server("repo serve")
    from innerspace.apps.registry_server import RegistryServerError, exec_registry

    settings = settings_or_fail(config, data_dir=data_dir)
    console.print(f"OCI registry on http://{address} (storage in "
                  f"{settings.data_dir / 'registry' / 'storage'})", highlight=False)
    try:
        exec_registry(settings.data_dir, address)
    except RegistryServerError as exc:
        fail(str(exc))
