"""How the harvester talks to another registry over HTTP. The other registry is someone
else's server, so every answer it gives is bounded:

- one harvest has one deadline (`harvest_timeout`): every request's time-outs are cut to
  what is left of it, and a body that trickles in is abandoned once it has passed;
- each answer is read as a stream and abandoned past `max_harvest_response` bytes, all the
  answers of a harvest past `max_harvest_bytes`; bodies come uncompressed (a small gzip
  body could unpack to gigabytes before any count saw it);
- redirects are followed only within the endpoint's own scheme, host and port, a few times;
- OAI-PMH flow control (503 with Retry-After) is honoured a few times, within the deadline;
- errors name the status or the problem, never the peer's words: the text of an answer
  never reaches a message (they go to operators' logs and API clients unchecked).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from innerspace.config import RegistryLimits
from innerspace.registry.errors import HarvestError

log = logging.getLogger("innerspace.registry")

USER_AGENT = "innerspace-harvester"
MAX_REDIRECTS = 5
# Seconds one request may wait for the peer at a time (to connect, or between two pieces
# of its answer), at most what is left of the deadline. A peer that falls silent holds a
# harvest at most this long past its deadline: httpx cannot shorten a read under way.
REQUEST_TIMEOUT = 30.0
DEFAULT_RETRY_WAIT = 10.0  # seconds, when a 503 names no (usable) Retry-After


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one filled in) of a URL."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


class PeerClient:
    """The GET requests of one harvest of one OAI-PMH endpoint, within `limits`."""

    def __init__(self, endpoint: str, client: httpx.Client, limits: RegistryLimits, *,
                 retries: int = 3, max_retry_wait: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint
        self.client = client
        self.limits = limits
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep
        self.deadline = time.monotonic() + limits.harvest_timeout
        self.received = 0  # bytes of every answer so far

    def remaining(self) -> float:
        """Seconds left of the harvest's deadline; a HarvestError once it has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise HarvestError(f"{self.endpoint}: the harvest took longer than the limit of "
                               f"{self.limits.harvest_timeout:g} s")
        return left

    def get(self, params: dict[str, str]) -> bytes:
        """The body of one 200 answer to GET endpoint?params."""
        for attempt in range(self.retries + 1):
            status, body, retry_after = self._fetch(params)
            if status == 200:
                return body
            if status == 503 and attempt < self.retries:
                wait = float(retry_after) if retry_after.strip().isdigit() else \
                    DEFAULT_RETRY_WAIT
                if wait <= min(self.max_retry_wait, self.remaining()):
                    log.info("%s asks to retry in %g s", self.endpoint, wait)
                    self.sleep(wait)
                    continue
            raise HarvestError(f"the OAI-PMH endpoint {self.endpoint} answered HTTP {status}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        """(status, body of a 200 answer, Retry-After), following same-origin redirects."""
        url = httpx.URL(self.endpoint).copy_merge_params(params)
        home = origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            timeout = httpx.Timeout(min(REQUEST_TIMEOUT, self.remaining()))
            try:
                with self.client.stream("GET", url, timeout=timeout, follow_redirects=False,
                                        headers={"Accept-Encoding": "identity"}) as response:
                    if response.is_redirect:
                        url = self._redirect(response, home)
                        continue
                    if response.status_code != 200:
                        return response.status_code, b"", response.headers.get(
                            "retry-after", "")
                    return 200, self._read(response), ""
            except httpx.HTTPError as exc:
                if time.monotonic() >= self.deadline:
                    self.remaining()  # raises: the deadline, not the time-out, is the news
                raise HarvestError(f"cannot reach the OAI-PMH endpoint {self.endpoint}: "
                                   f"{exc.__class__.__name__}") from exc
        raise HarvestError(f"{self.endpoint} redirected more than {MAX_REDIRECTS} times")

    def _redirect(self, response: httpx.Response, home: tuple[str, str, int | None]
                  ) -> httpx.URL:
        location = response.headers.get("location", "")
        target = response.url.join(location)
        if not location or origin(target) != home:
            raise HarvestError(f"{self.endpoint} redirected to another host, scheme or port; "
                               "a harvest follows redirects only within its endpoint's "
                               "origin")
        return target

    def _read(self, response: httpx.Response) -> bytes:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise HarvestError(f"{self.endpoint} answered compressed ({encoding}) although "
                               "asked for an uncompressed answer")
        per_answer = self.limits.max_harvest_response
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # identity: the bytes as they came
            size += len(chunk)
            self.received += len(chunk)
            if size > per_answer:
                raise HarvestError(f"an answer of {self.endpoint} is larger than the limit "
                                   f"of {per_answer} bytes")
            if self.received > self.limits.max_harvest_bytes:
                raise HarvestError(f"the answers of {self.endpoint} are larger than the "
                                   f"limit of {self.limits.max_harvest_bytes} bytes for one "
                                   "harvest")
            self.remaining()
            chunks.append(chunk)
        return b"".join(chunks)


def harvest_client() -> httpx.Client:
    """An HTTP client for harvests: redirects are followed by PeerClient, checked."""
    return httpx.Client(follow_redirects=False, headers={"User-Agent": USER_AGENT})
