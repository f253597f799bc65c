"""A fast, well-behaved OAI-PMH registry for the incremental harvesting tests and the
harvest benchmark: the standard library's HTTP server (in a thread, or in a process of its
own through `serve_forever`) serving `records`, which the caller may change between harvests.

- Identify: a vg:Registry record managing `authorities`, the earliest datestamp, granularity
  in seconds, deletedRecord "persistent";
- ListRecords (ivo_vor, any set): the records in (datestamp, identifier) order, those from
  `from=` on (inclusive), `page_size` to a page, with resumption tokens; a deleted record is
  its header alone. Every request's query is kept in `requests`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.support.net import free_port

EARLIEST = "2000-01-01T00:00:00Z"
REGISTRY_NS = ('xmlns="" xmlns:ri="http://www.ivoa.net/xml/RegistryInterface/v1.0" '
               'xmlns:vg="http://www.ivoa.net/xml/VORegistry/v1.0" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


@dataclass
class PeerRecord:
    """One record of the peer: its datestamp (YYYY-MM-DDThh:mm:ssZ) and its ri:Resource
    element (None: deleted)."""

    datestamp: str
    xml: str | None


def now_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class OAIPeer:
    """The registry at `url` (`.../oai`) while it is open (a context manager)."""

    def __init__(self, records: dict[str, PeerRecord], authorities: list[str],
                 page_size: int = 500, earliest: str = EARLIEST) -> None:
        self.records = records
        self.authorities = authorities
        self.page_size = page_size
        self.earliest = earliest
        self.requests: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/oai"
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the standard library's name
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                body = peer.answer(query).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})  # prompt shutdown()

    def __enter__(self) -> OAIPeer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set(self, ivoid: str, xml: str | None, datestamp: str | None = None) -> None:
        """Add, change or (xml None) delete a record, datestamped now."""
        with self.lock:
            self.records[ivoid] = PeerRecord(datestamp or now_stamp(), xml)

    # -- answers ---------------------------------------------------------------------------

    def _envelope(self, body: str) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?>'
                '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                f"<responseDate>{now_stamp()}</responseDate>"
                f"<request>{escape(self.url)}</request>{body}</OAI-PMH>")

    def answer(self, query: dict[str, str]) -> str:
        with self.lock:
            self.requests.append(query)
            if query.get("verb") == "Identify":
                return self._envelope(self._identify())
            if query.get("verb") == "ListRecords":
                return self._envelope(self._list(query))
        return self._envelope('<error code="badVerb">only Identify and ListRecords</error>')

    def _identify(self) -> str:
        managed = "".join(f"<managedAuthority>{a.removeprefix('ivo://')}</managedAuthority>"
                          for a in self.authorities)
        return ("<Identify><repositoryName>Test peer</repositoryName>"
                f"<baseURL>{escape(self.url)}</baseURL><protocolVersion>2.0</protocolVersion>"
                "<adminEmail>peer@example.org</adminEmail>"
                f"<earliestDatestamp>{self.earliest}</earliestDatestamp>"
                "<deletedRecord>persistent</deletedRecord>"
                "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity><description>"
                f'<ri:Resource {REGISTRY_NS} xsi:type="vg:Registry" status="active">'
                "<title>Test peer</title><identifier>ivo://peer.example/registry</identifier>"
                f"<capability standardID=\"ivo://ivoa.net/std/Registry\"><interface "
                f'xsi:type="vg:OAIHTTP" role="std"><accessURL>{escape(self.url)}</accessURL>'
                f"</interface></capability>{managed}</ri:Resource></description></Identify>")

    def _list(self, query: dict[str, str]) -> str:
        token = query.get("resumptionToken")
        since, offset = (token.split("|") if token else (query.get("from", ""), "0"))
        chosen = sorted((r.datestamp, ivoid) for ivoid, r in self.records.items()
                        if r.datestamp >= since)
        if not chosen:
            return '<error code="noRecordsMatch">nothing changed</error>'
        first = int(offset)
        page = chosen[first:first + self.page_size]
        parts = ["<ListRecords>"]
        for stamp, ivoid in page:
            xml = self.records[ivoid].xml
            status = "" if xml is not None else ' status="deleted"'
            parts.append(f"<record><header{status}><identifier>{escape(ivoid)}</identifier>"
                         f"<datestamp>{stamp}</datestamp><setSpec>ivo_managed</setSpec>"
                         "</header>")
            if xml is not None:
                # Its unqualified children must not fall into the OAI default namespace.
                bare = xml.replace("<ri:Resource ", '<ri:Resource xmlns="" ', 1)
                parts.append(f"<metadata>{bare}</metadata>")
            parts.append("</record>")
        if first + self.page_size < len(chosen):
            parts.append(f"<resumptionToken completeListSize=\"{len(chosen)}\">"
                         f"{since}|{first + self.page_size}</resumptionToken>")
        parts.append("</ListRecords>")
        return "".join(parts)
