"""Who may use which app: an app may be limited to groups, by its manifest
(`access = {groups = [...]}`) or by the service (`[apps.groups] name = [...]`, which
overrides the manifest: the data centre, not the app's author, has the last word). Members of
any of the groups and the service's administrators see the app and run it; anyone else finds
it missing from the catalogue and is refused (403, naming the groups) when creating a job.

`Requester` is what the parts below identity (apps, uws) know of a caller; the identity
room's `Caller` (innerspace.auth) has exactly these attributes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from innerspace.config import Settings
from innerspace.errors import Forbidden

if TYPE_CHECKING:
    from innerspace.apps.catalogue import AppImage
    from innerspace.apps.manifest import AppManifest


class Requester(Protocol):
    """Who asks: the owner their jobs belong to (None: anonymous), their groups, and whether
    they administer this service."""

    @property
    def owner(self) -> str | None: ...

    @property
    def groups(self) -> frozenset[str]: ...

    @property
    def admin(self) -> bool: ...


def app_groups(settings: Settings, manifest: AppManifest) -> frozenset[str] | None:
    """The groups an app is limited to, or None when it is open to every caller. The
    service's `apps.groups` entry for the app, when there is one, replaces the manifest's
    (an empty list there opens the app)."""
    configured = settings.apps.groups.get(manifest.name)
    if configured is not None:
        return frozenset(configured) or None
    if manifest.access is not None and manifest.access.groups:
        return frozenset(manifest.access.groups)
    return None


def may_use(settings: Settings, manifest: AppManifest, caller: Requester) -> bool:
    """Whether `caller` may see and run the app."""
    groups = app_groups(settings, manifest)
    return groups is None or caller.admin or not groups.isdisjoint(caller.groups)


def check_app_access(settings: Settings, manifest: AppManifest, caller: Requester) -> None:
    """Refuse (403) a caller outside the groups of a limited app, naming the groups."""
    if may_use(settings, manifest, caller):
        return
    groups = ", ".join(sorted(app_groups(settings, manifest) or ()))
    who = "anonymous callers belong to no group" if caller.owner is None else \
        f"{caller.owner} is in none of them"
    raise Forbidden(f"app {manifest.name} is only for members of the group(s) {groups}; "
                    f"{who}")


def visible_apps(settings: Settings, apps: Iterable[AppImage], caller: Requester
                 ) -> list[AppImage]:
    """The apps of `apps` that `caller` may see, in their order."""
    return [app for app in apps if may_use(settings, app.manifest, caller)]
