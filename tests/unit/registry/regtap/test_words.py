"""The word index: `1=ivo_hasword(column, 'words')` over a title or description is a look-up
in it, with exactly the rows of the Python ivo_hasword (punctuation, hyphens, Unicode,
quotes, words that are operators elsewhere); it follows every upsert and delete; ADQL cannot
name it; and every other use of ivo_hasword keeps its meaning."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest

from innerspace.registry.records import Record
from innerspace.registry.regtap import RegTAPIndex
from innerspace.registry.regtap.adql import ADQLError, translate
from innerspace.registry.regtap.schema import PHYSICAL
from innerspace.registry.regtap.words import TABLE
from innerspace.registry.sandbox.functions import ivo_hasword, words

NS = ('xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
      'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" '
      'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')

TEXTS = [
    "Gamma-ray bursts and quasars (GRB) at z>6", "The AND/OR NOT-NEAR survey: \"quoted\" *",
    "Étoiles doubles, naïve Straße; STRASSE", "Kelvin sign \u212a and K and k", "İstanbul i̇",
    "snake_case words_with_under scores 2MASS 2mass", "ǅemal ǆ ǈ", "über-Über ÜBER",
    "x-ray X_RAY x ray", "e\u0301 e é", "{braces} : colon ^caret NEAR(a b) 'single' ''",
    "数据 星系 galaxy", "½ ² ³ 10² H₂O", "", "    ", "-- ; DROP TABLE rr_resource",
    "ΣΊΣΥΦΟΣ σίσυφος Σίσυφος", "ﬁne ﬂow fine", "Ⅻ roman xii", "a" * 200 + " b",
]
NEEDLES = [
    "quasars", "QUASARS", "gamma-ray", "gamma ray", "ray", "grb", "z", "6", "AND", "and or",
    "NOT", "NEAR", "near a b", '"quoted"', "quoted", "*", "étoiles", "ÉTOILES", "etoiles",
    "naïve", "straße", "strasse", "k", "\u212a", "kelvin", "i̇stanbul", "istanbul", "i",
    "snake", "snake_case", "case", "under", "2mass", "ǆemal", "ǅ", "ǉ", "über", "x-ray",
    "x_ray", "e", "é", "\u0301", "braces", "colon", ":", "caret", "^", "single", "'single'",
    "数据", "星系 galaxy", "½", "2", "10²", "h₂o", "", " ", "-", "drop table", "rr_resource",
    "σίσυφος", "ΣΊΣΥΦΟΣ", "σισυφοσ", "fine", "ﬁne", "flow", "xii", "Ⅻ", "ⅻ", "a" * 200, "b",
    "gamma-ray quasars", "ray bursts x",
]


def _record(number: int, title: str, description: str) -> Record:
    ivoid = f"ivo://words.example/r{number}"
    xml = (f'<ri:Resource {NS} xsi:type="vs:CatalogService" created="2020-01-01T00:00:00Z" '
           f'updated="2020-01-01T00:00:00Z" status="active"><title>{escape(title)}</title>'
           f"<identifier>{ivoid}</identifier><curation><publisher>P</publisher><contact>"
           f"<name>C</name></contact></curation><content><subject>s</subject><description>"
           f"{escape(description)}</description><referenceURL>https://words.example/"
           f"</referenceURL></content></ri:Resource>")
    return Record(ivoid, xml.encode(), datetime(2020, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def index() -> RegTAPIndex:
    index = RegTAPIndex()
    records = [_record(n, TEXTS[(n * 7) % len(TEXTS)] + " title", text)
               for n, text in enumerate(TEXTS)]
    assert index.load(records).loaded == len(TEXTS)
    return index


def _ivoids(index: RegTAPIndex, where: str, looked_up: bool) -> list[str]:
    result = index.query(f"SELECT ivoid FROM rr.resource WHERE {where} ORDER BY ivoid")
    assert (TABLE in result.sql) == looked_up, result.sql
    return [ivoid for (ivoid,) in result.rows]


@pytest.mark.parametrize("column", ["res_description", "res_title"])
def test_the_look_up_finds_exactly_the_rows_of_ivo_hasword(index: RegTAPIndex,
                                                             column: str) -> None:
    texts = dict(index.query(f"SELECT ivoid, {column} FROM rr.resource").rows)
    for needle in NEEDLES:
        literal = needle.replace("'", "''")
        expected = sorted(i for i, text in texts.items() if ivo_hasword(text, needle))
        looked_up = bool(words(needle))
        assert _ivoids(index, f"1 = ivo_hasword({column}, '{literal}')", looked_up) \
            == expected, needle
        assert _ivoids(index, f"ivo_hasword(resource.{column}, '{literal}') = 1",
                       looked_up) == expected, needle
        assert _ivoids(index, f"ivo_hasword({column}, '{literal}') > 0", False) \
            == expected, needle


def test_every_context_keeps_its_value(index: RegTAPIndex) -> None:
    """In the select list, under NOT, in OR: 0 or 1 as ivo_hasword gives, never NULL."""
    plain = index.query("SELECT ivoid, ivo_hasword(res_description, 'quasars') + 0, "
                        "NOT ivo_hasword(res_title, 'and') > 0 FROM rr.resource "
                        "ORDER BY ivoid").rows
    rewritten = index.query(
        "SELECT r.ivoid, 1 = ivo_hasword(r.res_description, 'quasars') AS a, "
        "NOT 1 = ivo_hasword(res_title, 'and') AS b FROM rr.resource AS r ORDER BY ivoid")
    assert TABLE in rewritten.sql and rewritten.rows == plain
    either = _ivoids(index, "1 = ivo_hasword(res_title, 'x') OR "
                            "1 = ivo_hasword(res_description, 'étoiles')", True)
    assert either == _ivoids(index, "ivo_hasword(res_title, 'x') > 0 OR "
                                    "ivo_hasword(res_description, 'étoiles') > 0", False)
    assert len(either) >= 2
    joined = index.query(
        "SELECT DISTINCT s.ivoid FROM rr.res_subject AS s JOIN rr.resource AS r "
        "ON r.ivoid = s.ivoid WHERE 1 = ivo_hasword(r.res_description, 'k') ORDER BY 1")
    assert TABLE in joined.sql and [r[0] for r in joined.rows] == _ivoids(
        index, "ivo_hasword(res_description, 'k') > 0", False)


def test_only_a_sure_column_is_looked_up() -> None:
    """A column of a derived table, an expression, or a column the index does not cover
    keep the Python function."""
    for query in ("SELECT x FROM (SELECT res_title AS res_title, ivoid AS x FROM rr.resource)"
                  " AS d WHERE 1 = ivo_hasword(res_title, 'a')",
                  "SELECT ivoid FROM rr.resource WHERE 1 = ivo_hasword(res_title || "
                  "res_description, 'a')",
                  "SELECT ivoid FROM rr.capability WHERE 1 = ivo_hasword(cap_description, "
                  "'a')",
                  "SELECT ivoid FROM rr.resource WHERE 1 = ivo_hasword(res_title, '--')"):
        assert TABLE not in translate(query, PHYSICAL), query


def test_adql_cannot_name_the_index() -> None:
    for query in (f"SELECT * FROM {TABLE}", f"SELECT * FROM rr.{TABLE}"):
        with pytest.raises(ADQLError, match="unknown table"):
            translate(query, PHYSICAL)


def test_changes_keep_the_index_in_step() -> None:
    index = RegTAPIndex()
    index.load([_record(1, "First light", "Quasars galore"),
                _record(2, "Second", "No such thing")])

    def found(word: str) -> list[str]:
        return _ivoids(index, f"1 = ivo_hasword(res_description, '{word}')", True)

    assert found("quasars") == ["ivo://words.example/r1"]
    index.upsert([_record(1, "First light", "Pulsars only"), _record(3, "Third", "Quasars")])
    assert found("quasars") == ["ivo://words.example/r3"]
    assert found("pulsars") == ["ivo://words.example/r1"]
    index.delete(["ivo://words.example/r3", "ivo://words.example/r2"])
    assert found("quasars") == [] and found("such") == []
    with sqlite3.connect(index.path) as connection:
        stored = sorted(connection.execute(f"SELECT word, field FROM {TABLE}").fetchall())
    assert stored == sorted([(w, 1) for w in words("First light")]
                            + [(w, 2) for w in words("Pulsars only")]), \
        "nothing is left of the records replaced or deleted"
