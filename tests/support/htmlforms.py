"""The forms of an HTML page, and submitting one as a browser would: how the tests drive
login pages (the OpenID provider's device verification and sign-in) without a browser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    """One <form>: its id, method, absolute action URL and the values of its named inputs
    (hidden ones carry their value, so a CSRF token is submitted as it should be)."""

    id: str | None
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = Form(values.get("id"), values.get("method", "get").upper(),
                              urljoin(self.base_url, values.get("action", "")))
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and values.get("name"):
            self._open.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms_of(page: httpx.Response) -> list[Form]:
    """The forms of a page, with actions resolved against the page's URL."""
    parser = _FormParser(str(page.url))
    parser.feed(page.text)
    parser.close()
    return parser.forms


def submit(browser: httpx.Client, page: httpx.Response, form_id: str | None = None,
           **values: str) -> httpx.Response:
    """Fill in and submit a form of `page` (the one with id `form_id`, or its only form), as a
    browser would: its own fields plus `values`. Raises LookupError when there is no such
    form, naming the forms the page has."""
    forms = forms_of(page)
    chosen = [f for f in forms if form_id is None or f.id == form_id]
    if len(chosen) != 1:
        raise LookupError(f"no single form {form_id or ''!r} at {page.url} (forms: "
                          f"{[f.id for f in forms]}); the page says: {page.text[:1500]}")
    form = chosen[0]
    data = {**form.fields, **values}
    if form.method == "POST":
        return browser.post(form.action, data=data)
    return browser.get(form.action, params=data)
