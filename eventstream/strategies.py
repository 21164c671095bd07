"""Hypothesis strategies for event-stream values, messages and wire bytes.

For property-testing your own event handlers and fuzzing your own code with our codec.
Needs ``hypothesis`` (``pip install streamscribe[dev]`` or just ``hypothesis``)::

    from hypothesis import given
    from eventstream import decode
    from eventstream.strategies import messages, corrupted_wire_messages

    @given(messages())
    def test_round_trip(message):
        assert decode(message.encode()) == message

    @given(corrupted_wire_messages())
    def test_handler_survives_garbage(data):
        try:
            my_handler(decode(data))
        except EventStreamError:
            pass  # the only exception garbage may raise

Every strategy produces values inside the protocol's limits unless its name says
otherwise; the size parameters keep examples small by default (Hypothesis shrinks
better on small data).
"""

from __future__ import annotations

import datetime as _dt
import struct

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised only without hypothesis
    raise ImportError("eventstream.strategies needs hypothesis: pip install hypothesis") from exc

from ._crc import crc32
from .codec import MAX_HEADER_VALUE_LENGTH, Message
from .types import SIZED_INT_TYPES, HeaderType, HeaderValue

__all__ = [
    "corrupted_wire_messages",
    "header_maps",
    "header_names",
    "header_values",
    "messages",
    "values_of_type",
    "wire_messages",
]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_MIN_MS = (_dt.datetime(1, 1, 1, tzinfo=_dt.UTC) - _EPOCH) // _dt.timedelta(milliseconds=1)
_MAX_MS = (_dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=_dt.UTC) - _EPOCH) // _dt.timedelta(milliseconds=1)


def header_names(*, max_bytes: int = 255) -> st.SearchStrategy[str]:
    """Header names: 1..``max_bytes`` utf-8 bytes, edge lengths (1 and 255) included."""
    if not 1 <= max_bytes <= 255:
        raise ValueError(f"max_bytes must be 1..255, got {max_bytes}")
    short = st.text(min_size=1, max_size=min(max_bytes, 32)).filter(lambda name: len(name.encode("utf-8")) <= max_bytes)
    longest = st.sampled_from(["n" * max_bytes, "\u00e9" * (max_bytes // 2) or "n"])
    return st.one_of(short, longest, st.sampled_from([":event-type", ":content-type", "x"]))


def values_of_type(header_type: HeaderType, *, max_size: int = 64) -> st.SearchStrategy[HeaderValue]:
    """Values that encode as ``header_type``; ``max_size`` bounds bytes and strings.

    Integer and timestamp strategies reach both extremes (``Int64`` min/max, timestamps
    from year 1 to 9999, so before 1970 too).
    """
    max_size = min(max_size, MAX_HEADER_VALUE_LENGTH)
    if header_type == HeaderType.BOOL_TRUE:
        return st.just(True)
    if header_type == HeaderType.BOOL_FALSE:
        return st.just(False)
    if header_type in SIZED_INT_TYPES:
        cls = SIZED_INT_TYPES[header_type]
        limit = 1 << (cls.bits - 1)
        return st.integers(-limit, limit - 1).map(cls)
    if header_type == HeaderType.BYTE_ARRAY:
        return st.binary(max_size=max_size)
    if header_type == HeaderType.STRING:
        return st.text(max_size=max_size).filter(lambda s: len(s.encode("utf-8")) <= max_size)
    if header_type == HeaderType.TIMESTAMP:
        return st.integers(_MIN_MS, _MAX_MS).map(lambda ms: _EPOCH + _dt.timedelta(milliseconds=ms))
    if header_type == HeaderType.UUID:
        return st.uuids()
    raise ValueError(f"unknown header type {header_type!r}")


def header_values(*, max_size: int = 64) -> st.SearchStrategy[HeaderValue]:
    """A value of any of the ten wire types."""
    return st.one_of([values_of_type(t, max_size=max_size) for t in HeaderType])


def header_maps(*, max_headers: int = 8, max_size: int = 64) -> st.SearchStrategy[dict[str, HeaderValue]]:
    """Header maps (distinct names, insertion order kept), zero headers included."""
    return st.dictionaries(header_names(), header_values(max_size=max_size), max_size=max_headers)


def messages(*, max_headers: int = 8, max_size: int = 64, max_payload: int = 256) -> st.SearchStrategy[Message]:
    """Valid :class:`~eventstream.Message` objects, the empty payload included."""
    return st.builds(
        Message,
        header_maps(max_headers=max_headers, max_size=max_size),
        st.binary(max_size=max_payload),
    )


def wire_messages(**kwargs: int) -> st.SearchStrategy[bytes]:
    """The wire bytes of valid messages (same keyword arguments as :func:`messages`)."""
    return messages(**kwargs).map(Message.encode)


def _recrc(data: bytearray) -> bytes:
    """Fix both CRCs so a corruption reaches the parser behind the checksums."""
    if len(data) >= 12:
        struct.pack_into(">I", data, 8, crc32(bytes(data[:8]), 0))
    if len(data) >= 16:
        struct.pack_into(">I", data, len(data) - 4, crc32(bytes(data[:-4]), 0))
    return bytes(data)


@st.composite
def corrupted_wire_messages(draw: st.DrawFn, /, **kwargs: int) -> bytes:
    """Wire bytes of a valid message, then damaged.

    Damage is one of: a flipped bit, truncation, extra bytes, a rewritten length field,
    or a changed byte in the headers section. Half of the time both CRCs are recomputed
    afterwards, so the damage gets past the checksums and exercises the length and header
    checks too. The result may occasionally still be valid (a header byte can change into
    another valid value); decoders must either decode it or raise ``EventStreamError``.
    """
    data = bytearray(draw(wire_messages(**kwargs)))
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "length", "header"]))
    if kind == "flip":
        bit = draw(st.integers(0, len(data) * 8 - 1))
        data[bit // 8] ^= 1 << (bit % 8)
    elif kind == "truncate":
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif kind == "extend":
        data += draw(st.binary(min_size=1, max_size=32))
    elif kind == "length":
        field = draw(st.sampled_from([0, 4]))
        struct.pack_into(">I", data, field, draw(st.integers(0, 2**32 - 1)))
    else:
        headers_length = struct.unpack_from(">I", data, 4)[0]
        if headers_length:
            at = 12 + draw(st.integers(0, headers_length - 1))
            data[at] = draw(st.integers(0, 255))
        else:
            junk = draw(st.binary(min_size=1, max_size=8))
            data[12:12] = junk
            struct.pack_into(">II", data, 0, len(data), len(junk))
    if draw(st.booleans()):
        return _recrc(data)
    return bytes(data)
