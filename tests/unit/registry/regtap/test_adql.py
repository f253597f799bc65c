"""ADQL for the RegTAP index: what is refused and why, what the translation makes of
ADQL, and the ADQL and RegTAP functions as they run in SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.regtap.adql import ADQLError, translate
from innerspace.registry.regtap.schema import PHYSICAL
from tests.support.regtap_live import rows

# -- ADQL translation ----------------------------------------------------------------------

@pytest.mark.parametrize(("query", "message"), [
    ("SELEC ivoid FROM rr.resource", "syntax error"),
    ("SELECT ivoid FROM", "syntax error"),
    ("", "empty"),
    ("SELECT ivoid FROM rr.nothing", "unknown table rr.nothing"),
    ("SELECT * FROM sqlite_master", "unknown table sqlite_master"),
    ("SELECT * FROM rr_resource", "unknown table rr_resource"),
    ("SELECT x.y.ivoid FROM rr.resource", "unknown table x.y"),
    ("DELETE FROM rr.resource", "only SELECT"),
    ("DROP TABLE rr.resource", "only SELECT"),
    ("INSERT INTO rr.resource (ivoid) VALUES ('ivo://x')", "only SELECT"),
    ("UPDATE rr.resource SET res_title = 'x'", "only SELECT"),
    ("CREATE TABLE rr.x (a INTEGER)", "only SELECT"),
    ("PRAGMA query_only = OFF", "only SELECT"),
    ("ATTACH DATABASE '/tmp/x.db' AS x", "syntax error"),
    ("SELECT ivoid FROM rr.resource; DELETE FROM rr.resource", "only one statement"),
    ("SELECT 1 FROM rr.resource; SELECT 2 FROM rr.resource", "only one statement"),
    ("SELECT * INTO copy FROM rr.resource", "INTO"),
    ("SELECT ivoid FROM rr.resource WHERE ivoid = ?", "parameters"),
    ("SELECT load_extension('x') FROM rr.resource", "unknown function load_extension"),
    ("SELECT ivo_hasword(res_title) FROM rr.resource", "takes 2 arguments"),
    ("SELECT 1 FROM rr.resource WHERE 1 = CONTAINS(POINT('ICRS', 1, 2), "
     "CIRCLE('ICRS', 1, 2, 3))", "not supported"),
    ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c",
     "WITH RECURSIVE is not supported"),
    ("WITH c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c",
     "the common table expression c refers to itself"),
    ("WITH a AS (SELECT 1 AS n), b AS (SELECT n FROM a WHERE n IN (SELECT n FROM b)) "
     "SELECT n FROM b", "the common table expression b refers to itself"),
])
def test_refused_queries(query: str, message: str) -> None:
    with pytest.raises(ADQLError, match=message):
        translate(query, PHYSICAL)


def test_translation() -> None:
    sql = translate("SELECT TOP 5 rr.resource.ivoid, COUNT(*) FROM rr.resource NATURAL LEFT "
                    "OUTER JOIN rr.capability WHERE res_title ILIKE '%Tap%' "
                    "AND LOG(1) = 0 GROUP BY rr.resource.ivoid", PHYSICAL)
    assert sql == ("SELECT `resource`.`ivoid`, COUNT(*) AS `count` FROM `rr_resource` AS "
                   "`resource` NATURAL LEFT OUTER JOIN `rr_capability` AS `capability` WHERE "
                   "LOWER(`res_title`) LIKE '%tap%' AND LN(1) = 0 GROUP BY "
                   "`resource`.`ivoid` LIMIT 5")
    agg = translate("SELECT ivo_string_agg(access_url, '#') FROM rr.interface", PHYSICAL)
    assert "COALESCE(GROUP_CONCAT(`access_url`, '#'), '')" in agg
    assert "`Res_Title`" in translate('SELECT "Res_Title" FROM rr.resource', PHYSICAL), \
        "delimited identifiers never become string literals in SQLite"


def test_common_tables_and_subqueries_are_computed_once() -> None:
    """Without MATERIALIZED and OFFSET 0, SQLite copies a common table expression or a
    subquery in FROM into its user: levels of `x || x` became an expression of 2**levels
    nodes (22 levels: 2.5 GB before the query ran)."""
    sql = translate("WITH a AS (SELECT TOP 1 ivoid AS x FROM rr.resource), "
                    "b AS (SELECT x || x AS x FROM a) SELECT y FROM "
                    "(SELECT x || x AS y FROM (SELECT TOP 3 x FROM b) AS c) AS d", PHYSICAL)
    assert sql == ("WITH `a` AS MATERIALIZED (SELECT `ivoid` AS `x` FROM `rr_resource` AS "
                   "`resource` LIMIT 1), `b` AS MATERIALIZED (SELECT `x` || `x` AS `x` FROM "
                   "`a`) SELECT `y` FROM (SELECT `x` || `x` AS `y` FROM (SELECT `x` FROM `b` "
                   "LIMIT 3 OFFSET 0) AS `c` LIMIT -1 OFFSET 0) AS `d`")
    union = translate("SELECT n FROM (SELECT 1 AS n FROM rr.resource UNION "
                      "SELECT 2 AS n FROM rr.resource) AS u", PHYSICAL)
    assert union.endswith("LIMIT -1 OFFSET 0) AS `u`")


def test_hasword_pretest_stays_small() -> None:
    # (`1 = ivo_hasword(...)` is a look-up in the word index: test_words.py.)
    column = translate("SELECT ivoid FROM rr.resource WHERE ivo_hasword(res_description, "
                       f"'a b c d e {'f' * 65}') > 0", PHYSICAL)
    assert column.count("INSTR(") == 4 and "f" * 65 not in column.split("THEN")[0]
    expression = translate("SELECT ivoid FROM rr.resource WHERE 1 = ivo_hasword("
                           "res_title || res_description, 'a b')", PHYSICAL)
    assert "INSTR" not in expression, "no copies of an expression per word"


def test_functions_and_operators(index: RegTAPIndex) -> None:
    def one(query: str) -> Any:
        return rows(index, query)[0][0]

    assert one("SELECT ivo_hasword('Gamma-ray bursts, quasars', 'RAY') FROM rr.resource") == 1
    assert one("SELECT ivo_hasword('Gamma-ray bursts', 'burst') FROM rr.resource") == 0
    assert one("SELECT ivo_hasword('Étoiles doubles', 'étoiles') FROM rr.resource") == 1
    assert one("SELECT ivo_nocasematch('Example TAP', '%tap') FROM rr.resource") == 1
    assert one("SELECT ivo_nocasematch(NULL, '%') FROM rr.resource") == 0
    assert one("SELECT ivo_hashlist_has('optical#infrared', 'Infrared') FROM rr.resource") == 1
    assert one("SELECT ivo_hashlist_has('optical#infrared', 'red') FROM rr.resource") == 0
    assert one("SELECT ivo_interval_overlaps(1, 2, 2, 3) FROM rr.resource") == 1
    assert one("SELECT COUNT(*) FROM rr.resource WHERE res_title LIKE 'example%'") == 0, \
        "LIKE is case-sensitive"
    assert one("SELECT COUNT(*) FROM rr.resource WHERE res_title ILIKE 'example%'") == 6
    assert one("SELECT COUNT(*) FROM rr.resource WHERE res_title NOT ILIKE 'example%'") == 1
    assert one("SELECT COUNT(*) FROM rr.res_role WHERE role_name ILIKE 'ÉXAMPLE%'") == 0
    assert one("SELECT MOD(7.5, 2) FROM rr.resource") == pytest.approx(1.5)
    assert one("SELECT TRUNCATE(2.789, 2) FROM rr.resource") == pytest.approx(2.78)
    assert one("SELECT LOG10(1000) + LOG(EXP(2)) FROM rr.resource") == pytest.approx(5)
    assert one("SELECT ivo_string_agg(res_subject, ',') FROM rr.res_subject "
               "WHERE ivoid = 'ivo://nowhere'") == "", "an empty aggregate is ''"


