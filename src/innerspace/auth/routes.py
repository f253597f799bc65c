"""HTTP route of the OAuth 2.0 Protected Resource Metadata (RFC 9728), where clients and
`innerspace login` learn which issuer to log in at."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from innerspace.auth.challenge import METADATA_PATH
from innerspace.auth.metadata import protected_resource_metadata
from innerspace.web.urls import base_url

router = APIRouter()


@router.get(METADATA_PATH, summary="OAuth 2.0 protected resource metadata (RFC 9728)")
async def oauth_protected_resource(request: Request) -> JSONResponse:
    document = protected_resource_metadata(request.app.state.settings.auth, base_url(request))
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})
