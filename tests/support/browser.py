"""A real headless browser for the portal's tests: Debian's Chromium driven by selenium
through Debian's chromedriver, as an astronomer would use the portal (typing, clicking, the
keyboard alone, downloads, uploads), with what issue 14 checks on every page: console errors,
accessibility (axe-core, injected from the npm package installed under .run/), screenshots
and page weight.

One `Browser` is one chromedriver and one Chromium with a new, empty profile. Every wait is
on a condition, polled until a generous deadline; nothing sleeps a fixed time. Closing it
ends every process it started, which it finds by a marker in their environment (Chromium's
crash handler leaves the process tree) and by parentage (its renderers rewrite theirs)."""

from __future__ import annotations

import base64
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urljoin, urlsplit

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.support.browser_processes import ProcessGroup
from tests.support.browser_reports import (
    AXE_RUN,
    BLOCKING_IMPACTS,
    FOCUS_TOP,
    FOCUSED,
    TRANSFERS,
    WCAG_TAGS,
    ConsoleEntry,
    Focused,
    PageWeight,
    Transfer,
    Violation,
    violations,
)
from tests.support.browser_setup import (
    CHROMIUM_FLAGS,
    SCREENSHOTS,
    BrowserError,
    find_browser,
    folder_of_test,
    safe_name,
)

T = TypeVar("T")
ColorScheme = Literal["light", "dark"]


class Browser:
    """A headless Chromium with a viewport of `width` x `height` CSS pixels, the
    `color_scheme` preference and, by default, reduced motion; `base_url` makes relative
    addresses of `open` absolute. Its profile, downloads and chromedriver's log are kept in
    `workdir`; `axe_script` is axe-core's axe.min.js (see install_axe)."""

    def __init__(self, workdir: Path, *, axe_script: Path | None = None,
                 base_url: str | None = None, width: int = 1280, height: int = 900,
                 color_scheme: ColorScheme = "light", reduced_motion: bool = True,
                 timeout: float = 30.0) -> None:
        chromium, chromedriver = find_browser()
        self.workdir = workdir
        self.axe_script = axe_script
        self.base_url = base_url
        self.timeout = timeout
        self.downloads = workdir / "downloads"
        self.log_path = workdir / "chromedriver.log"
        self.expected_errors: list[str] = []  # patterns of console errors every check ignores
        self.defaults = (base_url, width, height, color_scheme, reduced_motion)
        self._profile = workdir / "profile"
        self._console: list[ConsoleEntry] = []
        self._origins: set[str] = set()
        self._processes = ProcessGroup()
        self._closed = False
        self._size = (width, height)
        self._scheme = color_scheme
        self._reduced_motion = reduced_motion
        for folder in (self._profile, self.downloads):
            folder.mkdir(parents=True, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self._profile}",
                     f"--window-size={width},{height}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        options.add_experimental_option("prefs", {
            "download.default_directory": str(self.downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
        })
        # The marker finds every process of this browser at the end; XDG_CONFIG_HOME keeps
        # Chromium's crash reports out of the user's ~/.config.
        environment = {**os.environ, **self._processes.environment(),
                       "XDG_CONFIG_HOME": str(workdir / "config")}
        service = Service(executable_path=chromedriver, log_output=str(self.log_path),
                          service_args=["--log-level=INFO"], env=environment)
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as exc:
            self._processes.end(self.timeout)
            raise BrowserError(f"Chromium did not start: {exc.msg}\n{self.log_tail()}") from exc
        try:
            self.driver.set_script_timeout(timeout)
            self.driver.set_page_load_timeout(timeout * 2)
            # Headless Chromium asks nobody where to save: it saves here.
            self._cdp("Browser.setDownloadBehavior",
                      behavior="allow", downloadPath=str(self.downloads))
            self.emulate(width=width, height=height, color_scheme=color_scheme,
                         reduced_motion=reduced_motion)
        except BaseException:
            self.close()
            raise

    # -- pages ------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path) if self.base_url else path

    def open(self, path: str) -> None:
        """Go to `path` (relative to base_url) and wait until the page has loaded."""
        url = self.url(path)
        parts = urlsplit(url)
        if parts.scheme in ("http", "https"):
            self._origins.add(f"{parts.scheme}://{parts.netloc}")
        self.driver.get(url)
        self.wait_loaded()

    def wait_loaded(self) -> None:
        """Until the current document and its resources have loaded (the load event)."""
        self.wait_until(lambda: self.execute("return document.readyState") == "complete",
                        "the page to load")

    def execute(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    @property
    def current_url(self) -> str:
        return str(self.driver.current_url)

    def emulate(self, *, width: int | None = None, height: int | None = None,
                color_scheme: ColorScheme | None = None,
                reduced_motion: bool | None = None) -> None:
        """Change the viewport (exactly, in CSS pixels, whatever the window's frame) or the
        media preferences the page's CSS sees; what is not given stays. They hold for every
        page of the current tab (not for a tab a page opens)."""
        if width is not None or height is not None:
            self._size = (width or self._size[0], height or self._size[1])
            self._cdp("Emulation.setDeviceMetricsOverride", width=self._size[0],
                      height=self._size[1], deviceScaleFactor=1, mobile=False)
        if color_scheme is not None:
            self._scheme = color_scheme
        if reduced_motion is not None:
            self._reduced_motion = reduced_motion
        if color_scheme is not None or reduced_motion is not None:
            self._cdp("Emulation.setEmulatedMedia", features=[
                {"name": "prefers-color-scheme", "value": self._scheme},
                {"name": "prefers-reduced-motion",
                 "value": "reduce" if self._reduced_motion else "no-preference"}])

    def reset(self) -> None:
        """As new for the next test: one blank tab, no cookies or storage of the sites
        visited, the console emptied, the viewport and preferences it started with."""
        handles = self.driver.window_handles
        for handle in handles[1:]:
            self.driver.switch_to.window(handle)
            self.driver.close()
        self.driver.switch_to.window(handles[0])
        self.driver.get("about:blank")
        self._cdp("Network.clearBrowserCookies")
        for origin in sorted(self._origins):
            self._cdp("Storage.clearDataForOrigin", origin=origin, storageTypes="all")
        self._origins.clear()
        self.expected_errors.clear()
        self.console_entries()
        self._console.clear()
        self.base_url, width, height, scheme, motion = self.defaults
        self.emulate(width=width, height=height, color_scheme=scheme, reduced_motion=motion)
        for leftover in self.downloads.iterdir():
            leftover.unlink()

    # -- finding, typing, clicking ---------------------------------------------------------

    def find(self, selector: str) -> WebElement:
        """The first element matching the CSS `selector`, waiting until there is one."""
        return self.wait_until(lambda: self.driver.find_element(By.CSS_SELECTOR, selector),
                               f"an element {selector!r}")

    def find_all(self, selector: str) -> list[WebElement]:
        """Every element matching `selector` now (no wait: an empty list is an answer)."""
        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def text(self, selector: str) -> str:
        return str(self.find(selector).text)

    def click(self, selector: str) -> None:
        """Click the element once it is visible and enabled."""
        self.wait_until(lambda: self._clickable(selector),
                        f"{selector!r} to be clickable").click()

    def type(self, selector: str, text: str, clear: bool = True) -> None:
        """Type `text` into a field, as keystrokes (the page's input handlers run)."""
        element = self.wait_until(lambda: self._clickable(selector),
                                  f"{selector!r} to take input")
        if clear:
            element.clear()
        element.send_keys(text)

    def press(self, *keys: str) -> None:
        """Keys (selenium's Keys.ENTER, ..., or text) sent to whatever has the focus."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def upload(self, selector: str, path: Path) -> None:
        """Choose a local file in a file input (as the file chooser would)."""
        self.find(selector).send_keys(str(path.resolve()))

    def style(self, selector: str, prop: str) -> str:
        """The computed value of a CSS property of an element."""
        return str(self.execute("return getComputedStyle(arguments[0]).getPropertyValue("
                                "arguments[1])", self.find(selector), prop))

    def _clickable(self, selector: str) -> WebElement | None:
        element = self.driver.find_element(By.CSS_SELECTOR, selector)
        return element if element.is_displayed() and element.is_enabled() else None

    # -- waiting ------------------------------------------------------------------------------

    def wait_until(self, condition: Callable[[], T | None], what: str,
                   timeout: float | None = None) -> T:
        """Poll `condition` until it returns something true (that is returned); elements
        missing or replaced meanwhile count as "not yet". BrowserError names `what` and the
        page when the deadline passes."""
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = condition()
            except (NoSuchElementException, StaleElementReferenceException):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"waited {timeout:g} s for {what} at {self.current_url}")
            time.sleep(0.05)  # the poll interval: a page offers nothing to block on

    def wait_for(self, selector: str, visible: bool = True) -> WebElement:
        """The element once it exists and (unless visible=False) is displayed."""
        def ready() -> WebElement | None:
            element = self.driver.find_element(By.CSS_SELECTOR, selector)
            return element if not visible or element.is_displayed() else None

        return self.wait_until(ready, f"{selector!r} to appear")

    def wait_gone(self, selector: str) -> None:
        self.wait_until(lambda: not self.find_all(selector), f"{selector!r} to go")

    def wait_for_text(self, selector: str, text: str) -> WebElement:
        """The element once its text contains `text`."""
        def ready() -> WebElement | None:
            element = self.driver.find_element(By.CSS_SELECTOR, selector)
            return element if text in element.text else None

        return self.wait_until(ready, f"{selector!r} to show {text!r}")

    def wait_for_url(self, part: str) -> str:
        return self.wait_until(lambda: self.current_url if part in self.current_url else None,
                               f"an address containing {part!r}")

    # -- console --------------------------------------------------------------------------

    def console_entries(self) -> list[ConsoleEntry]:
        """Everything the pages logged since the last reset (chromedriver hands each entry
        over once, so they are kept here)."""
        # selenium leaves get_log untyped: it returns chromedriver's list of dicts.
        for entry in self.driver.get_log("browser"):  # type: ignore[no-untyped-call]
            self._console.append(ConsoleEntry(entry["level"], entry.get("source", ""),
                                              entry["message"]))
        return list(self._console)

    def console_errors(self, ignore: Iterable[str] = ()) -> list[ConsoleEntry]:
        """Entries of level SEVERE (uncaught exceptions, console.error, failed loads such as
        a 404), less those matching a regular expression of `ignore` or of expected_errors."""
        patterns = [re.compile(p) for p in (*ignore, *self.expected_errors)]
        return [entry for entry in self.console_entries() if entry.level == "SEVERE"
                and not any(p.search(entry.message) for p in patterns)]

    def assert_no_console_errors(self, ignore: Iterable[str] = ()) -> None:
        errors = self.console_errors(ignore)
        assert not errors, "console errors:\n" + "\n".join(
            f"  [{e.source}] {e.message}" for e in errors)

    # -- accessibility --------------------------------------------------------------------

    def accessibility(self, context: str | None = None,
                      tags: Sequence[str] = WCAG_TAGS) -> list[Violation]:
        """axe-core's WCAG A/AA violations of the page (or of the elements matching the
        selector `context`), most severe first."""
        if self.axe_script is None:
            raise BrowserError("no axe-core here: give Browser the axe_script of install_axe")
        if not self.execute("return typeof window.axe === 'object'"):
            self.execute(self.axe_script.read_text())
        result = self.driver.execute_async_script(AXE_RUN, context, list(tags))
        if "error" in result:
            raise BrowserError(f"axe-core failed on {self.current_url}: {result['error']}")
        return violations(result)

    def assert_accessible(self, context: str | None = None,
                          impacts: Sequence[str] = BLOCKING_IMPACTS) -> list[Violation]:
        """Fail on a violation of one of `impacts` (serious or critical); returns the lesser
        ones, for a test to report or check."""
        violations = self.accessibility(context)
        blocking = [v for v in violations if v.impact in impacts]
        assert not blocking, f"accessibility violations at {self.current_url}:\n" + "\n".join(
            f"  {v}" for v in blocking)
        return violations

    # -- keyboard -------------------------------------------------------------------------

    def focused(self) -> Focused:
        """What has the keyboard focus, and whether the page shows it."""
        described = self.execute(FOCUSED)
        return Focused(**described)

    def tab(self, times: int = 1, backwards: bool = False) -> Focused:
        """Press Tab (Shift+Tab when `backwards`) `times` times; what has the focus then."""
        for _ in range(times):
            actions = ActionChains(self.driver)
            if backwards:
                actions.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
            else:
                actions.send_keys(Keys.TAB)
            actions.perform()
        return self.focused()

    def tab_order(self, limit: int = 100) -> list[Focused]:
        """Every element the Tab key reaches from the top of the page, in order, until the
        focus leaves the page or comes back to the first one."""
        self.execute(FOCUS_TOP)
        order: list[Focused] = []
        for _ in range(limit):
            focused = self.tab()
            if focused.tag == "body" or (order and focused == order[0]):
                break
            order.append(focused)
        return order

    def assert_focus_visible(self) -> Focused:
        focused = self.focused()
        assert focused.visible, f"the focus on {focused} is not visible at {self.current_url}"
        return focused

    # -- files ------------------------------------------------------------------------------

    def download(self, start: Callable[[], object], timeout: float | None = None) -> Path:
        """Call `start` (a click on a link, say) and wait for the file it downloads into
        the `downloads` folder to be complete; returns its path."""
        before = set(self.downloads.iterdir())
        start()

        def complete() -> Path | None:
            new = [p for p in self.downloads.iterdir() if p not in before]
            # Chromium writes into NAME.crdownload (or a .tmp) and renames it when complete.
            if len(new) != 1 or new[0].suffix in (".crdownload", ".tmp"):
                return None
            return new[0]

        return self.wait_until(complete, "a download to complete", timeout)

    # -- what a page weighs ---------------------------------------------------------------

    def clear_cache(self) -> None:
        """Empty the HTTP cache, so the next page load transfers everything."""
        self._cdp("Network.clearBrowserCache")

    def page_weight(self) -> PageWeight:
        """The current page's bytes by the Resource Timing API: its document and every
        resource loaded so far (same-origin sizes; cross-origin ones read 0 unless the
        server sends Timing-Allow-Origin)."""
        self.wait_loaded()
        entries = self.execute(TRANSFERS)
        transfers = [Transfer(**entry) for entry in entries]
        documents = [t for t in transfers if t.kind == "navigation"]
        if not documents:
            raise BrowserError(f"no navigation timing for {self.current_url}")
        return PageWeight(documents[0], tuple(t for t in transfers if t.kind != "navigation"))

    # -- screenshots ----------------------------------------------------------------------

    def screenshot(self, name: str, full_page: bool = True, folder: Path | None = None) -> Path:
        """A PNG of the page (all of it when `full_page`, else the viewport) saved as
        .run/screenshots/<test>/<name>.png; returns its path."""
        folder = folder or SCREENSHOTS / folder_of_test()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{safe_name(name)}.png"
        if full_page:
            # The layout's whole content, captured beyond the viewport: selenium's own
            # full-page screenshot is Firefox's only.
            size = self._cdp("Page.getLayoutMetrics")["cssContentSize"]
            shot = self._cdp("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                             clip={"x": 0, "y": 0, "width": math.ceil(size["width"]),
                                   "height": math.ceil(size["height"]), "scale": 1})
            path.write_bytes(base64.b64decode(shot["data"]))
        else:
            path.write_bytes(self.driver.get_screenshot_as_png())
        return path

    # -- the end ---------------------------------------------------------------------------

    def processes(self) -> set[int]:
        """The ids of this browser's live processes: chromedriver, Chromium, its helpers."""
        return self._processes.alive()

    def close(self) -> None:
        """Quit chromedriver and Chromium and wait until every process they started has
        ended (killing what is left after the timeout); then delete the profile."""
        if self._closed:
            return
        self._closed = True
        self.processes()
        try:
            self.driver.quit()
        finally:
            self._processes.end(self.timeout)
            shutil.rmtree(self._profile, ignore_errors=True)

    def log_tail(self, since: int = 0, lines: int = 80) -> str:
        """The end of chromedriver's log (from byte `since`), for a failure's report."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(since)
                text = log.read().decode(errors="replace")
        except OSError:
            return f"(no chromedriver log at {self.log_path})"
        tail = text.splitlines()[-lines:]
        return f"chromedriver log ({self.log_path}, last {len(tail)} lines):\n" + "\n".join(tail)

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cdp(self, command: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.driver.execute_cdp_cmd(command, params)
        return result


class BrowserFactory:
    """Starts browsers (Browser's keyword arguments) in new folders made by `folders` (a
    name -> path function, such as pytest's tmp_path_factory.mktemp), and closes them all."""

    def __init__(self, folders: Callable[[str], Path], axe_script: Path | None) -> None:
        self.folders = folders
        self.axe_script = axe_script
        self.started: list[Browser] = []

    def __call__(self, **options: Any) -> Browser:
        browser = Browser(self.folders("browser"), axe_script=self.axe_script, **options)
        self.started.append(browser)
        return browser

    def close_all(self) -> None:
        while self.started:
            self.started.pop().close()
