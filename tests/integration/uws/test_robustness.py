"""What a careless or hostile client or app must not achieve: control characters that would
break XML, oversized chunked uploads, half-applied parameter changes, destruction times
beyond the limit, result names that break URLs, and a service that cannot shut down while
jobs run. (Result trees too deep to walk: tests/unit/uws/test_jobfiles.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.support.services import LiveService
from tests.support.uwsutil import UWS, create, results, wait_final, wait_phase


@pytest.mark.parametrize("field", [{"name": "a\x01b"}, {"RUNID": "run\x0b"},
                                   {"name": "\ufffe"}])
def test_control_characters_are_refused(service: LiveService, field: dict[str, str]) -> None:
    with service.client() as http:
        before = http.get("/jobs").text.count("<uws:jobref ")
        response = http.post("/jobs", data={"app": "hello", **field})
        assert response.status_code == 400, response.text
        assert "control characters" in response.text
        assert http.get("/jobs").text.count("<uws:jobref ") == before


@pytest.mark.parametrize(("last", "status"), [("\u00b2", 400), ("99999999999999999999", 200),
                                              ("0", 400)])
def test_odd_last_values(service: LiveService, last: str, status: int) -> None:
    with service.client() as http:
        assert http.get("/jobs", params={"LAST": last}).status_code == status


@pytest.mark.parametrize("job_id", ["%00", "x" * 300, "ABC", "..%2f..%2fetc"])
def test_malformed_job_ids_are_404(service: LiveService, job_id: str) -> None:
    with service.client() as http:
        response = http.get(f"/jobs/{job_id}")
        assert response.status_code == 404, response.text


def test_chunked_upload_over_the_limit_is_413(make_service: Any, tmp_path: Path) -> None:
    service = make_service(limits={"max_upload_size": 100_000})

    def body() -> Iterator[bytes]:
        boundary = b"--innerspace-test"
        yield boundary + b'\r\nContent-Disposition: form-data; name="app"\r\n\r\nfits-stats\r\n'
        yield boundary + (b'\r\nContent-Disposition: form-data; name="image"; '
                          b'filename="big.fits"\r\nContent-Type: application/fits\r\n\r\n')
        for _ in range(40):  # 2.5 MB, sent without a Content-Length
            yield b"\0" * 65536
        yield b"\r\n" + boundary + b"--\r\n"

    with service.client() as http:
        response = http.post("/jobs", content=body(), headers={
            "Content-Type": "multipart/form-data; boundary=innerspace-test"})
        assert response.status_code == 413, response.text
        assert "larger than the limit" in response.text
        assert http.get("/jobs").text.count("<uws:jobref ") == 0
    assert list((service.data_dir / "jobs").iterdir()) == []


def test_failed_parameter_update_changes_nothing(service: LiveService, fits_file: Path) -> None:
    with service.client() as http:
        with fits_file.open("rb") as handle:
            job_url = create(http, {"app": "fits-stats"}, files={"image": ("a.fits", handle)})
        before = http.get(f"{job_url}/parameters").text
        original = http.get(f"{job_url}/inputs/image").content
        response = http.post(f"{job_url}/parameters", data={"stretch": "sideways"},
                             files={"image": ("b.fits", b"SIMPLE  = replaced")})
        assert response.status_code == 400 and "stretch" in response.text
        assert http.get(f"{job_url}/parameters").text == before
        assert http.get(f"{job_url}/inputs/image").content == original
        response = http.post(f"{job_url}/parameters", data={"stretch": "log"},
                             files={"image": ("b.fits", fits_file.read_bytes())})
        assert response.status_code == 303
        job_dir = service.data_dir / "jobs" / job_url.rsplit("/", 1)[-1] / "inputs"
        assert len(list(job_dir.iterdir())) == 1, "the replaced upload is gone"
        http.post(f"{job_url}/phase", data={"PHASE": "RUN"})
        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"


def test_destruction_given_at_creation_is_honoured(service: LiveService) -> None:
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    with service.client() as http:
        job_url = create(http, {"app": "hello", "DESTRUCTION": soon})
        deadline = time.monotonic() + 15
        while http.get(job_url).status_code == 200:
            assert time.monotonic() < deadline, "the job outlived its destruction time"
            time.sleep(0.3)
        assert http.get(job_url).status_code == 404


def test_destruction_cannot_be_pushed_beyond_the_maximum(make_service: Any) -> None:
    service = make_service(limits={"max_destruction": 3600})
    with service.client() as http:
        job_url = create(http, {"app": "hello"})
        created = http.get(job_url).text.split("<uws:creationTime>")[1][:19]
        http.post(f"{job_url}/destruction", data={"DESTRUCTION": "2100-01-01T00:00:00Z"})
        granted = http.get(f"{job_url}/destruction").text
        limit = time.mktime(time.strptime(created, "%Y-%m-%dT%H:%M:%S")) + 3600
        assert time.mktime(time.strptime(granted[:19], "%Y-%m-%dT%H:%M:%S")) <= limit + 1


def test_result_names_are_url_encoded(build_app: Any, tmp_path: Path,
                                      make_service: Any) -> None:
    app = tmp_path / "oddnames"
    app.mkdir()
    (app / "innerspace.toml").write_text(
        'name = "oddnames"\nversion = "1.0.0"\ntitle = "Odd result names"\n'
        'run = { command = ["sh", "-c", "echo hi > \'/innerspace/results/a b#c?.txt\'; '
        'mkdir -p /innerspace/results/x; echo ok > /innerspace/results/x/y.txt; '
        'printf bad > /innerspace/results/$(printf \'\\\\001\')ctl"] }\n')
    build_app(app)
    service = make_service()
    with service.client() as http:
        root = wait_final(http, create(http, {"app": "oddnames", "PHASE": "RUN"}))
        found = results(root)
        assert root.findtext(f"{UWS}phase") == "COMPLETED"
        assert set(found) == {"a b#c?.txt", "x/y.txt", "stdout", "stderr"}, found
        href = found["a b#c?.txt"]["{http://www.w3.org/1999/xlink}href"]
        assert href.endswith("/results/a%20b%23c%3F.txt")
        assert http.get(href).text == "hi\n"
        assert http.get(found["x/y.txt"]["{http://www.w3.org/1999/xlink}href"]).text == "ok\n"


def test_service_stops_promptly_while_a_job_runs(make_service: Any) -> None:
    service = make_service()
    with service.client() as http:
        job_url = create(http, {"app": "hello", "delay": 60, "PHASE": "RUN"})
        wait_phase(http, job_url, "EXECUTING")
    started = time.monotonic()
    service.stop()
    assert time.monotonic() - started < 10, "shutdown waited for the job"
    service.start()
    with service.client() as http:
        assert http.get(f"{job_url}/phase").text == "EXECUTING", "re-attached after restart"
        http.post(f"{job_url}/phase", data={"PHASE": "ABORT"})
        assert http.get(f"{job_url}/phase").text == "ABORTED"


def test_progress_is_shown_while_the_job_runs(service: LiveService) -> None:
    info = "{urn:innerspace:uws-jobinfo}message"
    with service.client() as http:
        job_url = create(http, {"app": "hello", "name": "Progress", "delay": 3,
                                "PHASE": "RUN"})
        wait_phase(http, job_url, "EXECUTING")
        deadline = time.monotonic() + 3
        message = None
        while message is None and time.monotonic() < deadline:
            root = etree.fromstring(http.get(job_url).content)
            message = root.findtext(f"{UWS}jobInfo/{info}")
            time.sleep(0.1)
        assert message == "progress 0%: greeting Progress in 3 s"
        root = wait_final(http, job_url)
        assert root.findtext(f"{UWS}jobInfo/{info}") is None, "cleared when the job ends"
