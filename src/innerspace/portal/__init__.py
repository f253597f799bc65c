"""The web portal: server-rendered pages for astronomers and operators using innerspace from
a browser (home, apps and their forms, jobs, federation, registry search, operators, login).
Every page acts through the same service code as the APIs; `portal_router()` collects the
routers of its page modules for server.py. Module names never end in `routes` (the import
graph would take them for the HTTP handlers part)."""

from __future__ import annotations

from fastapi import APIRouter


def portal_router() -> APIRouter:
    """Every route of the portal (the negotiated `/` first: server.py includes this router
    before the one whose `/` answers other clients)."""
    from innerspace.portal import (
        login,
        negotiation,
        pages_apps,
        pages_federation,
        pages_home,
        pages_jobs,
        pages_operators,
        pages_registry,
        static_files,
    )

    router = APIRouter()
    for module in (negotiation, static_files, pages_home, pages_apps, pages_jobs):
        router.include_router(module.router)
    router.include_router(login.router)
    router.include_router(pages_federation.router)
    router.include_router(pages_registry.router)
    router.include_router(pages_operators.router)
    return router
