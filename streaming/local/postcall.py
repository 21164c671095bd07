"""The post-call analytics output of a Call Analytics stream, pure: the service's document, from the call's own results.

What the service's post-call output documents, and what the local endpoint fills in:

| section | here |
|---|---|
| ``Transcript`` turns: content, items, offsets, sentiment, issues | from the stream's final utterances |
| ``LoudnessScores`` per turn | from the audio: one 0-100 score per second of the turn, on its speaker's channel |
| ``ConversationCharacteristics.TalkTime``, ``TotalConversationDurationMillis`` | from the turns |
| ``TalkSpeed`` (words per minute by participant) | from the turns' words and talk time |
| ``Interruptions`` | a turn that starts while the other party's turn is still going |
| ``NonTalkTime`` | silences of 3 s or more between turns |
| ``Sentiment.OverallSentiment`` | the turns' sentiments, scored -5..5 as the service does |
| ``Categories`` | the real-time categories the stream matched |
| ``ContentMetadata.Output`` | ``Raw`` or ``Redacted`` (PII in the turns as ``[PII]``) |
| ``SentimentByPeriod``; generative summaries (issues, action items, outcomes) | absent |
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..proto.models import CategoryEvent, UtteranceEvent
from .recognizer import Word
from .text import find_entities, tokens_of

__all__ = ["NON_TALK_MILLIS", "loudness_score", "post_call_output"]

NON_TALK_MILLIS: Final = 3000  # a silence this long between turns is non-talk time
_SENTIMENT_SCORE: Final = {"POSITIVE": 2.5, "NEGATIVE": -2.5, "NEUTRAL": 0.0, "MIXED": 0.0}


def loudness_score(rms: float) -> float:
    """A second of audio's RMS (16-bit samples) as a 0-100 loudness score (-60..0 dBFS)."""
    if rms <= 0:
        return 0.0
    dbfs = 20 * math.log10(rms / 32768)
    return round(min(max((dbfs + 60) * 100 / 60, 0.0), 100.0), 2)


@dataclass(slots=True)
class _Party:
    millis: int = 0
    words: int = 0
    sentiments: list[float] = field(default_factory=list)


def post_call_output(
    name: str,
    language: str,
    utterances: Sequence[UtteranceEvent],
    categories: Sequence[CategoryEvent],
    loudness: Mapping[str, Sequence[float]],
    *,
    redacted: bool,
) -> dict[str, Any]:
    """The document; ``loudness`` maps a role to its channel's scores, one per second."""
    parties: dict[str, _Party] = {}
    turns = []
    for u in utterances:
        role = u.participant_role or "AGENT"
        party = parties.setdefault(role, _Party())
        party.millis += max(u.end_offset_millis - u.begin_offset_millis, 0)
        party.words += sum(1 for i in u.items if i.type == "pronunciation")
        party.sentiments.append(_SENTIMENT_SCORE.get(u.sentiment or "NEUTRAL", 0.0))
        turns.append(_turn(u, role, loudness.get(role, ()), redacted=redacted))
    matched = sorted({c for e in categories for c in e.matched_categories})
    total = max((u.end_offset_millis for u in utterances), default=0)
    talk = sum(p.millis for p in parties.values())
    return {
        "JobName": name,
        "JobStatus": "COMPLETED",
        "LanguageCode": language,
        "Channel": "VOICE",
        "AccountId": "000000000000",
        "Participants": [{"ParticipantRole": role} for role in sorted(parties)],
        "Transcript": turns,
        "Categories": {"MatchedCategories": matched, "MatchedDetails": {c: {"PointsOfInterest": []} for c in matched}},
        "ConversationCharacteristics": {
            "TotalConversationDurationMillis": total,
            "TalkTime": {
                "TotalTimeMillis": talk,
                "DetailsByParticipant": {role: {"TotalTimeMillis": p.millis} for role, p in parties.items()},
            },
            "TalkSpeed": {
                "DetailsByParticipant": {
                    role: {"AverageWordsPerMinute": round(p.words * 60000 / p.millis) if p.millis else 0}
                    for role, p in parties.items()
                }
            },
            "NonTalkTime": _non_talk(utterances, total),
            "Interruptions": _interruptions(utterances),
            "Sentiment": {
                "OverallSentiment": {
                    role: round(sum(p.sentiments) / len(p.sentiments), 1) for role, p in parties.items() if p.sentiments
                },
            },
        },
        "ContentMetadata": {"Output": "Redacted" if redacted else "Raw"},
    }


def _turn(u: UtteranceEvent, role: str, loudness: Sequence[float], *, redacted: bool) -> dict[str, Any]:
    items = [
        {
            "BeginOffsetMillis": i.begin_offset_millis,
            "EndOffsetMillis": i.end_offset_millis,
            "Content": i.content,
            "Type": i.type,
            "Confidence": i.confidence,
        }
        for i in u.items
    ]
    content = u.transcript
    if redacted:
        words = [i for i in u.items if i.type == "pronunciation"]
        tokens = tokens_of(
            Word(i.content, i.begin_offset_millis / 1000, i.end_offset_millis / 1000, i.confidence or 1.0)
            for i in words
        )
        entities = find_entities(tokens)
        if entities:
            covered = {k for e in entities for k in range(e.first, e.last + 1)}
            firsts = {e.first for e in entities}
            spoken = iter(range(len(words)))
            # The turn as said (capitals, punctuation), each entity one [PII]; each of its items [PII].
            parts: list[str] = []
            redacted_items = []
            for item in items:
                if item["Type"] != "pronunciation":
                    parts.append(str(item["Content"]))
                    redacted_items.append(item)
                    continue
                k = next(spoken)
                if k not in covered:
                    parts.append(" " + str(item["Content"]))
                    redacted_items.append(item)
                    continue
                if k in firsts:
                    parts.append(" [PII]")
                redacted_items.append({**item, "Content": "[PII]"})
            content, items = "".join(parts).strip(), redacted_items
    first, last = u.begin_offset_millis // 1000, max(u.end_offset_millis - 1, u.begin_offset_millis) // 1000
    return {
        "Id": u.utterance_id,
        "ParticipantRole": role,
        "Content": content,
        "BeginOffsetMillis": u.begin_offset_millis,
        "EndOffsetMillis": u.end_offset_millis,
        "Sentiment": u.sentiment or "NEUTRAL",
        "LoudnessScores": list(loudness[first : last + 1]),
        "IssuesDetected": [
            {"CharacterOffsets": {"Begin": i.character_offsets.begin, "End": i.character_offsets.end}}
            for i in u.issues_detected
        ],
        "Items": items,
    }


def _non_talk(utterances: Sequence[UtteranceEvent], total: int) -> dict[str, Any]:
    spans = sorted((u.begin_offset_millis, u.end_offset_millis) for u in utterances)
    instances = []
    heard_until = 0
    for begin, end in spans:
        if begin - heard_until >= NON_TALK_MILLIS:
            instances.append(
                {"BeginOffsetMillis": heard_until, "EndOffsetMillis": begin, "DurationMillis": begin - heard_until}
            )
        heard_until = max(heard_until, end)
    return {"Instances": instances, "TotalTimeMillis": sum(i["DurationMillis"] for i in instances)}


def _interruptions(utterances: Sequence[UtteranceEvent]) -> dict[str, Any]:
    """Turns that begin while another party's turn is still going (each counted once)."""
    by_interrupter: dict[str, list[dict[str, int]]] = {}
    talking_until: dict[str, int] = {}  # each party's latest end so far
    for u in sorted(utterances, key=lambda u: u.begin_offset_millis):
        role = u.participant_role or "AGENT"
        others = [end for party, end in talking_until.items() if party != role and end > u.begin_offset_millis]
        if others:
            end = min(max(others), u.end_offset_millis)
            by_interrupter.setdefault(role, []).append(
                {
                    "BeginOffsetMillis": u.begin_offset_millis,
                    "EndOffsetMillis": end,
                    "DurationMillis": end - u.begin_offset_millis,
                }
            )
        talking_until[role] = max(talking_until.get(role, 0), u.end_offset_millis)
    found = [i for items in by_interrupter.values() for i in items]
    return {
        "TotalCount": len(found),
        "TotalTimeMillis": sum(i["DurationMillis"] for i in found),
        "InterruptionsByInterrupter": by_interrupter,
    }
