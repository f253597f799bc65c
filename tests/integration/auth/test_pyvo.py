"""pyvo's authenticated session (`pyvo.auth.AuthSession`) runs a UWS job on a service that
takes the real provider's tokens: it learns from the VOSI capabilities that the job list
wants the OAuth security method, and sends its bearer token there (Docker: the job runs)."""

from __future__ import annotations

import io
from collections.abc import Callable

import requests

from tests.support.oidc_provider import OIDCProvider
from tests.support.oidc_service import oidc_settings
from tests.support.services import LiveService

OAUTH = "ivo://ivoa.net/sso#OAuth"


def test_pyvo_runs_a_job_with_an_oauth_session(
        oidc_provider: OIDCProvider, make_service: Callable[..., LiveService]) -> None:
    from pyvo.auth import AuthSession
    from pyvo.dal.tap import AsyncTAPJob
    from pyvo.io.vosi import parse_capabilities

    live = make_service(auth=oidc_settings(oidc_provider))
    token = oidc_provider.device_login("alice", "alice-password")["access_token"]
    bearer = requests.Session()
    bearer.headers["Authorization"] = f"Bearer {token}"
    session = AuthSession()
    session.credentials.set(OAUTH, bearer)
    capabilities = session.get(f"{live.url}/capabilities")
    session.update_from_capabilities(parse_capabilities(io.BytesIO(capabilities.content)))
    assert session._auth_urls.allowed_auth_methods(f"{live.url}/jobs/x/phase") == {OAUTH}

    created = session.post(f"{live.url}/jobs", data={"app": "hello", "name": "pyvo",
                                                     "PHASE": "RUN"}, allow_redirects=False)
    assert created.status_code == 303 and created.headers["x-vo-authenticated"] == "alice"
    url = created.headers["location"]
    job = AsyncTAPJob(url, session=session, delete=False)
    job.wait(timeout=120)
    assert job.phase == "COMPLETED" and job.owner == "alice"
    greeting = next(r for r in job.results if r.id_ == "greeting.txt")
    assert session.get(greeting.href).text == "Hello, pyvo!\n"
    # Without the token, the same job is out of reach.
    anonymous = requests.get(url, timeout=60)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith('Bearer realm="innerspace"')
