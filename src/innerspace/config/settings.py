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
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from innerspace.config.apps import Apps
from innerspace.config.auth import Auth, parse_tokens
from innerspace.config.datacentre import DataCentre
from innerspace.config.observability import Logging, Metrics
from innerspace.config.portal import Portal
from innerspace.config.tapjobs import TAPJobs
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
    max_form_size: int = Field(
        parse_memory("1M"), gt=0,
        description="bytes of form fields per request (names, values and multipart part "
                    "headers; uploaded files count against max_upload_size), read as a "
                    "stream and refused with 413 past this")
    max_form_fields: int = Field(1000, ge=1, description="form fields per request")
    max_request_head: int = Field(
        64 * 1024, ge=8 * 1024,
        description="bytes of a request line and headers (innerspace serve answers 431)")
    max_wait: int = Field(600, ge=1, description="longest blocking WAIT, seconds")
    log_size: int = Field(parse_memory("64M"), gt=0,
                          description="bytes of stdout/stderr kept per container")
    max_result_size: int = Field(
        parse_memory("1G"), gt=0,
        description="bytes a job's results may take (a manifest may ask for less); also the "
                    "largest single file a container may write (RLIMIT_FSIZE)")
    max_result_entries: int = Field(
        100_000, ge=1, description="files and directories a job's results may hold")
    max_open_files: int = Field(1024, ge=64,
                                description="open files per container (RLIMIT_NOFILE)")
    max_storage_per_owner: int | None = Field(
        parse_memory("10G"), ge=0,
        description="bytes of job files (uploads, results, logs) one owner may keep; new "
                    "jobs are refused at or over it (anonymous callers share one); "
                    "None or 0: no quota")
    min_free_disk: int = Field(
        parse_memory("1G"), ge=0,
        description="bytes the job file system must have free for a job to start")
    # Fair share needs no setting: the queue always gives the next slot to the owner with
    # the fewest jobs running (uws/queue.py). These caps bound one owner on top of it.
    max_running_per_owner: int | None = Field(
        None, ge=0,
        description="jobs of one owner running at once (anonymous callers share one); "
                    "more wait in the queue while other owners' jobs run; None or 0: only "
                    "max_running_jobs")
    max_queued_per_owner: int | None = Field(
        1000, ge=0,
        description="jobs of one owner waiting in the queue (anonymous callers share "
                    "one); a job asked to run beyond it (a new job with PHASE=RUN, or "
                    "PHASE=RUN) is refused with 429; None or 0: no quota")

    @field_validator("max_memory", "tmp_size", "max_upload_size", "log_size", "max_request_head",
                     "max_result_size", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return parse_memory(value)

    @field_validator("max_storage_per_owner", "min_free_disk", mode="before")
    @classmethod
    def _memory_or_zero(cls, value: Any) -> int | None:
        """A size where 0 (and, for the quota, None) turns the limit off."""
        if value is None:
            return None
        return 0 if value in (0, "0") else parse_memory(value)

    @field_validator("max_form_size", mode="before")
    @classmethod
    def _form_size(cls, value: Any) -> int:
        return parse_memory(value)

    @property
    def storage_quota(self) -> int | None:
        """The per-owner storage quota in bytes, or None when there is none."""
        return self.max_storage_per_owner or None

    @property
    def running_quota(self) -> int | None:
        """Jobs one owner may run at once, or None when only max_running_jobs applies."""
        return self.max_running_per_owner or None

    @property
    def queued_quota(self) -> int | None:
        """Jobs one owner may have queued, or None when there is no such quota."""
        return self.max_queued_per_owner or None


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
    # What one registry may cost the service (a hostile or broken one included).
    timeout: float = Field(30.0, gt=0, le=600,
                           description="seconds one registry answer may take in all")
    max_pages: int = Field(100, ge=1,
                           description="pages of one catalog or tags listing (1000 names each)")
    max_manifest_size: int = Field(
        parse_memory("4M"), gt=0,
        description="bytes of one manifest, image index or config blob, read as a stream")
    max_page_size: int = Field(
        parse_memory("1M"), gt=0,
        description="bytes of one catalog or tags page or token answer, read as a stream")

    @field_validator("max_manifest_size", "max_page_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_memory(value)

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
    stage_workers: int = Field(32, ge=2, le=1024,
                               description="requests the stage server serves at once")
    stage_timeout: float = Field(30.0, gt=0, le=3600,
                                 description="seconds the stage server waits on one read or "
                                             "write of a request before dropping it")
    stop_grace: float = Field(5.0, ge=0, description="seconds between SIGTERM and SIGKILL")
    poll_interval: float = Field(0.25, gt=0, le=10,
                                 description="seconds between looks at the jobs' tasks")

    @field_validator("stage_size", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return parse_memory(value)


class RegistryLimits(BaseModel):
    """What the VO registry lets one RegTAP query (anyone may send one), one harvest of
    another registry (someone else's server) and one operator's trigger cost the service.
    Each RegTAP query runs in a worker process confined to query_process_memory and
    query_temp_size, killed a second past query_timeout; what the service itself holds of a
    query is its result, within max_result_bytes."""

    model_config = ConfigDict(extra="forbid")

    query_timeout: float = Field(
        10.0, gt=0, le=3600,
        description="seconds one RegTAP query may run (SQLite and the RegTAP functions "
                    "alike); then it stops with an error")
    default_maxrec: int = Field(20_000, ge=0,
                                description="rows of a RegTAP result when MAXREC is not given")
    hard_maxrec: int = Field(200_000, ge=0,
                             description="rows of a RegTAP result at most, whatever MAXREC says")
    max_result_bytes: int = Field(
        parse_memory("8M"), gt=0,
        description="bytes of one RegTAP result (a text counts 2 bytes per character, or "
                    "its UTF-8 size if more, a number 8, each value 64 more and each row 64 "
                    "more); past it the result is cut short and marked OVERFLOW (in CSV, "
                    "which has no marker, it just ends)")
    max_string_length: int = Field(
        parse_memory("256K"), ge=4096,
        description="bytes of any string or row a RegTAP query makes or reads "
                    "(SQLITE_LIMIT_LENGTH: concatenations, ivo_string_agg, sorted rows); "
                    "longer values of harvested records are not indexed")
    max_columns: int = Field(64, ge=32, le=2000,
                             description="columns of a RegTAP result, GROUP BY or ORDER BY")
    max_like_pattern: int = Field(
        200, ge=16, le=50_000,
        description="characters of a LIKE pattern (SQLite matches in time proportional to "
                    "the pattern times the text)")
    max_function_args: int = Field(16, ge=4, le=127,
                                   description="arguments of one function call in a query")
    max_compound_selects: int = Field(20, ge=2, le=500,
                                      description="SELECTs joined by UNION, EXCEPT, INTERSECT")
    max_expression_depth: int = Field(200, ge=50, le=1000,
                                      description="nesting depth of a query's expressions")
    query_memory: int = Field(
        parse_memory("8M"), gt=0,
        description="bytes of SQLite page cache and sorter memory of one query; larger "
                    "sorts and temporary tables spill to temporary files")
    query_process_memory: int = Field(
        parse_memory("256M"), ge=parse_memory("64M"),
        description="bytes of data memory of a query's worker process (RLIMIT_DATA): what "
                    "SQLite may take for one query, sorts and all")
    query_temp_size: int = Field(
        parse_memory("256M"), gt=0,
        description="bytes of one temporary file a query's worker may write (RLIMIT_FSIZE); "
                    "SQLite writes them for large sorts (in SQLITE_TMPDIR, else TMPDIR or "
                    "/var/tmp)")
    max_concurrent_queries: int = Field(
        2, ge=1, description="RegTAP queries run at once, each in a worker process of its own")
    query_wait: float = Field(
        5.0, ge=0,
        description="seconds a query waits for its turn; then 503 with Retry-After")
    harvest_timeout: float = Field(
        120.0, gt=0,
        description="seconds one harvest of one registry may take in all (a peer that falls "
                    "silent holds it up to 30 s more)")
    max_harvest_response: int = Field(
        parse_memory("8M"), gt=0,
        description="bytes of one OAI-PMH answer of a harvested registry, read as a stream")
    max_harvest_bytes: int = Field(
        parse_memory("1G"), gt=0,
        description="bytes of all OAI-PMH answers of one harvest of one registry (the "
                    "records go into the index page by page: this bounds the writing, "
                    "not memory; the whole VO is a few hundred MB)")
    trigger_interval: float = Field(
        10.0, ge=0,
        description="seconds per operator-triggered harvest, registry refresh or app "
                    "catalogue refresh (POST /registry/harvest, /registry/refresh, "
                    "/apps/refresh, each counted on its own); 0: no limit")
    trigger_burst: int = Field(
        3, ge=1,
        description="triggers of one kind allowed at once before trigger_interval applies; "
                    "more answer 429 with Retry-After")

    @field_validator("max_result_bytes", "max_string_length", "query_memory",
                     "query_process_memory", "query_temp_size", "max_harvest_response",
                     "max_harvest_bytes", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return parse_memory(value)


class Settings(BaseSettings):
    """All settings. Load with `load_settings()`."""

    # Errors name the setting, never its value: values include tokens and secrets.
    model_config = SettingsConfigDict(env_prefix="INNERSPACE_", env_nested_delimiter="__",
                                      extra="forbid", hide_input_in_errors=True)

    data_dir: Path = Field(default_factory=default_data_dir)
    # Its own setting, so that job files and the database can live on different file
    # systems: a job that fills the job disk must not stop the database from recording it.
    jobs_dir: Path = Field(default_factory=lambda data: data["data_dir"] / "jobs",
                           description="uploads, results and logs of jobs; default "
                                       "data_dir/jobs")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    public_url: str | None = Field(None, description="external base URL; default from requests")
    engine: str = Field("docker", description="where containers run: docker or swarm")
    docker_host: str | None = Field(None, description="Docker endpoint; default from DOCKER_HOST")
    base_image: str = DEFAULT_BASE_IMAGE
    app_image_prefix: str = "innerspace-app/"
    auth: Auth = Field(default_factory=Auth, description="who may call, and how (auth.py)")
    # The old spellings of auth.tokens and auth.allow_anonymous (INNERSPACE_TOKENS,
    # INNERSPACE_ALLOW_ANONYMOUS), still accepted: moved into `auth` when settings load.
    tokens: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict, repr=False, description="old spelling of auth.tokens")
    allow_anonymous: bool | None = Field(
        None, description="old spelling of auth.allow_anonymous")
    # What browsers may do (web/sites.py); in the environment, comma-separated lists.
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins (scheme://host[:port]) besides the service's own whose web pages "
                    "may send POST, PUT, PATCH or DELETE requests from a browser")
    trusted_hosts: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description="Host header values answered, against DNS rebinding (any port; "
                    "'*.example.org' for its subdomains; '*' for any host); default: the "
                    "hosts of public_url and datacentre.execution_url, localhost and IP "
                    "addresses")
    limits: Limits = Field(default_factory=Limits)
    apps: Apps = Field(default_factory=Apps, description="who may use which app")
    logging: Logging = Field(default_factory=Logging, description="how the service logs")
    metrics: Metrics = Field(default_factory=Metrics,
                             description="Prometheus /metrics and who may read it")
    repository: Repository = Field(default_factory=Repository)
    datacentre: DataCentre = Field(default_factory=DataCentre)
    harvest: list[str] = Field(default_factory=list,
                               description="OAI-PMH endpoints of other data centres to index")
    harvest_interval: float = Field(3600.0, ge=10, description="seconds between harvests")
    registry: RegistryLimits = Field(default_factory=RegistryLimits)
    tap_jobs: TAPJobs = Field(default_factory=TAPJobs,
                              description="the registry's asynchronous TAP jobs (tapjobs.py)")
    sandbox: Sandbox = Field(default_factory=Sandbox)
    swarm: Swarm = Field(default_factory=Swarm)
    portal: Portal = Field(default_factory=Portal, description="the web pages (portal.py)")

    @field_validator("tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any) -> Any:
        return parse_tokens(value)

    @model_validator(mode="after")
    def _old_auth_names(self) -> Settings:
        """Top-level tokens and allow_anonymous join `auth` (auth's own entries win)."""
        if self.tokens or self.allow_anonymous is not None:
            merged = self.auth.model_dump()
            merged["tokens"] = {**self.tokens, **merged["tokens"]}
            if merged["allow_anonymous"] is None:
                merged["allow_anonymous"] = self.allow_anonymous
            merged["client_secret"] = self.auth.client_secret
            self.auth = Auth.model_validate(merged)
        return self

    @field_validator("allowed_origins", "trusted_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            try:
                parts.port  # noqa: B018 (raises on a port that is not a number)
            except ValueError:
                parts = parts._replace(scheme="")
            if (parts.scheme not in ("http", "https") or not parts.hostname
                    or parts.path not in ("", "/") or parts.query or parts.fragment
                    or parts.username is not None):
                raise ValueError(f"allowed origin {origin!r} is not scheme://host[:port]")
        return [origin.strip().rstrip("/").lower() for origin in value]

    @field_validator("trusted_hosts")
    @classmethod
    def _hosts(cls, value: list[str] | None) -> list[str] | None:
        for host in value or ():
            if not host.strip() or any(c in host for c in "/@ \t"):
                raise ValueError(f"trusted host {host!r} is not a host name or address")
        return None if value is None else [host.strip().lower() for host in value]

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value not in ENGINE_NAMES:
            raise ValueError(f"unknown engine {value!r}; known: {', '.join(ENGINE_NAMES)}")
        return value

    @property
    def anonymous_allowed(self) -> bool:
        return self.auth.anonymous_allowed

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'innerspace.db'}"

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
