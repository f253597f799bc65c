"""Registry search in the portal: `/portal/registry?q=words` finds the resources the
registry knows (this data centre's and those it harvested) whose title, description or
subjects hold every word (RegTAP's ivo_hasword), a page at a time in ivoid order (keyset:
`after=<last ivoid>`), and `/portal/registry/resource?ivoid=...` shows one resource: its
title, description, subjects, capabilities with their access URLs, and its VOResource
record through OAI-PMH GetRecord. Every query goes through regtap_reads.py (the confined
path of /registry/tap/sync); a visitor's words only ever appear as quoted literals."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from innerspace.errors import BadRequest, InnerspaceError, NotFound
from innerspace.portal.identity import Viewer
from innerspace.portal.regtap_reads import Row, index_of, literal, rows
from innerspace.portal.templating import render
from innerspace.registry.oai.routes import PATH as OAI_PATH
from innerspace.registry.regtap.index import RegTAPIndex
from innerspace.vocabulary import authority_of

router = APIRouter()

PAGE = 25  # resources per page
MAX_WORDS = 6
WORD = re.compile(r"\w+")
MAX_WORD = 64
SHORT = 300  # characters of a description in the list


def words_of(query: str) -> list[str]:
    """The words searched for (ivo_hasword's words: runs of letters and digits)."""
    found = [word.lower() for word in WORD.findall(query)]
    if len(found) > MAX_WORDS or any(len(word) > MAX_WORD for word in found):
        raise BadRequest(f"q: search for at most {MAX_WORDS} words of at most {MAX_WORD} "
                         "characters each")
    return list(dict.fromkeys(found))


def search_adql(words: list[str], after: str | None, limit: int) -> str:
    """Resources holding every word in their title, description or a subject."""
    conditions = []
    for word in words:
        quoted = literal(word)
        conditions.append(
            f"(1=ivo_hasword(r.res_title, {quoted}) OR 1=ivo_hasword(r.res_description, "
            f"{quoted}) OR r.ivoid IN (SELECT s.ivoid FROM rr.res_subject AS s "
            f"WHERE 1=ivo_hasword(s.res_subject, {quoted})))")
    if after:
        conditions.append(f"r.ivoid > {literal(after.lower())}")
    return ("SELECT TOP {} r.ivoid, r.res_type, r.res_title, r.res_description "
            "FROM rr.resource AS r WHERE {} ORDER BY r.ivoid").format(
        limit, " AND ".join(conditions))


def shorten(text: Any) -> str:
    value = " ".join(str(text or "").split())
    return value if len(value) <= SHORT else value[:SHORT - 1].rstrip() + "…"


@router.get("/portal/registry", include_in_schema=False)
async def registry_page(request: Request, caller: Viewer, q: str = "",
                        after: str | None = None) -> Response:
    index = index_of(request)
    context: dict[str, Any] = {"query": q, "results": [], "next_url": None,
                               "problem": None, "after": after}
    words = words_of(q)
    if index is None:
        context["problem"] = "the registry search is not available on this service"
    elif words:
        try:
            found, _ = await rows(index, search_adql(words, after, PAGE + 1), PAGE + 1)
        except BadRequest:
            raise
        except InnerspaceError as exc:  # busy, timed out: said on the page, not a 500
            context["problem"] = exc.describe()
            found = []
        for row in found[:PAGE]:
            row["short"] = shorten(row.get("res_description"))
        context["results"] = found[:PAGE]
        if len(found) > PAGE:
            context["next_url"] = "/portal/registry?" + urlencode(
                {"q": q, "after": found[PAGE - 1]["ivoid"]})
    return render(request, "registry.html", context, caller=caller)


def record_url(request: Request, index: RegTAPIndex, ivoid: str) -> str | None:
    """Where the resource's VOResource record is: OAI-PMH GetRecord at this service's
    registry for its own records, else at the configured registry it was harvested from
    (None when it is neither)."""
    query = urlencode({"verb": "GetRecord", "metadataPrefix": "ivo_vor", "identifier": ivoid})
    settings = request.app.state.settings
    if authority_of(ivoid) == settings.datacentre.authority.lower():
        return f"{OAI_PATH}?{query}"
    for endpoint in settings.harvest:
        if ivoid in index.writer.ivoids(endpoint):
            return f"{endpoint.split('?')[0]}?{query}"
    return None


def capabilities_of(found: list[Row]) -> list[dict[str, Any]]:
    """Capabilities in order, each with its interfaces (the rows of a LEFT JOIN)."""
    by_index: dict[Any, dict[str, Any]] = {}
    for row in found:
        entry = by_index.setdefault(row["cap_index"], {
            "standard_id": row["standard_id"], "type": row["cap_type"],
            "description": row["cap_description"], "interfaces": []})
        if row["access_url"]:
            entry["interfaces"].append({"type": row["intf_type"], "url": row["access_url"],
                                        "use": row["url_use"]})
    return list(by_index.values())


@router.get("/portal/registry/resource", include_in_schema=False)
async def resource_page(request: Request, caller: Viewer, ivoid: str = "") -> Response:
    index = index_of(request)
    if index is None:
        raise NotFound("the registry search is not available on this service")
    if not ivoid.startswith("ivo://"):
        raise BadRequest("ivoid: give the IVOA identifier of a resource (ivo://...)")
    key = literal(ivoid.lower())
    found, _ = await rows(
        index, "SELECT ivoid, res_type, short_name, res_title, res_description, "
               f"reference_url, updated FROM rr.resource WHERE ivoid = {key}",
        1)
    if not found:
        raise NotFound(f"the registry knows no resource {ivoid}")
    subjects, _ = await rows(
        index, f"SELECT res_subject FROM rr.res_subject WHERE ivoid = {key}", 100)
    capabilities, _ = await rows(
        index, "SELECT c.cap_index, c.standard_id, c.cap_type, c.cap_description, "
               "i.intf_type, i.access_url, i.url_use FROM rr.capability AS c "
               "LEFT OUTER JOIN rr.interface AS i "
               "ON i.ivoid = c.ivoid AND i.cap_index = c.cap_index "
               f"WHERE c.ivoid = {key} ORDER BY c.cap_index, i.intf_index", 200)
    resource = found[0]
    return render(request, "registry_resource.html", {
        "resource": resource, "subjects": [s["res_subject"] for s in subjects],
        "capabilities": capabilities_of(capabilities),
        "record_url": await asyncio.to_thread(record_url, request, index, resource["ivoid"]),
    }, caller=caller)
