"""Commands for app authors (`innerspace app ...`): check a project's manifest, build its
image, publish it to the repository, and see which apps a service, a registry or the local
engine offers.

Listing the apps of a service needs only the client; the builders, the registry client and
the Docker SDK are imported inside the commands (and branches) that use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from innerspace.cli.common import (
    ConfigOption,
    TokenOption,
    UrlOption,
    console,
    docker_or_fail,
    err_console,
    fail,
    require_server,
    settings_or_fail,
)
from innerspace.cli.rendering import app_details, apps_table
from innerspace.client import Client, ClientError

if TYPE_CHECKING:
    from docker import DockerClient

    from innerspace.apps.catalogue import AppCatalogue
    from innerspace.apps.manifest import AppManifest
    from innerspace.config import Settings

commands = typer.Typer(help="Build, check and list applications.", no_args_is_help=True)

DirectoryArgument = Annotated[Path, typer.Argument(help="the app's project directory")]
ExtraCaOption = Annotated[list[Path] | None, typer.Option(
    "--extra-ca", help="CA certificate trusted while installing requirements")]
RegistryOption = Annotated[str | None, typer.Option(
    "--registry", help="an OCI registry URL instead of the configured repository")]


@commands.command("lint")
def app_lint(directory: DirectoryArgument) -> None:
    """Check an app's manifest against the JSON Schema and explain every problem."""
    require_server("app lint")
    from innerspace.apps.manifest import ManifestError
    from innerspace.apps.project import load_project

    try:
        project = load_project(directory)
    except ManifestError as exc:
        fail(str(exc))
    manifest = project.manifest
    console.print(f"[green]ok[/]: {manifest.name} {manifest.version} "
                  f"({len(manifest.parameters)} parameters, {len(project.files())} files)")


@commands.command("build")
def app_build(
    directory: DirectoryArgument,
    config: ConfigOption = None,
    tag: Annotated[str | None, typer.Option(help="image tag [default: prefix+name:version]")
                   ] = None,
    extra_ca: ExtraCaOption = None,
    push: Annotated[bool, typer.Option(help="push it to the configured repository")] = False,
    registry: RegistryOption = None,
) -> None:
    """Build an app image whose labels carry its manifest (and push it with --push)."""
    require_server("app publish" if push else "app build")
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


def _publish(client: DockerClient, image_id: str, manifest: AppManifest, settings: Settings,
             registry: str | None) -> None:
    """Push a built image to the configured repository (or to `registry` instead)."""
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


@commands.command("publish")
def app_publish(
    directory: DirectoryArgument,
    config: ConfigOption = None,
    extra_ca: ExtraCaOption = None,
    registry: RegistryOption = None,
) -> None:
    """Build an app and push it to the repository (same as `app build --push`)."""
    app_build(directory, config=config, tag=None, extra_ca=extra_ca, push=True,
              registry=registry)


def _service_apps(url: str | None, token: str | None, refresh: bool) -> list[dict[str, Any]]:
    """The app summaries a service gives (after it re-reads its repository, if asked)."""
    try:
        with Client(url, token) as client:
            if refresh:
                client.refresh_apps()
            status = client.catalogue()
            if status.get("stale"):
                err_console.print(f"[yellow]the catalogue is stale:[/] "
                                  f"{escape(str(status.get('problem')))}")
            return client.apps()
    except ClientError as exc:
        fail(str(exc))


def _registry_or_engine_apps(registry: str | None, config: Path | None
                             ) -> list[dict[str, Any]]:
    """The app summaries of the images in `registry` (under the configured namespace), or
    of those on the local engine when no registry is given."""
    require_server("app list/show --local or --registry")
    from innerspace.apps.catalogue import CatalogueUnavailable, LocalEngineCatalogue
    from innerspace.apps.summary import app_summary

    settings = settings_or_fail(config)
    catalogue: AppCatalogue
    if registry:
        from innerspace.apps.factory import registry_client
        from innerspace.apps.repository import RegistryCatalogue

        repository = settings.repository
        client = registry_client(repository, registry)
        in_registry = RegistryCatalogue(client, repository.namespace,
                                        [f"{client.host}/{repository.namespace}/"])
        try:
            in_registry.refresh()
        except CatalogueUnavailable as exc:
            fail(str(exc))
        for where, problem in in_registry.problems.items():
            err_console.print(f"[yellow]refused[/] {escape(where)}: {escape(problem)}")
        catalogue = in_registry
    else:
        catalogue = LocalEngineCatalogue(docker_or_fail(settings))
    return [app_summary(a) for a in catalogue.apps()]


def _catalogue_rows(url: str | None, token: str | None, registry: str | None,
                    local: bool, config: Path | None, refresh: bool) -> list[dict[str, Any]]:
    """The app summaries `app list` and `app show` work on, from wherever the options say."""
    if local or registry:
        return _registry_or_engine_apps(registry, config)
    return _service_apps(url, token, refresh)


@commands.command("list")
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
    console.print(apps_table(_catalogue_rows(url, token, registry, local, config, refresh)))


@commands.command("show")
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
        console.print(app_details(row))
