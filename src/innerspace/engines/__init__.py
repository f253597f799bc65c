"""Compute engines: where job containers run. One interface, chosen by name in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from innerspace.config import Settings
    from innerspace.engines.base import Engine

ENGINE_NAMES = ("docker", "swarm")


def create_engine(settings: Settings) -> Engine:
    """The engine the settings name; an unknown name fails loudly at start-up."""
    if settings.engine == "docker":
        from innerspace.engines.docker import DockerEngine

        return DockerEngine.from_settings(settings)
    if settings.engine == "swarm":
        from innerspace.engines.swarm import SwarmEngine

        return SwarmEngine.from_settings(settings)
    raise ValueError(f"unknown engine {settings.engine!r}; known: {', '.join(ENGINE_NAMES)}")
