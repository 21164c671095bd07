"""Errors raised by the event-stream codec.

Split by whose fault it is (see ``h11._util``):

* :class:`MalformedMessage` and its subclasses: the bytes we were asked to *decode* are
  not a valid event-stream (the peer sent garbage). Every decoding failure is one of these.
* :class:`EncodeError` and its subclasses: the caller asked us to *encode* something the
  wire format cannot carry. They also derive from :class:`ValueError` or
  :class:`TypeError`, so ordinary argument checking code catches them.

Both derive from :class:`EventStreamError`, the single root of this package.
"""

from __future__ import annotations

__all__ = [
    "ChecksumMismatch",
    "DecoderFailed",
    "EncodeError",
    "EventStreamError",
    "IncompleteMessage",
    "InvalidHeader",
    "InvalidHeaderValue",
    "InvalidLength",
    "LimitExceeded",
    "MalformedMessage",
    "MessageTooLarge",
    "TrailingData",
    "UnsupportedHeaderType",
    "UnsupportedPayloadType",
]


class EventStreamError(Exception):
    """Root of every error raised by :mod:`eventstream`."""


# -- decoding: the bytes are wrong ---------------------------------------------------------


class MalformedMessage(EventStreamError):
    """The input is not a valid event-stream message.

    ``offset`` is the absolute byte position in the decoded stream where the problem was
    found (for :func:`eventstream.decode`, the position inside the given buffer).
    """

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"{message} at byte {offset}")
        self.offset = offset


class ChecksumMismatch(MalformedMessage):
    """A prelude or message CRC-32 does not match the bytes it covers."""

    def __init__(self, which: str, *, expected: int, computed: int, offset: int) -> None:
        super().__init__(f"{which} CRC 0x{expected:08x} != computed 0x{computed:08x}", offset=offset)
        self.which = which
        self.expected = expected
        self.computed = computed


class InvalidLength(MalformedMessage):
    """The prelude's lengths contradict each other or the data."""


class LimitExceeded(MalformedMessage):
    """A length in the prelude is over the decoder's configured limit.

    Raised as soon as the 12-byte prelude is in, before anything is buffered towards it.
    """

    def __init__(self, what: str, *, size: int, limit: int, offset: int) -> None:
        super().__init__(f"{what} of {size} bytes exceeds the limit of {limit}", offset=offset)
        self.what = what
        self.size = size
        self.limit = limit


class InvalidHeader(MalformedMessage):
    """A header in the headers section cannot be decoded (bad type, name, value or length)."""


class IncompleteMessage(MalformedMessage):
    """The input ended in the middle of a message."""


class TrailingData(MalformedMessage):
    """:func:`eventstream.decode` was given more bytes than one message."""


class DecoderFailed(EventStreamError):
    """A :class:`eventstream.Decoder` was used again after it raised.

    ``cause`` is the original error; the stream position is lost, so the decoder cannot
    resynchronise.
    """

    def __init__(self, cause: MalformedMessage) -> None:
        super().__init__(f"decoder already failed: {cause}")
        self.cause = cause


# -- encoding: the caller's values are wrong -----------------------------------------------


class EncodeError(EventStreamError):
    """Root of the errors for values that cannot be encoded."""


class InvalidHeaderValue(EncodeError, ValueError):
    """A header name or value is out of the range the wire format allows."""


class UnsupportedHeaderType(EncodeError, TypeError):
    """A header value has a Python type with no event-stream wire type."""


class MessageTooLarge(EncodeError, ValueError):
    """The headers section or the payload is over the size the protocol allows."""


class UnsupportedPayloadType(EncodeError, TypeError):
    """The payload is not a bytes-like object."""
