"""UWS 1.1 conformance: the error of a failed job, the quote, the destruction time (kept
exactly, and honoured) and the execution duration (enforced)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.support.services import LiveService
from tests.support.uwsclient import (
    UWSClient,
    assert_see_other,
    iso_z,
    job_dir,
    job_id_of,
    parse_iso,
    plain_text,
    uws,
)

# -- error, quote, destruction, execution duration ------------------------------------------

def test_error_summary_and_error_resource(client: UWSClient) -> None:
    url, doc = client.run({"app": "fits-stats"},
                          files={"image": ("notfits.fits", b"this is not FITS\n" * 10,
                                           "application/fits")})
    assert doc.phase == "ERROR"
    summary = doc.error_summary
    assert summary is not None
    assert (summary.get("type"), summary.get("hasDetail")) == ("fatal", "true")
    error_text = plain_text(client, f"{url}/error")
    assert error_text.startswith("the application exited with status ")
    # The summary is the error's first line, cut to 300 characters.
    first_line = error_text.strip().splitlines()[0]
    assert summary.findtext(uws("message")) == (
        first_line if len(first_line) <= 300 else first_line[:297] + "...")
    assert "FITS" in error_text  # the app's own complaint reaches the client
    assert client.job(url).error_summary is not None


def test_quote_of_pending_job(client: UWSClient) -> None:
    url = client.create(app="hello")
    doc = client.job(url)
    assert doc.text("quote") is not None  # an estimate, not xsi:nil
    quote = doc.instant("quote")
    assert quote >= doc.instant("creationTime")
    text_quote = parse_iso(plain_text(client, f"{url}/quote"))
    assert abs(text_quote - quote) < timedelta(seconds=5)


def test_destruction_round_trips_exactly(client: UWSClient) -> None:
    """A DESTRUCTION within the server's limits is kept as given, and /destruction and the
    job document show the same instant. Several millisecond values are tried, since an
    error in rendering fractions of a second shows on some values only."""
    url = client.create(app="hello")
    base = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    shown: list[tuple[str, str, str]] = []
    for millis in range(1, 25, 2):
        when = base + timedelta(milliseconds=millis)
        assert_see_other(client.post(f"{url}/destruction", {"DESTRUCTION": iso_z(when)}), url)
        text = plain_text(client, f"{url}/destruction").strip()
        in_job = client.job(url).text("destruction") or ""
        if not parse_iso(text) == parse_iso(in_job) == when:
            shown.append((iso_z(when), text, in_job))
    assert not shown, "posted -> /destruction, job document:\n" + "\n".join(
        f"{sent} -> {text}, {in_job}" for sent, text, in_job in shown)


def test_destruction_destroys_job_and_files(client: UWSClient, service: LiveService) -> None:
    url, doc = client.run(app="hello", name="Ephemeral")
    assert doc.phase == "COMPLETED"
    folder = job_dir(service, url)
    assert (folder / "results" / "greeting.txt").is_file()
    when = datetime.now(UTC) + timedelta(seconds=2)
    assert_see_other(client.post(f"{url}/destruction", {"DESTRUCTION": iso_z(when)}), url)
    stored = parse_iso(plain_text(client, f"{url}/destruction"))
    assert abs(stored - when) < timedelta(seconds=1)

    deadline = time.monotonic() + 15
    while client.get(url).status_code != 404:  # nothing to WAIT on: the job is final
        assert time.monotonic() < deadline, "the job outlived its destruction time"
        time.sleep(0.2)
    assert datetime.now(UTC) >= when - timedelta(milliseconds=100)
    assert not folder.exists()
    assert job_id_of(url) not in {r.id for r in client.job_list()}
    assert client.get(f"{url}/results/greeting.txt").status_code == 404


def test_execution_duration_enforced(client: UWSClient) -> None:
    started = time.monotonic()
    url = client.create(app="hello", delay="30", EXECUTIONDURATION="2", PHASE="RUN")
    assert plain_text(client, f"{url}/executionduration").strip() == "2"
    doc = client.wait_for(url, timeout=25)
    elapsed = time.monotonic() - started
    assert doc.phase == "ERROR", doc.raw
    assert elapsed < 15, elapsed
    message = doc.error_summary.findtext(uws("message"))
    assert "execution duration" in message.lower()
    assert "execution duration" in plain_text(client, f"{url}/error").lower()
