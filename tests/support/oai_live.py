"""What the OAI-PMH tests share: a live publishing registry (a small FastAPI app with the
OAI-PMH router at /registry/oai and its error renderer, served by uvicorn over ~260 sample
records), the offline validator, the `respond` repository, and helpers to read answers.

The fixtures (`live`, `schemas`, `http`) are in the conftest.py of each folder of OAI-PMH
tests; they are module-scoped, so every test module gets its own registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI
from lxml import etree
from sickle import Sickle

from innerspace.registry.oai import Repository, respond
from innerspace.registry.oai.routes import PATH, error_renderer, router
from innerspace.registry.records import MANAGED_SET, XSI_NS, Record
from innerspace.web import errors
from tests.support.net import ServerThread, free_port
from tests.support.oai_samples import (
    ADMIN_EMAIL,
    EARLIEST,
    REGISTRY_IVOID,
    REGISTRY_NAME,
    OAISchemas,
    SampleRegistry,
    sample_records,
)
from tests.support.xmlcheck import schema_folder

OAI = "{http://www.openarchives.org/OAI/2.0/}"
OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
DC = "{http://purl.org/dc/elements/1.1/}"
REACHABLE_CODES = {"badVerb", "badArgument", "cannotDisseminateFormat", "idDoesNotExist",
                   "noRecordsMatch", "badResumptionToken"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def second(record: Record) -> datetime:
    return record.updated.astimezone(UTC).replace(microsecond=0)


def selection(records: list[Record], *, set_spec: str | None = None,
              lower: datetime | None = None, upper: datetime | None = None) -> set[str]:
    """The ivoids OAI-PMH must list for these arguments (datestamps are whole seconds)."""
    return {r.ivoid for r in records
            if (set_spec is None or any(s == set_spec or s.startswith(f"{set_spec}:")
                                        for s in r.sets))
            and (lower is None or second(r) >= lower)
            and (upper is None or second(r) <= upper)}


def canonical(element: Any) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True)


def xsi_type(element: Any) -> tuple[str | None, str]:
    prefix, _, local = (element.get(f"{{{XSI_NS}}}type") or "").rpartition(":")
    return element.nsmap.get(prefix or None), local


# -- the live registry ------------------------------------------------------------------------

@dataclass
class Live:
    """The running registry: its URLs, app, record source and sample records."""

    url: str
    endpoint: str
    app: FastAPI
    registry: SampleRegistry
    records: list[Record]
    server: ServerThread

    @property
    def managed(self) -> list[Record]:
        return [r for r in self.records if MANAGED_SET in r.sets]

    def stop(self) -> None:
        self.server.stop()


def start_sample_registry() -> Live:
    """The OAI-PMH router over the sample records, served on a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    records = sample_records(f"{url}{PATH}")
    registry = SampleRegistry(records)
    app = FastAPI()
    app.include_router(router)
    app.state.services = SimpleNamespace(registry=registry)
    app.state.settings = SimpleNamespace(public_url=None)
    renderers = errors.ErrorRenderers()
    renderers.register(PATH, error_renderer)
    errors.install(app, renderers)
    server = ServerThread(app, port, "the OAI-PMH registry", lifespan="off")
    server.start()
    return Live(url, f"{url}{PATH}", app, registry, records, server)


def oai_schemas(workdir: Path | None = None) -> OAISchemas:
    """The OAI-PMH validator (over the schemas `make setup` fetches, or fetched now).
    `workdir` is no longer used: the official oai_dc schema ships with the others, where
    stand-ins had to be written before."""
    return OAISchemas(schema_folder())


def oai_get(http: httpx.Client, live: Live, schemas: OAISchemas,
            params: list[tuple[str, str]] | dict[str, str]) -> Any:
    pairs = tuple(params.items() if isinstance(params, dict) else params)
    response = http.get(live.endpoint, params=pairs)
    return checked(response, schemas)


def checked(response: httpx.Response, schemas: OAISchemas) -> Any:
    """An OAI-PMH answer: HTTP 200, text/xml in UTF-8, schema-valid; its root element."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].replace(" ", "").lower() == "text/xml;charset=utf-8"
    return schemas.validate(response.content)


def error_codes(root: Any) -> list[str]:
    return [e.get("code") for e in root.findall(f"{OAI}error")]


def sickle_for(live: Live, **kwargs: Any) -> Sickle:
    return Sickle(live.endpoint, timeout=60, **kwargs)


def first_token(http: httpx.Client, live: Live, schemas: OAISchemas, verb: str,
                **params: str) -> str:
    root = oai_get(http, live, schemas, {"verb": verb, "metadataPrefix": "ivo_vor", **params})
    token = root.findtext(f"{OAI}{verb}/{OAI}resumptionToken")
    assert token
    return str(token)


# -- respond() on its own -------------------------------------------------------------------

REPOSITORY = Repository(REGISTRY_IVOID, ADMIN_EMAIL, REGISTRY_NAME,
                        "http://registry.example/registry/oai", EARLIEST)


def pages(arguments: dict[str, list[str]], records: list[Record], repository: Repository,
          now: datetime | None = None) -> list[Any]:
    """Every page of a list, following the tokens."""
    verb = arguments["verb"][0]
    roots = []
    while True:
        root = etree.fromstring(respond(arguments, records, repository, now))
        roots.append(root)
        token = root.findtext(f"{OAI}{verb}/{OAI}resumptionToken")
        if not token:
            return roots
        arguments = {"verb": [verb], "resumptionToken": [token]}

