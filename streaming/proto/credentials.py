"""Which credentials a stream signs with: the AWS SDKs' rule, with one local fallback.

Explicit credentials, then ``AWS_*`` variables, ``AWS_PROFILE`` and the shared files
(:func:`sigv4.resolve_credentials`) always win, also against an endpoint on this machine:
a local endpoint started with ``--credentials AKID:SECRET`` accepts the same pair a user
exported. Only when that chain finds nothing, and the endpoint is on this machine, does
a stream fall back to the local endpoint's development key pair (:data:`DEV_CREDENTIALS`,
which :mod:`streaming.local` accepts by default). It is public and never valid on AWS.

For an endpoint on this machine botocore's chain is not consulted (it could reach an
instance-metadata address and wait on it); a named profile still is read from the files.

The choice is no asyncio work and the client, the job APIs and the local endpoint all
need it, so it lives below all three. It reads nothing itself: the environment and the
shared files are read by :func:`sigv4.resolve_credentials`, the one place that does.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

import sigv4
from sigv4 import Credentials

from ..proto.errors import CredentialsError

__all__ = ["DEV_CREDENTIALS", "LOCAL_HOSTS", "credentials_for", "is_local_endpoint"]

DEV_CREDENTIALS: Final = Credentials(
    "AKIDSTREAMSCRIBELOCAL",
    "streamscribe-local-development-secret",
    source="the local endpoint's development key pair (no other credentials were found)",
)
"""The local endpoint's documented development key pair (never valid on AWS)."""

LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_endpoint(url: str | None) -> bool:
    """True for an endpoint on this machine (where the development key pair may apply)."""
    if not url:
        return False
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return host in LOCAL_HOSTS or host.startswith("127.")


def credentials_for(endpoint: str | None, *, profile: str | None = None) -> Credentials:
    """Resolve credentials for a stream to ``endpoint`` (see the module docstring).

    Raises :class:`~streaming.proto.errors.CredentialsError` (its ``__cause__`` is sigv4's
    error) when nothing is found for a remote endpoint or a named profile, or when a
    source is present but broken.
    """
    local = is_local_endpoint(endpoint)
    try:
        return sigv4.resolve_credentials(profile, use_botocore=not local)
    except sigv4.ProfileNotFoundError as exc:
        raise CredentialsError(f"{exc} (check --profile / AWS_PROFILE)") from exc
    except sigv4.NoCredentialsError as exc:
        if local and exc.profile is None:
            return DEV_CREDENTIALS
        raise CredentialsError(f"{exc}; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from exc
    except sigv4.CredentialsError as exc:
        raise CredentialsError(str(exc)) from exc
