"""The browser harness itself (tests/support/browser.py), against small pages served here by
http.server on a free loopback port: accessibility, console errors, screenshots, colour
scheme and motion preferences, downloads, uploads, the keyboard, page weight, a second
browser, and that no browser process outlives its fixture."""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.keys import Keys

from tests.support.browser import Browser, BrowserFactory
from tests.support.browser_reports import ConsoleEntry
from tests.support.browser_setup import SCREENSHOTS, folder_of_test

HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="data:,"><style>{style}</style></head>"""

PAGES = {
    "clean.html": HEAD.format(title="A clean page", style="body {margin: 0}") + """<body>
<main><h1>Jobs</h1><p>Your jobs at North.</p><img src="pixel.png" alt="status: ok">
<form action="/upload"><label for="app">App</label><input id="app" name="app"></form>
</main></body></html>""",
    # Three failures axe-core calls serious or critical: an image without alt text, a field
    # without a label, grey text on white (contrast 2.3:1 where 4.5:1 is needed).
    "inaccessible.html": HEAD.format(title="Broken", style="p {color: #aaa}") + """<body>
<main><h1>Jobs</h1><p>Your jobs.</p><img src="pixel.png"><input name="app"></main>
</body></html>""",
    "errors.html": HEAD.format(title="Errors", style="") + """<body><main>
<h1>Errors</h1><img src="missing.png" alt="missing on purpose">
<script>throw new Error("deliberate failure");</script></main></body></html>""",
    "tall.html": HEAD.format(title="Tall", style="body {margin: 0} div {height: 2000px;"
                             "width: 500px; background: linear-gradient(#036, #fc0)}")
    + "<body><main><div></div></main></body></html>",
    "scheme.html": HEAD.format(title="Scheme", style="""
body {background: rgb(255, 255, 255); color: rgb(0, 0, 0)}
@media (prefers-color-scheme: dark) {body {background: rgb(17, 17, 17); color: #eee}}
@media (prefers-reduced-motion: no-preference) {h1 {transition: color 2s}}""")
    + "<body><main><h1>Scheme</h1></main></body></html>",
    "files.html": HEAD.format(title="Files", style="") + """<body><main><h1>Files</h1>
<a id="result" href="/files/result.csv">result.csv</a>
<form method="post" action="/upload" enctype="multipart/form-data">
<label for="image">Image</label><input type="file" id="image" name="image">
<button id="send">Send</button></form>
<p id="chosen"></p>
<script>document.getElementById("image").addEventListener("change", e => {
  const file = e.target.files[0];
  document.getElementById("chosen").textContent = file.name + " " + file.size + " bytes";
});</script></main></body></html>""",
    "keyboard.html": HEAD.format(title="Keyboard", style="#plain:focus {outline: none}")
    + """<body><main><h1>Keyboard</h1><a id="home" href="#top">Home</a>
<label for="name">Name</label><input id="name" name="name">
<button id="go" type="button">Go</button>
<div id="plain" tabindex="0">Focusable without a visible focus</div>
<p id="said"></p>
<script>document.getElementById("go").addEventListener("click",
  () => { document.getElementById("said").textContent = "went"; });</script>
</main></body></html>""",
    "weight.html": HEAD.format(title="Weight", style="") + """<body><main><h1>Weight</h1>
<img src="pixel.png" alt="a pixel"><script src="app.js"></script></main></body></html>""",
    "cookie.html": HEAD.format(title="Cookie", style="") + """<body><main><h1>Cookie</h1>
<p id="cookie"></p><script>
document.getElementById("cookie").textContent = "cookie: " + (document.cookie || "none");
</script></main></body></html>""",
}
# The smallest PNG: one transparent pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")
SCRIPT = b"window.appLoaded = true;\n" + b"// padding to a known size\n" * 200
RESULT_CSV = b"ra,dec\n10.68,41.27\n"


class PageServer(ThreadingHTTPServer):
    """The pages, files served as attachments under /files/, and the last upload kept."""

    def __init__(self, folder: Path) -> None:
        super().__init__(("127.0.0.1", 0), self._handler)
        self.folder = folder
        self.uploads: list[bytes] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"

    def _handler(self, *args: Any) -> SimpleHTTPRequestHandler:
        return Handler(*args, directory=str(self.folder))


class Handler(SimpleHTTPRequestHandler):
    server: PageServer

    def end_headers(self) -> None:
        if self.path.startswith("/files/"):
            self.send_header("Content-Disposition", "attachment")
        super().end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.uploads.append(body)
        page = (HEAD.format(title="Sent", style="") + f"<body><main><h1>Sent</h1><p id=size>"
                f"{len(body)} bytes received</p></main></body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests' output is not the place for an access log


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the test pages, served until the module's tests end."""
    folder = tmp_path_factory.mktemp("site")
    for name, text in PAGES.items():
        (folder / name).write_text(text)
    (folder / "pixel.png").write_bytes(PIXEL)
    (folder / "app.js").write_bytes(SCRIPT)
    (folder / "files").mkdir()
    (folder / "files" / "result.csv").write_bytes(RESULT_CSV)
    server = PageServer(folder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()


@pytest.fixture
def at(browser: Browser, site: str) -> Browser:
    """The browser with the test pages as its base URL."""
    browser.base_url = site
    return browser


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is no PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# -- accessibility ---------------------------------------------------------------------------


def test_known_violations_are_serious(at: Browser) -> None:
    at.open("inaccessible.html")
    found = {v.id: v for v in at.accessibility()}
    assert {"image-alt", "label", "color-contrast"} <= found.keys(), found
    assert found["image-alt"].impact == "critical"
    assert found["color-contrast"].impact == "serious"
    # axe-core names an element by the shortest selector unique in the page ("input" here).
    unlabelled = found["label"].nodes[0]
    assert 'name="app"' in unlabelled.html
    assert at.execute("return document.querySelector(arguments[0]).name",
                      unlabelled.target) == "app"
    assert found["image-alt"].help_url.startswith("https://")
    with pytest.raises(AssertionError, match="image-alt"):
        at.assert_accessible()


def test_a_clean_page_passes(at: Browser) -> None:
    at.open("clean.html")
    assert at.assert_accessible() == []
    at.assert_no_console_errors()


def test_accessibility_of_part_of_a_page(at: Browser) -> None:
    at.open("inaccessible.html")
    assert at.accessibility(context="h1") == []


# -- console ---------------------------------------------------------------------------------


def test_console_errors_are_caught_and_an_expected_404_ignored(at: Browser) -> None:
    at.open("errors.html")

    def two_errors() -> list[ConsoleEntry] | None:
        errors = at.console_errors()
        return errors if len(errors) >= 2 else None

    errors = at.wait_until(two_errors, "two console errors")
    assert any("deliberate failure" in e.message and e.source == "javascript" for e in errors)
    assert any("missing.png" in e.message and "404" in e.message for e in errors)
    left = at.console_errors(ignore=[r"missing\.png .*404"])
    assert [e.source for e in left] == ["javascript"]
    with pytest.raises(AssertionError, match="deliberate failure"):
        at.assert_no_console_errors(ignore=[r"missing\.png"])
    at.expected_errors.append("deliberate failure")
    at.assert_no_console_errors(ignore=[r"missing\.png"])


# -- screenshots, viewport, preferences ------------------------------------------------------


def test_screenshot_is_a_png_of_the_whole_page(make_browser: Callable[..., Browser],
                                                site: str) -> None:
    browser = make_browser(base_url=site, width=800, height=600)
    browser.open("tall.html")
    assert browser.execute("return [innerWidth, innerHeight]") == [800, 600]
    whole = browser.screenshot("tall")
    assert whole == SCREENSHOTS / folder_of_test() / "tall.png"
    assert whole.parent.name == ("integration.portal.test_browser_harness."
                                 "test_screenshot_is_a_png_of_the_whole_page")
    assert png_size(whole) == (800, 2000)
    assert png_size(browser.screenshot("viewport", full_page=False)) == (800, 600)
    browser.emulate(width=375, height=667)
    assert png_size(browser.screenshot("phone")) == (500, 2000)  # the div is 500 px wide


def test_dark_mode_changes_a_computed_style(at: Browser) -> None:
    at.open("scheme.html")
    assert at.style("body", "background-color") == "rgb(255, 255, 255)"
    at.emulate(color_scheme="dark")
    at.wait_until(lambda: at.style("body", "background-color") == "rgb(17, 17, 17)",
                  "the dark background")
    at.open("scheme.html")  # the preference holds across pages of the tab
    assert at.style("body", "background-color") == "rgb(17, 17, 17)"


def test_reduced_motion_by_default(at: Browser) -> None:
    at.open("scheme.html")
    assert at.execute("return matchMedia('(prefers-reduced-motion: reduce)').matches")
    assert at.style("h1", "transition-duration") == "0s"
    at.emulate(reduced_motion=False)
    assert at.style("h1", "transition-duration") == "2s"


# -- files -----------------------------------------------------------------------------------


def test_a_file_downloads(at: Browser) -> None:
    at.open("files.html")
    path = at.download(lambda: at.click("#result"))
    assert path.parent == at.downloads
    assert path.name == "result.csv"
    assert path.read_bytes() == RESULT_CSV


def test_a_file_uploads(at: Browser, tmp_path: Path) -> None:
    image = tmp_path / "m31.fits"
    image.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    at.open("files.html")
    at.upload("#image", image)
    at.wait_for_text("#chosen", "m31.fits 2880 bytes")
    at.click("#send")
    at.wait_for_text("#size", "bytes received")
    assert at.current_url.endswith("/upload")


# -- keyboard --------------------------------------------------------------------------------


def test_tab_moves_the_focus_visibly(at: Browser) -> None:
    at.open("keyboard.html")
    order = at.tab_order()
    assert [f.id for f in order] == ["home", "name", "go", "plain"]
    assert [f.text for f in order[:3]] == ["Home", "Name", "Go"]
    assert [f.visible for f in order] == [True, True, True, False]
    at.tab_order()
    assert at.tab(2).id == "name"
    at.press("Ada")
    assert at.find("#name").get_attribute("value") == "Ada"
    assert at.tab().id == "go"
    at.assert_focus_visible()
    at.press(Keys.ENTER)
    at.wait_for_text("#said", "went")
    assert at.tab(backwards=True).id == "name"
    at.tab(2)
    with pytest.raises(AssertionError, match="not visible"):
        at.assert_focus_visible()


# -- page weight -----------------------------------------------------------------------------


def test_transfer_sizes_are_read(at: Browser) -> None:
    at.clear_cache()
    at.open("weight.html")
    weight = at.page_weight()
    assert weight.document.url.endswith("/weight.html")
    assert weight.document.encoded_size == len(PAGES["weight.html"].encode())
    assert weight.document.transfer_size > weight.document.encoded_size  # and its headers
    sizes = {Path(r.url).name: r for r in weight.resources}
    assert sizes["app.js"].kind == "script"
    assert sizes["app.js"].encoded_size == sizes["app.js"].decoded_size == len(SCRIPT)
    assert sizes["pixel.png"].encoded_size == len(PIXEL)
    assert weight.encoded_size == (len(PAGES["weight.html"].encode()) + len(SCRIPT)
                                   + len(PIXEL))
    assert weight.transfer_size > weight.encoded_size


# -- more browsers, and their end ------------------------------------------------------------


def test_a_second_browser_is_another_user(at: Browser, make_browser: Callable[..., Browser],
                                          site: str) -> None:
    at.open("cookie.html")
    at.execute("document.cookie = 'user=ada; path=/'")
    at.open("cookie.html")
    assert at.text("#cookie") == "cookie: user=ada"
    other = make_browser(base_url=site)
    other.open("cookie.html")
    assert other.text("#cookie") == "cookie: none"


def test_the_next_test_gets_a_fresh_browser(at: Browser) -> None:
    at.open("cookie.html")  # after the cookie the test before set
    assert at.text("#cookie") == "cookie: none"
    assert at.console_entries() == []


def test_no_process_outlives_the_fixture(tmp_path_factory: pytest.TempPathFactory,
                                         axe_script: Path, site: str) -> None:
    factory = BrowserFactory(tmp_path_factory.mktemp, axe_script)  # the fixtures' own
    browsers = [factory(base_url=site), factory(base_url=site)]
    for browser in browsers:
        browser.open("clean.html")
    seen = [browser.processes() for browser in browsers]
    assert all(len(pids) >= 3 for pids in seen), seen  # chromedriver, chromium, helpers
    assert not seen[0] & seen[1]
    names = {Path(f"/proc/{pid}/exe").resolve().name for pid in seen[0]}
    assert {"chromedriver", "chromium"} <= names
    factory.close_all()
    assert factory.started == []
    assert [browser.processes() for browser in browsers] == [set(), set()]
