"""UWS 1.1 conformance: the job document and its atomic children, the 303 that answers
every change, parameters (changed only while PENDING, files uploaded by reference) and
results (the app's files plus its logs)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.services import LiveService
from tests.support.uwsclient import (
    UWSClient,
    assert_see_other,
    is_nil,
    iso_z,
    job_dir,
    job_id_of,
    media_type,
    parse_iso,
    plain_text,
    uws,
    xlink,
)

# -- the job and its children ------------------------------------------------------------

def test_job_document_and_atomic_children(client: UWSClient) -> None:
    url = client.create(app="hello", name="Ada", delay="0", RUNID="child-check")
    doc = client.job(url)
    assert doc.job_id == job_id_of(url)
    assert doc.text("runId") == "child-check"
    assert doc.phase == "PENDING"
    assert doc.root.find(uws("ownerId")) is not None and is_nil(doc.root.find(uws("ownerId")))

    assert plain_text(client, f"{url}/phase").strip() == "PENDING"
    duration = plain_text(client, f"{url}/executionduration").strip()
    assert duration == doc.text("executionDuration")
    assert duration == "600"  # hello's max_execution_time, within the server's limit
    destruction = plain_text(client, f"{url}/destruction")
    assert destruction == doc.text("destruction")  # one instant, written one way
    assert parse_iso(destruction) > doc.instant("creationTime")
    quote = parse_iso(plain_text(client, f"{url}/quote"))
    assert quote >= doc.instant("creationTime")
    assert plain_text(client, f"{url}/owner").strip() == ""
    plain_text(client, f"{url}/error")  # text/plain even when there is no error

    parameters = client.get(f"{url}/parameters")
    assert parameters.status_code == 200
    root = client.schemas.validate(parameters.content)
    assert root.tag == uws("parameters")
    values = {p.get("id"): p.text for p in root.findall(uws("parameter"))}
    assert values == {"app": "hello:1.0.0", "name": "Ada", "delay": "0"}
    assert {k: v.text for k, v in doc.parameters.items()} == values

    results = client.get(f"{url}/results")
    assert results.status_code == 200
    root = client.schemas.validate(results.content)
    assert root.tag == uws("results")
    assert root.findall(uws("result")) == []


def test_every_change_answers_see_other(client: UWSClient) -> None:
    jobs = client.jobs_url
    url = client.create(app="hello", name="Redirect")  # create() asserts 303 -> job URL
    future = iso_z(datetime.now(UTC) + timedelta(days=2))
    assert_see_other(client.post(f"{url}/destruction", {"DESTRUCTION": future}), url)
    assert_see_other(client.post(f"{url}/executionduration", {"EXECUTIONDURATION": "120"}),
                     url)
    assert plain_text(client, f"{url}/executionduration").strip() == "120"
    assert_see_other(client.post(f"{url}/parameters", {"name": "Moved"}), url)
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "RUN"}), url)
    assert client.wait_for(url).phase == "COMPLETED"

    to_abort = client.create(app="hello")
    assert_see_other(client.post(f"{to_abort}/phase", {"PHASE": "ABORT"}), to_abort)

    assert_see_other(client.delete(url), jobs)
    assert client.get(url).status_code == 404
    assert_see_other(client.post(to_abort, {"ACTION": "DELETE"}), jobs)
    assert client.get(to_abort).status_code == 404
    listed = {r.id for r in client.job_list()}
    assert not {job_id_of(url), job_id_of(to_abort)} & listed


# -- parameters ----------------------------------------------------------------------------

def test_parameters_update_while_pending_only(client: UWSClient) -> None:
    url = client.create(app="hello", name="Ada")
    assert_see_other(client.post(f"{url}/parameters", {"name": "Grace", "delay": "0"}), url)
    params = client.job(url).parameters
    assert params["name"].text == "Grace"
    assert params["delay"].text == "0"
    assert_see_other(client.post(f"{url}/phase", {"PHASE": "RUN"}), url)
    assert client.wait_for(url).phase == "COMPLETED"
    assert client.get(f"{url}/results/greeting.txt").text == "Hello, Grace!\n"

    refused = client.post(f"{url}/parameters", {"name": "Linus"})
    assert 400 <= refused.status_code < 500, refused.status_code
    assert media_type(refused) == "text/plain"
    assert "PENDING" in refused.text
    assert client.job(url).parameters["name"].text == "Grace"


def test_a_job_is_created_again_from_its_parameter_list(client: UWSClient) -> None:
    """A generic client (pyvo reads the job) sends the parameter list back as a new job:
    the same app, pinned the same way, the same values, the same result."""
    from pyvo.io.uws import parse_job

    url, first = client.run(app="hello", name="Twice")
    listed = [(p.id_, p.content) for p in parse_job(io.BytesIO(first.raw)).parameters]
    assert listed[0] == ("app", "hello:1.0.0")
    again, second = client.run(dict(listed))
    assert second.phase == first.phase == "COMPLETED"
    assert client.get(f"{again}/parameters").content == client.get(f"{url}/parameters").content
    assert client.get(f"{again}/results/greeting.txt").text == "Hello, Twice!\n"


def test_file_parameter_upload(client: UWSClient, fits_file: Path) -> None:
    data = fits_file.read_bytes()
    url, doc = client.run({"app": "fits-stats", "stretch": "linear"},
                          files={"image": ("field.fits", data, "application/fits")})
    assert doc.phase == "COMPLETED", doc.raw
    image = doc.parameters["image"]
    assert image.get("byReference") == "true"
    assert image.text.startswith(("http://", "https://"))
    uploaded = client.get(image.text)
    assert uploaded.status_code == 200
    assert uploaded.content == data
    stretch = doc.parameters["stretch"]
    assert stretch.get("byReference") in (None, "false")
    assert stretch.text == "linear"

    expected = {"stats.json": "application/json", "preview.png": "image/png"}
    for name, mime in expected.items():
        result = doc.results[name]
        assert result.get("mime-type") == mime
        assert result.get(xlink("href")) == f"{url}/results/{name}"
        body = client.get(result.get(xlink("href")))
        assert body.status_code == 200
        assert media_type(body) == mime
        assert int(result.get("size")) == len(body.content) > 0
    stats = json.loads(client.get(f"{url}/results/stats.json").content)
    assert stats["hdus"][0]["shape"] == [64, 64]
    assert client.get(f"{url}/results/preview.png").content.startswith(b"\x89PNG\r\n\x1a\n")


# -- results ---------------------------------------------------------------------------------

def test_results_are_app_files_plus_logs(client: UWSClient, service: LiveService) -> None:
    url, doc = client.run(app="hello", name="Vera")
    assert doc.phase == "COMPLETED"
    written = {p.relative_to(job_dir(service, url) / "results").as_posix()
               for p in (job_dir(service, url) / "results").rglob("*") if p.is_file()}
    assert written == {"greeting.txt"}
    assert set(doc.results) == written | {"stdout", "stderr"}

    listing = client.get(f"{url}/results")
    root = client.schemas.validate(listing.content)
    assert {r.get("id") for r in root.findall(uws("result"))} == set(doc.results)

    contents: dict[str, bytes] = {}
    for result_id, node in doc.results.items():
        assert node.get(xlink("href")) == f"{url}/results/{result_id}"
        response = client.get(node.get(xlink("href")))
        assert response.status_code == 200, result_id
        assert int(node.get("size")) == len(response.content), result_id
        assert media_type(response) == node.get("mime-type"), result_id
        contents[result_id] = response.content
    assert contents["greeting.txt"] == b"Hello, Vera!\n"
    assert doc.results["greeting.txt"].get("mime-type") == "text/plain"
    assert b"Hello, Vera!" in contents["stdout"]
