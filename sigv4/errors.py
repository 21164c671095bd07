"""Errors raised by :mod:`sigv4`.

* :class:`SigningError`: the caller asked for something that cannot be signed (a bad URL,
  a naive datetime, an out-of-range expiry). Also a ``ValueError``.
* :class:`CredentialsError`: no usable credentials, or a credentials source is broken.
* :class:`VerificationError` and its subclasses, for servers: a received request, URL or
  chunk does not carry a valid signature. Each says precisely what failed; ``reason``
  is a short machine-readable code.
"""

from __future__ import annotations

__all__ = [
    "ClockSkewError",
    "CredentialsError",
    "ExpiredError",
    "InvalidExpiresError",
    "MalformedAuthError",
    "MissingAuthError",
    "NoCredentialsError",
    "ScopeMismatchError",
    "SigV4Error",
    "SignatureMismatchError",
    "SigningError",
    "UnknownAccessKeyError",
    "VerificationError",
]


class SigV4Error(Exception):
    """Root of every error raised by :mod:`sigv4`."""


class SigningError(SigV4Error, ValueError):
    """The request, URL or time given to a signer cannot be signed as asked."""


class CredentialsError(SigV4Error):
    """A credentials source exists but is broken (bad file, failing process...)."""


class NoCredentialsError(CredentialsError):
    """No source had credentials. ``searched`` lists where we looked, in order; ``profile``
    is the profile named explicitly (argument or ``AWS_PROFILE``), if one was."""

    def __init__(self, searched: list[str], *, profile: str | None = None) -> None:
        places = "; ".join(searched)
        named = f" for profile {profile!r}" if profile else ""
        super().__init__(f"no AWS credentials found{named} (looked in: {places})")
        self.searched = searched
        self.profile = profile
        """The profile that was asked for by name (argument or AWS_PROFILE), else None."""


class ProfileNotFoundError(NoCredentialsError):
    """The profile named (argument or ``AWS_PROFILE``) is in neither shared file."""

    def __init__(self, profile: str, files: list[str]) -> None:
        super().__init__([f"{f} [{profile}]" for f in files], profile=profile)
        self.args = (f"the profile {profile!r} is not defined in {' or '.join(files)}",)


class VerificationError(SigV4Error):
    """A signature check failed. ``reason`` is a stable short code."""

    reason = "invalid"


class MissingAuthError(VerificationError):
    """The request carries no SigV4 authentication at all."""

    reason = "missing"


class MalformedAuthError(VerificationError):
    """The Authorization header, query parameters or chunk headers cannot be parsed."""

    reason = "malformed"


class UnknownAccessKeyError(VerificationError):
    """The access key id is not one the server knows."""

    reason = "unknown-key"

    def __init__(self, access_key_id: str) -> None:
        super().__init__(
            f"the security token included in the request is invalid (unknown access key id {access_key_id!r})"
        )
        self.access_key_id = access_key_id


class ScopeMismatchError(VerificationError):
    """The credential scope names another date, region or service than expected."""

    reason = "scope"


class SignatureMismatchError(VerificationError):
    """The signature does not match what the secret key produces for this request."""

    reason = "signature"


class ExpiredError(VerificationError):
    """A presigned URL is past its expiry, or a chunk's signature is too old."""

    reason = "expired"


class ClockSkewError(VerificationError):
    """The signing time is too far from the server's clock (5 minutes by default)."""

    reason = "skew"

    def __init__(self, message: str, *, skew_seconds: float) -> None:
        super().__init__(message)
        self.skew_seconds = skew_seconds


class InvalidExpiresError(VerificationError):
    """``X-Amz-Expires`` is missing, not a number, or outside the allowed bounds."""

    reason = "expires"
