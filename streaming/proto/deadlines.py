"""How long each wait of a stream may last, pure: opening a connection, sending a frame, reading.

Timeouts are seconds and ``None`` waits forever (see
:class:`~streaming.proto.core.StreamSettings`): ``connect_timeout`` for connecting and the
response headers, ``read_timeout`` between any two reads, ``stall_timeout`` for a peer that
stops reading our audio, stops answering after it ended, or trickles a message.
"""

from __future__ import annotations

import datetime as _dt
from typing import Protocol

from .retry import Opening
from .states import AudioState, ConnectionState

__all__ = ["DeadlineInputs", "StreamDeadlines", "Timeouts", "open_timeout", "receive_timeout"]


class Timeouts(Protocol):
    """The timeouts a client was given (``StreamSettings`` has them)."""

    @property
    def connect_timeout(self) -> float: ...
    @property
    def read_timeout(self) -> float | None: ...
    @property
    def stall_timeout(self) -> float | None: ...


class DeadlineInputs(Protocol):
    """What the deadlines are decided from (the stream core provides it): passed in, so
    this module needs nothing of the core's."""

    @property
    def settings(self) -> Timeouts: ...
    @property
    def opening(self) -> Opening | None: ...
    @property
    def state(self) -> ConnectionState: ...
    @property
    def audio(self) -> AudioState: ...
    @property
    def message_since(self) -> _dt.datetime | None: ...


class StreamDeadlines:
    """A stream's waits as its core stands now (a view: it reads the core, never writes it)."""

    __slots__ = ("_core",)

    def __init__(self, core: DeadlineInputs) -> None:
        self._core = core

    @property
    def send(self) -> float | None:
        """How long one frame may wait for the peer's flow-control window or a drain."""
        return self._core.settings.stall_timeout

    @property
    def open(self) -> float:
        """How long connecting and the response headers may take together."""
        return open_timeout(self._core.settings.connect_timeout, self._core.settings.read_timeout)

    def open_at(self, now: _dt.datetime) -> float:
        """:attr:`open`, cut to what is left of this opening's time budget (``max_total``,
        or ``reconnect_within`` for a stream under way)."""
        opening = self._core.opening
        return self.open if opening is None else opening.timeout(self.open, now)

    @property
    def inputs(self) -> tuple[object, ...]:
        """What :meth:`receive` depends on besides the clock: while it is unchanged, a read's
        absolute deadline is too (the shell need not recompute it per frame)."""
        core = self._core
        return (core.state, core.audio, core.message_since)

    def receive(self, now: _dt.datetime) -> float | None:
        """How long, from ``now``, the shell waits for the next bytes of the open connection."""
        core = self._core
        return receive_timeout(
            core.settings.read_timeout,
            core.settings.stall_timeout,
            only_results_due=core.audio is AudioState.ENDED or core.state is ConnectionState.ROTATING,
            message_since=core.message_since,
            now=now,
        )


def open_timeout(connect_timeout: float, read_timeout: float | None) -> float:
    """How long connecting and the response headers may take together."""
    return connect_timeout + (read_timeout or 0.0)


def receive_timeout(
    read_timeout: float | None,
    stall_timeout: float | None,
    *,
    only_results_due: bool,
    message_since: _dt.datetime | None,
    now: _dt.datetime,
) -> float | None:
    """How long, from ``now``, to wait for the next bytes of a response.

    ``read_timeout`` always (off by default: silence produces no results);
    ``stall_timeout`` too once ``only_results_due`` (the audio ended, or the connection is
    being rotated). A message that has begun (at ``message_since``) must be complete within
    ``stall_timeout`` of its first byte, however slowly the rest trickles in.
    """
    limits = [read_timeout]
    if only_results_due:
        limits.append(stall_timeout)
    if message_since is not None and stall_timeout is not None:
        limits.append(max(stall_timeout - (now - message_since).total_seconds(), 0.0))
    set_limits = [limit for limit in limits if limit is not None]
    return min(set_limits) if set_limits else None
