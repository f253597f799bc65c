"""Building an app image: the project's files on top of the base image, described by labels.

The image carries the whole manifest in the `org.innerspace.manifest` label plus the standard
`org.opencontainers.image.*` annotations, so the image alone says what the app is and how to
run it. The runtime helper (`innerspace.runtime`) is copied in, matching this builder.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import docker
from docker.errors import APIError, BuildError

import innerspace
from innerspace.apps.base_image import APP_UID
from innerspace.apps.manifest import MANIFEST_LABEL, AppManifest
from innerspace.apps.project import AppProject
from innerspace.apps.volumes import local_image_volumes, volumes_problem

RUNTIME_DIR = Path(innerspace.__file__).parent / "runtime"
SITE = "/usr/local/lib/python3.11/dist-packages"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class AppBuildError(RuntimeError):
    """The image could not be built; the message carries the build log's end."""


def image_labels(manifest: AppManifest, base_image: str) -> dict[str, str]:
    labels = {
        MANIFEST_LABEL: manifest.to_label(),
        "org.innerspace.app": manifest.name,
        "org.opencontainers.image.title": manifest.title,
        "org.opencontainers.image.version": manifest.version,
        "org.opencontainers.image.description": manifest.description,
        "org.opencontainers.image.created": datetime.now(UTC).isoformat(timespec="seconds"),
        "org.opencontainers.image.vendor": "innerspace",
        "org.opencontainers.image.base.name": base_image,
    }
    if manifest.authors:
        labels["org.opencontainers.image.authors"] = ", ".join(manifest.authors)
    if manifest.license:
        labels["org.opencontainers.image.licenses"] = manifest.license
    if manifest.homepage:
        labels["org.opencontainers.image.url"] = manifest.homepage
    return labels


def dockerfile(manifest: AppManifest, base_image: str, extra_ca: bool) -> str:
    lines = [
        f"FROM {base_image}",
        "COPY app/ /app/",
        f"COPY pkg/ {SITE}/innerspace/",
        # A cluster engine mounts a tmpfs at /innerspace, which takes the mode of the
        # image's directory: the sandbox user must be able to stage the job's files there.
        "USER 0",
        "RUN mkdir -p /innerspace && chmod 1777 /innerspace",
    ]
    if manifest.requirements:
        # pip needs root to write site-packages, and the CA bundle when a TLS proxy sits
        # between the build and PyPI.
        ca = ("--cert /tmp/build-ca.crt " if extra_ca else "")
        if extra_ca:
            lines += ["COPY build-ca.crt /tmp/build-ca.crt"]
        lines += [
            "RUN python3 -m pip install --no-cache-dir --break-system-packages "
            f"--root-user-action=ignore {ca}-r /app/.innerspace-requirements.txt"
            + (" && rm /tmp/build-ca.crt" if extra_ca else ""),
        ]
    lines += [
        "ENV PYTHONPATH=/app",
        f"USER {APP_UID}:{APP_UID}",
        "WORKDIR /app",
    ]
    return "\n".join(lines) + "\n"


def build_context(project: AppProject, base_image: str, ca_files: list[Path]) -> io.BytesIO:
    """An in-memory tar build context: Dockerfile, app/, pkg/ (runtime), CA bundle."""
    buffer = io.BytesIO()
    manifest = project.manifest
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))

        add_bytes("Dockerfile", dockerfile(manifest, base_image, bool(ca_files)).encode())
        for relative in project.files():
            tar.add(project.root / relative, arcname=f"app/{relative.as_posix()}",
                    recursive=False, filter=_world_readable)
        if manifest.requirements:
            add_bytes("app/.innerspace-requirements.txt",
                      ("\n".join(manifest.requirements) + "\n").encode())
        add_bytes("pkg/__init__.py", b'"""innerspace, as seen from inside a container."""\n')
        for path in sorted(RUNTIME_DIR.glob("*.py")):
            tar.add(path, arcname=f"pkg/runtime/{path.name}", filter=_world_readable)
        if ca_files:
            add_bytes("build-ca.crt", b"\n".join(p.read_bytes().strip() for p in ca_files))
    buffer.seek(0)
    return buffer


def _world_readable(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # The app runs as an unprivileged uid: every file must be readable (and executables
    # executable) by it, but owned by root so that the app cannot change its own code.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = (info.mode | 0o444 | (0o111 if info.mode & 0o100 else 0)) & 0o755
    return info


def image_tag(manifest: AppManifest, prefix: str) -> str:
    return f"{prefix}{manifest.name}:{manifest.version}"


def build_app_image(
    client: docker.DockerClient,
    project: AppProject,
    *,
    base_image: str,
    tag: str,
    extra_ca_certificates: list[Path] | None = None,
    say: Callable[[str], None] = print,
) -> str:
    """Build the app image, tag it, and return its image id (sha256:...). An image that
    would declare a VOLUME is refused: before the build if its base declares one, else
    after it (and removed)."""
    manifest = project.manifest
    problem = volumes_problem(local_image_volumes(client, base_image) or [])
    if problem:
        raise AppBuildError(f"the base image {base_image} cannot carry apps: {problem}")
    ca_files = list(extra_ca_certificates or [])
    # pip's --cert replaces its trust store: always start from the host's bundle, so extra
    # certificates (a TLS proxy's) add to the usual authorities instead of replacing them.
    if manifest.requirements and HOST_CA_BUNDLE.is_file():
        ca_files = [HOST_CA_BUNDLE, *ca_files]
    context = build_context(project, base_image, ca_files)
    log: list[str] = []
    image_id: str | None = None
    try:
        for chunk in client.api.build(fileobj=context, custom_context=True, tag=tag, rm=True,
                                      forcerm=True, labels=image_labels(manifest, base_image),
                                      decode=True):
            if "stream" in chunk:
                line = chunk["stream"].rstrip()
                if line:
                    log.append(line)
                    if line.startswith("Step ") and " : LABEL " not in line:
                        say(line if len(line) <= 100 else line[:97] + "...")
            if "error" in chunk:
                raise AppBuildError(_tail([*log, chunk["error"].strip()]))
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    except (APIError, BuildError) as exc:
        raise AppBuildError(f"{exc}\n{_tail(log)}") from exc
    if image_id is None:
        image_id = str(client.images.get(tag).id)
    problem = volumes_problem(local_image_volumes(client, image_id) or [])
    if problem:  # the base gained a volume during the build: nothing may run this image
        with contextlib.suppress(APIError):
            client.images.remove(image_id, force=True)
        raise AppBuildError(f"the image built as {tag} cannot run: {problem}; it was removed")
    return image_id


def _tail(lines: list[str], count: int = 20) -> str:
    return "\n".join(lines[-count:])
