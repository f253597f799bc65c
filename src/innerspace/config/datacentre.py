"""The data-centre description: who publishes, which services it offers to the outside, which
inner APIs it offers to jobs, and where this execution service is. It lives in the
`[datacentre]` table of the configuration (see docs/inner-apis.md and docs/operations.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from innerspace.vocabulary import (
    AUTHORITY_PATTERN,
    LOCAL_PART_PATTERN,
    RESERVED_LOCAL_PARTS,
    Access,
    inner_api_kind,
)


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    email: str | None = None


class PublishedService(BaseModel):
    """A service the data centre publishes to external clients (TAP, SIA, a web page...)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="local part of its IVOA identifier, e.g. tap")
    title: str
    standard_id: str = Field(description="IVOA standardID, e.g. ivo://ivoa.net/std/TAP")
    access_url: str
    description: str = ""
    subjects: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not LOCAL_PART_PATTERN.match(value):
            raise ValueError(f"service name {value!r} must be lower-case letters, digits, "
                             "'.', '_', '-' (and '/')")
        if value in RESERVED_LOCAL_PARTS or value.split("/")[0] == "innerspace":
            raise ValueError(f"service name {value!r} is reserved for innerspace's own "
                             "records (org, registry, innerspace/...)")
        return value


class InnerApi(BaseModel):
    """An API offered inside the data centre, to jobs only."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    url: str | None = Field(None, description="internal access URL (network kinds)")
    path: str | None = Field(None, description="host directory (posix-collection)")
    bucket: str | None = Field(None, description="bucket name (s3)")
    description: str = ""
    collections: list[str] = Field(default_factory=list,
                                   description="the data collections it exposes")

    @model_validator(mode="after")
    def _complete(self) -> InnerApi:
        definition = inner_api_kind(self.kind)  # unknown kinds are refused here
        if definition.access is Access.MOUNT and not self.path:
            raise ValueError(f"inner API {self.name!r} ({self.kind}) needs a 'path'")
        if definition.access is Access.NETWORK and not self.url:
            raise ValueError(f"inner API {self.name!r} ({self.kind}) needs a 'url'")
        if self.kind == "s3" and not self.bucket:
            raise ValueError(f"inner API {self.name!r} (s3) needs a 'bucket'")
        return self

    @property
    def standard_id(self) -> str:
        return inner_api_kind(self.kind).standard_id

    @property
    def location(self) -> str:
        if self.path:
            return f"file://{self.path}"
        return str(self.url)


class DataCentre(BaseModel):
    """Everything the registry says about this data centre."""

    model_config = ConfigDict(extra="forbid")

    authority: str = Field("ivo://innerspace.local", description="the IVOA naming authority")
    name: str = "An innerspace data centre"
    short_name: str | None = None
    publisher: str = "innerspace"
    contact: Contact = Field(default_factory=lambda: Contact(name="innerspace operators"))
    description: str = "A data centre that runs containerised Python applications next to its data."
    reference_url: str = "https://innerspace.example/"
    services: list[PublishedService] = Field(default_factory=list)
    inner_apis: list[InnerApi] = Field(default_factory=list)
    execution_url: str | None = Field(
        None, description="public URL of this execution service (default: public_url)")
    inner_network: str = Field(
        "innerspace-inner", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="the isolated network jobs join to reach network inner APIs")

    @field_validator("authority")
    @classmethod
    def _authority(cls, value: str) -> str:
        value = value.rstrip("/").lower()
        if not AUTHORITY_PATTERN.match(value):
            raise ValueError(f"authority {value!r} must look like ivo://example.org")
        return value

    @model_validator(mode="after")
    def _unique(self) -> DataCentre:
        for what, names in (("service", [s.name for s in self.services]),
                            ("inner API", [a.name for a in self.inner_apis])):
            duplicates = {n for n in names if names.count(n) > 1}
            if duplicates:
                raise ValueError(f"{what} names must be unique: {', '.join(sorted(duplicates))}")
        return self

    def ivoid(self, local: str) -> str:
        return f"{self.authority}/{local}"

    @property
    def authority_id(self) -> str:
        return self.authority.removeprefix("ivo://")

    def collections(self) -> set[str]:
        return {c for api in self.inner_apis for c in api.collections}
