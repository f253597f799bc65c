"""What every HTTP request leaves behind: an id (its X-Request-ID when sane, else a new one,
echoed in the response and in every log line made while it is answered), one access log
line (method, route template, path, status, duration, caller; never a header, query string,
cookie or body) and its count and duration in the service's metrics.

A pure ASGI middleware, outermost, so that it sees every answer, those of the other
middleware included, and times the whole of it (the body sent). It depends on no web
framework: the route template (the label of a request, never its raw path) is found by
matching the path against the templates of the app's routes, the same for a request that
was refused before routing, a HEAD passed on as GET, or a method the route does not take.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

from innerspace.observability.context import (
    RequestInfo,
    enter_request,
    leave_request,
    request_id_from,
)
from innerspace.observability.metrics import UNMATCHED, ServiceMetrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("innerspace.access")
HEADER = "x-request-id"
# Routes polled by machines: their successful answers are logged at DEBUG, not INFO.
QUIET_ROUTES = frozenset({"/metrics", "/availability"})


_PARAMETER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?}")


def template_pattern(template: str) -> re.Pattern[str]:
    """The paths a route template such as /jobs/{job_id}/results/{result_id:path} matches."""
    pattern, position = "", 0
    for parameter in _PARAMETER.finditer(template):
        pattern += re.escape(template[position:parameter.start()])
        pattern += ".*" if parameter.group(2) == "path" else "[^/]+"
        position = parameter.end()
    return re.compile(pattern + re.escape(template[position:]))


def route_templates(routes: Iterable[Any], prefix: str = "") -> Iterator[str]:
    """The full templates of an app's routes, in the order the app tries them: a router
    included with a prefix (kept whole by FastAPI, or flattened into the app's routes by
    older versions) contributes its routes under its prefix."""
    for route in routes:
        included = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if included is not None and context is not None:
            yield from route_templates(getattr(included, "routes", ()),
                                       prefix + str(getattr(context, "prefix", "") or ""))
            continue
        path = getattr(route, "path", None)
        if isinstance(path, str):
            yield prefix + path


class RouteTable:
    """Finds the template of the route a path belongs to (whatever the method), with the
    app's routes read on first use."""

    def __init__(self) -> None:
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def template(self, scope: Scope) -> str:
        if self._patterns is None:
            routes = getattr(getattr(scope.get("app"), "router", None), "routes", ())
            templates = dict.fromkeys(route_templates(routes))  # one per path, in order
            self._patterns = [(template_pattern(t), t) for t in templates]
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", "") or "")
        if root and path.startswith(root):
            path = path[len(root):]
        for pattern, template in self._patterns:
            if pattern.fullmatch(path):
                return template
        return UNMATCHED


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class RequestObserver:
    """Request ids, the access log and the HTTP metrics, for every request."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, access: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access
        self.routes = RouteTable()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The request state every copy of this scope shares (a HEAD passed on as GET is a
        # copy): where the caller is kept once known (context.CALLER_STATE).
        scope.setdefault("state", {})
        info = RequestInfo(request_id_from(_header(scope, HEADER.encode())), scope)
        token = enter_request(info)
        status = 500  # unless a response starts: an exception the app let through
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers") or ())
                if not any(bytes(k).lower() == HEADER.encode() for k, _ in headers):
                    headers.append((HEADER.encode(), info.request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # The request's context stays: the framework logs the error (and answers 500)
            # outside this middleware, and its lines must carry the request id too.
            self._record(scope, info, status, time.perf_counter() - started)
            raise
        self._record(scope, info, status, time.perf_counter() - started)
        leave_request(token)

    def _record(self, scope: Scope, info: RequestInfo, status: int, seconds: float) -> None:
        try:
            self._account(scope, info, status, seconds)
        except Exception:  # the answer has gone: its account must not turn it into an error
            logging.getLogger(__name__).debug("could not account for a request", exc_info=True)

    def _account(self, scope: Scope, info: RequestInfo, status: int, seconds: float) -> None:
        method = str(scope.get("method", ""))
        route = self.routes.template(scope)
        self.metrics.http_request(method, route, status, seconds)
        if not self.access:
            return
        quiet = route in QUIET_ROUTES and status < 400
        client = scope.get("client")
        access_log.log(
            logging.DEBUG if quiet else logging.INFO, "%s %s %d %.1f ms%s", method, route,
            status, seconds * 1000, f" owner={info.owner}" if info.owner else "",
            extra={"method": method, "route": route, "path": scope.get("path"),
                   "status": status, "duration_ms": round(seconds * 1000, 3),
                   "client": client[0] if client else None})
