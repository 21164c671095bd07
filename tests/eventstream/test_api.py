"""The public surface: pinned names other tools rely on."""

from __future__ import annotations

import dataclasses

import pytest

import eventstream


def test_all_is_pinned() -> None:
    assert sorted(eventstream.__all__) == sorted(
        [
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
    )
    for name in eventstream.__all__:
        assert hasattr(eventstream, name), name


def test_limits_are_the_protocol_ones() -> None:
    assert eventstream.DEFAULT_MAX_MESSAGE_SIZE == 25_165_824
    assert eventstream.DEFAULT_MAX_HEADERS_SIZE == 131_072
    assert eventstream.MAX_PAYLOAD_SIZE == 16 * 1024 * 1024


def test_header_type_codes() -> None:
    assert [int(t) for t in eventstream.HeaderType] == list(range(10))


def test_fastest_crc_provider_is_installed() -> None:
    # zlib-ng is a declared dependency; falling back silently would cost ~10x on encode.
    assert eventstream.CRC32_PROVIDER == "zlib-ng"


def test_message_is_a_frozen_dataclass() -> None:
    message = eventstream.Message({"a": "b"}, b"p")
    assert [f.name for f in dataclasses.fields(message)] == ["headers", "payload"]
    changed = dataclasses.replace(message, payload=b"q")
    assert changed == eventstream.Message({"a": "b"}, b"q")
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.payload = b"x"  # type: ignore[misc]
