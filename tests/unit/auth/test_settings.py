"""The [auth] settings: what each way of authenticating needs, what is refused (HMAC and
`none`, plain http to a remote issuer, an issuer without audience), the old top-level names,
development tokens with groups, and when anonymous access is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from innerspace import vocabulary
from innerspace.config import Auth, ConfigError, DevToken, Settings, load_settings

ISSUER = "https://idp.example.org/realms/vo"


def test_defaults_are_anonymous_and_safe() -> None:
    auth = Auth()
    assert (auth.issuer, auth.owner_claim, auth.groups_claim, auth.leeway) == (
        None, "sub", "groups", 30.0)
    assert auth.algorithms == ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                               "ES256", "ES384", "ES512", "EdDSA"]
    assert (auth.user_header, auth.groups_header) == ("X-Auth-Request-User",
                                                      "X-Auth-Request-Groups")
    assert auth.anonymous_allowed and not auth.configured
    assert auth.interface_security == (None,)


@pytest.mark.parametrize("algorithms", [["HS256"], ["RS256", "none"], ["HS512"], []])
def test_symmetric_and_no_algorithms_are_refused(algorithms: list[str]) -> None:
    with pytest.raises(ValueError, match=r"only asymmetric|at least one"):
        Auth(algorithms=algorithms)


@pytest.mark.parametrize(("issuer", "problem"), [
    ("http://idp.example.org", "must be https"),
    ("ftp://idp.example.org", "not an http"),
    ("https://idp.example.org?x=1", "not an http"),
])
def test_bad_issuers(issuer: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Auth(issuer=issuer, audience=["innerspace"])


def test_http_issuer_on_loopback_and_trailing_slash() -> None:
    auth = Auth(issuer="http://127.0.0.1:9000/", audience="x")
    assert auth.issuer == "http://127.0.0.1:9000/"  # as tokens' iss must equal it
    assert auth.discovery_url == "http://127.0.0.1:9000/.well-known/openid-configuration"
    assert Auth().discovery_url is None


def test_an_issuer_needs_an_audience() -> None:
    with pytest.raises(ValueError, match=r"auth\.audience is required with auth\.issuer"):
        Auth(issuer=ISSUER)


def test_introspection_needs_client_credentials() -> None:
    with pytest.raises(ValueError, match=r"auth\.introspection needs"):
        Auth(issuer=ISSUER, audience="innerspace", introspection=True, client_id="svc")
    auth = Auth(issuer=ISSUER, audience="innerspace", introspection=True, client_id="svc",
                client_secret="s3cret")
    assert "s3cret" not in repr(auth) and "s3cret" not in str(auth.model_dump())


@pytest.mark.parametrize("proxy", ["10.0.0.300", "proxy.example.org", "10.0.0.0/33"])
def test_trusted_proxies_are_addresses_or_networks(proxy: str) -> None:
    with pytest.raises(ValueError, match="is not an address or network"):
        Auth(trusted_proxies=[proxy])


@pytest.mark.parametrize("header", ["X User", "Authorization", "X-User:", ""])
def test_proxy_headers_must_be_header_names(header: str) -> None:
    with pytest.raises(ValueError, match="usable header name"):
        Auth(user_header=header)


def test_realm_must_be_quotable() -> None:
    with pytest.raises(ValueError, match="realm must be printable"):
        Auth(realm='a "quoted" realm')


def test_everything_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ISSUER": ISSUER, "AUDIENCE": '["innerspace", "vo"]',
                        "ADMIN_GROUPS": '["innerspace-admins"]', "LEEWAY": "5",
                        "ALGORITHMS": "RS256,ES256", "TRUSTED_PROXIES": "10.0.0.0/8,::1",
                        "TOKENS": "t1=alice", "CLI_CLIENT_ID": "innerspace-cli"}.items():
        monkeypatch.setenv(f"INNERSPACE_AUTH__{name}", value)
    auth = load_settings().auth
    assert (auth.issuer, auth.audience, auth.admin_groups, auth.leeway) == (
        ISSUER, ["innerspace", "vo"], ["innerspace-admins"], 5.0)
    assert (auth.algorithms, auth.trusted_proxies) == (["RS256", "ES256"], ["10.0.0.0/8", "::1"])
    assert auth.tokens == {"t1": DevToken(owner="alice")}
    assert auth.cli_client_id == "innerspace-cli"
    assert not auth.anonymous_allowed


def test_the_auth_table_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "innerspace.toml"
    path.write_text(f'[auth]\nissuer = "{ISSUER}"\naudience = ["innerspace"]\n'
                    'admin_groups = ["innerspace-admins"]\n'
                    '[auth.tokens]\n"t1" = "alice"\n'
                    '"t2" = {owner = "root", groups = ["innerspace-admins"]}\n')
    auth = load_settings(path).auth
    assert auth.tokens == {"t1": DevToken(owner="alice"),
                           "t2": DevToken(owner="root", groups=("innerspace-admins",))}
    assert auth.interface_security == (vocabulary.SSO_OAUTH,)


def test_the_old_top_level_names_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNERSPACE_TOKENS", "a=alice")
    monkeypatch.setenv("INNERSPACE_ALLOW_ANONYMOUS", "true")
    monkeypatch.setenv("INNERSPACE_AUTH__TOKENS", '{"b": {"owner": "bob", "groups": ["x"]}}')
    settings = load_settings()
    assert settings.auth.tokens == {"a": DevToken(owner="alice"),
                                    "b": DevToken(owner="bob", groups=("x",))}
    assert settings.auth.allow_anonymous is True and settings.anonymous_allowed
    assert settings.auth.interface_security == (None, vocabulary.SSO_OAUTH)


def test_auth_wins_over_the_old_names() -> None:
    settings = Settings(tokens={"t": "old"}, allow_anonymous=True,
                        auth={"tokens": {"t": "new"}, "allow_anonymous": False})
    assert settings.auth.tokens == {"t": DevToken(owner="new")}
    assert settings.anonymous_allowed is False


@pytest.mark.parametrize(("auth", "anonymous"), [
    ({}, True),
    ({"issuer": ISSUER, "audience": "x"}, False),
    ({"trusted_proxies": ["127.0.0.1"]}, False),
    ({"tokens": {"t": "a"}}, False),
    ({"tokens": {"t": "a"}, "allow_anonymous": True}, True),
    ({"allow_anonymous": False}, False),
])
def test_anonymous_only_when_nothing_is_configured(auth: dict[str, object],
                                                   anonymous: bool) -> None:
    assert Settings(auth=auth).anonymous_allowed is anonymous


def test_public_services_stay_anonymous() -> None:
    assert Auth(tokens={"t": "a"}).public_interface_security == (None, vocabulary.SSO_OAUTH)
    assert Auth().public_interface_security == (None,)


def test_no_secret_in_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNERSPACE_AUTH__TOKENS", "s3cret-one=alice,s3cret-two")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "auth.tokens" in str(caught.value) and "token entry 2" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_top_level_tokens_may_carry_groups_too() -> None:
    settings = Settings(tokens={"t1": "alice", "t2": {"owner": "root", "groups": ["admins"]}})
    assert settings.auth.tokens == {"t1": DevToken(owner="alice"),
                                    "t2": DevToken(owner="root", groups=("admins",))}
    with pytest.raises(ValueError, match="owner"):
        Settings(tokens={"t3": {"groups": ["admins"]}})
