"""What the test browser reports about a page (tests/support/browser.py): console entries,
accessibility violations found by axe-core, the keyboard focus, the bytes transferred; and
the scripts it runs in the page to find them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The WCAG 2.0, 2.1 and 2.2 rules of levels A and AA (axe-core's tags for them).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")
IMPACTS = ("critical", "serious", "moderate", "minor")  # axe-core's, most severe first
BLOCKING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class ConsoleEntry:
    level: str  # SEVERE, WARNING, INFO, DEBUG
    source: str  # javascript (uncaught), console-api, network (a failed load), ...
    message: str  # a failed load's names its URL and status

    def __str__(self) -> str:
        return f"[{self.level} {self.source}] {self.message}"


@dataclass(frozen=True)
class ViolationNode:
    target: str  # a CSS selector of the element
    html: str
    summary: str  # what to fix


@dataclass(frozen=True)
class Violation:
    """One failed axe-core rule and the elements that fail it."""

    id: str
    impact: str  # one of IMPACTS
    help: str
    help_url: str
    nodes: tuple[ViolationNode, ...]

    def __str__(self) -> str:
        where = "; ".join(f"{node.target}: {node.summary}" for node in self.nodes[:5])
        return f"[{self.impact}] {self.id}: {self.help} ({len(self.nodes)} elements: {where})"


# Run with execute_async_script(AXE_RUN, context selector or None, tags).
AXE_RUN = """const [context, tags, done] = arguments;
axe.run(context || document, {runOnly: {type: 'tag', values: tags},
                              resultTypes: ['violations']})
   .then(r => done({violations: r.violations}), e => done({error: String(e)}));"""


def violations(result: dict[str, Any]) -> list[Violation]:
    """The violations of an axe-core result, most severe first."""
    found = [Violation(
        v["id"], v.get("impact") or "minor", v["help"], v["helpUrl"],
        tuple(ViolationNode(" ".join(map(str, n["target"])), n["html"],
                            n.get("failureSummary") or "") for n in v["nodes"]))
        for v in result["violations"]]
    return sorted(found, key=lambda v: IMPACTS.index(v.impact) if v.impact in IMPACTS
                  else len(IMPACTS))


@dataclass(frozen=True)
class Focused:
    """The element holding the keyboard focus ("body" when none does)."""

    tag: str
    id: str
    name: str
    text: str  # what names it, as far as a script sees: aria-label, label, text, value
    visible: bool  # :focus-visible matches and an outline or a shadow draws it

    def __str__(self) -> str:
        return f"<{self.tag}{f' id={self.id}' if self.id else ''}> {self.text!r}"


FOCUSED = """const e = document.activeElement || document.body;
const s = getComputedStyle(e);
const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
const label = e.labels && e.labels.length ? e.labels[0].textContent : '';
return {tag: e.tagName.toLowerCase(), id: e.id || '', name: e.getAttribute('name') || '',
        text: (e.getAttribute('aria-label') || label || e.innerText || e.value || '')
              .trim().slice(0, 80),
        visible: e !== document.body && e.matches(':focus-visible')
                 && (outline || s.boxShadow !== 'none')};"""

# Focusing the body moves the point sequential (Tab) navigation starts from to the top.
FOCUS_TOP = """const b = document.body; b.setAttribute('tabindex', '-1'); b.focus();
b.removeAttribute('tabindex'); window.scrollTo(0, 0);"""


@dataclass(frozen=True)
class Transfer:
    """One response as the Resource Timing API saw it (sizes in bytes)."""

    url: str
    kind: str  # "navigation", or the initiator: script, link, img, fetch, css, ...
    transfer_size: int  # headers and encoded body over the network; 0 from the cache
    encoded_size: int  # the body as sent (compressed)
    decoded_size: int  # the body after decompression


@dataclass(frozen=True)
class PageWeight:
    """A page's document and the resources it loaded."""

    document: Transfer
    resources: tuple[Transfer, ...]

    @property
    def transfer_size(self) -> int:
        return self.document.transfer_size + sum(r.transfer_size for r in self.resources)

    @property
    def encoded_size(self) -> int:
        return self.document.encoded_size + sum(r.encoded_size for r in self.resources)


TRANSFERS = """return ['navigation', 'resource'].flatMap(type =>
    performance.getEntriesByType(type).map(e => ({
        url: e.name, kind: e.entryType === 'navigation' ? 'navigation' : e.initiatorType,
        transfer_size: e.transferSize, encoded_size: e.encodedBodySize,
        decoded_size: e.decodedBodySize})));"""
