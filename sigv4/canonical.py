"""The SigV4 building blocks shared by signers and verifiers (docs/protocol.md section 3).

Canonical request::

    METHOD \\n canonical URI \\n canonical query \\n canonical headers \\n
    \\n signed header names \\n payload hash

String to sign::

    AWS4-HMAC-SHA256 \\n YYYYMMDDTHHMMSSZ \\n date/region/service/aws4_request \\n
    hex(sha256(canonical request))

Signing key: HMAC chain ``"AWS4" + secret`` -> date -> region -> service -> ``aws4_request``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Final
from urllib.parse import quote, unquote

from .errors import SigningError

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "STREAMING_PAYLOAD",
    "UNSIGNED_HEADERS",
    "UNSIGNED_PAYLOAD",
    "HmacKey",
    "amz_date",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_request_from",
    "canonical_uri",
    "credential_scope",
    "parse_amz_date",
    "parse_query",
    "quote_rfc3986",
    "remove_dot_segments",
    "signing_key",
    "string_to_sign",
]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
STREAMING_PAYLOAD: Final = "STREAMING-AWS4-HMAC-SHA256-EVENTS"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"

UNSIGNED_HEADERS: Final = frozenset(
    # Hop-by-hop headers and ones that proxies and HTTP stacks rewrite: signing them
    # would make a valid request fail verification after an innocent rewrite.
    {
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
        "traceparent",
        "tracestate",
        "baggage",
    }
)

_AMZ_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"


# -- time ----------------------------------------------------------------------------------


def amz_date(now: _dt.datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` for an aware datetime (whole seconds, UTC)."""
    offset = now.utcoffset()
    if offset is None:
        raise SigningError(
            f"naive datetime {now.isoformat()} given as the signing time; pass an aware one "
            "(datetime.now(timezone.utc))"
        )
    return amz_date_from_seconds(int((now - _EPOCH).total_seconds() // 1))


_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


@lru_cache(maxsize=16)
def amz_date_from_seconds(seconds: int) -> str:
    """``YYYYMMDDTHHMMSSZ`` for whole seconds since the epoch; cached (signing times repeat)."""
    return time.strftime(_AMZ_DATE_FORMAT, time.gmtime(seconds))


def parse_amz_date(text: str) -> _dt.datetime | None:
    """The aware datetime of a ``YYYYMMDDTHHMMSSZ`` string, or None when malformed."""
    if len(text) != 16 or text[8] != "T" or text[15] != "Z":
        return None
    try:
        return _dt.datetime.strptime(text, _AMZ_DATE_FORMAT).replace(tzinfo=_dt.UTC)
    except ValueError:
        return None


def credential_scope(datestamp: str, region: str, service: str) -> str:
    return f"{datestamp}/{region}/{service}/aws4_request"


# -- HMAC ----------------------------------------------------------------------------------


class HmacKey:
    """HMAC-SHA256 with the key's inner and outer states computed once.

    ``digest(msg)`` then costs two SHA-256 state copies and two short updates, about half
    of what ``hmac.digest`` spends setting the key up again on every call.
    """

    __slots__ = ("_inner", "_outer", "raw")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\x00")
        self.raw = key
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _hmac(key: bytes, message: str) -> bytes:
    return HmacKey(key).digest(message.encode("utf-8"))


@lru_cache(maxsize=64)
def signing_key(secret_access_key: str, datestamp: str, region: str, service: str) -> HmacKey:
    """The derived signing key for one (date, region, service), cached."""
    k_date = _hmac(f"AWS4{secret_access_key}".encode(), datestamp)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return HmacKey(_hmac(k_service, "aws4_request"))


# -- canonical request ---------------------------------------------------------------------


@lru_cache(maxsize=4096)
def quote_rfc3986(text: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters (space is ``%20``).

    Cached: parameter names and most values repeat from one request to the next.
    """
    return quote(text, safe="-_.~")


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 dot removal; empty segments (``//``) collapse too, as AWS does."""
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
        else:
            kept.append(segment)
    leading = "/" if path.startswith("/") else ""
    trailing = "/" if path.endswith("/") and kept else ""
    return leading + "/".join(kept) + trailing


@lru_cache(maxsize=256)
def canonical_uri(path: str) -> str:
    """The canonical URI of a path as sent on the wire (already percent-encoded).

    Non-S3 services encode the path a second time, so ``%20`` becomes ``%2520``.
    """
    return quote(remove_dot_segments(path), safe="/~")


def parse_query(query: str) -> list[tuple[str, str]]:
    """Split a raw query string into percent-decoded pairs (``+`` is a literal plus)."""
    pairs = []
    for piece in query.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        try:
            pairs.append((unquote(key, errors="strict"), unquote(value, errors="strict")))
        except UnicodeDecodeError as exc:
            raise SigningError(f"query parameter {piece!r} is not valid percent-encoded utf-8") from exc
    return pairs


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Encode each name and value (RFC 3986), sort by encoded name then value, join."""
    encoded = sorted((quote_rfc3986(k), quote_rfc3986(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """Return ``(canonical header lines, signed header names)`` for the given headers.

    Names are lower-cased and sorted; values are trimmed with runs of whitespace folded to
    one space; repeated headers are joined with commas in the order given.
    """
    grouped: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        value = " ".join(raw_value.split())
        grouped[name] = f"{grouped[name]},{value}" if name in grouped else value
    names = sorted(grouped)
    lines = "".join([f"{name}:{grouped[name]}\n" for name in names])
    return lines, ";".join(names)


def canonical_request(
    method: str,
    path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Iterable[tuple[str, str]],
    payload_hash: str,
) -> tuple[str, str]:
    """Return ``(canonical request, signed header names)``."""
    return canonical_request_from(method, canonical_uri(path), canonical_query(query_pairs), headers, payload_hash)


def canonical_request_from(
    method: str, uri: str, query: str, headers: Iterable[tuple[str, str]], payload_hash: str
) -> tuple[str, str]:
    """:func:`canonical_request` with the URI and query already in canonical form."""
    lines, signed = canonical_headers(headers)
    return "\n".join((method.upper(), uri, query, lines, signed, payload_hash)), signed


def string_to_sign(date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{date}\n{scope}\n{digest}"
