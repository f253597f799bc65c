"""The HTTP side of the OAI-PMH publishing registry at /registry/oai: GET, and POST with
form-encoded arguments.

A request OAI-PMH refuses is answered by `respond` itself (an OAI error document, HTTP 200).
What is raised instead is rendered by `error_renderer`, which the app factory registers for
/registry/oai: arguments that cannot even be read (a `BadRequest`) become a badArgument
document with HTTP 200, as OAI-PMH requires; the registry's own trouble (its record source
failing, a broken stored record: `RecordsUnavailable`) becomes 503 with Retry-After, OAI-PMH's
flow control, so that harvesters come back later.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from innerspace.errors import BadRequest, InnerspaceError
from innerspace.registry.errors import RecordsUnavailable
from innerspace.registry.oai.documents import error_document
from innerspace.registry.oai.protocol import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_TOKEN_LIFETIME,
    Repository,
)
from innerspace.registry.oai.verbs import respond
from innerspace.registry.records import Record, RecordSource
from innerspace.web import forms, media
from innerspace.web.formparsers import FormLimits
from innerspace.web.urls import url_for

log = logging.getLogger("innerspace.registry")

PATH = "/registry/oai"
MAX_BODY = 64 * 1024  # a POST body of OAI arguments is a few hundred bytes
MAX_ARGUMENTS = 64
RETRY_AFTER = "60"  # seconds a harvester should wait when the records are unavailable

router = APIRouter()


class PublishingSource(RecordSource, Protocol):
    """The publishing registry as OAI-PMH sees it: its records, and what Identify says."""

    ivoid: str
    name: str
    admin_email: str

    @property
    def earliest(self) -> datetime: ...


def endpoint_url(request: Request) -> str:
    """The public URL of the OAI-PMH endpoint (OAI-PMH's baseURL)."""
    return url_for(request, PATH)


def _parse_pairs(text: str, into: dict[str, list[str]]) -> None:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_ARGUMENTS)
    except ValueError as exc:  # UnicodeDecodeError included
        raise BadRequest(f"the arguments cannot be read: {exc}") from None
    for name, value in pairs:
        into.setdefault(name, []).append(value)


async def read_arguments(request: Request) -> dict[str, list[str]]:
    """All arguments: the query string, and the form-encoded body of a POST (read as a
    stream, refused past MAX_BODY bytes or MAX_ARGUMENTS arguments)."""
    arguments: dict[str, list[str]] = {}
    try:
        _parse_pairs(request.scope.get("query_string", b"").decode("utf-8"), arguments)
    except UnicodeDecodeError:
        raise BadRequest("the query string is not UTF-8 text") from None
    if request.method != "POST":
        return arguments
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([\w-]+)", parameters)
    announced = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers)
    if media_type.strip().lower() != forms.URLENCODED:
        if announced:
            raise BadRequest("a POST request carries its arguments as "
                             "application/x-www-form-urlencoded")
        return arguments
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise BadRequest("the arguments must be UTF-8 text")
    limits = FormLimits(max_size=MAX_BODY, max_fields=MAX_ARGUMENTS, max_files=0)
    for name, value in await forms.urlencoded_fields(request, limits):
        arguments.setdefault(name, []).append(value)
    return arguments


def repository_of(source: PublishingSource, base_url: str) -> Repository:
    """What Identify says; page size and token lifetime as the source sets them, if it
    does."""
    return Repository(
        ivoid=source.ivoid, admin_email=source.admin_email, name=source.name,
        base_url=base_url, earliest=source.earliest,
        page_size=getattr(source, "page_size", DEFAULT_PAGE_SIZE),
        token_lifetime=getattr(source, "token_lifetime", DEFAULT_TOKEN_LIFETIME))


def records_of(source: RecordSource) -> list[Record]:
    """The source's records. Whatever stops it is the registry's trouble, never the
    harvester's: RecordsUnavailable."""
    try:
        return source.records()
    except Exception as exc:
        log.exception("the registry's records cannot be read")
        raise RecordsUnavailable("please try again later") from exc


def answer(arguments: Mapping[str, Sequence[str]], source: PublishingSource,
           repository: Repository) -> bytes:
    """The response document (blocking: records are read and XML is built)."""
    return respond(arguments, records_of(source), repository)


def error_renderer(request: Request, error: InnerspaceError) -> Response:
    """OAI-PMH answers a request it cannot serve with an error document and HTTP 200; when
    the service itself is in trouble, with 503 and Retry-After (OAI-PMH's flow control)."""
    if error.status >= 500:
        return PlainTextResponse(f"{error.describe()}\n", status_code=503,
                                 headers={"Retry-After": RETRY_AFTER})
    return Response(error_document("badArgument", error.describe(), endpoint_url(request)),
                    media_type=media.OAI_XML)


@router.get(PATH, summary="OAI-PMH 2.0 (publishing registry)", response_class=Response)
async def oai_pmh_get(request: Request) -> Response:
    return await _oai_pmh(request)


@router.post(PATH, summary="OAI-PMH 2.0 (publishing registry), arguments form-encoded",
             response_class=Response)
async def oai_pmh_post(request: Request) -> Response:
    return await _oai_pmh(request)


async def _oai_pmh(request: Request) -> Response:
    arguments = await read_arguments(request)
    source: PublishingSource = request.app.state.services.registry
    repository = repository_of(source, endpoint_url(request))
    document = await run_in_threadpool(answer, arguments, source, repository)
    return Response(document, media_type=media.OAI_XML)
