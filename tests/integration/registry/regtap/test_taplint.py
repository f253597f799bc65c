"""STILTS taplint, the TAP validator the VO community uses, against the RegTAP service with
records in it (sync, async, TAP_SCHEMA, VOSI, the metadata of results): no errors. Its
warnings are printed (pytest -s shows them). stilts is Debian's package `stilts`, which
`make setup` installs; without it the test is skipped, saying so."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support.regtap_live import LiveRegTAP

STILTS = shutil.which("stilts")


@pytest.mark.skipif(STILTS is None, reason="stilts is not installed (Debian package "
                                           "`stilts`; `make setup` installs it)")
def test_taplint_finds_no_errors(live: LiveRegTAP) -> None:
    assert STILTS is not None
    run = subprocess.run([STILTS, "taplint", f"tapurl={live.url}", "report=EW"],
                         capture_output=True, text=True, timeout=600, check=False)
    totals = re.search(r"Totals: Errors: (\d+); Warnings: (\d+)", run.stdout)
    assert totals is not None, f"no summary from taplint:\n{run.stdout}\n{run.stderr}"
    reports = [line for line in run.stdout.splitlines() if re.match(r"[EW]-[A-Z]{3}-", line)]
    for line in reports:
        print(line)
    errors = [line for line in reports if line.startswith("E-")]
    assert int(totals[1]) == 0 and errors == [], "\n".join(errors)
