"""Inner messages of the streaming protocol, both directions (docs/protocol.md section 2).

Shared by the client's session core and the local endpoint so that both speak the same
bytes: AudioEvent and ConfigurationEvent out; TranscriptEvent, UtteranceEvent,
CategoryEvent, modeled exceptions (``:message-type=exception``) and unmodeled errors
(``:message-type=error``) in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import msgspec

import eventstream
from eventstream import Message

from .errors import ProtocolError, ServiceError, service_error
from .models import (
    CategoryEvent,
    MedicalTranscriptEvent,
    TranscriptEvent,
    UtteranceEvent,
    to_service_json,
)
from .params import Operation

__all__ = [
    "AUDIO_EVENT_HEADERS",
    "CONFIGURATION_EVENT_HEADERS",
    "EVENTS_PER_AUDIO_SECOND",
    "EVENT_ALLOWANCE",
    "EVENT_KINDS",
    "RESULT_EVENTS",
    "SHAPES",
    "EventKind",
    "ResultEvent",
    "UnknownEvent",
    "encode_audio_event",
    "encode_configuration_event",
    "encode_error",
    "encode_exception",
    "encode_result_event",
    "error_type_header",
    "event_flood",
    "parse_result_message",
    "refusal_in",
]

AUDIO_EVENT_HEADERS: Final = {
    ":message-type": "event",
    ":event-type": "AudioEvent",
    ":content-type": "application/octet-stream",
}
CONFIGURATION_EVENT_HEADERS: Final = {
    ":message-type": "event",
    ":event-type": "ConfigurationEvent",
    ":content-type": "application/json",
}

ResultEvent = TranscriptEvent | MedicalTranscriptEvent | UtteranceEvent | CategoryEvent
"""Every result event model (keep in step with :data:`EVENT_KINDS`; a test checks)."""

Shape = Literal["transcript", "utterance", "category"]


@dataclass(frozen=True, slots=True)
class EventKind:
    """One result event type: its ``:event-type`` on the wire, its model, the operations
    that send it, and its ``shape``, which says how the stream's timeline places it and
    how captions read it (``transcript``: results with start and end times and
    alternatives; ``utterance``: one utterance in milliseconds; ``category``: matched
    categories with their time ranges)."""

    name: str
    model: type[ResultEvent]
    operations: frozenset[Operation]
    shape: Shape


EVENT_KINDS: Final = (
    EventKind("TranscriptEvent", TranscriptEvent, frozenset({Operation.TRANSCRIPTION}), "transcript"),
    EventKind("TranscriptEvent", MedicalTranscriptEvent, frozenset({Operation.MEDICAL}), "transcript"),
    EventKind("UtteranceEvent", UtteranceEvent, frozenset({Operation.CALL_ANALYTICS}), "utterance"),
    EventKind("CategoryEvent", CategoryEvent, frozenset({Operation.CALL_ANALYTICS}), "category"),
)
"""The one registry of result event types: every list below is derived from it."""

RESULT_EVENTS: Final[Mapping[Operation, Mapping[str, type[ResultEvent]]]] = {
    operation: {kind.name: kind.model for kind in EVENT_KINDS if operation in kind.operations}
    for operation in Operation
}
SHAPES: Final[Mapping[type, Shape]] = {kind.model: kind.shape for kind in EVENT_KINDS}
_JSON_DECODERS: Final[Mapping[type[ResultEvent], msgspec.json.Decoder[ResultEvent]]] = {
    kind.model: msgspec.json.Decoder(kind.model) for kind in EVENT_KINDS
}
_EVENT_NAMES: Final = {kind.model: kind.name for kind in EVENT_KINDS}
_JSON_ENCODER: Final = msgspec.json.Encoder()
_ERROR_BODY: Final = msgspec.json.Decoder(dict[str, Any])


class UnknownEvent(msgspec.Struct, frozen=True):
    """An event type this client does not know; kept so that nothing is dropped silently."""

    event_type: str
    payload: bytes


def encode_audio_event(audio: bytes) -> bytes:
    """An inner AudioEvent message carrying raw audio bytes."""
    return eventstream.encode(AUDIO_EVENT_HEADERS, audio)


def encode_configuration_event(configuration: Mapping[str, Any]) -> bytes:
    """A Call Analytics ConfigurationEvent (ChannelDefinitions, PostCallAnalyticsSettings)."""
    return eventstream.encode(CONFIGURATION_EVENT_HEADERS, _JSON_ENCODER.encode(configuration))


def encode_result_event(event: ResultEvent) -> bytes:
    """A result event as the service sends it."""
    headers = {
        ":message-type": "event",
        ":event-type": _EVENT_NAMES[type(event)],
        ":content-type": "application/json",
    }
    return eventstream.encode(headers, to_service_json(event))


def encode_exception(error: ServiceError) -> bytes:
    """A modeled exception message: ``:exception-type`` and a ``{"Message": ...}`` body."""
    headers = {
        ":message-type": "exception",
        ":exception-type": error.code,
        ":content-type": "application/json",
    }
    return eventstream.encode(headers, error.to_json())


def encode_error(code: str, message: str) -> bytes:
    """An unmodeled error message (``:error-code`` / ``:error-message`` headers)."""
    return eventstream.encode({":message-type": "error", ":error-code": code, ":error-message": message}, b"")


def parse_result_message(
    operation: Operation, message: Message, *, request_id: str | None = None
) -> ResultEvent | UnknownEvent:
    """Turn one received message into a typed event, or raise the service's error.

    Raises a :class:`~streaming.proto.errors.ServiceError` subclass for exception and error
    messages, and :class:`~streaming.proto.errors.ProtocolError` for a message that is neither.
    """
    headers = message.headers
    kind = headers.get(":message-type")
    if kind == "event":
        name = headers.get(":event-type")
        if not isinstance(name, str):
            raise ProtocolError("event message without an :event-type header")
        cls = RESULT_EVENTS[operation].get(name)
        if cls is None:
            return UnknownEvent(name, message.payload)
        try:
            return _JSON_DECODERS[cls].decode(message.payload)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"{name} payload is not valid: {exc}") from exc
    if kind == "exception":
        name = headers.get(":exception-type")
        if not isinstance(name, str):
            raise ProtocolError("exception message without an :exception-type header")
        raise service_error(name, _error_text(message.payload), request_id=request_id)
    if kind == "error":
        code = headers.get(":error-code")
        text = headers.get(":error-message")
        raise service_error(str(code or "UnknownError"), str(text or ""), request_id=request_id)
    raise ProtocolError(f"message with unknown :message-type {kind!r}")


def _error_text(payload: bytes) -> str:
    try:
        body = _ERROR_BODY.decode(payload) if payload else {}
    except msgspec.DecodeError:
        return payload.decode("utf-8", "replace")
    return str(body.get("Message") or body.get("message") or "")


def error_type_header(code: str) -> str:
    """The ``x-amzn-errortype`` value the streaming service sends for an error ``code``."""
    return f"{code}:http://internal.amazon.com/coral/com.amazonaws.transcribestreaming/"


# Results come from audio: a connection may bring at most this many events, plus this many
# per second of audio it carried. A peer past that (say, a flood of empty TranscriptEvents,
# which are dropped before the application's bounded queue and so escape back-pressure)
# is not the service.
EVENT_ALLOWANCE: Final = 500
EVENTS_PER_AUDIO_SECOND: Final = 50


def event_flood(events: int, audio_seconds: float) -> ProtocolError | None:
    """The error for a connection that brought ``events`` result events for ``audio_seconds``
    of audio when that is more than the service sends, else None."""
    allowed = EVENT_ALLOWANCE + EVENTS_PER_AUDIO_SECOND * audio_seconds
    if events <= allowed:
        return None
    return ProtocolError(
        f"the service sent {events} events for {audio_seconds:.1f} s of audio "
        f"(at most {allowed:.0f} were expected): it is not behaving as the service does"
    )


def refusal_in(data: bytes, request_id: str | None = None) -> ServiceError | None:
    """The service's error if ``data`` is one exception (or error) message, else None.

    A refused WebSocket handshake is upgraded and answered with one exception message;
    the transport asks this of the first message it reads, and keeps it otherwise.
    """
    try:
        message = eventstream.decode(data)
    except eventstream.EventStreamError:
        return None
    if message.headers.get(":message-type") not in ("exception", "error"):
        return None
    try:
        parse_result_message(Operation.TRANSCRIPTION, message, request_id=request_id)
    except ServiceError as error:
        return error
    except ProtocolError:
        return None
    return None
