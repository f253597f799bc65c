"""What the RegTAP tests share: an index loaded with the sample records, a live RegTAP
service (a small FastAPI app with the RegTAP router at /registry/tap and the TAP error
renderer, served by uvicorn in a thread), pyvo pointed at it, and helpers to read results.

The fixtures (`index`, `live`, `http`, `regtap`) are in the conftest.py of each folder of
RegTAP tests; they are module-scoped, so every test module gets its own index and service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI
from lxml import etree

from innerspace.config import Auth, Settings
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.regtap.async_routes import router as async_router
from innerspace.registry.regtap.async_routes import tap_jobs
from innerspace.registry.regtap.routes import PATH, error_renderer, router
from innerspace.web import errors
from tests.support.net import ServerThread, free_port

VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"
RR_TABLES = ("resource", "capability", "interface", "res_subject", "res_role", "res_detail",
             "relationship", "res_date", "intf_param", "alt_identifier", "validation",
             "res_schema", "res_table", "table_column")


def regtap_app(index: RegTAPIndex | None, data_dir: Path | None = None) -> FastAPI:
    """The RegTAP router as the service mounts it, with its errors rendered as there; with
    a `data_dir`, the /async job list too, its jobs kept there."""
    if index is None or data_dir is None:
        app = FastAPI()
        app.state.settings = SimpleNamespace(public_url=None, auth=Auth())
        if index is not None:
            app.state.services = SimpleNamespace(regtap=index)
    else:
        settings = Settings(data_dir=data_dir)
        jobs = tap_jobs(settings, index)

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            jobs.start()
            yield
            await jobs.close()

        app = FastAPI(lifespan=lifespan)
        app.state.settings = settings
        app.state.services = SimpleNamespace(regtap=index, tap_jobs=jobs)
        app.include_router(async_router, prefix=PATH)
    app.include_router(router, prefix=PATH)
    renderers = errors.ErrorRenderers()
    renderers.register(PATH, error_renderer)
    errors.install(app, renderers)
    return app


class LiveRegTAP:
    """The RegTAP app on a free loopback port, served by uvicorn in a thread."""

    def __init__(self, index: RegTAPIndex | None, data_dir: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        self.server = ServerThread(regtap_app(index, data_dir), self.port,
                                   "the RegTAP service")

    def __enter__(self) -> LiveRegTAP:
        self.server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()


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
    return str(infos[-1].get("value")), (infos[-1].text or "")


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
