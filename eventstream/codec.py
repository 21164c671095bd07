"""Encoding and decoding of event-stream messages (docs/protocol.md section 1).

Wire layout, all integers big-endian::

    total_len u32 | headers_len u32 | prelude_crc u32 | headers | payload | message_crc u32

The CRCs are CRC-32 (IEEE); ``prelude_crc`` covers the first 8 bytes and ``message_crc``
everything before it, so ``total_len == 16 + headers_len + len(payload)``.

Speed comes from caching, not from cleverness: a stream repeats a handful of header sets
(``AudioEvent`` out, ``TranscriptEvent`` in), so :func:`encode` keeps the encoded prelude,
headers section and their running CRC per header set, and :class:`Decoder` keeps the
decoded header map per distinct headers section. Both caches are bounded.
"""

from __future__ import annotations

import datetime as _dt
import struct
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from ._crc import crc32
from .errors import (
    ChecksumMismatch,
    DecoderFailed,
    IncompleteMessage,
    InvalidHeader,
    InvalidHeaderValue,
    InvalidLength,
    LimitExceeded,
    MalformedMessage,
    MessageTooLarge,
    TrailingData,
    UnsupportedHeaderType,
    UnsupportedPayloadType,
)
from .types import SIZED_INT_TYPES, HeaderType, HeaderValue, Int32, _SizedInt

__all__ = [
    "DEFAULT_MAX_HEADERS_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_HEADER_VALUE_LENGTH",
    "MAX_PAYLOAD_SIZE",
    "PRELUDE_LENGTH",
    "Decoder",
    "Message",
    "decode",
    "encode",
    "encode_header",
    "encode_raw",
    "iter_decode",
]

PRELUDE_LENGTH: Final = 12
"""total_len, headers_len and prelude_crc."""
_OVERHEAD: Final = 16  # prelude + trailing message CRC

DEFAULT_MAX_HEADERS_SIZE: Final = 128 * 1024
"""The protocol's limit on a headers section, for both directions."""
MAX_PAYLOAD_SIZE: Final = 16 * 1024 * 1024
"""The largest payload we *send*."""
DEFAULT_MAX_MESSAGE_SIZE: Final = 24 * 1024 * 1024
"""The largest message we *accept* (the service's newer 24 MiB limit)."""
MAX_HEADER_VALUE_LENGTH: Final = 32767
"""Longest byte-array or string header value, in bytes."""
_MAX_NAME_LENGTH: Final = 255

_PRELUDE = struct.Struct(">III")
_LENGTHS = struct.Struct(">II")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_I64 = struct.Struct(">q")
_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_ONE_MS: Final = _dt.timedelta(milliseconds=1)
_INT_TYPES: Final = {wire: (cls, cls.bits // 8) for wire, cls in SIZED_INT_TYPES.items()}  # class, bytes
_CACHE_LIMIT: Final = 512


# -- header values -------------------------------------------------------------------------


def _timestamp_ms(value: _dt.datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        what = f"naive datetime {value.isoformat()} has no time zone"
        raise InvalidHeaderValue(f"{what}; event-stream timestamps are instants, pass an aware datetime")
    # Floor to whole milliseconds: the wire carries nothing finer.
    return (value - _EPOCH) // _ONE_MS


def _normalise(name: object, value: object) -> HeaderValue:
    """Return ``value`` as the type decoding gives back, checking that it can be encoded."""
    if type(value) is str or type(value) is bool:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, _SizedInt):
        return value
    if isinstance(value, int):
        return Int32(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, _dt.datetime):
        return _EPOCH + _dt.timedelta(milliseconds=_timestamp_ms(value))
    if isinstance(value, uuid.UUID):
        return value
    raise UnsupportedHeaderType(
        f"header {name!r}: {type(value).__name__} has no event-stream type "
        "(use bool, int, Int8/16/32/64, bytes, str, aware datetime or uuid.UUID)"
    )


def encode_header(name: str, value: HeaderValue) -> bytes:
    """Encode one header (``name_len | name | type | value``) to its wire bytes.

    Raises :class:`~eventstream.errors.InvalidHeaderValue` for an empty or over-long name,
    an out-of-range integer or an over-long value, and
    :class:`~eventstream.errors.UnsupportedHeaderType` for a value of no wire type.
    """
    if not isinstance(name, str):
        raise UnsupportedHeaderType(f"header name {name!r} is {type(name).__name__}, not str")
    name_bytes = name.encode("utf-8")
    if not 1 <= len(name_bytes) <= _MAX_NAME_LENGTH:
        raise InvalidHeaderValue(f"header name {name!r} is {len(name_bytes)} utf-8 bytes; it must be 1..255")
    head = bytes((len(name_bytes),)) + name_bytes
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return head + _sized_value(name, HeaderType.STRING, raw)
    if isinstance(value, bool):
        return head + (b"\x00" if value else b"\x01")
    if isinstance(value, int):
        int_type = value.header_type if isinstance(value, _SizedInt) else HeaderType.INTEGER
        size = _INT_TYPES[int_type][1]
        try:
            raw = int(value).to_bytes(size, "big", signed=True)
        except OverflowError:
            raise InvalidHeaderValue(
                f"header {name!r}: {int(value)} does not fit in a signed {size * 8}-bit "
                f"integer (wire type {int_type.name}); wrap it in Int64 for a long"
            ) from None
        return head + bytes((int_type,)) + raw
    if isinstance(value, bytes | bytearray | memoryview):
        return head + _sized_value(name, HeaderType.BYTE_ARRAY, bytes(value))
    if isinstance(value, _dt.datetime):
        try:
            raw = _I64.pack(_timestamp_ms(value))
        except InvalidHeaderValue as exc:
            raise InvalidHeaderValue(f"header {name!r}: {exc}") from None
        return head + b"\x08" + raw
    if isinstance(value, uuid.UUID):
        return head + b"\x09" + value.bytes
    _normalise(name, value)  # raises UnsupportedHeaderType with the full explanation
    raise AssertionError("unreachable")  # pragma: no cover


def _sized_value(name: str, header_type: HeaderType, raw: bytes) -> bytes:
    if len(raw) > MAX_HEADER_VALUE_LENGTH:
        raise InvalidHeaderValue(
            f"header {name!r}: {header_type.name.lower()} value is {len(raw)} bytes; "
            f"at most {MAX_HEADER_VALUE_LENGTH} are allowed"
        )
    return bytes((header_type,)) + _U16.pack(len(raw)) + raw


def _encode_headers(headers: Mapping[str, HeaderValue]) -> bytes:
    data = b"".join([encode_header(name, value) for name, value in headers.items()])
    if len(data) > DEFAULT_MAX_HEADERS_SIZE:
        raise MessageTooLarge(f"headers section is {len(data)} bytes; at most {DEFAULT_MAX_HEADERS_SIZE} are allowed")
    return data


# -- encoding ------------------------------------------------------------------------------


class _Prefix:
    """Cached encoding of one header set: prelude + headers and their CRC, per payload size."""

    __slots__ = ("crc", "headers", "payload_length", "prefix")

    def __init__(self, headers: bytes) -> None:
        self.headers = headers
        self.payload_length = -1
        self.prefix = b""
        self.crc = 0

    def for_payload(self, payload_length: int) -> tuple[bytes, int]:
        if payload_length != self.payload_length:
            self.prefix, self.crc = _frame_prefix(self.headers, payload_length)
            self.payload_length = payload_length
        return self.prefix, self.crc


def _frame_prefix(headers: bytes, payload_length: int) -> tuple[bytes, int]:
    """Prelude + headers section, and the running CRC of those bytes."""
    headers_length = len(headers)
    lengths = _LENGTHS.pack(_OVERHEAD + headers_length + payload_length, headers_length)
    prefix = lengths + _U32.pack(crc32(lengths, 0)) + headers
    return prefix, crc32(prefix, 0)


def encode_raw(headers_section: bytes, payload: bytes) -> bytes:
    """Frame an already-encoded headers section (see :func:`encode_header`) and a payload.

    For hot paths that build their headers section from constant and per-message pieces,
    such as the event signer's ``:date`` and ``:chunk-signature``. The headers section is
    not re-validated; only its size and the payload's are checked.
    """
    if len(headers_section) > DEFAULT_MAX_HEADERS_SIZE:
        raise MessageTooLarge(
            f"headers section is {len(headers_section)} bytes; at most {DEFAULT_MAX_HEADERS_SIZE} are allowed"
        )
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise MessageTooLarge(f"payload is {len(payload)} bytes; at most {MAX_PAYLOAD_SIZE} are allowed")
    prefix, crc = _frame_prefix(headers_section, len(payload))
    return b"".join((prefix, payload, _U32.pack(crc32(payload, crc))))


# Keyed by ``tuple(headers.items())``. Only header sets whose values are all ``str`` are
# stored: for those, tuple equality implies identical wire bytes (``True == 1 == 1.0``
# would otherwise alias bool, Int32 and an unsupported float). Per-frame values such as
# ``:date`` or ``:chunk-signature`` would only churn the cache, so they are not stored.
_ENCODE_CACHE: dict[tuple[tuple[str, Any], ...], _Prefix] = {}


def encode(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """Encode one message. Same bytes as ``Message(headers, payload).encode()``.

    Raises :class:`~eventstream.errors.EncodeError` subclasses (which are also
    ``ValueError`` / ``TypeError``) for values the wire format cannot carry.
    """
    if type(payload) is not bytes:
        payload = _payload_bytes(payload)
    payload_length = len(payload)
    if payload_length > MAX_PAYLOAD_SIZE:
        raise MessageTooLarge(f"payload is {payload_length} bytes; at most {MAX_PAYLOAD_SIZE} are allowed")
    try:
        key: tuple[tuple[str, Any], ...] | None = tuple(headers.items())
        cached = _ENCODE_CACHE.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable value (bytearray): encode without the cache
        key, cached = None, None
    if cached is None:
        cached = _Prefix(_encode_headers(headers))
        if key is not None and all(type(value) is str for _, value in key):
            if len(_ENCODE_CACHE) >= _CACHE_LIMIT:
                _ENCODE_CACHE.clear()
            _ENCODE_CACHE[key] = cached
    prefix, crc = cached.for_payload(payload_length)
    return b"".join((prefix, payload, _U32.pack(crc32(payload, crc))))


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytearray | memoryview):
        return bytes(payload)
    raise UnsupportedPayloadType(f"payload must be bytes-like, not {type(payload).__name__}")


# -- the message ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, init=False, eq=False, repr=False)
class Message:
    """One event-stream message: ordered ``headers`` and a ``payload``.

    Immutable. Header values are normalised on construction to the types decoding gives
    back (a plain ``int`` becomes :class:`Int32`, ``bytearray`` becomes ``bytes``, a
    datetime becomes UTC at millisecond precision), so ``decode(m.encode()) == m``.
    Two messages are equal when they encode to the same bytes: same header names, order,
    wire types and values, same payload.
    """

    headers: Mapping[str, HeaderValue]
    payload: bytes

    def __init__(self, headers: Mapping[str, HeaderValue] | None = None, payload: bytes = b"") -> None:
        normalised = {}
        for name, value in (headers or {}).items():
            if not isinstance(name, str):
                raise UnsupportedHeaderType(f"header name {name!r} is {type(name).__name__}, not str")
            normalised[name] = _normalise(name, value)
        _encode_headers(normalised)  # every check encoding makes, now rather than later
        if type(payload) is not bytes:
            payload = _payload_bytes(payload)
        object.__setattr__(self, "headers", MappingProxyType(normalised))
        object.__setattr__(self, "payload", payload)

    @classmethod
    def _trusted(cls, headers: Mapping[str, HeaderValue], payload: bytes) -> Message:
        # For the decoder: values already have their decoded types.
        self = object.__new__(cls)
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "payload", payload)
        return self

    def encode(self) -> bytes:
        """The message's wire bytes."""
        return encode(self.headers, self.payload)

    def _key(self) -> tuple[object, ...]:
        return (tuple((n, type(v), v) for n, v in self.headers.items()), self.payload)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        payload = self.payload
        shown = repr(payload) if len(payload) <= 64 else f"{payload[:48]!r}...<{len(payload)} bytes>"
        return f"Message(headers={dict(self.headers)!r}, payload={shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (dict(self.headers), self.payload))


# -- decoding ------------------------------------------------------------------------------


def _decode_headers(data: bytes, offset: int) -> dict[str, HeaderValue]:
    """Decode a headers section; ``offset`` is its absolute position, for errors."""
    headers: dict[str, HeaderValue] = {}
    end = len(data)
    i = 0
    while i < end:
        start = i
        name_length = data[i]
        if name_length == 0:
            raise InvalidHeader("header with an empty name", offset=offset + start)
        i += 1 + name_length
        if i >= end:
            raise InvalidHeader("header name runs past the headers section", offset=offset + start)
        try:
            name = data[start + 1 : i].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidHeader("header name is not valid utf-8", offset=offset + start) from None
        if name in headers:
            raise InvalidHeader(f"duplicate header {name!r}", offset=offset + start)
        header_type = data[i]
        i += 1
        value: HeaderValue
        if header_type in (HeaderType.STRING, HeaderType.BYTE_ARRAY):
            if i + 2 > end:
                raise _truncated(name, offset + start)
            length = (data[i] << 8) | data[i + 1]
            i += 2
            if length > MAX_HEADER_VALUE_LENGTH:
                raise InvalidHeader(
                    f"header {name!r} value length {length} exceeds {MAX_HEADER_VALUE_LENGTH}",
                    offset=offset + start,
                )
            if i + length > end:
                raise _truncated(name, offset + start)
            raw = data[i : i + length]
            i += length
            if header_type == HeaderType.BYTE_ARRAY:
                value = raw
            else:
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise InvalidHeader(
                        f"header {name!r} string value is not valid utf-8", offset=offset + start
                    ) from None
        elif header_type == HeaderType.BOOL_TRUE:
            value = True
        elif header_type == HeaderType.BOOL_FALSE:
            value = False
        elif header_type in _INT_TYPES:
            cls, size = _INT_TYPES[HeaderType(header_type)]
            if i + size > end:
                raise _truncated(name, offset + start)
            value = int.__new__(cls, int.from_bytes(data[i : i + size], "big", signed=True))
            i += size
        elif header_type == HeaderType.TIMESTAMP:
            if i + 8 > end:
                raise _truncated(name, offset + start)
            millis = _I64.unpack_from(data, i)[0]
            i += 8
            try:
                value = _EPOCH + _dt.timedelta(milliseconds=millis)
            except OverflowError:
                raise InvalidHeader(
                    f"header {name!r} timestamp {millis} ms is outside the years 1..9999",
                    offset=offset + start,
                ) from None
        elif header_type == HeaderType.UUID:
            if i + 16 > end:
                raise _truncated(name, offset + start)
            value = uuid.UUID(bytes=data[i : i + 16])
            i += 16
        else:
            raise InvalidHeader(f"header {name!r} has unknown type {header_type}", offset=offset + start)
        headers[name] = value
    return headers


def _truncated(name: str, offset: int) -> InvalidHeader:
    return InvalidHeader(f"header {name!r} value runs past the headers section", offset=offset)


def _check_prelude(src: Any, pos: int, offset: int, max_message_size: int, max_headers_size: int) -> tuple[int, int]:
    """Validate the 12-byte prelude at ``src[pos:]``: CRC, then limits, then lengths."""
    total, headers_length, prelude_crc = _PRELUDE.unpack_from(src, pos)
    computed = crc32(memoryview(src)[pos : pos + 8], 0)
    if computed != prelude_crc:
        raise ChecksumMismatch("prelude", expected=prelude_crc, computed=computed, offset=offset + 8)
    if total > max_message_size:
        raise LimitExceeded("message", size=total, limit=max_message_size, offset=offset)
    if headers_length > max_headers_size:
        raise LimitExceeded("headers section", size=headers_length, limit=max_headers_size, offset=offset + 4)
    if total < _OVERHEAD + headers_length:
        raise InvalidLength(
            f"total length {total} is less than 16 + headers length {headers_length}",
            offset=offset,
        )
    return total, headers_length


class Decoder:
    """Incremental, sans-I/O event-stream decoder.

    Feed it bytes as they arrive, split anywhere (one byte at a time works); it returns
    the messages completed by each :meth:`feed`. Each prelude is validated (CRC, then
    limits) as soon as its 12 bytes are in, before any of the body is buffered, so a
    hostile length prefix never makes it allocate.

    After an error the decoder is unusable: later calls raise
    :class:`~eventstream.errors.DecoderFailed`. If a chunk held complete messages before
    the bad one, :meth:`feed` returns those and raises the error on the next call, so no
    good message is lost.
    """

    __slots__ = (
        "_buffer",
        "_deferred",
        "_failed",
        "_header_cache",
        "_offset",
        "max_headers_size",
        "max_message_size",
    )

    def __init__(
        self,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_headers_size: int = DEFAULT_MAX_HEADERS_SIZE,
    ) -> None:
        if max_message_size < _OVERHEAD:
            raise ValueError(f"max_message_size must be at least {_OVERHEAD}, got {max_message_size}")
        if max_headers_size < 0:
            raise ValueError(f"max_headers_size must not be negative, got {max_headers_size}")
        self.max_message_size = max_message_size
        self.max_headers_size = max_headers_size
        self._buffer = bytearray()
        self._offset = 0  # absolute stream position of _buffer[0]
        self._header_cache: dict[bytes, Mapping[str, HeaderValue]] = {}
        self._deferred: MalformedMessage | None = None
        self._failed: MalformedMessage | None = None

    @property
    def buffered(self) -> int:
        """Bytes held towards an incomplete message."""
        return len(self._buffer)

    @property
    def position(self) -> int:
        """Absolute stream offset of the next byte to be decoded."""
        return self._offset

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Add ``data`` and return every message it completes, in order."""
        _check_bytes_like(data)
        self._raise_if_failed()
        buffer = self._buffer
        if buffer:
            buffer += data
            src: Any = buffer
        else:
            src = data
        messages: list[Message] = []
        pos = 0
        try:
            pos = self._parse(src, messages)
        except MalformedMessage as exc:
            if messages:
                self._deferred = exc
                return messages
            self._failed = exc
            raise
        finally:
            if src is buffer:
                del buffer[:pos]
            elif pos < len(src):
                buffer[:] = src[pos:]
            self._offset += pos
        return messages

    def close(self) -> None:
        """Declare the end of the stream; raise if a message is left incomplete."""
        self._raise_if_failed()
        if self._buffer:
            exc = IncompleteMessage(
                f"stream ended with {len(self._buffer)} bytes of an incomplete message",
                offset=self._offset,
            )
            self._failed = exc
            raise exc

    def _raise_if_failed(self) -> None:
        if self._deferred is not None:
            exc, self._deferred = self._deferred, None
            self._failed = exc
            raise exc
        if self._failed is not None:
            raise DecoderFailed(self._failed)

    def _parse(self, src: Any, messages: list[Message]) -> int:
        pos = 0
        available = len(src)
        max_message_size = self.max_message_size
        max_headers_size = self.max_headers_size
        cache = self._header_cache
        base = self._offset
        with memoryview(src) as view:
            while available - pos >= PRELUDE_LENGTH:
                total, headers_length = _check_prelude(src, pos, base + pos, max_message_size, max_headers_size)
                if available - pos < total:
                    break
                end = pos + total
                expected = _U32.unpack_from(src, end - 4)[0]
                computed = crc32(view[pos : end - 4], 0)
                if computed != expected:
                    raise ChecksumMismatch("message", expected=expected, computed=computed, offset=base + end - 4)
                header_start = pos + PRELUDE_LENGTH
                payload_start = header_start + headers_length
                raw_headers = bytes(view[header_start:payload_start])
                headers = cache.get(raw_headers)
                if headers is None:
                    headers = MappingProxyType(_decode_headers(raw_headers, base + header_start))
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    cache[raw_headers] = headers
                messages.append(Message._trusted(headers, bytes(view[payload_start : end - 4])))
                pos = end
        return pos


def decode(
    data: bytes | bytearray | memoryview,
    *,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    max_headers_size: int = DEFAULT_MAX_HEADERS_SIZE,
) -> Message:
    """Decode exactly one complete message.

    Raises :class:`~eventstream.errors.IncompleteMessage` for a short buffer,
    :class:`~eventstream.errors.TrailingData` for bytes after the message, and the other
    :class:`~eventstream.errors.MalformedMessage` subclasses for malformed input.
    """
    _check_bytes_like(data)
    available = len(data)
    if available < PRELUDE_LENGTH:
        raise IncompleteMessage(
            f"{available} bytes is shorter than the {PRELUDE_LENGTH}-byte prelude", offset=available
        )
    total, _ = _check_prelude(data, 0, 0, max_message_size, max_headers_size)
    if available < total:
        raise IncompleteMessage(f"message is {total} bytes but only {available} were given", offset=available)
    if available > total:
        raise TrailingData(f"{available - total} bytes after the message", offset=total)
    decoder = Decoder(max_message_size=max_message_size, max_headers_size=max_headers_size)
    messages: list[Message] = []
    decoder._parse(data, messages)
    return messages[0]


def _check_bytes_like(data: object) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes-like data, not {type(data).__name__}")


def iter_decode(
    chunks: Iterator[bytes] | list[bytes],
    *,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    max_headers_size: int = DEFAULT_MAX_HEADERS_SIZE,
) -> Iterator[Message]:
    """Decode a whole stream given as an iterable of byte chunks; raise at a truncated end."""
    decoder = Decoder(max_message_size=max_message_size, max_headers_size=max_headers_size)
    for chunk in chunks:
        yield from decoder.feed(chunk)
    decoder.close()
