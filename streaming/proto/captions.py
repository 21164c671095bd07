"""Captions from a stream of results: live lines for display, cues for SRT and WebVTT.

Two views of the same results:

* :class:`LiveCaptions` keeps, per result id, the latest line: a partial replaces the
  previous version of its line, a final replaces the partial and settles. Each line keeps
  its stable words (fixed under partial-results stabilization) apart from the unstable
  tail, so a display can dim what may still change.
* :func:`build_cues` turns final results into caption cues, broken by length (at most
  ``max_lines`` lines of ``max_chars`` characters) and duration (at most ``max_duration``
  seconds), at word boundaries with the words' own times; :func:`to_srt` and
  :func:`to_webvtt` write them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError
from .messages import SHAPES

__all__ = [
    "WEBVTT_HEADER",
    "CaptionLine",
    "Cue",
    "LiveCaptions",
    "build_cues",
    "srt_block",
    "to_srt",
    "to_webvtt",
    "vtt_block",
    "wrap",
]


@dataclass(frozen=True, slots=True)
class CaptionLine:
    """The latest state of one segment of speech."""

    result_id: str
    start: float
    end: float
    stable: str  # words that will not change
    unstable: str  # words that may still change (empty once final)
    is_final: bool
    channel: str | None = None  # ch_0 / ch_1, or the participant role (AGENT, CUSTOMER)
    speaker: str | None = None  # the speaker label of its words, when they share one

    @property
    def text(self) -> str:
        return f"{self.stable} {self.unstable}".strip()

    @property
    def who(self) -> str | None:
        """Who spoke, as captions show it: ``AGENT``, ``ch_0``, ``spk_1``, ``ch_0 spk_1``."""
        return " ".join(part for part in (self.channel, self.speaker) if part) or None


@dataclass(frozen=True, slots=True)
class Cue:
    """One caption on screen: a time span and up to ``max_lines`` lines of text."""

    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None = None  # who spoke (see CaptionLine.who)


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    start: float
    end: float


def _words_of(items: Iterable[Any]) -> list[_Word]:
    """Pronunciations with punctuation attached to the word before it."""
    words: list[_Word] = []
    for item in items:
        content = item.content
        if item.type == "punctuation" and words:
            last = words[-1]
            words[-1] = _Word(last.text + content, last.start, last.end)
        elif content:
            start = getattr(item, "start_time", None)
            if start is None:  # Call Analytics offsets are in milliseconds
                words.append(_Word(content, item.begin_offset_millis / 1000, item.end_offset_millis / 1000))
            else:
                words.append(_Word(content, item.start_time, item.end_time))
    return words


def _lines_of(event: Any) -> list[tuple[CaptionLine, list[_Word]]]:
    out = []
    shape = SHAPES.get(type(event))  # as the registry (messages.EVENT_KINDS) says
    if shape == "transcript":
        for result in event.transcript.results:
            if not result.alternatives:
                continue
            items = result.alternatives[0].items
            line = _line(
                result.result_id,
                result.start_time,
                result.end_time,
                items,
                not result.is_partial,
                result.channel_id,
                result.alternatives[0].transcript,
            )
            out.append((line, _words_of(items)))
    elif shape == "utterance":
        line = _line(
            event.utterance_id,
            event.begin_offset_millis / 1000,
            event.end_offset_millis / 1000,
            event.items,
            not event.is_partial,
            event.participant_role,
            event.transcript,
        )
        out.append((line, _words_of(event.items)))
    return out


def _speaker_of(items: Sequence[Any]) -> str | None:
    labels = {getattr(i, "speaker", None) for i in items if getattr(i, "type", "") != "punctuation"}
    labels.discard(None)
    return f"spk_{next(iter(labels))}" if len(labels) == 1 else None


def _line(
    result_id: str, start: float, end: float, items: Sequence[Any], final: bool, channel: str | None, transcript: str
) -> CaptionLine:
    speaker = _speaker_of(items)
    if final:
        return CaptionLine(result_id, start, end, transcript, "", True, channel, speaker)
    stable = [i for i in items if getattr(i, "stable", None)]
    if not stable:
        return CaptionLine(result_id, start, end, "", transcript, False, channel, speaker)
    texts = [w.text for w in _words_of(items)]
    n = len(_words_of(stable))
    return CaptionLine(result_id, start, end, " ".join(texts[:n]), " ".join(texts[n:]), False, channel, speaker)


class LiveCaptions:
    """The current caption lines of a stream, updated event by event."""

    def __init__(self) -> None:
        self._lines: dict[str, CaptionLine] = {}
        self._words: dict[str, list[_Word]] = {}
        self.finals: list[CaptionLine] = []

    def update(self, event: Any) -> list[CaptionLine]:
        """Apply one event; return the lines it changed (partials replace, finals settle)."""
        changed = []
        for line, words in _lines_of(event):
            if line.result_id in self._lines and self._lines[line.result_id].is_final:
                continue  # a final settles its line for good
            self._lines[line.result_id] = line
            if line.is_final:
                self._words[line.result_id] = words
                self.finals.append(line)
            changed.append(line)
        return changed

    @property
    def pending(self) -> list[CaptionLine]:
        """Lines still partial, oldest first."""
        return [line for line in self._lines.values() if not line.is_final]

    def cues(self, **kwargs: Any) -> list[Cue]:
        """Cues built from the final lines so far, one speaker per cue (see :func:`build_cues`)."""
        return [cue for line in self.finals for cue in self.cues_of(line, **kwargs)]

    def cues_of(self, line: CaptionLine, **kwargs: Any) -> list[Cue]:
        """The cues of one final line, as soon as it is final (for captions written live)."""
        return build_cues(self._words.get(line.result_id, []), speaker=line.who, **kwargs)


def wrap(words: Sequence[str], max_chars: int) -> list[str]:
    """Greedy word wrap; a single word longer than ``max_chars`` gets a line of its own."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def build_cues(
    words: Sequence[Any],
    *,
    max_chars: int = 42,
    max_lines: int = 2,
    max_duration: float = 6.0,
    min_duration: float = 1.0,
    speaker: str | None = None,
) -> list[Cue]:
    """Group timed words into cues by length and duration, breaking after sentence ends.

    ``words`` have ``text``, ``start`` and ``end`` (seconds). A cue is extended to at least
    ``min_duration`` when the next one leaves room, so short cues stay readable.
    """
    if max_chars < 10 or max_lines < 1 or max_duration <= 0:
        raise ParameterError("max_chars", "cues need max_chars >= 10, max_lines >= 1 and max_duration > 0 seconds")
    groups: list[list[Any]] = []
    current: list[Any] = []
    for word in words:
        candidate = [*current, word]
        too_long = len(wrap([w.text for w in candidate], max_chars)) > max_lines
        too_slow = current and word.end - current[0].start > max_duration
        if current and (too_long or too_slow):
            groups.append(current)
            candidate = [word]
        current = candidate
        if word.text.endswith((".", "?", "!")) and len(" ".join(w.text for w in current)) >= max_chars // 2:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    cues = []
    for i, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        if end - start < min_duration:
            limit = groups[i + 1][0].start if i + 1 < len(groups) else start + min_duration
            end = max(end, min(start + min_duration, limit))
        cues.append(Cue(start, end, tuple(wrap([w.text for w in group], max_chars)), speaker))
    return cues


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(round(seconds * 1000), 0)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt_block(number: int, cue: Cue) -> str:
    """One SubRip cue: its number, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, its lines (the first
    prefixed with who spoke), and the blank line that ends it."""
    lines = list(cue.lines)
    if cue.speaker and lines:
        lines[0] = f"{cue.speaker}: {lines[0]}"
    return f"{number}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n" + "\n".join(lines) + "\n\n"


def vtt_block(cue: Cue) -> str:
    """One WebVTT cue; who spoke is a voice tag (``<v AGENT>``), as players style it."""
    lines = [_vtt_escape(line) for line in cue.lines]
    if cue.speaker and lines:
        lines[0] = f"<v {_vtt_escape(cue.speaker)}>{lines[0]}"
    return f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n" + "\n".join(lines) + "\n\n"


WEBVTT_HEADER = "WEBVTT\n\n"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""
    return "".join(srt_block(n, c) for n, c in enumerate(cues, 1))


def to_webvtt(cues: Iterable[Cue]) -> str:
    """WebVTT: a ``WEBVTT`` header, then ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues."""
    return WEBVTT_HEADER + "".join(vtt_block(c) for c in cues)
