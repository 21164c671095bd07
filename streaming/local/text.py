"""Recognised words -> the items and transcript the service writes (English).

Pure functions over timed words, in the order the service applies them:

1. **Numbers** (the guide's "Transcribing numbers"): :mod:`.numbers`.
2. **Custom vocabulary**: a phrase's words become one item showing its ``DisplayAs``.
3. **Capitals and punctuation** on complete segments: the first word and "I" capitalised,
   a closing period.
4. **PII / PHI** (:func:`find_entities`): spans found by context and shape, redacted to
   ``[PII]`` on request.
5. **Vocabulary filters**: ``mask`` (``***``), ``remove`` or ``tag`` (VocabularyFilterMatch).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from .recognizer import Word
from .resources import VocabularyPhrase

__all__ = [
    "Entity",
    "Token",
    "apply_filter",
    "apply_vocabulary",
    "find_entities",
    "finish_sentence",
    "MONTHS",
    "PROPER",
    "merge_tokens",
    "redact",
    "tokens_of",
    "transcript_of",
]


@dataclass(frozen=True, slots=True)
class Token:
    """One item: a word (or several spoken words written as one) or a punctuation mark."""

    content: str
    start: float
    end: float
    confidence: float
    type: str = "pronunciation"
    filter_match: bool = False
    said: str = ""  # the spoken word a one-word number came from

    @property
    def is_word(self) -> bool:
        return self.type == "pronunciation"


@dataclass(frozen=True, slots=True)
class Entity:
    """PII or PHI over tokens ``first..last`` (inclusive)."""

    first: int
    last: int
    category: str
    type: str
    content: str
    start: float
    end: float
    confidence: float


def tokens_of(words: Iterable[Word]) -> list[Token]:
    return [Token(w.text.lower(), w.start, w.end, w.confidence) for w in words]


def merge_tokens(tokens: Sequence[Token], content: str) -> Token:
    return Token(content, tokens[0].start, tokens[-1].end, min(t.confidence for t in tokens))


def transcript_of(tokens: Sequence[Token]) -> str:
    out = ""
    for token in tokens:
        if token.is_word and out:
            out += " "
        out += token.content
    return out


# -- vocabularies and sentences ----------------------------------------------------------------


def apply_vocabulary(tokens: list[Token], phrases: Sequence[VocabularyPhrase]) -> list[Token]:
    """Each phrase's words, said in order, become one item showing its DisplayAs."""
    if not phrases:
        return tokens
    table = sorted(((tuple(w.lower() for w in p.words), p) for p in phrases), key=lambda e: -len(e[0]))
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        for words, phrase in table:
            span = tokens[i : i + len(words)]
            # a compound the recogniser knows comes back as one hyphenated word
            if tuple(t.content for t in span) == words:
                out.append(merge_tokens(span, phrase.display))
                i += len(words)
                break
            if tokens[i].content == "-".join(words):
                out.append(replace(tokens[i], content=phrase.display))
                i += 1
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


MONTHS: Final = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
PROPER: Final = MONTHS | frozenset(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
"""Words always written with a capital (months and days; "may" only before a date)."""


def _capitalised(tokens: list[Token], i: int) -> bool:
    word = tokens[i].content
    if word == "may":  # the month, not the verb: "May 5th"
        return i + 1 < len(tokens) and re.fullmatch(r"\d+(st|nd|rd|th)", tokens[i + 1].content) is not None
    return word in PROPER


def finish_sentence(tokens: list[Token]) -> list[Token]:
    """A complete segment: capitalised, "I", months and days too, closed by a period item."""
    if not tokens:
        return tokens
    out = [
        replace(t, content="I")
        if t.content == "i"
        else replace(t, content=t.content.capitalize())
        if _capitalised(tokens, i)
        else t
        for i, t in enumerate(tokens)
    ]
    first = out[0]
    out[0] = replace(first, content=first.content[:1].upper() + first.content[1:])
    last = out[-1]
    out.append(Token(".", last.end, last.end, 1.0, type="punctuation"))
    return out


def apply_filter(tokens: list[Token], words: frozenset[str], method: str) -> list[Token]:
    """A vocabulary filter's ``mask``, ``remove`` or ``tag`` (the service's outputs)."""
    out: list[Token] = []
    for token in tokens:
        if not token.is_word or token.content.lower() not in words:
            out.append(token)
        elif method == "remove":
            continue
        elif method == "tag":
            out.append(replace(token, filter_match=True))
        else:
            out.append(replace(token, content="***", filter_match=True))
    return out


# -- PII and PHI -------------------------------------------------------------------------------

_EMAIL_TLDS: Final = frozenset({"com", "org", "net", "edu", "gov", "io", "co", "uk"})
_STREET: Final = frozenset(
    {"street", "road", "avenue", "lane", "drive", "boulevard", "way", "court", "place", "st", "ave", "rd"}
)
_NAME_CUES: Final = (
    ("my", "name", "is"), ("name", "is"), ("name's",),
    # titles: "doctor jones", "dr jones", "mrs smith", "nurse kelly"
    ("doctor",), ("dr",), ("dr.",), ("mister",), ("mr",), ("mr.",), ("missus",), ("mrs",), ("mrs.",),
    ("miss",), ("ms",), ("ms.",), ("nurse",), ("professor",),
)  # fmt: skip
# A number followed by one of these is a measurement, never an identifier (PHI): a dose,
# a blood pressure ("120 over 80"), a rate, a temperature, a duration.
_MEASURES: Final = frozenset(
    [
        "mg",
        "milligrams",
        "milligram",
        "lbs",
        "pounds",
        "pound",
        "kilos",
        "kilograms",
        "kg",
        "grams",
        "g",
        "ml",
        "milliliters",
        "cc",
        "units",
        "unit",
        "over",
        "percent",
        "degrees",
        "beats",
        "bpm",
        "breaths",
        "times",
        "hours",
        "hour",
        "days",
        "day",
        "weeks",
        "week",
        "months",
        "month",
        "years",
        "minutes",
        "minute",
        "seconds",
        "tablets",
        "tablet",
        "pills",
        "pill",
        "doses",
        "dose",
        "puffs",
        "drops",
        "millimeters",
        "mm",
        "centimeters",
        "cm",
        "inches",
        "feet",
    ]
)
# Words before a number that make it an identifier even when it is short.
_ID_CUES: Final = frozenset(
    ["id", "number", "mrn", "record", "chart", "account", "member", "policy", "insurance", "claim", "ssn"]
)
_NOT_NAMES: Final = frozenset(
    {"a", "an", "the", "not", "calling", "going", "here", "just", "very", "so", "sorry", "fine", "good", "great"}
)
_MONTHS: Final = frozenset(
    [
        *("january", "february", "march", "april", "may", "june"),
        *("july", "august", "september", "october", "november", "december"),
    ]
)
_DIGIT_CONTEXT: Final = (
    (("routing",), "BANK_ROUTING", range(9, 10)),
    (("account",), "BANK_ACCOUNT_NUMBER", range(6, 18)),
    (("cvv", "security code", "cvc"), "CREDIT_DEBIT_CVV", range(3, 5)),
    (("pin",), "PIN", range(4, 7)),
    (("social security", "ssn"), "SSN", range(9, 10)),
    (("phone", "number", "call", "reach"), "PHONE", range(7, 12)),
    (("card",), "CREDIT_DEBIT_NUMBER", range(13, 20)),
)


def _context(tokens: Sequence[Token], i: int, width: int = 5) -> str:
    return " ".join(t.content.lower() for t in tokens[max(0, i - width) : i])


def _digit_type(tokens: Sequence[Token], i: int) -> str | None:
    digits = tokens[i].content.lstrip("$")
    if not digits.isdigit():
        return None
    context = _context(tokens, i)
    for cues, kind, lengths in _DIGIT_CONTEXT:
        if len(digits) in lengths and any(re.search(rf"\b{cue}\b", context) for cue in cues):
            return kind
    if 13 <= len(digits) <= 19:
        return "CREDIT_DEBIT_NUMBER"
    if len(digits) in (7, 10) or (len(digits) == 11 and digits.startswith("1")):
        return "PHONE"
    if len(digits) == 9:
        return "SSN"
    return None


def _is_identifier(tokens: Sequence[Token], i: int) -> bool:
    """A bare number that identifies someone (PHI's ID): a long one, or one after an ID cue;
    never a measurement (a dose, a blood pressure, a rate) or a small count."""
    following = tokens[i + 1].content.lower() if i + 1 < len(tokens) else ""
    if following in _MEASURES or (i > 0 and tokens[i - 1].content.lower() == "over"):
        return False
    cued = any(t.content.lower() in _ID_CUES for t in tokens[max(0, i - 3) : i])
    return cued or len(tokens[i].content) >= 5


def find_entities(tokens: Sequence[Token], *, category: str = "PII") -> list[Entity]:
    """PII (or, with ``category="PHI"``, PHI) the local endpoint can find, with confidences.

    Found by shape and context: digit runs (card, CVV, PIN, SSN, phone, account, routing),
    "x at y dot com" (EMAIL), a number then a street word (ADDRESS), a name after "my name
    is" or "doctor" (NAME), expiry dates. PHI finds names, dates, ages and other numbers.
    """
    found: list[tuple[int, int, str]] = []
    n = len(tokens)
    i = 0
    while i < n:
        word = tokens[i].content.lower()
        kind = _digit_type(tokens, i)
        if category == "PII" and (kind is not None or word.isdigit()) and len(word) <= 5:
            # an address: a house number, a few words, a street word
            street = next((j for j in range(i + 1, min(i + 5, n)) if tokens[j].content.lower() in _STREET), None)
            if street is not None:
                found.append((i, street, "ADDRESS"))
                i = street + 1
                continue
        if category == "PII" and kind is not None:
            found.append((i, i, kind))
            i += 1
            continue
        if (
            category == "PII"
            and word == "at"
            and 0 < i < n - 3
            and tokens[i + 2].content.lower() == "dot"
            and tokens[i + 3].content.lower() in _EMAIL_TLDS
        ):
            found.append((i - 1, i + 3, "EMAIL"))
            i += 4
            continue
        if category == "PII" and word in ("expires", "expiry", "expiration"):
            j = i + 1
            while j < n and (tokens[j].content.lower() in _MONTHS or tokens[j].content.isdigit()):
                j += 1
            if j > i + 1:
                found.append((i + 1, j - 1, "CREDIT_DEBIT_EXPIRY"))
                i = j
                continue
        cue = next((c for c in _NAME_CUES if tuple(t.content.lower() for t in tokens[i : i + len(c)]) == c), None)
        if cue is not None and i + len(cue) < n:
            j = i + len(cue)
            name_end = j
            longest = 2 if "name" in cue or "name's" in cue else 1  # "my name is jane doe"; "dr jones"
            while name_end < n and name_end < j + longest and tokens[name_end].content.isalpha():
                if tokens[name_end].content.lower() in _NOT_NAMES:
                    break
                name_end += 1
            if name_end > j:
                found.append((j, name_end - 1, "NAME"))
                i = name_end
                continue
        if category == "PHI":
            if tokens[i].content.lower() in _MONTHS:
                j = i + 1
                while j < n and j < i + 3 and tokens[j].content.rstrip("stndrh").isdigit():
                    j += 1
                found.append((i, j - 1, "DATE"))
                i = j
                continue
            if re.fullmatch(r"\d+", tokens[i].content):
                after = " ".join(t.content.lower() for t in tokens[i + 1 : i + 3])
                if after.startswith(("year old", "years old")):
                    found.append((i, i, "AGE"))
                elif _is_identifier(tokens, i):
                    found.append((i, i, "ID"))
                i += 1
                continue
        i += 1
    entities = []
    for first, last, kind in found:  # PHI finds only NAME, DATE, AGE and ID: the rest is PII-only
        span = tokens[first : last + 1]
        confidence = round(min(t.confidence for t in span), 4)
        entities.append(
            Entity(first, last, category, kind, transcript_of(span), span[0].start, span[-1].end, confidence)
        )
    return entities


def redact(tokens: list[Token], entities: Sequence[Entity]) -> tuple[list[Token], list[Entity]]:
    """Each entity's items become one ``[PII]`` item; entities say ``[PII]`` too."""
    out: list[Token] = []
    moved: list[Entity] = []
    by_first = {e.first: e for e in entities}
    i = 0
    while i < len(tokens):
        entity = by_first.get(i)
        if entity is None:
            out.append(tokens[i])
            i += 1
            continue
        out.append(merge_tokens(tokens[entity.first : entity.last + 1], "[PII]"))
        moved.append(replace(entity, first=len(out) - 1, last=len(out) - 1, content="[PII]"))
        i = entity.last + 1
    return out, moved
