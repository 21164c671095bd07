"""The send hot path: a frame that needs no wait goes out at once; one that would wait takes
the waiting path, and nothing is written twice or early. Real sockets, a real h2 peer."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import pytest
import uvloop
from websockets.protocol import State

from streaming import PcmSource, TranscribeStreamingClient
from streaming.aio import transports
from streaming.aio.h2channel import H2Channel, below_high_water
from streaming.aio.stream import Stream
from streaming.local import LocalEndpoint
from streaming.proto.actions import Transmit
from streaming.proto.errors import ConnectionLost
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

FRAME = bytes(3000)


class Peer:
    """A plain HTTP/2 server with a small window that it opens only when told to."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.received = bytearray()
        self.got = asyncio.Event()
        self.conn: h2.connection.H2Connection | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.writer = writer
        conn.initiate_connection()
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self.window})
        writer.write(conn.data_to_send())
        while data := await reader.read(65536):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    self.received += event.data  # and no window update: the test opens it
                self.got.set()
            writer.write(conn.data_to_send())

    def say(self, act: Callable[[h2.connection.H2Connection], object]) -> None:
        assert self.conn is not None and self.writer is not None
        act(self.conn)
        self.writer.write(self.conn.data_to_send())


@asynccontextmanager
async def channel_to(peer: Peer) -> AsyncIterator[tuple[H2Channel, int]]:
    server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    channel = H2Channel(conn, reader, writer, peer="peer")
    conn.initiate_connection()
    stream_id = conn.get_next_available_stream_id()
    conn.send_headers(stream_id, [(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", "/")])
    channel.flush()
    await settle(channel, peer)
    try:
        yield channel, stream_id
    finally:
        writer.close()
        server.close()


async def settle(channel: H2Channel, peer: Peer) -> None:
    """Exchange what both sides have to say: a PING and its answer, read by the channel."""
    channel.conn.ping(b"12345678")
    channel.flush()
    while True:
        events = await asyncio.wait_for(channel.receive_events(), 5)
        assert events is not None
        if any(isinstance(e, h2.events.PingAckReceived) for e in events):
            return


async def test_a_frame_that_fits_goes_out_at_once_and_one_that_does_not_waits() -> None:
    peer = Peer(window=5000)
    async with channel_to(peer) as (channel, stream_id):
        assert channel.send_now(stream_id, [FRAME])
        await settle(channel, peer)
        assert len(peer.received) == len(FRAME)
        assert not channel.send_now(stream_id, [FRAME])  # 2000 bytes of window left
        assert not channel.send_now(stream_id, [FRAME[:1500], FRAME[:1500]])  # all or nothing
        await settle(channel, peer)
        assert len(peer.received) == len(FRAME)  # nothing written by the refusals
        peer.say(lambda c: (c.increment_flow_control_window(10000), c.increment_flow_control_window(10000, 1)))
        await settle(channel, peer)
        assert channel.send_now(stream_id, [FRAME, FRAME])
        await settle(channel, peer)
        assert len(peer.received) == 3 * len(FRAME)


async def test_a_window_the_peer_shrinks_is_asked_again_not_taken_from_memory() -> None:
    peer = Peer(window=20000)
    async with channel_to(peer) as (channel, stream_id):
        assert channel.send_now(stream_id, [FRAME])  # the window is now remembered: 17000
        peer.say(lambda c: c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1000}))
        await settle(channel, peer)  # RFC 9113 6.9.2: the stream's window is now negative
        assert not channel.send_now(stream_id, [FRAME])
        assert channel.conn.local_flow_control_window(stream_id) < 0


async def test_a_frame_larger_than_the_peers_frame_size_takes_the_waiting_path() -> None:
    peer = Peer(window=1 << 20)
    async with channel_to(peer) as (channel, stream_id):
        assert not channel.send_now(stream_id, [bytes(20000)])  # over 16 384: send() splits it
        await channel.send(stream_id, bytes(20000), timeout=5)
        await settle(channel, peer)
        assert len(peer.received) == 20000


def test_the_buffer_check_asks_the_transport_not_its_class() -> None:
    """uvloop's transports are not ``asyncio.WriteTransport`` subclasses; the check that
    decides whether a frame may go out at once must still see their buffer."""

    async def check() -> tuple[bool, bool]:
        started = asyncio.Event()
        held: list[asyncio.StreamWriter] = []

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)
            started.set()
            await asyncio.sleep(3600)  # never reads: our buffer fills

        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        await started.wait()
        fresh = below_high_water(writer.transport)
        while writer.transport.get_write_buffer_size() <= writer.transport.get_write_buffer_limits()[1]:
            writer.write(bytes(1 << 20))
        full = below_high_water(writer.transport)
        writer.transport.abort()
        server.close()
        return fresh, full

    assert uvloop.run(check()) == (True, False)
    assert asyncio.run(check()) == (True, False)


def has_room(transport: Any, frames: tuple[bytes, ...]) -> bool:
    """Whether ``frames`` could go out on ``transport`` without any wait, asked of h2 and the
    socket directly (not through the code under test's own bookkeeping)."""
    if isinstance(transport, transports.Http2Transport):
        channel = transport._channel
        if channel is None or not below_high_water(channel.writer.transport):
            return False
        conn = channel.conn
        try:
            window = conn.local_flow_control_window(transport._stream_id)
        except h2.exceptions.StreamClosedError:
            return False
        return sum(map(len, frames)) <= window and all(len(f) <= conn.max_outbound_frame_size for f in frames)
    ws = transport._ws
    return ws is not None and ws.protocol.state is State.OPEN and below_high_water(ws.transport)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("transport", ["http2", "websocket"])
def test_every_audio_frame_that_can_go_at_once_takes_the_fast_path_on_either_loop(
    threaded_endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch, transport: str, loop: str
) -> None:
    """Every send of audio that finds no earlier send waiting and room in the peer's window
    and the socket's buffer goes out without the waiting path. How often the window is
    short depends on how fast the endpoint keeps up (a busy machine shuts it more often), so
    each send is judged by the room there was when it was made, not by a count."""
    current: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("current", default=None)
    for kind in (transports.Http2Transport, transports.WebSocketTransport):
        slow = kind.send

        async def counted(self: Any, data: bytes, *, timeout: float | None, slow: Any = slow) -> None:
            waits = current.get()
            if waits is not None:
                waits.append(len(data))
            await slow(self, data, timeout=timeout)

        monkeypatch.setattr(kind, "send", counted)

    sends: list[tuple[bool, bool, list[int]]] = []  # (could go at once, was the end, waiting sends)
    transmit = Stream._transmit

    async def traced(self: Stream, action: Transmit) -> None:
        carrier = self._carrier(action)
        free = carrier is not None and not self._send_lock.locked() and has_room(carrier, action.frames)
        waits: list[int] = []
        sends.append((free, action.end_input, waits))
        token = current.set(waits)
        try:
            await transmit(self, action)
        finally:
            current.reset(token)

    monkeypatch.setattr(Stream, "_transmit", traced)

    async def run() -> tuple[str, int]:
        url = threaded_endpoint.http2_url if transport == "http2" else threaded_endpoint.websocket_url
        client = TranscribeStreamingClient(endpoint=url, transport=transport)
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ) as stream:
            sender = asyncio.create_task(
                stream.send_from(PcmSource(FIXTURES / "fox.pcm", sample_rate=16000), speed=4.0)
            )
            finals = [
                r.alternatives[0].transcript
                async for e in stream
                for r in getattr(getattr(e, "transcript", None), "results", ())
                if not r.is_partial
            ]
            await sender
        return " ".join(finals), stream.stats.frames_sent

    text, frames = uvloop.run(run()) if loop == "uvloop" else asyncio.run(run())
    assert word_error_rate(FOX_TEXT, text) <= 0.3
    assert frames > 20
    assert sends[0][0], "the first frame found the window open"
    slow_while_free = [i for i, (free, end, waits) in enumerate(sends) if free and not end and waits]
    assert slow_while_free == [], f"sends {slow_while_free} of {len(sends)} waited with room to go at once"
    # The end of the audio (HTTP/2's END_STREAM, or the WebSocket's last frame) is the one
    # send that always takes the waiting path.
    assert sends[-1][1]


async def test_a_closing_socket_takes_the_waiting_path_which_says_the_connection_is_lost() -> None:
    peer = Peer(window=1 << 20)
    async with channel_to(peer) as (channel, stream_id):
        channel.writer.close()
        assert not channel.send_now(stream_id, [FRAME])
        with pytest.raises(ConnectionLost, match="lost while sending"):
            await channel.send(stream_id, FRAME, timeout=5)
