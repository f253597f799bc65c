"""What operators see of a running service: Prometheus metrics in a registry of the service's
own (`metrics`), request ids and the access log (`requests`), logs as text or JSON lines with
the request and job they are about (`logs`, `context`), and who may read /metrics
(`access`; the route itself is in `routes`).

This part sits just above the foundation: it needs prometheus_client and the standard
library only, so that the job runner, the registry, the web layer and the server can all
record into it.
"""

from innerspace.observability.context import job_context
from innerspace.observability.logs import configure_logging
from innerspace.observability.metrics import ServiceMetrics
from innerspace.observability.requests import RequestObserver

__all__ = ["RequestObserver", "ServiceMetrics", "configure_logging", "job_context"]
