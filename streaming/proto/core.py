"""The sans-I/O stream core: one stream's whole life, across as many connections as it takes.

:class:`StreamCore` decides; :class:`~streaming.aio.stream.Stream` waits and moves bytes.
Inputs are method calls that carry what happened and the current time (``now``, an aware
UTC datetime): the application started the stream, sent audio, ended it, closed it; a
connection opened, failed, delivered bytes, ended, was lost. Each call returns the
actions the shell must carry out, in order (:mod:`streaming.proto.actions`): open a
connection after a delay, send frames, deliver an event, close a connection, fail, finish.

The core orchestrates; each job has a pure module of its own: the state tables
(:mod:`~streaming.proto.states`, every handler's target is checked against them), retry,
backoff and clock skew (:mod:`~streaming.proto.retry`), the replay buffer
(:mod:`~streaming.proto.replay`), the result timeline (:mod:`~streaming.proto.timeline`)
and one connection's frames (:class:`~streaming.proto.connection.ConnectionCodec`). It
never reads a clock, the environment or a global random source: time comes in with each
call and the jitter's random source is handed to the constructor.
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sigv4 import Credentials

from .actions import (
    Action,
    CloseConnection,
    Connect,
    Deliver,
    Fail,
    Finish,
    StreamEvent,
    StreamReconnected,
    StreamRequest,
    StreamStats,
    Transmit,
)
from .audioformat import AudioFormat
from .connection import MAX_PRESIGN_EXPIRES, ConnectionCodec
from .deadlines import StreamDeadlines
from .errors import (
    InvalidSignatureException,
    ProtocolError,
    ServiceError,
    StreamStateError,
    TranscribeError,
)
from .messages import event_flood
from .params import StreamParams
from .replay import ReplayBuffer
from .retry import NO_SKEW, ClockSkew, Opening, RetryPolicy, is_retryable
from .states import TERMINAL, AudioState, ConnectionState, Input, StreamStates
from .timeline import Timeline

__all__ = ["StreamCore", "StreamSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamSettings:
    """How a client's streams connect: one frozen value shared by all of them.

    ``transport`` says which request the core builds (``"http2"``: signed headers;
    ``"websocket"``: a presigned URL valid ``presign_expires`` seconds).
    ``signed_frames=False`` sends bare AudioEvents (WebSocket only). Timeouts are
    seconds; ``None`` waits forever: ``connect_timeout`` for connecting and the response
    headers, ``read_timeout`` between any two reads, ``stall_timeout`` for a peer that
    stops reading our audio or stops answering after it ended.
    """

    credentials: Credentials
    region: str
    endpoint: str
    transport: Literal["http2", "websocket"] = "http2"
    signed_frames: bool = True
    presign_expires: int = MAX_PRESIGN_EXPIRES
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 10.0
    read_timeout: float | None = None
    stall_timeout: float | None = 30.0


class StreamCore:
    """One stream's decisions, without I/O (see the module docstring)."""

    def __init__(
        self,
        params: StreamParams,
        settings: StreamSettings,
        *,
        configuration: Mapping[str, object] | None = None,
        rng: random.Random,
        skew: ClockSkew = NO_SKEW,
    ) -> None:
        self.params = params
        self.settings = settings
        self.retry = settings.retry
        self.configuration = dict(configuration) if configuration else None
        self.audio_format = AudioFormat.of(params, self.configuration)
        self.skew = skew
        self._rng = rng

        self._states = StreamStates()
        self.stats = StreamStats()
        self.generation = 0  # the current connection's number; 0 before the first
        self.request_id: str | None = None
        self.session_id: str | None = params.session_id
        self.response_headers: dict[str, str] = {}

        self._codec: ConnectionCodec | None = None  # the current connection's
        self._pending: ConnectionCodec | None = None  # the connection being opened
        self.opening: Opening | None = None  # the connection being opened: its attempts and time budget
        self._failures = 0  # reconnects after errors (rotations are not counted)
        self._reason = ""  # why the current reconnection happens
        self._header = b""  # container header to send again on resumption (FLAC, Ogg)
        self.replay = ReplayBuffer(self.retry.replay_seconds, self.retry.replay_bytes)  # resent on resumption
        self._timeline = Timeline()
        self.deadlines = StreamDeadlines(self)  # how long each wait may last (:mod:`.deadlines`)

    # -- where the stream stands (the tables in streaming.proto.states decide every move) ---

    @property
    def state(self) -> ConnectionState:
        return self._states.connection

    @property
    def audio(self) -> AudioState:
        return self._states.audio

    @property
    def error(self) -> TranscribeError | None:
        return self._states.error

    @property
    def is_writable(self) -> bool:
        """True while audio goes straight out (a sender waits otherwise, or stops if over)."""
        return self.state is ConnectionState.OPEN or self.state in TERMINAL

    @property
    def is_over(self) -> bool:
        return self.state in TERMINAL

    @property
    def message_since(self) -> _dt.datetime | None:
        """When the message being received on the open connection began (None: none has)."""
        return self._codec.message_since if self._codec is not None else None

    # -- opening connections ---------------------------------------------------------------

    def start(self, now: _dt.datetime) -> list[Action]:
        """The application entered the stream: open the first connection."""
        self._states.move(Input.START, ConnectionState.CONNECTING)
        self.opening = Opening(self.retry, now, under_way=False)
        return [Connect(0.0)]

    def signing_time(self, now: _dt.datetime) -> _dt.datetime:
        """``now`` corrected by the clock skew the service reported."""
        return self.skew.signing_time(now)

    def request(self, now: _dt.datetime) -> StreamRequest:
        """The signed request for the connection being opened (after :class:`Connect`)."""
        self._states.check(Input.CONNECTED)  # only while a connection is being opened
        codec = ConnectionCodec(
            self.params,
            credentials=self.settings.credentials,
            region=self.settings.region,
            endpoint=self.settings.endpoint,
            signed_frames=self.settings.signed_frames,
        )
        settings = self.settings
        url, path, headers = codec.open_request(
            settings.transport, self.signing_time(now), expires=settings.presign_expires
        )
        request = StreamRequest(url, path, headers)
        self._pending = codec
        return request

    def connected(self, headers: Mapping[str, str], now: _dt.datetime) -> list[Action]:
        """The connection opened with a 200 and ``headers``: send what it needs first."""
        self._states.move(Input.CONNECTED, ConnectionState.OPEN)
        codec = self._pending
        if codec is None:
            raise StreamStateError("connected() without a request() for this connection")
        self._pending = None
        resuming = self.generation > 0
        self.generation += 1
        self._codec = codec
        self._adopt_headers(codec, headers, now)
        at = self.signing_time(now)
        frames: list[bytes] = []
        actions: list[Action] = []
        if self.configuration is not None:
            frames.append(self._frame(codec.configuration_frame(self.configuration, at)))
        if resuming:
            actions.append(Deliver(self._resume(codec, frames, at)))
        ended = self.audio is AudioState.ENDED
        if ended:
            frames.append(self._frame(codec.end_frame(at)))
        if frames:
            actions.insert(0, Transmit(self.generation, tuple(frames), end_input=ended))
        return actions

    def _adopt_headers(self, codec: ConnectionCodec, headers: Mapping[str, str], now: _dt.datetime) -> None:
        self.response_headers = dict(headers)
        self.request_id = codec.accept_response(headers, now)
        self.session_id = headers.get("x-amzn-transcribe-session-id", self.session_id)
        if self.session_id and self.params.session_id is None:
            # Later connections of this stream keep its session id.
            self.params = self.params.with_session_id(self.session_id)
            codec.params = self.params

    def _resume(self, codec: ConnectionCodec, frames: list[bytes], at: _dt.datetime) -> StreamReconnected:
        """A replacement connection: replay what no final covers, and say so."""
        replay = self.replay.pending()  # the buffer keeps exactly what a resumption must send again
        origin = replay[0].start if replay else self.replay.media
        self._timeline.resume(origin, self.replay.covered)
        replayed = sum(chunk.end - chunk.start for chunk in replay)
        self.stats.reconnects += 1
        self.stats.replayed_seconds += replayed
        if self._header and self.params.media_encoding != "pcm" and origin > 0:
            frames.append(self._frame(codec.audio_frame(self._header, at)))  # a decoder needs the stream header
        frames += [self._frame(codec.audio_frame(chunk.data, at)) for chunk in replay]
        return StreamReconnected(self.stats.reconnects, self._reason, origin, replayed)

    def connect_failed(self, error: TranscribeError, now: _dt.datetime) -> list[Action]:
        """Opening a connection failed: try again after a pause, or give up."""
        self._states.check(Input.CONNECT_FAILED)
        self._pending = None
        opening = self.opening
        assert opening is not None
        if isinstance(error, InvalidSignatureException) and not opening.skew_adopted:
            skew = ClockSkew.from_refusal(error.message, now)
            if skew is not None:  # sign again at once with the service's clock
                self.skew, opening.skew_adopted = skew, True
                return [Connect(0.0)]
        outcome = opening.after_failure(error, now, self._rng)
        if isinstance(outcome, TranscribeError):
            return self._fail(Input.CONNECT_FAILED, outcome)
        self._states.stay(Input.CONNECT_FAILED)
        return [Connect(outcome)]

    # -- audio -------------------------------------------------------------------------------

    def send_audio(self, chunk: bytes, duration: float | None, now: _dt.datetime) -> list[Action]:
        """Record one chunk for replay and, when a connection is open, sign it to send.

        ``duration`` (media seconds) is computed for PCM when ``None``. While the stream
        is between connections the chunk is only held; the next connection replays it.
        A rotation that is due starts after the chunk went out.
        """
        seconds = self.audio_format.event_seconds(len(chunk), duration)
        self._states.move_audio(Input.AUDIO)
        if not chunk:
            return []  # an empty AudioEvent would end the stream
        data = bytes(chunk)
        self.replay.record(data, seconds, now)
        self.stats.audio_seconds = self.replay.media
        if self.state is not ConnectionState.OPEN:
            self._states.stay(Input.AUDIO)  # held; the next connection replays it
            return []
        codec = self._live_codec()
        at = self.signing_time(now)
        actions: list[Action] = [Transmit(self.generation, (self._frame(codec.audio_frame(data, at)),))]
        rotate, opened = self.retry.rotate_after, codec.opened_at
        if rotate is not None and opened is not None and (now - opened).total_seconds() > rotate:
            # Planned hand-over: end the old connection cleanly and take its last results.
            self._states.move(Input.AUDIO, ConnectionState.ROTATING)
            self._reason = "rotation"
            actions.append(Transmit(self.generation, (self._frame(codec.end_frame(at)),), end_input=True))
        return actions

    def set_container_header(self, header: bytes) -> None:
        """The FLAC or Ogg stream header, sent again when a resumption starts mid-stream."""
        self._header = bytes(header)

    def end_audio(self, now: _dt.datetime) -> list[Action]:
        """The application's audio is over: the signed empty frame ends the request."""
        self._states.move_audio(Input.END_OF_AUDIO)
        if self.state is not ConnectionState.OPEN:
            return []  # the next connection sends it after its replay
        frame = self._frame(self._live_codec().end_frame(self.signing_time(now)))
        return [Transmit(self.generation, (frame,), end_input=True)]

    def sender_failed(self, error: TranscribeError) -> list[Action]:
        """The audio could not be produced (the source raised, bad bytes, bad pacing)."""
        if self.is_over:
            self._states.stay(Input.SENDER_FAILED)  # too late to matter: the stream is over
            return []
        return self._fail(Input.SENDER_FAILED, error)

    def _frame(self, frame: bytes) -> bytes:
        """Count a frame on its way out (every one: configuration, audio, replay, end)."""
        self.stats.frames_sent += 1
        self.stats.bytes_sent += len(frame)
        return frame

    # -- results -----------------------------------------------------------------------------

    def data_received(self, generation: int, data: bytes, now: _dt.datetime) -> list[Action]:
        """Bytes of connection ``generation``'s response: results to deliver, or its error."""
        if not self.is_current(generation):
            return []  # a connection that was already given up
        self._states.check(Input.DATA_RECEIVED)
        codec = self._live_codec()
        try:
            events = codec.receive_at(data, now)
        except (ServiceError, ProtocolError) as exc:
            return self._lost(Input.DATA_RECEIVED, exc, now)
        flood = event_flood(codec.events_received, max(self.replay.media - self._timeline.origin, 0.0))
        if flood is not None:
            return self._lost(Input.DATA_RECEIVED, flood, now)
        actions: list[Action] = []
        for event in events:
            placed, finals = self._timeline.place(event)
            for end_time in finals:
                latency = self.replay.final_arrived(end_time, now)
                if latency is not None:
                    self.stats.final_latencies.append(latency)
            if placed is not None:
                actions.append(Deliver(placed))
        return actions

    def response_ended(self, generation: int, now: _dt.datetime) -> list[Action]:
        """Connection ``generation``'s response ended cleanly."""
        if not self.is_current(generation):
            return []
        self._states.check(Input.RESPONSE_ENDED)
        try:
            self._live_codec().close()
        except (ServiceError, ProtocolError) as exc:
            return self._lost(Input.RESPONSE_ENDED, exc, now)
        if self.state is ConnectionState.ROTATING:
            old = self.generation
            self._states.move(Input.RESPONSE_ENDED, ConnectionState.RECONNECTING)
            self.opening = Opening(self.retry, now, under_way=True)
            return [CloseConnection(old, abort=False), Connect(0.0)]
        if self.audio is AudioState.ENDED:
            self._states.move(Input.RESPONSE_ENDED, ConnectionState.DONE)
            return [CloseConnection(self.generation, abort=False), Finish()]
        return self._fail(Input.RESPONSE_ENDED, ProtocolError("the service ended the stream before the audio ended"))

    def connection_lost(self, generation: int, error: TranscribeError, now: _dt.datetime) -> list[Action]:
        """Connection ``generation`` failed (reset, GOAWAY, a timeout, the service's error)."""
        if not self.is_current(generation):
            return []
        return self._lost(Input.CONNECTION_LOST, error, now)

    def _live_codec(self) -> ConnectionCodec:
        if self._codec is None:
            raise StreamStateError(f"no connection is open when the stream is {self.state.value}")
        return self._codec

    def is_current(self, generation: int) -> bool:
        """Whether news of connection ``generation`` still matters (it is the open one);
        the shell keeps reading a connection while it is. News of any other connection is
        not an input at all: the core has moved on from it."""
        return generation == self.generation and self.state in (ConnectionState.OPEN, ConnectionState.ROTATING)

    def _lost(self, event: Input, error: TranscribeError, now: _dt.datetime) -> list[Action]:
        """Reconnect with replay after a retryable error while budget lasts; else fail."""
        self._states.check(event)
        if not is_retryable(error) or self._failures >= self.retry.max_reconnects:
            return self._fail(event, error)
        old = self.generation
        self._states.move(event, ConnectionState.RECONNECTING)
        self._failures += 1
        self._reason = f"{type(error).__name__}: {error}"
        self.opening = Opening(self.retry, now, under_way=True)
        return [CloseConnection(old, abort=True), Connect(0.0)]

    def _fail(self, event: Input, error: TranscribeError) -> list[Action]:
        self._states.fail(event, error)
        self.replay.clear()
        return [CloseConnection(self.generation, abort=True), Fail(error)]

    def close(self) -> list[Action]:
        """The application closed the stream (results not yet read are dropped)."""
        self._states.move(Input.CLOSE, ConnectionState.CLOSED)
        self.replay.clear()
        return [CloseConnection(self.generation, abort=self.audio is AudioState.SENDING)]


__all__ += ["StreamEvent"]
