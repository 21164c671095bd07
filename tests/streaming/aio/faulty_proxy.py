"""A TCP proxy of our own that breaks the first connection mid-stream, on purpose.

Modes, triggered once ``after_bytes`` have passed in ``direction`` (``up``: client to
server, ``down``: server to client) on the first connection: ``drop`` aborts both
sockets (a reset), ``stall`` stops forwarding but keeps them open (a hung peer),
``truncate`` forwards half of the current chunk, then closes (a frame cut in two),
``corrupt`` flips one byte of the current chunk and goes on (a damaged byte), and
``deaf`` stops reading from the client but keeps forwarding to it (a server that
stops reading). Later connections pass through untouched, unless ``every_connection``.

With ``after_final`` (h2c only) an upstream fault also waits until a final transcript
result has gone down on that connection: each broken connection has then made progress,
however slowly the endpoint recognises on a busy machine, so the number of reconnects a
stream needs depends on its audio, not on the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct

import eventstream

_DATA, _PADDED = 0x0, 0x8


class FinalSpotter:
    """Reads the server's HTTP/2 bytes (h2c) and notes when a final transcript result passes."""

    def __init__(self) -> None:
        self._buffer = b""
        self._decoders: dict[int, eventstream.Decoder] = {}
        self.finals = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 9:
            length = int.from_bytes(self._buffer[:3], "big")
            if len(self._buffer) < 9 + length:
                return
            kind, flags, stream_id = self._buffer[3], self._buffer[4], struct.unpack(">I", self._buffer[5:9])[0]
            payload, self._buffer = self._buffer[9 : 9 + length], self._buffer[9 + length :]
            if kind != _DATA or not stream_id:
                continue
            if flags & _PADDED:
                payload = payload[1 : len(payload) - payload[0]]
            decoder = self._decoders.setdefault(stream_id & 0x7FFFFFFF, eventstream.Decoder())
            for message in decoder.feed(payload):
                if message.headers.get(":event-type") == "TranscriptEvent":
                    results = json.loads(message.payload)["Transcript"]["Results"]
                    self.finals += sum(1 for r in results if not r["IsPartial"])


class FaultyProxy:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        mode: str,
        after_bytes: int,
        direction: str = "up",
        every_connection: bool = False,
        after_final: bool = False,
    ) -> None:
        assert mode in ("drop", "stall", "truncate", "corrupt", "deaf")
        assert direction in ("up", "down")
        self.target = (target_host, target_port)
        self.mode = mode
        self.after_bytes = after_bytes
        self.direction = direction
        self.every_connection = every_connection  # fault each connection, not just the first
        self.after_final = after_final
        self.connections = 0
        self.faults = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> FaultyProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        faulty = self.connections == 1 or self.every_connection
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        stalled = asyncio.Event()
        done = asyncio.Event()  # the one fault of this connection has happened
        spotter = FinalSpotter()

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, upstream: bool) -> None:
            sent = 0
            try:
                while data := await src.read(65536):
                    if stalled.is_set():
                        await asyncio.Event().wait()  # hang: forward nothing more
                    if not upstream and self.after_final:
                        spotter.feed(data)
                    armed = faulty and upstream == (self.direction == "up") and not done.is_set()
                    armed = armed and (not self.after_final or spotter.finals > 0)
                    if armed and sent + len(data) > self.after_bytes:
                        self.faults += 1
                        done.set()
                        if self.mode == "corrupt":
                            at = max(self.after_bytes - sent, 0)
                            data = data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :]
                            dst.write(data)
                            await dst.drain()
                            sent += len(data)
                            continue
                        if self.mode == "deaf":  # read nothing more from the client
                            await asyncio.Event().wait()
                        if self.mode == "drop":
                            writer.transport.abort()
                            up_writer.transport.abort()
                            return
                        if self.mode == "truncate":
                            dst.write(data[: len(data) // 2])
                            await dst.drain()
                            writer.close()
                            up_writer.close()
                            return
                        stalled.set()
                        await asyncio.Event().wait()
                    sent += len(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        tasks = [asyncio.current_task()]
        up = asyncio.create_task(pipe(reader, up_writer, True))
        down = asyncio.create_task(pipe(up_reader, writer, False))
        for task in (up, down):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        del tasks
        with contextlib.suppress(BaseException):
            await asyncio.gather(up, down)
