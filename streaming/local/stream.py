"""One stream on the local endpoint, the asyncio side: queue, wait, run the recogniser, send.

Transport-neutral: the HTTP/2 and WebSocket adapters push received bytes in with
:meth:`ServerStream.feed` and run :meth:`ServerStream.run` with a ``send`` coroutine. What
the bytes mean is decided by :class:`~streaming.local.streamcore.ServerStreamCore` (sans-I/O:
frames, signatures, configuration, limits, backlog); what the audio says by the
:class:`~streaming.local.worker.Recognition` worker, in a thread. Protocol violations raise
the service's exception (a :class:`~streaming.proto.errors.ServiceError`); the adapter sends
it as one exception message and ends the stream.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as _dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import sigv4

from ..proto.errors import InternalFailureException, ServiceError
from ..proto.messages import encode_result_event
from ..proto.models import CategoryEvent, UtteranceEvent
from ..proto.params import StreamParams
from .faults import Reset, StreamFaults
from .lifecycle import StreamLifecycle
from .resources import Resources
from .streamcore import AudioEnd, AudioIn, Limits, ServerStreamCore
from .worker import RECOGNITION_THREADS, Recognition

__all__ = [
    "ResetRequested",
    "ServerStream",
    "StreamSummary",
]

log = logging.getLogger("streamscribe.local")

_END: Final = object()
BATCH_BYTES: Final = 16 * 1024  # audio handed to the recogniser in one call, at most


class _Watchdog:
    """The stream's two time limits as one timer, re-armed when it fires; the core decides."""

    def __init__(self, stream: ServerStream, loop: asyncio.AbstractEventLoop) -> None:
        self.stream = stream
        self.loop = loop
        self.waiting_since: float | None = None
        self._timer = loop.call_later(stream.core.next_check(time.monotonic(), None), self._check)

    def _check(self) -> None:
        now = time.monotonic()
        error = self.stream.core.time_limit(now, self.waiting_since)
        if error is not None:
            self.stream.abort(error)
            return
        self._timer = self.loop.call_later(self.stream.core.next_check(now, self.waiting_since), self._check)

    def cancel(self) -> None:
        self._timer.cancel()


class ResetRequested(Exception):
    """A scripted fault breaks the connection: ``how`` is ``tcp`` (a reset) or ``stream``
    (HTTP/2 RST_STREAM, WebSocket close 1011). The adapter carries it out."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """What the endpoint keeps of a finished stream (a few numbers, not its buffers,
    results or connection): for diagnostics, the log and tests."""

    session_id: str
    request_id: str
    outcome: str
    frames: int
    audio_bytes: int
    audio_seconds: float
    max_backlog: int
    line: str  # the log line


class ServerStream:
    """One stream's asyncio shell; see the module docstring."""

    def __init__(
        self,
        params: StreamParams,
        *,
        request_id: str,
        session_id: str,
        verifier: sigv4.ChunkVerifier | None,
        allow_unsigned: bool,
        engine: str,
        limits: Limits,
        clock: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.UTC),
        resources: Resources | None = None,
        faults: StreamFaults | None = None,
    ) -> None:
        self.params = params
        self.request_id = request_id
        self.session_id = session_id
        self.allow_unsigned = allow_unsigned
        self.limits = limits
        self.clock = clock
        self.engine = engine
        self.core = ServerStreamCore(
            params, verifier=verifier, allow_unsigned=allow_unsigned, limits=limits, started=time.monotonic()
        )
        self.recognition = Recognition(params, engine=engine, resources=resources)
        self.lifecycle = StreamLifecycle()  # how it ended: the one owner of its outcome
        self.released = False  # its endpoint slot was given back
        self.access_key_id = ""  # the identity that opened it (only it may take the session over)
        self.on_room: Callable[[], None] | None = None  # the transport's "acknowledge now"
        self.finals: list[UtteranceEvent | CategoryEvent] = []  # Call Analytics: for the post-call job
        self.faults = faults  # scripted faults for this stream (serve --resources, Faults)
        self._room = asyncio.Event()
        self._inbox: asyncio.Queue[object] = asyncio.Queue()

    @property
    def outcome(self) -> str:
        """How the stream ended ("open" while it runs); see :mod:`streaming.local.lifecycle`."""
        return self.lifecycle.outcome

    # -- what the core counts -------------------------------------------------------------------

    @property
    def frames(self) -> int:
        return self.core.frames

    @property
    def audio_bytes(self) -> int:
        return self.core.audio_bytes

    @property
    def max_backlog(self) -> int:
        return self.core.max_backlog

    @property
    def audio_seconds(self) -> float:
        return self.recognition.audio_seconds

    @property
    def post_call_settings(self) -> dict[str, str] | None:
        return self.core.post_call_settings

    @property
    def channel_definitions(self) -> list[dict[str, Any]]:
        return self.core.channel_definitions

    # -- input (called by the transport for each chunk of received bytes) ---------------------

    def feed(self, data: bytes) -> None:
        """Decode and verify received event-stream bytes; queue the audio they carry."""
        self._queue(self.core.receive(data, self.clock()))

    def end_of_input(self) -> None:
        """The client ended its side (HTTP/2 END_STREAM, or a WebSocket close)."""
        self._queue(self.core.end_of_input())

    def abort(self, error: ServiceError) -> None:
        """End the stream from outside (a ConflictException from a newer stream, a time limit)."""
        self._inbox.put_nowait(error)

    def _queue(self, received: list[AudioIn | AudioEnd]) -> None:
        for item in received:
            self._inbox.put_nowait(item.data if isinstance(item, AudioIn) else _END)

    @property
    def has_room(self) -> bool:
        """False while the backlog is full: the transport must hold the client back."""
        return self.core.has_room

    async def wait_for_room(self) -> None:
        """Until the worker has taken enough audio (the WebSocket reader waits here)."""
        while not self.core.has_room and not self.core.ended:
            self._room.clear()
            await self._room.wait()

    def _took(self, size: int) -> None:
        if self.core.took(size):
            self._room.set()
            if self.on_room is not None:
                self.on_room()

    # -- the worker: decode, recognise, send ----------------------------------------------------

    async def run(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        """Process queued audio until the end; send result events as they come."""
        # The thread's own future: cancelling the awaiting task marks an asyncio wrapper
        # done while the thread is still inside pocketsphinx; this one tells the truth.
        inflight: concurrent.futures.Future[list[Any]] | None = None
        watchdog = _Watchdog(self, asyncio.get_running_loop())
        try:
            while True:
                item = self._queued()
                if item is None:
                    watchdog.waiting_since = time.monotonic()
                    item = await self._inbox.get()  # the watchdog ends a wait that lasts too long
                    watchdog.waiting_since = None
                # What is already queued goes to the recogniser in one call (one thread hop
                # per wake-up, not per frame), up to a bound: a replayed backlog is
                # recognised piece by piece, its results sent as they come.
                chunks: list[bytes] = []
                batched = 0
                while isinstance(item, bytes):
                    self._took(len(item))
                    chunks.append(item)
                    batched += len(item)
                    item = self._queued() if batched < BATCH_BYTES else None  # full: the next round
                if isinstance(item, ServiceError):
                    raise item
                final = item is _END
                data = b"".join(chunks)
                if self.engine == "none":  # decoding and counting only: cheaper than a thread hop
                    events = self._process(data, final)
                else:
                    inflight = RECOGNITION_THREADS.submit(self._process, data, final)
                    events = await asyncio.wrap_future(inflight)
                if self.faults:
                    await self._fault_delays(bool(events))
                for event in events:
                    await send(encode_result_event(event))
                    if isinstance(event, UtteranceEvent | CategoryEvent) and not getattr(event, "is_partial", False):
                        self.finals.append(event)  # what a post-call job is built from
                if self.faults:
                    due = self.faults.at(self.audio_seconds)  # placed by audio time, not wall time
                    if isinstance(due, Reset):
                        self.lifecycle.scripted_reset(due.how)
                        raise ResetRequested(due.how)
                    if due is not None:
                        log.info(
                            "stream %s: a scripted %s at %.2f s of audio", self.session_id, due.code, self.audio_seconds
                        )
                        raise due
                if final:
                    self.lifecycle.completed()
                    return
        except ServiceError as exc:
            self.lifecycle.failed(exc.code)
            raise
        except (ConnectionError, asyncio.CancelledError, ResetRequested):
            raise
        except Exception as exc:
            # A fault of ours: the client gets the service's 500, the log gets the details.
            log.exception("stream %s failed", self.session_id)
            self.lifecycle.failed("InternalFailureException")
            raise InternalFailureException(f"The local endpoint failed: {type(exc).__name__}") from exc
        finally:
            watchdog.cancel()

            def close(_: object = None) -> None:
                self.recognition.close()

            if inflight is not None and not inflight.done():
                # Cancelled mid-call: the thread still uses the decoders. They go back to
                # the shared pool only when it is done, or two streams would share one
                # (and closing one under a running call crashes pocketsphinx).
                inflight.add_done_callback(close)
            else:
                close()

    async def _fault_delays(self, sending: bool) -> None:
        """Hold results back as the scripted faults say (a stall once, a delay each time)."""
        assert self.faults is not None
        hold = self.faults.stall(self.audio_seconds)
        if hold:
            log.info("stream %s: results held %g s by a scripted fault", self.session_id, hold)
        if sending:
            hold += self.faults.delay
        if hold:
            await asyncio.sleep(hold)

    def _queued(self) -> object | None:
        """The next queued item if one is waiting (no timer, no task switch)."""
        try:
            return self._inbox.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def _process(self, data: bytes, final: bool) -> list[Any]:
        """Recognise ``data`` (in the recognition thread); see :meth:`.worker.Recognition.process`."""
        core = self.core
        return self.recognition.process(
            data, final, channels=core.audio_format.channels, all_channels=core.all_channels, roles=core.channel_roles
        )

    def summarize(self) -> StreamSummary:
        return StreamSummary(
            self.session_id,
            self.request_id,
            self.outcome,
            self.frames,
            self.audio_bytes,
            self.audio_seconds,
            self.max_backlog,
            self.summary(),
        )

    def summary(self) -> str:
        params = " ".join(f"{p.wire}={v}" for p, v in self.params.wire_items())
        return (
            f"stream {self.session_id} request={self.request_id} op={self.params.operation.value} "
            f"{params} frames={self.frames} audio={self.audio_seconds:.2f}s outcome={self.outcome}"
        )
