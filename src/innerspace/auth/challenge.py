"""What a 401 says about how to authenticate (WWW-Authenticate challenges):

- `Bearer realm="...", resource_metadata="<base>/.well-known/oauth-protected-resource"`
  (RFC 6750 with RFC 9728's pointer to the protected-resource metadata, as the IVOA AuthVO
  draft recommends), with `error="invalid_token"` and a description when a token came and
  was refused;
- `ivoa_bearer standard_id="ivo://ivoa.net/sso#OAuth", access_url="<discovery document>"`,
  the challenge of the earlier SSO_next/AuthVO drafts, when an OpenID provider is configured.
"""

from __future__ import annotations

import re

from innerspace import vocabulary
from innerspace.config import Auth
from innerspace.errors import InnerspaceError, InvalidToken

METADATA_PATH = "/.well-known/oauth-protected-resource"
UNQUOTABLE = re.compile(r'[^\x20-\x7e]|["\\]')


def quoted(text: str) -> str:
    """`text` as an RFC 9110 quoted-string (printable ASCII; quotes and backslashes
    become apostrophes and slashes rather than escapes some parsers mishandle)."""
    return '"' + UNQUOTABLE.sub(lambda m: {'"': "'", "\\": "/"}.get(m.group(), "?"),
                                text) + '"'


class Challenges:
    def __init__(self, auth: Auth) -> None:
        self.realm = auth.realm
        self.access_url = auth.discovery_url

    def for_error(self, base_url: str, error: InnerspaceError) -> list[str]:
        """The WWW-Authenticate values of a 401 answering `error` at a service whose public
        base URL is `base_url`."""
        bearer = (f"Bearer realm={quoted(self.realm)}, "
                  f"resource_metadata={quoted(base_url + METADATA_PATH)}")
        if isinstance(error, InvalidToken):
            bearer += f', error="invalid_token", error_description={quoted(error.message)}'
        challenges = [bearer]
        if self.access_url:
            challenges.append(f"ivoa_bearer standard_id={quoted(vocabulary.SSO_OAUTH)}, "
                              f"access_url={quoted(self.access_url)}")
        return challenges
