"""What the stream core hands out, as pure values: actions for the shell, the request to open, events and counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import TranscribeError
from .messages import ResultEvent, UnknownEvent

__all__ = [
    "Action",
    "CloseConnection",
    "Connect",
    "Deliver",
    "Fail",
    "Finish",
    "StreamEvent",
    "StreamReconnected",
    "StreamRequest",
    "StreamStats",
    "Transmit",
]


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


StreamEvent = ResultEvent | UnknownEvent | StreamReconnected
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
