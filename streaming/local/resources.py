"""Named resources the local endpoint knows: vocabularies, filters, language models, categories.

``serve --resources FILE`` loads a JSON or YAML object whose lists use the shapes of the
service's own Create*/Get* APIs, so a file can be written from what ``aws transcribe
get-vocabulary`` and friends print::

    Vocabularies:            [{VocabularyName, LanguageCode, Phrases: [...]} or {..., Table: [...]}]
    VocabularyFilters:       [{VocabularyFilterName, LanguageCode, Words: [...]}]
    LanguageModels:          [{ModelName, LanguageCode, BaseModelName}]
    CallAnalyticsCategories: [{CategoryName, Rules: [{TranscriptFilter: ...} | {SentimentFilter: ...}]}]

(and the job lists of :mod:`.jobs`). A vocabulary table row is ``{Phrase, SoundsLike, IPA,
DisplayAs}`` with the service's conventions: words of a phrase joined by hyphens, sounds-like
syllables by hyphens, IPA phonemes by spaces. Every entry is checked when the file is loaded;
a mistake is a :class:`~streaming.proto.errors.ParameterError` naming the entry and the field.

Built-in examples (``example-vocabulary``, ``example-filter``, ``example-language-model``,
``example-category``) are there only when asked for: ``serve --resources example`` (or
``LocalEndpoint(resources="example")``). Without it nothing acts on a stream that did
not ask: a Call Analytics category applies to every call, so an example one would.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..proto.errors import ParameterError
from ..proto.params import StreamParams
from .faults import FaultRule, parse_faults

__all__ = [
    "BUILT_IN",
    "EXAMPLE",
    "Category",
    "CategoryRule",
    "LanguageModel",
    "Resources",
    "Vocabulary",
    "VocabularyFilter",
    "VocabularyPhrase",
    "load_resources",
    "requested_names",
]

_ROLES: Final = ("AGENT", "CUSTOMER")
_SENTIMENTS: Final = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
_NAME_RE: Final = re.compile(r"[0-9a-zA-Z._-]{1,200}")


def _fail(where: str, message: str) -> ParameterError:
    return ParameterError("resources", f"resources {where}: {message}")


@dataclass(frozen=True, slots=True)
class VocabularyPhrase:
    """One phrase: its words, how to say them (ARPAbet phones, if known), how to show it."""

    words: tuple[str, ...]
    sounds_like: tuple[str, ...] = ()
    ipa: tuple[str, ...] = ()
    display_as: str | None = None

    @property
    def display(self) -> str:
        return self.display_as if self.display_as is not None else " ".join(self.words)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    name: str
    language_code: str
    phrases: tuple[VocabularyPhrase, ...]


@dataclass(frozen=True, slots=True)
class VocabularyFilter:
    name: str
    language_code: str
    words: frozenset[str]


@dataclass(frozen=True, slots=True)
class LanguageModel:
    name: str
    language_code: str
    base_model: str


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """A TranscriptFilter (``targets`` set) or a SentimentFilter (``sentiments`` set)."""

    kind: str  # "transcript" or "sentiment"
    targets: tuple[str, ...] = ()
    sentiments: frozenset[str] = frozenset()
    role: str | None = None
    negate: bool = False
    # AbsoluteTimeRange, in milliseconds of the call: [start, end], the first or the last N.
    start_ms: int | None = None
    end_ms: int | None = None
    first_ms: int | None = None
    last_ms: int | None = None
    # RelativeTimeRange, in percent of the call: [start, end], the first or the last N %.
    start_pct: int | None = None
    end_pct: int | None = None
    first_pct: int | None = None
    last_pct: int | None = None

    @property
    def relative(self) -> bool:
        return any(v is not None for v in (self.start_pct, self.end_pct, self.first_pct, self.last_pct))


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    rules: tuple[CategoryRule, ...]


@dataclass(frozen=True, slots=True)
class Resources:
    vocabularies: Mapping[str, Vocabulary] = field(default_factory=dict)
    filters: Mapping[str, VocabularyFilter] = field(default_factory=dict)
    language_models: Mapping[str, LanguageModel] = field(default_factory=dict)
    categories: tuple[Category, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)  # the seeded job lists (the job store reads them)
    faults: tuple[FaultRule, ...] = ()  # scripted service faults (see .faults)


def requested_names(params: StreamParams, single: str) -> tuple[str, ...]:
    """The names a request gives for one kind of resource, in its single form
    (``vocabulary_name``) or its list form (``vocabulary_names``)."""
    if single in params.values:
        return (str(params[single]),)
    many = params.get(single + "s", ())
    return tuple(many) if isinstance(many, tuple) else ()


# -- parsing ---------------------------------------------------------------------------------


def _str(entry: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(where, f"{key} must be a non-empty string")
    return value


def _name(entry: Mapping[str, Any], key: str, where: str) -> str:
    name = _str(entry, key, where)
    assert name is not None
    if not _NAME_RE.fullmatch(name):
        raise _fail(where, f"{key} {name!r} must be 1-200 of 0-9 a-z A-Z . _ -")
    return name


def _list(document: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    entries = document.get(key, [])
    if not isinstance(entries, list):
        raise _fail(key, "must be a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise _fail(f"{key}[{i}]", "must be an object")
    return entries


def _phrase_words(phrase: str, where: str) -> tuple[str, ...]:
    words = tuple(w for w in re.split(r"[-\s]+", phrase.strip()) if w)
    if not words or not all(re.fullmatch(r"[A-Za-z'.]+", w) for w in words):
        raise _fail(where, f"Phrase {phrase!r} must be letters, apostrophes and periods, words joined by hyphens")
    return words


def _vocabulary(entry: Mapping[str, Any], where: str) -> Vocabulary:
    name = _name(entry, "VocabularyName", where)
    language = _str(entry, "LanguageCode", where)
    assert language is not None
    phrases: list[VocabularyPhrase] = []
    if ("Phrases" in entry) == ("Table" in entry):
        raise _fail(where, "give exactly one of Phrases (a list) or Table (a list of rows)")
    if "Phrases" in entry:
        if not isinstance(entry["Phrases"], list):
            raise _fail(where, "Phrases must be a list of strings")
        for i, phrase in enumerate(entry["Phrases"]):
            if not isinstance(phrase, str):
                raise _fail(f"{where}.Phrases[{i}]", "must be a string")
            phrases.append(VocabularyPhrase(_phrase_words(phrase, f"{where}.Phrases[{i}]")))
    else:
        if not isinstance(entry["Table"], list):
            raise _fail(where, "Table must be a list of {Phrase, SoundsLike, IPA, DisplayAs} rows")
        for i, row in enumerate(entry["Table"]):
            at = f"{where}.Table[{i}]"
            if not isinstance(row, Mapping):
                raise _fail(at, "must be an object")
            phrase = _str(row, "Phrase", at)
            assert phrase is not None
            sounds = _str(row, "SoundsLike", at, required=False)
            ipa = _str(row, "IPA", at, required=False)
            if sounds and ipa:
                raise _fail(at, "a row has SoundsLike or IPA, not both")
            phrases.append(
                VocabularyPhrase(
                    _phrase_words(phrase, at),
                    tuple(s for s in (sounds or "").lower().split("-") if s),
                    tuple((ipa or "").split()),
                    _str(row, "DisplayAs", at, required=False),
                )
            )
    return Vocabulary(name, language, tuple(phrases))


def _filter(entry: Mapping[str, Any], where: str) -> VocabularyFilter:
    name = _name(entry, "VocabularyFilterName", where)
    language = _str(entry, "LanguageCode", where)
    assert language is not None
    words = entry.get("Words")
    if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
        raise _fail(where, "Words must be a non-empty list of words")
    return VocabularyFilter(name, language, frozenset(w.strip().lower() for w in words))


_RANGES: Final = {
    # name: (its keys -> CategoryRule fields, unit, largest value)
    "AbsoluteTimeRange": (
        {"StartTime": "start_ms", "EndTime": "end_ms", "First": "first_ms", "Last": "last_ms"},
        "milliseconds",
        14_400_000,
    ),
    "RelativeTimeRange": (
        {"StartPercentage": "start_pct", "EndPercentage": "end_pct", "First": "first_pct", "Last": "last_pct"},
        "percent of the call",
        100,
    ),
}
_FILTER_KEYS: Final = {
    "TranscriptFilter": frozenset({"Targets", "TranscriptFilterType", "ParticipantRole", "Negate", *_RANGES}),
    "SentimentFilter": frozenset({"Sentiments", "ParticipantRole", "Negate", *_RANGES}),
}


def _time_range(rule: Mapping[str, Any], where: str) -> dict[str, int]:
    given = [name for name in _RANGES if rule.get(name) is not None]
    if len(given) > 1:
        raise _fail(where, "a rule has an AbsoluteTimeRange or a RelativeTimeRange, not both")
    if not given:
        return {}
    name = given[0]
    span = rule[name]
    if not isinstance(span, Mapping):
        raise _fail(where, f"{name} must be an object")
    keys, unit, largest = _RANGES[name]
    out: dict[str, int] = {}
    for key, value in span.items():
        if key not in keys or not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= largest:
            raise _fail(where, f"{name}.{key} must be one of {', '.join(keys)}: 0..{largest} {unit}")
        out[keys[key]] = value
    start, end, first, last = keys.values()
    if set(out) not in ({start, end}, {first}, {last}):
        raise _fail(where, f"{name} holds {' and '.join(list(keys)[:2])}, or First, or Last")
    if start in out and out[start] >= out[end]:
        raise _fail(where, f"{name} must start before it ends")
    return out


def _role(rule: Mapping[str, Any], where: str) -> str | None:
    role = rule.get("ParticipantRole")
    if role is not None and role not in _ROLES:
        raise _fail(where, f"ParticipantRole must be AGENT or CUSTOMER, not {role!r}")
    return role


def _category(entry: Mapping[str, Any], where: str) -> Category:
    name = _name(entry, "CategoryName", where)
    input_type = entry.get("InputType", "REAL_TIME")
    if input_type != "REAL_TIME":
        raise _fail(where, f"InputType {input_type!r}: a streaming endpoint matches REAL_TIME categories only")
    rules_in = entry.get("Rules")
    if not isinstance(rules_in, list) or not rules_in:
        raise _fail(where, "Rules must be a non-empty list")
    rules: list[CategoryRule] = []
    for i, rule in enumerate(rules_in):
        at = f"{where}.Rules[{i}]"
        if not isinstance(rule, Mapping) or len(rule) != 1:
            raise _fail(at, "a rule is an object with one key (TranscriptFilter or SentimentFilter)")
        (kind, body), *_ = rule.items()
        if not isinstance(body, Mapping):
            raise _fail(at, f"{kind} must be an object")
        unknown = sorted(set(body) - _FILTER_KEYS.get(kind, frozenset(body)))
        if unknown:
            raise _fail(at, f"{kind} has no {unknown[0]!r} (it takes {', '.join(sorted(_FILTER_KEYS[kind]))})")
        negate = body.get("Negate", False)
        if not isinstance(negate, bool):
            raise _fail(at, "Negate must be true or false")
        common = {"role": _role(body, at), "negate": negate, **_time_range(body, at)}
        if kind == "TranscriptFilter":
            targets = body.get("Targets")
            if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
                raise _fail(at, "TranscriptFilter.Targets must be a non-empty list of phrases")
            if body.get("TranscriptFilterType", "EXACT") != "EXACT":
                raise _fail(at, "TranscriptFilterType must be EXACT")
            rules.append(CategoryRule("transcript", targets=tuple(t.lower() for t in targets), **common))  # type: ignore[arg-type]
        elif kind == "SentimentFilter":
            sentiments = body.get("Sentiments")
            if not isinstance(sentiments, list) or not sentiments or not all(s in _SENTIMENTS for s in sentiments):
                raise _fail(at, f"SentimentFilter.Sentiments must be a non-empty list of {', '.join(_SENTIMENTS)}")
            rules.append(CategoryRule("sentiment", sentiments=frozenset(sentiments), **common))  # type: ignore[arg-type]
        else:
            raise _fail(
                at, f"{kind} is not matched in real time; real-time categories use TranscriptFilter or SentimentFilter"
            )
    return Category(name, tuple(rules))


def _unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _fail(kind, f"{name!r} is defined twice")
        seen.add(name)


SECTIONS: Final = (
    "Vocabularies",
    "VocabularyFilters",
    "LanguageModels",
    "CallAnalyticsCategories",
    "Faults",
    "TranscriptionJobs",
    "MedicalTranscriptionJobs",
    "CallAnalyticsJobs",
    "SpeakerEnrollmentJobs",
)
"""The top-level keys a resources document may have (a typo must not be ignored)."""
_JOB_SECTIONS: Final = SECTIONS[5:]
MAX_RESOURCES_BYTES: Final = 16 * 1024 * 1024
"""The largest resources file loaded (a service account's real resources are far smaller)."""


def parse_resources(document: Mapping[str, Any]) -> Resources:
    """Check and type a resources document (see the module docstring)."""
    for key in document:
        if key not in SECTIONS:
            close = difflib.get_close_matches(str(key), SECTIONS, n=1)
            hint = f"did you mean {close[0]}?" if close else f"the sections are {', '.join(SECTIONS)}"
            raise ParameterError("resources", f"the resources file has an unknown section {str(key)[:80]!r}: {hint}")
    vocabularies = [_vocabulary(e, f"Vocabularies[{i}]") for i, e in enumerate(_list(document, "Vocabularies"))]
    filters = [_filter(e, f"VocabularyFilters[{i}]") for i, e in enumerate(_list(document, "VocabularyFilters"))]
    models = []
    for i, entry in enumerate(_list(document, "LanguageModels")):
        where = f"LanguageModels[{i}]"
        base = entry.get("BaseModelName", "WideBand")
        if base not in ("NarrowBand", "WideBand"):
            raise _fail(where, f"BaseModelName must be NarrowBand or WideBand, not {base!r}")
        language = _str(entry, "LanguageCode", where)
        assert language is not None
        models.append(LanguageModel(_name(entry, "ModelName", where), language, base))
    categories = [
        _category(e, f"CallAnalyticsCategories[{i}]") for i, e in enumerate(_list(document, "CallAnalyticsCategories"))
    ]
    for kind, names in (
        ("Vocabularies", [v.name for v in vocabularies]),
        ("VocabularyFilters", [f.name for f in filters]),
        ("LanguageModels", [m.name for m in models]),
        ("CallAnalyticsCategories", [c.name for c in categories]),
    ):
        _unique(kind, names)
    return Resources(
        {v.name: v for v in vocabularies},
        {f.name: f for f in filters},
        {m.name: m for m in models},
        tuple(categories),
        {key: document[key] for key in _JOB_SECTIONS if key in document},  # not the whole document
        parse_faults(document.get("Faults")),
    )


BUILT_IN: Final[Mapping[str, Any]] = {
    "Vocabularies": [
        {
            "VocabularyName": "example-vocabulary",
            "LanguageCode": "en-US",
            "Table": [
                {"Phrase": "streamscribe", "SoundsLike": "stream-scribe", "DisplayAs": "StreamScribe"},
                {"Phrase": "Los-Angeles", "DisplayAs": "Los Angeles"},
                {"Phrase": "quick-brown-fox", "DisplayAs": "Quick Brown Fox"},
            ],
        }
    ],
    "VocabularyFilters": [
        {"VocabularyFilterName": "example-filter", "LanguageCode": "en-US", "Words": ["lazy", "weather"]}
    ],
    "LanguageModels": [{"ModelName": "example-language-model", "LanguageCode": "en-US", "BaseModelName": "WideBand"}],
    "CallAnalyticsCategories": [
        {
            "CategoryName": "example-category",
            "Rules": [{"TranscriptFilter": {"Targets": ["help you"], "ParticipantRole": "AGENT"}}],
        }
    ],
}


EXAMPLE: Final = "example"
"""The resources name that loads the built-in examples (:data:`BUILT_IN`)."""


def load_resources(source: str | Path | Mapping[str, Any] | None) -> Resources:
    """A resources file (JSON or YAML) or mapping; ``"example"`` for the built-in
    examples; None for none at all."""
    document: dict[str, Any]
    if source is None:
        document = {}
    elif source == EXAMPLE:
        document = dict(BUILT_IN)
    elif isinstance(source, Mapping):
        document = dict(source)
    else:
        path = Path(source)
        try:
            with path.open("rb") as file:
                data = file.read(MAX_RESOURCES_BYTES + 1)
            if len(data) > MAX_RESOURCES_BYTES:
                raise ParameterError(
                    "resources", f"the resources file {source} is over {MAX_RESOURCES_BYTES // (1 << 20)} MiB"
                )
            text = data.decode("utf-8")
        except OSError as exc:
            raise ParameterError("resources", f"cannot read the resources file {source}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ParameterError("resources", f"the resources file {source} is not UTF-8 text: {exc}") from exc
        loaded = _parse_text(text, path)
        if not isinstance(loaded, dict):
            raise ParameterError("resources", f"the resources file {source} must hold an object (a mapping)")
        document = loaded
    return parse_resources(document)


def _parse_text(text: str, path: Path) -> object:
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # noqa: PLC0415 - the local extra

        # libyaml's parser when PyYAML has it (tens of times faster than pure Python).
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            # Aliases are refused: "*a" shares a node, and nine nested levels of ten are a
            # billion copies once the document is serialised (a job, for instance).
            for event in yaml.parse(text, Loader=loader):
                if isinstance(event, yaml.AliasEvent):
                    mark = event.start_mark
                    where = f" (line {mark.line + 1})" if mark is not None else ""
                    raise ParameterError(
                        "resources", f"the resources file {path} uses a YAML alias{where}; write the value out"
                    )
            return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, aliases refused above
        except yaml.YAMLError as exc:
            where = " ".join(str(exc).split())  # PyYAML's message spans lines; ours is one
            raise ParameterError("resources", f"the resources file {path} is not valid YAML: {where}") from exc
        except RecursionError as exc:
            raise ParameterError("resources", f"the resources file {path} nests too deeply") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ParameterError("resources", f"the resources file {path} is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ParameterError("resources", f"the resources file {path} nests too deeply") from exc
