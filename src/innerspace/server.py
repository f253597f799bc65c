"""The innerspace web service: wires settings, job store, engine, app catalogue and runner
into one FastAPI application, and renders every UWSError as a plain-text 4xx/5xx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import innerspace
from innerspace.apps.catalogue import (
    AppCatalogue,
    CatalogueUnavailable,
    LocalEngineCatalogue,
)
from innerspace.apps.oci import RegistryClient
from innerspace.apps.repository import RegistryCatalogue
from innerspace.apps.routes import router as apps_router
from innerspace.config import Settings, load_settings
from innerspace.engines import create_engine
from innerspace.engines.base import Engine, EngineError
from innerspace.registry.oai import router as oai_router
from innerspace.registry.publishing import PublishingRegistry, RegistrySync
from innerspace.registry.publishing import router as registry_router
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.regtap import router as regtap_router
from innerspace.registry.store import RecordStore
from innerspace.registry.vosi import availability_document, capabilities_document
from innerspace.uws.errors import TooLarge, UWSError
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
    registry: PublishingRegistry
    regtap: RegTAPIndex
    registry_sync: RegistrySync


def build_catalogue(settings: Settings, engine: Engine) -> AppCatalogue:
    """The OCI repository when one is configured, else the local engine's app images."""
    repository = settings.repository
    if repository.url:
        client = RegistryClient(repository.url, repository.username, repository.password)
        return RegistryCatalogue(client, repository.namespace, repository.allowed_prefixes,
                                 ttl=repository.cache_ttl)
    from innerspace.engines.docker import DockerEngine
    from innerspace.engines.swarm import SwarmEngine

    if isinstance(engine, DockerEngine | SwarmEngine):  # the images on this (manager) engine
        return LocalEngineCatalogue(engine.client)
    raise ValueError(f"engine {engine.name!r} needs a repository (set repository.url)")


class BodySizeLimit:
    """ASGI middleware: a request body larger than `limit` bytes ends in 413, however it is
    sent (Content-Length or chunked), before it fills memory or disk."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise TooLarge(f"the request body is larger than the limit of "
                                   f"{self.limit} bytes")
            return message

        await self.app(scope, counting_receive, send)


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
        registry = PublishingRegistry(settings, RecordStore(store.engine), catalogue)
        regtap = RegTAPIndex(settings.data_dir / "regtap.sqlite")
        registry_sync = RegistrySync(registry, regtap, settings.harvest)
        app.state.services = Services(
            settings, store, engine, catalogue, runner,
            JobService(settings, store, catalogue, runner, notifier), datetime.now(UTC),
            registry, regtap, registry_sync)
        await engine.open()
        await runner.start()
        try:
            await asyncio.to_thread(catalogue.refresh)
        except CatalogueUnavailable as exc:
            log.warning("the app catalogue is not available yet: %s", exc)
        try:
            await registry_sync.call(registry_sync.sync)
        except Exception:  # the registry must never keep the job service from starting
            log.exception("the registry records could not be built at start-up")
        background = [asyncio.create_task(
            registry_sync.run(harvest_interval=settings.harvest_interval))]
        log.info("innerspace %s: data in %s, engine %s", innerspace.__version__,
                 settings.data_dir, engine.name)
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await runner.close()
            await engine.close()
            store.close()

    app = FastAPI(title="innerspace", version=innerspace.__version__, lifespan=lifespan,
                  description="IVOA UWS 1.1 service running containerised Python apps.")
    app.state.settings = settings
    app.include_router(uws_router)
    app.include_router(apps_router)
    app.include_router(oai_router)
    app.include_router(registry_router)
    app.include_router(regtap_router, prefix="/registry/tap")
    # Room for the form fields around the uploads themselves.
    app.add_middleware(BodySizeLimit, limit=settings.limits.max_upload_size + 1024 * 1024)

    @app.exception_handler(UWSError)
    async def uws_error(_: Request, exc: UWSError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return PlainTextResponse(exc.message + "\n", status_code=exc.status, headers=headers)

    # The engine or the app catalogue being away is the service's trouble, not the
    # client's: 503, with what is away, and nothing half-done.
    @app.exception_handler(EngineError)
    async def engine_error(_: Request, exc: EngineError) -> Response:
        return PlainTextResponse(f"the compute engine is unavailable: {exc}\n", status_code=503)

    @app.exception_handler(CatalogueUnavailable)
    async def catalogue_error(_: Request, exc: CatalogueUnavailable) -> Response:
        return PlainTextResponse(f"the app catalogue is unavailable: {exc}\n", status_code=503)

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

    return app
