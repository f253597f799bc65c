"""The closable Swarm service log stream (engines/docker_streams.py) over a socket pair
standing in for the Docker engine: another thread can shut it while its reader blocks, and
a stream shut before it opened never opens."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from innerspace.engines.docker_streams import ServiceLogFollower


class FakeStreamingAPI:
    """docker-py's private calls, over one end of a socket pair (the engine's socket)."""

    def __init__(self, engine_side: socket.socket) -> None:
        self.engine_side = engine_side
        self.requested: list[str] = []

    def _url(self, pathfmt: str, *args: str) -> str:
        return pathfmt.format(*args)

    def _get(self, url: str, **kwargs: Any) -> Any:
        self.requested.append(url)
        raw = self.engine_side.makefile("rb")  # BufferedReader over a SocketIO
        return SimpleNamespace(raw=SimpleNamespace(_fp=SimpleNamespace(fp=raw)))

    def _raise_for_status(self, response: Any) -> None:
        pass

    def _multiplexed_response_stream_helper(self, response: Any) -> Iterator[bytes]:
        while data := response.raw._fp.fp.read1(1024):
            yield data


def test_a_followed_service_log_can_be_shut_from_another_thread() -> None:
    ours, theirs = socket.socketpair()
    api = FakeStreamingAPI(ours)
    follower = ServiceLogFollower(api, "svc1")  # type: ignore[arg-type]
    theirs.sendall(b"hello\n")
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.extend(follower.chunks()))
    reader.start()
    threading.Event().wait(0.2)  # the reader now blocks: the peer never closes
    assert reader.is_alive()
    follower.shut()
    reader.join(5)
    assert not reader.is_alive(), "shutting the stream wakes its reader"
    assert received == [b"hello\n"]
    assert api.requested == ["/services/svc1/logs"]
    theirs.close()
    ours.close()


def test_a_stream_shut_before_it_opened_never_opens() -> None:
    api = FakeStreamingAPI(socket.socketpair()[0])
    follower = ServiceLogFollower(api, "svc1")  # type: ignore[arg-type]
    follower.shut()
    assert list(follower.chunks()) == []
    assert api.requested == []
