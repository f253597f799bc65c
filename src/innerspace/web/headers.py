"""Headers every response of the service carries, whatever made it.

Nothing the service answers is meant to be sniffed into another type or to run anything in
a browser: every response says `X-Content-Type-Options: nosniff` and, unless it set its own,
carries a Content-Security-Policy that lets a document load nothing, run nothing and be
framed by no one. Job files set a stricter one of their own (web/downloads.py). The
interactive API documentation pages, which load their scripts, are exempt from the policy.

XML documents (the UWS job list and jobs name the portal's uws.xsl in an xml-stylesheet
processing instruction) get XML_POLICY instead: browsers apply an XSLT stylesheet only when
the document's script-src allows it, and the page it makes loads the portal's CSS. Both from
the service itself; nothing runs inline, nothing else loads. (nosniff keeps any response of
the service that is not JavaScript from being run as a script.)
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
XML_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
              "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
XML_TYPES = (b"application/xml", b"text/xml")


def policy_for(content_type: bytes) -> str:
    """The default policy of a response of this type."""
    kind = content_type.split(b";", 1)[0].strip().lower()
    return XML_POLICY if kind in XML_TYPES else DEFAULT_POLICY


class SecurityHeaders:
    """nosniff on every response, and DEFAULT_POLICY where no policy is set (except under
    the `exempt` paths)."""

    def __init__(self, app: ASGIApp, exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_policy = scope["path"] not in self.exempt

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if with_policy:
                    kind = headers.get("content-type", "").encode("latin-1", "replace")
                    headers.setdefault("Content-Security-Policy", policy_for(kind))
            await send(message)

        await self.app(scope, receive, send_with_headers)
