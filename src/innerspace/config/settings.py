"""Settings of an innerspace installation: from a TOML file, then `INNERSPACE_*` environment.

Every setting has an embedded default, so `innerspace serve` with no configuration runs a
complete service: SQLite under the data directory, the local Docker engine, the app images
found on that engine, anonymous access.
"""

from __future__ import annotations

import json
import os
import tomllib
import uuid
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from innerspace.config.datacentre import DataCentre
from innerspace.errors import InnerspaceError
from innerspace.units import parse_memory

DEFAULT_BASE_IMAGE = "innerspace/base:bookworm"
ENGINE_NAMES = ("docker", "swarm")  # engines/__init__.py makes each of them


def default_data_dir() -> Path:
    """Where jobs, uploads, results and the SQLite database live unless configured."""
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "innerspace"


class Limits(BaseModel):
    """Server-side caps; an app's own resource requests are clipped to these."""

    model_config = ConfigDict(extra="forbid")

    max_running_jobs: int = Field(4, ge=1, description="containers running at once")
    max_cores: float = Field(2.0, gt=0)
    max_memory: int = Field(parse_memory("4G"), gt=0, description="bytes")
    pids: int = Field(256, ge=16, description="process limit inside a container")
    tmp_size: int = Field(parse_memory("256M"), gt=0, description="size of the /tmp tmpfs")
    max_execution_duration: int = Field(86400, ge=1, description="seconds")
    default_destruction: int = Field(7 * 86400, ge=60, description="seconds after creation")
    max_destruction: int = Field(30 * 86400, ge=60, description="seconds after creation")
    max_upload_size: int = Field(parse_memory("1G"), gt=0, description="bytes per request")
    max_wait: int = Field(600, ge=1, description="longest blocking WAIT, seconds")
    log_size: int = Field(parse_memory("64M"), gt=0,
                          description="bytes of stdout/stderr kept per container")

    @field_validator("max_memory", "tmp_size", "max_upload_size", "log_size", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return parse_memory(value)


class Sandbox(BaseModel):
    """How user containers are confined. The defaults are the safe ones."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field("10001:10001", description="uid:gid the app runs as (never root)")

    @field_validator("user")
    @classmethod
    def _not_root(cls, value: str) -> str:
        uid, _, gid = value.partition(":")
        gid = gid or uid
        if not (uid.isdigit() and gid.isdigit()) or int(uid) == 0 or int(gid) == 0:
            raise ValueError(f"sandbox user must be numeric uid:gid, neither of them 0 "
                             f"(root), got {value!r}")
        return f"{int(uid)}:{int(gid)}"

    @property
    def uid(self) -> int:
        return int(self.user.partition(":")[0])

    @property
    def gid(self) -> int:
        return int(self.user.partition(":")[2])


class Repository(BaseModel):
    """The OCI registry that holds this data centre's apps. Without `url`, the service runs
    the app images found on its local engine."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="registry base URL, e.g. http://127.0.0.1:5000")
    namespace: str = Field("innerspace", pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$",
                           description="where the apps live: <registry>/<namespace>/<name>")
    username: str | None = None
    password: str | None = None
    allowed: list[str] = Field(
        default_factory=list,
        description="image prefixes (registry/namespace) allowed to run; default the "
                    "repository's own")
    cache_ttl: float = Field(60.0, ge=0, description="seconds the catalogue is trusted")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"repository url must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value else None

    @property
    def host(self) -> str | None:
        return self.url.split("://", 1)[1] if self.url else None

    @property
    def allowed_prefixes(self) -> list[str]:
        if self.allowed:
            return [prefix.rstrip("/") + "/" for prefix in self.allowed]
        return [f"{self.host}/{self.namespace}/"] if self.url else []


class Swarm(BaseModel):
    """The Docker Swarm engine's own settings (used when engine = "swarm")."""

    model_config = ConfigDict(extra="forbid")

    constraints: list[str] = Field(
        default_factory=list,
        description="placement constraints for every job, e.g. node.labels.innerspace==jobs")
    stage_image: str = Field(DEFAULT_BASE_IMAGE,
                             description="an image with python3 for the stage server")
    stage_size: int = Field(parse_memory("1G"), gt=0,
                            description="bytes of inputs plus results a job may stage")
    stop_grace: float = Field(5.0, ge=0, description="seconds between SIGTERM and SIGKILL")
    poll_interval: float = Field(0.25, gt=0, le=10,
                                 description="seconds between looks at the jobs' tasks")

    @field_validator("stage_size", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return parse_memory(value)


class Settings(BaseSettings):
    """All settings. Load with `load_settings()`."""

    model_config = SettingsConfigDict(env_prefix="INNERSPACE_", env_nested_delimiter="__",
                                      extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    public_url: str | None = Field(None, description="external base URL; default from requests")
    engine: str = Field("docker", description="where containers run: docker or swarm")
    docker_host: str | None = Field(None, description="Docker endpoint; default from DOCKER_HOST")
    base_image: str = DEFAULT_BASE_IMAGE
    app_image_prefix: str = "innerspace-app/"
    # Bearer token -> owner. INNERSPACE_TOKENS accepts "token=owner,token=owner".
    tokens: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    allow_anonymous: bool | None = Field(
        None, description="default: true when no tokens are configured, false otherwise")
    limits: Limits = Field(default_factory=Limits)
    repository: Repository = Field(default_factory=Repository)
    datacentre: DataCentre = Field(default_factory=DataCentre)
    harvest: list[str] = Field(default_factory=list,
                               description="OAI-PMH endpoints of other data centres to index")
    harvest_interval: float = Field(3600.0, ge=10, description="seconds between harvests")
    sandbox: Sandbox = Field(default_factory=Sandbox)
    swarm: Swarm = Field(default_factory=Swarm)

    @field_validator("tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("{"):
                return json.loads(value)
            pairs: dict[str, str] = {}
            for item in filter(None, (part.strip() for part in value.split(","))):
                token, sep, owner = item.partition("=")
                if not sep or not token or not owner:
                    raise ValueError(f"token entry {item!r} is not token=owner")
                pairs[token] = owner
            return pairs
        return value

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value not in ENGINE_NAMES:
            raise ValueError(f"unknown engine {value!r}; known: {', '.join(ENGINE_NAMES)}")
        return value

    @property
    def anonymous_allowed(self) -> bool:
        if self.allow_anonymous is None:
            return not self.tokens
        return self.allow_anonymous

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'innerspace.db'}"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @cached_property
    def service_id(self) -> str:
        """A stable id of this installation, kept in the data directory; it labels the
        containers this service starts, so that it never touches another service's."""
        path = self.data_dir / "service-id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(uuid.uuid4().hex + "\n")
            return path.read_text().strip()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file: operators override one value without editing it.
        return env_settings, init_settings


class ConfigError(InnerspaceError, ValueError):
    """The configuration file or environment is unusable; the message says why."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (if any), apply `overrides` (CLI options), then the environment."""
    data: dict[str, Any] = {}
    path = config_file or (Path(os.environ["INNERSPACE_CONFIG"])
                           if os.environ.get("INNERSPACE_CONFIG") else None)
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc
    data.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return Settings(**data)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
