"""The `innerspace` command: run the service, build images and apps, submit and follow jobs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table

import innerspace
from innerspace.client import Client, ClientError, JobStatus

app = typer.Typer(help="innerspace: run containerised Python apps next to astronomy data, "
                       "through IVOA UWS.", no_args_is_help=True, add_completion=False)
app_commands = typer.Typer(help="Build, check and list applications.", no_args_is_help=True)
app.add_typer(app_commands, name="app")
console = Console()
errors = Console(stderr=True)

UrlOption = Annotated[str | None, typer.Option(
    "--url", envvar="INNERSPACE_URL", help="service URL [default: http://127.0.0.1:8000]")]
TokenOption = Annotated[str | None, typer.Option(
    "--token", envvar="INNERSPACE_TOKEN", help="bearer token", show_default=False)]
AppArgument = Annotated[str, typer.Argument(metavar="APP", help="name or name:version")]
ParamOption = Annotated[list[str] | None, typer.Option("-p", "--param", help="key=value")]
FileOption = Annotated[list[str] | None, typer.Option("--file", help="key=PATH to upload")]
CollectionOption = Annotated[str | None, typer.Option(help="the data collection you need")]
RegistryOption = Annotated[str | None, typer.Option(
    "--registry", help="an OCI registry URL instead of the configured repository")]
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", envvar="INNERSPACE_CONFIG", help="TOML configuration file")]


def fail(message: str, code: int = 1) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def settings_or_fail(config: Path | None, **overrides: Any) -> Any:
    from innerspace.config import ConfigError, load_settings

    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        fail(str(exc))


def docker_or_fail(settings: Any) -> Any:
    from docker.errors import DockerException

    from innerspace.engines.docker import docker_client

    try:
        client = docker_client(settings.docker_host)
        client.ping()
    except DockerException as exc:
        fail(f"cannot reach the Docker engine ({exc}); is dockerd running? "
             "`make setup` installs and starts it")
    return client


@app.command()
def version() -> None:
    """Print the innerspace version."""
    console.print(innerspace.__version__)


@app.command()
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

    import uvicorn

    from innerspace.server import create_app

    settings = settings_or_fail(config, data_dir=data_dir)
    if not settings.public_url:
        # Registry records need absolute URLs before any request arrives.
        import socket

        public_host = socket.getfqdn() if host in ("0.0.0.0", "::") else host
        settings.public_url = f"http://{public_host}:{port}"
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    console.print(f"innerspace {innerspace.__version__} on http://{host}:{port}/jobs "
                  f"(data in {settings.data_dir})", highlight=False)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level,
                access_log=log_level == "debug", loop=os.environ.get("INNERSPACE_LOOP", "auto"))


@app.command("base-image")
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


@app_commands.command("lint")
def app_lint(directory: Annotated[Path, typer.Argument(help="the app's project directory")]
             ) -> None:
    """Check an app's manifest against the JSON Schema and explain every problem."""
    from innerspace.apps.manifest import ManifestError
    from innerspace.apps.project import load_project

    try:
        project = load_project(directory)
    except ManifestError as exc:
        fail(str(exc))
    manifest = project.manifest
    console.print(f"[green]ok[/]: {manifest.name} {manifest.version} "
                  f"({len(manifest.parameters)} parameters, {len(project.files())} files)")


@app_commands.command("build")
def app_build(
    directory: Annotated[Path, typer.Argument(help="the app's project directory")],
    config: ConfigOption = None,
    tag: Annotated[str | None, typer.Option(help="image tag [default: prefix+name:version]")
                   ] = None,
    extra_ca: Annotated[list[Path] | None, typer.Option(
        "--extra-ca", help="CA certificate trusted while installing requirements")] = None,
    push: Annotated[bool, typer.Option(help="push it to the configured repository")] = False,
    registry: RegistryOption = None,
) -> None:
    """Build an app image whose labels carry its manifest (and push it with --push)."""
    from innerspace.apps.base_image import base_image_exists
    from innerspace.apps.builder import AppBuildError, build_app_image, image_tag
    from innerspace.apps.manifest import ManifestError
    from innerspace.apps.project import load_project

    settings = settings_or_fail(config)
    try:
        project = load_project(directory)
    except ManifestError as exc:
        fail(str(exc))
    client = docker_or_fail(settings)
    if not base_image_exists(client, settings.base_image):
        fail(f"base image {settings.base_image} is missing: run `innerspace base-image`")
    target = tag or image_tag(project.manifest, settings.app_image_prefix)
    try:
        image_id = build_app_image(client, project, base_image=settings.base_image, tag=target,
                                   extra_ca_certificates=extra_ca,
                                   say=lambda line: console.print(f"  {line}", highlight=False))
    except AppBuildError as exc:
        fail(f"building {target} failed:\n{exc}")
    console.print(f"built [bold]{escape(target)}[/] ({image_id[:19]})", highlight=False)
    if push:
        _publish(client, image_id, project.manifest, settings, registry)


def _publish(client: Any, image_id: str, manifest: Any, settings: Any,
             registry: str | None) -> None:
    from innerspace.apps.publish import PublishError, push_app_image

    repository = settings.repository
    if registry:
        repository = repository.model_copy(update={"url": registry.rstrip("/")})
    try:
        pinned = push_app_image(client, image_id, manifest, repository,
                                say=lambda line: console.print(line, highlight=False))
    except PublishError as exc:
        fail(str(exc))
    console.print(f"published [bold]{escape(manifest.ref)}[/] as {escape(pinned)}",
                  highlight=False)


@app_commands.command("publish")
def app_publish(
    directory: Annotated[Path, typer.Argument(help="the app's project directory")],
    config: ConfigOption = None,
    extra_ca: Annotated[list[Path] | None, typer.Option(
        "--extra-ca", help="CA certificate trusted while installing requirements")] = None,
    registry: RegistryOption = None,
) -> None:
    """Build an app and push it to the repository (same as `app build --push`)."""
    app_build(directory, config=config, tag=None, extra_ca=extra_ca, push=True,
              registry=registry)


def _catalogue_rows(url: str | None, token: str | None, registry: str | None,
                    local: bool, config: Path | None, refresh: bool) -> list[dict[str, Any]]:
    from innerspace.apps.routes import app_summary

    if local or registry:
        settings = settings_or_fail(config)
        if registry:
            from innerspace.apps.catalogue import CatalogueUnavailable
            from innerspace.apps.oci import RegistryClient
            from innerspace.apps.repository import RegistryCatalogue

            repository = settings.repository
            client = RegistryClient(registry, repository.username, repository.password)
            catalogue: Any = RegistryCatalogue(client, repository.namespace,
                                               [f"{client.host}/{repository.namespace}/"])
            try:
                catalogue.refresh()
            except CatalogueUnavailable as exc:
                fail(str(exc))
            for where, problem in catalogue.problems.items():
                errors.print(f"[yellow]refused[/] {escape(where)}: {escape(problem)}")
        else:
            from innerspace.apps.catalogue import LocalEngineCatalogue

            catalogue = LocalEngineCatalogue(docker_or_fail(settings))
        return [app_summary(a) for a in catalogue.apps()]
    try:
        with Client(url, token) as client_:
            if refresh:
                client_.refresh_apps()
            status = client_.catalogue()
            if status.get("stale"):
                errors.print(f"[yellow]the catalogue is stale:[/] "
                             f"{escape(str(status.get('problem')))}")
            return client_.apps()
    except ClientError as exc:
        fail(str(exc))
    return []


@app_commands.command("list")
def app_list(
    url: UrlOption = None,
    token: TokenOption = None,
    registry: RegistryOption = None,
    local: Annotated[bool, typer.Option(help="list images on the local engine, not a service")
                     ] = False,
    refresh: Annotated[bool, typer.Option(help="ask the service to re-read its repository")
                       ] = False,
    config: ConfigOption = None,
) -> None:
    """Show the apps a service can run (or those in a registry, or on the local engine)."""
    rows = _catalogue_rows(url, token, registry, local, config, refresh)
    table = Table("name", "version", "title", "parameters", "digest")
    for row in rows:
        table.add_row(escape(row["name"]), escape(row["version"]), escape(row["title"]),
                      escape(", ".join(row["parameters"])), str(row["digest"])[:19])
    console.print(table)


@app_commands.command("show")
def app_show(
    name: Annotated[str, typer.Argument(help="the app's name")],
    url: UrlOption = None,
    token: TokenOption = None,
    registry: RegistryOption = None,
    local: Annotated[bool, typer.Option(help="look on the local engine, not a service")
                     ] = False,
    config: ConfigOption = None,
) -> None:
    """Every version of one app: digest, parameters, resources, results, inner APIs."""
    rows = [r for r in _catalogue_rows(url, token, registry, local, config, False)
            if r["name"] == name]
    if not rows:
        fail(f"no app {name!r}")
    for row in rows:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
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
        console.print(table)


repo_commands = typer.Typer(help="The local OCI repository of app images.",
                            no_args_is_help=True)
app.add_typer(repo_commands, name="repo")


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


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{what} {item!r} is not key=value")
        pairs[key] = value
    return pairs


def _phase_style(phase: str) -> str:
    return {"COMPLETED": "green", "ERROR": "red", "ABORTED": "yellow",
            "EXECUTING": "cyan", "QUEUED": "blue"}.get(phase, "white")


def _describe(status: JobStatus) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("job", status.job_id)
    table.add_row("app", escape(f"{status.info.get('app', '?')} "
                                f"{status.info.get('appVersion', '')}"))
    table.add_row("phase", f"[{_phase_style(status.phase)}]{status.phase}[/]")
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


def follow(job: Any) -> JobStatus:
    """Wait for a job with a live status line; return its final status."""
    spinner = Spinner("dots", text=f"job {job.job_id}: submitting")
    with Live(spinner, console=console, transient=True, refresh_per_second=10):
        def show(status: JobStatus) -> None:
            message = status.info.get("message")
            spinner.update(text=f"job {status.job_id}: [{_phase_style(status.phase)}]"
                                f"{status.phase}[/]"
                                + (f"  {escape(message)}" if message else ""))
            if not sys.stdout.isatty():
                console.print(f"job {status.job_id}: {status.phase}", highlight=False)
        return job.wait(on_change=show)


@app.command()
def submit(
    app_ref: AppArgument,
    param: ParamOption = None,
    file: FileOption = None,
    wait: Annotated[bool, typer.Option(help="wait for the job to end")] = False,
    hold: Annotated[bool, typer.Option(help="create the job PENDING, do not run it")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Submit a job (and start it)."""
    files = _pairs(file, "--file")
    for key, path in files.items():
        if not Path(path).is_file():
            fail(f"--file {key}={path}: no such file")
    try:
        with Client(url, token) as client:
            job = client.submit(app_ref, _pairs(param, "-p"), files, run=not hold)
            console.print(f"submitted job [bold]{job.job_id}[/] ({job.url})", highlight=False)
            if wait:
                status = follow(job)
                console.print(_describe(status))
                if status.phase != "COMPLETED":
                    raise typer.Exit(1)
    except ClientError as exc:
        fail(str(exc))


RegistryUrlOption = Annotated[str | None, typer.Option(
    "--registry", envvar="INNERSPACE_REGISTRY",
    help="RegTAP registry of the federation [default: the --url service's]")]


def _federation(registry: str | None, url: str | None, token: str | None) -> Any:
    from innerspace.client.federation import Federation
    from innerspace.client.uws import DEFAULT_URL

    return Federation(registry or url or os.environ.get("INNERSPACE_URL") or DEFAULT_URL,
                      token)


def _plan_table(plan: Any) -> Table:
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


@app.command()
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
        result = federation.plan(app_ref, _pairs(param, "-p"), collection=collection)
    except ClientError as exc:
        fail(str(exc))
    result.discard()
    console.print(_plan_table(result))
    if not result.ranked:
        raise typer.Exit(1)


@app.command()
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
        job = federation.run(app_ref, _pairs(param, "-p"), _pairs(file, "--file") or None,
                             at=at, collection=collection)
        console.print(f"running {escape(app_ref)} as job [bold]{job.job_id}[/] at "
                      f"{escape(job.url)}", highlight=False)
        status = follow(job)
        console.print(_describe(status))
        saved = job.download(out / job.job_id)
    except ClientError as exc:
        fail(str(exc))
    for path in saved:
        console.print(f"{path} ({path.stat().st_size} bytes)", highlight=False)
    if status.phase != "COMPLETED":
        raise typer.Exit(1)


@app.command()
def jobs(
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
    table = Table("job", "phase", "created", "run id")
    for row in rows:
        phase_text = row["phase"] or ""
        table.add_row(row["id"], f"[{_phase_style(phase_text)}]{phase_text}[/]",
                      row["created"], escape(row["run_id"] or ""))
    console.print(table)


@app.command()
def job(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    wait: Annotated[bool, typer.Option(help="wait for the job to end")] = False,
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
        data = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                for k, v in status.__dict__.items() if k != "results"}
        data["results"] = [r.__dict__ for r in status.results]
        console.print_json(json.dumps(data))
    else:
        console.print(_describe(status))


@app.command()
def results(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
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


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
