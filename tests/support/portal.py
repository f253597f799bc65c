"""The web service with a catalogue for the portal's tests: the example apps' manifests
(fits-stats, xmatch, hello, survey-summary), a demo app in two versions and one limited to a
group, on the fake engine (no Docker), served on a loopback socket as FakeEngineService is;
and reading a portal page as a browser would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import httpx
from fastapi import FastAPI

from innerspace.apps.manifest import AppManifest
from innerspace.apps.project import load_project
from tests.support.fake_service import FakeEngineService
from tests.support.net import ServerThread
from tests.support.paths import EXAMPLES
from tests.support.uws_harness import DemoCatalogue, UWSHarness, demo_manifest

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def example_manifests() -> list[AppManifest]:
    return [load_project(path).manifest for path in sorted(EXAMPLES.iterdir())
            if (path / "pyproject.toml").is_file()]


def portal_manifests() -> list[AppManifest]:
    """Every kind of parameter, several versions of one app, and a group's app."""
    demo_params = {
        "name": {"type": "string", "default": "World", "description": "Who to greet."},
        "count": {"type": "integer", "minimum": 1, "maximum": 10, "required": True,
                  "description": "How many times."},
        "ratio": {"type": "float", "minimum": 0, "maximum": 1, "unit": "deg",
                  "default": 0.5},
        "loud": {"type": "boolean", "default": True},
        "colour": {"type": "enum", "choices": ["red", "green"], "default": "green"},
        "source": {"type": "url"},
    }
    return [*example_manifests(),
            demo_manifest(version="1.0", parameters=demo_params),
            demo_manifest(version="2.0", parameters=demo_params,
                          description="The demo, improved."),
            demo_manifest(name="secret", title="Secret analysis", access={"groups": ["astro"]},
                          parameters={})]


class PortalService(FakeEngineService):
    """FakeEngineService whose catalogue holds `portal_manifests()` (or `manifests`)."""

    def __init__(self, data_dir: Path, manifests: list[AppManifest] | None = None,
                 **settings: Any) -> None:
        super().__init__(data_dir, **settings)
        self.manifests = manifests or portal_manifests()

    def start(self) -> PortalService:
        from innerspace.server import Services, create_app

        settings = self.settings
        app = create_app(settings)
        catalogue = DemoCatalogue(*self.manifests)

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with UWSHarness(self.data_dir, catalogue=catalogue,
                                  settings={"auth": settings.auth}) as uws:
                self.harness = uws
                app.state.services = Services(
                    settings, uws.store, uws.engine, cast(Any, catalogue), uws.runner,
                    uws.service, datetime.now(UTC), cast(Any, None), cast(Any, None),
                    cast(Any, None))
                yield

        app.router.lifespan_context = lifespan
        self.app = app
        self._server = ServerThread(app, self.port, "the innerspace service (portal)",
                                    lifespan="on", loop="asyncio", proxy_headers=False)
        self._server.start()
        return self

    def __enter__(self) -> PortalService:
        return self.start()

    def browser(self, **headers: str) -> httpx.Client:
        """A client that asks for pages as a browser does (and keeps its cookies)."""
        return self.client(Accept=BROWSER_ACCEPT, **headers)


class PageParser(HTMLParser):
    """The elements of a page, each as (tag, attributes), and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def element(page: PageParser, tag: str, **attributes: str) -> dict[str, str]:
    """The one `tag` element with these attributes (an assertion error otherwise)."""
    found = [attrs for name, attrs in page.elements if name == tag
             and all(attrs.get(k.rstrip("_").replace("_", "-")) == v
                     for k, v in attributes.items())]
    assert len(found) == 1, f"{len(found)} <{tag}> with {attributes}"
    return found[0]
