"""The innerspace web service: wires settings, database, engine, app catalogue, runner and
registry into one FastAPI application, mounts every router, and registers, in one table,
which protocol's renderer answers the errors under which path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI

import innerspace
from innerspace.apps.catalogue import AppCatalogue, CatalogueUnavailable
from innerspace.apps.factory import build_catalogue
from innerspace.apps.routes import router as apps_router
from innerspace.auth import Authenticator, Challenges
from innerspace.auth.routes import router as auth_router
from innerspace.config import Settings, load_settings
from innerspace.db import open_database
from innerspace.engines import create_engine
from innerspace.engines.base import Engine
from innerspace.observability import RequestObserver, ServiceMetrics
from innerspace.observability.routes import router as metrics_router
from innerspace.portal import portal_router
from innerspace.portal.errorpage import html_error as portal_error
from innerspace.registry.oai.routes import PATH as OAI_PATH
from innerspace.registry.oai.routes import error_renderer as oai_error
from innerspace.registry.oai.routes import router as oai_router
from innerspace.registry.publishing import PublishingRegistry, RegistrySync
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.regtap.async_routes import router as regtap_async_router
from innerspace.registry.regtap.async_routes import tap_jobs
from innerspace.registry.regtap.routes import error_renderer as tap_error
from innerspace.registry.regtap.routes import router as regtap_router
from innerspace.registry.routes import router as registry_router
from innerspace.registry.store import RecordStore
from innerspace.uws.inprocess import InProcessJobs
from innerspace.uws.notify import PhaseNotifier
from innerspace.uws.phases import Phase
from innerspace.uws.routes import router as uws_router
from innerspace.uws.runner import JobRunner
from innerspace.uws.service import JobService
from innerspace.uws.store import JobStore
from innerspace.uws.usage_routes import router as usage_router
from innerspace.uws.vosi_routes import router as vosi_router
from innerspace.web import errors
from innerspace.web.caller import VOAuthenticated
from innerspace.web.head import HeadAsGet
from innerspace.web.headers import SecurityHeaders
from innerspace.web.http_protocol import BoundedHttpToolsProtocol, bounded_protocol
from innerspace.web.limits import BodySizeLimit
from innerspace.web.sites import CrossSiteWrites, HostPolicy, TrustedHosts

log = logging.getLogger("innerspace")

REGTAP_PREFIX = "/registry/tap"
# POSTs that only read, as their GET does: another site's page may send them (web/sites.py).
READ_ONLY_POSTS = (f"{REGTAP_PREFIX}/sync", OAI_PATH)


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
    tap_jobs: InProcessJobs | None = None  # the RegTAP service's /async queries


def error_renderers() -> errors.ErrorRenderers:
    """Which protocol answers the errors under which path (UWS plain text elsewhere)."""
    renderers = errors.ErrorRenderers(default=errors.plain_text)
    renderers.register(REGTAP_PREFIX, tap_error)
    renderers.register(OAI_PATH, oai_error)
    renderers.register("/registry", errors.json_document)
    renderers.register("/apps", errors.json_or_html)
    renderers.register("/schemas", errors.json_document)
    renderers.register("/.well-known", errors.json_document)
    renderers.register("/usage", errors.json_document)
    renderers.register("/portal", portal_error)
    return renderers


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI application. Without `settings`, they are read from the environment."""
    settings = settings or load_settings()
    metrics = ServiceMetrics()  # this service's own registry (observability/)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.jobs_dir.mkdir(parents=True, exist_ok=True)
        database = open_database(settings.sqlalchemy_url)
        store = JobStore(database)
        engine = create_engine(settings)
        notifier = PhaseNotifier()
        runner = JobRunner(settings, store, engine, notifier, metrics=metrics)
        catalogue = build_catalogue(settings)
        registry = PublishingRegistry(settings, RecordStore(database), catalogue)
        regtap = RegTAPIndex(settings.data_dir / "regtap.sqlite", settings.registry)
        registry_sync = RegistrySync(registry, regtap, settings.harvest, metrics=metrics)
        queries = tap_jobs(settings, regtap)
        metrics.watch_jobs([p.value for p in Phase], store.phase_totals,
                           lambda: runner.queue_length)
        metrics.expect_harvests(settings.harvest)
        app.state.services = Services(
            settings, store, engine, catalogue, runner,
            JobService(settings, store, catalogue, runner, notifier, metrics=metrics),
            datetime.now(UTC),
            registry, regtap, registry_sync, queries)
        await engine.open()
        await runner.start()
        queries.start()
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
            await queries.close()
            await runner.close()
            await engine.close()
            regtap.close()  # its query worker processes
            database.dispose()

    app = FastAPI(title="innerspace", version=innerspace.__version__, lifespan=lifespan,
                  description="IVOA UWS 1.1 service running containerised Python apps.")
    app.state.settings = settings
    app.state.metrics = metrics
    # Who is calling (web/caller.py) and what a 401 says about it (web/errors.py).
    app.state.authenticator = Authenticator(settings.auth)
    app.state.challenges = Challenges(settings.auth)
    app.include_router(portal_router())  # first: its `/` answers browsers (negotiation.py)
    app.include_router(vosi_router)
    app.include_router(uws_router)
    app.include_router(usage_router)
    app.include_router(apps_router)
    app.include_router(oai_router)
    app.include_router(registry_router)
    app.include_router(regtap_router, prefix=REGTAP_PREFIX)
    app.include_router(regtap_async_router, prefix=REGTAP_PREFIX)
    app.include_router(auth_router)
    app.include_router(metrics_router)
    renderers = error_renderers()
    errors.install(app, renderers)
    add_middleware(app, settings, renderers)
    return app


def add_middleware(app: FastAPI, settings: Settings, renderers: errors.ErrorRenderers) -> None:
    """What every request passes through, outermost first: its id, access log line and
    metrics (observability/), headers on every response, the caller's identity on responses
    to them, the Host check, HEAD as GET, the cross-site check, the body size limit (web/)."""
    # Starlette runs the middleware added last first.
    app.add_middleware(BodySizeLimit,
                       limit=settings.limits.max_upload_size + settings.limits.max_form_size)
    app.add_middleware(CrossSiteWrites, renderers=renderers, public_url=settings.public_url,
                       allowed_origins=settings.allowed_origins, read_only=READ_ONLY_POSTS)
    app.add_middleware(HeadAsGet)
    app.add_middleware(TrustedHosts, renderers=renderers, policy=HostPolicy.of(settings))
    app.add_middleware(VOAuthenticated)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, exempt=[path for path in docs if path])
    # Outermost: every answer gets a request id, an access log line and its metrics.
    app.add_middleware(RequestObserver, metrics=app.state.metrics,
                       access=settings.logging.access_log)


def http_protocol(settings: Settings) -> type[BoundedHttpToolsProtocol]:
    """The HTTP protocol `innerspace serve` runs the app with: request heads bounded."""
    return bounded_protocol(settings.limits.max_request_head)
