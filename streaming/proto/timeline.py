"""The result timeline, pure: a resumed connection's results moved onto the stream's time, repeats dropped.

A new connection's clock starts at zero, at the media time its audio starts (its
``origin``): every time in its results moves by that much. Results that end before the
``resume_point`` (the last final delivered before the old connection was lost) were
delivered already and are dropped. An event that needs neither is returned as it came,
the same object: on an unbroken stream nothing is rebuilt.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import msgspec

from .messages import SHAPES, ResultEvent, UnknownEvent
from .models import CategoryEvent, MedicalResult, MedicalTranscriptEvent, Result, TranscriptEvent, UtteranceEvent

__all__ = ["Timeline", "shift_category", "shift_result", "shift_utterance"]

RESUME_SLACK: Final = 0.05  # seconds: a resumed decoder may place a word this much early

_E = TypeVar("_E", TranscriptEvent, MedicalTranscriptEvent)
_R = TypeVar("_R", Result, MedicalResult)


class Timeline:
    """Where the current connection's results sit on the stream's timeline."""

    def __init__(self) -> None:
        self.origin = 0.0  # media time at which the current connection's audio starts
        self.resume_point = 0.0  # results starting before this were delivered already

    def resume(self, origin: float, resume_point: float) -> None:
        """A new connection replays audio from ``origin``; finals up to ``resume_point`` are in."""
        self.origin = origin
        self.resume_point = resume_point

    def place(self, event: ResultEvent | UnknownEvent) -> tuple[ResultEvent | UnknownEvent | None, list[float]]:
        """The event on the stream's timeline (None: all of it was delivered already), and
        the end times of the final results in it."""
        shape = SHAPES.get(type(event))  # how the registry (messages.EVENT_KINDS) says it is placed
        if shape == "transcript":
            if isinstance(event, MedicalTranscriptEvent):
                return self._place_transcript(event)
            assert isinstance(event, TranscriptEvent)
            return self._place_transcript(event)
        if shape == "utterance":
            assert isinstance(event, UtteranceEvent)
            utterance = shift_utterance(event, self.origin)
            if utterance.begin_offset_millis / 1000 < self.resume_point - RESUME_SLACK:
                return None, []
            return utterance, [] if utterance.is_partial else [utterance.end_offset_millis / 1000]
        if shape == "category":
            assert isinstance(event, CategoryEvent)
            return shift_category(event, self.origin), []
        return event, []  # an event type this client does not know: kept, not dropped

    def _place_transcript(self, event: _E) -> tuple[_E | None, list[float]]:
        results = event.transcript.results
        if self.origin:
            results = tuple(shift_result(result, self.origin) for result in results)
        floor = self.resume_point - RESUME_SLACK
        if any(r.start_time < floor and r.alternatives for r in results):
            results = tuple(r for r in results if r.start_time >= floor or not r.alternatives)
        if not results:
            return None, []  # nothing to show (the service sends empty events in silence)
        finals = [r.end_time for r in results if not r.is_partial]
        if results is event.transcript.results:
            return event, finals
        transcript = msgspec.structs.replace(event.transcript, results=results)
        placed: _E = msgspec.structs.replace(event, transcript=transcript)
        return placed, finals


def _at(seconds: float, offset: float) -> float:
    return round(seconds + offset, 3)


def shift_result(result: _R, offset: float) -> _R:
    """``result`` with every time moved ``offset`` seconds later."""
    if not offset:
        return result
    alternatives = tuple(
        msgspec.structs.replace(
            alt,
            items=tuple(
                msgspec.structs.replace(i, start_time=_at(i.start_time, offset), end_time=_at(i.end_time, offset))
                for i in alt.items
            ),
            entities=tuple(
                msgspec.structs.replace(e, start_time=_at(e.start_time, offset), end_time=_at(e.end_time, offset))
                for e in alt.entities
            ),
        )
        for alt in result.alternatives
    )
    return msgspec.structs.replace(
        result,
        start_time=_at(result.start_time, offset),
        end_time=_at(result.end_time, offset),
        alternatives=alternatives,
    )


def _shift_millis(value: Any, ms: int) -> Any:
    return msgspec.structs.replace(
        value, begin_offset_millis=value.begin_offset_millis + ms, end_offset_millis=value.end_offset_millis + ms
    )


def shift_utterance(event: UtteranceEvent, offset: float) -> UtteranceEvent:
    """``event`` with every offset moved ``offset`` seconds later."""
    if not offset:
        return event
    ms = round(offset * 1000)
    shifted: UtteranceEvent = _shift_millis(event, ms)
    return msgspec.structs.replace(
        shifted,
        items=tuple(_shift_millis(i, ms) for i in event.items),
        entities=tuple(_shift_millis(e, ms) for e in event.entities),
    )


def shift_category(event: CategoryEvent, offset: float) -> CategoryEvent:
    """``event`` with every matched time range moved ``offset`` seconds later."""
    if not offset:
        return event
    ms = round(offset * 1000)
    details = {
        name: msgspec.structs.replace(poi, timestamp_ranges=tuple(_shift_millis(r, ms) for r in poi.timestamp_ranges))
        for name, poi in event.matched_details.items()
    }
    return msgspec.structs.replace(event, matched_details=details)
