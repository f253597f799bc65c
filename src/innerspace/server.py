"""The innerspace web service: wires settings, job store, engine, app catalogue and runner
into one FastAPI application, and renders every UWSError as a plain-text 4xx/5xx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import innerspace
from innerspace.apps.catalogue import AppCatalogue, CatalogueUnavailable, LocalEngineCatalogue
from innerspace.apps.manifest import manifest_json_schema
from innerspace.config import Settings, load_settings
from innerspace.engines import create_engine
from innerspace.engines.base import Engine
from innerspace.registry.vosi import availability_document, capabilities_document
from innerspace.uws.errors import Unavailable, UWSError
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.routes import base_url
from innerspace.uws.routes import router as uws_router
from innerspace.uws.runner import JobRunner
from innerspace.uws.service import JobService
from innerspace.uws.store import JobStore

log = logging.getLogger("innerspace")


@dataclass
class Services:
    """Everything a request may use; built once per process in the lifespan."""

    settings: Settings
    store: JobStore
    engine: Engine
    catalogue: AppCatalogue
    runner: JobRunner
    jobs: JobService
    started: datetime


def build_catalogue(settings: Settings, engine: Engine) -> AppCatalogue:
    from innerspace.engines.docker import DockerEngine

    if isinstance(engine, DockerEngine):
        return LocalEngineCatalogue(engine.client)
    raise ValueError(f"no app catalogue for engine {engine.name!r}")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI application. Without `settings`, they are read from the environment."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.jobs_dir.mkdir(parents=True, exist_ok=True)
        store = JobStore.open(settings.sqlalchemy_url)
        engine = create_engine(settings)
        notifier = PhaseNotifier()
        runner = JobRunner(settings, store, engine, notifier)
        catalogue = build_catalogue(settings, engine)
        app.state.services = Services(
            settings, store, engine, catalogue, runner,
            JobService(settings, store, catalogue, runner, notifier), datetime.now(UTC))
        await runner.start()
        log.info("innerspace %s: data in %s, engine %s", innerspace.__version__,
                 settings.data_dir, engine.name)
        try:
            yield
        finally:
            await runner.close()
            await engine.close()
            store.close()

    app = FastAPI(title="innerspace", version=innerspace.__version__, lifespan=lifespan,
                  description="IVOA UWS 1.1 service running containerised Python apps.")
    app.state.settings = settings
    app.include_router(uws_router)

    @app.exception_handler(UWSError)
    async def uws_error(_: Request, exc: UWSError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return PlainTextResponse(exc.message + "\n", status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        return PlainTextResponse(f"bad request: {problems}\n", status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code,
                                 headers=getattr(exc, "headers", None))

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> Response:
        url = base_url(request)
        return PlainTextResponse(
            f"innerspace {innerspace.__version__}: UWS 1.1 job list at {url}/jobs, "
            f"VOSI at {url}/capabilities and {url}/availability, apps at {url}/apps\n")

    @app.get("/capabilities", summary="VOSI capabilities")
    async def capabilities(request: Request) -> Response:
        return Response(capabilities_document(base_url(request)), media_type="application/xml")

    @app.get("/availability", summary="VOSI availability")
    async def availability(request: Request) -> Response:
        services: Services = request.app.state.services
        problem = await services.engine.check()
        return Response(availability_document(problem, services.started),
                        media_type="application/xml")

    @app.get("/apps", summary="The applications this service runs")
    async def apps(request: Request) -> Response:
        services: Services = request.app.state.services
        try:
            available = services.catalogue.apps()
        except CatalogueUnavailable as exc:
            raise Unavailable(str(exc)) from None
        return JSONResponse([
            {"name": a.name, "version": a.version, "title": a.manifest.title,
             "description": a.manifest.description, "image": a.image, "tags": list(a.tags),
             "parameters": {k: p.model_dump(mode="json", exclude_none=True)
                            for k, p in a.manifest.parameters.items()},
             "resources": a.manifest.resources.model_dump(mode="json"),
             "inner_apis": [r.model_dump(mode="json") for r in a.manifest.inner_apis]}
            for a in available
        ])

    @app.get("/schemas/app-manifest.json", summary="JSON Schema of app manifests")
    async def manifest_schema() -> Response:
        return JSONResponse(manifest_json_schema())

    return app
