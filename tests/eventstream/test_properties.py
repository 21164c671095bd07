"""Hypothesis properties over all ten header types, using our public strategies."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import eventstream as es
from eventstream import Decoder, HeaderType, Message, decode, encode
from eventstream.strategies import (
    corrupted_wire_messages,
    header_maps,
    header_names,
    messages,
    values_of_type,
    wire_messages,
)

from .splits import random_splits


@given(messages())
def test_decode_of_encode_is_identity(message: Message) -> None:
    assert decode(message.encode()) == message


@given(wire_messages())
def test_encode_of_decode_is_identity(wire: bytes) -> None:
    assert decode(wire).encode() == wire


@given(st.sampled_from(list(HeaderType)).flatmap(values_of_type), header_names())
def test_every_type_round_trips_with_its_type(value: es.HeaderValue, name: str) -> None:
    decoded = decode(encode({name: value})).headers[name]
    assert decoded == value
    assert type(decoded) is type(value)


@given(header_maps(max_headers=3, max_size=32767))
@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_max_length_values_round_trip(headers: dict[str, es.HeaderValue]) -> None:
    assert decode(encode(headers)).headers == headers


@given(header_maps(), st.binary(max_size=64), st.data())
def test_encode_function_and_message_agree(headers: dict, payload: bytes, data: st.DataObject) -> None:
    assert encode(headers, payload) == Message(headers, payload).encode()


@given(st.lists(messages(), max_size=6), st.integers(0, 2**32))
def test_decoder_handles_any_split(batch: list[Message], seed: int) -> None:
    stream = b"".join(m.encode() for m in batch)
    decoder = Decoder()
    got = [m for chunk in random_splits(stream, seed) for m in decoder.feed(chunk)]
    decoder.close()
    assert got == batch


@given(st.binary(max_size=512))
@example(b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb")
@example(b"")
def test_arbitrary_bytes_only_raise_eventstream_errors(data: bytes) -> None:
    with contextlib.suppress(es.EventStreamError):
        decode(data)
    decoder = Decoder()
    try:
        decoder.feed(data)
        decoder.close()
    except es.EventStreamError:
        pass


@given(corrupted_wire_messages(), st.integers(0, 2**32))
def test_corrupted_messages_only_raise_eventstream_errors(data: bytes, seed: int) -> None:
    try:
        message = decode(data)
    except es.EventStreamError:
        pass
    else:
        assert message.encode() == data  # still valid after "corruption": must round-trip
    decoder = Decoder()
    try:
        for chunk in random_splits(data, seed):
            decoder.feed(chunk)
        decoder.close()
    except es.EventStreamError:
        pass


@given(messages(max_headers=0, max_payload=0))
def test_empty_message_edges(message: Message) -> None:
    assert message.encode() == b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb\x7d\x98\xc8\xff"
