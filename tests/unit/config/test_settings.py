"""Settings: embedded defaults, authentication defaults, the token list, a TOML file, the
environment overriding the file, refused values, and the Swarm engine's settings."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from innerspace.config import (
    DEFAULT_BASE_IMAGE,
    ConfigError,
    Settings,
    default_data_dir,
    load_settings,
)

GiB = 1024**3
MiB = 1024**2


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No INNERSPACE_* variable of the caller leaks in; the data directory is in tmp_path."""
    for name in list(os.environ):
        if name.startswith("INNERSPACE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "innerspace.toml"
    path.write_text(text)
    return path


# -- defaults ------------------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == tmp_path / "xdg" / "innerspace" == default_data_dir()
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path}/xdg/innerspace/innerspace.db"
    assert settings.jobs_dir == settings.data_dir / "jobs"
    assert settings.engine == "docker"
    assert settings.base_image == DEFAULT_BASE_IMAGE
    assert settings.app_image_prefix == "innerspace-app/"
    assert settings.sandbox.user == "10001:10001"
    limits = settings.limits
    assert limits.max_running_jobs == 4
    assert limits.max_cores == 2.0
    assert limits.max_memory == 4 * GiB
    assert limits.tmp_size == 256 * MiB
    assert limits.max_upload_size == 1 * GiB
    assert limits.max_execution_duration == 86400
    assert limits.default_destruction == 7 * 86400


def test_default_data_dir_without_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "innerspace"


def test_anonymous_allowed_without_tokens() -> None:
    settings = Settings()
    assert settings.tokens == {}
    assert settings.allow_anonymous is None
    assert settings.anonymous_allowed is True


def test_anonymous_refused_once_tokens_exist() -> None:
    assert Settings(tokens={"s3cret": "alice"}).anonymous_allowed is False


def test_anonymous_with_tokens_when_asked() -> None:
    settings = Settings(tokens={"s3cret": "alice"}, allow_anonymous=True)
    assert settings.anonymous_allowed is True


def test_anonymous_can_be_refused_without_tokens() -> None:
    assert Settings(allow_anonymous=False).anonymous_allowed is False


def test_service_id_is_created_once_and_kept(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "data").service_id
    assert re.fullmatch("[0-9a-f]{32}", first), first  # a UUID4 in hex
    assert (tmp_path / "data" / "service-id").read_text().strip() == first
    assert Settings(data_dir=tmp_path / "data").service_id == first
    assert Settings(data_dir=tmp_path / "other").service_id != first


# -- tokens --------------------------------------------------------------------------------


def test_token_string_is_parsed() -> None:
    # The form INNERSPACE_TOKENS documents, given as a value (e.g. from the TOML file).
    assert Settings(tokens="a=alice, b=bob,").tokens == {"a": "alice", "b": "bob"}


def test_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNERSPACE_TOKENS", "a=alice,b=bob")
    settings = load_settings()
    assert settings.tokens == {"a": "alice", "b": "bob"}
    assert settings.anonymous_allowed is False


def test_tokens_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNERSPACE_TOKENS", '{"a": "alice", "b": "bob"}')
    assert load_settings().tokens == {"a": "alice", "b": "bob"}


@pytest.mark.parametrize("entry", ["s3cret", "=bob", "s3cret=", "s3cret:bob"])
def test_bad_token_entries(entry: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tokens=f"a=alice,{entry}")
    # Named by position: the entry (and the rest of the value) holds secrets.
    assert "token entry 2 is not token=owner" in str(caught.value)
    assert "s3cret" not in str(caught.value) and "alice" not in str(caught.value)


def test_token_table_in_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[tokens]\n"tok-1" = "alice"\n"tok-2" = "bob"\n')
    settings = load_settings(path)
    assert settings.tokens == {"tok-1": "alice", "tok-2": "bob"}
    assert not settings.anonymous_allowed


# -- the configuration file and the environment --------------------------------------------


CONFIG = """
data_dir = "{data}"
public_url = "https://dc.example.org/innerspace"
allow_anonymous = true
tokens = "t1=alice"

[limits]
max_running_jobs = 2
max_cores = 1.5
max_memory = "2G"
tmp_size = "64M"

[sandbox]
user = "20000:20000"
"""


def test_config_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, CONFIG.format(data=tmp_path / "data"))
    settings = load_settings(path)
    assert settings.data_dir == tmp_path / "data"
    assert settings.public_url == "https://dc.example.org/innerspace"
    assert settings.tokens == {"t1": "alice"}
    assert settings.anonymous_allowed is True
    assert settings.limits.max_running_jobs == 2
    assert settings.limits.max_cores == 1.5
    assert settings.limits.max_memory == 2 * GiB
    assert settings.limits.tmp_size == 64 * MiB
    assert settings.limits.max_wait == 600  # not in the file: the default
    assert settings.sandbox.user == "20000:20000"


def test_config_file_from_innerspace_config(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    path = write_config(tmp_path, "[limits]\nmax_running_jobs = 9\n")
    monkeypatch.setenv("INNERSPACE_CONFIG", str(path))
    assert load_settings().limits.max_running_jobs == 9


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    path = write_config(tmp_path, CONFIG.format(data=tmp_path / "data"))
    monkeypatch.setenv("INNERSPACE_LIMITS__MAX_RUNNING_JOBS", "7")
    monkeypatch.setenv("INNERSPACE_ALLOW_ANONYMOUS", "false")
    monkeypatch.setenv("INNERSPACE_PUBLIC_URL", "https://elsewhere.example.org")
    settings = load_settings(path)
    assert settings.limits.max_running_jobs == 7
    assert settings.anonymous_allowed is False
    assert settings.public_url == "https://elsewhere.example.org"
    # The rest of the [limits] table still comes from the file.
    assert settings.limits.max_cores == 1.5
    assert settings.limits.max_memory == 2 * GiB


def test_overrides_win_over_the_file_and_none_is_ignored(tmp_path: Path) -> None:
    path = write_config(tmp_path, CONFIG.format(data=tmp_path / "data"))
    settings = load_settings(path, data_dir=tmp_path / "cli", public_url=None)
    assert settings.data_dir == tmp_path / "cli"
    assert settings.public_url == "https://dc.example.org/innerspace"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nowhere.toml")


def test_config_file_not_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[limits\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(path)


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "colour = 'red'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "colour" in str(caught.value)


def test_unknown_limit_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[limits]\nmax_gpus = 1\n")
    with pytest.raises(ConfigError, match="max_gpus"):
        load_settings(path)


@pytest.mark.parametrize("user", ["0", "0:0", "root", "root:root", ":1000", "-1:0",
                                  "10001:0", "10001:abc"])
def test_sandbox_user_root_or_non_numeric_refused(user: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(sandbox={"user": user})
    assert "sandbox user must be numeric uid:gid, neither of them 0" in str(caught.value)


@pytest.mark.parametrize(("user", "uid", "gid"), [("20000", 20000, 20000),
                                                  ("20000:30000", 20000, 30000)])
def test_sandbox_user_ids(user: str, uid: int, gid: int) -> None:
    sandbox = load_settings(sandbox={"user": user}).sandbox
    assert (sandbox.uid, sandbox.gid) == (uid, gid)


def test_sandbox_user_from_the_environment_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNERSPACE_SANDBOX__USER", "0:0")
    with pytest.raises(ConfigError, match="neither of them 0"):
        load_settings()


def test_unknown_engine_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(engine="kubernetes")
    assert "unknown engine 'kubernetes'; known: docker" in str(caught.value)


@pytest.mark.parametrize(("field", "value"), [
    ("max_running_jobs", 0), ("max_cores", 0), ("pids", 8), ("max_memory", "0M"),
])
def test_limits_out_of_range(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        load_settings(limits={field: value})


def test_swarm_settings_are_validated() -> None:
    assert Settings(engine="swarm").swarm.stage_size == 1 << 30
    with pytest.raises(ValidationError, match="unknown engine"):
        Settings(engine="kubernetes")
    with pytest.raises(ValidationError, match=r"swarm\.poll_interval"):
        Settings(engine="swarm", swarm={"poll_interval": 0})
