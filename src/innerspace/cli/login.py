"""Commands for signing in to a service that uses OpenID Connect: `login` (the device flow:
a code to enter in any browser), `logout`, and `token` (a fresh access token, for curl or
pyvo). The login is kept per service URL in $XDG_CONFIG_HOME/innerspace/tokens.json, and
every other command to that URL uses it unless --token or INNERSPACE_TOKEN says otherwise.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from innerspace.cli.common import UrlOption, console, err_console, fail
from innerspace.client import ClientError
from innerspace.client.login import DeviceCode, login, logout
from innerspace.client.tokens import LoginSession, TokenStore
from innerspace.client.uws import DEFAULT_URL

commands = typer.Typer()


def service_url(url: str | None) -> str:
    return (url or os.environ.get("INNERSPACE_URL") or DEFAULT_URL).rstrip("/")


def show_code(device: DeviceCode) -> None:
    """Tell the user where to sign in, on stdout and flushed at once (a program driving
    the command reads the code from there)."""
    console.print(f"To sign in, open {escape(device.verification_uri)}\n"
                  f"and enter the code  [bold]{escape(device.user_code)}[/]", highlight=False,
                  soft_wrap=True)
    if device.verification_uri_complete:
        console.print(f"(or open {escape(device.verification_uri_complete)})",
                      highlight=False, soft_wrap=True)
    minutes = max(1, round(device.expires_in / 60))
    console.print(f"Waiting for you to sign in (the code expires in {minutes} min)...",
                  highlight=False, soft_wrap=True)
    sys.stdout.flush()


@commands.command("login")
def login_command(
    url: UrlOption = None,
    issuer: Annotated[str | None, typer.Option(
        help="the OpenID provider [default: the service's, from its metadata]")] = None,
    client_id: Annotated[str | None, typer.Option(
        help="the CLI's public client id at the provider [default: the service's]")] = None,
    scope: Annotated[str | None, typer.Option(
        help="scopes to ask for [default: openid offline_access]")] = None,
) -> None:
    """Sign in to a service with its OpenID provider (a code to enter in any browser)."""
    target = service_url(url)
    store = TokenStore()
    try:
        made = login(target, show_code, issuer=issuer, client_id=client_id, scope=scope,
                     store=store)
    except ClientError as exc:
        fail(str(exc))
    who = f" as {escape(made.user)}" if made.user else ""
    until = ""
    if made.expires_at:
        moment = datetime.fromtimestamp(made.expires_at, UTC).isoformat(timespec="seconds")
        until = f"; the access token is valid until {moment}" + (
            ", then refreshed" if made.refresh_token else "")
    console.print(f"Logged in to {escape(target)}{who} (stored in {store.path}{until}).",
                  highlight=False, soft_wrap=True)


@commands.command("logout")
def logout_command(url: UrlOption = None) -> None:
    """Forget the login to a service (and revoke it at its provider)."""
    target = service_url(url)
    try:
        gone, revoked = logout(target)
    except ClientError as exc:
        fail(str(exc))
    if gone is None:
        console.print(f"Not logged in to {escape(target)}.", highlight=False)
        return
    note = ("; the provider revoked it" if revoked else
            "; the provider could not revoke it" if gone.revocation_endpoint else "")
    console.print(f"Logged out of {escape(target)}{note}.", highlight=False)


@commands.command("token")
def token_command(url: UrlOption = None) -> None:
    """Print a valid access token of your login (refreshed if needed), e.g. for curl."""
    target = service_url(url)
    try:
        session = LoginSession.stored(target)
        if session is None:
            fail(f"not logged in to {target}; run `innerspace login --url {target}`")
        token = session.access_token()
    except ClientError as exc:
        fail(str(exc))
    if sys.stdout.isatty():
        err_console.print("[dim]This token is a secret: do not paste it anywhere shared.[/]")
    print(token)
