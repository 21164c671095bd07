"""Hand-built event-stream vectors, one comment per field.

The CRC literals are the values published with the AWS event-stream test suite (the same
vectors botocore and aws-c-event-stream test against); ``test_vectors`` recomputes each one
with ``crcmod``, an implementation independent of ours.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from eventstream import HeaderValue, Int8, Int16, Int32, Int64


@dataclass(frozen=True)
class Vector:
    name: str
    wire: bytes
    headers: dict[str, HeaderValue]
    payload: bytes


VECTORS = [
    Vector(
        "empty message",
        b"\x00\x00\x00\x10"  # total length: 16, the bare overhead
        b"\x00\x00\x00\x00"  # headers length: 0
        b"\x05\xc2\x48\xeb"  # prelude crc
        # (no headers, no payload)
        b"\x7d\x98\xc8\xff",  # message crc
        {},
        b"",
    ),
    Vector(
        "int8 header",
        b"\x00\x00\x00\x17"  # total length: 23
        b"\x00\x00\x00\x07"  # headers length: 7
        b"\x29\x86\x01\x58"  # prelude crc
        b"\x04byte"  # name length 4, name "byte"
        b"\x02"  # type 2: byte
        b"\xff"  # value -1
        b"\xc2\xf8\x69\xdc",  # message crc
        {"byte": Int8(-1)},
        b"",
    ),
    Vector(
        "int16 header",
        b"\x00\x00\x00\x19"  # total length: 25
        b"\x00\x00\x00\x09"  # headers length: 9
        b"\x71\x0e\x92\x3e"  # prelude crc
        b"\x05short"  # name length 5, name "short"
        b"\x03"  # type 3: short
        b"\xff\xff"  # value -1
        b"\xb2\x7c\xb6\xcc",  # message crc
        {"short": Int16(-1)},
        b"",
    ),
    Vector(
        "int32 header",
        b"\x00\x00\x00\x1d"  # total length: 29
        b"\x00\x00\x00\x0d"  # headers length: 13
        b"\x83\xe3\xf0\xe7"  # prelude crc
        b"\x07integer"  # name length 7, name "integer"
        b"\x04"  # type 4: integer
        b"\xff\xff\xff\xff"  # value -1
        b"\x8b\x8e\x12\xeb",  # message crc
        {"integer": Int32(-1)},
        b"",
    ),
    Vector(
        "int64 header",
        b"\x00\x00\x00\x1e"  # total length: 30
        b"\x00\x00\x00\x0e"  # headers length: 14
        b"\x5d\x4a\xdb\x8d"  # prelude crc
        b"\x04long"  # name length 4, name "long"
        b"\x05"  # type 5: long
        b"\xff\xff\xff\xff\xff\xff\xff\xff"  # value -1
        b"\x4b\xc2\x32\xda",  # message crc
        {"long": Int64(-1)},
        b"",
    ),
    Vector(
        "payload, no headers",
        b"\x00\x00\x00\x1d"  # total length: 29
        b"\x00\x00\x00\x00"  # headers length: 0
        b"\xfd\x52\x8c\x5a"  # prelude crc
        b"{'foo':'bar'}"  # payload, 13 bytes
        b"\xc3\x65\x39\x36",  # message crc
        {},
        b"{'foo':'bar'}",
    ),
    Vector(
        "one string header and a payload",
        b"\x00\x00\x00\x3d"  # total length: 61
        b"\x00\x00\x00\x20"  # headers length: 32
        b"\x07\xfd\x83\x96"  # prelude crc
        b"\x0ccontent-type"  # name length 12, name "content-type"
        b"\x07"  # type 7: string
        b"\x00\x10application/json"  # value length 16, value
        b"{'foo':'bar'}"  # payload
        b"\x8d\x9c\x08\xb1",  # message crc
        {"content-type": "application/json"},
        b"{'foo':'bar'}",
    ),
    Vector(
        "all ten header types",
        b"\x00\x00\x00\x62"  # total length: 98
        b"\x00\x00\x00\x52"  # headers length: 82
        b"\x03\xb5\xcb\x9c"  # prelude crc
        b"\x010\x00"  # "0": type 0, bool true (no value bytes)
        b"\x011\x01"  # "1": type 1, bool false
        b"\x012\x02\x02"  # "2": type 2, byte 2
        b"\x013\x03\x00\x03"  # "3": type 3, short 3
        b"\x014\x04\x00\x00\x00\x04"  # "4": type 4, integer 4
        b"\x015\x05\x00\x00\x00\x00\x00\x00\x00\x05"  # "5": type 5, long 5
        b"\x016\x06\x00\x05bytes"  # "6": type 6, byte array of 5
        b"\x017\x07\x00\x04utf8"  # "7": type 7, string of 4
        b"\x018\x08\x00\x00\x00\x00\x00\x00\x00\x08"  # "8": type 8, timestamp 8 ms
        b"\x019\x090123456789abcdef"  # "9": type 9, uuid (16 raw bytes)
        b"\x63\x35\x36\x71",  # message crc
        {
            "0": True,
            "1": False,
            "2": Int8(2),
            "3": Int16(3),
            "4": Int32(4),
            "5": Int64(5),
            "6": b"bytes",
            "7": "utf8",
            "8": dt.datetime(1970, 1, 1, 0, 0, 0, 8000, tzinfo=dt.UTC),
            "9": uuid.UUID(bytes=b"0123456789abcdef"),
        },
        b"",
    ),
    Vector(
        "unmodeled error event",
        b"\x00\x00\x00\x52"  # total length: 82
        b"\x00\x00\x00\x42"  # headers length: 66
        b"\xbf\x23\x63\x7e"  # prelude crc
        b"\x0d:message-type\x07\x00\x05error"  # ":message-type" = "error"
        b"\x0b:error-code\x07\x00\x04code"  # ":error-code" = "code"
        b"\x0e:error-message\x07\x00\x07message"  # ":error-message" = "message"
        b"\x6b\x6c\xea\x3d",  # message crc
        {":message-type": "error", ":error-code": "code", ":error-message": "message"},
        b"",
    ),
]


@dataclass(frozen=True)
class BadVector:
    name: str
    wire: bytes
    error: str  # class name in eventstream.errors
    offset: int  # where the error is reported


BAD_VECTORS = [
    BadVector(
        "prelude crc damaged by a length bit",
        b"\x01\x00\x00\x1d"  # total length with a flipped high bit (the crc no longer fits)
        b"\x00\x00\x00\x00"  # headers length
        b"\xfd\x52\x8c\x5a"  # prelude crc of the undamaged prelude
        b"{'foo':'bar'}\xc3\x65\x39\x36",
        "ChecksumMismatch",
        8,
    ),
    BadVector(
        "payload damaged",
        b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfd\x52\x8c\x5a"  # valid prelude
        b"{'foo':'bar'\x8d"  # last payload byte changed
        b"\xc3\x65\x39\x36",  # message crc of the undamaged message
        "ChecksumMismatch",
        25,
    ),
    BadVector(
        "header name damaged",
        b"\x00\x00\x00\x3d\x00\x00\x00\x20\x07\xfd\x83\x96"
        b"\x0ccontent+type\x07\x00\x10application/json"  # "-" became "+"
        b"{'foo':'bar'}\x8d\x9c\x08\xb1",
        "ChecksumMismatch",
        57,
    ),
    BadVector(
        "duplicate header",
        b"\x00\x00\x00\x24"  # total length: 36
        b"\x00\x00\x00\x14"  # headers length: 20
        b"\x4b\xb9\x82\xd0"  # prelude crc
        b"\x04test\x04asdf"  # "test" with type 4: integer 0x61736466
        b"\x04test\x04asdf"  # "test" again
        b"\xf3\xf4\x75\x63",  # message crc
        "InvalidHeader",
        22,
    ),
]
