"""The portal's signed session cookie and the negotiation of `/`, without a server."""

from __future__ import annotations

import time

import pytest

from innerspace.portal.negotiation import prefers_html
from innerspace.portal.session import MAX_COOKIE, Session, sign, unsign

KEY = b"k" * 32


def test_a_session_comes_back_as_it_was_signed() -> None:
    session = Session.new(600).logged_in("alice", ("astro",), admin=True)
    back = unsign(KEY, sign(KEY, session))
    assert back == session and back.owner == "alice" and back.groups == ("astro",)


def test_a_login_makes_a_new_session_id_and_csrf_token() -> None:
    anonymous = Session.new(600)
    logged = anonymous.logged_in("alice")
    assert logged.id != anonymous.id and logged.csrf != anonymous.csrf


@pytest.mark.parametrize("damage", [
    lambda v: v[:-2] + "AA", lambda v: "x" + v, lambda v: v.replace(".", ""),
    lambda v: v.split(".")[0] + ".", lambda v: "", lambda v: "a" * (MAX_COOKIE + 1),
])
def test_forged_or_damaged_cookies_are_no_session(damage: object) -> None:
    value = sign(KEY, Session.new(600).logged_in("alice"))
    assert unsign(KEY, damage(value)) is None  # type: ignore[operator]
    assert unsign(b"another key " * 3, value) is None


def test_an_expired_session_is_none() -> None:
    value = sign(KEY, Session.new(600))
    assert unsign(KEY, value, now=time.time() + 601) is None
    assert unsign(KEY, value) is not None


@pytest.mark.parametrize(("accept", "html"), [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
    ("text/html", True), ("application/xhtml+xml", True), ("text/html, application/xml", True),
    ("application/xml;q=0.5, text/html", True),
    ("application/xml, text/html", False), ("application/json, text/html", False),
    ("text/html;q=0.5, application/x-votable+xml", False), ("text/html;q=0", False),
    ("*/*", False), ("", False), ("text/plain", False), ("text/xml", False),
])
def test_which_accept_headers_ask_for_a_page(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html
