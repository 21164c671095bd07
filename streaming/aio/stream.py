"""One stream's asyncio shell: it carries out what :class:`~streaming.proto.core.StreamCore` decides.

:class:`Stream` owns the tasks, the sockets and the waits, and nothing else. Every
decision (what to send, when to reconnect, what to replay, how long each wait may last,
which results the application has already seen, when the next chunk is due) is made by
pure code: the core, and the :class:`~streaming.proto.pacing.Pacer` for a source's timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import random
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..proto.actions import (
    Action,
    CloseConnection,
    Connect,
    Deliver,
    Fail,
    Finish,
    StreamEvent,
    StreamStats,
    Transmit,
)
from ..proto.chunking import AudioChunk
from ..proto.configuration import check_source_channels
from ..proto.core import StreamCore, StreamSettings
from ..proto.errors import AudioFormatError, AudioSourceError, ParameterError, StreamTimeout, TranscribeError
from ..proto.pacing import Pacer
from ..proto.params import StreamParams
from ..proto.retry import NO_SKEW, ClockSkew
from ..proto.states import AudioState, ConnectionState
from .audio import AudioSource
from .transports import Http2Transport, Transport, WebSocketTransport

_log: Final = logging.getLogger("streaming.stream")
logging.getLogger("streaming").addHandler(logging.NullHandler())  # a library is silent unless the app logs

__all__ = ["Stream"]

_TRANSPORTS: Final[Mapping[str, Callable[..., Transport]]] = {"http2": Http2Transport, "websocket": WebSocketTransport}


@dataclass(slots=True)
class _Reading:
    generation: int
    window: asyncio.Timeout
    limit: float | None
    inputs: tuple[object, ...]  # the core's deadline inputs when the deadline was set


class _EventBuffer:
    """Events on their way to the application: bounded, so that a slow consumer stops the
    receiver, which stops acknowledging, which slows the service (flow control)."""

    def __init__(self, limit: int) -> None:
        self._items: deque[StreamEvent] = deque()
        self._limit = limit
        self._changed = asyncio.Event()
        self._end: TranscribeError | None = None
        self._ended = False

    async def put(self, event: StreamEvent) -> None:
        while len(self._items) >= self._limit and not self._ended:
            self._changed.clear()
            await self._changed.wait()
        if not self._ended:
            self._items.append(event)
            self._changed.set()

    def end(self, error: TranscribeError | None) -> None:
        """No more events; after the buffered ones the reader gets ``error`` (or the end)."""
        if not self._ended:
            self._ended, self._end = True, error
            self._changed.set()

    async def get(self) -> StreamEvent | None:
        """The next event, None at the end; raises the stream's error after the last event."""
        while not self._items:
            if self._ended:
                if self._end is not None:
                    raise self._end
                return None
            self._changed.clear()
            await self._changed.wait()
        event = self._items.popleft()
        self._changed.set()
        return event


class Stream:
    """One transcription stream: an async context manager, an audio sink, an event iterator.

    ``max_events`` results may wait for the application; beyond that the stream stops
    reading and the service waits (HTTP/2 flow control, TCP for WebSocket).
    """

    def __init__(
        self,
        params: StreamParams,
        settings: StreamSettings,
        *,
        configuration: Mapping[str, Any] | None,
        ssl_context: ssl.SSLContext | None,
        proxy: str | bool | None,
        clock: Callable[[], _dt.datetime],
        rng: random.Random,
        skew: ClockSkew = NO_SKEW,
        learned_skew: Callable[[ClockSkew], None] = lambda _: None,
        max_events: int = 256,
    ) -> None:
        """What the stream needs and nothing more: its settings, how to dial (TLS context,
        proxy), the clock, and where to report the service's clock (``learned_skew``, so
        later streams of the same client sign with it)."""
        self._core = StreamCore(params, settings, configuration=configuration, rng=rng, skew=skew)
        self._ssl_context = ssl_context
        self._proxy = proxy
        self._clock = clock
        self._learned_skew = learned_skew
        self._events = _EventBuffer(max_events)
        self._transports: dict[int, Transport] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()
        self._changed = asyncio.Event()  # the core's connection state changed
        self._readings: dict[int, _Reading] = {}  # reads in progress, by connection, with their deadlines
        # Set by send_from when its source met audio it could not read (a file cut short or
        # damaged part-way): the audio before it was sent and the stream ended normally.
        self.audio_damage: AudioFormatError | None = None

    # -- what the core knows -----------------------------------------------------------------

    @property
    def params(self) -> StreamParams:
        return self._core.params

    @property
    def configuration(self) -> dict[str, Any] | None:
        return self._core.configuration

    @property
    def state(self) -> ConnectionState:
        """Where the stream stands (see :class:`~streaming.proto.states.ConnectionState`)."""
        return self._core.state

    @property
    def stats(self) -> StreamStats:
        return self._core.stats

    @property
    def session_id(self) -> str | None:
        return self._core.session_id

    @property
    def request_id(self) -> str | None:
        return self._core.request_id

    @property
    def response_headers(self) -> dict[str, str]:
        return self._core.response_headers

    @property
    def response_parameters(self) -> dict[str, str]:
        """The ``x-amzn-transcribe-*`` parameters the service echoed back."""
        return {k: v for k, v in self.response_headers.items() if k.startswith("x-amzn-transcribe-")}

    def _now(self) -> _dt.datetime:
        return self._clock()

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Stream:
        await self._apply(self._core.start(self._now()))
        await self._wait_until(lambda: self._core.state is not ConnectionState.CONNECTING)
        if self._core.state is ConnectionState.FAILED and self._core.generation == 0:
            # Never opened. (A stream that opened and failed at once is returned: its
            # reader gets the results that came first, then the error.)
            await self.aclose(abort=True)
            assert self._core.error is not None
            raise self._core.error
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is not None:
            await self.aclose(abort=True)
            return
        if not self._core.is_over and self._core.audio is AudioState.SENDING:
            with contextlib.suppress(TranscribeError):
                await self.end_audio()
        await self.aclose()

    async def aclose(self, *, abort: bool = False) -> None:
        """Close the connection (results not yet read are dropped).

        The core's CloseConnection is carried out here, for every connection still open,
        after the stream's tasks have stopped (a cancellation of the caller still wins).
        """
        closing = self._core.close() if self._core.state is not ConnectionState.CLOSED else []
        self._events.end(None)
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # The core says how its connection ends (reset while audio was still being sent);
        # any other connection still open is a stale one and is reset.
        ends = {a.generation: a.abort for a in closing if isinstance(a, CloseConnection)}
        for generation in list(self._transports):
            await self._close_transport(generation, abort=abort or ends.get(generation, True))

    async def _wait_until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- carrying out the core's actions -----------------------------------------------------

    async def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Transmit):
                await self._transmit(action)
            elif isinstance(action, Deliver):
                await self._events.put(action.event)
            elif isinstance(action, Connect):
                self._spawn(self._open(action.delay))
            elif isinstance(action, CloseConnection):
                self._spawn(self._close_transport(action.generation, abort=action.abort))
            elif isinstance(action, Fail):
                self._events.end(action.error)
            elif isinstance(action, Finish):
                self._events.end(None)
        self._move_read_deadline()
        self._changed.set()

    async def _transmit(self, action: Transmit) -> None:
        """The one path every frame leaves by (configuration, audio, replay, end)."""
        core = self._core
        if not self._send_lock.locked() and not action.end_input:
            # The hot path: no earlier send is waiting and the frames go out without a wait.
            transport = self._carrier(action)
            if transport is None or transport.send_now(action.frames):
                return
        failure: TranscribeError | None = None
        async with self._send_lock:
            transport = self._carrier(action)  # asked again: the wait for the lock may have replaced it
            if transport is None:
                return
            try:
                for frame in action.frames:
                    await transport.send(frame, timeout=core.deadlines.send)
                if action.end_input:
                    await transport.end_input(timeout=core.deadlines.send)
            except TranscribeError as exc:
                failure = exc
        if failure is not None:
            await self._apply(core.connection_lost(action.generation, failure, self._now()))

    def _carrier(self, action: Transmit) -> Transport | None:
        """The connection that carries ``action``'s frames; None when it was replaced (the
        next one replays what it carried)."""
        if action.generation != self._core.generation:
            return None
        return self._transports.get(action.generation)

    async def _open(self, delay: float) -> None:
        core = self._core
        if delay > 0:
            _log.debug("retrying in %.2f s", delay)
            await asyncio.sleep(delay)
        kind = core.settings.transport
        transport = _TRANSPORTS[kind](
            ssl_context=self._ssl_context,
            proxy=self._proxy,
        )
        try:
            request = core.request(self._now())
            _log.debug("opening %s over %s", request.url.split("?", 1)[0], kind)
            headers = await transport.open(request, timeout=core.deadlines.open_at(self._now()))
        except TranscribeError as exc:
            _log.debug("connecting failed: %s: %s", type(exc).__name__, exc)
            await self._apply(core.connect_failed(exc, self._now()))
            return
        except asyncio.CancelledError:  # the stream was closed while this connection opened
            await transport.aclose(abort=True)
            raise
        if core.is_over:
            await transport.aclose(abort=True)
            return
        actions = core.connected(headers, self._now())
        _log.debug("connection %d open: session %s, request %s", core.generation, core.session_id, core.request_id)
        self._learned_skew(core.skew)  # later streams of this client sign with the service's clock
        self._transports[core.generation] = transport
        self._spawn(self._receive(core.generation, transport))
        await self._apply(actions)

    async def _receive(self, generation: int, transport: Transport) -> None:
        core = self._core
        try:
            while core.is_current(generation):
                data = await self._read(generation, transport)
                if data is None:
                    await self._apply(core.response_ended(generation, self._now()))
                    return
                await self._apply(core.data_received(generation, data, self._now()))
        except TranscribeError as exc:
            if core.is_current(generation):
                _log.debug("connection %d lost: %s: %s", generation, type(exc).__name__, exc)
            await self._apply(core.connection_lost(generation, exc, self._now()))

    async def _read(self, generation: int, transport: Transport) -> bytes | None:
        """One read, within the deadline the core sets; the deadline moves while we wait
        (when the audio ends, only results are due and the stall timeout starts)."""
        limit = self._core.deadlines.receive(self._now())
        try:
            async with asyncio.timeout(limit) as window:  # a delay; reschedule() takes loop times
                reading = _Reading(generation, window, limit, self._core.deadlines.inputs)
                self._readings[generation] = reading
                return await transport.receive(timeout=None)
        except TimeoutError as exc:
            if not window.expired():
                raise
            raise StreamTimeout(f"the service sent nothing for {reading.limit or 0:g} s") from exc
        finally:
            self._readings.pop(generation, None)

    def _move_read_deadline(self) -> None:
        """The core may have changed the current read's deadline: move it (only when what
        the deadline depends on changed; this runs after every frame)."""
        inputs = self._core.deadlines.inputs
        for reading in self._readings.values():
            if reading.inputs == inputs:
                continue
            reading.inputs = inputs
            limit = self._core.deadlines.receive(self._now())
            if limit != reading.limit:
                reading.limit = limit
                when = None if limit is None else asyncio.get_running_loop().time() + limit
                reading.window.reschedule(when)

    async def _close_transport(self, generation: int, *, abort: bool) -> None:
        transport = self._transports.pop(generation, None)
        if transport is not None:
            await transport.aclose(abort=abort)

    # -- sending -------------------------------------------------------------------------------

    async def send_audio(self, chunk: bytes, duration: float | None = None) -> None:
        """Send one chunk of audio (at most 1 s of it); waits while the stream reconnects.

        ``duration`` (seconds of media) is computed for PCM; give it for FLAC and Opus
        chunks (the sources do) so that pacing, statistics and resumption stay exact.
        Raises the stream's error once it has failed.
        """
        core = self._core
        if not core.is_writable:
            await self._wait_until(lambda: core.is_writable)
        await self._apply(core.send_audio(chunk, duration, self._now()))

    async def end_audio(self) -> None:
        """Signal the end of the audio (the signed empty frame); results keep coming."""
        await self._apply(self._core.end_audio(self._now()))

    async def _sender_failed(self, error: TranscribeError) -> None:
        await self._apply(self._core.sender_failed(error))

    async def send_from(
        self,
        source: AudioSource,
        *,
        realtime: bool = True,
        speed: float = 1.0,
        keepalive: float | None = None,
        end: bool = True,
    ) -> None:
        """Send a source's audio, paced by its media time, then end the audio.

        ``realtime`` paces at ``speed`` times real time (1.0 by default; signatures expire
        after 5 minutes, so a long file cannot be sent all at once). ``keepalive`` sends
        silence (PCM only) when the source stalls that many seconds, so a quiet microphone
        does not hit the service's 15-second idle timeout.

        Whatever stops the sender (a bad argument, a file with nothing readable, a source
        that raises) also ends the stream at once with that error, so the reader learns it
        now rather than from the service's idle timeout. A file cut short or damaged
        part-way is sent up to the damage and its audio ended as usual, so the words before
        it still come back; :attr:`audio_damage` then says what was not read (and the
        ``streaming`` logger warns).
        """
        try:
            self._check_source(source, speed, keepalive)
            await self._pump(source, realtime=realtime, speed=speed, keepalive=keepalive)
            damage = getattr(source, "damage", None)
            if isinstance(damage, AudioFormatError):
                self.audio_damage = damage
                _log.warning("%s: sent the %.1f s of audio before it", damage, self.stats.audio_seconds)
            if end:
                await self.end_audio()
        except TranscribeError as exc:  # the source's own failures arrive as AudioSourceError
            await self._sender_failed(exc)
            raise
        except Exception as exc:  # not the source's: a fault in sending, said as such
            error = TranscribeError(f"sending the audio failed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            await self._sender_failed(error)
            raise error from exc

    def _check_source(self, source: AudioSource, speed: float, keepalive: float | None) -> None:
        params = self.params
        if source.media_encoding != params.media_encoding:
            raise ParameterError(
                "media_encoding",
                f"the source is {source.media_encoding} but the stream was opened for {params.media_encoding}",
            )
        if source.media_encoding == "pcm" and source.sample_rate != params.sample_rate:
            raise ParameterError(
                "media_sample_rate_hz",
                f"the source is {source.sample_rate} Hz but the stream was opened for {params.sample_rate} Hz",
            )
        check_source_channels(params, self.configuration, source.channels)
        if not speed > 0:
            raise ParameterError("speed", f"speed must be a positive factor of real time, got {speed}")
        if keepalive is not None:
            if source.media_encoding != "pcm" and not callable(getattr(source, "silence", None)):
                raise ParameterError(
                    "keepalive",
                    "keepalive silence needs PCM audio or a source that makes silence in its own encoding "
                    "(AsyncByteSource does, for FLAC and Ogg/Opus too)",
                )
            if not keepalive > 0:
                raise ParameterError("keepalive", f"keepalive must be positive seconds, got {keepalive}")
        self._core.set_container_header(source.header)

    async def _pump(self, source: AudioSource, *, realtime: bool, speed: float, keepalive: float | None) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[AudioChunk | BaseException | None] = asyncio.Queue(maxsize=8)

        async def read() -> None:
            try:
                async for chunk in source:
                    await queue.put(chunk)
                await queue.put(None)
            except TranscribeError as exc:  # a damaged file (AudioFormatError): already typed
                await queue.put(exc)
            except Exception as exc:  # only what the source raised is blamed on it (cancellation is not)
                error = AudioSourceError(f"the audio source failed: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
                await queue.put(error)

        reader = loop.create_task(read())
        zeros = AudioChunk(self._core.audio_format.silence(0.1), 0.1)
        make_silence = getattr(source, "silence", None)

        def silence() -> AudioChunk | None:
            return make_silence(0.1) if callable(make_silence) else zeros

        pacer = Pacer(loop.time(), speed if realtime else None, keepalive or None)
        try:
            while True:
                stalled = False
                try:
                    item = await asyncio.wait_for(queue.get(), pacer.source_timeout)
                except TimeoutError:
                    # The source stalled: keep the stream alive with silence in its own
                    # encoding (a compressed source may not be able to make any yet).
                    filler = silence()
                    if filler is None:
                        continue
                    item, stalled = filler, True
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                delay = pacer.delay(loop.time())
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.send_audio(item.data, item.duration)
                pacer.sent(item.duration, loop.time(), filler=stalled)
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    # -- receiving -----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StreamEvent]:
        while (event := await self._events.get()) is not None:
            yield event
