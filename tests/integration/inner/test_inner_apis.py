"""Inner APIs bound at run time: a job gets exactly the inner APIs its app requires (a
services.json, environment variables, read-only collections under /data), reaches them over
an isolated inner network, and reaches nothing else: not another data centre's service, not
the host's service port, not the outside world. A data centre that lacks a required API
refuses the job, naming what is missing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.inner import datacentre
from tests.support.paths import TEST_APPS
from tests.support.services import LiveService
from tests.support.uwsutil import UWS, create, wait_final

PROBE = TEST_APPS / "inner-probe"


@pytest.fixture(scope="module")
def probe_image(build_app: Callable[..., str]) -> str:
    return build_app(PROBE)


def test_job_gets_exactly_its_inner_apis(probe_image: str, two_networks: dict[str, Any],
                                         make_service: Any, tmp_path: Path) -> None:
    sky, extra = tmp_path / "sky", tmp_path / "private"
    for path in (sky, extra):
        path.mkdir()
        path.chmod(0o755)
    (sky / "m31.fits").write_text("not really FITS")
    service = make_service(datacentre=datacentre(two_networks["network"], sky, extra))
    port = service.port
    unreachable = [two_networks["foreign"], f"172.17.0.1:{port}", f"127.0.0.1:{port}",
                   "1.1.1.1:53", "8.8.8.8:53"]
    forbidden = ",".join(unreachable)
    with service.client() as http:
        job_url = create(http, {"app": "inner-probe", "forbidden": forbidden, "PHASE": "RUN"})
        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED", root.findtext(
            f"{UWS}errorSummary/{UWS}message")
        report = json.loads(http.get(f"{job_url}/results/report.json").content)
    assert report["served"] == "from the inner file service\n", "the inner API answers"
    assert report["sky_files"] == ["m31.fits"] and report["sky_writable"] is False
    assert report["data_dirs"] == ["sky"], "only the collection the app asked for"
    assert set(report["services"]["kinds"]) == {"http-files", "posix-collection"}
    assert report["services"]["kinds"]["http-files"][0]["url"] == "http://files.inner:8080/"
    assert report["env"]["INNERSPACE_HTTP_FILES_URL"] == "http://files.inner:8080/"
    assert report["env"]["INNERSPACE_DATA_SKY"] == "/data/sky"
    assert report["forbidden"] == dict.fromkeys(unreachable, False)


def test_missing_inner_api_is_refused_by_name(probe_image: str, make_service: Any,
                                              tmp_path: Path) -> None:
    service = make_service(datacentre={
        "authority": "ivo://lacking.example",
        "inner_apis": [{"name": "files", "kind": "http-files", "url": "http://f/"}]})
    with service.client() as http:
        before = http.get("/jobs").text.count("<uws:jobref ")
        response = http.post("/jobs", data={"app": "inner-probe"})
        assert response.status_code == 400
        assert "posix-collection with collection 'sky'" in response.text
        assert http.get("/jobs").text.count("<uws:jobref ") == before


def test_app_without_requirements_gets_nothing(service: LiveService) -> None:
    with service.client() as http:
        job_url = create(http, {"app": "hello", "PHASE": "RUN"})
        assert wait_final(http, job_url).findtext(f"{UWS}phase") == "COMPLETED"
    job_dir = service.data_dir / "jobs" / job_url.rsplit("/", 1)[-1]
    assert not (job_dir / "services.json").exists()
