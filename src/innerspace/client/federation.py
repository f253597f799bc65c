"""Planning across a federation: ask the registry (its RegTAP, through client/tap.py) which
data centres run an app and offer the inner APIs and data collections it needs, ask each
candidate's execution service for a UWS quote (in parallel), rank them, and run the app at
the best one.

    from innerspace.client.federation import Federation

    fed = Federation("http://registry.example/registry/tap")
    plan = fed.plan("xmatch", radius=1.0)
    job = fed.run("xmatch", radius=1.0)      # a live JobHandle at the chosen data centre
    job.wait(); job.download("results/")
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from innerspace import vocabulary
from innerspace.client import tap
from innerspace.client.errors import ClientError
from innerspace.client.uws import Client, JobHandle
from innerspace.vocabulary import authority_of, inner_api_kind


@dataclass
class Candidate:
    """One data centre, as the planner judged it."""

    authority: str
    jobs_url: str | None
    quote: datetime | None = None
    reason: str | None = None  # why it was left out; None if it can run the app
    job: JobHandle | None = None  # the PENDING job that gave the quote
    inner_apis: dict[str, set[str]] = field(default_factory=dict)  # kind -> collections

    @property
    def usable(self) -> bool:
        return self.reason is None


@dataclass
class Plan:
    app: str
    candidates: list[Candidate]

    @property
    def ranked(self) -> list[Candidate]:
        usable = [c for c in self.candidates if c.usable]
        return sorted(usable, key=lambda c: (c.quote is None, c.quote or datetime.max,
                                             c.authority))

    @property
    def excluded(self) -> list[Candidate]:
        return [c for c in self.candidates if not c.usable]

    def discard(self, keep: Candidate | None = None) -> None:
        """Delete the PENDING quote jobs (all but `keep`'s): a plan only looks."""
        for candidate in self.candidates:
            if candidate.job is not None and candidate is not keep:
                candidate.job.delete()

    @property
    def best(self) -> Candidate | None:
        ranked = self.ranked
        return ranked[0] if ranked else None


def _collection(schema_name: str, table_name: str) -> str:
    """The collection a table of an inner-space record stands for: its name without the
    schema's (RegTAP lower-cases schema names, not table names)."""
    prefix = f"{schema_name}."
    return table_name[len(prefix):] if table_name.lower().startswith(prefix) else table_name


class Federation:
    """The data centres a registry knows, seen from a client."""

    def __init__(self, registry_url: str, token: str | None = None,
                 parallel: int = 16) -> None:
        url = registry_url.rstrip("/")
        # Accept a service's base URL as well as its RegTAP endpoint.
        self.registry_url = url if url.endswith("/tap") else f"{url}/registry/tap"
        self.token = token
        self.parallel = max(1, parallel)  # quote requests in flight at once

    def _query(self, adql: str) -> list[dict[str, Any]]:
        return list(tap.query(self.registry_url, adql))

    def execution_services(self) -> dict[str, str]:
        """authority -> UWS job list URL of its innerspace execution service."""
        rows = self._query(
            "SELECT ivoid, access_url FROM rr.capability NATURAL JOIN rr.interface "
            f"WHERE standard_id = '{vocabulary.UWS.lower()}' "
            f"AND ivoid LIKE '%/{vocabulary.EXECUTION_SERVICE}'")
        return {authority_of(str(r["ivoid"])): str(r["access_url"]).rstrip("/") for r in rows}

    def app_sites(self, app: str) -> set[str]:
        """Authorities whose registry records list the app."""
        name = app.split(":")[0].split("@")[0].lower().replace("'", "''")
        rows = self._query(
            "SELECT ivoid FROM rr.capability "
            f"WHERE standard_id = '{vocabulary.APP.lower()}' "
            f"AND ivoid LIKE '%/{vocabulary.app_local_part(name)}'")
        return {authority_of(str(r["ivoid"])) for r in rows}

    def inner_spaces(self) -> dict[str, dict[str, set[str]]]:
        """authority -> inner API kind (its standardID, lower-cased) -> collections offered.

        Read from the tablesets of the inner-space records: one schema per inner API (utype:
        its kind's standardID) holding one table per collection, named `<API>.<collection>`.
        """
        rows = self._query(
            "SELECT s.ivoid, s.schema_name, s.schema_utype, t.table_name "
            "FROM rr.res_schema AS s LEFT OUTER JOIN rr.res_table AS t "
            "ON t.ivoid = s.ivoid AND t.schema_index = s.schema_index "
            f"WHERE s.ivoid LIKE '%/{vocabulary.INNER_SPACE_RECORD}'")
        spaces: dict[str, dict[str, set[str]]] = {}
        for row in rows:
            kinds = spaces.setdefault(authority_of(str(row["ivoid"])), {})
            collections = kinds.setdefault(str(row["schema_utype"] or "").lower(), set())
            if row["table_name"]:
                collections.add(_collection(str(row["schema_name"]), str(row["table_name"])))
        return spaces

    def plan(self, app: str, params: dict[str, Any] | None = None,
             files: dict[str, Any] | None = None, collection: str | None = None,
             **more: Any) -> Plan:
        """Every data centre of the federation, ranked for `app`, with reasons for those
        left out. Each usable one holds a PENDING quote job (deleted unless run)."""
        values = {**(params or {}), **more}
        services = self.execution_services()
        sites = self.app_sites(app)
        spaces = self.inner_spaces()
        candidates = [Candidate(a, url, inner_apis=spaces.get(a, {}))
                      for a, url in sorted(services.items())]
        for candidate in candidates:
            if candidate.authority not in sites:
                candidate.reason = f"does not offer the app {app.split(':')[0]}"
            elif collection and not any(collection in c for c in candidate.inner_apis.values()):
                candidate.reason = f"holds no data collection {collection!r}"

        def quote(candidate: Candidate) -> None:
            assert candidate.jobs_url is not None
            client = Client(candidate.jobs_url.removesuffix("/jobs"), self.token)
            try:
                needs = self._requirements(client, app)
                for need_kind, need_collection in needs:
                    standard = inner_api_kind(need_kind).standard_id.lower()
                    offered = candidate.inner_apis.get(standard)
                    if offered is None or (need_collection and need_collection not in offered):
                        what = need_kind + (f" with collection {need_collection!r}"
                                            if need_collection else "")
                        candidate.reason = f"lacks the inner API {what}"
                        return
                job = client.submit(app, values, files, run=False)
                candidate.job = job
                candidate.quote = job.status().quote
            except ClientError as exc:
                candidate.reason = f"refused: {exc}"

        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            list(pool.map(quote, [c for c in candidates if c.usable]))
        return Plan(app, candidates)

    @staticmethod
    def _requirements(client: Client, app: str) -> list[tuple[str, str | None]]:
        name, _, version = app.partition(":")
        versions = client.app(name)
        chosen = next((v for v in versions if v["version"] == version), None) if version \
            else versions[-1] if versions else None
        if chosen is None:
            raise ClientError(f"the service has no {app}")
        return [(r["kind"], r.get("collection")) for r in chosen.get("inner_apis", [])]

    def run(self, app: str, params: dict[str, Any] | None = None,
            files: dict[str, Any] | None = None, at: str | None = None,
            collection: str | None = None, **more: Any) -> JobHandle:
        """Plan, start the app at the best data centre (or at `at`, an authority), and
        return the live job; the other quote jobs are deleted."""
        plan = self.plan(app, params, files, collection, **more)
        ranked = plan.ranked
        if at:
            wanted = at if at.startswith("ivo://") else f"ivo://{at}"
            ranked = [c for c in ranked if c.authority == wanted.lower()]
        plan.discard(keep=ranked[0] if ranked else None)
        if not ranked:
            reasons = "; ".join(f"{c.authority}: {c.reason}" for c in plan.excluded)
            raise ClientError(f"no data centre can run {app}" + (f" ({reasons})"
                                                                  if reasons else ""))
        chosen = ranked[0]
        assert chosen.job is not None
        return chosen.job.run()
