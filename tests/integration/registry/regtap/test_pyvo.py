"""The RegTAP service as pyvo uses it over HTTP: registry.search by keyword, service
type, standard id and other constraints, raw ADQL, TOPCAT's query shape, MAXREC overflow
and query errors."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import pytest

from innerspace.registry.regtap import RegTAPIndex
from tests.support.regtap_live import RR_TABLES, dump, ivoids
from tests.support.regtap_samples import REGISTRY_IVOID, SIA_IVOID, TAP_IVOID, UWS_IVOID

pyvo = pytest.importorskip("pyvo")
from pyvo import registry  # noqa: E402
from pyvo.dal import DALQueryError, TAPService  # noqa: E402


def test_keyword_search(regtap: str) -> None:
    assert ivoids(registry.search(keywords="quasar")) == {TAP_IVOID}, "description word"
    assert ivoids(registry.search(keywords="cutouts")) == {SIA_IVOID}, "title or description"
    assert ivoids(registry.search(keywords=["gamma", "survey"])) == {TAP_IVOID}, \
        "subject pattern and description word"
    assert ivoids(registry.search(keywords="containerised")) == {UWS_IVOID}
    assert ivoids(registry.search(keywords="no-such-word-anywhere")) == set()


def test_keyword_search_without_union(regtap: str) -> None:
    """pyvo's other form of the keyword search, for services without UNION: ORs over a
    NATURAL LEFT OUTER JOIN with rr.res_subject."""
    from pyvo.registry import rtcons

    class WithoutSets:
        def get_tap_capability(self) -> Any:
            features = SimpleNamespace(get_feature=lambda *_: None)
            return SimpleNamespace(get_adql=lambda: features)

    query = rtcons.build_regtap_query([rtcons.Freetext("gamma", "survey")], WithoutSets())
    assert "UNION" not in query and "rr.res_subject" in query
    found = registry.regtap.RegistryQuery(regtap, query).execute()
    assert ivoids(found) == {TAP_IVOID}


def test_servicetype_search(regtap: str) -> None:
    tap = registry.search(servicetype="tap")
    assert ivoids(tap) == {TAP_IVOID, REGISTRY_IVOID}
    assert tap[TAP_IVOID].access_url == "https://vo.example.org/survey/tap"
    assert ivoids(registry.search(registry.Servicetype("tap"))) == ivoids(tap)
    service = tap[TAP_IVOID].get_service("tap")
    assert isinstance(service, TAPService)
    assert service.baseurl == "https://vo.example.org/survey/tap"
    sia2 = registry.search(servicetype="sia2")
    assert ivoids(sia2) == {SIA_IVOID}
    assert sia2[0].access_url == "https://vo.example.org/survey/sia2/query"
    assert sia2[0].get_service("sia2").baseurl == "https://vo.example.org/survey/sia2/query"
    with_aux = registry.search(servicetype="sia2", includeaux=True)
    assert sorted(with_aux[0]["access_urls"]) == ["https://vo.example.org/survey/sia2/aux",
                                               "https://vo.example.org/survey/sia2/query"]


def test_uws_standard_id_search(regtap: str) -> None:
    for standard in ("ivo://ivoa.net/std/uws#rest-1.1", "ivo://ivoa.net/std/UWS#rest-1.1"):
        found = registry.search(registry.Servicetype(standard))
        assert ivoids(found) == {UWS_IVOID}, standard
        assert found[0].access_url == "https://vo.example.org/innerspace/jobs"
    uws = registry.search(ivoid=UWS_IVOID)[0]
    interface = uws.get_interface(service_type="ivo://ivoa.net/std/uws#rest-1.1")
    assert interface.access_url == "https://vo.example.org/innerspace/jobs"
    assert sorted(uws.access_modes()) == ["uws#rest-1.1"], "VOSI is not an access mode"
    raw = TAPService(regtap).run_sync(
        "SELECT ivoid, access_url FROM rr.capability NATURAL JOIN rr.interface "
        "WHERE standard_id = 'ivo://ivoa.net/std/uws#rest-1.1' AND intf_role = 'std'")
    assert [(r["ivoid"], r["access_url"]) for r in raw] == [
        (UWS_IVOID, "https://vo.example.org/innerspace/jobs")]


def test_other_constraints(regtap: str) -> None:
    found = registry.search(ivoid="ivo://EXAMPLE.org/survey/TAP")
    assert ivoids(found) == {TAP_IVOID}
    tap = found[0]
    assert tap.res_title == "Example Deep Sky Survey TAP service"
    assert [c.strip() for c in tap.creators] == ["Lovelace, A.", "Example Survey Team"]
    assert tap.content_levels == ["research", "university"]
    assert tap.waveband == ["optical", "infrared"]
    assert tap.region_of_regard == pytest.approx(0.0003)
    assert sorted(tap.access_modes()) == ["tap", "web"]
    assert tap.get_contact() == "Example helpdesk (+44 131 000 0000) <help@example.org>"
    assert tap.get_alt_identifiers() == ["doi:10.5072/edss-dr3",
                                         "https://orcid.org/0000-0002-1825-0097"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvo: 'timestamp' is no VOSI datatype
        assert sorted(tap.get_tables()) == ["edss.Epoch", "edss.Source"]
    assert ivoids(registry.search(author="Lovelace%")) == {TAP_IVOID}
    assert ivoids(registry.search(datamodel="regtap")) == {REGISTRY_IVOID}
    assert ivoids(registry.search(datamodel="obscore")) == {TAP_IVOID}
    assert ivoids(registry.search(ucd="phot.mag%")) == {TAP_IVOID}
    assert ivoids(registry.search(keywords="survey", servicetype="sia2")) == {SIA_IVOID}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvo warns about the truncation
        assert len(registry.search(servicetype="tap", maxrec=1)) == 1


def test_raw_adql(regtap: str) -> None:
    service = TAPService(regtap)
    joined = service.run_sync(
        "SELECT ivoid, res_title, ivo_string_agg(COALESCE(standard_id, ''), '|') AS ids "
        "FROM rr.resource NATURAL LEFT OUTER JOIN rr.capability "
        "WHERE 1 = ivo_hashlist_has(waveband, 'infrared') GROUP BY ivoid, res_title "
        "ORDER BY ivoid").to_table()
    assert list(joined["ivoid"]) == [SIA_IVOID, TAP_IVOID]
    assert sorted(joined["ids"][0].split("|")) == ["ivo://ivoa.net/std/sia#query-2.0",
                                                   "ivo://ivoa.net/std/sia#query-aux-2.0"]
    subquery = service.run_sync(
        "SELECT r.ivoid, r.short_name FROM rr.resource AS r WHERE r.ivoid IN "
        "(SELECT ivoid FROM rr.res_subject WHERE res_subject ILIKE '%ASTRONOMY%') "
        "AND EXISTS (SELECT 1 FROM rr.capability AS c WHERE c.ivoid = r.ivoid) "
        "ORDER BY r.ivoid")
    assert [(r["ivoid"], r["short_name"]) for r in subquery] == [
        (SIA_IVOID, "EDSS SIA2"), (TAP_IVOID, "EDSS TAP")]
    words = service.run_sync(
        "SELECT ivoid FROM rr.resource WHERE 1 = ivo_hasword(res_description, 'Quasar') "
        "OR 1 = ivo_nocasematch(res_title, '%EXECUTION%') ORDER BY ivoid")
    assert [r["ivoid"] for r in words] == [UWS_IVOID, TAP_IVOID]
    counts = service.run_sync(
        "SELECT base_role, COUNT(*) AS n FROM rr.res_role GROUP BY base_role "
        "ORDER BY base_role").to_table()
    assert dict(zip(counts["base_role"], counts["n"], strict=True)) == {
        "contact": 7, "contributor": 1, "creator": 2, "publisher": 7}
    regtap_services = service.run_sync(
        "SELECT access_url FROM rr.interface NATURAL JOIN rr.capability "
        "NATURAL JOIN rr.res_detail WHERE standard_id LIKE 'ivo://ivoa.net/std/tap%' "
        "AND intf_role = 'std' AND detail_xpath = '/capability/dataModel/@ivo-id' "
        "AND 1 = ivo_nocasematch(detail_value, 'ivo://ivoa.net/std/regtap#1.%') "
        "AND authenticated_only = 0")
    assert [r["access_url"] for r in regtap_services] == ["https://vo.example.org/registry/tap"]
    top = service.run_sync("SELECT TOP 2 ivoid FROM rr.resource ORDER BY ivoid DESC")
    assert [r["ivoid"] for r in top] == [TAP_IVOID, SIA_IVOID]
    schema = service.run_sync("SELECT table_name FROM TAP_SCHEMA.tables "
                              "WHERE schema_name = 'rr' ORDER BY table_name")
    assert {r["table_name"] for r in schema} == {f"rr.{t}" for t in RR_TABLES}


def test_topcat_style_query(regtap: str) -> None:
    """The shape of TOPCAT's registry search: joins to derived tables, OR of UDFs."""
    result = TAPService(regtap).run_sync(
        "SELECT ivoid, short_name, res_title, base_role, role_name, email, intf_index, "
        "access_url, standard_id, cap_type, std_version, res_subject "
        "FROM rr.resource AS res NATURAL JOIN rr.interface NATURAL JOIN rr.capability "
        "NATURAL LEFT OUTER JOIN (SELECT ivoid, role_name, email, base_role FROM rr.res_role "
        "WHERE base_role = 'contact') AS role NATURAL LEFT OUTER JOIN rr.res_subject "
        "WHERE (standard_id = 'ivo://ivoa.net/std/tap' OR standard_id LIKE "
        "'ivo://ivoa.net/std/tap#%') AND intf_type = 'vs:paramhttp' AND "
        "(1 = ivo_hasword(res_description, 'quasar') OR 1 = ivo_hasword(res_title, 'quasar') "
        "OR 1 = ivo_nocasematch(res_subject, '%quasar%')) ORDER BY res_subject").to_table()
    assert set(result["ivoid"]) == {TAP_IVOID}
    assert sorted(result["res_subject"]) == ["Stellar astronomy", "gamma-ray bursts", "surveys"]
    assert set(result["email"]) == {"help@example.org"}
    assert set(result["access_url"]) == {"https://vo.example.org/survey/tap"}


def test_maxrec_overflow(regtap: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvo may warn about the truncation
        result = TAPService(regtap).run_sync("SELECT ivoid FROM rr.resource", maxrec=3)
    assert len(result) == 3
    assert result.query_status == "OVERFLOW"
    exact = TAPService(regtap).run_sync("SELECT TOP 3 ivoid FROM rr.resource", maxrec=3)
    assert exact.query_status == "OK", "TOP is no overflow"


@pytest.mark.parametrize(("query", "message"), [
    ("SELECT ivoid FROM rr.resource WHERE", "syntax error"),
    ("SELECT * FROM rr.missing", "unknown table rr.missing"),
    ("SELECT no_such_column FROM rr.resource", "unknown column no_such_column"),
    ("SELECT ivoid FROM rr.resource NATURAL JOIN rr.capability WHERE cap_index = ivoid "
     "AND resource.nothing = 1", "unknown column resource.nothing"),
    ("DELETE FROM rr.resource", "only SELECT"),
    ("DROP TABLE rr.resource", "only SELECT"),
    ("INSERT INTO rr.resource (ivoid) VALUES ('ivo://evil')", "only SELECT"),
    ("SELECT ivoid FROM rr.resource; DROP TABLE rr.resource", "only one statement"),
])
def test_query_errors(regtap: str, index: RegTAPIndex, query: str, message: str) -> None:
    before = dump(index)
    with pytest.raises(DALQueryError, match=message):
        TAPService(regtap).run_sync(query)
    assert dump(index) == before


