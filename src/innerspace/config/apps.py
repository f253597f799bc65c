"""The service's own say over its apps (`[apps]`): which groups of callers may use which app.
The manifest's `access` describes what the app's author intends; this setting overrides it
(innerspace/apps/access.py applies both)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_APP_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")  # as apps/manifest.py names apps
_GROUP = re.compile(r"^[^\s,]{1,256}$")


class Apps(BaseModel):
    """Access to apps, by app name."""

    model_config = ConfigDict(extra="forbid")

    groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description="app name -> the groups whose members may see and run it (any one "
                    "suffices; administrators always may); replaces the manifest's "
                    "access.groups, and an empty list opens the app to every caller. In "
                    "TOML: [apps.groups] xmatch = [\"astro\"]; in the environment: "
                    "INNERSPACE_APPS__GROUPS='{\"xmatch\": [\"astro\"]}'")

    @field_validator("groups", mode="after")
    @classmethod
    def _names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for app, groups in value.items():
            if not _APP_NAME.match(app):
                raise ValueError(f"apps.groups: {app!r} is not an app name")
            for group in groups:
                if not _GROUP.match(group):
                    raise ValueError(f"apps.groups.{app}: {group!r} is not a group name "
                                     f"(1 to 256 characters, no spaces or commas)")
        return value
