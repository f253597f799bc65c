"""Roles in the job service: a job is its owner's (404 to anyone else), administrators read,
list, abort and delete any job but change none of another owner's, and apps limited to
groups are refused (403, naming the groups) to callers outside them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from innerspace.apps.access import app_groups, may_use, visible_apps
from innerspace.apps.catalogue import AppImage
from innerspace.apps.manifest import ManifestError
from innerspace.auth import Caller
from innerspace.config import Settings
from innerspace.errors import Forbidden
from innerspace.uws.errors import JobNotFound
from innerspace.uws.phases import Phase
from innerspace.uws.request import JobRequest, Upload
from tests.support.uws_harness import IMAGE, DemoCatalogue, UWSHarness, demo_manifest

pytestmark = pytest.mark.anyio

ALICE = Caller("alice", frozenset({"astro"}), how="token")
BOB = Caller("bob", how="token")
ROOT = Caller("root", frozenset({"innerspace-admins"}), admin=True, how="token")
ANONYMOUS = Caller(None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def demo(app: str = "demo", run: bool = False) -> JobRequest:
    fields: list[tuple[str, str | Upload]] = [("app", app), ("count", "1")]
    return JobRequest.from_fields(fields + ([("PHASE", "RUN")] if run else []))


async def test_another_owners_job_is_missing_for_everything(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        job = await uws.service.create(ALICE, demo())
        service = uws.service
        for caller in (BOB, ANONYMOUS):
            with pytest.raises(JobNotFound):
                service.get(caller, job.id)
            with pytest.raises(JobNotFound):
                await service.wait(caller, job.id, "1", None)
            with pytest.raises(JobNotFound):
                service.run(caller, job.id)
            with pytest.raises(JobNotFound):
                await service.update_parameters(caller, job.id, [("count", "2")])
            with pytest.raises(JobNotFound):
                service.set_execution_duration(caller, job.id, "10")
            with pytest.raises(JobNotFound):
                service.set_destruction(caller, job.id, "2999-01-01T00:00:00Z")
            with pytest.raises(JobNotFound):
                await service.abort(caller, job.id)
            with pytest.raises(JobNotFound):
                await service.delete(caller, job.id)
            assert service.list_jobs(caller, [], None, None) == []
        assert service.get(ALICE, job.id).phase is Phase.PENDING, "untouched"


async def test_an_administrator_reads_aborts_and_deletes_any_job(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        service = uws.service
        job = await service.create(ALICE, demo(run=True))
        await uws.executing(job.id)
        assert service.get(ROOT, job.id).owner == "alice"
        assert (await service.wait(ROOT, job.id, "0", None)).phase is Phase.EXECUTING
        assert (await service.abort(ROOT, job.id)).phase is Phase.ABORTED
        await service.delete(ROOT, job.id)
        with pytest.raises(JobNotFound):
            service.get(ALICE, job.id)


async def test_an_administrator_changes_no_other_owners_job(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        service = uws.service
        job = await service.create(ALICE, demo())
        changes: list[Callable[[], object]] = [
            lambda: service.run(ROOT, job.id),
            lambda: service.set_execution_duration(ROOT, job.id, "10"),
            lambda: service.set_destruction(ROOT, job.id, "2999-01-01T00:00:00Z"),
        ]
        for change in changes:
            with pytest.raises(Forbidden, match="only the owner of job"):
                change()
        with pytest.raises(Forbidden, match="its parameters"):
            await service.update_parameters(ROOT, job.id, [("count", "2")])
        stored = service.get(ALICE, job.id)
        assert (stored.phase, stored.parameters[0].value) == (Phase.PENDING, "1")
        own = await service.create(ROOT, demo())  # an administrator's own job is theirs
        assert service.set_execution_duration(ROOT, own.id, "10").execution_duration == 10


async def test_the_job_list_is_ones_own_unless_an_administrator_asks(tmp_path: Path) -> None:
    async with UWSHarness(tmp_path) as uws:
        service = uws.service
        alices = await service.create(ALICE, demo())
        bobs = await service.create(BOB, demo())
        roots = await service.create(ROOT, demo())

        def listed(caller: Caller, owner: str | None = None,
                   phases: list[str] | None = None) -> list[str]:
            return [ref.id for ref in service.list_jobs(caller, phases or [], None, None,
                                                        owner)]

        assert listed(ROOT) == [roots.id], "by default, one's own jobs"
        assert listed(ROOT, "*") == [alices.id, bobs.id, roots.id]
        assert listed(ROOT, "bob") == [bobs.id]
        assert listed(ROOT, "*", ["QUEUED"]) == [], "with the UWS filters"
        assert listed(ALICE, "alice") == [alices.id], "oneself by name"
        for owner in ("*", "bob"):
            with pytest.raises(Forbidden, match="only administrators"):
                listed(ALICE, owner)
        refs = service.list_jobs(ROOT, [], None, None, "*")
        assert {ref.owner for ref in refs} == {"alice", "bob", "root"}


def limited(*groups: str, name: str = "secret") -> AppImage:
    return AppImage(demo_manifest(name=name, access={"groups": list(groups)}), IMAGE)


async def test_an_app_limited_to_groups_is_refused_to_others(tmp_path: Path) -> None:
    catalogue = DemoCatalogue(demo_manifest(), limited("astro").manifest)
    async with UWSHarness(tmp_path, catalogue=catalogue) as uws:
        service = uws.service
        assert (await service.create(ALICE, demo("secret"))).app == "secret"
        assert (await service.create(ROOT, demo("secret"))).app == "secret", "an admin"
        with pytest.raises(Forbidden) as refused:
            await service.create(BOB, demo("secret"))
        assert str(refused.value) == ("app secret is only for members of the group(s) "
                                      "astro; bob is in none of them")
        with pytest.raises(Forbidden, match="anonymous callers belong to no group"):
            await service.create(ANONYMOUS, demo("secret"))
        assert (await service.create(BOB, demo())).app == "demo", "open apps stay open"
        assert uws.store.count() == 3, "nothing stored for the refusals"


async def test_membership_is_checked_again_when_a_job_is_run(tmp_path: Path) -> None:
    catalogue = DemoCatalogue(limited("astro").manifest)
    async with UWSHarness(tmp_path, catalogue=catalogue) as uws:
        job = await uws.service.create(ALICE, demo("secret"))
        left = Caller("alice", frozenset(), how="token")  # no longer in astro
        with pytest.raises(Forbidden, match="astro"):
            uws.service.run(left, job.id)
        assert uws.service.get(left, job.id).phase is Phase.PENDING


def test_the_service_setting_overrides_the_manifest() -> None:
    manifest = limited("astro").manifest
    open_app = demo_manifest()
    plain = Settings()
    assert app_groups(plain, manifest) == frozenset({"astro"})
    assert app_groups(plain, open_app) is None
    narrowed = Settings(apps={"groups": {"secret": ["euclid"], "demo": ["astro", "euclid"]}})
    assert app_groups(narrowed, manifest) == frozenset({"euclid"})
    assert not may_use(narrowed, manifest, ALICE), "the service's list replaces the app's"
    assert may_use(narrowed, open_app, ALICE) and not may_use(narrowed, open_app, BOB)
    opened = Settings(apps={"groups": {"secret": []}})
    assert app_groups(opened, manifest) is None and may_use(opened, manifest, BOB)


def test_the_catalogue_shows_each_caller_what_they_may_use() -> None:
    apps = [AppImage(demo_manifest(), IMAGE), limited("astro"),
            limited("euclid", "astro", name="both")]
    settings = Settings()
    assert [a.name for a in visible_apps(settings, apps, ALICE)] == ["demo", "secret", "both"]
    assert [a.name for a in visible_apps(settings, apps, BOB)] == ["demo"]
    assert [a.name for a in visible_apps(settings, apps, ROOT)] == ["demo", "secret", "both"]


def test_group_settings_and_manifests_are_checked() -> None:
    with pytest.raises(ValueError, match="is not a group name"):
        Settings(apps={"groups": {"demo": ["two words"]}})
    with pytest.raises(ValueError, match="is not an app name"):
        Settings(apps={"groups": {"Not An App": ["astro"]}})
    with pytest.raises(ManifestError, match=r"access\.groups"):
        demo_manifest(access={"groups": []})
    with pytest.raises(ManifestError, match=r"access\.groups\.0"):
        demo_manifest(access={"groups": ["a,b"]})
