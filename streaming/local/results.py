"""Recogniser segments -> the service's result events, per operation.

Adds what the service adds around the words: a capitalised first word and a closing
punctuation item on final results, ``Stable`` flags under partial-results stabilization
(a stable word never changes again, in later partials or in the final), channel ids,
speaker labels, language identification, and Call Analytics' millisecond offsets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..models import (
    Alternative,
    CallAnalyticsItem,
    Item,
    LanguageWithScore,
    MedicalAlternative,
    MedicalItem,
    MedicalResult,
    MedicalTranscript,
    MedicalTranscriptEvent,
    Result,
    Transcript,
    TranscriptEvent,
    UtteranceEvent,
)
from ..params import Operation, StreamParams
from .recognizer import Segment, Word

__all__ = ["ResultBuilder"]

# How far behind the newest audio a partial word must end to be declared stable.
STABILITY_LAG: Final = {"low": 1.2, "medium": 0.8, "high": 0.4}


class ResultBuilder:
    """Turns the segments of one stream into result events for its operation."""

    def __init__(self, params: StreamParams, channel_roles: Mapping[int, str] | None = None) -> None:
        self.params = params
        self.operation = params.operation
        self.stabilize = params.get("enable_partial_results_stabilization") is True
        self.lag = STABILITY_LAG[str(params.get("partial_results_stability", "high"))]
        self.channel_ids = params.get("enable_channel_identification") is True
        self.speakers = params.get("show_speaker_label") is True
        self.channel_roles = dict(channel_roles or {0: "AGENT", 1: "CUSTOMER"})
        self._stable: dict[str, list[Word]] = {}
        self._shown: set[str] = set()
        self.language = self._language()

    def _language(self) -> str | None:
        if "language_code" in self.params.values:
            return str(self.params["language_code"])
        options: tuple[str, ...] = self.params.get("language_options", ())  # type: ignore[assignment]
        preferred = self.params.get("preferred_language")
        english = [code for code in options if code.startswith("en-")]
        # The recogniser only knows English; say so through the identified language.
        return str(preferred) if preferred in english else (english[0] if english else options[0])

    def set_channel_roles(self, roles: Mapping[int, str]) -> None:
        self.channel_roles = dict(roles)

    def events(self, segments: list[Segment], audio_end: float) -> list[Any]:
        out: list[Any] = []
        for segment in segments:
            if not segment.words and segment.segment_id not in self._shown:
                continue  # noise: the service reports nothing
            self._shown.add(segment.segment_id)
            words = self._stabilised(segment, audio_end)
            if not segment.is_partial:
                self._stable.pop(segment.segment_id, None)
            out.append(self._event(segment, words))
        return out

    # -- stabilization ---------------------------------------------------------------------

    def _stabilised(self, segment: Segment, audio_end: float) -> list[tuple[Word, bool]]:
        if not self.stabilize:
            return [(w, not segment.is_partial) for w in segment.words]
        fixed = self._stable.setdefault(segment.segment_id, [])
        words = fixed + segment.words[len(fixed) :]
        if segment.is_partial:
            for word in words[len(fixed) :]:
                if word.end <= audio_end - self.lag:
                    fixed.append(word)
                else:
                    break
            return [(w, i < len(fixed)) for i, w in enumerate(words)]
        return [(w, True) for w in words]

    # -- events ------------------------------------------------------------------------------

    def _text(self, words: list[Word], final: bool) -> tuple[str, list[str]]:
        texts = [w.text for w in words]
        if final and texts:
            texts[0] = texts[0][:1].upper() + texts[0][1:]
        sentence = " ".join(texts) + ("." if final and texts else "")
        return sentence, texts

    def _event(self, segment: Segment, words: list[tuple[Word, bool]]) -> Any:
        final = not segment.is_partial
        plain = [w for w, _ in words]
        transcript, texts = self._text(plain, final)
        if self.operation is Operation.CALL_ANALYTICS:
            return self._utterance(segment, words, transcript, texts)
        stable_flags = [s if self.stabilize else None for _, s in words]
        confidences = [w.confidence if final else None for w in plain]
        if self.operation is Operation.MEDICAL:
            items_m = [
                MedicalItem(
                    start_time=w.start,
                    end_time=w.end,
                    content=t,
                    confidence=c,
                    speaker="0" if self.speakers else None,
                )
                for w, t, c in zip(plain, texts, confidences, strict=True)
            ]
            if final and plain:
                items_m.append(
                    MedicalItem(
                        start_time=plain[-1].end,
                        end_time=plain[-1].end,
                        type="punctuation",
                        content=".",
                    )
                )
            result_m = MedicalResult(
                result_id=segment.segment_id,
                start_time=round(segment.start, 3),
                end_time=round(segment.end, 3),
                is_partial=not final,
                alternatives=(MedicalAlternative(transcript=transcript, items=tuple(items_m)),),
                channel_id=f"ch_{segment.channel}" if self.channel_ids else None,
            )
            return MedicalTranscriptEvent(transcript=MedicalTranscript(results=(result_m,)))
        items = [
            Item(
                start_time=w.start,
                end_time=w.end,
                content=t,
                confidence=c,
                stable=s,
                speaker="0" if self.speakers else None,
            )
            for w, t, c, s in zip(plain, texts, confidences, stable_flags, strict=True)
        ]
        if final and plain:
            items.append(
                Item(
                    start_time=plain[-1].end,
                    end_time=plain[-1].end,
                    type="punctuation",
                    content=".",
                    stable=True if self.stabilize else None,
                )
            )
        identified = "identify_language" in self.params.values or "identify_multiple_languages" in self.params.values
        result = Result(
            result_id=segment.segment_id,
            start_time=round(segment.start, 3),
            end_time=round(segment.end, 3),
            is_partial=not final,
            alternatives=(Alternative(transcript=transcript, items=tuple(items)),),
            channel_id=f"ch_{segment.channel}" if self.channel_ids else None,
            language_code=self.language if identified and final else None,
            language_identification=self._scores() if identified and final else (),
        )
        return TranscriptEvent(transcript=Transcript(results=(result,)))

    def _scores(self) -> tuple[LanguageWithScore, ...]:
        options: tuple[str, ...] = self.params.get("language_options", ())  # type: ignore[assignment]
        return tuple(
            LanguageWithScore(
                language_code=code,
                score=0.9 if code == self.language else round(0.1 / max(len(options) - 1, 1), 3),
            )
            for code in options
        )

    def _utterance(
        self, segment: Segment, words: list[tuple[Word, bool]], transcript: str, texts: list[str]
    ) -> UtteranceEvent:
        final = not segment.is_partial
        items = [
            CallAnalyticsItem(
                begin_offset_millis=round(w.start * 1000),
                end_offset_millis=round(w.end * 1000),
                content=t,
                confidence=w.confidence if final else None,
                stable=s if self.stabilize else None,
            )
            for (w, s), t in zip(words, texts, strict=True)
        ]
        if final and words:
            end = round(words[-1][0].end * 1000)
            items.append(
                CallAnalyticsItem(begin_offset_millis=end, end_offset_millis=end, type="punctuation", content=".")
            )
        return UtteranceEvent(
            utterance_id=segment.segment_id,
            is_partial=not final,
            participant_role=self.channel_roles.get(segment.channel, "AGENT"),
            begin_offset_millis=round(segment.start * 1000),
            end_offset_millis=round(segment.end * 1000),
            transcript=transcript,
            items=tuple(items),
            sentiment="NEUTRAL" if final else None,
            language_code=self.language if final else None,
        )
