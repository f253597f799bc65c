"""Parsing of human-friendly quantities used in manifests and settings."""

from __future__ import annotations

import re

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_memory(value: str | int | float) -> int:
    """Bytes from `512M`, `2G`, `1.5GiB` or a plain number of bytes (binary multiples)."""
    if isinstance(value, bool):
        raise ValueError(f"not a memory size: {value!r}")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"memory size must be positive, got {value}")
        return int(value)
    match = _MEMORY.match(str(value))
    if not match:
        raise ValueError(f"not a memory size: {value!r} (use e.g. 512M or 2G)")
    number, unit, _ = match.groups()
    size = int(float(number) * _FACTORS[unit.lower()])
    if size <= 0:
        raise ValueError(f"memory size must be positive, got {value!r}")
    return size


def format_memory(size: int) -> str:
    """The shortest exact binary-multiple spelling of `size` bytes."""
    for unit in ("T", "G", "M", "K"):
        factor = _FACTORS[unit.lower()]
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
