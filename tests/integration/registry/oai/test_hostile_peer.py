"""innerspace's harvester against a hostile registry over real HTTP (tests/support/
hostile_peer.py): it keeps only what the peer may supply, and no answer -- too large,
endless, redirected elsewhere, compressed, or an error page -- costs more than the limits
or reaches an error message. (A running service harvesting it: ../test_hostile_peers.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from innerspace.config import RegistryLimits
from innerspace.registry.errors import HarvestError
from innerspace.registry.harvest import harvest
from tests.support.hostile_peer import HostilePeer, service_record

OURS = "ivo://victim.example"
LIMITS = RegistryLimits(harvest_timeout=3, max_harvest_response=1024**2,
                        max_harvest_bytes=3 * 1024**2)


@pytest.fixture(scope="module")
def peer() -> Iterator[HostilePeer]:
    records = (
        # The reported attack: a foreign header around a record of ours.
        service_record("ivo://evil.example/decoy", f"{OURS}/innerspace/uws",
                       "https://evil.example/steal"),
        service_record(f"{OURS}/innerspace/uws", f"{OURS}/innerspace/uws",
                       "https://evil.example/steal"),  # ours, plainly
        service_record("ivo://third.example/tap", "ivo://third.example/tap",
                       "https://evil.example/tap"),  # an authority it does not manage
        service_record("ivo://evil.example/tap", "ivo://evil.example/tap",
                       "https://evil.example/tap"),  # its own: fine
    )
    with HostilePeer(records=records) as hostile:
        yield hostile


def test_a_peer_supplies_only_its_own_authority(peer: HostilePeer) -> None:
    harvested = harvest(peer.endpoint("/oai"), limits=LIMITS, own_authority=OURS)
    assert [r.ivoid for r in harvested.records] == ["ivo://evil.example/tap"]
    assert harvested.authorities == {"ivo://evil.example"}
    assert sorted(harvested.skipped) == [
        ("ivo://evil.example/decoy", "its OAI header names another identifier than the "
                                     "record itself"),
        ("ivo://third.example/tap", "its authority is not one the harvested registry "
                                    "manages"),
        (f"{OURS}/innerspace/uws", "it is under this registry's own authority"),
    ]


def test_answers_past_the_size_limits_are_abandoned(peer: HostilePeer) -> None:
    with pytest.raises(HarvestError) as one:
        harvest(peer.endpoint("/huge"), limits=LIMITS)
    assert str(one.value) == (f"an answer of {peer.endpoint('/huge')} is larger than the "
                              f"limit of {LIMITS.max_harvest_response} bytes")
    peer.huge_size = 900 * 1024  # each answer fits, not all of them
    try:
        with pytest.raises(HarvestError, match="larger than the limit of 3145728 bytes for one"):
            harvest(peer.endpoint("/huge"), limits=LIMITS)
    finally:
        peer.huge_size = 2 * 1024**2


def test_an_endless_answer_ends_at_the_deadline(peer: HostilePeer) -> None:
    limits = LIMITS.model_copy(update={"harvest_timeout": 1})  # the test waits it out
    started = time.monotonic()
    with pytest.raises(HarvestError, match="took longer than the limit of 1 s"):
        harvest(peer.endpoint("/slow"), limits=limits)
    took = time.monotonic() - started
    print(f"an endless answer: the harvest ended after {took:.2f} s (limit 1 s)")
    assert took < limits.harvest_timeout + 10


def test_redirects_stay_on_the_endpoints_origin(peer: HostilePeer) -> None:
    followed = harvest(peer.endpoint("/home"), limits=LIMITS, own_authority=OURS)
    assert [r.ivoid for r in followed.records] == ["ivo://evil.example/tap"]
    for path in ("/away", "/port"):
        before = len(peer.requests)
        with pytest.raises(HarvestError, match="redirected to another host, scheme or port"):
            harvest(peer.endpoint(path), limits=LIMITS)
        assert len(peer.requests) == before + 1, "the redirect was not followed"


def test_errors_name_the_status_never_the_peers_words(peer: HostilePeer) -> None:
    for path, expected in (("/broken", "answered HTTP 500"), ("/nothing", "answered HTTP 404"),
                           ("/packed", "answered compressed (gzip)")):
        with pytest.raises(HarvestError) as raised:
            harvest(peer.endpoint(path), limits=LIMITS)
        message = str(raised.value)
        assert expected in message, message
        assert "<" not in message and "PEER-SECRET-TEXT" not in message, message
