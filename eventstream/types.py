"""Header value types of the event-stream format (docs/protocol.md section 1).

A header value's Python type picks its wire type:

======================  ==========================================
Python                  wire type
======================  ==========================================
``True`` / ``False``    0 (bool true) / 1 (bool false)
:class:`Int8`           2 (byte)
:class:`Int16`          3 (short)
:class:`Int32`, ``int`` 4 (integer; a plain ``int`` is range-checked)
:class:`Int64`          5 (long)
``bytes``               6 (byte array, at most 32767 bytes)
``str``                 7 (string, at most 32767 utf-8 bytes)
aware ``datetime``      8 (timestamp, milliseconds since the epoch)
``uuid.UUID``           9 (uuid)
======================  ==========================================

Decoding gives back the same types (``Int32`` for type 4, ``bool`` for 0/1, a UTC
``datetime`` for 8), so a decoded message re-encodes to the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from enum import IntEnum
from typing import ClassVar, Final, TypeAlias

from .errors import InvalidHeaderValue

__all__ = ["HeaderType", "HeaderValue", "Int8", "Int16", "Int32", "Int64"]


class HeaderType(IntEnum):
    """The ten header value types, by their wire code."""

    BOOL_TRUE = 0
    BOOL_FALSE = 1
    BYTE = 2
    SHORT = 3
    INTEGER = 4
    LONG = 5
    BYTE_ARRAY = 6
    STRING = 7
    TIMESTAMP = 8
    UUID = 9


class _SizedInt(int):
    """An ``int`` that remembers which sized wire type it travels as."""

    __slots__ = ()
    bits: ClassVar[int]
    header_type: ClassVar[HeaderType]

    def __new__(cls, value: int = 0) -> _SizedInt:
        self = super().__new__(cls, value)
        limit = 1 << (cls.bits - 1)
        if not -limit <= self < limit:
            raise InvalidHeaderValue(f"{int(self)} is out of range for {cls.__name__} [{-limit}, {limit - 1}]")
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"


class Int8(_SizedInt):
    """A header value sent as wire type 2 (signed 8-bit)."""

    __slots__ = ()
    bits = 8
    header_type = HeaderType.BYTE


class Int16(_SizedInt):
    """A header value sent as wire type 3 (signed 16-bit, big-endian)."""

    __slots__ = ()
    bits = 16
    header_type = HeaderType.SHORT


class Int32(_SizedInt):
    """A header value sent as wire type 4 (signed 32-bit, big-endian)."""

    __slots__ = ()
    bits = 32
    header_type = HeaderType.INTEGER


class Int64(_SizedInt):
    """A header value sent as wire type 5 (signed 64-bit, big-endian)."""

    __slots__ = ()
    bits = 64
    header_type = HeaderType.LONG


SIZED_INT_TYPES: Final[Mapping[HeaderType, type[_SizedInt]]] = {
    cls.header_type: cls for cls in (Int8, Int16, Int32, Int64)
}
"""The sized integer class of each integer wire type (the codec and the strategies use it)."""

HeaderValue: TypeAlias = bool | int | bytes | str | _dt.datetime | uuid.UUID
"""Anything that can be a header value (``int`` covers the sized subclasses)."""
