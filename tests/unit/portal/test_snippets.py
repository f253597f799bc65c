"""The snippets that make a job again (pyvo, curl, the CLI), and the streamed zip."""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

from innerspace.portal import snippets
from innerspace.portal.zipstream import zip_stream
from innerspace.uws.phases import Phase
from innerspace.uws.store import Job, JobParameter

URL = "https://dc.example.org/innerspace"


def job() -> Job:
    return Job(id="a" * 16, owner="alice", phase=Phase.COMPLETED, app="fits-stats",
               app_version="1.0", image="fits-stats:1.0", manifest={}, creation_time=0.0,
               execution_duration=60, destruction=1.0,
               parameters=(JobParameter("image", "http://x/inputs/image", True, "m31.fits"),
                           JobParameter("stretch", "it's log")))


def test_the_snippets_carry_the_app_and_its_parameters() -> None:
    found = {s.label: s.text for s in snippets.snippets(job(), URL)}
    assert set(found) == {"pyvo", "curl", "innerspace"}
    curl = found["curl"]
    assert f"{URL}/jobs" in curl and "-F app=fits-stats:1.0" in curl
    assert "-F image=@m31.fits" in curl and "'stretch=it'\"'\"'s log'" in curl
    cli = found["innerspace"]
    assert cli.startswith("innerspace submit fits-stats:1.0") and "--file image=m31.fits" in cli
    assert "-p 'stretch=it'\"'\"'s log'" in cli and f"--url {URL}" in cli
    code = found["pyvo"]
    ast.parse(code)  # valid Python
    assert "'stretch': \"it's log\"" in code and "'image': open('m31.fits', 'rb')" in code


def test_the_zip_is_streamed_in_pieces(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 8192)  # 2 MiB, several chunks
    small = tmp_path / "s.txt"
    small.write_text("hello")
    pieces = list(zip_stream([("dir/big.bin", big), ("s.txt", small),
                              ("gone.txt", tmp_path / "gone.txt")]))
    assert len(pieces) > 3
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as archive:
        assert archive.namelist() == ["dir/big.bin", "s.txt"]
        assert archive.read("dir/big.bin") == big.read_bytes()
        assert archive.testzip() is None
