"""A followed Swarm service log that another thread can end: the one place in innerspace
that uses docker-py's private API.

Why: a Swarm service's log stream (`follow=1`) does not end when the service's task does,
so the thread reading it would block for as long as the service exists. docker-py's public
`APIClient.service_logs(follow=True)` gives a generator and keeps the HTTP response to
itself, so nothing can wake that thread. Here the response is opened the way
`service_logs` opens it, kept, and its socket shut down on request, which ends the read at
once (closing the response instead would wait for the reading thread).

Private names used, checked against docker-py 7.2.0 (the pinned version; re-check them when
upgrading it):
- `APIClient._url(pathfmt, *args)`: the versioned URL of an endpoint;
- `APIClient._get(url, **kwargs)`: a GET with the client's timeout and headers;
- `APIClient._raise_for_status(response)`: an HTTP error as docker.errors.APIError/NotFound;
- `APIClient._multiplexed_response_stream_helper(response)`: the payloads of a multiplexed
  (non-TTY) stream, with the socket's read timeout switched off;
- `response.raw._fp.fp.raw` (urllib3 response -> http.client response -> buffered reader ->
  socket.SocketIO) and `SocketIO._sock`: the socket under a streaming response.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import docker
from urllib3.exceptions import ProtocolError


class ServiceLogFollower:
    """Follows the stdout (or stderr) of one Swarm service: `chunks()` in one thread yields
    what the service writes; `shut()`, from any thread, ends that stream (also before it
    opened)."""

    def __init__(self, api: docker.APIClient, service_id: str, stderr: bool = False) -> None:
        self._private: Any = api  # docker-py's private API: see the module's docstring
        self._service_id = service_id
        self._stderr = stderr
        self._lock = threading.Lock()
        self._response: Any = None  # the streaming requests.Response, once opened
        self._shut = False

    def chunks(self) -> Iterator[bytes]:
        """The service's stdout (or stderr) as it comes, until the stream is shut or ends; raises
        docker.errors.NotFound (no such service) or APIError (the engine refused)."""
        api = self._private
        with self._lock:
            if self._shut:  # shut before it began: never open it
                return
        url = api._url("/services/{0}/logs", self._service_id)
        params = {"follow": 1, "stdout": int(not self._stderr), "stderr": int(self._stderr),
                  "tail": "all"}
        response = api._get(url, params=params, stream=True)
        with self._lock:
            self._response = response
            shut = self._shut
        if shut:  # shut while the request was on its way: end before reading
            _shut_down(response)
            return
        api._raise_for_status(response)
        try:
            yield from api._multiplexed_response_stream_helper(response)
        except (ProtocolError, OSError):
            return  # the stream was shut down

    def shut(self) -> None:
        """End the stream now: wakes the thread reading it. Safe from any thread."""
        with self._lock:
            self._shut = True
            response = self._response
        if response is not None:
            _shut_down(response)


def _shut_down(response: Any) -> None:
    """Shut the socket under a streaming response down, from any thread."""
    with contextlib.suppress(AttributeError, OSError):
        stream = response.raw._fp.fp.raw  # a socket.SocketIO over the engine's socket
        getattr(stream, "_sock", stream).shutdown(socket.SHUT_RDWR)
