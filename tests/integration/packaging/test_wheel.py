"""The package as users get it: the wheel and the sdist build from a fresh clone's files,
the wheel holds every file of src/innerspace (the Alembic revisions, the staging scripts,
the registry sandbox, the runtime copied into app images), the sdist builds the same wheel,
`pip install innerspace-*.whl` in a clean venv is a client: its client commands run, and
none of the server's dependencies came with it; `innerspace[server,postgres]` is the
service: its server commands start and its database migrations (package data) run."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

from lxml import etree

from innerspace.config import load_settings
from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.resources import build_records
from tests.integration.packaging.conftest import SERVER_DISTRIBUTIONS, Built, Venv
from tests.support.apps import example_image
from tests.support.paths import SRC
from tests.support.regtap_live import LiveRegTAP
from tests.support.regtap_samples import UPDATED


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def innerspace(venv: Venv, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv.bin / "innerspace"), *arguments], capture_output=True,
                          text=True, timeout=300, check=False,
                          env={"PATH": str(venv.bin), "HOME": os.environ.get("HOME", "/"),
                               "COLUMNS": "200"})


def test_the_wheel_holds_every_file_of_the_package(built: Built) -> None:
    source = {str(p.relative_to(SRC)) for p in (SRC / "innerspace").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    packaged = {name for name in wheel_files(built.wheel) if name.startswith("innerspace/")}
    assert packaged == source
    assert any(name.startswith("innerspace/db/migrations/versions/0001") for name in packaged)
    entry_points = next(n for n in wheel_files(built.wheel) if n.endswith("entry_points.txt"))
    with zipfile.ZipFile(built.wheel) as archive:
        assert "innerspace = innerspace.cli:app" in archive.read(entry_points).decode()


def test_the_sdist_builds_a_wheel_with_the_same_files(built: Built) -> None:
    assert built.wheel.name == built.wheel_from_sdist.name
    assert wheel_files(built.wheel_from_sdist) == wheel_files(built.wheel)


def test_a_client_install_runs_the_client_commands(client_venv: Venv) -> None:
    for command in ([], ["plan"], ["submit"], ["run"], ["jobs"]):
        done = innerspace(client_venv, *command, "--help")
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert "Usage" in done.stdout, (command, done.stdout)
    assert "--registry" in innerspace(client_venv, "plan", "--help").stdout


def test_a_client_install_holds_none_of_the_server(client_venv: Venv) -> None:
    installed = client_venv.installed()
    assert "innerspace" in installed
    assert installed & set(SERVER_DISTRIBUTIONS) == set()


def test_the_server_commands_name_the_extra_to_install(client_venv: Venv) -> None:
    for command in (["serve"], ["base-image"], ["repo", "serve"], ["app", "build", "."],
                    ["app", "publish", "."], ["app", "lint", "."], ["app", "list", "--local"],
                    ["swarm", "clean"]):
        done = innerspace(client_venv, *command)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        message = " ".join(done.stderr.split())
        assert "pip install 'innerspace[server]'" in message, (command, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_client_install_plans_against_a_registry(client_venv: Venv) -> None:
    """`innerspace plan` asks a live RegTAP (with one data centre whose execution service is
    out of reach) and explains why it left that one out: the whole client path runs."""
    north = {"authority": "ivo://north.example", "name": "north", "inner_apis": []}
    dc = load_settings(datacentre=north).datacentre
    index = RegTAPIndex()
    assert not index.load([Record(b.ivoid, etree.tostring(b.element), UPDATED) for b in
                           build_records(dc, "http://127.0.0.1:9/innerspace",
                                         [example_image("hello")])]).skipped
    with LiveRegTAP(index) as live:
        done = innerspace(client_venv, "plan", "hello", "--registry", live.url)
    assert "Traceback" not in done.stderr, done.stderr
    assert "ivo://north.example" in done.stdout, (done.stdout, done.stderr)
    assert "left out" in done.stdout


def test_the_server_extras_install_the_service(server_venv: Venv, tmp_path: Path) -> None:
    assert {"docker", "sqlalchemy", "psycopg", "astropy", "fastapi"} <= server_venv.installed()
    done = innerspace(server_venv, "serve", "--help")
    assert done.returncode == 0 and "Usage" in done.stdout, (done.stdout, done.stderr)
    # The Alembic revisions come from the installed package, not from the checkout.
    probe = ("import sys, sqlalchemy, innerspace.server; "
             "from innerspace.db.migrations import upgrade; "
             "engine = sqlalchemy.create_engine(f'sqlite:///{sys.argv[1]}'); upgrade(engine); "
             "print(innerspace.server.__file__); "
             "print(' '.join(sorted(sqlalchemy.inspect(engine).get_table_names())))")
    migrated = subprocess.run([str(server_venv.bin / "python"), "-c", probe,
                               str(tmp_path / "innerspace.db")], capture_output=True, text=True,
                              timeout=300, check=False, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    where, tables = migrated.stdout.splitlines()[-2:]
    assert where.startswith(str(server_venv.path))
    assert "jobs" in tables.split() and "alembic_version" in tables.split()
