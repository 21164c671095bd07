"""Every kind of malformed input and invalid argument, with its typed error."""

from __future__ import annotations

import datetime as dt
import struct
import tracemalloc
import uuid

import crcmod.predefined
import pytest

import eventstream as es
from eventstream import Decoder, Int8, Int16, Int32, Int64, Message, decode, encode

crc32_oracle = crcmod.predefined.mkCrcFun("crc-32")


def frame(headers: bytes, payload: bytes = b"", *, total: int | None = None) -> bytes:
    """Assemble a message from a raw headers section, with correct CRCs (via crcmod)."""
    total = 16 + len(headers) + len(payload) if total is None else total
    lengths = struct.pack(">II", total, len(headers))
    body = lengths + struct.pack(">I", crc32_oracle(lengths)) + headers + payload
    return body + struct.pack(">I", crc32_oracle(body))


def prelude(total: int, headers_length: int) -> bytes:
    lengths = struct.pack(">II", total, headers_length)
    return lengths + struct.pack(">I", crc32_oracle(lengths))


# -- hostile preludes are rejected at byte 12 ------------------------------------------------


def test_hostile_total_length_rejected_as_soon_as_prelude_is_in() -> None:
    decoder = Decoder()
    hostile = prelude(0xFFFFFFFF, 0)
    assert decoder.feed(hostile[:11]) == []
    tracemalloc.start()
    try:
        with pytest.raises(es.LimitExceeded) as info:
            decoder.feed(hostile[11:])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024
    assert info.value.size == 0xFFFFFFFF
    assert info.value.limit == es.DEFAULT_MAX_MESSAGE_SIZE
    assert info.value.offset == 0


def test_headers_longer_than_message_rejected_at_prelude() -> None:
    with pytest.raises(es.InvalidLength, match="less than 16 \\+ headers length 100"):
        Decoder().feed(prelude(20, 100))


def test_total_shorter_than_overhead() -> None:
    with pytest.raises(es.InvalidLength):
        Decoder().feed(prelude(15, 0))


def test_headers_limit_checked_at_prelude() -> None:
    decoder = Decoder(max_headers_size=1000)
    with pytest.raises(es.LimitExceeded) as info:
        decoder.feed(prelude(5000, 2000))
    assert info.value.what == "headers section"
    assert info.value.offset == 4


def test_configured_message_limit() -> None:
    message = encode({}, b"x" * 100)
    Decoder(max_message_size=116).feed(message)
    with pytest.raises(es.LimitExceeded):
        Decoder(max_message_size=115).feed(message)


def test_invalid_limits_rejected() -> None:
    with pytest.raises(ValueError, match="max_message_size"):
        Decoder(max_message_size=10)
    with pytest.raises(ValueError, match="max_headers_size"):
        Decoder(max_headers_size=-1)


# -- header sections -------------------------------------------------------------------------


@pytest.mark.parametrize("type_byte", [10, 11, 127, 255])
def test_unknown_header_type(type_byte: int) -> None:
    with pytest.raises(es.InvalidHeader, match=f"unknown type {type_byte}") as info:
        decode(frame(b"\x01a" + bytes([type_byte])))
    assert info.value.offset == 12


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        (b"\x00\x07\x00\x01x", "empty name"),
        (b"\x02\xff\xfe\x00", "name is not valid utf-8"),
        (b"\x01a\x07\x00\x02\xc3\x28", "string value is not valid utf-8"),
        (b"\x05ab", "name runs past"),
        (b"\x01a", "name runs past"),  # no room for the type byte
        (b"\x01a\x07\x00", "runs past"),  # string length cut short
        (b"\x01a\x07\x00\x05abc", "runs past"),  # string value cut short
        (b"\x01a\x06\x00\x05ab", "runs past"),
        (b"\x01a\x04\x00\x00", "runs past"),
        (b"\x01a\x05\x00", "runs past"),
        (b"\x01a\x08\x00\x00\x00", "runs past"),
        (b"\x01a\x09" + bytes(15), "runs past"),
        (b"\x01a\x07\x80\x00" + bytes(32768), "length 32768 exceeds 32767"),
        (b"\x01a\x06\xff\xff" + bytes(65535), "length 65535 exceeds 32767"),
        (b"\x01a\x08" + struct.pack(">q", 2**62), "outside the years"),
        (b"\x01a\x08" + struct.pack(">q", -(2**63)), "outside the years"),
        (b"\x01a\x00\x01a\x01", "duplicate header 'a'"),
    ],
)
def test_invalid_header_sections(headers: bytes, match: str) -> None:
    with pytest.raises(es.InvalidHeader, match=match):
        decode(frame(headers))
    with pytest.raises(es.InvalidHeader, match=match):
        Decoder().feed(frame(headers))


# -- incomplete and trailing input -----------------------------------------------------------


def test_decode_short_buffer() -> None:
    wire = encode({"a": "b"}, b"payload")
    for cut in (0, 5, 12, len(wire) - 1):
        with pytest.raises(es.IncompleteMessage):
            decode(wire[:cut])


def test_decode_trailing_data() -> None:
    wire = encode({"a": "b"}, b"payload")
    with pytest.raises(es.TrailingData, match="1 bytes after the message") as info:
        decode(wire + b"\x00")
    assert info.value.offset == len(wire)
    with pytest.raises(es.TrailingData):
        decode(wire + wire)


def test_close_with_partial_message() -> None:
    wire = encode({"a": "b"}, b"payload")
    decoder = Decoder()
    assert decoder.feed(wire[:-1]) == []
    assert decoder.buffered == len(wire) - 1
    with pytest.raises(es.IncompleteMessage, match=f"{len(wire) - 1} bytes"):
        decoder.close()


def test_close_at_a_message_boundary_is_clean() -> None:
    decoder = Decoder()
    decoder.feed(encode({}, b""))
    decoder.close()


def test_decoder_refuses_use_after_error() -> None:
    decoder = Decoder()
    with pytest.raises(es.LimitExceeded):
        decoder.feed(prelude(0xFFFFFFFF, 0))
    with pytest.raises(es.DecoderFailed) as info:
        decoder.feed(encode({}, b""))
    assert isinstance(info.value.cause, es.LimitExceeded)
    with pytest.raises(es.DecoderFailed):
        decoder.close()


def test_good_messages_before_an_error_are_returned_first() -> None:
    good = encode({"n": "1"}, b"one") + encode({"n": "2"}, b"two")
    decoder = Decoder()
    messages = decoder.feed(good + prelude(0xFFFFFFFF, 0))
    assert [m.payload for m in messages] == [b"one", b"two"]
    with pytest.raises(es.LimitExceeded) as info:
        decoder.feed(b"")
    assert info.value.offset == len(good)
    with pytest.raises(es.DecoderFailed):
        decoder.feed(b"")


def test_feed_rejects_non_bytes() -> None:
    with pytest.raises(TypeError, match="bytes-like"):
        Decoder().feed("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes-like"):
        decode("text")  # type: ignore[arg-type]


def test_memoryview_and_bytearray_input() -> None:
    wire = encode({"a": "b"}, b"xyz")
    assert decode(memoryview(wire)).payload == b"xyz"
    decoder = Decoder()
    assert decoder.feed(bytearray(wire[:5])) == []
    view = bytearray(wire[5:])
    assert decoder.feed(memoryview(view))[0].payload == b"xyz"


def test_all_errors_share_the_root() -> None:
    for name in es.errors.__all__:
        assert issubclass(getattr(es, name), es.EventStreamError)


# -- encoding invalid values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "value"),
    [
        (Int8, 128),
        (Int8, -129),
        (Int16, 2**15),
        (Int32, -(2**31) - 1),
        (Int64, 2**63),
    ],
)
def test_sized_int_range(cls: type[int], value: int) -> None:
    with pytest.raises(es.InvalidHeaderValue, match="out of range"):
        cls(value)


def test_sized_int_extremes_accepted() -> None:
    for cls, bits in ((Int8, 8), (Int16, 16), (Int32, 32), (Int64, 64)):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        message = Message({"lo": cls(lo), "hi": cls(hi)})
        assert decode(message.encode()) == message


def test_plain_int_is_int32_and_range_checked() -> None:
    assert decode(encode({"n": 7})).headers["n"].__class__ is Int32
    with pytest.raises(es.InvalidHeaderValue, match="Int64"):
        encode({"n": 2**31})
    with pytest.raises(ValueError, match="out of range"):
        Message({"n": -(2**31) - 1})


@pytest.mark.parametrize(
    ("headers", "error", "match"),
    [
        ({"s": "x" * 32768}, es.InvalidHeaderValue, "32768 bytes"),
        ({"s": "\u00e9" * 16384}, es.InvalidHeaderValue, "32768 bytes"),
        ({"b": b"x" * 32768}, es.InvalidHeaderValue, "32768 bytes"),
        ({"": "x"}, es.InvalidHeaderValue, "0 utf-8 bytes"),
        ({"n" * 256: "x"}, es.InvalidHeaderValue, "256 utf-8 bytes"),
        ({"f": 1.5}, es.UnsupportedHeaderType, "float has no event-stream type"),
        ({"l": [1]}, es.UnsupportedHeaderType, "list"),
        ({"d": dt.date(2020, 1, 1)}, es.UnsupportedHeaderType, "date"),
        ({"t": dt.datetime(2020, 1, 1)}, es.InvalidHeaderValue, "naive datetime"),
        ({1: "x"}, es.UnsupportedHeaderType, "not str"),
    ],
)
def test_encode_invalid_headers(headers: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        encode(headers)
    with pytest.raises(error, match=match):
        Message(headers)


def test_encode_errors_are_value_and_type_errors() -> None:
    assert issubclass(es.InvalidHeaderValue, ValueError)
    assert issubclass(es.MessageTooLarge, ValueError)
    assert issubclass(es.UnsupportedHeaderType, TypeError)
    assert issubclass(es.UnsupportedPayloadType, TypeError)
    assert issubclass(es.EncodeError, es.EventStreamError)


def test_encode_size_limits() -> None:
    with pytest.raises(es.MessageTooLarge, match="payload"):
        encode({}, bytes(es.MAX_PAYLOAD_SIZE + 1))
    big = {f"h{i}": "x" * 32000 for i in range(5)}  # 5 x ~32 KB > 128 KiB
    with pytest.raises(es.MessageTooLarge, match="headers section"):
        encode(big)
    encode({}, bytes(es.MAX_PAYLOAD_SIZE))  # the limit itself is fine


def test_encode_rejects_non_bytes_payload() -> None:
    with pytest.raises(es.UnsupportedPayloadType, match="str"):
        encode({}, "text")  # type: ignore[arg-type]
    assert encode({}, bytearray(b"ab")) == encode({}, b"ab")
    assert encode({}, memoryview(b"ab")) == encode({}, b"ab")


# -- value semantics -------------------------------------------------------------------------


def test_bool_true_is_type_0_and_false_is_type_1() -> None:
    assert es.encode_header("t", True) == b"\x01t\x00"
    assert es.encode_header("f", False) == b"\x01f\x01"
    assert es.HeaderType.BOOL_TRUE == 0
    assert es.HeaderType.BOOL_FALSE == 1


def test_timestamps_floor_to_milliseconds_before_and_after_1970() -> None:
    utc = dt.UTC
    after = dt.datetime(2024, 1, 1, 0, 0, 0, 999_999, tzinfo=utc)
    before = dt.datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=utc)
    assert es.encode_header("t", after)[-8:] == struct.pack(">q", 1704067200999)
    assert es.encode_header("t", before)[-8:] == struct.pack(">q", -1)
    assert Message({"t": before}).headers["t"] == dt.datetime(1969, 12, 31, 23, 59, 59, 999_000, tzinfo=utc)


def test_other_time_zones_are_the_same_instant() -> None:
    plus2 = dt.timezone(dt.timedelta(hours=2))
    local = dt.datetime(2024, 6, 1, 12, 0, tzinfo=plus2)
    decoded = decode(encode({"t": local})).headers["t"]
    assert decoded == local
    assert decoded.tzinfo is dt.UTC


def test_message_is_immutable_hashable_and_type_strict() -> None:
    message = Message({"a": "b"}, b"p")
    with pytest.raises(AttributeError):
        message.payload = b"q"  # type: ignore[misc]
    with pytest.raises(TypeError):
        message.headers["a"] = "c"  # type: ignore[index]
    assert hash(message) == hash(Message({"a": "b"}, b"p"))
    assert Message({"a": True}) != Message({"a": Int32(1)})
    assert Message({"a": Int8(1)}) != Message({"a": Int16(1)})
    assert Message({"a": "1", "b": "2"}) != Message({"b": "2", "a": "1"})  # order is wire
    assert Message({"a": 1}) == Message({"a": Int32(1)})


def test_message_copies_its_headers() -> None:
    headers = {"a": "b"}
    message = Message(headers)
    headers["a"] = "changed"
    assert message.headers["a"] == "b"


def test_repr_shortens_large_payloads() -> None:
    text = repr(Message({"u": uuid.UUID(int=0)}, bytes(4000)))
    assert "<4000 bytes>" in text
    assert len(text) < 300


def test_encode_cache_does_not_alias_equal_values_of_other_types() -> None:
    # "1" is cached as a str header set; True/1/1.0 compare equal to each other and
    # must still each get their own encoding (or error).
    assert decode(encode({"k": "1"})).headers["k"] == "1"
    assert type(decode(encode({"k": True})).headers["k"]) is bool
    assert type(decode(encode({"k": 1})).headers["k"]) is Int32
    assert type(decode(encode({"k": Int64(1)})).headers["k"]) is Int64
    with pytest.raises(es.UnsupportedHeaderType):
        encode({"k": 1.0})
    for _ in range(3):
        assert type(decode(encode({"k": True})).headers["k"]) is bool
        with pytest.raises(es.UnsupportedHeaderType):
            encode({"k": 1.0})
