"""Compute engines: where job containers run. One interface, chosen by name in one place."""

from __future__ import annotations

from innerspace.config import ENGINE_NAMES, Settings
from innerspace.engines.base import Engine
from innerspace.engines.docker import DockerEngine
from innerspace.engines.swarm import SwarmEngine


def create_engine(settings: Settings) -> Engine:
    """The engine the settings name; an unknown name fails loudly at start-up."""
    if settings.engine == "docker":
        return DockerEngine.from_settings(settings)
    if settings.engine == "swarm":
        return SwarmEngine.from_settings(settings)
    raise ValueError(f"unknown engine {settings.engine!r}; known: {', '.join(ENGINE_NAMES)}")
