"""Build the Python base image that app images start FROM, from Debian packages alone.

No public container registry is reachable from many data centres (nor from this project's
test machines), so the base image is made locally: `debootstrap` a minimal Debian bookworm
with Python and the scientific stack, trim it, and `docker import` it. The result is reused
until it is removed or `--rebuild` is asked for.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import ImageNotFound

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "python3", "python3-numpy", "python3-astropy", "python3-matplotlib", "python3-pyvo",
    "python3-pip", "ca-certificates",
)
APP_UID = 10001
# Removed from the root filesystem: caches and documentation an app never reads.
TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
        "usr/share/info", "usr/share/locale")
IMAGE_CHANGES = (
    "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp MPLCONFIGDIR=/tmp "
    "MPLBACKEND=Agg LANG=C.UTF-8",
    f"USER {APP_UID}:{APP_UID}",
    "WORKDIR /app",
    'CMD ["python3"]',
)


class BaseImageError(RuntimeError):
    """The base image could not be built; the message says what is missing."""


def base_image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def build_base_image(
    client: docker.DockerClient,
    tag: str,
    *,
    rebuild: bool = False,
    mirror: str = MIRROR,
    workdir: Path | None = None,
    say: Callable[[str], None] = print,
) -> str:
    """Build (or reuse) the base image `tag`; return its image id."""
    if not rebuild and base_image_exists(client, tag):
        image = client.images.get(tag)
        say(f"base image {tag} is present ({image.short_id}); reusing it")
        return str(image.id)
    if shutil.which("debootstrap") is None:
        raise BaseImageError(
            "debootstrap is not installed (on Debian: apt-get install -y debootstrap)")
    with tempfile.TemporaryDirectory(prefix="innerspace-base-", dir=workdir) as tmp:
        rootfs = Path(tmp) / "rootfs"
        say(f"debootstrap {SUITE} with {', '.join(PACKAGES)} (about two minutes)...")
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
             SUITE, str(rootfs), mirror],
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            raise BaseImageError(f"debootstrap failed (exit {result.returncode}):\n{tail}")
        _prepare_rootfs(rootfs)
        say(f"importing the root filesystem as {tag}...")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        changes = [arg for change in IMAGE_CHANGES for arg in ("--change", change)]
        imported = subprocess.run(["docker", "import", *changes, "-", tag],
                                  stdin=tar.stdout, capture_output=True, text=True, check=False)
        assert tar.stdout is not None
        tar.stdout.close()
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise BaseImageError(f"docker import failed: {imported.stderr.strip()}")
    image = client.images.get(tag)
    say(f"base image {tag} built ({image.short_id})")
    return str(image.id)


def _prepare_rootfs(rootfs: Path) -> None:
    for relative in TRIM:
        target = rootfs / relative
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir(parents=True)
    # The unprivileged user apps run as; the engine enforces the uid whatever the image says.
    with (rootfs / "etc/passwd").open("a") as passwd:
        passwd.write(f"app:x:{APP_UID}:{APP_UID}:innerspace app:/tmp:/usr/sbin/nologin\n")
    with (rootfs / "etc/group").open("a") as group:
        group.write(f"app:x:{APP_UID}:\n")
    for path in ("app", "innerspace/inputs", "innerspace/results"):
        (rootfs / path).mkdir(parents=True, exist_ok=True)
    # Open to all (sticky), as cluster engines mount a tmpfs here that takes this mode.
    (rootfs / "innerspace").chmod(0o1777)
    # The stdlib-only runtime helper, so that any image built FROM the base can use it (app
    # images get the builder's own copy on top, which always matches the service).
    package = rootfs / "usr/local/lib/python3.11/dist-packages/innerspace"
    (package / "runtime").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""innerspace, as seen from inside a container."""\n')
    runtime = Path(__file__).resolve().parents[1] / "runtime"
    for source in runtime.glob("*.py"):
        shutil.copy(source, package / "runtime" / source.name)
