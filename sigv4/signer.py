"""Signing requests with an Authorization header, and presigning URLs (docs/protocol.md section 3)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import SplitResult, urlsplit

from .canonical import (
    ALGORITHM,
    EMPTY_SHA256,
    UNSIGNED_HEADERS,
    amz_date,
    canonical_query,
    canonical_request_from,
    canonical_uri,
    credential_scope,
    parse_query,
    signing_key,
    string_to_sign,
)
from .credentials import Credentials
from .errors import MalformedAuthError, SigningError

__all__ = [
    "MAX_PRESIGN_EXPIRES",
    "Authorization",
    "SignedRequest",
    "canonical_host",
    "parse_authorization",
    "presign_url",
    "sign_headers",
    "sign_request",
    "signature_from_authorization",
    "signature_from_presigned_url",
]

MAX_PRESIGN_EXPIRES: Final = 7 * 24 * 3600
"""SigV4's own bound on ``X-Amz-Expires`` (Transcribe allows at most 300)."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_AUTH_QUERY_KEYS: Final = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }
)
_REPLACED_HEADERS: Final = frozenset({"authorization", "x-amz-date", "x-amz-security-token"})


def _split_url(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise SigningError(f"cannot sign {url!r}: {exc}") from exc
    if parts.scheme not in _DEFAULT_PORTS:
        raise SigningError(f"cannot sign {url!r}: scheme must be http, https, ws or wss")
    if not parts.hostname:
        raise SigningError(f"cannot sign {url!r}: it has no host")
    return parts


def canonical_host(url: str) -> str:
    """The host header value for ``url``: lower-case, port only when not the default."""
    return _target(url).host


@dataclass(frozen=True, slots=True)
class _Target:
    """What signing needs from a URL, parsed once per distinct URL."""

    parts: SplitResult
    host: str
    uri: str
    query_pairs: tuple[tuple[str, str], ...]
    query: str


@lru_cache(maxsize=256)
def _target(url: str) -> _Target:
    parts = _split_url(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{parts.port}"
    pairs = tuple(parse_query(parts.query))
    return _Target(parts, host, canonical_uri(parts.path), pairs, canonical_query(pairs))


def _check_header(name: str, value: str) -> None:
    if not isinstance(name, str) or not isinstance(value, str):
        raise SigningError(f"header {name!r}: names and values must be str")
    if not name or "\r" in name or "\n" in name or ":" in name[1:]:
        raise SigningError(f"header name {name!r} is not a valid HTTP header name")
    if "\r" in value or "\n" in value:
        raise SigningError(f"header {name!r}: value contains a line break")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """Everything a signature was computed from, for sending and for debugging."""

    headers: dict[str, str]
    signature: str
    canonical_request: str
    string_to_sign: str


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    credentials: Credentials,
    region: str,
    service: str,
    now: _dt.datetime,
    payload_hash: str | None = None,
    body: bytes = b"",
) -> SignedRequest:
    """Like :func:`sign_headers`, returning the canonical request and string to sign too."""
    target = _target(url)
    date = amz_date(now)
    out = {}
    to_sign = []
    has_host = False
    content_hash = None
    for name, value in headers.items():
        lname = name.lower()
        if lname in _REPLACED_HEADERS:
            continue
        if (
            type(name) is not str
            or type(value) is not str
            or not name
            or "\n" in value
            or "\r" in value
            or "\n" in name
            or "\r" in name
            or ":" in name[1:]
        ):
            _check_header(name, value)  # raises with the details
        out[name] = value
        if lname not in UNSIGNED_HEADERS:
            to_sign.append((lname, value))
            has_host = has_host or lname == "host"
            if lname == "x-amz-content-sha256":
                content_hash = value
    out["x-amz-date"] = date
    to_sign.append(("x-amz-date", date))
    if credentials.session_token:
        out["x-amz-security-token"] = credentials.session_token
        to_sign.append(("x-amz-security-token", credentials.session_token))
    if not has_host:
        to_sign.append(("host", target.host))
    if payload_hash is None:
        payload_hash = content_hash or hashlib.sha256(body).hexdigest()
    canonical, signed = canonical_request_from(method, target.uri, target.query, to_sign, payload_hash)
    scope = credential_scope(date[:8], region, service)
    sts = string_to_sign(date, scope, canonical)
    signature = signing_key(credentials.secret_access_key, date[:8], region, service).digest(sts.encode("utf-8")).hex()
    out["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return SignedRequest(out, signature, canonical, sts)


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    credentials: Credentials,
    region: str,
    service: str,
    now: _dt.datetime,
    payload_hash: str | None = None,
    body: bytes = b"",
) -> dict[str, str]:
    """Sign a request with an ``Authorization`` header; return the headers to send.

    The result is ``headers`` (any stale ``authorization``, ``x-amz-date`` and
    ``x-amz-security-token`` dropped) plus ``x-amz-date``, ``x-amz-security-token`` when the
    credentials have one, and ``authorization``. Every header is signed except hop-by-hop
    ones and ``user-agent``; ``host`` is signed from the URL (with its port when not the
    default) unless ``headers`` has one. The payload hash is ``payload_hash`` when given
    (``STREAMING-AWS4-HMAC-SHA256-EVENTS``, ``UNSIGNED-PAYLOAD``), else an
    ``x-amz-content-sha256`` header's value, else SHA-256 of ``body``.
    """
    return sign_request(
        method,
        url,
        headers,
        credentials=credentials,
        region=region,
        service=service,
        now=now,
        payload_hash=payload_hash,
        body=body,
    ).headers


def presign_url(
    method: str,
    url: str,
    *,
    credentials: Credentials,
    region: str,
    service: str,
    now: _dt.datetime,
    expires: int,
    signed_headers: Iterable[str] = ("host",),
    headers: Mapping[str, str] | None = None,
    payload_hash: str = EMPTY_SHA256,
) -> str:
    """Sign ``url`` in its query string (``X-Amz-*`` parameters); return the new URL.

    Existing query parameters are kept; the URL's whole query comes back in canonical form
    (RFC 3986 encoding, ``%20`` for space, sorted by name bytes), so what is sent is exactly
    what was signed. ``signed_headers`` other than ``host`` take their values from
    ``headers``. ``expires`` is in seconds, 1 to 604800.
    """
    target = _target(url)
    if isinstance(expires, bool) or not isinstance(expires, int) or not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        raise SigningError(f"expires must be a whole number of seconds in 1..{MAX_PRESIGN_EXPIRES}, got {expires!r}")
    pairs = list(target.query_pairs)
    clash = sorted({k for k, _ in pairs} & _AUTH_QUERY_KEYS)
    if clash:
        raise SigningError(f"cannot presign {url!r}: it already has {', '.join(clash)}")
    given = {k.lower(): v for k, v in (headers or {}).items()}
    to_sign = []
    for name in signed_headers:
        lname = name.lower()
        if lname == "host":
            to_sign.append(("host", given.get("host", target.host)))
        elif lname in given:
            _check_header(name, given[lname])
            to_sign.append((lname, given[lname]))
        else:
            raise SigningError(f"signed header {name!r} has no value in headers")
    date = amz_date(now)
    scope = credential_scope(date[:8], region, service)
    signed_names = ";".join(sorted({n for n, _ in to_sign}))
    pairs += [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key_id}/{scope}"),
        ("X-Amz-Date", date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", signed_names),
    ]
    if credentials.session_token:
        pairs.append(("X-Amz-Security-Token", credentials.session_token))
    query = canonical_query(pairs)
    canonical, _ = canonical_request_from(method, target.uri, query, to_sign, payload_hash)
    sts = string_to_sign(date, scope, canonical)
    signature = signing_key(credentials.secret_access_key, date[:8], region, service).digest(sts.encode("utf-8")).hex()
    signed_query = f"{query}&X-Amz-Signature={signature}"
    return target.parts._replace(query=signed_query, fragment="").geturl()


# -- reading signatures back ---------------------------------------------------------------

_AUTH_RE: Final = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True, slots=True)
class Authorization:
    """A parsed ``Authorization: AWS4-HMAC-SHA256 ...`` header."""

    access_key_id: str
    datestamp: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_credential(credential: str) -> tuple[str, str, str, str]:
    """Split ``AKID/YYYYMMDD/region/service/aws4_request``; raise MalformedAuthError."""
    fields = credential.split("/")
    if len(fields) != 5 or fields[4] != "aws4_request" or not all(fields[:4]):
        raise MalformedAuthError(f"credential {credential!r} is not access-key/date/region/service/aws4_request")
    akid, datestamp, region, service, _ = fields
    if len(datestamp) != 8 or not datestamp.isdigit():
        raise MalformedAuthError(f"credential date {datestamp!r} is not YYYYMMDD")
    return akid, datestamp, region, service


def parse_authorization(header: str) -> Authorization:
    """Parse an Authorization header; raise :class:`MalformedAuthError` when it is not SigV4."""
    match = _AUTH_RE.match(header.strip())
    if match is None:
        raise MalformedAuthError(
            "authorization header is not 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=<64 hex>'"
        )
    akid, datestamp, region, service = parse_credential(match["credential"])
    signed = tuple(match["signed"].split(";"))
    return Authorization(akid, datestamp, region, service, signed, match["signature"])


def signature_from_authorization(header: str) -> str:
    """The hex signature in an Authorization header: the seed of the event-signature chain."""
    return parse_authorization(header).signature


def signature_from_presigned_url(url: str) -> str:
    """The hex ``X-Amz-Signature`` of a presigned URL: the chain's seed over WebSocket."""
    values = [v for k, v in parse_query(urlsplit(url).query) if k == "X-Amz-Signature"]
    if len(values) != 1 or not re.fullmatch(r"[0-9a-f]{64}", values[0]):
        raise MalformedAuthError("URL has no single X-Amz-Signature of 64 hex digits")
    return values[0]
