"""Settings of the web portal (`[portal]`): the pages astronomers and operators use from a
browser (innerspace/portal/). Every one has a default, so the portal needs no configuration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Portal(BaseModel):
    """The portal's title and its session cookie."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(
        None, max_length=200,
        description="the name in every page's header; default the data centre's name")
    session_key: SecretStr | None = Field(
        None,
        description="the key that signs session cookies (32 bytes or more of randomness); "
                    "default a random key kept in data_dir/portal-session.key, so that "
                    "sessions survive restarts")
    session_max_age: int = Field(
        8 * 3600, ge=60, le=30 * 86400,
        description="seconds a session lasts from its login (or its first page, anonymous)")
    client_id: str | None = Field(
        None, max_length=255,
        description="the portal's client id at the identity provider (auth.issuer), for "
                    "logging in from a browser by the authorization code flow with PKCE; "
                    "without it the portal offers no login")
    client_secret: SecretStr | None = Field(
        None, description="its client secret (none: a public client, PKCE only)")
    scopes: str = Field(
        "openid", max_length=500,
        description="the scopes a login asks for (space separated; add offline_access for "
                    "a refresh token, so that a session outlives its access token)")
