"""The HTTP/1.1 protocol `innerspace serve` runs: uvicorn's httptools protocol with a bound on
the request head (request line and headers).

httptools buffers a header until it is complete, however long: one request with a 50 MB
header made the service hold some 100 MB. uvicorn's h11 protocol caps it, but serves plain
requests at about 60 % of httptools' rate here. This keeps httptools and counts the bytes a
connection sends while a request head is still incomplete; past `limit` the connection gets
431 and is closed, so the service holds at most the limit plus one read (256 KiB) per
connection.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEAD_LIMIT = 64 * 1024  # bytes; nginx allows 4 x 8 KiB by default


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that answers 431 to a request head longer than `head_limit`."""

    head_limit = DEFAULT_HEAD_LIMIT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bytes received since the current request head began; None while a body is read.
        self._head_bytes: int | None = 0
        self._head_ended = False  # a head or a message ended within the current read

    def data_received(self, data: bytes) -> None:
        self._head_ended = False
        super().data_received(data)
        if self._head_bytes is None or self._head_ended or self.transport.is_closing():
            # A read that ended a head or a message may also hold the start of the next
            # request; the reads after it are counted (at most one read goes uncounted).
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.head_limit:
            self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._head_ended = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_bytes = 0
        self._head_ended = True

    def _refuse_head(self) -> None:
        message = (f"the request line and headers are longer than the limit of "
                   f"{self.head_limit} bytes\n").encode()
        self.logger.warning("refused a request head longer than %d bytes from %s",
                            self.head_limit, self.client)
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(message)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + message)
        self.transport.close()
        self._head_bytes = None


def bounded_protocol(limit: int) -> type[BoundedHttpToolsProtocol]:
    """The protocol class with its head limit set (uvicorn takes a class)."""
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"head_limit": limit})
