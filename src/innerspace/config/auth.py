"""The `[auth]` settings: who may call the service, and how they prove it.

Three ways, any of them together: OpenID Connect bearer tokens of one issuer (JWTs checked
against its keys, or opaque tokens through its introspection endpoint), an authenticating
proxy in front of the service (its user and groups headers, trusted from its addresses only),
and static development tokens. With none of them configured the service is anonymous.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from innerspace import vocabulary

# Signature algorithms a token may use: asymmetric only. HMAC (HS*) would let anyone holding
# the issuer's public key forge tokens, and "none" is no signature at all.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                         "ES256", "ES384", "ES512", "EdDSA")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
# Header names (RFC 9110 tokens) and a realm fit to quote in WWW-Authenticate.
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
QUOTABLE = re.compile(r"^[\x20-\x7e]*$")


class DevToken(BaseModel):
    """What a static development token stands for: an owner and, optionally, groups."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str = Field(min_length=1, max_length=255)
    groups: tuple[str, ...] = ()


def parse_tokens(value: Any) -> Any:
    """`token=owner,token=owner` or a JSON object (values: an owner, or {owner, groups})."""
    if isinstance(value, str):
        if value.lstrip().startswith("{"):
            return json.loads(value)
        pairs: dict[str, str] = {}
        entries = filter(None, (part.strip() for part in value.split(",")))
        for number, item in enumerate(entries, 1):
            token, sep, owner = item.partition("=")
            if not sep or not token or not owner:
                # Named by position only: the entry holds a secret.
                raise ValueError(f"token entry {number} is not token=owner")
            pairs[token] = owner
        return pairs
    return value


def as_list(value: Any) -> Any:
    """A list from JSON (`["a", "b"]`), a comma-separated string, or a list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def networks(value: list[str], what: str) -> list[str]:
    """Addresses or networks (CIDR), stripped; ValueError naming `what` for one that is
    neither."""
    for entry in value:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError as exc:
            raise ValueError(f"{what} {entry!r} is not an address or network (CIDR)") from exc
    return [entry.strip() for entry in value]


class Auth(BaseModel):
    """Authentication. Anonymous access is allowed only when none of issuer, trusted_proxies
    and tokens is set, unless allow_anonymous says otherwise."""

    # Errors name the setting, never its value (tokens, the client secret).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # -- OpenID Connect / OAuth 2.0 bearer tokens -----------------------------------------
    issuer: str | None = Field(
        None, description="the OpenID provider's issuer URL (its discovery document is at "
                          "ISSUER/.well-known/openid-configuration); https, or http on "
                          "loopback only")
    audience: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="the `aud` values a token must carry one of (this service's name at the "
                    "provider); required with issuer, so tokens meant for other services "
                    "are refused")
    owner_claim: str = Field("sub", min_length=1,
                             description="the claim naming the owner of a caller's jobs")
    groups_claim: str = Field(
        "groups", min_length=1,
        description="the claim listing the caller's groups (a list, or a space or comma "
                    "separated string)")
    admin_groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="groups whose members administer this service (every job, triggers)")
    leeway: float = Field(30.0, ge=0, le=300,
                          description="seconds of clock skew allowed on exp, nbf and iat")
    algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(ASYMMETRIC_ALGORITHMS),
        description="signature algorithms accepted (asymmetric only: RS*, PS*, ES*, EdDSA)")
    introspection: bool = Field(
        False, description="check opaque (non-JWT) tokens at the issuer's introspection "
                           "endpoint (RFC 7662) as client_id/client_secret")
    client_id: str | None = Field(None, description="this service's client id at the issuer "
                                                    "(for introspection)")
    client_secret: SecretStr | None = Field(None, description="its client secret")
    cli_client_id: str | None = Field(
        None, description="the public client `innerspace login` uses for the device flow; "
                          "published in /.well-known/oauth-protected-resource")
    scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["openid", "offline_access"],
        description="scopes a client asks for to call this service (scopes_supported of the "
                    "protected-resource metadata)")
    jwks_refetch_interval: float = Field(
        60.0, ge=0, le=86400,
        description="seconds at least between two fetches of the issuer's keys caused by a "
                    "token signed with a key not yet known (a flood of made-up key ids "
                    "costs the issuer one fetch per interval)")
    jwks_max_age: float = Field(
        3600.0, ge=10, description="seconds the issuer's keys are used before being fetched "
                                   "again (kept if the issuer is down then)")
    introspection_cache: float = Field(
        60.0, ge=0, le=3600,
        description="seconds an active introspection answer is reused (never past the "
                    "token's exp); 0: ask every time")
    token_cache_size: int = Field(
        10_000, ge=0, description="validated tokens remembered (by hash, never past exp)")
    http_timeout: float = Field(10.0, gt=0, le=120,
                                description="seconds one request to the issuer may take")
    realm: str = Field("innerspace", min_length=1, max_length=200,
                       description="the realm of WWW-Authenticate challenges")

    # -- an authenticating proxy in front of the service ---------------------------------
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of authenticating proxies: their "
                    "user_header and groups_header are believed; from anywhere else those "
                    "headers are ignored")
    user_header: str = Field("X-Auth-Request-User",
                             description="the header in which a trusted proxy names the user")
    groups_header: str = Field(
        "X-Auth-Request-Groups",
        description="the header in which a trusted proxy lists the user's groups (comma or "
                    "space separated)")

    # -- development ---------------------------------------------------------------------
    tokens: Annotated[dict[str, DevToken], NoDecode] = Field(
        default_factory=dict, repr=False,
        description="static bearer tokens: token -> owner, or token -> {owner, groups}; in "
                    "the environment token=owner,token=owner or JSON")
    allow_anonymous: bool | None = Field(
        None, description="default: true when no issuer, trusted_proxies or tokens are set")

    @field_validator("tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any) -> Any:
        value = parse_tokens(value)
        if isinstance(value, dict):
            return {token: {"owner": entry} if isinstance(entry, str) else entry
                    for token, entry in value.items()}
        return value

    @field_validator("audience", "admin_groups", "algorithms", "scopes", "trusted_proxies",
                     mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return as_list(value)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError(f"issuer {value!r} must be https (http only on loopback)")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
                or parts.fragment:
            raise ValueError(f"issuer {value!r} is not an http(s) URL")
        # Kept exactly as given: tokens' `iss` and the discovery document's `issuer` must
        # equal it character for character (some providers end it with a slash).
        return value

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: list[str]) -> list[str]:
        refused = [name for name in value if name not in ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ValueError(f"token algorithms {refused} are not allowed: only asymmetric "
                             f"ones ({', '.join(ASYMMETRIC_ALGORITHMS)}); HMAC and 'none' "
                             "would let tokens be forged")
        if not value:
            raise ValueError("algorithms must name at least one algorithm")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        return networks(value, "trusted proxy")

    @field_validator("user_header", "groups_header")
    @classmethod
    def _header(cls, value: str) -> str:
        if not HEADER_NAME.match(value) or value.lower() == "authorization":
            raise ValueError(f"{value!r} is not a usable header name")
        return value

    @field_validator("realm")
    @classmethod
    def _realm(cls, value: str) -> str:
        if not QUOTABLE.match(value) or '"' in value or "\\" in value:
            raise ValueError("realm must be printable ASCII without quotes or backslashes")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Auth:
        if self.issuer and not self.audience:
            raise ValueError("auth.audience is required with auth.issuer: without it a token "
                             "the issuer made for any other service would be accepted here")
        if self.introspection and not (self.issuer and self.client_id and self.client_secret):
            raise ValueError("auth.introspection needs auth.issuer, auth.client_id and "
                             "auth.client_secret")
        return self

    # -- derived -----------------------------------------------------------------------

    @property
    def discovery_url(self) -> str | None:
        """The issuer's OpenID discovery document (a final slash of the issuer dropped
        before the well-known path is appended, as OpenID Connect Discovery says)."""
        if not self.issuer:
            return None
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"

    @property
    def configured(self) -> bool:
        """Whether any way of authenticating is configured."""
        return bool(self.issuer or self.trusted_proxies or self.tokens)

    @property
    def anonymous_allowed(self) -> bool:
        if self.allow_anonymous is None:
            return not self.configured
        return self.allow_anonymous

    @property
    def bearer(self) -> bool:
        """Whether callers may present bearer tokens (OIDC or development ones)."""
        return bool(self.issuer or self.tokens)

    @property
    def interface_security(self) -> tuple[str | None, ...]:
        """The security method of each interface VOSI capabilities list for a service: None
        for an anonymous interface, a standard id otherwise."""
        methods: list[str | None] = [None] if self.anonymous_allowed else []
        if self.bearer:
            methods.append(vocabulary.SSO_OAUTH)
        return tuple(methods) or (None,)

    @property
    def public_interface_security(self) -> tuple[str | None, ...]:
        """Those of a service anyone may use (RegTAP, OAI-PMH): anonymous, and bearer
        tokens accepted (not needed) when there are any."""
        return (None, vocabulary.SSO_OAUTH) if self.bearer else (None,)
