"""The stream's two state machines as tables: where its connection stands, and whether audio may still be sent.

:data:`TRANSITIONS` lists every legal (state, input) pair and the states it may lead to;
the core asserts each handler's target against it, and an input missing from the table
raises :class:`~streaming.proto.errors.StreamStateError`. The audio side has its own two-state
machine (sending, ended), as h11 keeps one per party. ``docs/core.md`` draws both.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from .errors import StreamStateError, TranscribeError

__all__ = [
    "AUDIO_TRANSITIONS",
    "LIVE",
    "TERMINAL",
    "TRANSITIONS",
    "AudioState",
    "ConnectionState",
    "Input",
    "StreamStates",
]


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
LIVE = (_S.CONNECTING, _S.OPEN, _S.ROTATING, _S.RECONNECTING)
TERMINAL = (_S.DONE, _S.FAILED, _S.CLOSED)

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
    **{(state, Input.SENDER_FAILED): frozenset({_S.FAILED}) for state in (_S.IDLE, *LIVE)},
    **{(state, Input.SENDER_FAILED): frozenset({state}) for state in TERMINAL},  # too late to matter
    # Closing is always allowed and idempotent.
    **{(state, Input.CLOSE): frozenset({_S.CLOSED}) for state in (_S.IDLE, *LIVE, *TERMINAL)},
}
"""Every legal (state, input) pair and the states it may lead to; anything else raises."""

AUDIO_TRANSITIONS: Final[Mapping[tuple[AudioState, Input], AudioState]] = {
    (AudioState.SENDING, Input.AUDIO): AudioState.SENDING,
    (AudioState.SENDING, Input.END_OF_AUDIO): AudioState.ENDED,
}


class StreamStates:
    """Both machines of one stream, moved only along :data:`TRANSITIONS` and :data:`AUDIO_TRANSITIONS`.

    Every move names its target and is checked against the table; an input the table
    does not list raises :class:`~streaming.proto.errors.StreamStateError`, or the stream's own
    error once it has failed (the application hears why, not that it is too late).
    """

    def __init__(self) -> None:
        self.connection = ConnectionState.IDLE
        self.audio = AudioState.SENDING
        self.error: TranscribeError | None = None

    def check(self, event: Input) -> frozenset[ConnectionState]:
        allowed = TRANSITIONS.get((self.connection, event))
        if allowed is None:
            if self.connection is ConnectionState.FAILED and self.error is not None and event is not Input.CLOSE:
                raise self.error
            raise StreamStateError(f"{event.value} is not allowed when the stream is {self.connection.value}")
        return allowed

    def move(self, event: Input, target: ConnectionState) -> None:
        allowed = self.check(event)
        if target not in allowed:  # a bug in the core, not in the caller
            raise StreamStateError(f"{event.value} cannot take a {self.connection.value} stream to {target.value}")
        self.connection = target

    def stay(self, event: Input) -> None:
        """``event`` is legal and leaves the connection where it is (the table must say so)."""
        self.move(event, self.connection)

    def move_audio(self, event: Input) -> None:
        self.check(event)  # a failed stream raises its error first
        target = AUDIO_TRANSITIONS.get((self.audio, event))
        if target is None:
            what = "send_audio" if event is Input.AUDIO else "end_audio"
            raise StreamStateError(f"{what} after end_audio: the audio of this stream has ended")
        self.audio = target

    def fail(self, event: Input, error: TranscribeError) -> None:
        self.move(event, ConnectionState.FAILED)
        self.error = error
