"""Who is calling: the FastAPI dependency every router uses to learn the request's owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from innerspace.auth import owner_for


# A coroutine, so that FastAPI does not hand it to a worker thread.
async def get_owner(request: Request) -> str | None:
    """The owner behind the request's credentials; None when anonymous (if allowed)."""
    return owner_for(request.app.state.settings, request.headers.get("authorization"))


Owner = Annotated[str | None, Depends(get_owner)]
