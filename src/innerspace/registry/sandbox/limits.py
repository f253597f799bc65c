"""What one RegTAP query may take, as its worker process needs it: plain values, sent to the
worker when it starts (the registry settings are their source: `RegTAPIndex` makes them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class QueryLimits:
    """The registry settings of the same names (see config.settings.RegistryLimits)."""

    query_timeout: float = 10.0
    max_result_bytes: int = 8 * 1024**2
    max_string_length: int = 256 * 1024
    max_columns: int = 64
    max_like_pattern: int = 200
    max_function_args: int = 16
    max_compound_selects: int = 20
    max_expression_depth: int = 200
    query_memory: int = 8 * 1024**2
    query_process_memory: int = 256 * 1024**2
    query_temp_size: int = 256 * 1024**2

    def as_message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> QueryLimits:
        return cls(**message)
