"""The client against the real local endpoint: every operation, both transports, TLS and plain."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
import ssl
from typing import Any

import pytest
from websockets.asyncio.client import connect

import eventstream
import streaming
from sigv4 import Credentials
from streaming import (
    DEV_CREDENTIALS,
    PcmSource,
    RetryPolicy,
    TranscribeStreamingClient,
    open_audio,
    presign_websocket_url,
)
from streaming.local import LocalEndpoint
from streaming.proto.errors import ParameterError
from streaming.proto.messages import AUDIO_EVENT_HEADERS
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

FOX = FIXTURES / "fox.pcm"
CHANNELS = [(FIXTURES / f"channel{i}.txt").read_text().strip() for i in (0, 1)]


def client_for(ep: LocalEndpoint, transport: str = "http2", **kw: Any) -> TranscribeStreamingClient:
    url = ep.http2_url if transport == "http2" else ep.websocket_url
    return TranscribeStreamingClient(endpoint=url, transport=transport, ca_file=ep.ca_file, **kw)  # type: ignore[arg-type]


async def drive(stream: streaming.Stream, source: Any, speed: float = 8.0) -> list[Any]:
    sender = asyncio.create_task(stream.send_from(source, speed=speed))
    events = [event async for event in stream]
    await sender
    return events


def finals(events: list[Any]) -> list[Any]:
    return [
        r
        for e in events
        if hasattr(e, "transcript") and not isinstance(e.transcript, str)
        for r in e.transcript.results
        if not r.is_partial
    ]


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_stream_transcription(any_endpoint: LocalEndpoint, transport: str) -> None:
    client = client_for(any_endpoint, transport)
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        events = await drive(stream, PcmSource(FOX, sample_rate=16000))
    assert all(isinstance(e, streaming.TranscriptEvent) for e in events)
    [final] = finals(events)
    assert word_error_rate(FOX_TEXT, final.transcript) <= 0.15
    assert stream.session_id == any_endpoint.completed[-1].session_id
    assert stream.request_id == any_endpoint.completed[-1].request_id
    assert stream.response_parameters["x-amzn-transcribe-language-code"] == "en-US"
    assert stream.stats.audio_seconds == pytest.approx(68320 / 16000)
    assert stream.stats.frames_sent == 44  # 43 audio events + the end frame
    assert stream.stats.reconnects == 0
    assert stream.stats.latency_p50 is not None and stream.stats.latency_p95 is not None
    assert any_endpoint.completed[-1].outcome == "completed"


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_the_endpoints_scheme_picks_the_transport_when_none_is_given(
    endpoint: LocalEndpoint, transport: str
) -> None:
    url = endpoint.http2_url if transport == "http2" else endpoint.websocket_url
    client = TranscribeStreamingClient(endpoint=url, ca_file=endpoint.ca_file)
    assert client.transport == transport
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        events = await drive(stream, PcmSource(FOX, sample_rate=16000))
    assert word_error_rate(FOX_TEXT, finals(events)[0].transcript) <= 0.15
    assert TranscribeStreamingClient(credentials=DEV_CREDENTIALS).transport == "http2"  # the region's HTTP/2 one
    other = "websocket" if transport == "http2" else "http2"
    with pytest.raises(ParameterError, match=f"transport='{other}' needs a") as refused:
        TranscribeStreamingClient(endpoint=url, transport=other)  # type: ignore[arg-type]
    assert refused.value.param == "transport"


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_medical(endpoint: LocalEndpoint, transport: str) -> None:
    client = client_for(endpoint, transport)
    async with client.start_medical_stream_transcription(
        media_sample_rate_hz=16000, media_encoding="flac", specialty="PRIMARYCARE", type="DICTATION"
    ) as stream:
        events = await drive(stream, open_audio(FIXTURES / "fox.flac"))
    assert all(isinstance(e, streaming.MedicalTranscriptEvent) for e in events)
    assert word_error_rate(FOX_TEXT, finals(events)[0].transcript) <= 0.15


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_call_analytics_with_channel_roles(endpoint: LocalEndpoint, transport: str) -> None:
    client = client_for(endpoint, transport)
    async with client.start_call_analytics_stream_transcription(
        language_code="en-US",
        media_sample_rate_hz=16000,
        media_encoding="pcm",
        channel_definitions=[
            {"ChannelId": 0, "ParticipantRole": "CUSTOMER"},
            {"ChannelId": 1, "ParticipantRole": "AGENT"},
        ],
    ) as stream:
        events = await drive(stream, PcmSource(FIXTURES / "two-channel.pcm", sample_rate=16000, channels=2))
    assert all(isinstance(e, streaming.UtteranceEvent) for e in events)
    finals_by_role = {e.participant_role: e for e in events if not e.is_partial}
    assert set(finals_by_role) == {"CUSTOMER", "AGENT"}  # channel 0 is the customer here
    channel0 = (FIXTURES / "channel0.txt").read_text()
    assert word_error_rate(channel0, finals_by_role["CUSTOMER"].transcript) <= 0.25
    for final in finals_by_role.values():
        assert 0 < final.begin_offset_millis < final.end_offset_millis <= 4500


async def test_unsigned_websocket_frames(endpoint: LocalEndpoint) -> None:
    client = client_for(endpoint, "websocket", signed_frames=False)
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        events = await drive(stream, PcmSource(FOX, sample_rate=16000))
    assert word_error_rate(FOX_TEXT, finals(events)[0].transcript) <= 0.15


async def test_parameters_are_checked_before_connecting() -> None:
    client = TranscribeStreamingClient(endpoint="http://127.0.0.1:9", credentials=DEV_CREDENTIALS)
    with pytest.raises(streaming.ParameterError) as info:
        client.start_stream_transcription(language_code="en-US", media_sample_rate_hz=100, media_encoding="pcm")
    assert info.value.param == "media_sample_rate_hz"


@pytest.mark.parametrize(
    ("transport", "secret", "akid", "error"),
    [
        ("http2", "wrong", DEV_CREDENTIALS.access_key_id, streaming.proto.errors.InvalidSignatureException),
        ("websocket", "wrong", DEV_CREDENTIALS.access_key_id, streaming.proto.errors.InvalidSignatureException),
        ("http2", "x", "AKIDUNKNOWN", streaming.UnrecognizedClientException),
        ("websocket", "x", "AKIDUNKNOWN", streaming.UnrecognizedClientException),
    ],
)
async def test_credential_errors_are_typed(endpoint: LocalEndpoint, transport, secret, akid, error) -> None:
    client = client_for(endpoint, transport, credentials=Credentials(akid, secret))
    with pytest.raises(error) as info:
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ):
            pass
    assert info.value.request_id


async def test_in_stream_service_errors_are_raised_typed(endpoint: LocalEndpoint) -> None:
    client = client_for(endpoint)
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        await stream.send_audio(b"\x00\x01" * 100)
        await stream._transports[stream._core.generation].send(b"garbage that is not an event stream", timeout=5.0)
        with pytest.raises(streaming.BadRequestException, match="decode"):
            async for _ in stream:
                pass


async def test_audio_after_the_end_is_refused(endpoint: LocalEndpoint) -> None:
    client = client_for(endpoint)
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        await stream.end_audio()
        with pytest.raises(streaming.proto.errors.StreamStateError):
            await stream.send_audio(b"\x00\x00")
        with pytest.raises(streaming.ParameterError, match="at most 1 s"):
            await stream.send_audio(bytes(40_000))


async def test_connect_errors_are_retried_then_typed() -> None:
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    client = TranscribeStreamingClient(endpoint=f"http://127.0.0.1:{port}", retry=policy)
    with pytest.raises(streaming.ConnectError, match="cannot connect"):
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ):
            pass


async def test_limit_exceeded_is_retried_until_a_slot_frees() -> None:
    async with LocalEndpoint(tls="none", max_streams=1) as ep:
        client = client_for(ep, retry=RetryPolicy(max_attempts=10, base_delay=0.2, max_delay=0.5))
        first = client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        )
        async with first:
            second_task = asyncio.create_task(
                drive_whole(
                    client.start_stream_transcription(
                        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
                    )
                )
            )
            await asyncio.sleep(0.3)
            assert not second_task.done()  # waiting for the slot
            await first.end_audio()
            [event async for event in first]
        assert word_error_rate(FOX_TEXT, await second_task) <= 0.15


async def drive_whole(stream: streaming.Stream) -> str:
    async with stream:
        events = await drive(stream, PcmSource(FOX, sample_rate=16000))
    return " ".join(r.transcript for r in finals(events))


async def test_tls_needs_the_ca(endpoint: LocalEndpoint) -> None:
    client = TranscribeStreamingClient(endpoint=endpoint.http2_url, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(streaming.ConnectError, match="TLS"):
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ):
            pass


async def test_a_peer_that_will_not_speak_h2(endpoint: LocalEndpoint) -> None:
    # The WebSocket port offers only http/1.1 over ALPN.
    client = TranscribeStreamingClient(
        endpoint=endpoint.websocket_url.replace("wss", "https"),
        ca_file=endpoint.ca_file,
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(streaming.ConnectError, match="does not speak HTTP/2"):
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ):
            pass


async def test_clock_skew_is_corrected_once() -> None:
    ten_minutes_slow = lambda: dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)  # noqa: E731
    async with LocalEndpoint(tls="none") as ep:
        client = client_for(ep, clock=ten_minutes_slow)
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ) as stream:
            events = await drive(stream, PcmSource(FOX, sample_rate=16000))
        assert word_error_rate(FOX_TEXT, finals(events)[0].transcript) <= 0.15
        assert abs(client.clock_offset.total_seconds() - 600) < 5


async def test_keepalive_silence_keeps_a_stalled_source_alive() -> None:
    async def stalling():
        data = FOX.read_bytes()
        yield data[:32000]
        await asyncio.sleep(1.5)  # longer than the endpoint's idle timeout below
        yield data[32000:]

    async with LocalEndpoint(tls="none", idle_timeout=0.8) as ep:
        client = client_for(ep)
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ) as stream:
            source = streaming.AsyncByteSource(stalling(), sample_rate=16000)
            sender = asyncio.create_task(stream.send_from(source, realtime=False, keepalive=0.3))
            events = [e async for e in stream]
            await sender
    assert word_error_rate(FOX_TEXT, " ".join(r.transcript for r in finals(events))) <= 0.25
    assert stream.stats.audio_seconds > 68320 / 16000  # silence was added


async def test_presigned_url_for_a_browser(endpoint: LocalEndpoint) -> None:
    url = presign_websocket_url(
        region="us-east-1",
        endpoint=endpoint.websocket_url,
        language_code="en-US",
        media_sample_rate_hz=16000,
        media_encoding="pcm",
        expires=60,
    )
    assert "X-Amz-Expires=60" in url and "language-code=en-US" in url
    with pytest.raises(streaming.ParameterError, match="expires"):
        presign_websocket_url(
            region="us-east-1",
            endpoint=endpoint.websocket_url,
            expires=301,
            language_code="en-US",
            media_sample_rate_hz=16000,
            media_encoding="pcm",
        )
    # What a page does with it: bare AudioEvents over a plain WebSocket.
    data = FOX.read_bytes() + bytes(32000)
    got = []
    async with connect(url, ssl=ssl.create_default_context(cafile=str(endpoint.ca_file))) as ws:
        for i in range(0, len(data), 3200):
            await ws.send(eventstream.encode(AUDIO_EVENT_HEADERS, data[i : i + 3200]))
        await ws.send(eventstream.encode(AUDIO_EVENT_HEADERS, b""))
        decoder = eventstream.Decoder()
        async for message in ws:
            got += decoder.feed(message)
    assert any(m.headers[":event-type"] == "TranscriptEvent" for m in got)


def test_local_endpoints_default_to_the_development_key() -> None:
    client = TranscribeStreamingClient(endpoint="https://localhost:8443")
    assert client.credentials == DEV_CREDENTIALS
    with pytest.raises(streaming.ParameterError, match="transport"):
        TranscribeStreamingClient(endpoint="https://localhost:8443", transport="carrier-pigeon")  # type: ignore[arg-type]
    with pytest.raises(streaming.ParameterError, match="WebSocket"):
        TranscribeStreamingClient(endpoint="https://localhost:8443", signed_frames=False)


async def test_tls_connections_read_into_a_small_buffer(endpoint: LocalEndpoint) -> None:
    """The standard library's 256 KiB TLS read buffer per connection is most of a stream's
    memory; ours read into 32 KiB (every TLS test in this suite runs through it)."""
    import ssl

    from streaming.aio.transports import TLS_READ_BUFFER, lean_tls

    context = ssl.create_default_context(cafile=str(endpoint.ca_file))
    _, writer = await asyncio.open_connection("127.0.0.1", endpoint.port, ssl=context)
    try:
        protocol = writer.transport._ssl_protocol  # type: ignore[attr-defined]
        assert len(protocol._ssl_buffer) == 256 * 1024  # CPython's default, which this saves
        lean_tls(writer.transport)
        assert len(protocol._ssl_buffer) == protocol.max_size == TLS_READ_BUFFER
    finally:
        writer.close()
    lean_tls(writer.transport)  # a closed or plain transport is left alone


@pytest.mark.parametrize(
    ("url_of", "ca", "kind"),
    [
        (lambda tls, plain: plain.http2_url.replace("http://", "https://"), True, "not-tls"),
        (lambda tls, plain: plain.websocket_url.replace("ws://", "wss://"), True, "not-tls"),
        (lambda tls, plain: tls.http2_url.replace("https://", "http://"), False, "tls-only"),
        (lambda tls, plain: tls.websocket_url.replace("wss://", "ws://"), False, "tls-only"),
        (lambda tls, plain: tls.http2_url, False, "untrusted"),
    ],
    ids=["https-to-plain", "wss-to-plain", "http-to-tls", "ws-to-tls", "no-ca"],
)
async def test_a_scheme_that_does_not_fit_the_port_says_which_would(
    endpoint: LocalEndpoint, plain_endpoint: LocalEndpoint, url_of: Any, ca: bool, kind: str
) -> None:
    url = url_of(endpoint, plain_endpoint)
    client = TranscribeStreamingClient(
        endpoint=url, ca_file=endpoint.ca_file if ca else None, credentials=DEV_CREDENTIALS,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01),
    )  # fmt: skip
    with pytest.raises(streaming.ConnectError) as failed:
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ) as stream:
            await drive(stream, PcmSource(FOX, sample_rate=16000))
    assert failed.value.kind == kind, failed.value
    assert str(failed.value).startswith(failed.value.detail) and len(str(failed.value)) > len(failed.value.detail)


@pytest.mark.parametrize("scheme", ["https", "wss", "http", "ws"])
async def test_both_transports_give_up_within_the_same_budget_on_a_peer_that_never_answers(scheme: str) -> None:
    """A peer that accepts and then says nothing (not even TLS): the whole opening, TCP,
    TLS and the response, has the retry budget's deadline whatever connect_timeout says."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = TranscribeStreamingClient(
        endpoint=f"{scheme}://127.0.0.1:{port}", credentials=DEV_CREDENTIALS,
        retry=RetryPolicy(max_total=2.0), connect_timeout=10,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(streaming.StreamTimeout) as gave_up:
            async with client.start_stream_transcription(
                language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
            ) as stream:
                await stream.send_audio(bytes(3200))
    finally:
        for writer in held:
            writer.close()
        server.close()
    waited = float(re.search(r"(\d+(\.\d+)?) s$", str(gave_up.value))[1])  # type: ignore[index]
    assert waited <= 2.0, gave_up.value  # the deadline it used is the budget's, not connect_timeout's
    assert loop.time() - started < 10  # and it did not wait for connect_timeout either
