"""Operator triggers: the token bucket that rates them, and the dependency that answers 429
with Retry-After (its 429s against a running service: tests/integration/registry/
test_hostile_peers.py)."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from innerspace.config import Auth, RegistryLimits
from innerspace.web import errors
from innerspace.web.triggers import TokenBucket, trigger


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_per_interval() -> None:
    clock = Clock()
    bucket = TokenBucket(10, 2, clock)
    assert [bucket.take(), bucket.take()] == [0, 0]
    assert bucket.take() == 10
    clock.now += 4
    assert bucket.take() == 6
    clock.now += 6
    assert bucket.take() == 0 and bucket.take() == 10
    clock.now += 1000  # tokens do not pile up past the burst
    assert [bucket.take(), bucket.take(), bucket.take() > 0] == [0, 0, True]
    assert TokenBucket(0, 1, clock).take() == 0 and TokenBucket(0, 1, clock).take() == 0


def test_the_dependency_answers_429_with_retry_after() -> None:
    app = FastAPI()
    app.state.settings = SimpleNamespace(
        registry=RegistryLimits(trigger_interval=60, trigger_burst=1), auth=Auth(),
        tokens={}, allow_anonymous=None, anonymous_allowed=True)
    done: list[str] = []

    @app.post("/work", dependencies=[Depends(trigger("work"))])
    async def work() -> dict[str, str]:
        done.append("work")
        return {}

    renderers = errors.ErrorRenderers(default=errors.json_document)
    errors.install(app, renderers)
    client = TestClient(app)
    assert client.post("/work").status_code == 200
    refused = client.post("/work")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert refused.json() == {"error": "too-many-requests", "message":
                              "work was asked for too often: it may run once every 60 s "
                              "(a burst of 1 allowed); try again in 60 s"}
    assert done == ["work"]
