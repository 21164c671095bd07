"""The service's parameter rules, table-driven, and the wire forms of parameters."""

from __future__ import annotations

from typing import Any

import pytest

from streaming import Operation, ParameterError, StreamParams
from streaming.proto.params import PARAMETERS, params_from_headers, params_from_query

T, M, C = Operation.TRANSCRIPTION, Operation.MEDICAL, Operation.CALL_ANALYTICS
BASE: dict[str, Any] = {"media_sample_rate_hz": 16000, "media_encoding": "pcm"}
STD = {**BASE, "language_code": "en-US"}
MED = {**BASE, "language_code": "en-US", "specialty": "PRIMARYCARE", "type": "DICTATION"}
LID = {**BASE, "identify_language": True, "language_options": ["en-US", "fr-FR"]}
# Today's service takes identify-language for Call Analytics too (the guide says it needs a code).
LID_CA = {"identify_language": True, "language_options": ["en-US", "de-DE"]}

VALID = [
    (C, {**BASE, **LID_CA}),
    (T, {**LID, "vocabulary_names": ["a", "b"], "vocabulary_filter_names": ["f"]}),
    (T, STD),
    (T, {**BASE, "identify_language": True, "language_options": ["en-US", "de-DE"], "preferred_language": "de-DE"}),
    (T, {**BASE, "identify_multiple_languages": True, "language_options": "en-US,fr-FR,ja-JP"}),
    (T, {**STD, "media_sample_rate_hz": 8000}),
    (T, {**STD, "media_sample_rate_hz": 48000, "media_encoding": "flac"}),
    (T, {**STD, "media_encoding": "ogg-opus"}),
    (T, {**STD, "enable_channel_identification": True, "number_of_channels": 2}),
    (T, {**STD, "enable_partial_results_stabilization": True, "partial_results_stability": "low"}),
    (T, {**STD, "content_identification_type": "PII", "pii_entity_types": ["NAME", "SSN"]}),
    (T, {**STD, "content_redaction_type": "PII"}),
    (T, {**BASE, "language_code": "en-GB", "content_identification_type": "PII", "pii_entity_types": "ALL"}),
    (T, {**BASE, "language_code": "de-CH", "content_redaction_type": "PII"}),
    (T, {**STD, "vocabulary_filter_name": "f", "vocabulary_filter_method": "mask"}),
    (T, {**STD, "session_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "transcript_format": "written"}),
    (M, MED),
    (M, {**MED, "content_identification_type": "PHI", "show_speaker_label": True}),
    (C, {**BASE, "language_code": "en-GB"}),
    (C, {**BASE, "identify_language": True, "language_options": ["en-US", "es-US"]}),
]

INVALID = [
    (T, BASE, "language_code", "exactly one of"),
    (
        T,
        {**STD, "identify_language": True, "language_options": ["en-US", "de-DE"]},
        "identify_language",
        "exactly one of",
    ),
    (T, {**BASE, "identify_language": True}, "language_options", "2 or more"),
    (T, {**BASE, "identify_language": True, "language_options": ["en-US", "en-GB"]}, "language_options", "one dialect"),
    (
        T,
        {**BASE, "identify_language": True, "language_options": ["en-US", "xx-YY"]},
        "language_options",
        "not supported",
    ),
    (
        T,
        {**BASE, "identify_language": True, "language_options": ["en-US", "de-DE"], "preferred_language": "fr-FR"},
        "preferred_language",
        "one of language_options",
    ),
    (T, {**STD, "preferred_language": "en-US"}, "preferred_language", "language identification"),
    (T, {**STD, "language_code": "klingon"}, "language_code", "not supported"),
    (T, {**STD, "media_sample_rate_hz": 7999}, "media_sample_rate_hz", "8000..48000"),
    (T, {**STD, "media_sample_rate_hz": 48001}, "media_sample_rate_hz", "8000..48000"),
    (T, {**STD, "media_sample_rate_hz": 16000.0}, "media_sample_rate_hz", "integer"),
    (T, {**STD, "media_sample_rate_hz": True}, "media_sample_rate_hz", "integer"),
    (T, {**STD, "media_encoding": "mp3"}, "media_encoding", "not one of"),
    (T, {"media_encoding": "pcm", "language_code": "en-US"}, "media_sample_rate_hz", "required"),
    (T, {**STD, "number_of_channels": 2}, "number_of_channels", "enable_channel_identification"),
    (T, {**STD, "number_of_channels": 3, "enable_channel_identification": True}, "number_of_channels", "must be 2"),
    (T, {**STD, "enable_channel_identification": True}, "enable_channel_identification", "number_of_channels"),
    (
        T,
        {**STD, "enable_channel_identification": True, "number_of_channels": 2, "show_speaker_label": True},
        "show_speaker_label",
        "together",
    ),
    (
        T,
        {**STD, "content_identification_type": "PII", "content_redaction_type": "PII"},
        "content_identification_type",
        "together",
    ),
    (T, {**STD, "content_identification_type": "PHI"}, "content_identification_type", "must be PII"),
    (T, {**STD, "pii_entity_types": ["NAME"]}, "pii_entity_types", "needs content"),
    (
        T,
        {**STD, "content_redaction_type": "PII", "pii_entity_types": ["NAME", "SHOE_SIZE"]},
        "pii_entity_types",
        "not one of",
    ),
    (T, {**STD, "partial_results_stability": "high"}, "partial_results_stability", "enable_partial"),
    (
        T,
        {**STD, "enable_partial_results_stabilization": True, "partial_results_stability": "max"},
        "partial_results_stability",
        "not one of",
    ),
    (T, {**STD, "vocabulary_filter_method": "mask"}, "vocabulary_filter_method", "filter name"),
    (T, {**STD, "vocabulary_name": "a", "vocabulary_names": ["b"]}, "vocabulary_names", "together"),
    (T, {**STD, "vocabulary_name": "bad name!"}, "vocabulary_name", "0-9"),
    (T, {**STD, "session_id": "1234"}, "session_id", "UUID"),
    (T, {**STD, "show_speaker_label": "yes"}, "show_speaker_label", "True or False"),
    (T, {**STD, "specialty": "PRIMARYCARE"}, "specialty", "not a parameter"),
    (T, {**STD, "favourite_colour": "blue"}, "favourite_colour", "unknown parameter"),
    (M, {**MED, "media_sample_rate_hz": 8000}, "media_sample_rate_hz", "16000..48000"),
    (M, {**MED, "language_code": "en-GB"}, "language_code", "not supported"),
    (M, {k: v for k, v in MED.items() if k != "specialty"}, "specialty", "required"),
    (M, {**MED, "type": "MONOLOGUE"}, "type", "not one of"),
    (M, {**MED, "content_identification_type": "PII"}, "content_identification_type", "must be PHI"),
    (M, {**MED, "vocabulary_filter_name": "f"}, "vocabulary_filter_name", "not a parameter"),
    (C, {**BASE, "language_code": "ja-JP"}, "language_code", "not supported"),
    (
        C,
        {**BASE, "identify_multiple_languages": True, "language_options": ["en-US", "de-DE"]},
        "identify_multiple_languages",
        "not a parameter",
    ),
    (C, {**BASE, "language_code": "en-US", "show_speaker_label": True}, "show_speaker_label", "not a parameter"),
    (
        T,
        {**STD, "content_redaction_type": "PII", "pii_entity_types": ["BANK_ACCOUNT_NUMBER"] * 16},
        "pii_entity_types",
        "at most 300",
    ),
    (T, {**STD, "content_redaction_type": "PII", "pii_entity_types": ["ALL", "PIN"]}, "pii_entity_types", "ALL"),
    (T, {**LID, "content_identification_type": "PII"}, "content_identification_type", "cannot be combined"),
    # The guide lists the dialects PII identification and redaction serve in real time.
    (T, {**BASE, "language_code": "ja-JP", "content_redaction_type": "PII"}, "content_redaction_type", "ja-JP"),
    (
        T,
        {**BASE, "language_code": "ko-KR", "content_identification_type": "PII"},
        "content_identification_type",
        "en-US",
    ),
    (T, {**LID, "content_redaction_type": "PII"}, "content_redaction_type", "cannot be combined"),
    (T, {**LID, "language_model_name": "m"}, "language_model_name", "cannot be combined"),
    (T, {**LID, "media_encoding": "ogg-opus"}, "media_encoding", "ogg-opus"),
    (T, {**LID, "vocabulary_filter_name": "f"}, "vocabulary_filter_name", "vocabulary_filter_names"),
    (T, {**STD, "vocabulary_filter_names": ["f"]}, "vocabulary_filter_names", "language identification"),
    (C, {**BASE, **LID_CA, "language_model_name": "m"}, "language_model_name", "cannot be combined"),
]


@pytest.mark.parametrize(("operation", "values"), VALID)
def test_valid_parameters(operation: Operation, values: dict[str, Any]) -> None:
    params = StreamParams.build(operation, **values)
    # The wire forms parse back to the same values, over headers and over the query.
    assert params_from_headers(operation, params.to_headers().items()) == params
    assert params_from_query(operation, params.to_query()) == params


@pytest.mark.parametrize(("operation", "values", "param", "needle"), INVALID)
def test_invalid_parameters_name_the_parameter(operation, values, param, needle) -> None:
    with pytest.raises(ParameterError) as info:
        StreamParams.build(operation, **values)
    assert info.value.param == param
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_wire_forms() -> None:
    params = StreamParams.build(
        T, **{**BASE, "identify_language": True, "language_options": ["en-US", "de-DE"], "show_speaker_label": False}
    )
    assert params.to_headers() == {
        "x-amzn-transcribe-sample-rate": "16000",
        "x-amzn-transcribe-media-encoding": "pcm",
        "x-amzn-transcribe-show-speaker-label": "false",
        "x-amzn-transcribe-identify-language": "true",
        "x-amzn-transcribe-language-options": "en-US,de-DE",
    }
    assert ("language-options", "en-US,de-DE") in params.to_query()


def test_wire_booleans_accept_any_case_and_repeats_are_refused() -> None:
    headers = [
        ("x-amzn-transcribe-" + k, v)
        for k, v in (
            ("language-code", "en-US"),
            ("sample-rate", "16000"),
            ("media-encoding", "pcm"),
            ("show-speaker-label", "TRUE"),
        )
    ]
    assert params_from_headers(T, headers)["show_speaker_label"] is True
    with pytest.raises(ParameterError, match="more than once"):
        params_from_headers(T, [*headers, ("x-amzn-transcribe-language-code", "en-GB")])
    with pytest.raises(ParameterError, match="integer"):
        params_from_headers(T, [*headers[:1], ("x-amzn-transcribe-sample-rate", "16k"), headers[2]])


def test_every_operation_parameter_is_in_the_table() -> None:
    wires = {p.wire for p in PARAMETERS}
    # The service model's request headers (StartStreamTranscription, Medical, Call Analytics).
    assert wires == {
        "language-code", "sample-rate", "media-encoding", "vocabulary-name", "session-id",
        "vocabulary-filter-name", "vocabulary-filter-method", "show-speaker-label",
        "enable-channel-identification", "number-of-channels", "enable-partial-results-stabilization",
        "partial-results-stability", "content-identification-type", "content-redaction-type",
        "pii-entity-types", "language-model-name", "identify-language", "language-options",
        "preferred-language", "identify-multiple-languages", "vocabulary-names",
        "vocabulary-filter-names", "session-resume-window", "transcript-format", "specialty", "type",
    }  # fmt: skip


def test_operation_paths() -> None:
    assert Operation.from_path("/stream-transcription") == (T, False)
    assert Operation.from_path("/medical-stream-transcription-websocket") == (M, True)
    assert Operation.from_path("/call-analytics-stream-transcription") == (C, False)
    assert Operation.from_path("/other") is None
