"""A hostile registry for the harvesting tests: an OAI-PMH endpoint on a free loopback port
(the standard library's HTTP server, in a thread) that misbehaves on purpose, one way per
path:

- `/oai`: a registry managing `authority`, whose ListRecords carries `records` (the test
  chooses: spoofed identifiers, records of authorities it does not manage, ...);
- `/huge`: ListRecords pages of `huge_size` bytes each (whitespace, mostly), without end;
- `/slow`: a 200 answer that never ends, a byte every 50 ms;
- `/home`: a redirect to `/oai` (the same origin: to be followed);
- `/away`: a redirect to the same port under another host name; `/port`: to another port;
- `/broken`: a 500 whose body is markup (never to be echoed);
- `/packed`: an answer compressed although the harvester asked for none.

Every request's path and query is kept in `requests`, to tell whether a harvest started.
"""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.support.net import free_port

OAI_OPEN = ('<?xml version="1.0" encoding="UTF-8"?><OAI-PMH '
            'xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z'
            "</responseDate><request>http://peer/oai</request>")
RESOURCE_NS = ('xmlns="" xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
               'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" '
               'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
               'xmlns:vg="http://www.ivoa.net/xml/VORegistry/v1.0" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
MARKUP = b"<html><body><script>alert('pwned')</script>PEER-SECRET-TEXT</body></html>"


def service_record(header_id: str, own_id: str, access_url: str,
                   title: str = "A hostile service") -> str:
    """An OAI record of a vr:Service whose header names `header_id` and whose own
    identifier is `own_id`, with one UWS capability at `access_url`."""
    return (f"<record><header><identifier>{header_id}</identifier><datestamp>"
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}</datestamp></header>"
            f'<metadata><ri:Resource {RESOURCE_NS} xsi:type="vr:Service" '
            'created="2025-01-01T00:00:00Z" updated="2025-01-01T00:00:00Z" status="active">'
            f"<title>{title}</title><identifier>{own_id}</identifier><curation>"
            "<publisher>Evil</publisher><contact><name>x</name></contact></curation>"
            "<content><subject>virtual observatory</subject><description>Hostile."
            "</description><referenceURL>https://evil.example/</referenceURL></content>"
            '<capability standardID="ivo://ivoa.net/std/UWS#rest-1.1">'
            f'<interface xsi:type="vs:ParamHTTP" role="std"><accessURL use="base">'
            f"{access_url}</accessURL></interface></capability></ri:Resource></metadata>"
            "</record>")


class HostilePeer:
    """The misbehaving registry; a context manager that serves while it is open."""

    def __init__(self, authority: str = "ivo://evil.example", records: tuple[str, ...] = (),
                 huge_size: int = 2 * 1024**2) -> None:
        self.authority = authority
        self.records = records
        self.huge_size = huge_size
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[str] = []
        self.stopping = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                peer.requests.append(self.path)
                peer.answer(self)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})  # prompt shutdown()

    def __enter__(self) -> HostilePeer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def endpoint(self, path: str) -> str:
        return f"{self.url}{path}"

    def harvests(self, path: str = "/oai") -> int:
        """How many ListRecords requests reached `path`."""
        return sum(1 for r in self.requests if r.startswith(path) and "ListRecords" in r)

    # -- the answers -----------------------------------------------------------------------

    def identify(self) -> bytes:
        registry = (f'<ri:Resource {RESOURCE_NS} xsi:type="vg:Registry" status="active">'
                    f"<title>Evil registry</title><identifier>{self.authority}/registry"
                    f"</identifier><managedAuthority>{self.authority[6:]}</managedAuthority>"
                    "</ri:Resource>")
        return (f"{OAI_OPEN}<Identify><repositoryName>Evil</repositoryName><baseURL>"
                f"{self.url}/oai</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>"
                "x@evil.example</adminEmail><earliestDatestamp>2020-01-01T00:00:00Z"
                "</earliestDatestamp><deletedRecord>persistent</deletedRecord><granularity>"
                f"YYYY-MM-DDThh:mm:ssZ</granularity><description>{registry}</description>"
                "</Identify></OAI-PMH>").encode()

    def list_records(self) -> bytes:
        return (f"{OAI_OPEN}<ListRecords>{''.join(self.records)}<resumptionToken/>"
                "</ListRecords></OAI-PMH>").encode()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        verb = parse_qs(parts.query).get("verb", [""])[0]
        path = parts.path
        if path == "/oai":
            self._send(handler, 200, self.identify() if verb == "Identify"
                       else self.list_records())
        elif path == "/huge":
            page = (f"{OAI_OPEN}<ListRecords>{' ' * self.huge_size}<resumptionToken>"
                    f"t{len(self.requests)}</resumptionToken></ListRecords></OAI-PMH>")
            self._send(handler, 200, self.identify() if verb == "Identify" else page.encode())
        elif path == "/slow":
            self._drip(handler)
        elif path in ("/home", "/away", "/port"):
            target = {"/home": self.url, "/away": f"http://localhost:{self.port}",
                      "/port": f"http://127.0.0.1:{free_port()}"}[path]
            handler.send_response(302)
            handler.send_header("Location", f"{target}/oai?{parts.query}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        elif path == "/broken":
            self._send(handler, 500, MARKUP, "text/html")
        elif path == "/packed":
            self._send(handler, 200, gzip.compress(self.list_records()), encoding="gzip")
        else:
            self._send(handler, 404, MARKUP, "text/html")

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
              media_type: str = "text/xml; charset=utf-8", encoding: str | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", media_type)
        handler.send_header("Content-Length", str(len(body)))
        if encoding:
            handler.send_header("Content-Encoding", encoding)
        handler.end_headers()
        handler.wfile.write(body)

    def _drip(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/xml; charset=utf-8")
        handler.end_headers()
        handler.wfile.write(OAI_OPEN.encode())
        try:
            while not self.stopping.wait(0.05):
                handler.wfile.write(b" ")
                handler.wfile.flush()
        except OSError:  # the harvester hung up: what it should do
            pass
