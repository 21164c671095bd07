"""Caption building: live lines, cues by length and duration, SRT and WebVTT."""

from __future__ import annotations

import pytest

from streaming.proto.captions import Cue, LiveCaptions, build_cues, to_srt, to_webvtt, wrap
from streaming.proto.models import Alternative, Item, Result, Transcript, TranscriptEvent


class W:
    def __init__(self, text: str, start: float, end: float) -> None:
        self.text, self.start, self.end = text, start, end


def event(
    result_id: str, words: list[tuple[str, float, float, bool | None]], *, partial: bool, punct: bool = False
) -> TranscriptEvent:
    items = [Item(start_time=s, end_time=e, content=t, stable=st) for t, s, e, st in words]
    if punct:
        items.append(Item(start_time=words[-1][2], end_time=words[-1][2], type="punctuation", content="."))
    text = " ".join(w[0] for w in words) + ("." if punct else "")
    result = Result(
        result_id=result_id,
        start_time=words[0][1],
        end_time=words[-1][2],
        is_partial=partial,
        alternatives=(Alternative(transcript=text, items=tuple(items)),),
    )
    return TranscriptEvent(transcript=Transcript(results=(result,)))


def test_wrap() -> None:
    assert wrap(["the", "quick", "brown", "fox", "jumps"], 10) == ["the quick", "brown fox", "jumps"]
    assert wrap(["supercalifragilistic", "a"], 10) == ["supercalifragilistic", "a"]


def test_cues_break_by_length_and_keep_word_times() -> None:
    words = [W(f"word{i:02d}", i * 0.5, i * 0.5 + 0.4) for i in range(12)]  # 6 chars each
    cues = build_cues(words, max_chars=20, max_lines=2, max_duration=100)
    assert [c.lines for c in cues] == [
        ("word00 word01 word02", "word03 word04 word05"),
        ("word06 word07 word08", "word09 word10 word11"),
    ]
    assert (cues[0].start, cues[0].end) == (0.0, 2.9)
    assert (cues[1].start, cues[1].end) == (3.0, 5.9)


def test_cues_break_by_duration_and_after_sentences() -> None:
    slow = [W("a", i * 2.0, i * 2.0 + 1.0) for i in range(6)]
    assert [len(c.lines[0].split()) for c in build_cues(slow, max_duration=5.0)] == [3, 3]
    sentence = [
        W("Hello", 0, 0.5),
        W("there,", 0.5, 1.0),
        W("how", 1.0, 1.2),
        W("are", 1.2, 1.4),
        W("you", 1.4, 1.6),
        W("today?", 1.6, 2.0),
        W("Fine", 3.0, 3.5),
        W("thanks.", 3.5, 4.0),
    ]
    cues = build_cues(sentence, max_chars=42)
    assert [" ".join(c.lines) for c in cues] == ["Hello there, how are you today?", "Fine thanks."]


def test_short_cues_are_held_for_the_minimum_duration_without_overlap() -> None:
    words = [W("Yes.", 0.0, 0.3), W("Absolutely", 0.5, 1.0), W("not.", 1.0, 1.2)]
    cues = build_cues(words, max_chars=10, max_lines=1, min_duration=1.0)
    # Each is held up to the next one's start, the last for the full second.
    assert [(c.start, c.end) for c in cues] == [(0.0, 0.5), (0.5, 1.0), (1.0, 2.0)]
    assert [c.lines for c in cues] == [("Yes.",), ("Absolutely",), ("not.",)]


def test_srt_and_webvtt_formats() -> None:
    cues = [Cue(0.0, 1.5, ("Hello there.",)), Cue(3661.25, 3662.0, ("Line one", "line two"))]
    # Every cue ends with its blank line, so a file written cue by cue is valid at any point.
    assert to_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n01:01:01,250 --> 01:01:02,000\nLine one\nline two\n\n"
    )
    assert to_webvtt(cues) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n01:01:01.250 --> 01:01:02.000\nLine one\nline two\n\n"
    )


def test_cues_say_who_spoke() -> None:
    cues = [Cue(0.0, 1.5, ("Hello <there> & you.", "Second line"), "AGENT"), Cue(2.0, 3.0, ("Hi.",), "ch_1 spk_0")]
    assert to_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\nAGENT: Hello <there> & you.\nSecond line\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\nch_1 spk_0: Hi.\n\n"
    )
    assert to_webvtt(cues) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n<v AGENT>Hello &lt;there&gt; &amp; you.\nSecond line\n\n"
        "00:00:02.000 --> 00:00:03.000\n<v ch_1 spk_0>Hi.\n\n"
    )


def test_live_lines_replace_partials_and_settle_finals() -> None:
    live = LiveCaptions()
    [first] = live.update(event("r1", [("the", 0.1, 0.3, True), ("quick", 0.3, 0.6, False)], partial=True))
    assert (first.stable, first.unstable, first.is_final) == ("the", "quick", False)
    [second] = live.update(
        event("r1", [("the", 0.1, 0.3, True), ("quick", 0.3, 0.6, True), ("brown", 0.6, 0.9, False)], partial=True)
    )
    assert (second.stable, second.unstable) == ("the quick", "brown")
    assert [line.text for line in live.pending] == ["the quick brown"]
    [final] = live.update(
        event(
            "r1",
            [("The", 0.1, 0.3, True), ("quick", 0.3, 0.6, True), ("brown", 0.6, 0.9, True)],
            partial=False,
            punct=True,
        )
    )
    assert (final.text, final.is_final, final.unstable) == ("The quick brown.", True, "")
    assert live.pending == []
    # A late partial for a settled line changes nothing.
    assert live.update(event("r1", [("nope", 0.0, 0.1, None)], partial=True)) == []
    [cue] = live.cues()
    assert cue.lines == ("The quick brown.",)
    assert cue.start == 0.1


def test_invalid_cue_settings() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        build_cues([], max_chars=5)
