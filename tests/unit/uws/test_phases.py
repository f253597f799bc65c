"""The UWS phase machine: which moves are legal, what an illegal one says, and which
phases are final or active."""

from __future__ import annotations

import pytest

from innerspace.uws.errors import PhaseConflict
from innerspace.uws.phases import FINAL, Phase, check_transition

LEGAL = [
    (Phase.PENDING, Phase.QUEUED),
    (Phase.PENDING, Phase.ABORTED),
    (Phase.PENDING, Phase.ERROR),
    (Phase.HELD, Phase.QUEUED),
    (Phase.HELD, Phase.ABORTED),
    (Phase.QUEUED, Phase.EXECUTING),
    (Phase.QUEUED, Phase.ABORTED),
    (Phase.QUEUED, Phase.ERROR),
    (Phase.EXECUTING, Phase.COMPLETED),
    (Phase.EXECUTING, Phase.ERROR),
    (Phase.EXECUTING, Phase.ABORTED),
    (Phase.SUSPENDED, Phase.EXECUTING),
    (Phase.SUSPENDED, Phase.ABORTED),
    (Phase.SUSPENDED, Phase.ERROR),
]


def allowed(current: Phase, target: Phase) -> bool:
    try:
        check_transition(current, target)
    except PhaseConflict:
        return False
    return True


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_transitions(current: Phase, target: Phase) -> None:
    assert allowed(current, target)


def test_no_other_move_is_legal() -> None:
    every = {(current, target) for current in Phase for target in Phase}
    assert {move for move in every if allowed(*move)} == set(LEGAL)


@pytest.mark.parametrize(("current", "target"), [
    (Phase.PENDING, Phase.EXECUTING),
    (Phase.PENDING, Phase.COMPLETED),
    (Phase.QUEUED, Phase.COMPLETED),
    (Phase.QUEUED, Phase.PENDING),
    (Phase.EXECUTING, Phase.QUEUED),
    (Phase.EXECUTING, Phase.PENDING),
    (Phase.COMPLETED, Phase.QUEUED),
    (Phase.COMPLETED, Phase.ABORTED),
    (Phase.ERROR, Phase.QUEUED),
    (Phase.ABORTED, Phase.QUEUED),
    (Phase.ARCHIVED, Phase.QUEUED),
    (Phase.UNKNOWN, Phase.QUEUED),
    (Phase.HELD, Phase.EXECUTING),
])
def test_illegal_transitions(current: Phase, target: Phase) -> None:
    with pytest.raises(PhaseConflict) as caught:
        check_transition(current, target)
    assert caught.value.status == 409
    assert caught.value.message == f"a job in phase {current} cannot move to {target}"


@pytest.mark.parametrize("final", sorted(FINAL))
def test_final_phases_never_move(final: Phase) -> None:
    assert final.is_final and not final.is_active
    for target in Phase:
        with pytest.raises(PhaseConflict):
            check_transition(final, target)


def test_active_phases() -> None:
    assert {p for p in Phase if p.is_active} == {Phase.QUEUED, Phase.EXECUTING}
    assert not Phase.PENDING.is_final and not Phase.PENDING.is_active
