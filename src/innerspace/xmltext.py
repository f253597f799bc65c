"""Which text an XML 1.0 document can carry.

Every document innerspace writes (UWS, VOResource, OAI-PMH, VOTable) holds text that came from
outside: parameter values, result names, manifests, harvested records, ADQL queries. XML 1.0
cannot carry control characters (but tab, newline and carriage return), lone surrogates (what
undecodable bytes become) or U+FFFE/U+FFFF; this is the one definition of that rule.
"""

from __future__ import annotations

import re

NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> bool:
    """Whether `text` can appear in an XML 1.0 document."""
    return NOT_XML.search(text) is None


def printable(text: str, replacement: str = "?") -> str:
    """`text` with every character XML cannot carry replaced."""
    return NOT_XML.sub(replacement, text)
