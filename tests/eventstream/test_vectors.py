"""The hand-built vectors, each decoded whole, byte by byte and at random splits."""

from __future__ import annotations

import crcmod.predefined
import pytest

import eventstream
from eventstream import Decoder, Message, decode, encode

from .splits import all_splits
from .vectors import BAD_VECTORS, VECTORS, BadVector, Vector

crc32_oracle = crcmod.predefined.mkCrcFun("crc-32")


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_vector_crcs_agree_with_crcmod(vector: Vector) -> None:
    wire = vector.wire
    assert int.from_bytes(wire[8:12], "big") == crc32_oracle(wire[:8])
    assert int.from_bytes(wire[-4:], "big") == crc32_oracle(wire[:-4])


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_encode_vector(vector: Vector) -> None:
    assert encode(vector.headers, vector.payload) == vector.wire
    assert Message(vector.headers, vector.payload).encode() == vector.wire


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_decode_vector(vector: Vector) -> None:
    message = decode(vector.wire)
    assert dict(message.headers) == vector.headers
    assert [type(v) for v in message.headers.values()] == [type(v) for v in vector.headers.values()]
    assert list(message.headers) == list(vector.headers)  # wire order kept
    assert message.payload == vector.payload
    assert message.encode() == vector.wire


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_decoder_vector_any_split(vector: Vector) -> None:
    for how, chunks in all_splits(vector.wire):
        decoder = Decoder()
        got = [m for chunk in chunks for m in decoder.feed(chunk)]
        decoder.close()
        assert got == [Message(vector.headers, vector.payload)], how


def test_all_vectors_in_one_stream_any_split() -> None:
    stream = b"".join(v.wire for v in VECTORS)
    expected = [Message(v.headers, v.payload) for v in VECTORS]
    for how, chunks in all_splits(stream):
        decoder = Decoder()
        got = [m for chunk in chunks for m in decoder.feed(chunk)]
        decoder.close()
        assert got == expected, how
        assert decoder.position == len(stream)


@pytest.mark.parametrize("vector", BAD_VECTORS, ids=lambda v: v.name)
def test_bad_vector_any_split(vector: BadVector) -> None:
    error = getattr(eventstream, vector.error)
    with pytest.raises(error) as info:
        decode(vector.wire)
    assert info.value.offset == vector.offset
    for how, chunks in all_splits(vector.wire):
        decoder = Decoder()
        with pytest.raises(error) as info:
            for chunk in chunks:
                decoder.feed(chunk)
        assert info.value.offset == vector.offset, how


def test_bad_vector_after_good_ones_reports_its_stream_offset() -> None:
    good = VECTORS[0].wire + VECTORS[6].wire
    bad = BAD_VECTORS[1]
    decoder = Decoder()
    with pytest.raises(eventstream.ChecksumMismatch) as info:
        decoder.feed(good)
        decoder.feed(bad.wire)
    assert info.value.offset == len(good) + bad.offset
    assert info.value.which == "message"
    assert info.value.expected == 0xC3653936
    assert info.value.computed == crc32_oracle(bad.wire[:-4])
    assert "message CRC 0xc3653936 != computed" in str(info.value)
