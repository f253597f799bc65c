"""The media types innerspace answers with, named once."""

from __future__ import annotations

XML = "application/xml"
VOTABLE = "application/x-votable+xml"
OAI_XML = "text/xml; charset=utf-8"  # what OAI-PMH harvesters expect
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
HTML = "text/html; charset=utf-8"
CSV = "text/csv;header=present"
