"""A job's results as one zip, streamed: the archive is written into a sink that the
response drains after every chunk, so memory holds one chunk whatever the results' size
(which the result quota already bounds). zipfile writes to an unseekable sink with data
descriptors, as streaming needs."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

CHUNK = 256 * 1024


class _Sink:
    """An unseekable file that keeps what is written until `drain`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_stream(files: Iterable[tuple[str, Path]]) -> Iterator[bytes]:
    """The zip of `files` (name in the archive, path), chunk by chunk. Files that vanish
    meanwhile are left out."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=6) as archive:
        for name, path in files:
            try:
                source = path.open("rb")
            except OSError:
                continue
            with source, archive.open(name, "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    yield sink.drain()
