"""Recogniser segments -> the service's result events, per operation.

Adds what the service adds around the words (see :mod:`.text` for the text itself):
numbers written as digits, custom vocabularies' DisplayAs, capitals and a closing period on
complete segments, PII/PHI entities and redaction on complete segments, vocabulary
filters; ``Stable`` flags under partial-results stabilization (a stable word never changes
again, in later partials or in the final); channel ids; speaker labels on complete
segments; language identification scores; and for Call Analytics the participant's role,
millisecond offsets, sentiment, issues and categories (:mod:`.analytics`).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..proto.languages import PII_ENTITY_TYPES
from ..proto.models import (
    Alternative,
    CallAnalyticsEntity,
    CallAnalyticsItem,
    CategoryEvent,
    CharacterOffsets,
    Entity,
    IssueDetected,
    Item,
    LanguageWithScore,
    MedicalAlternative,
    MedicalEntity,
    MedicalItem,
    MedicalResult,
    MedicalTranscript,
    MedicalTranscriptEvent,
    Result,
    Transcript,
    TranscriptEvent,
    UtteranceEvent,
)
from ..proto.params import Operation, StreamParams
from . import text
from .analytics import CategoryMatcher, Spoken, find_issues, sentiment_of
from .numbers import normalize_numbers
from .recognizer import Segment, Word
from .resources import Resources, VocabularyPhrase, requested_names
from .voice import Speakers

__all__ = ["ResultBuilder", "TextRules", "language_scores"]

# How far behind the newest audio a partial word must end to be declared stable.
STABILITY_LAG: Final = {"low": 1.2, "medium": 0.8, "high": 0.4}
AGREEMENT: Final = 2  # earlier partials that must agree on a word before it is declared stable
_ALL_PII: Final = PII_ENTITY_TYPES - {"ALL"}


@dataclass(frozen=True, slots=True)
class TextRules:
    """What a stream's parameters and the named resources ask of its text."""

    phrases: tuple[VocabularyPhrase, ...] = ()
    filter_words: frozenset[str] = frozenset()
    filter_method: str = "mask"
    entity_category: str | None = None  # "PII" or "PHI"
    redact: bool = False
    entity_types: frozenset[str] = _ALL_PII
    medical: bool = False  # "pounds" is weight (lbs), not money (£)

    @classmethod
    def for_stream(cls, params: StreamParams, resources: Resources, language: str | None) -> TextRules:
        def fits(code: str) -> bool:  # with language identification, one resource per language
            return language is None or code == language

        phrases = tuple(
            p
            for n in requested_names(params, "vocabulary_name")
            if n in resources.vocabularies and fits(resources.vocabularies[n].language_code)
            for p in resources.vocabularies[n].phrases
        )
        words = frozenset(
            w
            for n in requested_names(params, "vocabulary_filter_name")
            if n in resources.filters and fits(resources.filters[n].language_code)
            for w in resources.filters[n].words
        )
        identification = params.get("content_identification_type")
        redaction = params.get("content_redaction_type")
        chosen = frozenset(params.get("pii_entity_types", ()))  # type: ignore[arg-type]
        return cls(
            phrases=phrases,
            filter_words=words,
            filter_method=str(params.get("vocabulary_filter_method", "mask")),
            entity_category=str(identification or redaction) if (identification or redaction) else None,
            redact=redaction is not None,
            entity_types=_ALL_PII if not chosen or "ALL" in chosen else chosen,
            medical=params.operation is Operation.MEDICAL,
        )

    def chunk(self, words: Sequence[Word]) -> list[text.Token]:
        """Words (a partial's or a final's) -> items, before sentence-level rules."""
        tokens = normalize_numbers(text.tokens_of(words), medical=self.medical)
        tokens = text.apply_vocabulary(tokens, self.phrases)
        if self.filter_words:
            tokens = text.apply_filter(tokens, self.filter_words, self.filter_method)
        return tokens

    def sentence(self, tokens: list[text.Token]) -> tuple[list[text.Token], list[text.Entity]]:
        """A complete segment: punctuation, then entities (and redaction) on it."""
        tokens = text.finish_sentence(tokens)
        if self.entity_category is None:
            return tokens, []
        entities = [
            e
            for e in text.find_entities(tokens, category=self.entity_category)
            if self.entity_category == "PHI" or e.type in self.entity_types
        ]
        if self.redact:
            return text.redact(tokens, entities)
        return tokens, entities


def language_scores(options: Sequence[str], preferred: str | None, english: float) -> tuple[str, dict[str, float]]:
    """The identified language and a score per option, from how English the speech sounded.

    The recogniser knows English only: ``english`` (its mean word confidence, 0..1) is all
    it can tell. English options share it (their dialects cannot be told apart); the
    others share the rest equally, so English speech against ``fr-FR,de-DE`` scores both
    low rather than naming one with confidence.
    """
    ours = [c for c in options if c.startswith("en-")]
    others = [c for c in options if not c.startswith("en-")]
    scores: dict[str, float] = {}
    for code in ours:
        scores[code] = round(english / len(ours), 4)
    for code in others:
        scores[code] = round((1.0 - english if ours else 1.0) / len(others), 4)
    best = max(scores.values())
    ties = [c for c in options if scores[c] == best]
    return (preferred if preferred in ties else ties[0]), scores


@dataclass(slots=True)
class _Progress:
    """What a segment's earlier partials showed under stabilization."""

    words: list[Word] = field(default_factory=list)
    tokens: list[text.Token] = field(default_factory=list)
    seen: list[list[str]] = field(default_factory=list)  # the previous partials' words, for agreement


def _result_fields(segment: Segment, channel: str | None) -> dict[str, Any]:
    return {
        "result_id": segment.segment_id,
        "start_time": round(segment.start, 3),
        "end_time": round(segment.end, 3),
        "is_partial": segment.is_partial,
        "channel_id": channel,
    }


def _entity_fields(entity: text.Entity) -> dict[str, Any]:
    return {
        "start_time": round(entity.start, 3),
        "end_time": round(entity.end, 3),
        "category": entity.category,
        "content": entity.content,
        "confidence": entity.confidence,
    }


class ResultBuilder:
    """Turns the segments of one stream into result events for its operation."""

    def __init__(
        self,
        params: StreamParams,
        channel_roles: Mapping[int, str] | None = None,
        *,
        resources: Resources | None = None,
    ) -> None:
        self.params = params
        self.operation = params.operation
        self.stabilize = params.get("enable_partial_results_stabilization") is True
        self.lag = STABILITY_LAG[str(params.get("partial_results_stability", "high"))]
        self.channel_ids = params.get("enable_channel_identification") is True
        self.speakers = params.get("show_speaker_label") is True
        self.identify = params.get("identify_language") is True or params.get("identify_multiple_languages") is True
        self.options: tuple[str, ...] = tuple(params.get("language_options", ()))  # type: ignore[arg-type]
        self.channel_roles = dict(channel_roles or {0: "AGENT", 1: "CUSTOMER"})
        self.resources = resources or Resources()
        self.rules = TextRules.for_stream(params, self.resources, self._fixed_language())
        analytics = self.operation is Operation.CALL_ANALYTICS
        self.categories = CategoryMatcher(self.resources.categories if analytics else ())
        self._progress: dict[str, _Progress] = {}
        self._voices: dict[int, Speakers] = {}
        self._shown: set[str] = set()
        self._heard_end_ms = 0

    def _fixed_language(self) -> str | None:
        if "language_code" in self.params.values:
            return str(self.params["language_code"])
        english = [c for c in self.options if c.startswith("en-")]
        return english[0] if english else None

    def set_channel_roles(self, roles: Mapping[int, str]) -> None:
        self.channel_roles = dict(roles)

    def events(self, segments: list[Segment], audio_end: float) -> list[Any]:
        out: list[Any] = []
        for segment in segments:
            if not segment.words and segment.segment_id not in self._shown:
                continue  # noise: the service reports nothing
            self._shown.add(segment.segment_id)
            tokens, stable, entities = self._render(segment, audio_end)
            if not tokens and segment.is_partial and segment.segment_id not in self._progress:
                continue  # everything said so far was removed by a filter
            out += self._event(segment, tokens, stable, entities)
        return out

    def finish(self, audio_end: float) -> list[Any]:
        """The audio ended: categories that need the whole call are decided now."""
        event = self.categories.finish(max(round(audio_end * 1000), self._heard_end_ms))
        return [event] if event is not None else []

    # -- text, with stabilization ---------------------------------------------------------------

    def _render(self, segment: Segment, audio_end: float) -> tuple[list[text.Token], int, list[text.Entity]]:
        """The segment's items, how many of them are stable, and its entities (finals)."""
        final = not segment.is_partial
        # Partials are written like finals (capitalised, closed by a period), as the
        # service's are; entities and redaction come with complete segments only.
        if not self.stabilize:
            tokens = self.rules.chunk(segment.words)
            if final:
                tokens, entities = self.rules.sentence(tokens)
                return tokens, len(tokens), entities
            return text.finish_sentence(tokens), 0, []
        progress = self._progress.setdefault(segment.segment_id, _Progress())
        # Stable words stay as they were shown, whatever the decoder says later.
        words = progress.words + segment.words[len(progress.words) :]
        if final:
            self._progress.pop(segment.segment_id, None)
            tokens = progress.tokens + self.rules.chunk(words[len(progress.words) :])
            tokens, entities = self.rules.sentence(tokens)
            return tokens, len(tokens), entities
        # A word becomes stable once it ends ``lag`` behind the newest audio and the last
        # two partials said the same word there: the decoder agreed with itself (a
        # hypothesis it is about to revise is not frozen into the final).
        newly: list[Word] = []
        for i, word in enumerate(words[len(progress.words) :], start=len(progress.words)):
            agreed = len(progress.seen) == AGREEMENT and all(i < len(w) and w[i] == word.text for w in progress.seen)
            if word.end > (segment.heard or audio_end) - self.lag or not agreed:
                break
            newly.append(word)
        progress.seen = [*progress.seen, [word.text for word in segment.words]][-AGREEMENT:]
        if newly:
            progress.words += newly
            progress.tokens += self.rules.chunk(newly)
        rest = self.rules.chunk(words[len(progress.words) :])
        return text.finish_sentence(progress.tokens + rest), len(progress.tokens), []

    # -- events ------------------------------------------------------------------------------

    def _event(self, segment: Segment, tokens: list[text.Token], stable: int, entities: list[text.Entity]) -> list[Any]:
        final = not segment.is_partial
        transcript = text.transcript_of(tokens)
        if self.operation is Operation.CALL_ANALYTICS:
            return self._utterance(segment, tokens, stable, entities, transcript)
        if final and self.speakers:
            tokens, speakers = self._spoken_by(segment, tokens)
            stable = len(tokens)  # a final's items are all stable, speaker changes included
        else:
            speakers = [None] * len(tokens)
        channel = f"ch_{segment.channel}" if self.channel_ids else None
        if self.operation is Operation.MEDICAL:
            items_m = tuple(
                MedicalItem(
                    start_time=round(t.start, 3),
                    end_time=round(t.end, 3),
                    type=t.type,
                    content=t.content,
                    confidence=t.confidence if final and t.is_word else None,
                    speaker=who,
                )
                for t, who in zip(tokens, speakers, strict=True)
            )
            result_m = MedicalResult(
                **_result_fields(segment, channel),
                alternatives=(
                    MedicalAlternative(
                        transcript=transcript,
                        items=items_m,
                        entities=tuple(MedicalEntity(**_entity_fields(e)) for e in entities),
                    ),
                ),
            )
            return [MedicalTranscriptEvent(transcript=MedicalTranscript(results=(result_m,)))]
        items = tuple(
            Item(
                start_time=round(t.start, 3),
                end_time=round(t.end, 3),
                type=t.type,
                content=t.content,
                vocabulary_filter_match=t.filter_match,
                confidence=t.confidence if final and t.is_word else None,
                stable=(i < stable) if self.stabilize else None,
                speaker=who,
            )
            for i, (t, who) in enumerate(zip(tokens, speakers, strict=True))
        )
        language, scores = self._identify(tokens) if final else (None, ())
        result = Result(
            **_result_fields(segment, channel),
            alternatives=(
                Alternative(
                    transcript=transcript,
                    items=items,
                    entities=tuple(Entity(**_entity_fields(e), type=e.type) for e in entities),
                ),
            ),
            language_code=language,
            language_identification=scores,
        )
        return [TranscriptEvent(transcript=Transcript(results=(result,)))]

    def _spoken_by(self, segment: Segment, tokens: list[text.Token]) -> tuple[list[text.Token], list[str | None]]:
        """Each word's speaker, with a ``speaker-change`` item where the voice changes inside
        the segment (voices are told apart by pitch, see .voice; channels never share one)."""
        voices = self._voices.setdefault(segment.channel, Speakers())
        pitches = segment.word_pitches or [None] * len(segment.words)
        by_word = voices.labels(segment.pitch, pitches)
        starts = [w.start for w in segment.words]
        out: list[text.Token] = []
        speakers: list[str | None] = []
        last: str | None = None
        for token in tokens:
            if not token.is_word:
                out.append(token)
                speakers.append(None)
                continue
            k = max(bisect.bisect_right(starts, token.start + 1e-6) - 1, 0)
            who = by_word[k] if by_word else voices.label(segment.pitch)
            if last is not None and who != last:
                out.append(text.Token("", token.start, token.start, 1.0, type="speaker-change"))
                speakers.append(None)
            out.append(token)
            speakers.append(who)
            last = who
        return out, speakers

    def _identify(self, tokens: list[text.Token]) -> tuple[str | None, tuple[LanguageWithScore, ...]]:
        """A final's identified language and scores (nothing without language identification)."""
        if not self.identify:
            return None, ()
        words = [t.confidence for t in tokens if t.is_word]
        english = sum(words) / len(words) if words else 0.0
        preferred = self.params.get("preferred_language")
        code, scores = language_scores(self.options, str(preferred) if preferred else None, english)
        return code, tuple(LanguageWithScore(language_code=c, score=v) for c, v in scores.items())

    def _utterance(
        self,
        segment: Segment,
        tokens: list[text.Token],
        stable: int,
        entities: list[text.Entity],
        transcript: str,
    ) -> list[Any]:
        final = not segment.is_partial
        items = tuple(
            CallAnalyticsItem(
                begin_offset_millis=round(t.start * 1000),
                end_offset_millis=round(t.end * 1000),
                type=t.type,
                content=t.content,
                confidence=t.confidence if final and t.is_word else None,
                vocabulary_filter_match=t.filter_match,
                stable=(i < stable) if self.stabilize else None,
            )
            for i, t in enumerate(tokens)
        )
        role = self.channel_roles.get(segment.channel, "AGENT")
        sentiment = sentiment_of(transcript) if final else None
        language, scores = self._identify(tokens) if final else (None, ())
        if final and not self.identify:
            language = str(self.params["language_code"])
        begin_ms, end_ms = round(segment.start * 1000), round(segment.end * 1000)
        event = UtteranceEvent(
            utterance_id=segment.segment_id,
            is_partial=not final,
            participant_role=role,
            begin_offset_millis=begin_ms,
            end_offset_millis=end_ms,
            transcript=transcript,
            items=items,
            entities=tuple(
                CallAnalyticsEntity(
                    begin_offset_millis=round(e.start * 1000),
                    end_offset_millis=round(e.end * 1000),
                    category=e.category,
                    type=e.type,
                    content=e.content,
                    confidence=e.confidence,
                )
                for e in entities
            ),
            sentiment=sentiment,
            issues_detected=tuple(
                IssueDetected(character_offsets=CharacterOffsets(begin=b, end=e)) for b, e in find_issues(transcript)
            )
            if final
            else (),
            language_code=language,
            language_identification=scores,
        )
        out: list[Any] = [event]
        if final and sentiment is not None:
            self._heard_end_ms = max(self._heard_end_ms, end_ms)
            category: CategoryEvent | None = self.categories.add(Spoken(role, transcript, sentiment, begin_ms, end_ms))
            if category is not None:
                out.append(category)
        return out
