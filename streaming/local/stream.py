"""One stream on the local endpoint: verify frames, decode audio, recognise, emit results.

Transport-neutral: the HTTP/2 and WebSocket adapters push received bytes in with
:meth:`ServerStream.feed` and run :meth:`ServerStream.run` with a ``send`` coroutine.
Protocol violations raise the service's exception (a :class:`~streaming.proto.errors.ServiceError`);
the adapter sends it as one exception message and ends the stream.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import eventstream
import sigv4
from eventstream import Message

from ..proto.configuration import check_channel_definitions, check_post_call_settings
from ..proto.errors import (
    AudioFormatError,
    BadRequestException,
    InternalFailureException,
    LimitExceededException,
    ParameterError,
    ServiceError,
)
from ..proto.messages import encode_result_event
from ..proto.models import CategoryEvent, UtteranceEvent
from ..proto.params import Operation, StreamParams
from .decoding import AudioPipeline
from .faults import Reset, StreamFaults
from .recognizer import ChannelRecognizer, NullRecognizer, Recognizer
from .resources import Resources
from .results import ResultBuilder

__all__ = ["Limits", "ResetRequested", "ServerStream", "StreamSummary"]

log = logging.getLogger("streamscribe.local")

MISSING_END_FRAME: Final = "A complete signal was sent without the preceding empty frame."
TOO_BIG: Final = "Your stream is too big. Reduce the frame size and try your request again."
_END: Final = object()
BATCH_BYTES: Final = 16 * 1024  # audio handed to the recogniser in one call, at most


# Recognition runs here, off the event loop: one thread per core is what the CPU allows.
_RECOGNITION: Final = concurrent.futures.ThreadPoolExecutor(
    max_workers=max(os.cpu_count() or 1, 2), thread_name_prefix="streamscribe-recognition"
)


def idle_message(seconds: float) -> str:
    return f"Your request timed out because no new audio was received for {seconds:g} seconds."


@dataclass(frozen=True, slots=True)
class Limits:
    """The service's limits, configurable for tests and load runs."""

    idle_timeout: float = 15.0
    max_duration: float = 4 * 3600.0
    max_frame_bytes: int = 256 * 1024
    max_event_seconds: float = 1.0
    # Audio received but not yet taken by the recogniser. Beyond this the transport stops
    # acknowledging (HTTP/2) or reading (WebSocket): flow control is the backpressure.
    max_backlog_bytes: int = 1 << 20


class _Watchdog:
    """The stream's two time limits, as two timers rather than a timeout per frame.

    The idle timer fires at most once per idle period: when it finds the worker has waited
    for audio that long it queues the idle error, otherwise it re-arms for the rest of the
    period. The duration timer queues LimitExceededException at the stream's deadline.
    """

    def __init__(self, stream: ServerStream, loop: asyncio.AbstractEventLoop) -> None:
        self.stream = stream
        self.loop = loop
        self.waiting_since: float | None = None
        limits = stream.limits
        left = max(limits.max_duration - (time.monotonic() - stream._started), 0.0)
        self._deadline = loop.call_later(left, self._too_long)
        self._idle = loop.call_later(limits.idle_timeout, self._check_idle)

    def _too_long(self) -> None:
        self.stream.abort(
            LimitExceededException(
                f"Your stream exceeded the maximum duration of {self.stream.limits.max_duration:g} seconds."
            )
        )

    def _check_idle(self) -> None:
        timeout = self.stream.limits.idle_timeout
        since = self.waiting_since
        now = time.monotonic()
        if since is not None and now - since >= timeout - 1e-3:
            self.stream.abort(BadRequestException(idle_message(timeout)))
            return
        self._idle = self.loop.call_later((since if since is not None else now) + timeout - now, self._check_idle)

    def cancel(self) -> None:
        self._deadline.cancel()
        self._idle.cancel()


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
    """Protocol state of one stream; see the module docstring."""

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
        self.verifier = verifier
        self.allow_unsigned = allow_unsigned
        self.limits = limits
        self.clock = clock
        self.engine = engine
        self.frames = 0
        self.audio_bytes = 0
        self.audio_seconds = 0.0
        self.outcome = "open"
        self.released = False  # its endpoint slot was given back
        self.access_key_id = ""  # the identity that opened it (only it may take the session over)
        self.backlog = 0  # bytes of audio queued for the worker
        self.max_backlog = 0  # the most it held (for tests and logs)
        self.on_room: Callable[[], None] | None = None  # the transport's "acknowledge now"
        self._room = asyncio.Event()
        self._decoder = eventstream.Decoder(max_message_size=limits.max_frame_bytes)
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._ended = False
        self._audio_started = False
        self._configuration: dict[str, Any] | None = None
        self.finals: list[UtteranceEvent | CategoryEvent] = []  # Call Analytics: for the post-call job
        self._started = time.monotonic()
        self._results = ResultBuilder(params, resources=resources)
        self._pipeline: AudioPipeline | None = None  # made with the first audio, once configured
        self._recognizers: list[Recognizer] = []
        self.faults = faults  # scripted faults for this stream (serve --resources, Faults)

    # -- input (called by the transport for each chunk of received bytes) ---------------------

    def feed(self, data: bytes) -> None:
        """Decode and verify received event-stream bytes; queue the audio they carry."""
        try:
            messages = self._decoder.feed(data)
        except eventstream.LimitExceeded as exc:
            raise BadRequestException(TOO_BIG) from exc
        except eventstream.EventStreamError as exc:
            raise BadRequestException(f"Could not decode the event stream: {exc}") from exc
        for message in messages:
            self._message(message)

    def end_of_input(self) -> None:
        """The client ended its side (HTTP/2 END_STREAM, or a WebSocket close)."""
        try:
            self._decoder.close()
        except eventstream.EventStreamError as exc:
            raise BadRequestException(f"The event stream ended mid-frame: {exc}") from exc
        if not self._ended:
            if self.verifier is not None and not self.allow_unsigned:
                raise BadRequestException(MISSING_END_FRAME)
            self._end()

    def abort(self, error: ServiceError) -> None:
        """End the stream from outside (a ConflictException from a newer stream)."""
        self._inbox.put_nowait(error)

    def _end(self) -> None:
        self._ended = True
        self._inbox.put_nowait(_END)

    def _message(self, message: Message) -> None:
        if self._ended:
            raise BadRequestException("Frames were sent after the end of the audio stream.")
        signed = ":chunk-signature" in message.headers
        if signed:
            if self.verifier is None:
                raise BadRequestException("Signed frames need a signed request.")
            try:
                inner_bytes = self.verifier.verify(message, self.clock())
            except sigv4.ExpiredError as exc:
                raise BadRequestException(f"Signature expired: {exc}") from exc
            except sigv4.VerificationError as exc:
                raise BadRequestException(str(exc)) from exc
            self.frames += 1
            if not inner_bytes:
                self._end()
                return
            try:
                inner = eventstream.decode(inner_bytes, max_message_size=self.limits.max_frame_bytes)
            except eventstream.LimitExceeded as exc:
                raise BadRequestException(TOO_BIG) from exc
            except eventstream.EventStreamError as exc:
                raise BadRequestException(
                    f"Could not decode the audio event inside frame {self.frames}: {exc}"
                ) from exc
        else:
            if not self.allow_unsigned:
                raise BadRequestException(
                    f"Frame {self.frames + 1} has no :chunk-signature; this endpoint requires signed frames."
                )
            self.frames += 1
            inner = message
        self._inner(inner)

    def _inner(self, inner: Message) -> None:
        event_type = inner.headers.get(":event-type")
        if inner.headers.get(":message-type") != "event":
            raise BadRequestException(f"Frame {self.frames}: expected an event message")
        if event_type == "ConfigurationEvent":
            self._configure(inner.payload)
            return
        if event_type != "AudioEvent":
            raise BadRequestException(f"Frame {self.frames}: unexpected event type {event_type!r}")
        audio = inner.payload
        if not audio:
            if self.verifier is None or self.allow_unsigned:
                self._end()  # an unsigned empty AudioEvent ends the audio (browsers)
            return
        seconds = self.params.pcm_seconds(len(audio))
        if seconds > self.limits.max_event_seconds:
            raise BadRequestException(
                f"Your audio event holds {seconds:.2f} seconds of audio; send at most "
                f"{self.limits.max_event_seconds:g} second per event."
            )
        self._audio_started = True
        self.audio_bytes += len(audio)
        self.backlog += len(audio)
        self.max_backlog = max(self.max_backlog, self.backlog)
        self._inbox.put_nowait(audio)

    @property
    def has_room(self) -> bool:
        """False while the backlog is full: the transport must hold the client back."""
        return self.backlog < self.limits.max_backlog_bytes

    async def wait_for_room(self) -> None:
        """Until the worker has taken enough audio (the WebSocket reader waits here)."""
        while not self.has_room and not self._ended:
            self._room.clear()
            await self._room.wait()

    def _took(self, size: int) -> None:
        full = not self.has_room
        self.backlog -= size
        if full and self.has_room:
            self._room.set()
            if self.on_room is not None:
                self.on_room()

    @property
    def post_call_settings(self) -> dict[str, str] | None:
        """The stream's PostCallAnalyticsSettings, when its ConfigurationEvent had them."""
        settings = (self._configuration or {}).get("PostCallAnalyticsSettings")
        return dict(settings) if isinstance(settings, dict) else None

    @property
    def channel_definitions(self) -> list[dict[str, Any]]:
        definitions = (self._configuration or {}).get("ChannelDefinitions")
        return list(definitions) if isinstance(definitions, list) else []

    def _configure(self, payload: bytes) -> None:
        if self.params.operation is not Operation.CALL_ANALYTICS:
            raise BadRequestException("ConfigurationEvent is only accepted by Call Analytics streams.")
        if self._audio_started or self._configuration is not None:
            raise BadRequestException("The ConfigurationEvent must be the first event, sent once.")
        try:
            config = json.loads(payload)
        except ValueError as exc:
            raise BadRequestException(f"The ConfigurationEvent is not valid JSON: {exc}") from exc
        if not isinstance(config, dict):
            raise BadRequestException("The ConfigurationEvent must be a JSON object.")
        roles: dict[int, str] = {}
        if config.get("ChannelDefinitions") is not None:
            try:
                roles = check_channel_definitions(config["ChannelDefinitions"])
            except ParameterError as exc:
                raise BadRequestException(str(exc)) from exc
        if "PostCallAnalyticsSettings" in config:
            try:
                config["PostCallAnalyticsSettings"] = check_post_call_settings(config["PostCallAnalyticsSettings"])
            except ParameterError as exc:
                raise BadRequestException(str(exc)) from exc
        self._configuration = config
        if roles:
            self._results.set_channel_roles(roles)

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
                    inflight = _RECOGNITION.submit(self._process, data, final)
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
                        self.outcome = f"reset by a scripted fault ({due.how})"
                        raise ResetRequested(due.how)
                    if due is not None:
                        log.info(
                            "stream %s: a scripted %s at %.2f s of audio", self.session_id, due.code, self.audio_seconds
                        )
                        raise due
                if final:
                    self.outcome = "completed"
                    return
        except ServiceError as exc:
            self.outcome = exc.code
            raise
        except (ConnectionError, asyncio.CancelledError, ResetRequested):
            raise
        except Exception as exc:
            # A fault of ours: the client gets the service's 500, the log gets the details.
            log.exception("stream %s failed", self.session_id)
            self.outcome = "InternalFailureException"
            raise InternalFailureException(f"The local endpoint failed: {type(exc).__name__}") from exc
        finally:
            watchdog.cancel()

            def close(_: object = None) -> None:
                for recognizer in self._recognizers:
                    recognizer.close()

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

    @property
    def pcm_channels(self) -> int:
        """Channels interleaved in PCM audio: Call Analytics counts its ChannelDefinitions."""
        if self.params.operation is Operation.CALL_ANALYTICS:
            return 2 if len(self.channel_definitions) == 2 else 1
        return self.params.channels

    @property
    def all_channels(self) -> bool:
        """Every channel is recognised (else the first only, as the service does)."""
        return (
            self.params.operation is Operation.CALL_ANALYTICS
            or self.params.get("enable_channel_identification") is True
        )

    def _process(self, data: bytes, final: bool) -> list[Any]:
        """Decode ``data`` (then, at the end, what the decoder still holds), recognise it,
        and turn the segments into result events (run in the recognition thread)."""
        if self._pipeline is None:
            self._pipeline = AudioPipeline(self.params.media_encoding, self.params.sample_rate, self.pcm_channels)
        try:
            parts = [self._pipeline.feed(data)] if data else []
            if final:
                parts.append(self._pipeline.flush())
        except AudioFormatError as exc:
            raise BadRequestException(f"Your audio is not valid {self.params.media_encoding}: {exc}") from exc
        segments = []
        for decoded in parts:
            self.audio_seconds += decoded.seconds
            while len(self._recognizers) < len(decoded.channels):
                self._recognizers.append(
                    NullRecognizer()
                    if self.engine == "none"
                    else ChannelRecognizer(
                        len(self._recognizers), phrases=self._results.rules.phrases, voices=self._results.speakers
                    )
                )
            channels = decoded.channels if self.all_channels else decoded.channels[:1]
            for recognizer, pcm in zip(self._recognizers, channels, strict=False):
                segments += recognizer.feed(pcm)
        if final:
            for recognizer in self._recognizers:
                segments += recognizer.finish()
        # Channels are recognised one after the other: results go out in time order.
        segments.sort(key=lambda s: (s.is_partial, s.end))
        events = self._results.events(segments, self.audio_seconds)
        return events + self._results.finish(self.audio_seconds) if final else events

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
