"""The job APIs' shapes: statuses, the service's response models (field names as on the wire) and the waiters' errors.

Pure: msgspec structs and enums, no HTTP. Timestamps (epoch seconds on the wire) become
aware UTC datetimes; enum values the service adds later stay readable strings, and
top-level fields this version does not know are kept in ``extra_fields``.
"""

from __future__ import annotations

import datetime as _dt
import enum
from typing import Any, ClassVar, TypeVar

import msgspec

from ..proto.errors import TranscribeError

__all__ = [
    "CallAnalyticsJob",
    "CallAnalyticsJobDetails",
    "CallAnalyticsJobSettings",
    "CallAnalyticsSkippedFeature",
    "ChannelDefinition",
    "ContentRedaction",
    "EnrollmentConfig",
    "EnrollmentJobFraudDetectionConfig",
    "FailureDetails",
    "InputDataConfig",
    "Job",
    "JobExecutionSettings",
    "JobFailedError",
    "JobProgress",
    "JobTranscript",
    "JobWaitTimeout",
    "LanguageCodeItem",
    "LanguageIdSettings",
    "Media",
    "MedicalTranscriptionJob",
    "MedicalTranscriptionSetting",
    "ModelSettings",
    "OutputDataConfig",
    "SpeakerEnrollmentJob",
    "SpeakerEnrollmentJobStatus",
    "SubtitlesOutput",
    "Summarization",
    "Tag",
    "ToxicityDetectionSettings",
    "TranscriptionJob",
    "TranscriptionJobSettings",
    "TranscriptionJobStatus",
]


# -- statuses ----------------------------------------------------------------------------------


class TranscriptionJobStatus(enum.StrEnum):
    """Transcription, medical and Call Analytics jobs."""

    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    FAILED = "FAILED"
    COMPLETED = "COMPLETED"


class SpeakerEnrollmentJobStatus(enum.StrEnum):
    """Voice ID speaker enrollment jobs."""

    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"


_E = TypeVar("_E", bound=enum.StrEnum)


def _known(cls: type[_E], value: str | None) -> _E | str | None:
    """The enum member for ``value``, or ``value`` itself when this version does not know it."""
    if value is None:
        return None
    try:
        return cls(value)
    except ValueError:
        return value


# -- response models (the service's shapes) ---------------------------------------------------


class _Shape(msgspec.Struct, frozen=True, kw_only=True, rename="pascal", omit_defaults=True):
    pass


class Media(_Shape, frozen=True):
    media_file_uri: str | None = None
    redacted_media_file_uri: str | None = None


class JobTranscript(_Shape, frozen=True):
    """Where the transcript is (``RedactedTranscriptFileUri`` with content redaction)."""

    transcript_file_uri: str | None = None
    redacted_transcript_file_uri: str | None = None


class TranscriptionJobSettings(_Shape, frozen=True):
    vocabulary_name: str | None = None
    show_speaker_labels: bool | None = None
    max_speaker_labels: int | None = None
    channel_identification: bool | None = None
    show_alternatives: bool | None = None
    max_alternatives: int | None = None
    vocabulary_filter_name: str | None = None
    vocabulary_filter_method: str | None = None  # remove | mask | tag


class ModelSettings(_Shape, frozen=True):
    language_model_name: str | None = None


class JobExecutionSettings(_Shape, frozen=True):
    allow_deferred_execution: bool | None = None
    data_access_role_arn: str | None = None


class ContentRedaction(_Shape, frozen=True):
    redaction_type: str | None = None  # PII
    redaction_output: str | None = None  # redacted | redacted_and_unredacted
    pii_entity_types: tuple[str, ...] = ()


class LanguageCodeItem(_Shape, frozen=True):
    """A language identified in a multi-language job, and how long it was spoken."""

    language_code: str | None = None
    duration_in_seconds: float | None = None


class Tag(_Shape, frozen=True):
    key: str | None = None
    value: str | None = None


class SubtitlesOutput(_Shape, frozen=True):
    formats: tuple[str, ...] = ()  # vtt | srt
    subtitle_file_uris: tuple[str, ...] = ()
    output_start_index: int | None = None


class LanguageIdSettings(_Shape, frozen=True):
    vocabulary_name: str | None = None
    vocabulary_filter_name: str | None = None
    language_model_name: str | None = None


class ToxicityDetectionSettings(_Shape, frozen=True):
    toxicity_categories: tuple[str, ...] = ()  # ALL


class _Job(_Shape, frozen=True):
    """What every job model has: its status, name and failure under the service's field
    names (given per class), and the fields this version does not know, kept."""

    extra_fields: dict[str, Any] = msgspec.field(default_factory=dict, name="__extra_fields__")
    terminal: ClassVar[frozenset[str]] = frozenset({"COMPLETED", "FAILED"})
    failed_status: ClassVar[str] = "FAILED"
    _statuses: ClassVar[type[enum.StrEnum]] = TranscriptionJobStatus
    _status_field: ClassVar[str]
    _name_field: ClassVar[str]

    @property
    def raw_status(self) -> str | None:
        """The status as the service wrote it."""
        value = getattr(self, self._status_field)
        return value if isinstance(value, str) else None

    @property
    def status(self) -> enum.StrEnum | str | None:
        """The status as an enum member (:class:`TranscriptionJobStatus` or
        :class:`SpeakerEnrollmentJobStatus`), or the raw string for a status this
        version does not know."""
        return _known(self._statuses, self.raw_status)

    @property
    def name(self) -> str | None:
        value = getattr(self, self._name_field)
        return value if isinstance(value, str) else None

    @property
    def is_terminal(self) -> bool:
        """True once the job will not change any more (completed or failed)."""
        return self.raw_status in self.terminal

    @property
    def failure(self) -> str | None:
        """Why it failed, when it did."""
        value = getattr(self, "failure_reason", None)
        return value if isinstance(value, str) else None


class _TranscribeJob(_Job, frozen=True):
    """The fields Transcribe's three job kinds share."""

    language_code: str | None = None
    media_sample_rate_hertz: int | None = None
    media_format: str | None = None  # mp3 | mp4 | wav | flac | ogg | amr | webm | m4a
    media: Media | None = None
    transcript: JobTranscript | None = None
    start_time: _dt.datetime | None = None
    creation_time: _dt.datetime | None = None
    completion_time: _dt.datetime | None = None
    failure_reason: str | None = None


class TranscriptionJob(_TranscribeJob, frozen=True):
    """GetTranscriptionJob's ``TranscriptionJob``."""

    transcription_job_name: str | None = None
    transcription_job_status: str | None = None
    settings: TranscriptionJobSettings | None = None
    model_settings: ModelSettings | None = None
    job_execution_settings: JobExecutionSettings | None = None
    content_redaction: ContentRedaction | None = None
    identify_language: bool | None = None
    identify_multiple_languages: bool | None = None
    language_options: tuple[str, ...] = ()
    identified_language_score: float | None = None
    language_codes: tuple[LanguageCodeItem, ...] = ()
    tags: tuple[Tag, ...] = ()
    subtitles: SubtitlesOutput | None = None
    language_id_settings: dict[str, LanguageIdSettings] = msgspec.field(default_factory=dict)
    toxicity_detection: tuple[ToxicityDetectionSettings, ...] = ()

    _status_field: ClassVar[str] = "transcription_job_status"
    _name_field: ClassVar[str] = "transcription_job_name"


class MedicalTranscriptionSetting(_Shape, frozen=True):
    show_speaker_labels: bool | None = None
    max_speaker_labels: int | None = None
    channel_identification: bool | None = None
    show_alternatives: bool | None = None
    max_alternatives: int | None = None
    vocabulary_name: str | None = None


class MedicalTranscriptionJob(_TranscribeJob, frozen=True):
    """GetMedicalTranscriptionJob's ``MedicalTranscriptionJob``."""

    medical_transcription_job_name: str | None = None
    transcription_job_status: str | None = None
    settings: MedicalTranscriptionSetting | None = None
    content_identification_type: str | None = None  # PHI
    specialty: str | None = None  # PRIMARYCARE
    type: str | None = None  # CONVERSATION | DICTATION
    tags: tuple[Tag, ...] = ()

    _status_field: ClassVar[str] = "transcription_job_status"
    _name_field: ClassVar[str] = "medical_transcription_job_name"


class CallAnalyticsSkippedFeature(_Shape, frozen=True):
    feature: str | None = None  # GENERATIVE_SUMMARIZATION
    reason_code: str | None = None  # INSUFFICIENT_CONVERSATION_CONTENT | FAILED_SAFETY_GUIDELINES
    message: str | None = None


class CallAnalyticsJobDetails(_Shape, frozen=True):
    skipped: tuple[CallAnalyticsSkippedFeature, ...] = ()


class Summarization(_Shape, frozen=True):
    generate_abstractive_summary: bool | None = None


class CallAnalyticsJobSettings(_Shape, frozen=True):
    vocabulary_name: str | None = None
    vocabulary_filter_name: str | None = None
    vocabulary_filter_method: str | None = None
    language_model_name: str | None = None
    content_redaction: ContentRedaction | None = None
    language_options: tuple[str, ...] = ()
    language_id_settings: dict[str, LanguageIdSettings] = msgspec.field(default_factory=dict)
    summarization: Summarization | None = None


class ChannelDefinition(_Shape, frozen=True):
    channel_id: int | None = None
    participant_role: str | None = None  # AGENT | CUSTOMER


class CallAnalyticsJob(_TranscribeJob, frozen=True):
    """GetCallAnalyticsJob's ``CallAnalyticsJob``."""

    call_analytics_job_name: str | None = None
    call_analytics_job_status: str | None = None
    call_analytics_job_details: CallAnalyticsJobDetails | None = None
    data_access_role_arn: str | None = None
    identified_language_score: float | None = None
    settings: CallAnalyticsJobSettings | None = None
    channel_definitions: tuple[ChannelDefinition, ...] = ()
    tags: tuple[Tag, ...] = ()

    _status_field: ClassVar[str] = "call_analytics_job_status"
    _name_field: ClassVar[str] = "call_analytics_job_name"


class EnrollmentJobFraudDetectionConfig(_Shape, frozen=True):
    fraud_detection_action: str | None = None  # IGNORE | FAIL
    risk_threshold: int | None = None
    watchlist_ids: tuple[str, ...] = ()


class EnrollmentConfig(_Shape, frozen=True):
    existing_enrollment_action: str | None = None  # SKIP | OVERWRITE
    fraud_detection_config: EnrollmentJobFraudDetectionConfig | None = None


class FailureDetails(_Shape, frozen=True):
    message: str | None = None
    status_code: int | None = None


class InputDataConfig(_Shape, frozen=True):
    s3_uri: str | None = None


class JobProgress(_Shape, frozen=True):
    percent_complete: int | None = None


class OutputDataConfig(_Shape, frozen=True):
    kms_key_id: str | None = None
    s3_uri: str | None = None


class SpeakerEnrollmentJob(_Job, frozen=True):
    """DescribeSpeakerEnrollmentJob's ``Job`` (Voice ID)."""

    created_at: _dt.datetime | None = None
    data_access_role_arn: str | None = None
    domain_id: str | None = None
    ended_at: _dt.datetime | None = None
    enrollment_config: EnrollmentConfig | None = None
    failure_details: FailureDetails | None = None
    input_data_config: InputDataConfig | None = None
    job_id: str | None = None
    job_name: str | None = None
    job_progress: JobProgress | None = None
    job_status: str | None = None
    output_data_config: OutputDataConfig | None = None

    terminal: ClassVar[frozenset[str]] = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"})
    _statuses: ClassVar[type[enum.StrEnum]] = SpeakerEnrollmentJobStatus
    _status_field: ClassVar[str] = "job_status"
    _name_field: ClassVar[str] = "job_id"

    @property
    def failure(self) -> str | None:
        details = self.failure_details
        if details is None or details.message is None:
            return None
        return f"{details.message} (status {details.status_code})" if details.status_code else details.message


Job = TranscriptionJob | MedicalTranscriptionJob | CallAnalyticsJob | SpeakerEnrollmentJob
_J = TypeVar("_J", TranscriptionJob, MedicalTranscriptionJob, CallAnalyticsJob, SpeakerEnrollmentJob)


# -- errors --------------------------------------------------------------------------------------


class JobFailedError(TranscribeError):
    """A waiter saw the job fail; ``job`` is its last state, ``reason`` the service's words."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.reason = job.failure or "no reason given"
        super().__init__(f"job {job.name} ended {job.raw_status}: {self.reason}")


class JobWaitTimeout(TranscribeError, TimeoutError):
    """A waiter gave up before the job ended; ``job`` is the last state seen."""

    def __init__(self, job: Job, waited: float) -> None:
        self.job = job
        super().__init__(f"job {job.name} is still {job.raw_status} after {waited:g} s")
