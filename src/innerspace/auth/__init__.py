"""Who is calling: an authenticating proxy's headers, OpenID Connect bearer tokens (JWTs
checked against the issuer's keys, opaque ones introspected), static development tokens;
whichever way, the answer is a `Caller`. How a 401 says to authenticate (`challenge`) and
the protected-resource metadata (`metadata`) live here too."""

from __future__ import annotations

from innerspace.auth.authenticator import Authenticator
from innerspace.auth.caller import ANONYMOUS, Caller
from innerspace.auth.challenge import METADATA_PATH, Challenges
from innerspace.auth.metadata import CLI_CLIENT_ID_FIELD, protected_resource_metadata

__all__ = ["ANONYMOUS", "CLI_CLIENT_ID_FIELD", "METADATA_PATH", "Authenticator", "Caller",
           "Challenges", "protected_resource_metadata"]
