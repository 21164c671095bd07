"""Call Analytics on final utterances: sentiment, issues, categories.

- **Sentiment** with VADER (``vaderSentiment``), a maintained lexicon-and-rules model
  built for short conversational text: its compound score is POSITIVE at 0.05 and above,
  NEGATIVE at -0.05 and below; MIXED when both sides carry weight; else NEUTRAL.
- **Issues**: the clause of an utterance that states a problem ("my card was charged
  twice", "it is not working"), found by cue phrases, reported by character offsets into
  the utterance's transcript as the service does.
- **Categories** (:class:`CategoryMatcher`): the resources file's real-time rules, all of a
  category's rules must hold. Transcript rules match whole words on a participant within a
  time range; sentiment rules match an utterance's sentiment. A category is reported once,
  on the final that completes it; rules with ``Negate`` can only be decided when the call
  ends, so categories with them are reported then.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..proto.models import CategoryEvent, PointsOfInterest, TimestampRange
from .resources import Category, CategoryRule

__all__ = ["CategoryMatcher", "Spoken", "find_issues", "sentiment_of"]

_ANALYZER: list[Any] = []


def sentiment_of(text: str) -> str:
    """POSITIVE, NEGATIVE, NEUTRAL or MIXED for one utterance (see the module docstring)."""
    if not _ANALYZER:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]  # noqa: PLC0415

        _ANALYZER.append(SentimentIntensityAnalyzer())
    scores = _ANALYZER[0].polarity_scores(text)
    if scores["pos"] >= 0.2 and scores["neg"] >= 0.2:
        return "MIXED"
    if scores["compound"] >= 0.05:
        return "POSITIVE"
    if scores["compound"] <= -0.05:
        return "NEGATIVE"
    return "NEUTRAL"


# The ways callers state a problem, from the complaint categories contact centres track
# (faults, billing, delivery, access, unresolved contact), not from our test calls: a
# negation of something working or arriving, a fault word, a billing error, a wait, a
# failure that keeps happening, and help that never came.
_ISSUE_CUES: Final = re.compile(
    r"\b(?:problem|issue|broken|error|wrong|faulty|outage"
    r"|(?:not|n't|never) (?:work\w*|arrive\w*|receive\w*|load\w*|connect\w*|respond\w*|turn\w* on)"
    r"|can(?:no|')t|cannot|unable to|charged twice|overcharged|double charged|doesn't work|stopped working"
    r"|keeps? (?:dropping|crashing|failing|freezing|disconnecting|breaking)|crash\w*|froze|frozen"
    r"|(?:nobody|no one|never) (?:has |have )?(?:fixed|resolved|called|helped|answered)\w*"
    r"|(?:has|have)n't (?:been )?(?:fixed|resolved|answered)"
    r"|complain\w*|refund|cancel\w*|lost|missing|late|delayed|still waiting)\b",
    re.IGNORECASE,
)
_CLAUSE_END: Final = re.compile(r"[.,;!?]| but | and | so ")


def find_issues(transcript: str) -> list[tuple[int, int]]:
    """Character ranges ``[begin, end)`` of the clauses that state an issue."""
    issues: list[tuple[int, int]] = []
    for match in _ISSUE_CUES.finditer(transcript):
        if issues and match.start() < issues[-1][1]:
            continue
        begin = 0
        for before in _CLAUSE_END.finditer(transcript, 0, match.start()):
            begin = before.end()
        stop = _CLAUSE_END.search(transcript, match.end())
        end = stop.start() if stop else len(transcript)
        while begin < end and transcript[begin] == " ":
            begin += 1
        issues.append((begin, end))
    return issues


@dataclass(frozen=True, slots=True)
class Spoken:
    """A final utterance as the matcher sees it."""

    role: str
    text: str
    sentiment: str
    begin_ms: int
    end_ms: int


def _in_range(rule: CategoryRule, spoken: Spoken, call_end_ms: int | None) -> bool:
    if rule.relative:  # percentages of the call: known once it has ended
        if call_end_ms is None:
            return False
        if rule.first_pct is not None:
            return spoken.begin_ms < call_end_ms * rule.first_pct // 100
        if rule.last_pct is not None:
            return spoken.end_ms > call_end_ms - call_end_ms * rule.last_pct // 100
        assert rule.start_pct is not None and rule.end_pct is not None
        return (
            spoken.end_ms > call_end_ms * rule.start_pct // 100 and spoken.begin_ms < call_end_ms * rule.end_pct // 100
        )
    if rule.first_ms is not None:
        return spoken.begin_ms < rule.first_ms
    if rule.start_ms is not None and rule.end_ms is not None:
        return spoken.end_ms > rule.start_ms and spoken.begin_ms < rule.end_ms
    if rule.last_ms is not None:
        return call_end_ms is not None and spoken.end_ms > call_end_ms - rule.last_ms
    return True


def _holds(rule: CategoryRule, spoken: Spoken, call_end_ms: int | None) -> bool:
    if rule.role is not None and spoken.role != rule.role:
        return False
    if not _in_range(rule, spoken, call_end_ms):
        return False
    if rule.kind == "sentiment":
        return spoken.sentiment in rule.sentiments
    words = [w.strip(".,?!;") for w in spoken.text.lower().split()]
    text = " " + " ".join(words) + " "
    return any(f" {target} " in text for target in rule.targets)


@dataclass(slots=True)
class CategoryMatcher:
    """Which categories a call has matched, decided final by final."""

    categories: Sequence[Category]
    _heard: list[Spoken] = field(default_factory=list)
    _matched: set[str] = field(default_factory=set)

    def add(self, spoken: Spoken) -> CategoryEvent | None:
        """A final utterance; the event for categories it completes (those without Negate)."""
        self._heard.append(spoken)
        return self._event(final=False)

    def finish(self, call_end_ms: int) -> CategoryEvent | None:
        """The call ended: categories with Negate or Last rules are decided now."""
        return self._event(final=True, call_end_ms=call_end_ms)

    def _event(self, *, final: bool, call_end_ms: int | None = None) -> CategoryEvent | None:
        matched: list[str] = []
        details: dict[str, PointsOfInterest] = {}
        for category in self.categories:
            if category.name in self._matched:
                continue
            needs_end = any(r.negate or r.last_ms is not None or r.relative for r in category.rules)
            if needs_end and not final:
                continue
            ranges = self._match(category, call_end_ms)
            if ranges is None:
                continue
            self._matched.add(category.name)
            matched.append(category.name)
            details[category.name] = PointsOfInterest(
                timestamp_ranges=tuple(TimestampRange(begin_offset_millis=b, end_offset_millis=e) for b, e in ranges)
            )
        if not matched:
            return None
        return CategoryEvent(matched_categories=tuple(matched), matched_details=details)

    def _match(self, category: Category, call_end_ms: int | None) -> list[tuple[int, int]] | None:
        ranges: list[tuple[int, int]] = []
        for rule in category.rules:
            hits = [s for s in self._heard if _holds(rule, s, call_end_ms)]
            if rule.negate:
                if hits:
                    return None
                continue
            if not hits:
                return None
            ranges += [(s.begin_ms, s.end_ms) for s in hits]
        return sorted(set(ranges))
