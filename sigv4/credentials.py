"""AWS credentials: one identity, pinned for the life of a stream."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

__all__ = ["Credentials"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair, with the session token of temporary credentials.

    ``expiration`` is set for temporary credentials (from ``credential_process``, SSO,
    assume-role): a stream signs every frame with the identity it started with, so
    callers can check that it outlives the stream they are about to open. ``repr`` and
    ``str`` never show the secret or the token.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: _dt.datetime | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False, repr=False)
    """Where :func:`~sigv4.resolve_credentials` found them (for ``--debug`` output)."""

    def __post_init__(self) -> None:
        if not self.access_key_id or not isinstance(self.access_key_id, str):
            raise ValueError("access_key_id must be a non-empty string")
        if not self.secret_access_key or not isinstance(self.secret_access_key, str):
            raise ValueError("secret_access_key must be a non-empty string")
        if self.session_token is not None and not isinstance(self.session_token, str):
            raise ValueError("session_token must be a string or None")
        if self.expiration is not None and self.expiration.utcoffset() is None:
            raise ValueError("expiration must be a timezone-aware datetime")

    def __repr__(self) -> str:
        token = ", session_token=<hidden>" if self.session_token else ""
        expiry = f", expiration={self.expiration.isoformat()}" if self.expiration else ""
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key=<hidden>{token}{expiry})"

    __str__ = __repr__

    def expires_within(self, now: _dt.datetime, seconds: float) -> bool:
        """True when these credentials expire less than ``seconds`` after ``now``."""
        if self.expiration is None:
            return False
        return (self.expiration - now).total_seconds() < seconds
