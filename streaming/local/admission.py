"""Whether the endpoint opens a stream, pure: a request in, an admitted stream or the service's refusal out.

The checks run in the service's order, and the first that fails answers: the operation
(path and method), the signature (:mod:`sigv4`), the parameters (the client's own table),
the named resources, the concurrent-stream quota (HTTP/2 and WebSocket counted apart),
a scripted refusal, and who owns the session id. Nothing here reads a clock, draws a
random id or touches a socket: ``now``, the request id and a fresh session id come in
with the request, and the endpoint's current streams come in as counts and owners.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sigv4
from sigv4 import Credentials

from ..proto.errors import (
    AccessDeniedException,
    BadRequestException,
    ConflictException,
    InvalidSignatureException,
    LimitExceededException,
    ParameterError,
    ServiceError,
    UnknownServiceError,
    UnrecognizedClientException,
)
from ..proto.params import Operation, StreamParams, params_from_headers, params_from_query
from .faults import FaultPlan
from .resources import Resources, requested_names

__all__ = ["Admitted", "Gate", "OpenRequest", "access_key", "admit", "auth_error", "check_resources"]

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """A request to open a stream: HTTP/2 (a signed POST) or WebSocket (a presigned GET)."""

    method: str
    target: str  # origin-form: /path?query
    headers: Headers
    websocket: bool

    @property
    def path(self) -> str:
        # Split, never parse as a URL: urlsplit raises on "//[x", which a stranger can send.
        return self.target.partition("?")[0]


@dataclass(frozen=True, slots=True)
class Gate:
    """What the endpoint admits: its key pairs, region, quota, resources and scripted faults."""

    credentials: Mapping[str, Credentials]
    region: str | None
    max_streams: int
    resources: Resources
    faults: FaultPlan


@dataclass(frozen=True, slots=True)
class Admitted:
    """An admitted stream: what it runs with, and whether it takes over a live session."""

    operation: Operation
    params: StreamParams
    session_id: str
    verified: sigv4.VerifiedRequest
    takes_over: bool

    def response_headers(self, request_id: str) -> dict[str, str]:
        return {
            "content-type": "application/vnd.amazon.eventstream",
            "x-amzn-request-id": request_id,
            **self.params.with_session_id(self.session_id).to_headers(),
        }


def admit(
    request: OpenRequest,
    gate: Gate,
    *,
    now: _dt.datetime,
    fresh_session_id: str,
    open_streams: int,
    session_owners: Mapping[str, str],
) -> Admitted | ServiceError:
    """Admit ``request`` or say why not. ``open_streams`` counts the live streams of the
    request's protocol; ``session_owners`` maps live session ids to their access keys."""
    path = request.path
    found = Operation.from_path(path)
    if found is None or found[1] != request.websocket:
        return UnknownServiceError("UnknownOperationException", f"No operation at {path}", status=404)
    operation = found[0]
    want = "GET" if request.websocket else "POST"
    if request.method != want:
        refused = f"{request.method} is not allowed on {path}"
        return UnknownServiceError("UnknownOperationException", refused, status=405)
    try:
        verified = _verify(request, gate, now)
    except sigv4.VerificationError as exc:
        return auth_error(exc)
    except sigv4.SigningError as exc:
        return InvalidSignatureException(str(exc))
    try:
        params = _parse(request, operation)
    except (ParameterError, sigv4.SigningError) as exc:
        return BadRequestException(str(exc))
    missing = check_resources(params, gate.resources)
    if missing is not None:
        return BadRequestException(missing)
    if open_streams >= gate.max_streams:
        protocol = "WebSocket" if request.websocket else "HTTP/2"
        return LimitExceededException(
            f"You have reached your limit of {gate.max_streams} concurrent {protocol} streams. Try again later."
        )
    session_id = params.session_id or fresh_session_id
    scripted = gate.faults.refuse_open(operation, session_id)
    if scripted is not None:
        return scripted
    owner = session_owners.get(session_id)
    if owner is not None and owner != verified.access_key_id:
        # Only the identity that owns a session may take it over (the pair is public).
        return ConflictException("The session ID is in use by a stream of another identity.")
    return Admitted(operation, params, session_id, verified, takes_over=owner is not None)


def _verify(request: OpenRequest, gate: Gate, now: _dt.datetime) -> sigv4.VerifiedRequest:
    verify = sigv4.verify_presigned_request if request.websocket else sigv4.verify_request
    return verify(
        request.method,
        request.target,
        list(request.headers),
        credentials=gate.credentials,
        now=now,
        region=gate.region,
        service="transcribe",
    )


def _parse(request: OpenRequest, operation: Operation) -> StreamParams:
    if request.websocket:
        query = request.target.partition("?")[2]
        return params_from_query(operation, sigv4.canonical.parse_query(query))
    return params_from_headers(operation, request.headers)


def _not_found(what: str) -> str:
    return f"The requested {what} couldn't be found. Check the {what} name and try your request again."


def check_resources(params: StreamParams, resources: Resources) -> str | None:
    """Why the named vocabularies, filters or language model cannot serve this request."""
    language = params.get("language_code")
    options = set(params.get("language_options", ()))  # type: ignore[arg-type]
    tables: tuple[tuple[str, str, Mapping[str, Any]], ...] = (
        ("vocabulary_name", "vocabulary", resources.vocabularies),
        ("vocabulary_filter_name", "vocabulary filter", resources.filters),
        ("language_model_name", "language model", resources.language_models),
    )
    for name, what, table in tables:
        languages: dict[str, str] = {}
        for item in requested_names(params, name):
            resource = table.get(item)
            if resource is None:
                return _not_found(what)
            code = resource.language_code
            if language is not None and code != language:
                # As the API reference says: "If the languages don't match, the [resource]
                # isn't applied. There are no errors or warnings" (TextRules skips it).
                continue
            if language is None and code not in options:
                return f"The {what} {item} is for {code}, which is not one of the language options."
            if code in languages:
                return f"Only one {what} per language may be named: {languages[code]} and {item} are both {code}."
            languages[code] = item
    return None


def auth_error(exc: sigv4.VerificationError) -> ServiceError:
    """The service's exception for a signature that did not verify."""
    if isinstance(exc, sigv4.UnknownAccessKeyError):
        return UnrecognizedClientException("The security token included in the request is invalid.")
    if isinstance(exc, sigv4.MissingAuthError):
        return AccessDeniedException(f"Missing Authentication Token: {exc}")
    return InvalidSignatureException(str(exc))


_CREDENTIAL_RE: Final = re.compile(r"Credential=([A-Z0-9]{1,128})(?:/|%2F)")


def access_key(headers: Headers, target: str) -> str:
    """The access key a request claims (from its Authorization header or presigned URL)."""
    for name, value in headers:
        if name.lower() == "authorization":
            match = _CREDENTIAL_RE.search(value)
            if match:
                return match[1]
    match = _CREDENTIAL_RE.search(target)
    return match[1] if match else "none"
