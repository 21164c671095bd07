"""Result models: decoded from the service's JSON, encoded back the way the service writes it."""

from __future__ import annotations

import json

import msgspec
import pytest

from streaming.proto.models import Item, TranscriptEvent, UtteranceEvent, to_service_json

SERVICE_JSON = {
    "Transcript": {
        "Results": [
            {
                "Alternatives": [
                    {
                        "Items": [
                            {
                                "Confidence": 0.98,
                                "Content": "Hello",
                                "EndTime": 0.9,
                                "StartTime": 0.5,
                                "Type": "pronunciation",
                                "VocabularyFilterMatch": False,
                                "Speaker": "0",
                                "Stable": True,
                            },
                            {
                                "Content": ".",
                                "EndTime": 0.9,
                                "StartTime": 0.9,
                                "Type": "punctuation",
                                "VocabularyFilterMatch": False,
                            },
                        ],
                        "Transcript": "Hello.",
                        "Entities": [
                            {
                                "Category": "PII",
                                "Type": "NAME",
                                "Content": "Hello",
                                "StartTime": 0.5,
                                "EndTime": 0.9,
                                "Confidence": 0.7,
                            }
                        ],
                    }
                ],
                "ChannelId": "ch_0",
                "EndTime": 0.95,
                "IsPartial": False,
                "ResultId": "r-1",
                "StartTime": 0.4,
                "LanguageCode": "en-US",
                "LanguageIdentification": [{"LanguageCode": "en-US", "Score": 0.9}],
                "SomethingNew": {"the service": "added this later"},
            }
        ]
    }
}


def test_decodes_the_service_json() -> None:
    event = msgspec.json.decode(json.dumps(SERVICE_JSON).encode(), type=TranscriptEvent)
    result = event.transcript.results[0]
    assert result.result_id == "r-1"
    assert result.transcript == "Hello."
    assert result.channel_id == "ch_0"
    assert result.language_identification[0].score == 0.9
    hello, dot = result.alternatives[0].items
    assert (hello.content, hello.start_time, hello.confidence, hello.speaker, hello.stable) == (
        "Hello",
        0.5,
        0.98,
        "0",
        True,
    )
    assert (dot.type, dot.confidence, dot.stable) == ("punctuation", None, None)
    assert result.alternatives[0].entities[0].type == "NAME"


def test_models_are_frozen() -> None:
    item = Item(content="x")
    with pytest.raises(AttributeError):
        item.content = "y"  # type: ignore[misc]


def test_encoding_leaves_unset_fields_out() -> None:
    event = msgspec.json.decode(json.dumps(SERVICE_JSON).encode(), type=TranscriptEvent)
    encoded = json.loads(to_service_json(event))
    expected = json.loads(json.dumps(SERVICE_JSON))
    del expected["Transcript"]["Results"][0]["SomethingNew"]
    assert encoded == expected
    sparse = json.loads(to_service_json(TranscriptEvent()))
    assert sparse == {"Transcript": {"Results": []}}


def test_utterance_event() -> None:
    payload = b'{"UtteranceId": "u", "IsPartial": false, "ParticipantRole": "AGENT", "BeginOffsetMillis": 10, "EndOffsetMillis": 900, "Transcript": "Hi.", "Sentiment": "NEUTRAL", "IssuesDetected": [{"CharacterOffsets": {"Begin": 0, "End": 2}}]}'
    event = msgspec.json.decode(payload, type=UtteranceEvent)
    assert event.participant_role == "AGENT"
    assert event.issues_detected[0].character_offsets.end == 2
