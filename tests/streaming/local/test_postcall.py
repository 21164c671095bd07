"""The post-call analytics output, from utterances and loudness, without a socket."""

from __future__ import annotations

from streaming.local.postcall import NON_TALK_MILLIS, loudness_score, post_call_output
from streaming.proto.models import CallAnalyticsItem, CategoryEvent, UtteranceEvent


def turn(uid: str, role: str, begin: int, end: int, text: str, sentiment: str = "NEUTRAL") -> UtteranceEvent:
    words = text.split()
    step = (end - begin) // max(len(words), 1)
    items = tuple(
        CallAnalyticsItem(
            begin_offset_millis=begin + k * step,
            end_offset_millis=begin + (k + 1) * step,
            type="pronunciation",
            content=w,
            confidence=0.9,
        )
        for k, w in enumerate(words)
    )
    return UtteranceEvent(
        utterance_id=uid,
        is_partial=False,
        participant_role=role,
        begin_offset_millis=begin,
        end_offset_millis=end,
        transcript=text,
        items=items,
        sentiment=sentiment,
    )


CALL = [
    turn("1", "AGENT", 0, 3000, "thank you for calling how can i help", "POSITIVE"),
    turn("2", "CUSTOMER", 2500, 6000, "my card number is 4111111111111111", "NEGATIVE"),
    turn("3", "AGENT", 10000, 12000, "let me check that for you"),
]
LOUDNESS = {"AGENT": [50.0 + k for k in range(13)], "CUSTOMER": [70.0 + k for k in range(13)]}


def test_loudness_scores_span_zero_to_a_hundred() -> None:
    assert loudness_score(0) == 0.0
    assert loudness_score(32767) == 100.0
    assert loudness_score(32768 / 100) == 33.33  # -40 dBFS: the scale is -60..0 dBFS


def test_the_documents_conversation_characteristics() -> None:
    doc = post_call_output("call-1", "en-US", CALL, [], LOUDNESS, redacted=False)
    traits = doc["ConversationCharacteristics"]
    assert traits["TotalConversationDurationMillis"] == 12000
    assert traits["TalkTime"]["DetailsByParticipant"] == {
        "AGENT": {"TotalTimeMillis": 5000},
        "CUSTOMER": {"TotalTimeMillis": 3500},
    }
    assert traits["TalkSpeed"]["DetailsByParticipant"]["AGENT"]["AverageWordsPerMinute"] == round(14 * 60000 / 5000)
    assert traits["TalkSpeed"]["DetailsByParticipant"]["CUSTOMER"]["AverageWordsPerMinute"] == round(5 * 60000 / 3500)
    # The customer began at 2.5 s while the agent spoke until 3 s: one interruption of 500 ms.
    assert traits["Interruptions"] == {
        "TotalCount": 1,
        "TotalTimeMillis": 500,
        "InterruptionsByInterrupter": {
            "CUSTOMER": [{"BeginOffsetMillis": 2500, "EndOffsetMillis": 3000, "DurationMillis": 500}]
        },
    }
    # 6 s to 10 s nobody spoke: non-talk time (3 s or more).
    assert traits["NonTalkTime"] == {
        "Instances": [{"BeginOffsetMillis": 6000, "EndOffsetMillis": 10000, "DurationMillis": 4000}],
        "TotalTimeMillis": 4000,
    }
    assert NON_TALK_MILLIS == 3000
    assert traits["Sentiment"]["OverallSentiment"] == {"AGENT": 1.2, "CUSTOMER": -2.5}
    first, second, third = doc["Transcript"]
    assert third["LoudnessScores"] == [60.0, 61.0]  # seconds 10 and 11
    assert first["LoudnessScores"] == [50.0, 51.0, 52.0]  # seconds 0, 1, 2 on the agent's channel
    assert second["LoudnessScores"] == [72.0, 73.0, 74.0, 75.0]  # seconds 2..5 on the customer's
    assert doc["ContentMetadata"] == {"Output": "Raw"} and second["Content"] == "my card number is 4111111111111111"


def test_the_redacted_document_hides_pii_in_content_and_items() -> None:
    doc = post_call_output("call-1", "en-US", CALL, [], LOUDNESS, redacted=True)
    second = doc["Transcript"][1]
    assert doc["ContentMetadata"] == {"Output": "Redacted"}
    assert second["Content"] == "my card number is [PII]"
    assert [i["Content"] for i in second["Items"]] == ["my", "card", "number", "is", "[PII]"]
    assert doc["Transcript"][0]["Content"] == "thank you for calling how can i help"  # nothing to hide


def test_categories_the_stream_matched_are_reported() -> None:
    matched = CategoryEvent(matched_categories=("refund",), matched_details={})
    doc = post_call_output("call-1", "en-US", CALL, [matched], LOUDNESS, redacted=False)
    assert doc["Categories"]["MatchedCategories"] == ["refund"]


def test_a_redacted_turn_keeps_its_capitals_and_punctuation() -> None:
    said = turn("2", "CUSTOMER", 2500, 6000, "My card number is 4111111111111111")
    period = CallAnalyticsItem(begin_offset_millis=6000, end_offset_millis=6000, type="punctuation", content=".")
    said = UtteranceEvent(**{**{f: getattr(said, f) for f in said.__struct_fields__}, "items": (*said.items, period),
                             "transcript": "My card number is 4111111111111111."})  # fmt: skip
    doc = post_call_output("call-1", "en-US", [said], [], LOUDNESS, redacted=True)
    assert doc["Transcript"][0]["Content"] == "My card number is [PII]."
    assert [i["Content"] for i in doc["Transcript"][0]["Items"]] == ["My", "card", "number", "is", "[PII]", "."]
