"""Settings of an innerspace installation: the service's own (`settings`) and the
description of its data centre (`datacentre`), read from a TOML file and `INNERSPACE_*`
environment variables."""

from innerspace.config.auth import Auth, DevToken
from innerspace.config.datacentre import Contact, DataCentre, InnerApi, PublishedService
from innerspace.config.settings import (
    DEFAULT_BASE_IMAGE,
    ENGINE_NAMES,
    ConfigError,
    Limits,
    RegistryLimits,
    Repository,
    Sandbox,
    Settings,
    Swarm,
    default_data_dir,
    load_settings,
)

__all__ = ["DEFAULT_BASE_IMAGE", "ENGINE_NAMES", "Auth", "ConfigError", "Contact", "DataCentre",
           "DevToken", "InnerApi", "Limits", "PublishedService", "RegistryLimits", "Repository",
           "Sandbox", "Settings", "Swarm", "default_data_dir", "load_settings"]
