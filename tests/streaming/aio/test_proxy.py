"""HTTPS_PROXY: the HTTP/2 transport tunnels through an HTTP proxy with CONNECT."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

import streaming
from streaming import PcmSource, RetryPolicy, TranscribeStreamingClient
from streaming.local import LocalEndpoint
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate


class ConnectProxy:
    """A minimal HTTP CONNECT proxy; ``refuse`` answers 403 instead of tunnelling."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.targets: list[str] = []
        self.port = 0

    async def __aenter__(self) -> ConnectProxy:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
        self.targets.append(f"{method} {target}")
        if self.refuse:
            writer.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            writer.close()
            return
        host, port = target.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_https_through_a_connect_proxy(endpoint: LocalEndpoint) -> None:
    async with ConnectProxy() as proxy:
        client = TranscribeStreamingClient(
            endpoint=endpoint.http2_url, ca_file=endpoint.ca_file, proxy=f"http://127.0.0.1:{proxy.port}"
        )
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ) as stream:
            sender = asyncio.create_task(stream.send_from(PcmSource(FIXTURES / "fox.pcm", sample_rate=16000), speed=8))
            text = " ".join(
                r.transcript for e in [e async for e in stream] for r in e.transcript.results if not r.is_partial
            )
            await sender
    assert proxy.targets == [f"CONNECT {endpoint.http2_url.split('//')[1]}"]
    assert word_error_rate(FOX_TEXT, text) <= 0.15


async def test_proxy_refusal_is_a_connect_error(endpoint: LocalEndpoint) -> None:
    async with ConnectProxy(refuse=True) as proxy:
        client = TranscribeStreamingClient(
            endpoint=endpoint.http2_url,
            ca_file=endpoint.ca_file,
            proxy=f"127.0.0.1:{proxy.port}",
            retry=RetryPolicy(max_attempts=1),
        )
        with pytest.raises(streaming.ConnectError, match="refused CONNECT"):
            async with client.start_stream_transcription(
                language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
            ):
                pass


def test_the_proxy_comes_from_the_environment_but_not_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    from streaming.aio.transports import _proxy_for

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _proxy_for("https://transcribestreaming.us-east-1.amazonaws.com") == "http://proxy.example:3128"
    assert _proxy_for("https://127.0.0.1:8443") is None
    monkeypatch.setenv("NO_PROXY", "amazonaws.com")
    assert _proxy_for("https://transcribestreaming.us-east-1.amazonaws.com") is None
