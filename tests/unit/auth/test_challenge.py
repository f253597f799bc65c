"""What a 401 says about authenticating (RFC 6750, RFC 9728, the ivoa_bearer challenge),
and the protected-resource metadata `innerspace login` reads."""

from __future__ import annotations

from innerspace.auth import CLI_CLIENT_ID_FIELD, Challenges, protected_resource_metadata
from innerspace.auth.challenge import quoted
from innerspace.config import Auth
from innerspace.errors import InvalidToken, NotAuthenticated

BASE = "https://dc.example.org/innerspace"
ISSUER = "https://idp.example.org"


def test_without_a_token_a_bearer_challenge_pointing_at_the_metadata() -> None:
    assert Challenges(Auth(tokens={"t": "a"})).for_error(BASE, NotAuthenticated("x")) == [
        'Bearer realm="innerspace", resource_metadata='
        '"https://dc.example.org/innerspace/.well-known/oauth-protected-resource"']


def test_with_an_issuer_the_ivoa_bearer_challenge_too() -> None:
    auth = Auth(issuer=ISSUER, audience="innerspace", realm="VO North")
    challenges = Challenges(auth).for_error(BASE, NotAuthenticated("x"))
    assert challenges == [
        'Bearer realm="VO North", resource_metadata="https://dc.example.org/innerspace/'
        '.well-known/oauth-protected-resource"',
        'ivoa_bearer standard_id="ivo://ivoa.net/sso#OAuth", '
        'access_url="https://idp.example.org/.well-known/openid-configuration"']


def test_a_refused_token_says_why() -> None:
    challenge = Challenges(Auth()).for_error(BASE, InvalidToken("the token has expired"))[0]
    assert challenge.endswith(', error="invalid_token", '
                              'error_description="the token has expired"')


def test_descriptions_are_quotable() -> None:
    assert quoted('say "hi" \\ é\n') == "\"say 'hi' / ??\""


def test_the_metadata_of_an_oidc_service() -> None:
    auth = Auth(issuer=ISSUER, audience="innerspace", cli_client_id="innerspace-cli",
                scopes=["openid", "offline_access", "vo"])
    assert protected_resource_metadata(auth, BASE) == {
        "resource": BASE, "authorization_servers": [ISSUER],
        "bearer_methods_supported": ["header"], "resource_name": "innerspace",
        "scopes_supported": ["openid", "offline_access", "vo"],
        CLI_CLIENT_ID_FIELD: "innerspace-cli"}
    assert CLI_CLIENT_ID_FIELD == "innerspace_cli_client_id"


def test_the_metadata_of_an_anonymous_service() -> None:
    assert protected_resource_metadata(Auth(), BASE) == {
        "resource": BASE, "bearer_methods_supported": [], "resource_name": "innerspace"}
