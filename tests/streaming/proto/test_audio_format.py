"""One audio format for both sides: the client's core and the endpoint's core count the
seconds of every event alike, for every operation and channel layout."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import eventstream
from sigv4 import Credentials
from streaming import TranscribeStreamingClient
from streaming.local import LocalEndpoint
from streaming.local.streamcore import AudioIn, Limits, ServerStreamCore
from streaming.proto.audioformat import AudioFormat, fits_one_event
from streaming.proto.core import StreamCore, StreamSettings
from streaming.proto.params import Operation, StreamParams
from tests.helpers import FIXTURES

ROLES = [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "CUSTOMER"}]
SETTINGS = StreamSettings(
    credentials=Credentials("AKID", "secret"), region="us-east-1", endpoint="https://127.0.0.1:8443"
)


def layout(operation: Operation, stereo: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The parameters and configuration of a mono or stereo stream of ``operation``."""
    extra: dict[str, Any] = {}
    if operation is Operation.MEDICAL:
        extra = {"specialty": "PRIMARYCARE", "type": "DICTATION"}
    if operation is Operation.CALL_ANALYTICS:
        return extra, {"ChannelDefinitions": ROLES} if stereo else None
    if stereo:
        extra |= {"enable_channel_identification": True, "number_of_channels": 2}
    return extra, None


@given(
    operation=st.sampled_from(list(Operation)),
    stereo=st.booleans(),
    rate=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
    frames=st.integers(min_value=1, max_value=48000),
)
def test_client_and_endpoint_agree_on_the_seconds_of_any_event(
    operation: Operation, stereo: bool, rate: int, frames: int
) -> None:
    extra, configuration = layout(operation, stereo)
    if operation is Operation.MEDICAL:
        rate = max(rate, 16000)  # medical streams take 16 kHz and up
    params = StreamParams.build(
        operation, language_code="en-US", media_sample_rate_hz=rate, media_encoding="pcm", **extra
    )
    client = StreamCore(params, SETTINGS, configuration=configuration, rng=random.Random(0))
    server = ServerStreamCore(params, verifier=None, allow_unsigned=True, limits=Limits(), started=0.0)
    if configuration is not None:
        config = eventstream.encode(
            {":message-type": "event", ":event-type": "ConfigurationEvent", ":content-type": "application/json"},
            json.dumps(configuration).encode(),
        )
        server.receive(config, None)  # type: ignore[arg-type]
    size = frames * 2 * (2 if stereo else 1)
    assert client.audio_format == server.audio_format == AudioFormat("pcm", rate, 2 if stereo else 1)
    seconds = client.audio_format.seconds(size)
    assert seconds == frames / rate
    audio = eventstream.encode(
        {":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream"},
        bytes(size),
    )
    if fits_one_event(seconds):  # the endpoint takes what the client lets through, and only that
        assert server.receive(audio, None) == [AudioIn(bytes(size))]  # type: ignore[arg-type]


async def test_a_call_analytics_stereo_event_of_0_6_s_is_0_6_s_on_both_sides() -> None:
    """8 kHz stereo Call Analytics: 0.6 s is 19200 bytes, which counting by one channel
    made 1.2 s (refused by the endpoint, double-counted by the client)."""
    pcm = (FIXTURES / "two-channel.pcm").read_bytes()
    async with LocalEndpoint(tls="none", engine="none") as ep:
        client = TranscribeStreamingClient(endpoint=ep.http2_url)
        async with client.start_call_analytics_stream_transcription(
            language_code="en-US", media_sample_rate_hz=8000, media_encoding="pcm", channel_definitions=ROLES
        ) as stream:
            for _ in range(3):
                await stream.send_audio(pcm[:19200])  # no duration given: the client counts it
            await stream.end_audio()
            events = [event async for event in stream]
        assert ep.completed[-1].outcome == "completed", ep.completed[-1].outcome
    assert stream.stats.audio_seconds == pytest.approx(1.8)
    assert events == [] or all(not hasattr(e, "message") for e in events)
