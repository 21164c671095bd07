"""One stream on the local endpoint, sans-I/O: bytes in, audio and the service's refusals out.

:class:`ServerStreamCore` takes what the client sent (HTTP/2 DATA or WebSocket messages,
in any split) with the time, and gives back what it carried: :class:`AudioIn` chunks and
one :class:`AudioEnd`. On the way it decodes the event stream, verifies every frame's
``:chunk-signature`` in the chain the request began, applies the ConfigurationEvent rules,
enforces the frame and per-event limits, and counts the backlog the recogniser has not
taken yet. Anything the service would refuse raises that refusal (a
:class:`~streaming.proto.errors.ServiceError` with the service's words). The stream's two
time limits are a pure decision too (:meth:`ServerStreamCore.time_limit`). The asyncio
adapter (:class:`~streaming.local.stream.ServerStream`) queues, waits and runs the
recogniser; nothing here reads a clock or touches a socket.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any, Final

import eventstream
import sigv4
from eventstream import Message

from ..proto.audioformat import AudioFormat, fits_one_event
from ..proto.configuration import check_channel_definitions, check_post_call_settings
from ..proto.errors import BadRequestException, LimitExceededException, ParameterError, ServiceError
from ..proto.params import MAX_EVENT_SECONDS, Operation, StreamParams

__all__ = [
    "MISSING_END_FRAME",
    "TOO_BIG",
    "AudioEnd",
    "AudioIn",
    "Limits",
    "ServerStreamCore",
    "idle_message",
]

MISSING_END_FRAME: Final = "A complete signal was sent without the preceding empty frame."
TOO_BIG: Final = "Your stream is too big. Reduce the frame size and try your request again."


def idle_message(seconds: float) -> str:
    return f"Your request timed out because no new audio was received for {seconds:g} seconds."


@dataclass(frozen=True, slots=True)
class Limits:
    """The service's limits, configurable for tests and load runs."""

    idle_timeout: float = 15.0
    max_duration: float = 4 * 3600.0
    max_frame_bytes: int = 256 * 1024
    # Audio received but not yet taken by the recogniser. Beyond this the transport stops
    # acknowledging (HTTP/2) or reading (WebSocket): flow control is the backpressure.
    max_backlog_bytes: int = 1 << 20


@dataclass(frozen=True, slots=True)
class AudioIn:
    """Audio bytes of one AudioEvent, in the stream's media encoding."""

    data: bytes


@dataclass(frozen=True, slots=True)
class AudioEnd:
    """The client ended its audio (the empty frame, or the end of its input)."""


Received = AudioIn | AudioEnd


class ServerStreamCore:
    """The inbound side of one stream: see the module docstring.

    ``verifier`` checks the chained frame signatures (None: an unsigned request, which
    only WebSocket allows); ``allow_unsigned`` accepts bare AudioEvents (browsers).
    ``started`` is the monotonic time the stream began, for :meth:`time_limit`.
    """

    def __init__(
        self,
        params: StreamParams,
        *,
        verifier: sigv4.ChunkVerifier | None,
        allow_unsigned: bool,
        limits: Limits,
        started: float,
    ) -> None:
        self.params = params
        self.verifier = verifier
        self.allow_unsigned = allow_unsigned
        self.limits = limits
        self.started = started
        self.frames = 0
        self.audio_bytes = 0
        self.backlog = 0  # bytes of audio handed out and not yet taken by the recogniser
        self.max_backlog = 0
        self.ended = False
        self.configuration: dict[str, Any] | None = None
        self.audio_format = AudioFormat.of(params)  # Call Analytics: until its configuration says more
        self.channel_roles: dict[int, str] = {}
        self._audio_started = False
        self._decoder = eventstream.Decoder(max_message_size=limits.max_frame_bytes)

    # -- bytes in -------------------------------------------------------------------------------

    def receive(self, data: bytes, now: _dt.datetime) -> list[Received]:
        """What ``data`` carried (any split of the client's bytes), verified at ``now``."""
        try:
            messages = self._decoder.feed(data)
        except eventstream.LimitExceeded as exc:
            raise BadRequestException(TOO_BIG) from exc
        except eventstream.EventStreamError as exc:
            raise BadRequestException(f"Could not decode the event stream: {exc}") from exc
        received: list[Received] = []
        try:
            for message in messages:
                item = self._message(message, now)
                if item is not None:
                    received.append(item)
        except BadRequestException:
            # The stream ends with this refusal: audio decoded before it in the same bytes is
            # never handed out, so it must not stay in the backlog (the fuzzer found it did).
            self.backlog -= sum(len(item.data) for item in received if isinstance(item, AudioIn))
            raise
        return received

    def end_of_input(self) -> list[Received]:
        """The client ended its side (HTTP/2 END_STREAM, or a WebSocket close)."""
        try:
            self._decoder.close()
        except eventstream.EventStreamError as exc:
            raise BadRequestException(f"The event stream ended mid-frame: {exc}") from exc
        if self.ended:
            return []
        if self.verifier is not None and not self.allow_unsigned:
            raise BadRequestException(MISSING_END_FRAME)
        return [self._end()]

    def _end(self) -> AudioEnd:
        self.ended = True
        return AudioEnd()

    def _message(self, message: Message, now: _dt.datetime) -> Received | None:
        if self.ended:
            raise BadRequestException("Frames were sent after the end of the audio stream.")
        if ":chunk-signature" not in message.headers:
            if not self.allow_unsigned:
                raise BadRequestException(
                    f"Frame {self.frames + 1} has no :chunk-signature; this endpoint requires signed frames."
                )
            self.frames += 1
            return self._inner(message)
        if self.verifier is None:
            raise BadRequestException("Signed frames need a signed request.")
        try:
            inner_bytes = self.verifier.verify(message, now)
        except sigv4.ExpiredError as exc:
            raise BadRequestException(f"Signature expired: {exc}") from exc
        except sigv4.VerificationError as exc:
            raise BadRequestException(str(exc)) from exc
        self.frames += 1
        if not inner_bytes:
            return self._end()
        try:
            inner = eventstream.decode(inner_bytes, max_message_size=self.limits.max_frame_bytes)
        except eventstream.LimitExceeded as exc:
            raise BadRequestException(TOO_BIG) from exc
        except eventstream.EventStreamError as exc:
            raise BadRequestException(f"Could not decode the audio event inside frame {self.frames}: {exc}") from exc
        return self._inner(inner)

    def _inner(self, inner: Message) -> Received | None:
        event_type = inner.headers.get(":event-type")
        if inner.headers.get(":message-type") != "event":
            raise BadRequestException(f"Frame {self.frames}: expected an event message")
        if event_type == "ConfigurationEvent":
            self._configure(inner.payload)
            return None
        if event_type != "AudioEvent":
            raise BadRequestException(f"Frame {self.frames}: unexpected event type {event_type!r}")
        audio = inner.payload
        if not audio:
            if self.verifier is None or self.allow_unsigned:
                return self._end()  # an unsigned empty AudioEvent ends the audio (browsers)
            return None
        seconds = self.audio_format.seconds(len(audio))
        if not fits_one_event(seconds):
            raise BadRequestException(
                f"Your audio event holds {seconds:.2f} seconds of audio; send at most "
                f"{MAX_EVENT_SECONDS:g} second per event."
            )
        self._audio_started = True
        self.audio_bytes += len(audio)
        self.backlog += len(audio)
        self.max_backlog = max(self.max_backlog, self.backlog)
        return AudioIn(audio)

    def _configure(self, payload: bytes) -> None:
        if self.params.operation is not Operation.CALL_ANALYTICS:
            raise BadRequestException("ConfigurationEvent is only accepted by Call Analytics streams.")
        if self._audio_started or self.configuration is not None:
            raise BadRequestException("The ConfigurationEvent must be the first event, sent once.")
        try:
            config = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise BadRequestException(f"The ConfigurationEvent is not valid JSON: {exc}") from exc
        if not isinstance(config, dict):
            raise BadRequestException("The ConfigurationEvent must be a JSON object.")
        try:
            if config.get("ChannelDefinitions") is not None:
                self.channel_roles = check_channel_definitions(config["ChannelDefinitions"])
            if "PostCallAnalyticsSettings" in config:
                config["PostCallAnalyticsSettings"] = check_post_call_settings(config["PostCallAnalyticsSettings"])
        except ParameterError as exc:
            raise BadRequestException(str(exc)) from exc
        self.configuration = config
        self.audio_format = AudioFormat.of(self.params, config)

    # -- backlog --------------------------------------------------------------------------------

    @property
    def has_room(self) -> bool:
        """False while the backlog is full: the transport must hold the client back."""
        return self.backlog < self.limits.max_backlog_bytes

    def took(self, size: int) -> bool:
        """The recogniser took ``size`` bytes; True when that made room again."""
        full = not self.has_room
        self.backlog -= size
        return full and self.has_room

    # -- time -----------------------------------------------------------------------------------

    def time_limit(self, now: float, waiting_since: float | None) -> ServiceError | None:
        """The refusal due at monotonic time ``now``, if any: the stream is over its
        maximum duration, or it has waited for audio since ``waiting_since`` for the
        whole idle timeout."""
        limits = self.limits
        if now - self.started >= limits.max_duration:
            return LimitExceededException(
                f"Your stream exceeded the maximum duration of {limits.max_duration:g} seconds."
            )
        if waiting_since is not None and now - waiting_since >= limits.idle_timeout - 1e-3:
            return BadRequestException(idle_message(limits.idle_timeout))
        return None

    def next_check(self, now: float, waiting_since: float | None) -> float:
        """Seconds from ``now`` until :meth:`time_limit` can next say something new."""
        idle_at = (waiting_since if waiting_since is not None else now) + self.limits.idle_timeout
        return max(min(idle_at, self.started + self.limits.max_duration) - now, 0.0)

    # -- what the configuration says ------------------------------------------------------------

    @property
    def post_call_settings(self) -> dict[str, str] | None:
        """The stream's PostCallAnalyticsSettings, when its ConfigurationEvent had them."""
        settings = (self.configuration or {}).get("PostCallAnalyticsSettings")
        return dict(settings) if isinstance(settings, dict) else None

    @property
    def channel_definitions(self) -> list[dict[str, Any]]:
        definitions = (self.configuration or {}).get("ChannelDefinitions")
        return list(definitions) if isinstance(definitions, list) else []

    @property
    def all_channels(self) -> bool:
        """Every channel is recognised (else the first only, as the service does)."""
        return (
            self.params.operation is Operation.CALL_ANALYTICS
            or self.params.get("enable_channel_identification") is True
        )
