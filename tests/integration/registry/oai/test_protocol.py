"""OAI-PMH errors: every reachable error code, with the request element as OAI-PMH wants
it; tampered, foreign and expired resumption tokens; and fuzzed arguments that always give
schema-valid answers."""

from __future__ import annotations

import random

import httpx
import pytest
from sickle import oaiexceptions

from innerspace.registry.oai import respond
from innerspace.registry.records import MANAGED_SET
from tests.support.oai_live import (
    OAI,
    REACHABLE_CODES,
    REPOSITORY,
    Live,
    error_codes,
    first_token,
    oai_get,
    sickle_for,
)
from tests.support.oai_samples import APPS_SET, AUTHORITY, REGISTRY_IVOID, OAISchemas

# -- errors ------------------------------------------------------------------------------------

ERROR_CASES: list[tuple[str, list[tuple[str, str]], list[str]]] = [
    ("no verb", [], ["badVerb"]),
    ("unknown verb", [("verb", "Harvest")], ["badVerb"]),
    ("verb in the wrong case", [("verb", "identify")], ["badVerb"]),
    ("repeated verb", [("verb", "Identify"), ("verb", "Identify")], ["badVerb"]),
    ("only other arguments", [("metadataPrefix", "ivo_vor")], ["badVerb"]),
    ("argument Identify lacks", [("verb", "Identify"), ("set", "ivo_managed")],
     ["badArgument"]),
    ("unknown argument", [("verb", "ListSets"), ("foo", "bar")], ["badArgument"]),
    ("empty unknown argument", [("verb", "Identify"), ("x", "")], ["badArgument"]),
    ("no metadataPrefix", [("verb", "ListRecords")], ["badArgument"]),
    ("no identifier", [("verb", "GetRecord"), ("metadataPrefix", "ivo_vor")],
     ["badArgument"]),
    ("GetRecord without anything", [("verb", "GetRecord")], ["badArgument", "badArgument"]),
    ("repeated metadataPrefix", [("verb", "ListIdentifiers"), ("metadataPrefix", "ivo_vor"),
                                 ("metadataPrefix", "oai_dc")], ["badArgument"]),
    ("illegal from", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                      ("from", "yesterday")], ["badArgument"]),
    ("impossible date", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                         ("from", "2024-02-30")], ["badArgument"]),
    ("fractional seconds", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                            ("from", "2024-01-01T00:00:00.5Z")], ["badArgument"]),
    ("time zone offset", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                          ("until", "2024-01-01T00:00:00+01:00")], ["badArgument"]),
    ("mixed granularities", [("verb", "ListIdentifiers"), ("metadataPrefix", "ivo_vor"),
                             ("from", "2023-01-01"), ("until", "2024-01-01T00:00:00Z")],
     ["badArgument"]),
    ("from after until", [("verb", "ListIdentifiers"), ("metadataPrefix", "ivo_vor"),
                          ("from", "2024-01-02"), ("until", "2024-01-01")], ["badArgument"]),
    ("token with other arguments", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                                    ("resumptionToken", "abc")], ["badArgument"]),
    ("illegal metadataPrefix syntax", [("verb", "ListRecords"), ("metadataPrefix", "ivo vor")],
     ["badArgument"]),
    ("illegal set syntax", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                            ("set", "a b")], ["badArgument"]),
    ("identifier not a URI", [("verb", "GetRecord"), ("metadataPrefix", "ivo_vor"),
                              ("identifier", "no uri")], ["badArgument"]),
    ("unknown format", [("verb", "ListRecords"), ("metadataPrefix", "marc21")],
     ["cannotDisseminateFormat"]),
    ("unknown format for identifiers", [("verb", "ListIdentifiers"),
                                        ("metadataPrefix", "mods")],
     ["cannotDisseminateFormat"]),
    ("unknown format for a record", [("verb", "GetRecord"), ("metadataPrefix", "marc21"),
                                     ("identifier", REGISTRY_IVOID)],
     ["cannotDisseminateFormat"]),
    ("unknown record", [("verb", "GetRecord"), ("metadataPrefix", "ivo_vor"),
                        ("identifier", "ivo://nowhere.example/x")], ["idDoesNotExist"]),
    ("unknown record and format", [("verb", "GetRecord"), ("metadataPrefix", "marc"),
                                   ("identifier", "ivo://nowhere.example/x")],
     ["idDoesNotExist", "cannotDisseminateFormat"]),
    ("formats of an unknown record", [("verb", "ListMetadataFormats"),
                                      ("identifier", "ivo://nowhere.example/x")],
     ["idDoesNotExist"]),
    ("nothing that late", [("verb", "ListRecords"), ("metadataPrefix", "ivo_vor"),
                           ("from", "2100-01-01")], ["noRecordsMatch"]),
    ("nothing that early", [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"),
                            ("until", "2000-01-01T00:00:00Z")], ["noRecordsMatch"]),
    ("unknown set", [("verb", "ListIdentifiers"), ("metadataPrefix", "ivo_vor"),
                     ("set", "nosuchset")], ["noRecordsMatch"]),
    ("garbage token", [("verb", "ListRecords"), ("resumptionToken", "garbage")],
     ["badResumptionToken"]),
    ("token-shaped garbage", [("verb", "ListIdentifiers"),
                              ("resumptionToken", "e30.0123456789abcdef")],
     ["badResumptionToken"]),
    ("token for ListSets", [("verb", "ListSets"), ("resumptionToken", "x")],
     ["badResumptionToken"]),
]


@pytest.mark.parametrize(("params", "codes"), [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_error_codes(live: Live, schemas: OAISchemas, http: httpx.Client,
                     params: list[tuple[str, str]], codes: list[str]) -> None:
    root = oai_get(http, live, schemas, params)
    assert error_codes(root) == codes
    assert all(e.text for e in root.findall(f"{OAI}error"))  # each says what is wrong
    request = root.find(f"{OAI}request")
    assert request.text == live.endpoint
    if codes[0] in ("badVerb", "badArgument"):
        assert dict(request.attrib) == {}  # OAI-PMH 3.2: no attributes for these
    else:
        assert dict(request.attrib) == dict(params)
    assert not [c for c in root if c.tag not in (f"{OAI}responseDate", f"{OAI}request",
                                                 f"{OAI}error")]


def test_error_cases_cover_every_reachable_code() -> None:
    covered = {code for _, _, codes in ERROR_CASES for code in codes}
    # noMetadataFormats cannot happen (every record has both formats) and noSetHierarchy
    # neither (sets are supported).
    assert covered == REACHABLE_CODES


def test_sickle_raises_the_oai_errors(live: Live) -> None:
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        list(sickle_for(live).ListRecords(metadataPrefix="ivo_vor", **{"from": "2100-01-01"}))
    with pytest.raises(oaiexceptions.CannotDisseminateFormat):
        list(sickle_for(live).ListRecords(metadataPrefix="marc21"))
    with pytest.raises(oaiexceptions.BadResumptionToken):
        list(sickle_for(live).ListRecords(resumptionToken="bogus"))
    with pytest.raises(oaiexceptions.IdDoesNotExist):
        sickle_for(live).GetRecord(identifier="ivo://nowhere.example/x", metadataPrefix="oai_dc")


def test_bad_resumption_tokens(live: Live, schemas: OAISchemas, http: httpx.Client) -> None:
    token = first_token(http, live, schemas, "ListRecords")
    good = oai_get(http, live, schemas, {"verb": "ListRecords", "resumptionToken": token})
    assert len(good.findall(f"{OAI}ListRecords/{OAI}record")) == 100
    assert dict(good.find(f"{OAI}request").attrib) == {"verb": "ListRecords",
                                                        "resumptionToken": token}
    tampered = [token[:5] + ("A" if token[5] != "A" else "B") + token[6:],
                token[:-1] + ("0" if token[-1] != "0" else "1"),
                token.replace(".", ""), token + "x", token.split(".")[0]]
    for bad in tampered:
        root = oai_get(http, live, schemas, {"verb": "ListRecords", "resumptionToken": bad})
        assert error_codes(root) == ["badResumptionToken"], bad
        assert dict(root.find(f"{OAI}request").attrib) == {"verb": "ListRecords",
                                                            "resumptionToken": bad}
    # A token belongs to its verb.
    root = oai_get(http, live, schemas, {"verb": "ListIdentifiers", "resumptionToken": token})
    assert error_codes(root) == ["badResumptionToken"]
    assert "ListRecords" in root.findtext(f"{OAI}error")


FUZZ_VALID = {"identifier": [REGISTRY_IVOID, AUTHORITY, "ivo://nowhere.example/x"],
              "metadataPrefix": ["ivo_vor", "oai_dc", "marc21"],
              "from": ["2023-01-20", "2023-01-20T10:00:00Z", "2100-01-01"],
              "until": ["2023-02-01", "2023-02-01T00:00:00Z", "2000-01-01"],
              "set": [MANAGED_SET, APPS_SET, "innerspace", "nosuchset"],
              "resumptionToken": ["e30.0123456789abcdef"], "foo": ["bar"]}
FUZZ_JUNK = [*"aZ09:/#%[]<>&\"' -_.!~*()?=+", "%zz", "%2", "\u00e9", "\u2028", "\ufeff",
             "\U0001f600", "\x00", "\x0b", "\ud800", "\ufffe", "T", "Z", "-"]
VERBS = ["Identify", "ListMetadataFormats", "ListSets", "GetRecord", "ListIdentifiers",
         "ListRecords"]
VERB_ARGUMENTS = {"Identify": [], "ListMetadataFormats": ["identifier"],
                  "ListSets": ["resumptionToken"], "GetRecord": ["identifier", "metadataPrefix"],
                  "ListIdentifiers": ["metadataPrefix", "from", "until", "set"],
                  "ListRecords": ["metadataPrefix", "from", "until", "set"]}


def fuzz_value(rng: random.Random, name: str) -> str:
    if rng.random() < 0.7:
        return rng.choice(FUZZ_VALID[name])
    return "".join(rng.choice(FUZZ_JUNK) for _ in range(rng.randint(0, 12)))


def test_fuzzed_arguments_always_give_valid_documents(live: Live, schemas: OAISchemas) -> None:
    rng = random.Random(20260501)
    outcomes: dict[str, int] = {}
    for _ in range(400):
        verb = rng.choice([*VERBS, "Nope"]) if rng.random() < 0.9 else fuzz_value(rng, "foo")
        names = list(VERB_ARGUMENTS.get(verb, []))
        if names and verb.startswith("List") and rng.random() < 0.5:
            names = [names[0], *rng.sample(names[1:], rng.randint(0, len(names) - 1))]
        if rng.random() < 0.2:
            names = [] if rng.random() < 0.5 else [*names, rng.choice(list(FUZZ_VALID))]
        arguments = {"verb": [verb]}
        for name in names:
            arguments[name] = [fuzz_value(rng, name)
                               for _ in range(1 if rng.random() < 0.9 else 2)]
        root = schemas.validate(respond(arguments, live.records, REPOSITORY))
        answer = root[2].tag.removeprefix(OAI)
        assert answer in [*VERBS, "error"]
        for code in error_codes(root) or [answer]:
            outcomes[code] = outcomes.get(code, 0) + 1
    # The fuzzing reaches every verb's answer and every reachable error.
    assert outcomes.keys() == set(VERBS) | REACHABLE_CODES, outcomes


