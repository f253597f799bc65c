"""Building app images: labels describe the app, files are root-owned and readable, pip
requirements come from PyPI (through the host's CA bundle), and the runtime is inside."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from innerspace.apps.manifest import MANIFEST_LABEL, validate_manifest
from tests.support.paths import EXAMPLES


def test_image_labels_carry_the_manifest(build_app: Callable[..., str],
                                         docker_client: Any) -> None:
    # Built here: the session's example image loses its tag when another test rebuilds it
    # (every build has its own creation time, so its own image id).
    image = docker_client.images.get(build_app(EXAMPLES / "fits-stats"))
    labels = image.labels
    manifest = validate_manifest(json.loads(labels[MANIFEST_LABEL]))
    assert manifest.name == "fits-stats" and manifest.version == "1.0.0"
    assert manifest.parameters["image"].type.value == "file"
    assert labels["org.opencontainers.image.title"] == "FITS image statistics"
    assert labels["org.opencontainers.image.version"] == "1.0.0"
    assert labels["org.opencontainers.image.licenses"] == "BSD-3-Clause"
    created = datetime.fromisoformat(labels["org.opencontainers.image.created"])
    assert created.tzinfo is not None and created <= datetime.now(UTC), created
    assert "innerspace-app/fits-stats:1.0.0" in image.tags
    assert image.attrs["Config"]["User"] == "10001:10001"


def test_app_files_are_read_only_for_the_app(example_apps: dict[str, str],
                                             docker_client: Any) -> None:
    output = docker_client.containers.run(
        example_apps["hello"], ["sh", "-c", "stat -c '%U %a %n' /app/hello/__main__.py "
                                "/usr/local/lib/python3.11/dist-packages/innerspace/runtime/"
                                "__init__.py; python3 -c 'import innerspace.runtime as r; "
                                "print(r.ROOT)'"], remove=True, network_disabled=True)
    lines = output.decode().split("\n")
    assert lines[0] == "root 644 /app/hello/__main__.py"
    assert lines[1] == ("root 644 /usr/local/lib/python3.11/dist-packages/innerspace/runtime/"
                        "__init__.py")
    assert lines[2] == "/innerspace"


def test_requirements_are_installed_from_pypi(build_app: Callable[..., str], tmp_path: Path,
                                              docker_client: Any) -> None:
    app = tmp_path / "tabular"
    app.mkdir()
    (app / "innerspace.toml").write_text(
        'name = "tabular"\nversion = "0.1.0"\ntitle = "Needs tabulate"\n'
        'requirements = ["tabulate==0.9.0"]\n'
        'run = { command = ["python3", "-c", "import tabulate; print(tabulate.__version__)"] }\n')
    image = build_app(app, tag="innerspace-test/tabular:0.1.0")
    try:
        output = docker_client.containers.run(
            image, ["python3", "-c", "import tabulate; print(tabulate.__file__)"],
            remove=True, network_disabled=True).decode()
        assert output.startswith("/usr/local/lib/python3.11/dist-packages/tabulate/")
        layers = " ".join(h.get("CreatedBy", "") for h in docker_client.api.history(image))
        assert "build-ca.crt" in layers and "rm /tmp/build-ca.crt" in layers
        leftover = docker_client.containers.run(image, ["ls", "/tmp"], remove=True).decode()
        assert "build-ca.crt" not in leftover, "the CA bundle is not left in the image"
    finally:
        docker_client.images.remove(image, force=True)
