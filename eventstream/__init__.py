"""AWS event-stream codec: the framing Amazon Transcribe streaming speaks both ways.

Sans-I/O: :func:`encode` and :func:`decode` work on bytes, :class:`Decoder` takes bytes
as they arrive and hands back :class:`Message` objects. No sockets, clocks or
environment. See docs/protocol.md section 1 for the format.

>>> from eventstream import Message, decode
>>> wire = Message({":event-type": "AudioEvent"}, b"\\x00\\x01").encode()
>>> decode(wire).headers[":event-type"]
'AudioEvent'
"""

from ._crc import CRC32_PROVIDER
from .codec import (
    DEFAULT_MAX_HEADERS_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_HEADER_VALUE_LENGTH,
    MAX_PAYLOAD_SIZE,
    Decoder,
    Message,
    decode,
    encode,
    encode_header,
    encode_raw,
    iter_decode,
)
from .errors import (
    ChecksumMismatch,
    DecoderFailed,
    EncodeError,
    EventStreamError,
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
from .types import HeaderType, HeaderValue, Int8, Int16, Int32, Int64

__all__ = [
    "CRC32_PROVIDER",
    "DEFAULT_MAX_HEADERS_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_HEADER_VALUE_LENGTH",
    "MAX_PAYLOAD_SIZE",
    "ChecksumMismatch",
    "Decoder",
    "DecoderFailed",
    "EncodeError",
    "EventStreamError",
    "HeaderType",
    "HeaderValue",
    "IncompleteMessage",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "InvalidHeader",
    "InvalidHeaderValue",
    "InvalidLength",
    "LimitExceeded",
    "MalformedMessage",
    "Message",
    "MessageTooLarge",
    "TrailingData",
    "UnsupportedHeaderType",
    "UnsupportedPayloadType",
    "decode",
    "encode",
    "encode_header",
    "encode_raw",
    "iter_decode",
]
