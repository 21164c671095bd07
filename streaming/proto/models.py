"""Typed, immutable result models, decoded straight from the service's JSON.

msgspec decodes a ~900-byte TranscriptEvent into these frozen Structs several times faster
than ``json.loads`` alone (``python -m benchmarks models``). Field names are the Pythonic
forms of the service's PascalCase keys; unknown keys are ignored and absent ones take their
defaults, so service changes do not break old clients. The local endpoint encodes its
events from the same Structs with :func:`to_service_json` (absent, not null, for unset
optional fields, as the service does).
"""

from __future__ import annotations

import msgspec

__all__ = [
    "Alternative",
    "CallAnalyticsEntity",
    "CallAnalyticsItem",
    "CategoryEvent",
    "CharacterOffsets",
    "Entity",
    "IssueDetected",
    "Item",
    "LanguageWithScore",
    "MedicalAlternative",
    "MedicalEntity",
    "MedicalItem",
    "MedicalResult",
    "MedicalTranscript",
    "MedicalTranscriptEvent",
    "PointsOfInterest",
    "Result",
    "TimestampRange",
    "Transcript",
    "TranscriptEvent",
    "UtteranceEvent",
    "to_service_json",
]


class _Model(msgspec.Struct, frozen=True, kw_only=True, rename="pascal"):
    pass


class LanguageWithScore(_Model, frozen=True):
    language_code: str
    score: float


class Item(_Model, frozen=True):
    """One word or punctuation mark of a transcript."""

    start_time: float = 0.0
    end_time: float = 0.0
    type: str = "pronunciation"
    content: str = ""
    vocabulary_filter_match: bool = False
    speaker: str | None = None
    confidence: float | None = None
    stable: bool | None = None


class Entity(_Model, frozen=True):
    """PII found in a transcript (content identification or redaction)."""

    start_time: float = 0.0
    end_time: float = 0.0
    category: str = ""
    type: str = ""
    content: str = ""
    confidence: float | None = None


class Alternative(_Model, frozen=True):
    transcript: str = ""
    items: tuple[Item, ...] = ()
    entities: tuple[Entity, ...] = ()


class Result(_Model, frozen=True):
    """One segment of speech: partial while it grows, then final under the same result_id."""

    result_id: str
    start_time: float = 0.0
    end_time: float = 0.0
    is_partial: bool = False
    alternatives: tuple[Alternative, ...] = ()
    channel_id: str | None = None
    language_code: str | None = None
    language_identification: tuple[LanguageWithScore, ...] = ()

    @property
    def transcript(self) -> str:
        """The best alternative's text ("" when there is none)."""
        return self.alternatives[0].transcript if self.alternatives else ""


class Transcript(_Model, frozen=True):
    results: tuple[Result, ...] = ()


class TranscriptEvent(_Model, frozen=True):
    transcript: Transcript = Transcript()


class MedicalItem(_Model, frozen=True):
    start_time: float = 0.0
    end_time: float = 0.0
    type: str = "pronunciation"
    content: str = ""
    confidence: float | None = None
    speaker: str | None = None


class MedicalEntity(_Model, frozen=True):
    start_time: float = 0.0
    end_time: float = 0.0
    category: str = ""
    content: str = ""
    confidence: float | None = None


class MedicalAlternative(_Model, frozen=True):
    transcript: str = ""
    items: tuple[MedicalItem, ...] = ()
    entities: tuple[MedicalEntity, ...] = ()


class MedicalResult(_Model, frozen=True):
    result_id: str
    start_time: float = 0.0
    end_time: float = 0.0
    is_partial: bool = False
    alternatives: tuple[MedicalAlternative, ...] = ()
    channel_id: str | None = None

    @property
    def transcript(self) -> str:
        return self.alternatives[0].transcript if self.alternatives else ""


class MedicalTranscript(_Model, frozen=True):
    results: tuple[MedicalResult, ...] = ()


class MedicalTranscriptEvent(_Model, frozen=True):
    transcript: MedicalTranscript = MedicalTranscript()


class CallAnalyticsItem(_Model, frozen=True):
    begin_offset_millis: int = 0
    end_offset_millis: int = 0
    type: str = "pronunciation"
    content: str = ""
    confidence: float | None = None
    vocabulary_filter_match: bool = False
    stable: bool | None = None


class CallAnalyticsEntity(_Model, frozen=True):
    begin_offset_millis: int = 0
    end_offset_millis: int = 0
    category: str = ""
    type: str = ""
    content: str = ""
    confidence: float | None = None


class CharacterOffsets(_Model, frozen=True):
    begin: int = 0
    end: int = 0


class IssueDetected(_Model, frozen=True):
    character_offsets: CharacterOffsets = CharacterOffsets()


class UtteranceEvent(_Model, frozen=True):
    """Call Analytics: one utterance of one participant."""

    utterance_id: str
    is_partial: bool = False
    participant_role: str | None = None
    begin_offset_millis: int = 0
    end_offset_millis: int = 0
    transcript: str = ""
    items: tuple[CallAnalyticsItem, ...] = ()
    entities: tuple[CallAnalyticsEntity, ...] = ()
    sentiment: str | None = None
    issues_detected: tuple[IssueDetected, ...] = ()
    language_code: str | None = None
    language_identification: tuple[LanguageWithScore, ...] = ()


class TimestampRange(_Model, frozen=True):
    begin_offset_millis: int = 0
    end_offset_millis: int = 0


class PointsOfInterest(_Model, frozen=True):
    timestamp_ranges: tuple[TimestampRange, ...] = ()


class CategoryEvent(_Model, frozen=True):
    """Call Analytics: categories whose rules matched so far."""

    matched_categories: tuple[str, ...] = ()
    matched_details: dict[str, PointsOfInterest] = msgspec.field(default_factory=dict)


# Lists the service leaves out rather than sending empty.
_OMIT_WHEN_EMPTY = frozenset({"Entities", "LanguageIdentification", "IssuesDetected"})


def _prune(value: object) -> object:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None and not (k in _OMIT_WHEN_EMPTY and not v)}
    if isinstance(value, list | tuple):  # to_builtins keeps tuples as tuples
        return [_prune(v) for v in value]
    return value


def to_service_json(event: msgspec.Struct) -> bytes:
    """The event's JSON as the service writes it: unset optional fields are absent."""
    return msgspec.json.encode(_prune(msgspec.to_builtins(event)))
