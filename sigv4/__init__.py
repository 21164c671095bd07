"""AWS Signature Version 4 for Transcribe streaming, sans-I/O.

Signing (clients): :func:`sign_headers` for HTTP/2 requests, :func:`presign_url` for
WebSocket URLs, :class:`EventSigner` for the chained per-frame ``:chunk-signature``.
Verifying (servers): :func:`verify_request`, :func:`verify_presigned_request` and the
:class:`ChunkVerifier` they seed. Credentials: :class:`Credentials` and
:func:`resolve_credentials` (the only code here that reads the environment or files).

Every signer takes the time as an argument (``now``); nothing here reads the clock.
"""

from .canonical import EMPTY_SHA256, STREAMING_PAYLOAD, UNSIGNED_PAYLOAD
from .credentials import Credentials
from .errors import (
    ClockSkewError,
    CredentialsError,
    ExpiredError,
    InvalidExpiresError,
    MalformedAuthError,
    MissingAuthError,
    NoCredentialsError,
    ProfileNotFoundError,
    ScopeMismatchError,
    SignatureMismatchError,
    SigningError,
    SigV4Error,
    UnknownAccessKeyError,
    VerificationError,
)
from .events import ChunkVerifier, EventSigner
from .resolve import resolve_credentials
from .signer import (
    Authorization,
    SignedRequest,
    canonical_host,
    parse_authorization,
    presign_url,
    sign_headers,
    sign_request,
    signature_from_authorization,
    signature_from_presigned_url,
)
from .verify import CredentialLookup, VerifiedRequest, verify_presigned_request, verify_request

__all__ = [
    "EMPTY_SHA256",
    "STREAMING_PAYLOAD",
    "UNSIGNED_PAYLOAD",
    "Authorization",
    "ChunkVerifier",
    "ClockSkewError",
    "CredentialLookup",
    "Credentials",
    "CredentialsError",
    "EventSigner",
    "ExpiredError",
    "InvalidExpiresError",
    "MalformedAuthError",
    "MissingAuthError",
    "NoCredentialsError",
    "ProfileNotFoundError",
    "ScopeMismatchError",
    "SigV4Error",
    "SignatureMismatchError",
    "SignedRequest",
    "SigningError",
    "UnknownAccessKeyError",
    "VerificationError",
    "VerifiedRequest",
    "canonical_host",
    "parse_authorization",
    "presign_url",
    "resolve_credentials",
    "sign_headers",
    "sign_request",
    "signature_from_authorization",
    "signature_from_presigned_url",
    "verify_presigned_request",
    "verify_request",
]
