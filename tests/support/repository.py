"""What the tests of the OCI app repository share: reading the job document's jobInfo,
copies of the hello example under other versions, images pushed without `innerspace app
build`, and a janitor that removes what a test made from the engine and the registry."""

from __future__ import annotations

import contextlib
import io
import secrets
import shutil
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from tests.support.paths import EXAMPLES
from tests.support.uwsutil import UWS

JOBINFO = "{urn:innerspace:uws-jobinfo}"
ZERO_DIGEST = "sha256:" + "0" * 64


def job_document(http: httpx.Client, job_url: str) -> Any:
    response = http.get(job_url)
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def job_info(root: Any) -> dict[str, str | None]:
    """The innerspace elements of uws:jobInfo, by local name."""
    info = root.find(f"{UWS}jobInfo")
    assert info is not None, "the job document has no uws:jobInfo"
    return {element.tag[len(JOBINFO):]: element.text for element in info
            if element.tag.startswith(JOBINFO)}


def digest_of(pinned: str) -> str:
    return pinned.rpartition("@")[2]


def unique_version(prefix: str = "0.0") -> str:
    return f"{prefix}.{secrets.randbelow(10**9)}"


def copy_hello(where: Path, version: str, greeting: str | None = None) -> Path:
    """A copy of the hello example under another version (and optionally another greeting)."""
    target = where / f"hello-{version}-{greeting or 'Hello'}"
    shutil.copytree(EXAMPLES / "hello", target / "hello")
    project = target / "hello" / "pyproject.toml"
    text = project.read_text()
    assert 'version = "1.0.0"' in text
    project.write_text(text.replace('version = "1.0.0"', f'version = "{version}"', 1))
    if greeting is not None:
        main = target / "hello" / "hello" / "__main__.py"
        code = main.read_text()
        assert 'greeting = f"Hello, {name}!"' in code
        main.write_text(code.replace('greeting = f"Hello, {name}!"',
                                     f'greeting = f"{greeting}, {{name}}!"'))
    return target / "hello"


def post_job(http: httpx.Client, data: dict[str, Any]) -> httpx.Response:
    return http.post("/jobs", data=data)


def result_text(http: httpx.Client, job_url: str, name: str) -> str:
    response = http.get(f"{job_url}/results/{name}")
    assert response.status_code == 200, response.text
    return response.text


class ImageJanitor:
    """Remembers images made by a test and removes them afterwards: whole images (by id,
    with every tag) for temporary versions, single references (untag) for shared ones, and
    temporary versions' manifests from the registry (so namespaces do not grow per run)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.image_ids: list[str] = []
        self.references: list[str] = []
        self.manifests: list[str] = []

    def image(self, image_id: str) -> None:
        self.image_ids.append(image_id)

    def reference(self, reference: str) -> None:
        self.references.append(reference)

    def manifest(self, url: str) -> None:
        """A registry manifest URL (.../v2/<repository>/manifests/<digest>) to delete."""
        self.manifests.append(url)

    def clean(self) -> None:
        from docker.errors import APIError, ImageNotFound

        for reference in self.references:
            with contextlib.suppress(ImageNotFound, APIError):
                self.client.images.remove(reference)
        for image_id in self.image_ids:
            with contextlib.suppress(ImageNotFound, APIError):
                self.client.images.remove(image_id, force=True)
        for url in self.manifests:
            with contextlib.suppress(httpx.HTTPError):
                httpx.delete(url, timeout=10)


def push_unmanaged(client: Any, base_image: str, janitor: ImageJanitor, reference: str,
                   labels: dict[str, str]) -> None:
    """Build a tiny image FROM the base (not by `innerspace app build`) and push it."""
    repository, _, tag = reference.rpartition(":")
    marker = secrets.token_hex(8)  # never the base image itself
    dockerfile = f"FROM {base_image}\nLABEL org.example.test={marker}\n".encode()
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile), tag=reference,
                                   labels=labels, rm=True)
    janitor.image(str(image.id))
    for event in client.images.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
