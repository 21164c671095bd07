"""Verifying SigV4 on received requests, for servers such as the local endpoint.

Accepts what real clients send (docs/interop.md section 3): ``host`` or ``:authority`` as the
signed host header, the authority with or without a port used verbatim, an absent
``x-amz-content-sha256`` (the payload hash is then that of the body), and a bare trailing
``?`` on the path. Every comparison of signatures is constant-time.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from .canonical import (
    ALGORITHM,
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    canonical_request,
    credential_scope,
    parse_amz_date,
    parse_query,
    signing_key,
    string_to_sign,
)
from .credentials import Credentials
from .errors import (
    ClockSkewError,
    ExpiredError,
    InvalidExpiresError,
    MalformedAuthError,
    MissingAuthError,
    ScopeMismatchError,
    SignatureMismatchError,
    SigningError,
    UnknownAccessKeyError,
)
from .events import ChunkVerifier
from .signer import parse_authorization, parse_credential

__all__ = [
    "CredentialLookup",
    "VerifiedRequest",
    "verify_presigned_request",
    "verify_request",
]

CredentialLookup: TypeAlias = Callable[[str], Credentials | None] | Mapping[str, Credentials]
"""How a server finds the credentials of an access key id: a mapping or a function."""

Headers: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]

_DEFAULT_SKEW: Final = 300.0


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """A request whose signature checked out; seeds the chunk verifier."""

    credentials: Credentials = field(repr=False)
    access_key_id: str
    signed_at: _dt.datetime
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    presigned: bool

    def chunk_verifier(self, *, max_age: float = 300.0, max_skew: float = 300.0) -> ChunkVerifier:
        """A verifier for the chained ``:chunk-signature`` of this request's frames."""
        return ChunkVerifier(
            self.credentials,
            self.region,
            self.service,
            self.signature,
            max_age=max_age,
            max_skew=max_skew,
        )


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(name.lower(), value) for name, value in items]


def _lookup(lookup: CredentialLookup, access_key_id: str) -> Credentials:
    found = lookup.get(access_key_id) if isinstance(lookup, Mapping) else lookup(access_key_id)
    if found is None:
        raise UnknownAccessKeyError(access_key_id)
    return found


def _split_target(target: str) -> tuple[str, str]:
    path, _, query = target.partition("?")
    if not path.startswith("/"):
        raise MalformedAuthError(f"request target {target!r} does not start with '/'")
    return path, query


def _signed_values(names: tuple[str, ...], headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (name, value) pairs of each signed header, host and :authority interchangeable."""
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name, []).append(value)
    out = []
    for name in names:
        values = by_name.get(name)
        if values is None and name in ("host", ":authority"):
            values = by_name.get(":authority" if name == "host" else "host")
        if values is None:
            raise MalformedAuthError(f"signed header {name!r} is not in the request")
        out += [(name, value) for value in values]
    return out


def _check_skew(signed_at: _dt.datetime, now: _dt.datetime, max_skew: float) -> None:
    skew = (signed_at - now).total_seconds()
    if skew > max_skew:
        raise ClockSkewError(
            f"Signature not yet current: {signed_at:%Y%m%dT%H%M%SZ} is still later than "
            f"{now + _dt.timedelta(seconds=max_skew):%Y%m%dT%H%M%SZ} "
            f"({now:%Y%m%dT%H%M%SZ} + {max_skew / 60:g} min.)",
            skew_seconds=skew,
        )
    if -skew > max_skew:
        raise ClockSkewError(
            f"Signature expired: {signed_at:%Y%m%dT%H%M%SZ} is now earlier than "
            f"{now - _dt.timedelta(seconds=max_skew):%Y%m%dT%H%M%SZ} "
            f"({now:%Y%m%dT%H%M%SZ} - {max_skew / 60:g} min.)",
            skew_seconds=skew,
        )


def _check_scope(
    datestamp: str,
    region: str,
    service: str,
    signed_at: _dt.datetime,
    want_region: str | None,
    want_service: str | None,
) -> None:
    if datestamp != f"{signed_at:%Y%m%d}":
        raise ScopeMismatchError(f"credential date {datestamp} does not match the signing date {signed_at:%Y%m%d}")
    if want_region is not None and region != want_region:
        raise ScopeMismatchError(f"credential should be scoped to region {want_region!r}, not {region!r}")
    if want_service is not None and service != want_service:
        raise ScopeMismatchError(f"credential should be scoped to service {want_service!r}, not {service!r}")


def _expected(
    credentials: Credentials,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    signed: list[tuple[str, str]],
    payload_hash: str,
    date: str,
    region: str,
    service: str,
) -> str:
    try:
        canonical, _ = canonical_request(method, path, query, signed, payload_hash)
        sts = string_to_sign(date, credential_scope(date[:8], region, service), canonical)
    except UnicodeEncodeError as exc:  # a header decoded with surrogates (bytes that are not UTF-8)
        raise MalformedAuthError(
            f"a signed header or the path holds bytes that are not UTF-8 (character {exc.start} of the request)"
        ) from exc
    key = signing_key(credentials.secret_access_key, date[:8], region, service)
    return key.digest(sts.encode("utf-8")).hex()


def verify_request(
    method: str,
    target: str,
    headers: Headers,
    *,
    credentials: CredentialLookup,
    now: _dt.datetime,
    region: str | None = None,
    service: str | None = None,
    body: bytes = b"",
    max_skew: float = _DEFAULT_SKEW,
) -> VerifiedRequest:
    """Verify a request signed with an ``Authorization`` header.

    ``target`` is the request target as received (``:path``: path and query).
    ``region`` / ``service``, when given, must match the credential scope. Raises a
    :class:`~sigv4.errors.VerificationError` subclass saying what failed.
    """
    pairs = _pairs(headers)
    values = dict(pairs)
    header = values.get("authorization")
    if header is None:
        raise MissingAuthError("request has no authorization header")
    auth = parse_authorization(header)
    date = values.get("x-amz-date", "")
    signed_at = parse_amz_date(date)
    if signed_at is None:
        raise MalformedAuthError(f"x-amz-date {date!r} is missing or not YYYYMMDDTHHMMSSZ")
    _check_scope(auth.datestamp, auth.region, auth.service, signed_at, region, service)
    _check_skew(signed_at, now, max_skew)
    found = _lookup(credentials, auth.access_key_id)
    path, query = _split_target(target)
    try:
        query_pairs = parse_query(query)
    except SigningError as exc:
        raise MalformedAuthError(str(exc)) from exc
    token = values.get("x-amz-security-token")
    if found.session_token is not None and token != found.session_token:
        raise UnknownAccessKeyError(auth.access_key_id)
    payload_hash = values.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    signed = _signed_values(auth.signed_headers, pairs)
    expected = _expected(found, method, path, query_pairs, signed, payload_hash, date, auth.region, auth.service)
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureMismatchError(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return VerifiedRequest(
        found,
        auth.access_key_id,
        signed_at,
        auth.region,
        auth.service,
        auth.signed_headers,
        auth.signature,
        False,
    )


_REQUIRED_QUERY: Final = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)


def verify_presigned_request(
    method: str,
    target: str,
    headers: Headers,
    *,
    credentials: CredentialLookup,
    now: _dt.datetime,
    region: str | None = None,
    service: str | None = None,
    max_expires: int = 300,
    max_skew: float = _DEFAULT_SKEW,
) -> VerifiedRequest:
    """Verify a request whose URL was presigned (``X-Amz-*`` query parameters).

    Checks, in order: the parameters are all there once, the algorithm, ``X-Amz-Expires``
    within ``1..max_expires`` (Transcribe: 300), the credential scope, the date not in the
    future beyond ``max_skew``, the URL not expired, the access key, the signature. The
    payload hash is that of an empty body (``UNSIGNED-PAYLOAD`` is accepted too).
    """
    path, query = _split_target(target)
    try:
        query_pairs = parse_query(query)
    except SigningError as exc:
        raise MalformedAuthError(str(exc)) from exc
    found_keys = {k for k, _ in query_pairs}
    if not found_keys & set(_REQUIRED_QUERY):
        raise MissingAuthError("URL carries no X-Amz-* signature parameters")
    params: dict[str, str] = {}
    for key, value in query_pairs:
        if key in _REQUIRED_QUERY or key == "X-Amz-Security-Token":
            if key in params:
                raise MalformedAuthError(f"query parameter {key} appears more than once")
            params[key] = value
    missing = [k for k in _REQUIRED_QUERY if k not in params]
    if missing:
        raise MalformedAuthError(f"presigned URL lacks {', '.join(missing)}")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise MalformedAuthError(f"X-Amz-Algorithm must be {ALGORITHM}, not {params['X-Amz-Algorithm']!r}")
    expires_text = params["X-Amz-Expires"]
    if not expires_text.isdigit() or not 1 <= int(expires_text) <= max_expires:
        raise InvalidExpiresError(
            f"X-Amz-Expires must be a number of seconds from 1 to {max_expires}, got {expires_text!r}"
        )
    akid, datestamp, region_, service_ = parse_credential(params["X-Amz-Credential"])
    date = params["X-Amz-Date"]
    signed_at = parse_amz_date(date)
    if signed_at is None:
        raise MalformedAuthError(f"X-Amz-Date {date!r} is not YYYYMMDDTHHMMSSZ")
    _check_scope(datestamp, region_, service_, signed_at, region, service)
    if (signed_at - now).total_seconds() > max_skew:
        _check_skew(signed_at, now, max_skew)
    expires_at = signed_at + _dt.timedelta(seconds=int(expires_text))
    if now > expires_at:
        raise ExpiredError(
            f"Request has expired: signed at {date}, valid for {expires_text} s until {expires_at:%Y%m%dT%H%M%SZ}"
        )
    signature = params["X-Amz-Signature"]
    found = _lookup(credentials, akid)
    if found.session_token is not None and params.get("X-Amz-Security-Token") != found.session_token:
        raise UnknownAccessKeyError(akid)
    signed_names = tuple(params["X-Amz-SignedHeaders"].split(";"))
    signed = _signed_values(signed_names, _pairs(headers))
    unsigned_query = [(k, v) for k, v in query_pairs if k != "X-Amz-Signature"]
    for payload_hash in (EMPTY_SHA256, UNSIGNED_PAYLOAD):
        expected = _expected(found, method, path, unsigned_query, signed, payload_hash, date, region_, service_)
        if hmac.compare_digest(expected, signature):
            return VerifiedRequest(found, akid, signed_at, region_, service_, signed_names, signature, True)
    raise SignatureMismatchError(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method."
    )
