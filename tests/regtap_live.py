"""What the RegTAP tests share: an index loaded with the sample records, a live RegTAP
service (a small FastAPI app with the RegTAP router at /registry/tap and the TAP error
renderer, served by uvicorn in a thread), pyvo pointed at it, and helpers to read results.

The fixtures are bound into each test module by assignment (`index = regtap_live.index`),
so that every module gets its own module-scoped instances."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree

from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.regtap.routes import PATH, error_renderer, router
from innerspace.web import errors
from tests.conftest import free_port
from tests.regtap_samples import sample_records

VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"
RR_TABLES = ("resource", "capability", "interface", "res_subject", "res_role", "res_detail",
             "relationship", "res_date", "intf_param", "alt_identifier", "validation",
             "res_schema", "res_table", "table_column")


def regtap_app(index: RegTAPIndex | None) -> FastAPI:
    """The RegTAP router as the service mounts it, with its errors rendered as there."""
    app = FastAPI()
    app.state.settings = SimpleNamespace(public_url=None)
    if index is not None:
        app.state.services = SimpleNamespace(regtap=index)
    app.include_router(router, prefix=PATH)
    renderers = errors.ErrorRenderers()
    renderers.register(PATH, error_renderer)
    errors.install(app, renderers)
    return app


class LiveRegTAP:
    """The RegTAP app on a free loopback port, served by uvicorn in a thread."""

    def __init__(self, index: RegTAPIndex | None) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        self.server = uvicorn.Server(uvicorn.Config(regtap_app(index), host="127.0.0.1",
                                                    port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveRegTAP:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the RegTAP service did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def index() -> RegTAPIndex:
    index = RegTAPIndex()
    index.load(sample_records())
    return index


@pytest.fixture(scope="module")
def live(index: RegTAPIndex) -> Iterator[LiveRegTAP]:
    with LiveRegTAP(index) as service:
        yield service


@pytest.fixture(scope="module")
def regtap(live: LiveRegTAP) -> Iterator[str]:
    """pyvo.registry pointed at the live service (and back afterwards)."""
    from pyvo import registry

    previous = registry.regtap.get_RegTAP_service_url()
    registry.choose_RegTAP_service(live.url)
    yield live.url
    registry.choose_RegTAP_service(previous)


@pytest.fixture
def http(live: LiveRegTAP) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


# -- reading results -----------------------------------------------------------------------

def ivoids(results: Any) -> set[str]:
    return {r.ivoid for r in results}


def rows(index: RegTAPIndex, query: str) -> list[tuple[Any, ...]]:
    return index.query(query, maxrec=100_000).rows


def dump(index: RegTAPIndex) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(rows(index, f"SELECT * FROM rr.{t}"), key=repr) for t in RR_TABLES}


def votable_status(response: httpx.Response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    infos = root.findall(f"{VOTABLE_NS}RESOURCE/{VOTABLE_NS}INFO[@name='QUERY_STATUS']")
    return infos[-1].get("value"), (infos[-1].text or "")


def schema_errors(schemas: Any, document: bytes) -> list[str]:
    """Schema errors, but the one TAPRegExt 1.0 itself causes: its dataModel/@ivo-id is a
    vr:IdentifierURI, which VOResource 1.1 defines without fragments, so every real data
    model id (ivo://ivoa.net/std/RegTAP#1.1, ...#core-1.1) fails its pattern. RegTAP 1.1 and
    pyvo need exactly these ids; TAPRegExt 1.1 makes the attribute a plain anyURI."""
    root = etree.fromstring(document, schemas.parser)
    if schemas.schema.validate(root):
        return []
    return [f"{e.line}: {e.message}" for e in schemas.schema.error_log
            if not (e.type_name == "SCHEMAV_CVC_PATTERN_VALID"
                    and "'dataModel', attribute 'ivo-id'" in e.message and "#" in e.message)]
