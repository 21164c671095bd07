"""The sans-I/O stream core: one stream's whole life, across as many connections as it takes.

:class:`StreamCore` decides; :class:`~streaming.client.Stream` waits and moves bytes.
Inputs are method calls that carry what happened and the current time (``now``, an aware
UTC datetime): the application started the stream, sent audio, ended it, closed it; a
connection opened, failed, delivered bytes, ended, was lost. Each call returns the
actions the shell must carry out, in order: :class:`Connect` (open a connection after a
delay), :class:`Transmit` (frames for one connection), :class:`Deliver` (an event for the
application), :class:`CloseConnection`, :class:`Fail` and :class:`Finish`.

The connection's life is a state machine kept as one table (:data:`TRANSITIONS`); an input
that is not legal in the current state raises :class:`~streaming.errors.StreamStateError`
from the table lookup. The audio side has its own two-state machine (sending, ended), as
h11 keeps one per party. ``docs/core.md`` draws both.

What the core owns: the signed request for each connection and its frame chain (through
:class:`~streaming.session.ClientSession`), the replay buffer and its trimming, the
resume plan (which audio to send again, where the new connection's clock starts), the
de-duplication and time shift of results, session-id pinning, clock-skew correction,
retry and backoff from :class:`RetryPolicy`, planned rotation before the service's
4-hour limit, the deadlines of every wait, and :class:`StreamStats`. It never reads a
clock, the environment or a global random source: time comes in with each call and the
jitter's random source is handed to the constructor.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import enum
import random
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

import msgspec

from sigv4 import Credentials

from .connection import MAX_PRESIGN_EXPIRES, ClientSession
from .errors import (
    InvalidSignatureException,
    ParameterError,
    ProtocolError,
    ServiceError,
    StreamStateError,
    StreamTimeout,
    TranscribeError,
    TransportError,
)
from .messages import ResultEvent, UnknownEvent
from .models import CategoryEvent, MedicalResult, MedicalTranscriptEvent, Result, TranscriptEvent, UtteranceEvent
from .params import MAX_EVENT_SECONDS, Operation, StreamParams

__all__ = [
    "DEFAULT_RETRY",
    "TRANSITIONS",
    "Action",
    "AudioState",
    "CloseConnection",
    "Connect",
    "ConnectionState",
    "Deliver",
    "Fail",
    "Finish",
    "Input",
    "RetryPolicy",
    "StreamCore",
    "StreamEvent",
    "StreamReconnected",
    "StreamRequest",
    "StreamSettings",
    "StreamStats",
    "Transmit",
    "check_source_channels",
]

_SKEW_RE: Final = re.compile(r"\((\d{8}T\d{6}Z) [+-] \d+ min\.\)")
_EPSILON: Final = 1e-6
_RESUME_SLACK: Final = 0.05  # seconds: a resumed decoder may place a word this much early
# Results come from audio: a connection may bring at most this many events, plus this many
# per second of audio it carried. A peer past that (say, a flood of empty TranscriptEvents,
# which are dropped before the application's bounded queue and so escape back-pressure)
# is not the service.
EVENT_ALLOWANCE: Final = 500
EVENTS_PER_AUDIO_SECOND: Final = 50


# -- policy and public value types ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often to try again.

    Connection set-up is retried for retryable failures (refused or dropped connections,
    429, 500, 503), never for other 4xx, with exponential backoff and full jitter,
    ``max_attempts`` times within ``max_total`` seconds; once a stream is under way, a lost
    connection must be replaced within ``reconnect_within`` seconds (the application hears
    a typed error by then: every attempt's connect timeout is cut to what is left). Mid-stream
    failures reconnect at most ``max_reconnects`` times per stream, replaying at most ``replay_seconds`` (and at
    most ``replay_bytes``) of buffered audio. ``rotate_after`` seconds after a connection
    opened, the stream moves to a fresh one (the service ends a stream after 4 hours);
    rotations do not count against ``max_reconnects``.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_total: float = 60.0
    reconnect_within: float = 20.0
    max_reconnects: int = 5
    replay_seconds: float = 120.0
    replay_bytes: int = 16 * 1024 * 1024
    rotate_after: float | None = 4 * 3600.0 - 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ParameterError("max_attempts", f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("base_delay", "max_delay", "max_total", "reconnect_within", "replay_seconds"):
            if not getattr(self, name) >= 0:
                raise ParameterError(name, f"{name} must be a non-negative number of seconds")
        if self.max_reconnects < 0 or self.replay_bytes < 0:
            raise ParameterError("max_reconnects", "max_reconnects and replay_bytes must not be negative")
        if self.rotate_after is not None and not self.rotate_after > 0:
            raise ParameterError(
                "rotate_after", f"rotate_after must be positive seconds or None, got {self.rotate_after}"
            )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**attempt)]."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2 ** min(attempt, 32))))


DEFAULT_RETRY: Final = RetryPolicy()


@dataclass(frozen=True, slots=True)
class StreamReconnected:
    """The stream was resumed on a new connection; result times continue from ``offset``.

    ``reason`` is ``"rotation"`` for a planned move, else the error that broke the old
    connection. ``replayed_seconds`` of audio were sent again.
    """

    attempt: int
    reason: str
    offset: float
    replayed_seconds: float


StreamEvent = (
    TranscriptEvent | MedicalTranscriptEvent | UtteranceEvent | CategoryEvent | UnknownEvent | StreamReconnected
)
"""What ``async for event in stream`` yields."""


@dataclass(slots=True)
class StreamStats:
    """Counters a captioning app can watch while streaming.

    ``frames_sent`` and ``bytes_sent`` count every frame that left on any connection:
    configuration, audio, replayed audio and end frames.
    """

    frames_sent: int = 0
    bytes_sent: int = 0
    audio_seconds: float = 0.0
    reconnects: int = 0
    replayed_seconds: float = 0.0
    final_latencies: list[float] = field(default_factory=list)

    def _percentile(self, q: float) -> float | None:
        if not self.final_latencies:
            return None
        ordered = sorted(self.final_latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def latency_p50(self) -> float | None:
        """Median seconds from the end of a segment's audio being sent to its final result."""
        return self._percentile(0.5)

    @property
    def latency_p95(self) -> float | None:
        """95th percentile of the same latency."""
        return self._percentile(0.95)


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """What the shell opens: for HTTP/2 a POST of ``path`` with ``headers`` (signed) to
    ``url``; for WebSocket a GET of the presigned ``url`` (``headers`` empty)."""

    url: str
    path: str
    headers: Mapping[str, str]


# -- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a new connection after ``delay`` seconds (call :meth:`StreamCore.request` then)."""

    delay: float


@dataclass(frozen=True, slots=True)
class Transmit:
    """Send ``frames`` on connection ``generation``, then end its input if ``end_input``.

    Frames for a connection that is no longer current are dropped by the shell: the
    next connection replays what they carried.
    """

    generation: int
    frames: tuple[bytes, ...]
    end_input: bool = False


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand ``event`` to the application."""

    event: StreamEvent


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """Close connection ``generation`` (``abort``: reset it rather than end it cleanly)."""

    generation: int
    abort: bool


@dataclass(frozen=True, slots=True)
class Fail:
    """The stream is over with ``error``; the application's next read raises it."""

    error: TranscribeError


@dataclass(frozen=True, slots=True)
class Finish:
    """The stream ended cleanly: every result has been delivered."""


Action = Connect | Transmit | Deliver | CloseConnection | Fail | Finish


# -- the state machines --------------------------------------------------------------------------


class ConnectionState(enum.Enum):
    """Where the stream's connection stands."""

    IDLE = "idle"  # created, nothing opened
    CONNECTING = "connecting"  # the first connection is being opened (with retries)
    OPEN = "open"  # a connection carries audio and results
    ROTATING = "rotating"  # planned hand-over: the old connection is ending, audio is held
    RECONNECTING = "reconnecting"  # the old connection is gone; a new one is being opened
    DONE = "done"  # the service ended the response after our end of audio
    FAILED = "failed"  # over with an error
    CLOSED = "closed"  # the application closed it


class AudioState(enum.Enum):
    """Whether the application may still send audio."""

    SENDING = "sending"
    ENDED = "ended"


class Input(enum.Enum):
    """What can happen to a stream."""

    START = "start"
    CONNECTED = "connected"
    CONNECT_FAILED = "connect failed"
    DATA_RECEIVED = "data received"
    RESPONSE_ENDED = "response ended"
    CONNECTION_LOST = "connection lost"
    AUDIO = "audio"
    END_OF_AUDIO = "end of audio"
    SENDER_FAILED = "sender failed"
    CLOSE = "close"


_S = ConnectionState
_LIVE = (_S.CONNECTING, _S.OPEN, _S.ROTATING, _S.RECONNECTING)
_TERMINAL = (_S.DONE, _S.FAILED, _S.CLOSED)

TRANSITIONS: Final[Mapping[tuple[ConnectionState, Input], frozenset[ConnectionState]]] = {
    (_S.IDLE, Input.START): frozenset({_S.CONNECTING}),
    # Opening: success, another attempt after a pause, or giving up.
    (_S.CONNECTING, Input.CONNECTED): frozenset({_S.OPEN}),
    (_S.CONNECTING, Input.CONNECT_FAILED): frozenset({_S.CONNECTING, _S.FAILED}),
    (_S.RECONNECTING, Input.CONNECTED): frozenset({_S.OPEN}),
    (_S.RECONNECTING, Input.CONNECT_FAILED): frozenset({_S.RECONNECTING, _S.FAILED}),
    # An open connection: results, its end, its loss; audio may start a rotation.
    (_S.OPEN, Input.DATA_RECEIVED): frozenset({_S.OPEN, _S.RECONNECTING, _S.FAILED}),
    (_S.OPEN, Input.RESPONSE_ENDED): frozenset({_S.DONE, _S.RECONNECTING, _S.FAILED}),
    (_S.OPEN, Input.CONNECTION_LOST): frozenset({_S.RECONNECTING, _S.FAILED}),
    (_S.OPEN, Input.AUDIO): frozenset({_S.OPEN, _S.ROTATING}),
    (_S.OPEN, Input.END_OF_AUDIO): frozenset({_S.OPEN}),
    # A rotation: the old connection's last results, then a new connection.
    (_S.ROTATING, Input.DATA_RECEIVED): frozenset({_S.ROTATING, _S.RECONNECTING, _S.FAILED}),
    (_S.ROTATING, Input.RESPONSE_ENDED): frozenset({_S.RECONNECTING, _S.FAILED}),
    (_S.ROTATING, Input.CONNECTION_LOST): frozenset({_S.RECONNECTING, _S.FAILED}),
    # Audio that arrives while no connection is open is held and replayed.
    (_S.ROTATING, Input.AUDIO): frozenset({_S.ROTATING}),
    (_S.ROTATING, Input.END_OF_AUDIO): frozenset({_S.ROTATING}),
    (_S.RECONNECTING, Input.AUDIO): frozenset({_S.RECONNECTING}),
    (_S.RECONNECTING, Input.END_OF_AUDIO): frozenset({_S.RECONNECTING}),
    # The sender failed (the source raised, a bad byte): over at once, with its error.
    **{(state, Input.SENDER_FAILED): frozenset({_S.FAILED}) for state in (_S.IDLE, *_LIVE)},
    **{(state, Input.SENDER_FAILED): frozenset({state}) for state in _TERMINAL},  # too late to matter
    # Closing is always allowed and idempotent.
    **{(state, Input.CLOSE): frozenset({_S.CLOSED}) for state in (_S.IDLE, *_LIVE, *_TERMINAL)},
}
"""Every legal (state, input) pair and the states it may lead to; anything else raises."""

_AUDIO_TRANSITIONS: Final[Mapping[tuple[AudioState, Input], AudioState]] = {
    (AudioState.SENDING, Input.AUDIO): AudioState.SENDING,
    (AudioState.SENDING, Input.END_OF_AUDIO): AudioState.ENDED,
}


_E = TypeVar("_E", TranscriptEvent, MedicalTranscriptEvent)


@dataclass(slots=True)
class _Sent:
    start: float  # media seconds on the stream's timeline
    end: float
    data: bytes
    sent_at: _dt.datetime


# -- the core ------------------------------------------------------------------------------------


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
        clock_offset: _dt.timedelta = _dt.timedelta(0),
    ) -> None:
        self.params = params
        self.settings = settings
        self.retry = settings.retry
        self.configuration = dict(configuration) if configuration else None
        self.clock_offset = clock_offset
        self._rng = rng

        self.state = ConnectionState.IDLE
        self.audio = AudioState.SENDING
        self.stats = StreamStats()
        self.error: TranscribeError | None = None
        self.generation = 0  # the current connection's number; 0 before the first
        self.request_id: str | None = None
        self.session_id: str | None = params.session_id
        self.response_headers: dict[str, str] = {}

        self._session: ClientSession | None = None  # the current connection's
        self._pending: ClientSession | None = None  # the connection being opened
        self._opened_at: _dt.datetime | None = None
        self._partial_since: _dt.datetime | None = None  # when the message being received began
        self._attempt = 0  # failed attempts of the current opening
        self._opening_since: _dt.datetime | None = None
        self._opening_budget = self.retry.max_total
        self._skew_fixed = False
        self._failures = 0  # reconnects after errors (rotations are not counted)
        self._reason = ""  # why the current reconnection happens
        self._header = b""  # container header to send again on resumption (FLAC, Ogg)
        self._media = 0.0  # media seconds sent so far
        self._sent: deque[_Sent] = deque()
        self._buffered_bytes = 0
        self._last_final_end = 0.0
        self._origin = 0.0  # media time at which the current connection's audio starts
        self._events_on_connection = 0
        self._resume_point = 0.0  # results ending before this were already delivered

    # -- the table ---------------------------------------------------------------------------

    def _check(self, event: Input) -> frozenset[ConnectionState]:
        allowed = TRANSITIONS.get((self.state, event))
        if allowed is None:
            if self.state is ConnectionState.FAILED and self.error is not None and event is not Input.CLOSE:
                raise self.error
            raise StreamStateError(f"{event.value} is not allowed when the stream is {self.state.value}")
        return allowed

    def _move(self, event: Input, target: ConnectionState) -> None:
        allowed = self._check(event)
        if target not in allowed:  # a bug in the core, not in the caller
            raise StreamStateError(f"{event.value} cannot take a {self.state.value} stream to {target.value}")
        self.state = target

    def _audio_move(self, event: Input) -> None:
        target = _AUDIO_TRANSITIONS.get((self.audio, event))
        if target is None:
            what = "send_audio" if event is Input.AUDIO else "end_audio"
            raise StreamStateError(f"{what} after end_audio: the audio of this stream has ended")
        self.audio = target

    @property
    def is_writable(self) -> bool:
        """True while audio goes straight out (a sender waits otherwise, or stops if over)."""
        return self.state is ConnectionState.OPEN or self.state in _TERMINAL

    @property
    def is_over(self) -> bool:
        return self.state in _TERMINAL

    # -- deadlines ---------------------------------------------------------------------------

    @property
    def send_timeout(self) -> float | None:
        """How long one frame may wait for the peer's flow-control window or a drain."""
        return self.settings.stall_timeout

    @property
    def open_timeout(self) -> float:
        """How long connecting and the response headers may take together."""
        return (
            self.settings.connect_timeout
            if self.settings.read_timeout is None
            else self.settings.connect_timeout + self.settings.read_timeout
        )

    def open_timeout_at(self, now: _dt.datetime) -> float:
        """:attr:`open_timeout`, cut to what is left of this opening's time budget
        (``max_total``, or ``reconnect_within`` for a stream under way)."""
        if self._opening_since is None:
            return self.open_timeout
        left = self._opening_budget - (now - self._opening_since).total_seconds()
        return max(min(self.open_timeout, left), 0.001)

    @property
    def deadline_inputs(self) -> tuple[object, ...]:
        """What :meth:`receive_timeout` depends on besides the clock: while it is unchanged,
        a read's absolute deadline is too (the shell need not recompute it per frame)."""
        return (self.state, self.audio, self._partial_since)

    def receive_timeout(self, generation: int, now: _dt.datetime) -> float | None:
        """How long, from ``now``, the shell waits for the next bytes of connection ``generation``.

        ``read_timeout`` always (off by default: silence produces no results);
        ``stall_timeout`` too once only results are due (the audio ended, or the
        connection is being rotated). A message that has begun must be complete within
        ``stall_timeout`` of its first byte, however slowly the rest trickles in.
        """
        stall = self.settings.stall_timeout
        limits = [self.settings.read_timeout]
        if self.audio is AudioState.ENDED or self.state is ConnectionState.ROTATING:
            limits.append(stall)
        if self._partial_since is not None and stall is not None:
            limits.append(max(stall - (now - self._partial_since).total_seconds(), 0.0))
        set_limits = [limit for limit in limits if limit is not None]
        return min(set_limits) if set_limits else None

    # -- opening connections ---------------------------------------------------------------

    def start(self, now: _dt.datetime) -> list[Action]:
        """The application entered the stream: open the first connection."""
        self._move(Input.START, ConnectionState.CONNECTING)
        self._begin_opening(now)
        return [Connect(0.0)]

    def signing_time(self, now: _dt.datetime) -> _dt.datetime:
        """``now`` corrected by the clock skew the service reported."""
        return now + self.clock_offset

    def request(self, now: _dt.datetime) -> StreamRequest:
        """The signed request for the connection being opened (after :class:`Connect`)."""
        self._check(Input.CONNECTED)  # only while a connection is being opened
        session = ClientSession(
            self.params,
            credentials=self.settings.credentials,
            region=self.settings.region,
            endpoint=self.settings.endpoint,
            signed_frames=self.settings.signed_frames,
        )
        at = self.signing_time(now)
        if self.settings.transport == "http2":
            path, headers = session.http2_request(at)
            request = StreamRequest(self.settings.endpoint + path, path, headers)
        else:
            url = session.websocket_url(at, expires=self.settings.presign_expires)
            request = StreamRequest(url, url[len(self.settings.endpoint) :].split("?", 1)[0], {})
        self._pending = session
        return request

    def connected(self, headers: Mapping[str, str], now: _dt.datetime) -> list[Action]:
        """The connection opened with a 200 and ``headers``: send what it needs first."""
        self._move(Input.CONNECTED, ConnectionState.OPEN)
        session = self._pending
        if session is None:
            raise StreamStateError("connected() without a request() for this connection")
        self._pending = None
        resuming = self.generation > 0
        self.generation += 1
        self._session = session
        self._partial_since = None
        self._events_on_connection = 0
        self._opened_at = now
        self.response_headers = dict(headers)
        self.request_id = headers.get("x-amzn-request-id") or headers.get("x-amzn-requestid")
        session.request_id = self.request_id
        self.session_id = headers.get("x-amzn-transcribe-session-id", self.session_id)
        if self.session_id and self.params.session_id is None:
            # Later connections of this stream keep its session id.
            self.params = self.params.with_session_id(self.session_id)
            session.params = self.params

        at = self.signing_time(now)
        frames: list[bytes] = []
        actions: list[Action] = []
        if self.configuration is not None:
            frames.append(session.configuration_frame(self.configuration, at))
        if resuming:
            replay = list(self._sent)  # _trim keeps exactly what a resumption must send again
            self._origin = replay[0].start if replay else self._media
            self._resume_point = self._last_final_end
            replayed = sum(s.end - s.start for s in replay)
            self.stats.reconnects += 1
            self.stats.replayed_seconds += replayed
            actions.append(Deliver(StreamReconnected(self.stats.reconnects, self._reason, self._origin, replayed)))
            if self._header and self.params.media_encoding != "pcm" and self._origin > 0:
                frames.append(session.audio_frame(self._header, at))  # a decoder needs the stream header
            frames += [session.audio_frame(record.data, at) for record in replay]
        ended = self.audio is AudioState.ENDED
        if ended:
            frames.append(session.end_frame(at))
        if frames:
            actions.insert(0, Transmit(self.generation, tuple(frames), end_input=ended))
        return actions

    def connect_failed(self, error: TranscribeError, now: _dt.datetime) -> list[Action]:
        """Opening a connection failed: try again after a pause, or give up."""
        self._check(Input.CONNECT_FAILED)
        self._pending = None
        if isinstance(error, InvalidSignatureException) and not self._skew_fixed and self._adopt_skew(error, now):
            self._skew_fixed = True
            return [Connect(0.0)]
        self._attempt += 1
        retryable = isinstance(error, TransportError | ServiceError) and error.retryable
        if retryable and self._attempt < self.retry.max_attempts:
            pause = self.retry.delay(self._attempt, self._rng)
            assert self._opening_since is not None
            # Another attempt needs its pause and a little time to connect in what is left.
            if (now - self._opening_since).total_seconds() + pause + 0.5 <= self._opening_budget:
                self._move(Input.CONNECT_FAILED, self.state)
                return [Connect(pause)]
            if self.generation > 0:  # under way: the budget ran out, say so
                error = StreamTimeout(
                    f"could not reconnect within {self._opening_budget:g} s (reconnect_within); "
                    f"the last attempt failed with {type(error).__name__}: {error}"
                )
        return self._fail(Input.CONNECT_FAILED, error)

    def _begin_opening(self, now: _dt.datetime) -> None:
        self._attempt = 0
        self._opening_since = now
        self._opening_budget = self.retry.reconnect_within if self.generation > 0 else self.retry.max_total
        self._skew_fixed = False

    def _adopt_skew(self, error: ServiceError, now: _dt.datetime) -> bool:
        """Adopt the server's clock from a 'Signature expired / not yet current' message."""
        match = _SKEW_RE.search(error.message)
        if match is None:
            return False
        server = _dt.datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.UTC)
        self.clock_offset = server - now
        return True

    # -- audio -------------------------------------------------------------------------------

    def send_audio(self, chunk: bytes, duration: float | None, now: _dt.datetime) -> list[Action]:
        """Record one chunk for replay and, when a connection is open, sign it to send.

        ``duration`` (media seconds) is computed for PCM when ``None``. While the stream
        is between connections the chunk is only held; the next connection replays it.
        A rotation that is due starts after the chunk went out.
        """
        if self.state is ConnectionState.FAILED and self.error is not None:
            raise self.error
        if not chunk:
            return []  # an empty AudioEvent would end the stream
        seconds = self.chunk_seconds(len(chunk)) if duration is None else duration
        if not 0 <= seconds <= MAX_EVENT_SECONDS + 1e-9:
            raise ParameterError(
                "chunk",
                f"an audio event may carry at most {MAX_EVENT_SECONDS:g} s of audio; this one has {seconds:.3f} s",
            )
        self._check(Input.AUDIO)
        self._audio_move(Input.AUDIO)
        data = bytes(chunk)
        self._sent.append(_Sent(self._media, self._media + seconds, data, now))
        self._buffered_bytes += len(data)
        self._media += seconds
        self.stats.audio_seconds = self._media
        self._trim()
        if self.state is not ConnectionState.OPEN:
            self._move(Input.AUDIO, self.state)  # held; the next connection replays it
            return []
        session = self._live_session()
        at = self.signing_time(now)
        actions: list[Action] = [Transmit(self.generation, (session.audio_frame(data, at),))]
        rotate = self.retry.rotate_after
        if rotate is not None and self._opened_at is not None and (now - self._opened_at).total_seconds() > rotate:
            # Planned hand-over: end the old connection cleanly and take its last results.
            self._move(Input.AUDIO, ConnectionState.ROTATING)
            self._reason = "rotation"
            actions.append(Transmit(self.generation, (session.end_frame(at),), end_input=True))
        return actions

    def set_container_header(self, header: bytes) -> None:
        """The FLAC or Ogg stream header, sent again when a resumption starts mid-stream."""
        self._header = bytes(header)

    def chunk_seconds(self, size: int) -> float:
        """Media seconds in ``size`` bytes of this stream's PCM (0 for other encodings)."""
        if self.params.media_encoding != "pcm":
            return 0.0
        return size / (2 * self.params.channels * self.params.sample_rate)

    def end_audio(self, now: _dt.datetime) -> list[Action]:
        """The application's audio is over: the signed empty frame ends the request."""
        if self.state is ConnectionState.FAILED and self.error is not None:
            raise self.error
        self._check(Input.END_OF_AUDIO)
        self._audio_move(Input.END_OF_AUDIO)
        if self.state is not ConnectionState.OPEN:
            return []  # the next connection sends it after its replay
        frame = self._live_session().end_frame(self.signing_time(now))
        return [Transmit(self.generation, (frame,), end_input=True)]

    def sender_failed(self, error: TranscribeError) -> list[Action]:
        """The audio could not be produced (the source raised, bad bytes, bad pacing)."""
        if self.is_over:
            self._move(Input.SENDER_FAILED, self.state)  # too late to matter: the stream is over
            return []
        return self._fail(Input.SENDER_FAILED, error)

    def _trim(self) -> None:
        """Drop audio that no resumption can need: before the last final, or beyond the window."""
        sent = self._sent
        seconds, limit = self.retry.replay_seconds, self.retry.replay_bytes
        while sent and (
            sent[0].start < self._last_final_end - _EPSILON
            or self._media - sent[0].start > seconds + _EPSILON
            or self._buffered_bytes > limit
        ):
            self._buffered_bytes -= len(sent.popleft().data)

    @property
    def replay_window(self) -> tuple[float, float]:
        """Media seconds (start, end) of the audio a resumption would send again now."""
        return (self._sent[0].start if self._sent else self._media), self._media

    # -- results -----------------------------------------------------------------------------

    def data_received(self, generation: int, data: bytes, now: _dt.datetime) -> list[Action]:
        """Bytes of connection ``generation``'s response: results to deliver, or its error."""
        if not self.is_current(generation):
            return []  # a connection that was already given up
        self._check(Input.DATA_RECEIVED)
        session = self._live_session()
        try:
            events = session.receive(data)
        except (ServiceError, ProtocolError) as exc:
            return self._lost(Input.DATA_RECEIVED, exc, now)
        if session.buffered == 0:
            self._partial_since = None
        elif self._partial_since is None:
            self._partial_since = now  # a message has begun; its deadline runs from here
        self._events_on_connection += len(events)
        carried = max(self._media - self._origin, 0.0)
        allowed = EVENT_ALLOWANCE + EVENTS_PER_AUDIO_SECOND * carried
        if self._events_on_connection > allowed:
            flood = ProtocolError(
                f"the service sent {self._events_on_connection} events for {carried:.1f} s of audio "
                f"(at most {allowed:.0f} were expected): it is not behaving as the service does"
            )
            return self._lost(Input.DATA_RECEIVED, flood, now)
        actions: list[Action] = []
        for event in events:
            kept = self._place(event, now)
            if kept is not None:
                actions.append(Deliver(kept))
        return actions

    def response_ended(self, generation: int, now: _dt.datetime) -> list[Action]:
        """Connection ``generation``'s response ended cleanly."""
        if not self.is_current(generation):
            return []
        self._check(Input.RESPONSE_ENDED)
        try:
            self._live_session().close()
        except (ServiceError, ProtocolError) as exc:
            return self._lost(Input.RESPONSE_ENDED, exc, now)
        if self.state is ConnectionState.ROTATING:
            old = self.generation
            self._move(Input.RESPONSE_ENDED, ConnectionState.RECONNECTING)
            self._begin_opening(now)
            return [CloseConnection(old, abort=False), Connect(0.0)]
        if self.audio is AudioState.ENDED:
            self._move(Input.RESPONSE_ENDED, ConnectionState.DONE)
            return [CloseConnection(self.generation, abort=False), Finish()]
        return self._fail(Input.RESPONSE_ENDED, ProtocolError("the service ended the stream before the audio ended"))

    def connection_lost(self, generation: int, error: TranscribeError, now: _dt.datetime) -> list[Action]:
        """Connection ``generation`` failed (reset, GOAWAY, a timeout, the service's error)."""
        if not self.is_current(generation):
            return []
        return self._lost(Input.CONNECTION_LOST, error, now)

    def _live_session(self) -> ClientSession:
        if self._session is None:
            raise StreamStateError(f"no connection is open when the stream is {self.state.value}")
        return self._session

    def is_current(self, generation: int) -> bool:
        """Whether news of connection ``generation`` still matters (it is the open one);
        the shell keeps reading a connection while it is."""
        return generation == self.generation and self.state in (ConnectionState.OPEN, ConnectionState.ROTATING)

    def _lost(self, event: Input, error: TranscribeError, now: _dt.datetime) -> list[Action]:
        """Reconnect with replay after a retryable error while budget lasts; else fail."""
        self._check(event)
        retryable = isinstance(error, StreamTimeout) or (
            isinstance(error, TransportError | ServiceError) and error.retryable
        )
        if not retryable or self._failures >= self.retry.max_reconnects:
            return self._fail(event, error)
        old = self.generation
        self._move(event, ConnectionState.RECONNECTING)
        self._failures += 1
        self._reason = f"{type(error).__name__}: {error}"
        self._begin_opening(now)
        return [CloseConnection(old, abort=True), Connect(0.0)]

    def _fail(self, event: Input, error: TranscribeError) -> list[Action]:
        self._move(event, ConnectionState.FAILED)
        self.error = error
        self._sent.clear()
        self._buffered_bytes = 0
        return [CloseConnection(self.generation, abort=True), Fail(error)]

    def close(self) -> list[Action]:
        """The application closed the stream (results not yet read are dropped)."""
        self._move(Input.CLOSE, ConnectionState.CLOSED)
        self._sent.clear()
        self._buffered_bytes = 0
        return [CloseConnection(self.generation, abort=self.audio is AudioState.SENDING)]

    def _place(self, event: ResultEvent | UnknownEvent, now: _dt.datetime) -> StreamEvent | None:
        """Shift a result onto the stream's timeline; drop what was delivered already."""
        origin, resume = self._origin, self._resume_point
        if isinstance(event, TranscriptEvent):
            return self._place_transcript(event, now)
        if isinstance(event, MedicalTranscriptEvent):
            return self._place_transcript(event, now)
        if isinstance(event, UtteranceEvent):
            utterance = shift_utterance(event, origin)
            if utterance.begin_offset_millis / 1000 < resume - _RESUME_SLACK:
                return None
            if not utterance.is_partial:
                self._final_arrived(utterance.end_offset_millis / 1000, now)
            return utterance
        if isinstance(event, CategoryEvent):
            return shift_category(event, origin) if origin else event
        return event  # an event type this client does not know: kept, not dropped

    def _place_transcript(self, event: _E, now: _dt.datetime) -> _E | None:
        resume = self._resume_point
        results = tuple(shift_result(result, self._origin) for result in event.transcript.results)
        kept = tuple(r for r in results if r.start_time >= resume - _RESUME_SLACK or not r.alternatives)
        if not kept:
            return None
        for result in kept:
            if not result.is_partial:
                self._final_arrived(result.end_time, now)
        transcript = msgspec.structs.replace(event.transcript, results=kept)
        placed: _E = msgspec.structs.replace(event, transcript=transcript)
        return placed

    def _final_arrived(self, end_time: float, now: _dt.datetime) -> None:
        """A final result covers audio up to ``end_time``: note its latency, trim the buffer.

        A time beyond the audio sent so far (a confused or hostile peer) counts as the end
        of what was sent: it must not make a resumption skip audio or drop later results.
        """
        end_time = min(end_time, self._media)
        self._last_final_end = max(self._last_final_end, end_time)
        ends = [s.end for s in self._sent]
        i = bisect.bisect_left(ends, end_time - _EPSILON)
        if i < len(self._sent):
            self.stats.final_latencies.append(max((now - self._sent[i].sent_at).total_seconds(), 0.0))
        self._trim()


# -- what the audio must look like -----------------------------------------------------------------


def check_source_channels(params: StreamParams, configuration: Mapping[str, object] | None, channels: int) -> None:
    """Raise :class:`ParameterError` when audio with ``channels`` channels does not fit the
    stream: interleaved stereo sent as mono is transcribed as confident nonsense.

    Standard and medical streams take two channels with channel identification
    (``number_of_channels=2``); Call Analytics with a ChannelDefinition for each channel.
    """
    if params.operation is Operation.CALL_ANALYTICS:
        definitions = (configuration or {}).get("ChannelDefinitions")
        declared = len(definitions) if isinstance(definitions, list | tuple) else 0
        if channels == 2 and declared < 2:
            raise ParameterError(
                "channel_definitions",
                "the audio has 2 channels: give channel_definitions for channel 0 and 1 "
                "(AGENT and CUSTOMER; --channel-roles AGENT,CUSTOMER), or mix it down to mono",
            )
        if channels == 1 and declared == 2:
            raise ParameterError(
                "channel_definitions",
                "channel_definitions name two channels, so the service reads the audio as interleaved stereo, "
                "but this audio is mono: leave channel_definitions out, or send the call's two channels",
            )
        return
    expected = params.channels
    if channels == expected:
        return
    if channels == 2:
        raise ParameterError(
            "number_of_channels",
            "the audio has 2 channels but the stream was opened for 1: pass enable_channel_identification=True "
            "and number_of_channels=2 to transcribe each channel apart, or mix it down to mono",
        )
    raise ParameterError(
        "number_of_channels",
        f"the audio has {channels} channel(s) but the stream was opened for number_of_channels={expected}",
    )


# -- time shifting -------------------------------------------------------------------------------


def _at(seconds: float, offset: float) -> float:
    return round(seconds + offset, 3)


_R = TypeVar("_R", Result, MedicalResult)


def shift_result(result: _R, offset: float) -> _R:
    """``result`` with every time moved ``offset`` seconds later."""
    if not offset:
        return result
    alternatives = tuple(
        msgspec.structs.replace(
            alt,
            items=tuple(
                msgspec.structs.replace(i, start_time=_at(i.start_time, offset), end_time=_at(i.end_time, offset))
                for i in alt.items
            ),
            entities=tuple(
                msgspec.structs.replace(e, start_time=_at(e.start_time, offset), end_time=_at(e.end_time, offset))
                for e in alt.entities
            ),
        )
        for alt in result.alternatives
    )
    return msgspec.structs.replace(
        result,
        start_time=_at(result.start_time, offset),
        end_time=_at(result.end_time, offset),
        alternatives=alternatives,
    )


def _shift_millis(value: Any, ms: int) -> Any:
    return msgspec.structs.replace(
        value, begin_offset_millis=value.begin_offset_millis + ms, end_offset_millis=value.end_offset_millis + ms
    )


def shift_utterance(event: UtteranceEvent, offset: float) -> UtteranceEvent:
    """``event`` with every offset moved ``offset`` seconds later."""
    if not offset:
        return event
    ms = round(offset * 1000)
    shifted: UtteranceEvent = _shift_millis(event, ms)
    return msgspec.structs.replace(
        shifted,
        items=tuple(_shift_millis(i, ms) for i in event.items),
        entities=tuple(_shift_millis(e, ms) for e in event.entities),
    )


def shift_category(event: CategoryEvent, offset: float) -> CategoryEvent:
    """``event`` with every matched time range moved ``offset`` seconds later."""
    ms = round(offset * 1000)
    details = {
        name: msgspec.structs.replace(poi, timestamp_ranges=tuple(_shift_millis(r, ms) for r in poi.timestamp_ranges))
        for name, poi in event.matched_details.items()
    }
    return msgspec.structs.replace(event, matched_details=details)
