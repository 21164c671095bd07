"""Hostile HTTP/2 clients, written as raw sockets: nothing they do may hold a slot for good."""

from __future__ import annotations

import asyncio

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

import eventstream
from streaming import PcmSource, TranscribeStreamingClient
from streaming.local import LocalEndpoint
from streaming.proto.credentials import DEV_CREDENTIALS
from streaming.proto.errors import ServiceError
from tests.helpers import FIXTURES

from .raw_clients import AUDIO_HEADERS, FrameSigner, botocore_signed_headers, chunks

BASIC = {
    "x-amzn-transcribe-language-code": "en-US",
    "x-amzn-transcribe-sample-rate": "16000",
    "x-amzn-transcribe-media-encoding": "pcm",
    "content-type": "application/vnd.amazon.eventstream",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-EVENTS",
}
FOX = (FIXTURES / "fox.pcm").read_bytes()


def request_headers(ep: LocalEndpoint) -> list[tuple[str, str]]:
    authority = ep.http2_url.split("://", 1)[1]
    signed = botocore_signed_headers(f"{ep.http2_url}/stream-transcription", dict(BASIC), DEV_CREDENTIALS)
    return [
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", authority),
        (":path", "/stream-transcription"),
        *((k, v) for k, v in signed.items() if k != "host"),
    ]


async def a_normal_stream_works(ep: LocalEndpoint) -> None:
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    ) as stream:
        await stream.send_from(PcmSource(FOX[:32000], sample_rate=16000), realtime=False)
        [_ async for _ in stream]


async def test_headers_and_reset_in_one_read_release_the_slot() -> None:
    async with LocalEndpoint(tls="none", engine="none", max_streams=3) as ep:
        port = int(ep.http2_url.rsplit(":", 1)[1])
        for _ in range(10):  # far more than the three slots
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
            conn.initiate_connection()
            conn.send_headers(1, request_headers(ep))
            conn.reset_stream(1)
            writer.write(conn.data_to_send())  # HEADERS and RST_STREAM in one write
            await writer.drain()
            await asyncio.wait_for(reader.read(65536), 5)
            writer.close()
        for _ in range(50):
            if not ep.streams:
                break
            await asyncio.sleep(0.05)
        assert not ep.streams  # every slot came back
        await a_normal_stream_works(ep)


async def test_a_client_that_never_reads_loses_its_slot() -> None:
    async with LocalEndpoint(tls="none", engine="none", max_streams=1, idle_timeout=1.0) as ep:
        port = int(ep.http2_url.rsplit(":", 1)[1])
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        conn = h2.connection.H2Connection(config)
        conn.initiate_connection()
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})  # never room for results
        headers = request_headers(ep)
        conn.send_headers(1, headers)
        signature = dict(headers)["authorization"].rsplit("Signature=", 1)[1]
        signer = FrameSigner(DEV_CREDENTIALS, signature)
        for chunk in chunks(FOX[:48000]):  # within the endpoint's 64 KiB window
            conn.send_data(1, signer.sign(eventstream.encode(AUDIO_HEADERS, chunk)))
        writer.write(conn.data_to_send())
        await writer.drain()
        # ...and it never reads again: the endpoint's sends wait on a window that stays shut.
        for _ in range(100):
            if ep.completed:
                break
            await asyncio.sleep(0.05)
        assert ep.completed and ep.completed[-1].outcome in ("connection lost", "BadRequestException")
        assert not ep.streams
        writer.close()
        await a_normal_stream_works(ep)  # the only slot is free again


async def test_an_oversized_frame_is_refused_at_its_header() -> None:
    import h2.errors

    async with LocalEndpoint(tls="none", engine="none") as ep:
        port = int(ep.http2_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        # A DATA frame header announcing 16 MiB (the limit is 16 KiB), and the first 64 KiB of it.
        header = (16 * 1024 * 1024 - 1).to_bytes(3, "big") + b"\x00\x00" + (1).to_bytes(4, "big")
        writer.write(conn.data_to_send() + header + bytes(65536))
        await writer.drain()
        received = b""
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            received += chunk
        writer.close()
    goaway = [e for e in conn.receive_data(received) if isinstance(e, h2.events.ConnectionTerminated)]
    assert goaway and goaway[0].error_code == h2.errors.ErrorCodes.FRAME_SIZE_ERROR


def test_the_frame_guard_reads_headers_split_anywhere() -> None:
    import pytest

    from streaming.aio.h2channel import _FrameSizeGuard
    from streaming.proto.errors import ProtocolError

    def frame(length: int) -> bytes:
        return length.to_bytes(3, "big") + b"\x00\x00\x00\x00\x00\x01" + bytes(length)

    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    wire = preface + frame(0) + frame(10) + frame(16384) + frame(3)
    for split in range(1, len(wire), 997):
        guard = _FrameSizeGuard(len(preface), "peer")
        for start in range(0, len(wire), split):
            guard.check(wire[start : start + split], 16384)
    hostile = preface + frame(10) + (16385).to_bytes(3, "big") + b"\x00" * 6
    for split in (1, 5, len(hostile)):
        guard = _FrameSizeGuard(len(preface), "peer")
        with pytest.raises(ProtocolError, match="16385 bytes"):
            for start in range(0, len(hostile), split):
                guard.check(hostile[start : start + split], 16384)


async def test_an_idle_connection_is_closed() -> None:
    async with LocalEndpoint(tls="none", engine="none", idle_timeout=0.5) as ep:
        port = int(ep.http2_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        writer.write(conn.data_to_send())  # the preface and SETTINGS, then nothing at all
        received = b""
        while chunk := await asyncio.wait_for(reader.read(65536), 10):
            received += chunk
        writer.close()
        for _ in range(50):
            if not ep.connections:
                break
            await asyncio.sleep(0.02)
        assert not ep.connections
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in conn.receive_data(received))


async def test_audio_faster_than_recognition_is_held_back_by_flow_control() -> None:
    import dataclasses

    from streaming.local.streamcore import Limits

    async with LocalEndpoint(tls="none") as ep:
        ep.limits = dataclasses.replace(Limits(), max_backlog_bytes=64 * 1024)
        for transport, url in (("http2", ep.http2_url), ("websocket", ep.websocket_url)):
            client = TranscribeStreamingClient(endpoint=url, transport=transport)  # type: ignore[arg-type]
            async with client.start_stream_transcription(
                language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
            ) as stream:
                # 21 s of audio as fast as the socket takes it: far faster than recognition.
                sender = asyncio.create_task(stream.send_from(PcmSource(FOX * 5, sample_rate=16000), realtime=False))
                finals = [r for e in [e async for e in stream] for r in e.transcript.results if not r.is_partial]
                await sender
            served = ep.completed[-1]
            assert served.outcome == "completed"
            assert served.audio_bytes == len(FOX) * 5  # nothing dropped...
            # ...and never more queued than the limit plus what the client may still send: the
            # rest of its HTTP/2 window (64 KiB) or, over WebSocket, the message being read.
            assert served.max_backlog <= 64 * 1024 + 65535 + 3200
            assert len(finals) >= 5


async def test_a_header_that_is_not_utf8_is_a_protocol_error_not_a_crash() -> None:
    """Found by fuzz/fuzz_endpoint.py: h2 let the UnicodeDecodeError escape the connection."""
    import hpack

    async with LocalEndpoint(tls="none", engine="none") as ep:
        port = int(ep.http2_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        block = hpack.Encoder().encode([(b":method", b"POST"), (b":path", b"/\xad\xff"), (b":scheme", b"http")])
        headers_frame = len(block).to_bytes(3, "big") + b"\x01\x05" + (1).to_bytes(4, "big") + block
        writer.write(conn.data_to_send() + headers_frame)
        await writer.drain()
        received = b""
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            received += chunk
        writer.close()
        events = conn.receive_data(received)
        goaway = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
        assert goaway and goaway[0].error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR
        await a_normal_stream_works(ep)  # and the endpoint serves on


async def test_a_request_target_that_is_not_a_url_is_refused_typed() -> None:
    """Found by fuzz/fuzz_endpoint.py: urlsplit raised on a :path like "//[x"."""
    async with LocalEndpoint(tls="none", engine="none") as ep:
        for opener in (ep.open_http2_stream, ep.open_websocket_stream):
            outcome = opener("POST", "//[x/stream-transcription?a=%zz", [("host", "x")])
            assert isinstance(outcome, ServiceError)
        assert not ep.streams
