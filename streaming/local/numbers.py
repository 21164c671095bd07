"""Spoken numbers written as the service writes them (English), pure.

The guide's "Transcribing numbers" pages give the rules and their examples;
``tests/streaming/local/test_text.py`` holds each example as a row. ``text2num``'s ``alpha2digit``
(a maintained grammar of English numbers) turns number words into digits; the rules here
only join and shape its output:

- cardinals above ten as digits ("fifty five" -> 55), ten and below as words unless they
  are part of something written ("three tickets", but "3.5", "5 mg", "$3");
- digits said one by one join ("four two five ..." -> 4255551212), years said in pairs join
  ("nineteen sixty two" -> 1962);
- thousands separators from five digits up (123,456,789; 1031 and years stay as they are);
  "million" and "billion" stay words when nothing follows ("100 million", "2.3 million");
- decimals said with "point" or "dot" (3.23, 303.5, 0.3); fractions (1/2, 1/4, 3/16, 1/100);
- ordinals in dates ("June 1st", "May 5th 2012"); "percent" (25%); money ($20, $3.50; for
  standard streams "pounds" is £, for medical ones it is lbs); "milligrams" (5 mg);
- times (8:30 a.m.); ranges keep their "to" ("23 to 37").

When several spoken words become one item, the item runs from the first word's start to the
last word's end, and its confidence is the lowest of theirs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from .text import MONTHS, Token, merge_tokens

__all__ = ["normalize_numbers"]

_DIGITS: Final = re.compile(r"\d+")
_SINGLE: Final = re.compile(r"\d")
_SMALL: Final = re.compile(r"\d|10")  # written as words when said alone
_NUMBER: Final = re.compile(r"\d+(\.\d+)?")
_ORDINAL_WORDS: Final = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10,
}  # fmt: skip
_FRACTIONS: Final = {"half": 2, "halves": 2, "quarter": 4, "quarters": 4}
_SCALES: Final = {"million": 1_000_000, "billion": 1_000_000_000}
_SCALE_NAMES: Final = {value: name for name, value in _SCALES.items()}


def _alpha2digit(text: str) -> str:
    from text_to_num import alpha2digit  # type: ignore[import-untyped]  # noqa: PLC0415 - the local extra

    return str(alpha2digit(text, "en"))


def normalize_numbers(
    tokens: list[Token], convert: Callable[[str], str] = _alpha2digit, *, medical: bool = False
) -> list[Token]:
    """Spoken numbers written as the service writes them (see the module docstring)."""
    words = [t.content for t in tokens]
    if not words:
        return tokens
    converted = convert(" ".join(words)).split()
    out: list[Token] = []
    matcher = difflib.SequenceMatcher(None, words, converted, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        source, target = tokens[i1:i2], converted[j1:j2]
        if op == "equal":
            out += source
        elif not target:
            continue  # words the library dropped inside a number ("and")
        elif not source:
            out += [replace(out[-1] if out else tokens[0], content=t) for t in target]
        elif len(target) == 1:
            said = " ".join(s.content for s in source)
            out.append(replace(merge_tokens(source, target[0]), said=said))
        elif len(target) == len(source):
            out += [replace(s, content=t, said=s.content) for s, t in zip(source, target, strict=True)]
        else:  # several numbers from several words: share the words out in order
            step = len(source) / len(target)
            for k, t in enumerate(target):
                part = source[round(k * step) : max(round((k + 1) * step), round(k * step) + 1)]
                out.append(replace(merge_tokens(part, t), said=" ".join(p.content for p in part)))
    written = _written_forms(out, medical=medical)
    # Ten and below, said alone, stay words ("3 tickets" is written "three tickets").
    return [
        replace(t, content=t.said, said="") if t.said and " " not in t.said and _SMALL.fullmatch(t.content) else t
        for t in written
    ]


def _value(token: Token | None) -> str | None:
    return token.content if token is not None and _NUMBER.fullmatch(token.content) else None


def _written_forms(tokens: list[Token], *, medical: bool) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        taken, token = _one_form(tokens, i, medical=medical)
        out.append(token)
        i += taken
    return [_grouped(t) for t in out]


def _one_form(tokens: list[Token], i: int, *, medical: bool) -> tuple[int, Token]:
    """How many tokens from ``i`` make one written item, and that item."""
    at = tokens[i : i + 4]
    word = [t.content for t in at] + [""] * (4 - len(at))
    value, nxt = _value(at[0]), _value(at[1]) if len(at) > 1 else None
    # digits said one by one: a phone, card or account number
    run = i
    while run < len(tokens) and _SINGLE.fullmatch(tokens[run].content):
        run += 1
    if run - i >= 2:
        return run - i, merge_tokens(tokens[i:run], "".join(t.content for t in tokens[i:run]))
    # a year in two halves: 19 62 -> 1962
    if value and nxt and re.fullmatch(r"1\d|20|21", value) and re.fullmatch(r"\d\d", nxt) and int(nxt) >= 10:
        return 2, merge_tokens(at[:2], value + nxt)
    # decimals: 3 point 23, 303 dot 5, point 3
    if value and word[1] in ("point", "dot") and _DIGITS.fullmatch(word[2]):
        return 3, merge_tokens(at[:3], f"{value}.{word[2]}")
    if word[0] == "point" and _DIGITS.fullmatch(word[1]) and (i == 0 or _value(tokens[i - 1]) is None):
        return 2, merge_tokens(at[:2], f"0.{word[1]}")
    # "a 100" (from "a hundred") is one hundred; fractions: a half, a quarter, 3 16ths, a 100th
    if word[0] in ("a", "one") and word[1] in _FRACTIONS:
        return 2, merge_tokens(at[:2], f"1/{_FRACTIONS[word[1]]}")
    if value and word[1] in _FRACTIONS:
        return 2, merge_tokens(at[:2], f"{value}/{_FRACTIONS[word[1]]}")
    if word[0] == "a" and nxt and int(float(nxt)) in _SCALE_NAMES:
        scale = _SCALE_NAMES[int(float(nxt))]
        return 2, merge_tokens(at[:2], f"1 {scale}")
    if word[0] == "a" and nxt and int(float(nxt)) >= 100:
        return 2, merge_tokens(at[:2], nxt)
    denominator = re.fullmatch(r"(\d+)(?:th|ths|rd|rds)", word[1])
    if denominator and (value or word[0] == "a") and int(denominator[1]) >= 3 and (word[1].endswith("s") or not value):
        return 2, merge_tokens(at[:2], f"{value or 1}/{denominator[1]}")
    # a million, 2.3 million: the scale stays a word when nothing follows
    if value and at[0].said.split()[-1:] and at[0].said.split()[-1] in _SCALES and "." not in value:
        scale = at[0].said.split()[-1]
        return 1, replace(at[0], content=f"{int(value) // _SCALES[scale]:,} {scale}")
    if value and nxt and "." in value and int(float(nxt)) in _SCALE_NAMES:
        scale = _SCALE_NAMES[int(float(nxt))]
        return 2, merge_tokens(at[:2], f"{value} {scale}")
    # dates: a month's day is written as an ordinal number ("June first" -> June 1st)
    if i > 0 and tokens[i - 1].content in MONTHS and word[0] in _ORDINAL_WORDS:
        return 1, replace(at[0], content=_ordinal(_ORDINAL_WORDS[word[0]]))
    if value and word[1] == "percent":
        return 2, merge_tokens(at[:2], f"{value}%")
    if value and word[1] in ("dollars", "dollar", "bucks", "usd"):
        cents = re.fullmatch(r"\d{1,2}", word[3]) and word[2] == "and" and len(at) == 4
        if cents and i + 4 < len(tokens) and tokens[i + 4].content in ("cents", "cent"):
            return 5, merge_tokens(tokens[i : i + 5], f"${value}.{int(word[3]):02d}")
        return 2, merge_tokens(at[:2], f"${value}")
    if value and word[1] in ("pounds", "pound"):
        return 2, merge_tokens(at[:2], f"{value} lbs" if medical else f"£{value}")
    if value and word[1] in ("rupees", "rupee", "inr"):
        return 2, merge_tokens(at[:2], f"₹{value}")
    if value and word[1] in ("milligrams", "milligram"):
        return 2, merge_tokens(at[:2], f"{value} mg")
    # times: 8 30 a m, 3 30 pm -> 8:30 a.m., 3:30 p.m.
    if value and re.fullmatch(r"1[0-2]|[1-9]", value) and nxt and re.fullmatch(r"[0-5]\d", nxt):
        if word[2] in ("am", "pm"):
            return 3, merge_tokens(at[:3], f"{value}:{nxt} {word[2][0]}.m.")
        if word[2] in ("a", "p") and word[3] == "m":
            return 4, merge_tokens(at[:4], f"{value}:{nxt} {word[2]}.m.")
    return 1, at[0]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _grouped(token: Token) -> Token:
    """Thousands separators from five digits up (not for digits said one by one)."""
    if _DIGITS.fullmatch(token.content) and len(token.content) >= 5 and " " in token.said:
        return replace(token, content=f"{int(token.content):,}")
    return token
