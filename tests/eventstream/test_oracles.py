"""Cross-checks against independent implementations: botocore's decoder and crcmod."""

from __future__ import annotations

import datetime as dt
import uuid

import crcmod.predefined
from botocore.eventstream import EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st

from eventstream import Message
from eventstream._crc import crc32
from eventstream.strategies import messages

crc32_oracle = crcmod.predefined.mkCrcFun("crc-32")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def as_botocore_value(value: object) -> object:
    """How botocore's header parser presents each of our value types."""
    if isinstance(value, dt.datetime):
        return (value - _EPOCH) // dt.timedelta(milliseconds=1)  # int milliseconds
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    return value


@given(st.lists(messages(), min_size=1, max_size=5))
def test_botocore_decodes_what_we_encode(batch: list[Message]) -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(b"".join(m.encode() for m in batch))
    decoded = list(buffer)
    assert len(decoded) == len(batch)
    for ours, theirs in zip(batch, decoded, strict=True):
        assert theirs.payload == ours.payload
        assert theirs.headers == {k: as_botocore_value(v) for k, v in ours.headers.items()}
        # Same types for bools (botocore would give 0/1 ints if we got true/false wrong).
        for name, value in ours.headers.items():
            if isinstance(value, bool):
                assert theirs.headers[name] is value


@given(st.binary(max_size=4096), st.integers(0, 2**32 - 1))
def test_our_crc32_matches_crcmod(data: bytes, start: int) -> None:
    assert crc32(data, 0) == crc32_oracle(data)
    # Running CRCs (how encode chains prelude, headers and payload) agree too.
    split = len(data) // 2
    assert crc32(data[split:], crc32(data[:split], 0)) == crc32_oracle(data)
