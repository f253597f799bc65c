"""The OCI app repository, end to end: apps published to a real registry (Debian's
docker-registry) and run by a real Docker engine.

Covered: the catalogue read from the registry (/apps as JSON and HTML, /apps/{name}, the
manifest JSON Schema), resolving `name`, `name:version` and `name@digest` to a digest-pinned
image, natural version order, pulling by digest onto an engine that lacks the image, the
digest fixed at job creation even when the tag moves later, the registry going away (stale
catalogue, 503 for new jobs, running jobs unharmed), images that are refused (no manifest
label, a broken label, a label naming another app, an image outside the allow-list), and the
`innerspace app list/show --registry` commands.

Every test uses its own registry namespace so that no test sees another's apps. Images made
here under temporary versions are removed afterwards, so that later tests (whose services
may read the local engine) never see them.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from tests.conftest import EXAMPLES, LiveRegistry
from tests.uwsutil import UWS, create, wait_final, wait_phase

pytestmark = pytest.mark.docker

JOBINFO = "{urn:innerspace:uws-jobinfo}"
ZERO_DIGEST = "sha256:" + "0" * 64


# -- helpers ---------------------------------------------------------------------------------

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


@pytest.fixture
def janitor(docker_client: Any) -> Iterator[ImageJanitor]:
    cleaner = ImageJanitor(docker_client)
    yield cleaner
    cleaner.clean()


@pytest.fixture
def publish_copy(publish: Callable[..., str], docker_client: Any, janitor: ImageJanitor,
                 registry: LiveRegistry, tmp_path: Path) -> Callable[..., tuple[str, str]]:
    """Publish a temporary copy of hello; returns (pinned reference, local image id). The
    image is removed (all its tags) from the engine and the registry when the test ends."""

    def push(namespace: str, version: str, greeting: str | None = None) -> tuple[str, str]:
        pinned = publish(copy_hello(tmp_path, version, greeting), namespace=namespace)
        image_id = str(docker_client.images.get(f"innerspace-app/hello:{version}").id)
        janitor.image(image_id)
        janitor.manifest(f"{registry.url}/v2/{namespace}/hello/manifests/{digest_of(pinned)}")
        return pinned, image_id

    return push


@pytest.fixture
def publish_example(publish: Callable[..., str], janitor: ImageJanitor
                    ) -> Callable[[str, str], str]:
    """Publish an example app; the registry tag is untagged locally afterwards (the image
    itself stays: it is also innerspace-app/<name>:1.0.0)."""

    def push(name: str, namespace: str) -> str:
        pinned = publish(EXAMPLES / name, namespace=namespace)
        janitor.reference(f"{pinned.partition('@')[0]}:1.0.0")
        return pinned

    return push


# -- 1. push and catalogue ---------------------------------------------------------------------

def test_catalogue_lists_published_apps(registry: LiveRegistry, make_service: Any,
                                        publish_example: Callable[[str, str], str]) -> None:
    ns = "t-catalogue"
    hello = publish_example("hello", ns)
    stats = publish_example("fits-stats", ns)
    assert hello.startswith(f"{registry.host}/{ns}/hello@sha256:")
    assert stats.startswith(f"{registry.host}/{ns}/fits-stats@sha256:")
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        response = http.get("/apps")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["catalogue"]["stale"] is False
        assert body["catalogue"]["registry"] == registry.url
        assert "Warning" not in response.headers
        apps = {a["name"]: a for a in body["apps"]}
        assert set(apps) == {"hello", "fits-stats"}
        assert apps["hello"]["version"] == "1.0.0"
        assert apps["hello"]["digest"] == digest_of(hello)
        assert apps["hello"]["image"] == hello
        assert apps["fits-stats"]["digest"] == digest_of(stats)
        assert apps["fits-stats"]["image"] == stats
        assert set(apps["hello"]["parameters"]) == {"name", "delay"}
        assert apps["hello"]["parameters"]["delay"]["type"] == "float"
        assert apps["fits-stats"]["parameters"]["image"]["type"] == "file"
        assert apps["fits-stats"]["parameters"]["stretch"]["choices"] == [
            "linear", "log", "asinh"]
        assert apps["hello"]["resources"]["max_execution_time"] == 600
        assert apps["fits-stats"]["resources"]["cores"] == 1
        assert apps["hello"]["inner_apis"] == []
        assert apps["fits-stats"]["inner_apis"] == []

        one = http.get("/apps/hello")
        assert one.status_code == 200, one.text
        versions = one.json()["versions"]
        assert [(v["name"], v["version"], v["digest"]) for v in versions] == [
            ("hello", "1.0.0", digest_of(hello))]

        page = http.get("/apps", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<html" in page.text.lower()
        assert ">hello<" in page.text and ">fits-stats<" in page.text

        # The catalogue is a JSON API: its errors are JSON too (a page for a browser).
        missing = http.get("/apps/nosuch")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json() == {"error": "not-found",
                                  "message": "no app 'nosuch' in the catalogue"}
        page = http.get("/apps/nosuch", headers={"Accept": "text/html"})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "no app &#x27;nosuch&#x27; in the catalogue" in page.text

        schema = http.get("/schemas/app-manifest.json")
        assert schema.status_code == 200
        document = schema.json()
        assert "json-schema.org" in document["$schema"]
        assert document["type"] == "object"
        assert {"name", "version"} <= set(document["properties"])


# -- 2. resolving to a digest -------------------------------------------------------------------

def test_job_records_digest_pinned_image(registry: LiveRegistry, make_service: Any,
                                         publish_example: Callable[[str, str], str]) -> None:
    ns = "t-resolve"
    pinned = publish_example("hello", ns)
    digest = digest_of(pinned)
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        for reference in ("hello", "hello:1.0.0", f"hello@{digest}"):
            job_url = create(http, {"app": reference})
            info = job_info(job_document(http, job_url))
            assert info["image"] == pinned, reference
            assert (info["app"], info["appVersion"]) == ("hello", "1.0.0"), reference

        unknown = post_job(http, {"app": f"hello@{ZERO_DIGEST}"})
        assert unknown.status_code == 400, unknown.text
        assert unknown.headers["content-type"].startswith("text/plain")
        assert ZERO_DIGEST in unknown.text

        wrong = post_job(http, {"app": "hello:9.9"})
        assert wrong.status_code == 400, wrong.text
        assert "9.9" in wrong.text and "1.0.0" in wrong.text


# -- 3. highest version --------------------------------------------------------------------------

def test_highest_version_is_chosen(registry: LiveRegistry, make_service: Any,
                                   publish_copy: Callable[..., tuple[str, str]]) -> None:
    ns = "t-versions"
    newer, _ = publish_copy(ns, "1.10.0")
    older, _ = publish_copy(ns, "1.9.0")
    assert newer != older
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        versions = http.get("/apps/hello").json()["versions"]
        assert [v["version"] for v in versions] == ["1.9.0", "1.10.0"]
        info = job_info(job_document(http, create(http, {"app": "hello"})))
        assert info["appVersion"] == "1.10.0"
        assert info["image"] == newer
        info = job_info(job_document(http, create(http, {"app": "hello:1.9.0"})))
        assert info["image"] == older


# -- 4. pulling by digest -------------------------------------------------------------------------

def test_pull_by_digest_when_engine_lacks_image(registry: LiveRegistry, make_service: Any,
                                                docker_client: Any,
                                                publish_copy: Callable[..., tuple[str, str]]
                                                ) -> None:
    from docker.errors import ImageNotFound

    ns = "t-pull"
    version = unique_version()
    pinned, image_id = publish_copy(ns, version)
    docker_client.images.remove(image_id, force=True)
    with pytest.raises(ImageNotFound):
        docker_client.images.get(image_id)
    with pytest.raises(ImageNotFound):
        docker_client.images.get(pinned)

    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        job_url = create(http, {"app": f"hello:{version}", "name": "pull", "delay": "3",
                                "PHASE": "RUN"})
        job_id = job_url.rstrip("/").rsplit("/", 1)[1]
        messages: list[str] = []
        container: Any = None
        deadline = time.monotonic() + 120
        while container is None:
            root = job_document(http, job_url)
            current = root.findtext(f"{UWS}phase")
            message = job_info(root).get("message")
            if current == "QUEUED" and message:
                messages.append(message)
            if current == "EXECUTING":
                found = docker_client.containers.list(
                    filters={"label": f"org.innerspace.job={job_id}"})
                container = found[0] if found else None
            assert current in ("QUEUED", "EXECUTING"), f"job ended {current} early"
            assert time.monotonic() < deadline, "the job never started executing"
            time.sleep(0.02)
        # The container was created from the digest-pinned reference, and that digest is
        # what the engine now holds.
        assert container.attrs["Config"]["Image"] == pinned
        local = docker_client.images.get(pinned)
        assert container.attrs["Image"] == local.id
        assert pinned in local.attrs["RepoDigests"]
        assert any("pull" in m for m in messages), (
            f"no pulling message was shown while QUEUED: {messages}")

        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert job_info(root)["image"] == pinned
        assert "message" not in job_info(root)
        assert result_text(http, job_url, "greeting.txt").strip() == "Hello, pull!"


# -- 5. a tag moved after the job was created ----------------------------------------------------

def test_tag_moved_after_creation(registry: LiveRegistry, make_service: Any,
                                  publish_copy: Callable[..., tuple[str, str]]) -> None:
    ns = "t-tagmove"
    version = unique_version("0.5")
    variant_a, _ = publish_copy(ns, version, greeting="Hi")
    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        pending = create(http, {"app": f"hello:{version}", "name": "A"})
        assert job_info(job_document(http, pending))["image"] == variant_a

        variant_b, _ = publish_copy(ns, version, greeting="Howdy")
        assert digest_of(variant_b) != digest_of(variant_a)
        refreshed = http.post("/apps/refresh")
        assert refreshed.status_code == 200, refreshed.text
        listed = [a for a in http.get("/apps").json()["apps"] if a["version"] == version]
        assert [a["image"] for a in listed] == [variant_b]

        started = http.post(f"{pending}/phase", data={"PHASE": "RUN"})
        assert started.status_code == 303, started.text
        root = wait_final(http, pending)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert job_info(root)["image"] == variant_a
        assert result_text(http, pending, "greeting.txt").strip() == "Hi, A!"

        fresh = create(http, {"app": f"hello:{version}", "name": "B", "PHASE": "RUN"})
        root = wait_final(http, fresh)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert job_info(root)["image"] == variant_b
        assert result_text(http, fresh, "greeting.txt").strip() == "Howdy, B!"


# -- 6. the registry goes away -------------------------------------------------------------------

def test_registry_stopped(registry: LiveRegistry, make_service: Any, docker_client: Any,
                          janitor: ImageJanitor,
                          publish_example: Callable[[str, str], str]) -> None:
    ns = "t-stopped"
    pinned = publish_example("hello", ns)
    second = LiveRegistry(registry.storage).start()  # the same images, another address
    try:
        via_second = f"{second.host}/{ns}/hello@{digest_of(pinned)}"
        janitor.reference(via_second)
        # Pulled beforehand, so that this test is about the outage, not about pulling
        # (test_pull_by_digest_when_engine_lacks_image covers that).
        docker_client.images.pull(via_second)
        service = make_service(repository={**second.repository(ns), "cache_ttl": 1})
        with service.client() as http:
            warm = http.get("/apps")
            assert warm.status_code == 200
            assert [a["image"] for a in warm.json()["apps"]] == [via_second]
            running = create(http, {"app": "hello", "name": "outage", "delay": "4",
                                    "PHASE": "RUN"})
            wait_phase(http, running, "EXECUTING")

            second.stop()
            time.sleep(1.6)  # past the cache's TTL and the minimum refresh interval

            refused = post_job(http, {"app": "hello"})
            assert refused.status_code == 503, (
                f"job creation answered {refused.status_code} with the registry down: "
                f"{refused.text}")
            assert refused.headers["content-type"].startswith("text/plain")
            assert second.host in refused.text

            stale = http.get("/apps")
            assert stale.status_code == 200, stale.text
            assert stale.json()["catalogue"]["stale"] is True
            assert [a["image"] for a in stale.json()["apps"]] == [via_second]
            assert "stale" in stale.headers.get("Warning", "")

            again = http.post("/apps/refresh")
            assert again.status_code == 503
            assert second.host in again.text

            root = wait_final(http, running)
            assert root.findtext(f"{UWS}phase") == "COMPLETED"
            assert result_text(http, running, "greeting.txt").strip() == "Hello, outage!"

            second.start()  # back on the same port: the catalogue recovers
            recovered = http.post("/apps/refresh")
            assert recovered.status_code == 200, recovered.text
            assert recovered.json()["catalogue"]["stale"] is False
            assert post_job(http, {"app": "hello"}).status_code == 303
    finally:
        second.stop()
        (second.storage.parent / f"config-{second.port}.yml").unlink(missing_ok=True)


# -- 7. refused images ---------------------------------------------------------------------------

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


def test_refused_images(registry: LiveRegistry, make_service: Any, docker_client: Any,
                        base_image: str, janitor: ImageJanitor,
                        publish_example: Callable[[str, str], str]) -> None:
    from innerspace.apps.manifest import MANIFEST_LABEL
    from innerspace.apps.project import load_project

    ns = "t-refused"
    publish_example("hello", ns)
    where = f"{registry.host}/{ns}"
    push_unmanaged(docker_client, base_image, janitor, f"{where}/plain:1.0", {})
    push_unmanaged(docker_client, base_image, janitor, f"{where}/broken:1.0",
                   {MANIFEST_LABEL: "{not json"})
    other = load_project(EXAMPLES / "hello").manifest.model_copy(update={"version": "0.0.1"})
    push_unmanaged(docker_client, base_image, janitor, f"{where}/impostor:0.0.1",
                   {MANIFEST_LABEL: other.to_label()})

    service = make_service(repository=registry.repository(ns))
    with service.client() as http:
        plain = post_job(http, {"app": "plain:1.0"})
        assert plain.status_code == 400, plain.text
        assert "no org.innerspace.manifest label" in plain.text

        broken = post_job(http, {"app": "broken:1.0"})
        assert broken.status_code == 400, broken.text
        assert "label is invalid" in broken.text

        impostor = post_job(http, {"app": "impostor:0.0.1"})
        assert impostor.status_code == 400, impostor.text
        assert "hello:0.0.1" in impostor.text

        listing = http.get("/apps").json()
        assert [a["name"] for a in listing["apps"]] == ["hello"]
        refused = listing["catalogue"]["refused"]
        assert set(refused) == {"plain:1.0", "broken:1.0", "impostor:0.0.1"}
        assert "label" in refused["plain:1.0"]

    elsewhere = make_service(repository={**registry.repository(ns),
                                         "allowed": ["example.org/other"]})
    with elsewhere.client() as http:
        outside = post_job(http, {"app": "hello"})
        assert outside.status_code == 400, outside.text
        assert "not from an allowed registry" in outside.text


# -- 8. the command line -------------------------------------------------------------------------

def test_cli_lists_registry_apps(registry: LiveRegistry, monkeypatch: pytest.MonkeyPatch,
                                 publish_example: Callable[[str, str], str]) -> None:
    from typer.testing import CliRunner

    from innerspace import cli

    ns = "t-cli"
    hello = publish_example("hello", ns)
    stats = publish_example("fits-stats", ns)
    for name in ("INNERSPACE_CONFIG", "INNERSPACE_REPOSITORY__URL",
                 "INNERSPACE_REPOSITORY__ALLOWED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INNERSPACE_REPOSITORY__NAMESPACE", ns)
    monkeypatch.setenv("COLUMNS", "300")  # wide enough that no digest is cut
    runner = CliRunner()

    listed = runner.invoke(cli.app, ["app", "list", "--registry", registry.url])
    assert listed.exit_code == 0, listed.output
    assert "hello" in listed.output and "fits-stats" in listed.output
    assert digest_of(hello)[:19] in listed.output
    assert digest_of(stats)[:19] in listed.output

    shown = runner.invoke(cli.app, ["app", "show", "hello", "--registry", registry.url])
    assert shown.exit_code == 0, shown.output
    assert "hello 1.0.0" in shown.output
    assert hello in shown.output
    assert "delay" in shown.output and "fits-stats" not in shown.output

    missing = runner.invoke(cli.app, ["app", "show", "nosuch", "--registry", registry.url])
    assert missing.exit_code != 0
