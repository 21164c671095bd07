"""One registry of result event types (proto/messages.EVENT_KINDS): every event type the
service sends reaches the application, placed on the timeline and captioned."""

from __future__ import annotations

import typing

import pytest

import eventstream
from streaming.proto.captions import LiveCaptions
from streaming.proto.messages import (
    EVENT_KINDS,
    RESULT_EVENTS,
    EventKind,
    ResultEvent,
    encode_result_event,
    parse_result_message,
)
from streaming.proto.models import CategoryEvent, MedicalTranscriptEvent, TranscriptEvent, UtteranceEvent
from streaming.proto.params import Operation
from streaming.proto.timeline import Timeline


def sample(kind: EventKind) -> bytes:
    """A payload of ``kind`` as the service would send it, with one final result."""
    if kind.shape == "transcript":
        return (
            b'{"Transcript": {"Results": [{"ResultId": "r", "StartTime": 1.0, "EndTime": 2.0, "IsPartial": false,'
            b' "Alternatives": [{"Transcript": "Hello.", "Items": [{"Content": "Hello", "StartTime": 1.0,'
            b' "EndTime": 1.5, "Type": "pronunciation"}]}]}]}}'
        )
    if kind.shape == "utterance":
        return (
            b'{"UtteranceId": "u", "IsPartial": false, "ParticipantRole": "AGENT", "BeginOffsetMillis": 1000,'
            b' "EndOffsetMillis": 2000, "Transcript": "Hello.", "Items": [{"Content": "Hello",'
            b' "BeginOffsetMillis": 1000, "EndOffsetMillis": 1500, "Type": "pronunciation"}]}'
        )
    return b'{"MatchedCategories": ["refund"], "MatchedDetails": {}}'


def test_the_union_and_the_registry_name_the_same_models() -> None:
    assert set(typing.get_args(ResultEvent)) == {kind.model for kind in EVENT_KINDS}
    assert {TranscriptEvent, MedicalTranscriptEvent, UtteranceEvent, CategoryEvent} <= set(typing.get_args(ResultEvent))
    for operation in Operation:  # every operation sends something
        assert RESULT_EVENTS[operation]


@pytest.mark.parametrize("kind", EVENT_KINDS, ids=lambda k: f"{k.model.__name__}")
def test_every_event_type_reaches_the_app_placed_and_captioned(kind: EventKind) -> None:
    headers = {":message-type": "event", ":event-type": kind.name, ":content-type": "application/json"}
    for operation in kind.operations:
        (message,) = eventstream.Decoder().feed(eventstream.encode(headers, sample(kind)))
        event = parse_result_message(operation, message)
        assert type(event) is kind.model  # decoded as its model, not an UnknownEvent
        assert parse_result_message(operation, eventstream.Decoder().feed(encode_result_event(event))[0]) == event
        timeline = Timeline()
        timeline.resume(10.0, 0.0)  # a resumed connection: its times move 10 s on
        placed, finals = timeline.place(event)
        assert placed is not None and type(placed) is kind.model
        if kind.shape != "category":
            assert finals == [12.0]  # the final's end, on the stream's timeline
        lines = LiveCaptions().update(placed)
        assert (kind.shape == "category") == (lines == [])  # results are captioned, categories are not
