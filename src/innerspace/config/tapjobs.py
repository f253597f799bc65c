"""What the asynchronous queries of the registry's TAP service (`[tap_jobs]`, the UWS job
list at /registry/tap/async) may keep and take: anyone may create them, so each owner keeps a
bounded number, their results are bounded, they go after a short time, and only so many run
at once, each in one of the query workers that synchronous queries use too."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from innerspace.units import parse_memory


class TAPJobs(BaseModel):
    """Limits of the RegTAP service's asynchronous jobs."""

    model_config = ConfigDict(extra="forbid")

    max_per_owner: int = Field(
        100, ge=1,
        description="TAP jobs one owner keeps at once, whatever their phase (anonymous "
                    "callers share one count); more are refused (409) until some are deleted "
                    "or destroyed")
    default_destruction: int = Field(
        86400, ge=60, description="seconds from a TAP job's creation to its destruction")
    max_destruction: int = Field(
        7 * 86400, ge=60,
        description="seconds from creation a TAP job may at most be kept (DESTRUCTION asked "
                    "for later is shortened to it)")
    max_running: int = Field(
        1, ge=1,
        description="TAP jobs whose queries run at once; each takes one of the "
                    "registry.max_concurrent_queries turns, the rest wait QUEUED, so that "
                    "synchronous queries keep a turn when there are more")
    max_result_bytes: int = Field(
        parse_memory("32M"), gt=0,
        description="bytes of a TAP job's result document; a larger one ends the job in "
                    "ERROR (MAXREC and registry.max_result_bytes bound the rows before)")

    @field_validator("max_result_bytes", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return parse_memory(value)

    @model_validator(mode="after")
    def _destructions(self) -> TAPJobs:
        if self.default_destruction > self.max_destruction:
            raise ValueError("tap_jobs.default_destruction is longer than "
                             "tap_jobs.max_destruction")
        return self
