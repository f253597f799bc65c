"""Request bodies cannot fill the service's memory (issue 11, item 2). The original attack -
a 30 MB urlencoded body of tiny fields, which added 600 MB before the field cap applied - and
its variants (one endless field, many fields each under the cap, multipart bodies of many
small text parts or one huge one; with a Content-Length, or chunked so that none announces
the size) each answer 413 naming the limit, while the peak resident memory of a real
`innerspace serve` process rises by a few MB at most; normal forms and uploads still work."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.process_memory import PeakMemory
from tests.support.services import ProcessService

MB = 1024 * 1024
BODY_SIZE = 30 * MB
# What a refused body may add to the service's peak memory: the chunks in flight and the
# parsers' state, against 600 MB before. Measured: see the report of issue 11.
MAX_GROWTH_MIB = 16
BOUNDARY = "innerspace-attack"
URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


@pytest.fixture(scope="module")
def process_service(example_apps: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[ProcessService]:
    """A real `innerspace serve` process with the default limits (1 MB of form fields)."""
    service = ProcessService(tmp_path_factory.mktemp("data")).start()
    yield service
    service.stop()


def repeated(piece: bytes, size: int = BODY_SIZE, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """`piece` repeated to `size` bytes, sent chunked (no Content-Length)."""
    block = piece * max(1, chunk // len(piece))
    for _ in range(size // len(block)):
        yield block


def text_part(name: str, value: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            ).encode() + value + b"\r\n"


def one_huge_part() -> Iterator[bytes]:
    yield f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n".encode()
    yield from repeated(b"x")


TOO_LARGE = "larger than the limit of 1048576 bytes"
TOO_MANY = "more than 1000 fields"
# name: (body, headers, what the 413 says)
ATTACKS: dict[str, tuple[Callable[[], Any], dict[str, str], str]] = {
    "tiny-fields-with-length": (lambda: b"a=&" * (BODY_SIZE // 3), URLENCODED,
                                "the request body (31457280 bytes) is " + TOO_LARGE),
    "tiny-fields-chunked": (lambda: repeated(b"a=&"), URLENCODED, TOO_MANY),
    "one-endless-field": (lambda: repeated(b"x"), URLENCODED, TOO_LARGE),
    "fields-of-2k": (lambda: repeated(b"a=" + b"x" * 2046 + b"&"), URLENCODED, TOO_LARGE),
    "separators-only": (lambda: repeated(b"&"), URLENCODED, TOO_LARGE),
    "tiny-text-parts": (lambda: repeated(text_part("a", b"v")), MULTIPART, TOO_MANY),
    "text-parts-of-4k": (lambda: b"".join(repeated(text_part("a", b"v" * 4000))), MULTIPART,
                         TOO_LARGE),
    "one-huge-text-part": (one_huge_part, MULTIPART, TOO_LARGE),
}


def attack(service: ProcessService, name: str) -> tuple[httpx.Response, float, float]:
    """Send attack `name`; the answer, the peak memory growth (MiB) and the seconds taken."""
    make_body, headers, _ = ATTACKS[name]
    body = make_body()
    memory = PeakMemory(service.pid)
    with service.client() as http:
        assert http.get("/jobs").status_code == 200  # the service is warm
        memory.reset()
        started = time.monotonic()
        response = http.post("/jobs", content=body, headers=headers)
        elapsed = time.monotonic() - started
    return response, memory.growth_mib(), elapsed


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_huge_form_body_is_413_without_filling_memory(process_service: ProcessService,
                                                        name: str) -> None:
    response, growth, elapsed = attack(process_service, name)
    print(f"{name}: {response.status_code} in {elapsed:.2f} s, peak memory +{growth:.1f} MiB")
    assert response.status_code == 413, response.text
    assert ATTACKS[name][2] in response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert growth < MAX_GROWTH_MIB, f"the service's peak memory rose by {growth:.1f} MiB"


def test_normal_forms_and_uploads_still_work(process_service: ProcessService,
                                             fits_file: Path) -> None:
    with process_service.client() as http:
        small = http.post("/jobs", data={"app": "hello", "name": "Ada"})
        assert small.status_code == 303, small.text
        large = http.post("/jobs", data={"app": "hello", "name": "x" * 500_000})
        assert large.status_code == 303, large.text
        upload = http.post("/jobs", data={"app": "fits-stats"}, files={
            "image": ("big.fits", fits_file.read_bytes() + b"\0" * (4 * MB))})
        assert upload.status_code == 303, upload.text
        job = http.get(f"{upload.headers['location']}/inputs/image")
        assert len(job.content) == fits_file.stat().st_size + 4 * MB
        refused = http.post("/jobs", data={"app": "hello", "name": "x" * (2 * MB)})
        assert refused.status_code == 413 and TOO_LARGE in refused.text
