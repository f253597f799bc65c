"""GET /metrics: the service's Prometheus metrics (text format, or OpenMetrics when the
scraper asks for it), for a direct scraper on an allowed network, an administrator, or a
member of `metrics.groups` (observability/access.py; docs/auth.md, "Metrics and logs")."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import choose_encoder

from innerspace.errors import Forbidden, NotFound
from innerspace.observability.access import direct_from, networks
from innerspace.observability.metrics import ServiceMetrics
from innerspace.web.caller import get_caller

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    settings = request.app.state.settings.metrics
    if not settings.enabled:
        raise NotFound("metrics are not enabled on this service (metrics.enabled)")
    peer = request.client.host if request.client else None
    if not direct_from(peer, request.headers, networks(settings.allow_from)):
        caller = await get_caller(request)  # 401 with its challenge without credentials
        if not (caller.admin or caller.groups & set(settings.groups)):
            raise Forbidden("reading /metrics needs membership of an admin group "
                            "(auth.admin_groups) or of metrics.groups, or a direct request "
                            "from metrics.allow_from")
    registry: ServiceMetrics = request.app.state.metrics
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(registry.registry), media_type=content_type)
