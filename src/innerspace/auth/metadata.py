"""OAuth 2.0 Protected Resource Metadata (RFC 9728) of this service: which authorization
server issues tokens for it, how to send them, which scopes to ask for, and innerspace's own
field naming the public client `innerspace login` uses for the device flow."""

from __future__ import annotations

from typing import Any

from innerspace.config import Auth

# An extension field (RFC 9728 section 2 allows more): the CLI's device-flow client id.
CLI_CLIENT_ID_FIELD = "innerspace_cli_client_id"


def protected_resource_metadata(auth: Auth, base_url: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "resource": base_url,
        "bearer_methods_supported": ["header"] if auth.bearer else [],
        "resource_name": "innerspace",
    }
    if auth.issuer:
        document["authorization_servers"] = [auth.issuer]
        document["scopes_supported"] = list(auth.scopes)
    if auth.cli_client_id:
        document[CLI_CLIENT_ID_FIELD] = auth.cli_client_id
    return document
