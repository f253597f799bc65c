"""The one error of the client: a service (or an issuer) refused, or could not be reached."""

from __future__ import annotations


class ClientError(RuntimeError):
    """The service refused a request; the message is the service's own explanation."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
