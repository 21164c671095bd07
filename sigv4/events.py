"""The chained event signature, ``:chunk-signature`` (docs/protocol.md section 4).

Every audio message is wrapped in an outer message: headers ``:date`` (timestamp, ms)
and ``:chunk-signature`` (32 raw bytes), payload the encoded inner message. The string to
sign, lines joined by ``\\n``::

    AWS4-HMAC-SHA256-PAYLOAD
    <the frame's own time, YYYYMMDDTHHMMSSZ>
    <YYYYMMDD>/<region>/<service>/aws4_request
    <hex of the previous signature; the request's for the first frame>
    hex(sha256(wire bytes of the :date header))
    hex(sha256(the whole inner message))

The AWS guide says ``AWS4-HMAC-SHA256`` on the first line and leaves the ``:date`` hash
vague; both are wrong. The end of audio is one more frame with an empty payload.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
import struct
from typing import Final

from eventstream import Message, encode_header, encode_raw

from .canonical import HmacKey, amz_date_from_seconds, credential_scope, signing_key
from .credentials import Credentials
from .errors import (
    ClockSkewError,
    ExpiredError,
    MalformedAuthError,
    SignatureMismatchError,
    SigningError,
)

__all__ = ["EVENT_ALGORITHM", "ChunkVerifier", "EventSigner"]

EVENT_ALGORITHM: Final = b"AWS4-HMAC-SHA256-PAYLOAD"
_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_ONE_MS: Final = _dt.timedelta(milliseconds=1)
_I64: Final = struct.Struct(">q")
# Constant leading bytes of the two outer headers, taken from the codec itself.
_DATE_HEADER_HEAD: Final = encode_header(":date", _EPOCH)[:-8]
_SIGNATURE_HEADER_HEAD: Final = encode_header(":chunk-signature", bytes(32))[:-32]
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


def _milliseconds(now: _dt.datetime) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        raise SigningError(f"naive datetime {now.isoformat()} given as a frame's time; pass an aware one")
    return (now - _EPOCH) // _ONE_MS


class EventSigner:
    """Signs audio frames into a chain seeded by the request's signature.

    The chain's only state is the previous signature; the signing key is derived once per
    (date, region, service) and again when a frame's UTC date changes. Not thread-safe:
    one signer per stream, frames signed in the order they are sent.
    """

    __slots__ = (
        "_amz_date",
        "_datestamp",
        "_key",
        "_prior",
        "_region",
        "_scope",
        "_second",
        "_secret",
        "_service",
    )

    def __init__(self, credentials: Credentials, region: str, service: str, seed_signature: str) -> None:
        if not isinstance(seed_signature, str) or not _HEX64.fullmatch(seed_signature):
            raise SigningError("seed_signature must be the request's signature: 64 lower-case hex digits")
        self._secret = credentials.secret_access_key
        self._region = region
        self._service = service
        self._prior = seed_signature.encode("ascii")
        self._second = -1 << 63
        self._datestamp = ""
        self._amz_date = b""
        self._scope = b""
        self._key: HmacKey | None = None  # derived for the first frame's date

    @property
    def prior_signature(self) -> str:
        """Hex of the last signature in the chain (the seed before the first frame)."""
        return self._prior.decode("ascii")

    def signature(self, payload: bytes, milliseconds: int) -> tuple[bytes, bytes]:
        """Return ``(signature, :date header bytes)`` for the next frame without advancing."""
        second = milliseconds // 1000
        if second != self._second:
            date = amz_date_from_seconds(second)
            if date[:8] != self._datestamp:
                self._datestamp = date[:8]
                self._key = signing_key(self._secret, self._datestamp, self._region, self._service)
                self._scope = credential_scope(self._datestamp, self._region, self._service).encode()
            self._second = second
            self._amz_date = date.encode("ascii")
        date_header = _DATE_HEADER_HEAD + _I64.pack(milliseconds)
        to_sign = b"\n".join(
            (
                EVENT_ALGORITHM,
                self._amz_date,
                self._scope,
                self._prior,
                hashlib.sha256(date_header).hexdigest().encode("ascii"),
                hashlib.sha256(payload).hexdigest().encode("ascii"),
            )
        )
        assert self._key is not None  # set above: _second starts out of range
        return self._key.digest(to_sign), date_header

    def advance(self, signature: bytes) -> None:
        """Make ``signature`` the chain's previous signature."""
        self._prior = signature.hex().encode("ascii")

    def sign(self, inner_message: bytes, now: _dt.datetime) -> bytes:
        """Wrap an encoded inner message; return the outer message's wire bytes."""
        signature, date_header = self.signature(inner_message, _milliseconds(now))
        self._prior = signature.hex().encode("ascii")
        return encode_raw(date_header + _SIGNATURE_HEADER_HEAD + signature, inner_message)

    def sign_end(self, now: _dt.datetime) -> bytes:
        """The closing frame: signed, with an empty payload."""
        return self.sign(b"", now)


class ChunkVerifier:
    """The server side of the chain: checks each received outer message in order.

    ``max_age`` bounds how old a frame's ``:date`` may be when it arrives (the service
    says "Signature expired" past 5 minutes), and ``max_skew`` how far in the future.
    """

    __slots__ = ("_signer", "frames", "max_age", "max_skew")

    def __init__(
        self,
        credentials: Credentials,
        region: str,
        service: str,
        seed_signature: str,
        *,
        max_age: float = 300.0,
        max_skew: float = 300.0,
    ) -> None:
        self._signer = EventSigner(credentials, region, service, seed_signature)
        self.max_age = max_age
        self.max_skew = max_skew
        self.frames = 0

    @property
    def prior_signature(self) -> str:
        return self._signer.prior_signature

    def verify(self, message: Message, now: _dt.datetime) -> bytes:
        """Check one outer message; return its payload (the inner message, or b"" at the end).

        Raises :class:`MalformedAuthError` when ``:date`` / ``:chunk-signature`` are missing
        or mistyped, :class:`SignatureMismatchError` when the signature is wrong,
        :class:`ExpiredError` / :class:`ClockSkewError` for a frame signed too long ago or
        too far ahead. The chain only advances on success.
        """
        date = message.headers.get(":date")
        signature = message.headers.get(":chunk-signature")
        if not isinstance(date, _dt.datetime):
            raise MalformedAuthError(f"frame {self.frames}: missing :date timestamp header")
        if not isinstance(signature, bytes) or len(signature) != 32:
            raise MalformedAuthError(f"frame {self.frames}: missing 32-byte :chunk-signature header")
        age = (now - date).total_seconds()
        if age > self.max_age:
            raise ExpiredError(
                f"Signature expired: frame {self.frames} was signed at {date.isoformat()}, "
                f"{age:.0f} s before it arrived (at most {self.max_age:.0f} s)"
            )
        if -age > self.max_skew:
            raise ClockSkewError(
                f"Signature not yet current: frame {self.frames} is dated {date.isoformat()}, "
                f"{-age:.0f} s ahead of the server clock",
                skew_seconds=-age,
            )
        expected, _ = self._signer.signature(message.payload, _milliseconds(date))
        if not hmac.compare_digest(expected, signature):
            raise SignatureMismatchError(
                f"frame {self.frames}: the chunk signature we calculated does not match "
                "the one sent (wrong key, a frame missing or reordered, or altered bytes)"
            )
        self._signer.advance(signature)
        self.frames += 1
        return message.payload
