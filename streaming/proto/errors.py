"""Errors of the streaming client and the local endpoint, split by whose fault it is.

* :class:`ParameterError` - you called it wrong (also a ``ValueError``); raised before
  any connection is made.
* :class:`ServiceError` and its subclasses - the service said no. One class per service
  exception, looked up in a fixed table (:data:`SERVICE_EXCEPTIONS`) from the HTTP status
  and ``x-amzn-errortype`` before the stream, or from an exception / error message during
  it. ``retryable`` says whether trying again can help.
* :class:`TransportError` - the connection failed (connect, TLS, reset, timeout).
* :class:`ProtocolError` - the peer sent bytes that are not the protocol.
* :class:`AudioFormatError`, :class:`AudioSourceError` - the audio handed to a stream is
  not what it claims to be, or its source failed.
* :class:`CredentialsError`, :class:`SigningError` - no usable credentials, or a request
  that cannot be signed; the :mod:`sigv4` error is the ``__cause__``.

Everything the public :mod:`streaming` API raises is a :class:`TranscribeError`
(``tests/test_architecture.py`` checks it), so ``except TranscribeError`` is complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar, Final

__all__ = [
    "SERVICE_EXCEPTIONS",
    "AccessDeniedException",
    "AudioFormatError",
    "AudioSourceError",
    "BadRequestException",
    "ConflictException",
    "ConnectError",
    "ConnectionLost",
    "CredentialsError",
    "ExpiredTokenException",
    "InternalFailureException",
    "InternalServerException",
    "InvalidSignatureException",
    "LimitExceededException",
    "NotFoundException",
    "ParameterError",
    "ProtocolError",
    "ResourceNotFoundException",
    "SerializationException",
    "ServiceError",
    "ServiceQuotaExceededException",
    "ServiceUnavailableException",
    "SigningError",
    "StreamStateError",
    "StreamTimeout",
    "ThrottlingException",
    "TranscribeError",
    "TransportError",
    "UnknownServiceError",
    "UnrecognizedClientException",
    "ValidationException",
    "service_error",
    "service_error_from_http",
]


class TranscribeError(Exception):
    """Root of every error raised by :mod:`streaming`."""


class ParameterError(TranscribeError, ValueError):
    """A request parameter breaks one of the service's rules. ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


class StreamStateError(TranscribeError, RuntimeError):
    """A stream was used in a way its state does not allow (audio after end_audio...)."""


class ServiceError(TranscribeError):
    """The service (or the local endpoint) refused or ended the stream."""

    code: ClassVar[str] = "ServiceError"
    status: ClassVar[int] = 400
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(f"{self.code}: {message}")
        self.message = message
        self.request_id = request_id

    def to_json(self) -> bytes:
        """The error body the service sends (``{"Message": ...}``)."""
        return json.dumps({"Message": self.message}).encode()


class BadRequestException(ServiceError):
    code = "BadRequestException"
    status = 400


class SerializationException(ServiceError):
    code = "SerializationException"
    status = 400


class ConflictException(ServiceError):
    code = "ConflictException"
    status = 409


class LimitExceededException(ServiceError):
    code = "LimitExceededException"
    status = 429
    retryable = True


class InternalFailureException(ServiceError):
    code = "InternalFailureException"
    status = 500
    retryable = True


class ServiceUnavailableException(ServiceError):
    code = "ServiceUnavailableException"
    status = 503
    retryable = True


class UnrecognizedClientException(ServiceError):
    code = "UnrecognizedClientException"
    status = 403


class InvalidSignatureException(ServiceError):
    code = "InvalidSignatureException"
    status = 403


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"
    status = 403


class ExpiredTokenException(ServiceError):
    code = "ExpiredTokenException"
    status = 403


class NotFoundException(ServiceError):
    """Transcribe: no job (or resource) by that name."""

    code = "NotFoundException"
    status = 400


class ResourceNotFoundException(ServiceError):
    """Voice ID: no domain or job with that id."""

    code = "ResourceNotFoundException"
    status = 404


class ThrottlingException(ServiceError):
    code = "ThrottlingException"
    status = 429
    retryable = True


class ValidationException(ServiceError):
    code = "ValidationException"
    status = 400


class InternalServerException(ServiceError):
    """Voice ID's name for a 500."""

    code = "InternalServerException"
    status = 500
    retryable = True


class ServiceQuotaExceededException(ServiceError):
    code = "ServiceQuotaExceededException"
    status = 402


class UnknownServiceError(ServiceError):
    """A service error whose name is not in the table; ``code`` is kept per instance."""

    def __init__(self, code: str, message: str, *, status: int | None = None, request_id: str | None = None) -> None:
        self.code = code  # type: ignore[misc]
        self.status = status or 400  # type: ignore[misc]
        self.retryable = self.status >= 500  # type: ignore[misc]
        super().__init__(message, request_id=request_id)


SERVICE_EXCEPTIONS: Final[Mapping[str, type[ServiceError]]] = {
    cls.code: cls
    for cls in (
        BadRequestException,
        SerializationException,
        ConflictException,
        LimitExceededException,
        InternalFailureException,
        ServiceUnavailableException,
        UnrecognizedClientException,
        InvalidSignatureException,
        AccessDeniedException,
        ExpiredTokenException,
        NotFoundException,
        ResourceNotFoundException,
        ThrottlingException,
        ValidationException,
        InternalServerException,
        ServiceQuotaExceededException,
    )
}
_BY_STATUS: Final = {
    400: BadRequestException,
    403: AccessDeniedException,
    409: ConflictException,
    429: LimitExceededException,
    500: InternalFailureException,
    503: ServiceUnavailableException,
}


def service_error(code: str, message: str, *, status: int | None = None, request_id: str | None = None) -> ServiceError:
    """The typed error for a service exception name (by the fixed table)."""
    cls = SERVICE_EXCEPTIONS.get(code)
    if cls is None:
        return UnknownServiceError(code, message, status=status, request_id=request_id)
    return cls(message, request_id=request_id)


def service_error_from_http(
    status: int, headers: Mapping[str, str], body: bytes, *, request_id: str | None = None
) -> ServiceError:
    """The typed error for an HTTP error response before the stream started.

    The name comes from ``x-amzn-errortype`` (``Name:extra``), else the body's ``__type``,
    else the status; the text from the JSON body's ``Message`` or ``message``.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    code = lowered.get("x-amzn-errortype", "").split(":", 1)[0].strip()
    message = ""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
        message = body.decode("utf-8", "replace").strip()[:500]
    if isinstance(data, dict):
        message = str(data.get("Message") or data.get("message") or message)
        if not code and isinstance(data.get("__type"), str):
            code = data["__type"].rsplit("#", 1)[-1]
    if not message:
        message = f"HTTP {status}"
    request_id = request_id or lowered.get("x-amzn-requestid") or lowered.get("x-amzn-request-id")
    if not code:
        cls = _BY_STATUS.get(status)
        if cls is None:
            return UnknownServiceError(f"HTTP{status}", message, status=status, request_id=request_id)
        return cls(message, request_id=request_id)
    return service_error(code, message, status=status, request_id=request_id)


class TransportError(TranscribeError):
    """The connection to the endpoint failed.

    ``retryable`` is decided per instance: a refused or dropped connection is worth
    another try, a server whose certificate does not verify or that will not speak
    HTTP/2 is not.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ConnectError(TransportError):
    """Could not connect (DNS, refused, TLS handshake, no HTTP/2).

    ``kind`` names the failures a user can fix, so that a front end can say how in its own
    terms: ``"untrusted"`` (the certificate does not verify: give the endpoint's CA),
    ``"not-tls"`` (TLS to a port without it: use http:// or ws://), ``"tls-only"`` (plain
    text to a TLS port: use https:// or wss://); None otherwise. ``detail`` is the message
    without the advice it ends with (in Python terms), for a front end that gives its own.
    """

    def __init__(self, message: str, *, retryable: bool = True, kind: str | None = None, advice: str = "") -> None:
        super().__init__(f"{message}{advice}", retryable=retryable)
        self.kind = kind
        self.detail = message


class ConnectionLost(TransportError):
    """The connection dropped or was reset mid-stream (GOAWAY, RST_STREAM, EOF)."""


class StreamTimeout(TransportError, TimeoutError):
    """Connecting or waiting for the peer took longer than the configured timeout."""


class ProtocolError(TranscribeError):
    """The peer sent something that is not the Transcribe streaming protocol."""


class AudioFormatError(TranscribeError, ValueError):
    """The audio is not what its source declares; the message says what and where."""


class AudioSourceError(TranscribeError):
    """An audio source raised while a stream was reading it; the source's error is the cause."""


class CredentialsError(TranscribeError):
    """No usable credentials were found, or a credentials source is broken."""


class SigningError(TranscribeError, ValueError):
    """A request could not be signed (a bad endpoint URL or region)."""
