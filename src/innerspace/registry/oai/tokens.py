"""Stateless resumption tokens: the query a list continues (verb, format, set, from,
until), the key of the last record sent, the cursor and the expiry, as URL-safe base64 JSON
with a digest. Tokens are not secret (they only select public records); the digest catches
corruption and tampering by accident."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from innerspace.registry.oai.protocol import FORMATS, Query, datestamp, fail, parse_bound

TOKEN_VERSION = 1
TOKEN_SALT = b"innerspace-oai-resumption-token"


def _digest(payload: str) -> str:
    return hashlib.sha256(TOKEN_SALT + payload.encode()).hexdigest()[:16]


def encode_token(query: Query, expires: datetime) -> str:
    """The token that continues `query` after `query.after`, valid until `expires`."""
    assert query.after is not None
    data = {"v": TOKEN_VERSION, "verb": query.verb, "p": query.prefix, "s": query.set_spec,
            "f": query.from_text, "u": query.until_text,
            "a": [datestamp(query.after[0]), query.after[1]], "c": query.cursor,
            "e": int(expires.timestamp())}
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{payload}.{_digest(payload)}"


def decode_token(token: str, verb: str, now: datetime) -> Query:
    """The query a token continues; badResumptionToken when it is not ours, not for this
    verb, or expired."""
    bad = fail("badResumptionToken", "the resumptionToken is invalid")
    payload, _, digest = token.rpartition(".")
    if not payload or not hmac.compare_digest(digest.encode(), _digest(payload).encode()):
        raise bad
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        after_stamp, after_id = data["a"]
        after = parse_bound(after_stamp, False)
        query = Query(verb=data["verb"], prefix=data["p"], set_spec=data["s"],
                      from_text=data["f"], until_text=data["u"],
                      after=(after[0], after_id) if after else None, cursor=data["c"])
        expires = datetime.fromtimestamp(data["e"], UTC)
        valid = (data["v"] == TOKEN_VERSION and query.after is not None
                 and isinstance(after_id, str) and query.prefix in FORMATS
                 and isinstance(query.cursor, int) and query.cursor > 0
                 and all(v is None or isinstance(v, str)
                         for v in (query.set_spec, query.from_text, query.until_text)))
    except (binascii.Error, ValueError, TypeError, KeyError, OverflowError, OSError):
        raise bad from None
    if not valid:
        raise bad
    if query.verb != verb:
        raise fail("badResumptionToken", f"the resumptionToken belongs to {query.verb}, "
                                         f"not {verb}")
    if expires <= now:
        raise fail("badResumptionToken", f"the resumptionToken expired at {datestamp(expires)}")
    return query

