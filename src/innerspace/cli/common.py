"""What every group of `innerspace` commands shares: the two consoles, the options several
commands take, and the way a command fails (a red message on stderr and exit code 1).

This module is imported by the client commands too, so it loads nothing heavy: the
configuration (pydantic) and the Docker SDK are imported only by the helpers that need them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from docker import DockerClient

    from innerspace.config import Settings

console = Console()
err_console = Console(stderr=True)

UrlOption = Annotated[str | None, typer.Option(
    "--url", envvar="INNERSPACE_URL", help="service URL [default: http://127.0.0.1:8000]")]
TokenOption = Annotated[str | None, typer.Option(
    "--token", envvar="INNERSPACE_TOKEN",
    help="bearer token [default: your `innerspace login` to the service, if any]",
    show_default=False)]
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", envvar="INNERSPACE_CONFIG", help="TOML configuration file")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` as an error and end the command with exit status `code`."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


# What `pip install innerspace[server]` adds, by the module each distribution installs: a
# client-only install (the default) has none of them.
SERVER_MODULES = ("alembic", "astropy", "docker", "fastapi", "jsonschema", "jwt", "numpy",
                  "prometheus_client", "pydantic", "pydantic_settings", "python_multipart",
                  "sqlalchemy", "sqlglot", "uvicorn", "vo_models")


def require_server(command: str) -> None:
    """Fail clearly, naming the extra to install, when `command` (one of the service's, the
    image builders' or the repository's) finds the server's dependencies missing."""
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        fail(f"`innerspace {command}` runs the server side and needs its dependencies "
             f"(missing: {', '.join(missing)}); install them with: "
             "pip install 'innerspace[server]'")


def settings_or_fail(config: Path | None, **overrides: Any) -> Settings:
    """The installation's settings (file, `overrides`, environment), or a clear failure."""
    from innerspace.config import ConfigError, load_settings

    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        fail(str(exc))


def docker_or_fail(settings: Settings) -> DockerClient:
    """A client of the configured Docker engine that answered a ping, or a clear failure."""
    from docker.errors import DockerException

    from innerspace.dockerhost import docker_client

    try:
        client = docker_client(settings.docker_host)
        client.ping()
    except DockerException as exc:
        fail(f"cannot reach the Docker engine ({exc}); is dockerd running? "
             "`make setup` installs and starts it")
    return client
