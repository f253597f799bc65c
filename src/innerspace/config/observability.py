"""The `[logging]` and `[metrics]` settings: how the service logs, and who may read its
Prometheus metrics at /metrics (docs/auth.md, "Metrics and logs")."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode

from innerspace.config.auth import as_list, networks

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class Logging(BaseModel):
    """How `innerspace serve` logs (every logger: innerspace's, uvicorn's, the libraries')."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(
        "text", description="text (for a terminal) or json (one JSON object per line: time, "
                            "level, logger, message, request_id, owner, job_id, and the "
                            "access log's method, route, path, status, duration_ms, client)")
    level: str = Field("info", description="debug, info, warning, error or critical "
                                           "(`innerspace serve --log-level` overrides it)")
    access_log: bool = Field(
        True, description="one line per request (innerspace.access: method, route template, "
                          "path, status, duration, owner; never headers, query strings or "
                          "cookies); /metrics and /availability answers at debug level")

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value.lower() not in LOG_FORMATS:
            raise ValueError(f"logging.format {value!r} is not one of {', '.join(LOG_FORMATS)}")
        return value.lower()

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"logging.level {value!r} is not one of {', '.join(LOG_LEVELS)}")
        return value.lower()


class Metrics(BaseModel):
    """Prometheus metrics at /metrics, and who may read them: a direct (not proxied) request
    from `allow_from`, or a caller in `auth.admin_groups` or in `groups`; anyone else gets
    401 (no credentials) or 403."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="serve /metrics (404 when false)")
    allow_from: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="addresses or networks (CIDR) whose direct requests may read /metrics "
                    "without credentials (a request carrying Forwarded, X-Forwarded-For or "
                    "X-Real-IP came through a proxy and does not count); default loopback; "
                    "[] for none")
    groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="groups whose members may read /metrics from anywhere (e.g. the "
                    "client-credentials client of a Prometheus server), besides "
                    "auth.admin_groups")

    @field_validator("allow_from", "groups", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return as_list(value)

    @field_validator("allow_from")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return networks(value, "metrics.allow_from entry")
