"""Memory sizes as settings and manifests write them: parsed into bytes, refused when they
are nonsense, zero or negative, and written back in the largest whole unit."""

from __future__ import annotations

import pytest

from innerspace.units import format_memory, parse_memory

GiB = 1024**3
MiB = 1024**2


@pytest.mark.parametrize(("text", "size"), [
    ("512M", 512 * MiB), ("2G", 2 * GiB), ("2g", 2 * GiB), ("1.5GiB", 3 * GiB // 2),
    ("64MB", 64 * MiB), ("1T", 1024 * GiB), ("100k", 102400), ("4096", 4096),
    (" 8 M ", 8 * MiB), (1024, 1024), (2.0, 2),
])
def test_parse_memory(text: str | int | float, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["12 parsecs", "", "M", "1.2.3G", "-1G", "1e3", "2X"])
def test_parse_memory_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="not a memory size"):
        parse_memory(text)


@pytest.mark.parametrize("value", [0, -5, "0", "0G"])
def test_parse_memory_refuses_zero_and_negative(value: str | int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        parse_memory(value)


def test_parse_memory_refuses_booleans() -> None:
    with pytest.raises(ValueError, match="not a memory size"):
        parse_memory(True)


@pytest.mark.parametrize(("size", "text"), [
    (GiB, "1G"), (4 * GiB, "4G"), (1536 * MiB, "1536M"), (128 * MiB, "128M"),
    (1024 * GiB, "1T"), (3 * 1024, "3K"), (1000, "1000"),
])
def test_format_memory(size: int, text: str) -> None:
    assert format_memory(size) == text
    assert parse_memory(text) == size
