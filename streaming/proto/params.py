"""The three operations and every request parameter, validated by the service's rules.

One table (:data:`PARAMETERS`) drives everything: the client's keyword arguments and their
checks, the HTTP/2 headers (``x-amzn-transcribe-<wire>``), the WebSocket query keys
(``<wire>``), and the local endpoint's parsing of both. A rule broken raises
:class:`~streaming.proto.errors.ParameterError`, which names the parameter; the local endpoint
turns it into the service's ``BadRequestException``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from .errors import ParameterError
from .languages import (
    CALL_ANALYTICS_LANGUAGE_CODES,
    LANGUAGE_CODES,
    MEDIA_ENCODINGS,
    MEDICAL_LANGUAGE_CODES,
    PII_ENTITY_TYPES,
    PII_LANGUAGE_CODES,
)

__all__ = [
    "HEADER_PREFIX",
    "MAX_EVENT_SECONDS",
    "PARAMETERS",
    "Operation",
    "Param",
    "StreamParams",
    "params_from_headers",
    "params_from_query",
]

HEADER_PREFIX: Final = "x-amzn-transcribe-"
MAX_EVENT_SECONDS: Final = 1.0
"""The most audio one AudioEvent may carry (the service's limit)."""

_NAME_RE: Final = re.compile(r"[0-9a-zA-Z._-]{1,200}")
_SESSION_ID_RE: Final = re.compile(r"[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}")


class Operation(Enum):
    """The three streaming operations, with their paths and result events."""

    TRANSCRIPTION = "StartStreamTranscription"
    MEDICAL = "StartMedicalStreamTranscription"
    CALL_ANALYTICS = "StartCallAnalyticsStreamTranscription"

    @property
    def http2_path(self) -> str:
        return _PATHS[self]

    @property
    def websocket_path(self) -> str:
        return _PATHS[self] + "-websocket"

    @property
    def min_sample_rate(self) -> int:
        return 16000 if self is Operation.MEDICAL else 8000

    @classmethod
    def from_path(cls, path: str) -> tuple[Operation, bool] | None:
        """``(operation, is_websocket)`` for a request path, or None."""
        for op, base in _PATHS.items():
            if path == base:
                return op, False
            if path == base + "-websocket":
                return op, True
        return None


_PATHS: Final = {
    Operation.TRANSCRIPTION: "/stream-transcription",
    Operation.MEDICAL: "/medical-stream-transcription",
    Operation.CALL_ANALYTICS: "/call-analytics-stream-transcription",
}
_ALL: Final = frozenset(Operation)
_STD: Final = frozenset({Operation.TRANSCRIPTION})
_STD_CA: Final = frozenset({Operation.TRANSCRIPTION, Operation.CALL_ANALYTICS})
_STD_MED: Final = frozenset({Operation.TRANSCRIPTION, Operation.MEDICAL})
_MED: Final = frozenset({Operation.MEDICAL})


@dataclass(frozen=True, slots=True)
class Param:
    """One request parameter: its Python name, wire name, kind and where it is allowed."""

    name: str
    wire: str
    kind: type
    operations: frozenset[Operation]
    choices: frozenset[str] | None = None
    list_valued: bool = False

    @property
    def header(self) -> str:
        return HEADER_PREFIX + self.wire


def _p(
    name: str,
    wire: str,
    kind: type,
    operations: frozenset[Operation],
    choices: Iterable[str] | None = None,
    *,
    list_valued: bool = False,
) -> Param:
    return Param(name, wire, kind, operations, frozenset(choices) if choices else None, list_valued)


PARAMETERS: Final = (
    _p("language_code", "language-code", str, _ALL),
    _p("media_sample_rate_hz", "sample-rate", int, _ALL),
    _p("media_encoding", "media-encoding", str, _ALL, MEDIA_ENCODINGS),
    _p("vocabulary_name", "vocabulary-name", str, _ALL),
    _p("session_id", "session-id", str, _ALL),
    _p("vocabulary_filter_name", "vocabulary-filter-name", str, _STD_CA),
    _p(
        "vocabulary_filter_method",
        "vocabulary-filter-method",
        str,
        _STD_CA,
        ("mask", "remove", "tag"),
    ),
    _p("show_speaker_label", "show-speaker-label", bool, _STD_MED),
    _p("enable_channel_identification", "enable-channel-identification", bool, _STD_MED),
    _p("number_of_channels", "number-of-channels", int, _STD_MED),
    _p(
        "enable_partial_results_stabilization",
        "enable-partial-results-stabilization",
        bool,
        _STD_CA,
    ),
    _p(
        "partial_results_stability",
        "partial-results-stability",
        str,
        _STD_CA,
        ("low", "medium", "high"),
    ),
    _p("content_identification_type", "content-identification-type", str, _ALL),
    _p("content_redaction_type", "content-redaction-type", str, _STD_CA, ("PII",)),
    _p("pii_entity_types", "pii-entity-types", str, _STD_CA, PII_ENTITY_TYPES, list_valued=True),
    _p("language_model_name", "language-model-name", str, _STD_CA),
    _p("identify_language", "identify-language", bool, _STD_CA),
    _p("language_options", "language-options", str, _STD_CA, list_valued=True),
    _p("preferred_language", "preferred-language", str, _STD_CA),
    _p("identify_multiple_languages", "identify-multiple-languages", bool, _STD),
    _p("vocabulary_names", "vocabulary-names", str, _STD_CA, list_valued=True),
    _p("vocabulary_filter_names", "vocabulary-filter-names", str, _STD_CA, list_valued=True),
    _p("session_resume_window", "session-resume-window", int, _STD),
    _p("transcript_format", "transcript-format", str, _STD, ("spoken", "written")),
    _p(
        "specialty",
        "specialty",
        str,
        _MED,
        ("PRIMARYCARE", "CARDIOLOGY", "NEUROLOGY", "ONCOLOGY", "RADIOLOGY", "UROLOGY"),
    ),
    _p("type", "type", str, _MED, ("CONVERSATION", "DICTATION")),
)
_BY_NAME: Final = {p.name: p for p in PARAMETERS}
_BY_WIRE: Final = {p.wire: p for p in PARAMETERS}
ParamValue = str | int | bool | tuple[str, ...]


def _label(param: Param) -> str:
    return f"{param.name} ({param.header})"


@dataclass(frozen=True)
class StreamParams:
    """Validated parameters of one stream: the operation and the values that were set.

    Build it with :meth:`build` (from Python keyword arguments) or with
    :func:`params_from_headers` / :func:`params_from_query` (from the wire). Either way
    every rule is checked; ``values`` holds only parameters that were given.
    """

    operation: Operation
    values: Mapping[str, ParamValue]

    def __getitem__(self, name: str) -> ParamValue:
        return self.values[name]

    def get(self, name: str, default: ParamValue | None = None) -> ParamValue | None:
        return self.values.get(name, default)

    def _int(self, name: str, default: int) -> int:
        value = self.values.get(name, default)
        assert isinstance(value, int)  # validated as an int parameter
        return value

    @property
    def sample_rate(self) -> int:
        return self._int("media_sample_rate_hz", 0)

    @property
    def media_encoding(self) -> str:
        return str(self.values["media_encoding"])

    @property
    def channels(self) -> int:
        return self._int("number_of_channels", 1)

    @property
    def session_id(self) -> str | None:
        value = self.values.get("session_id")
        return None if value is None else str(value)

    @classmethod
    def build(cls, operation: Operation, **kwargs: object) -> StreamParams:
        """Validate Python keyword arguments (``None`` means not set)."""
        values: dict[str, ParamValue] = {}
        for name, value in kwargs.items():
            if value is None:
                continue
            param = _BY_NAME.get(name)
            if param is None:
                raise ParameterError(name, f"unknown parameter {name!r} for {operation.value}")
            values[name] = _coerce_python(param, value)
        return cls._validated(operation, values)

    @classmethod
    def _validated(cls, operation: Operation, values: dict[str, ParamValue]) -> StreamParams:
        _validate(operation, values)
        ordered = {p.name: values[p.name] for p in PARAMETERS if p.name in values}
        return cls(operation, ordered)

    def wire_items(self) -> list[tuple[Param, str]]:
        """Each set parameter with its wire text (``true``/``false``, lists comma-joined)."""
        out = []
        for name, value in self.values.items():
            param = _BY_NAME[name]
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, tuple):
                text = ",".join(value)
            else:
                text = str(value)
            out.append((param, text))
        return out

    def to_headers(self) -> dict[str, str]:
        """The ``x-amzn-transcribe-*`` request headers (HTTP/2)."""
        return {param.header: text for param, text in self.wire_items()}

    def to_query(self) -> list[tuple[str, str]]:
        """The query parameters of the WebSocket URL."""
        return [(param.wire, text) for param, text in self.wire_items()]

    def with_session_id(self, session_id: str) -> StreamParams:
        return StreamParams._validated(self.operation, {**self.values, "session_id": session_id})


def _coerce_python(param: Param, value: object) -> ParamValue:
    label = _label(param)
    if param.kind is bool:
        if not isinstance(value, bool):
            raise ParameterError(param.name, f"{label} must be True or False, not {value!r}")
        return value
    if param.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(param.name, f"{label} must be an integer, not {value!r}")
        return value
    if param.list_valued:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
            raise ParameterError(param.name, f"{label} must be a list of strings, not {value!r}")
        parts = tuple(p.strip() for item in items for p in item.split(","))
        return parts
    if not isinstance(value, str):
        raise ParameterError(param.name, f"{label} must be a string, not {value!r}")
    return value


def _coerce_wire(param: Param, text: str) -> ParamValue:
    label = _label(param)
    if param.kind is bool:
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise ParameterError(param.name, f"{label} must be true or false, not {text!r}")
        return lowered == "true"
    if param.kind is int:
        if not text.strip().isdigit():
            raise ParameterError(param.name, f"{label} must be an integer, not {text!r}")
        return int(text)
    if param.list_valued:
        return tuple(p.strip() for p in text.split(","))
    return text


def _params_from_wire(operation: Operation, items: Iterable[tuple[str, str]]) -> StreamParams:
    values: dict[str, ParamValue] = {}
    for wire, text in items:
        param = _BY_WIRE.get(wire)
        if param is None:
            continue  # unknown parameters are ignored, as HTTP services do
        if param.name in values:
            raise ParameterError(param.name, f"{_label(param)} was given more than once")
        values[param.name] = _coerce_wire(param, text)
    return StreamParams._validated(operation, values)


def params_from_headers(operation: Operation, headers: Iterable[tuple[str, str]]) -> StreamParams:
    """Parse and validate the ``x-amzn-transcribe-*`` headers of an HTTP/2 request."""
    n = len(HEADER_PREFIX)
    return _params_from_wire(operation, [(k.lower()[n:], v) for k, v in headers if k.lower().startswith(HEADER_PREFIX)])


def params_from_query(operation: Operation, pairs: Iterable[tuple[str, str]]) -> StreamParams:
    """Parse and validate the query parameters of a WebSocket URL."""
    return _params_from_wire(operation, [(k, v) for k, v in pairs if not k.startswith("X-Amz-")])


# -- the service's rules -----------------------------------------------------------------------


def _validate(op: Operation, v: dict[str, ParamValue]) -> None:
    for name, value in v.items():
        param = _BY_NAME[name]
        if op not in param.operations:
            raise ParameterError(name, f"{_label(param)} is not a parameter of {op.value}")
        if param.choices is not None:
            for item in value if isinstance(value, tuple) else (value,):
                if item not in param.choices:
                    choices = ", ".join(sorted(param.choices))
                    raise ParameterError(name, f"{_label(param)}: {item!r} is not one of {choices}")
    for required in ("media_sample_rate_hz", "media_encoding"):
        if required not in v:
            raise ParameterError(required, f"{_label(_BY_NAME[required])} is required")
    _validate_rate(op, v)
    _validate_languages(op, v)
    if op is Operation.MEDICAL:
        for required in ("language_code", "specialty", "type"):
            if required not in v:
                raise ParameterError(required, f"{_label(_BY_NAME[required])} is required for {op.value}")
    cit = v.get("content_identification_type")
    if cit is not None:
        allowed = "PHI" if op is Operation.MEDICAL else "PII"
        if cit != allowed:
            raise ParameterError(
                "content_identification_type",
                f"content_identification_type must be {allowed} for {op.value}, not {cit!r}",
            )
    if cit is not None and "content_redaction_type" in v:
        raise ParameterError(
            "content_identification_type",
            "content_identification_type and content_redaction_type cannot be used together",
        )
    language = v.get("language_code")
    if (cit == "PII" or "content_redaction_type" in v) and language is not None and language not in PII_LANGUAGE_CODES:
        raise ParameterError(
            "content_redaction_type" if cit is None else "content_identification_type",
            f"PII identification and redaction are not available for {language} streams; they are for "
            f"{', '.join(sorted(PII_LANGUAGE_CODES))}",
        )
    if "pii_entity_types" in v and cit is None and "content_redaction_type" not in v:
        raise ParameterError(
            "pii_entity_types",
            "pii_entity_types needs content_identification_type or content_redaction_type",
        )
    _validate_channels(v)
    if "partial_results_stability" in v and v.get("enable_partial_results_stabilization") is not True:
        raise ParameterError(
            "partial_results_stability",
            "partial_results_stability needs enable_partial_results_stabilization=true",
        )
    if "vocabulary_filter_method" in v and not ("vocabulary_filter_name" in v or "vocabulary_filter_names" in v):
        raise ParameterError("vocabulary_filter_method", "vocabulary_filter_method needs a vocabulary filter name")
    for single, multiple in (
        ("vocabulary_name", "vocabulary_names"),
        ("vocabulary_filter_name", "vocabulary_filter_names"),
    ):
        if single in v and multiple in v:
            raise ParameterError(multiple, f"{single} and {multiple} cannot be used together")
    _validate_identification(v)
    for name in ("vocabulary_name", "vocabulary_filter_name", "language_model_name"):
        if name in v and not _NAME_RE.fullmatch(str(v[name])):
            raise ParameterError(name, f"{name} {v[name]!r} must be 1-200 of 0-9 a-z A-Z . _ -")
    for name in ("vocabulary_names", "vocabulary_filter_names"):
        for item in v.get(name, ()):  # type: ignore[union-attr]
            if not _NAME_RE.fullmatch(item):
                raise ParameterError(name, f"{name}: {item!r} must be 1-200 of 0-9 a-z A-Z . _ -")
    session_id = v.get("session_id")
    if session_id is not None and not _SESSION_ID_RE.fullmatch(str(session_id)):
        raise ParameterError(
            "session_id",
            f"session_id {session_id!r} must be a UUID (36 characters, 8-4-4-4-12 hex)",
        )
    resume = v.get("session_resume_window")
    if resume is not None and not 0 <= int(resume) <= 3600:  # type: ignore[arg-type]
        raise ParameterError("session_resume_window", "session_resume_window must be 0..3600 seconds")


def _validate_rate(op: Operation, v: dict[str, ParamValue]) -> None:
    rate = int(v["media_sample_rate_hz"])  # type: ignore[arg-type]
    if not op.min_sample_rate <= rate <= 48000:
        raise ParameterError(
            "media_sample_rate_hz",
            f"media_sample_rate_hz ({HEADER_PREFIX}sample-rate) {rate} is outside "
            f"{op.min_sample_rate}..48000 Hz for {op.value}",
        )


def _validate_languages(op: Operation, v: dict[str, ParamValue]) -> None:
    codes = {
        Operation.TRANSCRIPTION: LANGUAGE_CODES,
        Operation.MEDICAL: MEDICAL_LANGUAGE_CODES,
        Operation.CALL_ANALYTICS: CALL_ANALYTICS_LANGUAGE_CODES,
    }[op]
    chosen = [
        name
        for name in ("language_code", "identify_language", "identify_multiple_languages")
        if (name == "language_code" and name in v) or v.get(name) is True
    ]
    if len(chosen) != 1:
        what = " and ".join(chosen) if chosen else "none of them"
        raise ParameterError(
            chosen[-1] if chosen else "language_code",
            f"exactly one of language_code, identify_language or identify_multiple_languages must be set (got {what})",
        )
    if "language_code" in v:
        code = v["language_code"]
        if code not in codes:
            raise ParameterError("language_code", f"language_code {code!r} is not supported by {op.value}")
        for name in ("language_options", "preferred_language"):
            if name in v:
                raise ParameterError(name, f"{name} is only used with language identification")
        return
    options: tuple[str, ...] = v.get("language_options", ())  # type: ignore[assignment]
    if len(options) < 2:
        raise ParameterError(
            "language_options",
            "language identification needs language_options with 2 or more codes",
        )
    seen: dict[str, str] = {}
    for code in options:
        if code not in codes:
            raise ParameterError("language_options", f"language_options: {code!r} is not supported")
        base = code.split("-")[0]
        if base in seen:
            raise ParameterError(
                "language_options",
                f"language_options can hold one dialect per language ({seen[base]} and {code})",
            )
        seen[base] = code
    preferred = v.get("preferred_language")
    if preferred is not None and preferred not in options:
        raise ParameterError(
            "preferred_language",
            f"preferred_language {preferred!r} must be one of language_options",
        )


def _validate_identification(v: dict[str, ParamValue]) -> None:
    """Language identification's own rules, and the PII entity-type list's length.

    The guide still says Call Analytics needs a language code; today's service (and its
    API reference) accepts ``identify-language`` instead, so both are allowed here.
    """
    entity_types = v.get("pii_entity_types")
    if isinstance(entity_types, tuple):
        wire = ",".join(entity_types)
        if len(wire) > 300:
            raise ParameterError(
                "pii_entity_types", f"pii_entity_types is {len(wire)} characters on the wire; at most 300 are allowed"
            )
        if "ALL" in entity_types and len(entity_types) > 1:
            raise ParameterError("pii_entity_types", "pii_entity_types: ALL cannot be combined with other types")
    identifying = v.get("identify_language") is True or v.get("identify_multiple_languages") is True
    if not identifying:
        if "vocabulary_names" in v or "vocabulary_filter_names" in v:
            which = "vocabulary_names" if "vocabulary_names" in v else "vocabulary_filter_names"
            single = which.removesuffix("s")
            raise ParameterError(which, f"{which} is for language identification; with a language_code use {single}")
        return
    what = "identify_language" if v.get("identify_language") is True else "identify_multiple_languages"
    for name, label in (
        ("content_redaction_type", "content redaction"),
        ("content_identification_type", "content identification"),
        ("language_model_name", "a custom language model"),
    ):
        if name in v:
            raise ParameterError(name, f"{what} cannot be combined with {label} ({name})")
    if v.get("media_encoding") == "ogg-opus":
        raise ParameterError("media_encoding", f"{what} does not support media_encoding ogg-opus; send pcm or flac")
    for single in ("vocabulary_name", "vocabulary_filter_name"):
        if single in v:
            raise ParameterError(single, f"with {what}, name one vocabulary per language in {single}s instead")


def _validate_channels(v: dict[str, ParamValue]) -> None:
    channels = v.get("number_of_channels")
    identify = v.get("enable_channel_identification") is True
    if channels is not None and channels != 2:
        raise ParameterError("number_of_channels", f"number_of_channels must be 2, not {channels}")
    if channels is not None and not identify:
        raise ParameterError("number_of_channels", "number_of_channels=2 needs enable_channel_identification=true")
    if identify and channels is None:
        raise ParameterError(
            "enable_channel_identification",
            "enable_channel_identification needs number_of_channels=2",
        )
    if identify and v.get("show_speaker_label") is True:
        raise ParameterError(
            "show_speaker_label",
            "show_speaker_label and enable_channel_identification cannot be used together",
        )


def new_session_id() -> str:
    """A fresh session id in the service's format."""
    return str(uuid.uuid4())
