"""The asyncio shell around StreamCore, over real sockets: what the application sees.

Sender-side failures end the stream at once with their own error; a slow consumer is
bounded; credentials follow the AWS SDKs' chain, also against a local endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import streaming
from sigv4 import Credentials
from streaming import AsyncByteSource, PcmSource, TranscribeStreamingClient
from streaming.local import LocalEndpoint
from streaming.proto.credentials import DEV_CREDENTIALS, credentials_for
from streaming.proto.errors import (
    AudioFormatError,
    AudioSourceError,
    CredentialsError,
    ParameterError,
    TranscribeError,
)
from streaming.proto.states import ConnectionState
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

FOX = FIXTURES / "fox.pcm"


def open_pcm(client: TranscribeStreamingClient) -> streaming.Stream:
    return client.start_stream_transcription(language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm")


async def events_and_error(stream: streaming.Stream) -> tuple[list[Any], BaseException | None]:
    events: list[Any] = []
    try:
        async for event in stream:
            events.append(event)
    except streaming.TranscribeError as exc:
        return events, exc
    return events, None


async def test_audio_with_nothing_readable_ends_the_stream_with_the_audio_error(tmp_path: Path) -> None:
    odd = tmp_path / "odd.pcm"
    odd.write_bytes(b"\x01")  # not one whole sample
    # A long idle timeout: before the fix the reader waited for it and then saw a BadRequestException.
    async with LocalEndpoint(tls="none", idle_timeout=600) as ep:
        client = TranscribeStreamingClient(endpoint=ep.http2_url)
        async with open_pcm(client) as stream:
            sender = asyncio.create_task(stream.send_from(PcmSource(odd, sample_rate=16000), realtime=False))
            _, error = await events_and_error(stream)
            with pytest.raises(AudioFormatError):
                await sender
        assert isinstance(error, AudioFormatError)
        assert "odd" in str(error) or "byte" in str(error)
        assert stream.state is ConnectionState.CLOSED


async def test_audio_cut_mid_sample_is_sent_up_to_the_cut_and_the_stream_says_so(tmp_path: Path) -> None:
    odd = tmp_path / "odd.pcm"
    odd.write_bytes(FOX.read_bytes()[:32000] + b"\x01")  # one byte past a whole sample
    async with LocalEndpoint(tls="none") as ep:
        client = TranscribeStreamingClient(endpoint=ep.http2_url)
        async with open_pcm(client) as stream:
            sender = asyncio.create_task(stream.send_from(PcmSource(odd, sample_rate=16000), realtime=False))
            _, error = await events_and_error(stream)
            await sender
        assert error is None and ep.completed[-1].outcome == "completed"
    assert stream.stats.audio_seconds == pytest.approx(1.0)
    assert stream.audio_damage is not None and "1 stray byte(s)" in str(stream.audio_damage)


async def test_a_source_that_raises_ends_the_stream_with_that_error() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield bytes(3200)
        raise OSError("the capture device went away")

    async with LocalEndpoint(tls="none", idle_timeout=600) as ep:
        client = TranscribeStreamingClient(endpoint=ep.http2_url, transport="http2")
        async with open_pcm(client) as stream:
            sender = asyncio.create_task(stream.send_from(AsyncByteSource(broken(), sample_rate=16000)))
            _, error = await events_and_error(stream)
            with pytest.raises(AudioSourceError):
                await sender
    assert isinstance(error, AudioSourceError)
    assert "capture device went away" in str(error)
    assert isinstance(error.__cause__, OSError)


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_a_fault_in_sending_is_not_blamed_on_the_audio_source(
    transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dependency failing under the send path (websockets 15 lacked an attribute our hot
    path used) was reported as "AudioSourceError: the audio source failed"."""
    from streaming.aio import transports

    def missing(self: Any, frames: Any) -> bool:
        raise AttributeError("'ClientConnection' object has no attribute 'send_data'")

    monkeypatch.setattr(transports.Http2Transport, "send_now", missing)
    monkeypatch.setattr(transports.WebSocketTransport, "send_now", missing)
    async with LocalEndpoint(tls="none", idle_timeout=600) as ep:
        url = ep.http2_url if transport == "http2" else ep.websocket_url
        client = TranscribeStreamingClient(endpoint=url)
        async with open_pcm(client) as stream:
            sender = asyncio.create_task(stream.send_from(PcmSource(FOX, sample_rate=16000), realtime=False))
            _, error = await events_and_error(stream)
            with pytest.raises(TranscribeError, match="sending the audio failed: AttributeError") as failed:
                await sender
    assert not isinstance(failed.value, AudioSourceError) and not isinstance(error, AudioSourceError)
    assert isinstance(failed.value.__cause__, AttributeError)


@pytest.mark.parametrize(("kwargs", "param"), [({"speed": 0}, "speed"), ({"speed": -2.0}, "speed")])
async def test_bad_pacing_ends_the_stream_at_once(kwargs: dict[str, Any], param: str) -> None:
    async with LocalEndpoint(tls="none", idle_timeout=600) as ep:
        client = TranscribeStreamingClient(endpoint=ep.http2_url, transport="http2")
        async with open_pcm(client) as stream:
            with pytest.raises(ParameterError) as info:
                await stream.send_from(PcmSource(FOX, sample_rate=16000), **kwargs)
            assert info.value.param == param
            _, error = await events_and_error(stream)
    assert error is info.value


async def test_a_slow_consumer_holds_a_bounded_number_of_events() -> None:
    async with LocalEndpoint(tls="none") as ep:
        client = TranscribeStreamingClient(endpoint=ep.http2_url, max_events=2)
        stream = open_pcm(client)
        async with stream:
            await stream.send_from(PcmSource(FOX, sample_rate=16000), realtime=False)
            await asyncio.sleep(1.0)  # results pile up while nobody reads
            assert len(stream._events._items) <= 2
            events = [event async for event in stream]
    finals = [r for e in events for r in e.transcript.results if not r.is_partial]
    assert word_error_rate(FOX_TEXT, " ".join(r.transcript for r in finals)) <= 0.15  # nothing was lost


# -- credentials ---------------------------------------------------------------------------------


def test_a_local_endpoint_falls_back_to_the_development_pair_only_when_nothing_is_found() -> None:
    found = credentials_for("https://127.0.0.1:8443")
    assert found == DEV_CREDENTIALS
    assert "development key pair" in (found.source or "")
    with pytest.raises(CredentialsError, match="no AWS credentials"):
        credentials_for("https://transcribestreaming.us-east-1.amazonaws.com")


def test_exported_credentials_win_against_a_local_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDMINE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "my-secret")
    client = TranscribeStreamingClient(endpoint="https://localhost:8443")
    assert client.credentials == Credentials("AKIDMINE", "my-secret")
    assert client.credentials.source == "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"


def test_a_profile_wins_against_a_local_endpoint(monkeypatch: pytest.MonkeyPatch, isolated_credentials: Path) -> None:
    (isolated_credentials / "credentials").write_text(
        "[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = work-secret\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "work")
    client = TranscribeStreamingClient(endpoint="https://127.0.0.1:8443")
    assert client.credentials.access_key_id == "AKIDWORK"
    # A named profile that does not exist is an error, not a silent fallback.
    monkeypatch.setenv("AWS_PROFILE", "missing")
    with pytest.raises(CredentialsError, match="missing"):
        TranscribeStreamingClient(endpoint="https://127.0.0.1:8443")


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_a_local_endpoint_with_the_users_own_pair(monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    mine = Credentials("AKIDMINE", "my-secret")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", mine.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", mine.secret_access_key)
    async with LocalEndpoint(tls="none", credentials=[mine]) as ep:
        url = ep.http2_url if transport == "http2" else ep.websocket_url
        client = TranscribeStreamingClient(endpoint=url, transport=transport)  # type: ignore[arg-type]
        async with open_pcm(client) as stream:
            sender = asyncio.create_task(stream.send_from(PcmSource(FOX, sample_rate=16000), speed=8))
            events = [event async for event in stream]
            await sender
    assert events and ep.completed[-1].outcome == "completed"


@pytest.mark.parametrize(
    ("endpoint", "transport", "needle", "param"),
    [
        ("127.0.0.1:8443", "http2", "must start with https://", "endpoint"),
        ("https://", "http2", "no host", "endpoint"),
        ("https://127.0.0.1:8443/stream", "http2", "without a path", "endpoint"),
        ("https://127.0.0.1:8443", "websocket", "needs a wss://", "transport"),  # the two disagree
        ("https://127.0.0.1:99999", "http2", "not a URL", "endpoint"),
    ],
)
def test_endpoints_are_checked_before_anything_else(endpoint: str, transport: str, needle: str, param: str) -> None:
    with pytest.raises(ParameterError, match=needle) as info:
        TranscribeStreamingClient(endpoint=endpoint, transport=transport)  # type: ignore[arg-type]
    assert info.value.param == param


@pytest.mark.parametrize("region", ["", "us east 1", "us-east-1/evil"])
def test_regions_are_checked(region: str) -> None:
    with pytest.raises(ParameterError, match="region"):
        TranscribeStreamingClient(region=region, endpoint="https://127.0.0.1:8443")


def test_no_logging_of_secrets(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="streamscribe"):
        client = TranscribeStreamingClient(endpoint="https://127.0.0.1:8443")
    assert client.credentials.secret_access_key not in caplog.text


# -- hostile and silent services: real sockets speaking HTTP/2 -------------------------------------


class HostileService:
    """An h2c server that accepts the request with a 200 and then misbehaves as told:
    ``reply`` is sent at once, or one byte every ``trickle`` seconds."""

    def __init__(
        self, reply: bytes | None, *, end: bool = False, trickle: float | None = None, flood: bool = False
    ) -> None:
        self.reply, self.end, self.trickle, self.flood = reply, end, trickle, flood
        self.received = 0
        self.sent = 0  # replies sent (with flood: as many as the client's window lets in)
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import h2.config
        import h2.connection
        import h2.events

        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        window = asyncio.Event()  # the client opened its window (flood)
        flooding: asyncio.Task[None] | None = None
        try:
            while data := await reader.read(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        conn.send_headers(event.stream_id, [(":status", "200")])
                        if self.reply is not None and self.trickle is not None:
                            writer.write(conn.data_to_send())
                            for byte in self.reply:
                                conn.send_data(event.stream_id, bytes([byte]))
                                writer.write(conn.data_to_send())
                                await asyncio.sleep(self.trickle)
                        elif self.reply is not None and self.flood:
                            flooding = asyncio.create_task(self._flood(conn, writer, event.stream_id, window))
                        elif self.reply is not None:
                            conn.send_data(event.stream_id, self.reply, end_stream=self.end)
                    elif isinstance(event, h2.events.WindowUpdated) and self.flood:
                        window.set()
                    elif isinstance(event, h2.events.DataReceived):
                        self.received += len(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                writer.write(conn.data_to_send())
        except (ConnectionError, h2.exceptions.ProtocolError):
            pass
        finally:
            if flooding is not None:
                flooding.cancel()
            writer.close()

    async def _flood(self, conn: Any, writer: asyncio.StreamWriter, stream_id: int, window: asyncio.Event) -> None:
        """The reply again and again, as fast as the client's flow-control window allows."""
        assert self.reply is not None
        while not writer.is_closing():
            while conn.local_flow_control_window(stream_id) >= len(self.reply):
                conn.send_data(stream_id, self.reply)
                self.sent += 1
            writer.write(conn.data_to_send())
            await writer.drain()
            window.clear()
            await window.wait()


async def stream_against(url: str, **kw: Any) -> BaseException | None:
    client = TranscribeStreamingClient(endpoint=url, retry=streaming.RetryPolicy(max_reconnects=0), **kw)
    failure: BaseException | None = None
    async with open_pcm(client) as stream:
        try:
            await stream.send_audio(bytes(3200))
            await stream.end_audio()
        except streaming.TranscribeError as exc:  # the stream may have failed already
            failure = exc
        _, error = await events_and_error(stream)
    assert failure is None or error is failure  # the sender and the reader get the same error
    return error


async def test_garbage_from_the_service_is_a_protocol_error() -> None:
    async with HostileService(b"HTTP/1.1 200 OK\r\n\r\nnot an event stream at all") as url:
        error = await stream_against(url)
    assert isinstance(error, streaming.ProtocolError)
    assert "malformed event stream" in str(error)


async def test_a_forged_huge_message_is_refused_without_buffering_it() -> None:
    import struct
    import zlib

    prelude = struct.pack(">II", 0xFFFF_FFF0, 0)
    forged = prelude + struct.pack(">I", zlib.crc32(prelude)) + bytes(100)
    async with HostileService(forged) as url:
        error = await stream_against(url)
    assert isinstance(error, streaming.ProtocolError)


async def test_a_response_cut_off_mid_message_is_an_error_not_an_end() -> None:
    from streaming.proto.messages import encode_result_event
    from streaming.proto.models import Transcript, TranscriptEvent

    whole = encode_result_event(TranscriptEvent(transcript=Transcript()))
    async with HostileService(whole[:-5], end=True) as url:
        error = await stream_against(url)
    assert isinstance(error, streaming.ProtocolError)
    assert "mid-message" in str(error)


async def test_a_service_that_goes_silent_after_the_audio_times_out() -> None:
    service = HostileService(None)
    async with service as url:
        error = await stream_against(url, stall_timeout=0.5)
    assert isinstance(error, streaming.StreamTimeout)
    assert service.received > 3200  # the audio and the end frame did arrive


async def test_a_message_trickled_byte_by_byte_times_out() -> None:
    from streaming.proto.messages import encode_result_event
    from streaming.proto.models import Transcript, TranscriptEvent

    message = encode_result_event(TranscriptEvent(transcript=Transcript()))
    async with HostileService(message, trickle=0.2) as url:
        client = TranscribeStreamingClient(
            endpoint=url, retry=streaming.RetryPolicy(max_reconnects=0), stall_timeout=1.0
        )
        async with open_pcm(client) as stream:
            events, error = await events_and_error(stream)  # audio still open: only the message deadline applies
    assert events == []
    assert isinstance(error, streaming.StreamTimeout)


async def test_a_flood_of_empty_results_is_an_error_not_a_busy_loop() -> None:
    """Empty TranscriptEvents are dropped before the application's bounded queue, so they
    escape its back-pressure: a server that sends nothing else must not pin the client."""
    from streaming.proto.messages import encode_result_event
    from streaming.proto.models import Transcript, TranscriptEvent

    service = HostileService(encode_result_event(TranscriptEvent(transcript=Transcript())), flood=True)
    async with service as url:
        error = await stream_against(url)
    assert isinstance(error, streaming.ProtocolError)
    assert re.search(r"sent 50\d events for 0\.\d s of audio", str(error)), error
    assert service.sent > 500  # the flood was real; the client ended it after its allowance


async def test_a_result_message_larger_than_the_service_sends_is_refused_at_its_prelude() -> None:
    import struct
    import zlib

    from streaming.proto.connection import MAX_RESULT_MESSAGE

    # A prelude that announces 16 MiB: refused at once, before 16 MiB are buffered.
    prelude = struct.pack(">II", 16 * 1024 * 1024, 0)
    async with HostileService(prelude + struct.pack(">I", zlib.crc32(prelude)) + bytes(1000)) as url:
        error = await stream_against(url)
    assert isinstance(error, streaming.ProtocolError)
    assert str(MAX_RESULT_MESSAGE) in str(error) or "16777216" in str(error)


async def test_an_oversized_websocket_message_is_a_protocol_error_not_a_reconnect() -> None:
    from websockets.asyncio.server import serve

    sent = []

    async def handler(ws: Any) -> None:
        sent.append(len(sent))
        await ws.send(bytes(2 * 1024 * 1024))  # 2 MiB in one message
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        client = TranscribeStreamingClient(
            endpoint=f"ws://127.0.0.1:{port}", transport="websocket", retry=streaming.RetryPolicy(max_reconnects=3)
        )
        with pytest.raises(streaming.ProtocolError, match="WebSocket message over"):
            async with open_pcm(client) as stream:
                await events_and_error(stream)
    assert len(sent) == 1  # not retried: a peer that does this is not the service
