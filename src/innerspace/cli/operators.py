"""Commands for whoever runs a data centre: the service itself (`serve`), the Python base
image every app builds on (`base-image`), and the local OCI repository (`repo serve`).

The server, uvicorn and the image builders are imported inside the commands that use them,
so that the client commands of the same program start without them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

import innerspace
from innerspace.cli.common import ConfigOption, console, docker_or_fail, fail, settings_or_fail

commands = typer.Typer()
repo_commands = typer.Typer(help="The local OCI repository of app images.",
                            no_args_is_help=True)


@commands.command()
def version() -> None:
    """Print the innerspace version."""
    console.print(innerspace.__version__)


@commands.command()
def serve(
    config: ConfigOption = None,
    data_dir: Annotated[Path | None, typer.Option(help="where jobs and the database live")
                        ] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the UWS service."""
    import logging
    import socket

    import uvicorn

    from innerspace.server import create_app

    settings = settings_or_fail(config, data_dir=data_dir)
    if not settings.public_url:
        # Registry records need absolute URLs before any request arrives.
        public_host = socket.getfqdn() if host in ("0.0.0.0", "::") else host
        settings.public_url = f"http://{public_host}:{port}"
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    console.print(f"innerspace {innerspace.__version__} on http://{host}:{port}/jobs "
                  f"(data in {settings.data_dir})", highlight=False)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level,
                access_log=log_level == "debug", loop=os.environ.get("INNERSPACE_LOOP", "auto"))


@commands.command("base-image")
def base_image(
    config: ConfigOption = None,
    rebuild: Annotated[bool, typer.Option(help="build again even if present")] = False,
    mirror: Annotated[str, typer.Option(help="Debian mirror")] = "http://deb.debian.org/debian",
) -> None:
    """Build the Python base image from Debian packages (reused when present)."""
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
    from innerspace.apps.registry_server import RegistryServerError, exec_registry

    settings = settings_or_fail(config, data_dir=data_dir)
    console.print(f"OCI registry on http://{address} (storage in "
                  f"{settings.data_dir / 'registry' / 'storage'})", highlight=False)
    try:
        exec_registry(settings.data_dir, address)
    except RegistryServerError as exc:
        fail(str(exc))
