"""The chained event signature against amazon_transcribe's signer and our vector file."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from amazon_transcribe.auth import Credentials as AtCredentials
from amazon_transcribe.eventstream import EventSigner as AtEventSigner
from amazon_transcribe.eventstream import EventStreamMessageSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

import eventstream
import sigv4
from sigv4 import ChunkVerifier, Credentials, EventSigner

from . import chain_vectors as cv

AUDIO_HEADERS = {
    ":message-type": "event",
    ":event-type": "AudioEvent",
    ":content-type": "application/octet-stream",
}
CREDS = Credentials(cv.ACCESS_KEY, cv.SECRET)
UTC = dt.UTC


def audio(i: int) -> bytes:
    return bytes((i * 7 + k) % 256 for k in range(320))


def test_chain_matches_the_vector_file() -> None:
    signer = EventSigner(CREDS, cv.REGION, cv.SERVICE, cv.SEED)
    for i, (when, end, signature, outer_sha) in enumerate(cv.FRAMES):
        outer = signer.sign_end(when) if end else signer.sign(eventstream.encode(AUDIO_HEADERS, audio(i)), when)
        assert signer.prior_signature == signature, f"frame {i}"
        assert hashlib.sha256(outer).hexdigest() == outer_sha, f"frame {i}"


def test_the_vector_file_crosses_utc_midnight() -> None:
    dates = {when.date() for when, *_ in cv.FRAMES}
    assert len(dates) == 2


# Times at exact binary fractions of a second, so the oracle's float conversion is exact.
_times = st.builds(
    lambda base, steps: [base + dt.timedelta(milliseconds=125 * sum(steps[: i + 1])) for i in range(len(steps))],
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.lists(st.integers(0, 40_000), min_size=1, max_size=6),
)


@given(
    _times,
    st.lists(st.binary(max_size=64), min_size=6, max_size=6),
    st.sampled_from(["us-east-1", "eu-west-2", "ap-southeast-2"]),
    st.binary(min_size=32, max_size=32),
)
@settings(max_examples=60)
def test_chain_matches_amazon_transcribe(
    times: list[dt.datetime], payloads: list[bytes], region: str, seed: bytes
) -> None:
    serializer = EventStreamMessageSerializer()
    at_creds = AtCredentials(cv.ACCESS_KEY, cv.SECRET)
    ours = EventSigner(CREDS, region, "transcribe", seed.hex())
    prior = seed
    for i, when in enumerate(times):
        inner = b"" if i == len(times) - 1 else eventstream.encode(AUDIO_HEADERS, payloads[i])
        theirs = AtEventSigner("transcribe", region, utc_now=lambda when=when: when)
        headers = theirs.sign(inner, prior, at_creds)
        prior = headers[":chunk-signature"]
        expected = serializer.serialize(headers, inner)
        got = ours.sign_end(when) if not inner else ours.sign(inner, when)
        assert got == expected


def test_midnight_signature_uses_the_new_dates_key() -> None:
    before = dt.datetime(2024, 3, 9, 23, 59, 59, 999000, tzinfo=UTC)
    after = dt.datetime(2024, 3, 10, 0, 0, 0, tzinfo=UTC)
    a = EventSigner(CREDS, "us-east-1", "transcribe", "0" * 64)
    a.sign(b"x", before)
    a.sign(b"y", after)
    # Fresh signer straight at the new date, with the same prior: same signature.
    b = EventSigner(CREDS, "us-east-1", "transcribe", "0" * 64)
    b.sign(b"x", before)
    fresh = EventSigner(CREDS, "us-east-1", "transcribe", b.prior_signature)
    fresh.sign(b"y", after)
    assert a.prior_signature == fresh.prior_signature


def test_outer_message_shape() -> None:
    when = dt.datetime(2024, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)
    inner = eventstream.encode(AUDIO_HEADERS, bytes(3200))
    outer = eventstream.decode(EventSigner(CREDS, "us-east-1", "transcribe", "1" * 64).sign(inner, when))
    assert list(outer.headers) == [":date", ":chunk-signature"]
    assert outer.headers[":date"] == when
    signature = outer.headers[":chunk-signature"]
    assert isinstance(signature, bytes)
    assert len(signature) == 32  # raw bytes, not hex
    assert outer.payload == inner
    end = eventstream.decode(EventSigner(CREDS, "us-east-1", "transcribe", "1" * 64).sign_end(when))
    assert end.payload == b""


def test_signer_rejects_bad_input() -> None:
    with pytest.raises(sigv4.SigningError, match="64 lower-case hex"):
        EventSigner(CREDS, "us-east-1", "transcribe", "abc")
    signer = EventSigner(CREDS, "us-east-1", "transcribe", "0" * 64)
    with pytest.raises(sigv4.SigningError, match="naive"):
        signer.sign(b"", dt.datetime(2024, 1, 1))


# -- the verifier side -----------------------------------------------------------------------


def _signed_stream(n: int, start: dt.datetime) -> list[bytes]:
    signer = EventSigner(CREDS, "us-east-1", "transcribe", "2" * 64)
    frames = [
        signer.sign(eventstream.encode(AUDIO_HEADERS, audio(i)), start + dt.timedelta(seconds=0.1 * i))
        for i in range(n)
    ]
    frames.append(signer.sign_end(start + dt.timedelta(seconds=0.1 * n)))
    return frames


def _verifier() -> ChunkVerifier:
    return ChunkVerifier(CREDS, "us-east-1", "transcribe", "2" * 64)


START = dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def test_verifier_accepts_the_signers_chain() -> None:
    verifier = _verifier()
    frames = _signed_stream(5, START)
    payloads = [verifier.verify(eventstream.decode(f), START + dt.timedelta(seconds=1)) for f in frames]
    assert payloads[-1] == b""
    assert eventstream.decode(payloads[0]).payload == audio(0)
    assert verifier.frames == 6


def test_every_single_byte_change_to_a_chunk_is_rejected() -> None:
    frames = _signed_stream(2, START)
    now = START + dt.timedelta(seconds=1)
    target = frames[1]
    for at in range(len(target)):
        damaged = bytearray(target)
        damaged[at] ^= 0x01
        verifier = _verifier()
        verifier.verify(eventstream.decode(frames[0]), now)
        try:
            message = eventstream.decode(bytes(damaged))
        except eventstream.EventStreamError:
            continue  # the framing's CRC caught it first
        with pytest.raises(sigv4.VerificationError):
            verifier.verify(message, now)


def test_chunk_signature_changes_caught_past_the_crc() -> None:
    # Re-frame with a valid CRC so only the signature check can catch the change.
    frames = _signed_stream(1, START)
    message = eventstream.decode(frames[0])
    for field in (":chunk-signature", "payload", ":date"):
        headers = dict(message.headers)
        payload = message.payload
        if field == ":chunk-signature":
            sig = bytearray(headers[field])  # type: ignore[arg-type]
            sig[0] ^= 1
            headers[field] = bytes(sig)
        elif field == "payload":
            payload = payload[:-1] + bytes([payload[-1] ^ 1])
        else:
            headers[field] = START + dt.timedelta(milliseconds=1)
        forged = eventstream.Message(headers, payload)
        with pytest.raises(sigv4.SignatureMismatchError):
            _verifier().verify(forged, START)


def test_reordered_or_dropped_frames_are_rejected() -> None:
    frames = _signed_stream(3, START)
    verifier = _verifier()
    verifier.verify(eventstream.decode(frames[0]), START)
    with pytest.raises(sigv4.SignatureMismatchError, match="frame 1"):
        verifier.verify(eventstream.decode(frames[2]), START)
    # The chain did not advance: the right frame still verifies.
    verifier.verify(eventstream.decode(frames[1]), START)


def test_old_and_future_frames() -> None:
    frames = _signed_stream(1, START)
    with pytest.raises(sigv4.ExpiredError, match="Signature expired"):
        _verifier().verify(eventstream.decode(frames[0]), START + dt.timedelta(minutes=5, seconds=1))
    with pytest.raises(sigv4.ClockSkewError) as info:
        _verifier().verify(eventstream.decode(frames[0]), START - dt.timedelta(minutes=6))
    assert info.value.skew_seconds == pytest.approx(360)


def test_missing_chunk_headers() -> None:
    with pytest.raises(sigv4.MalformedAuthError, match=":date"):
        _verifier().verify(eventstream.Message({":chunk-signature": bytes(32)}), START)
    with pytest.raises(sigv4.MalformedAuthError, match=":chunk-signature"):
        _verifier().verify(eventstream.Message({":date": START, ":chunk-signature": "hex"}), START)
