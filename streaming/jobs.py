"""Job status APIs: transcription, medical and Call Analytics jobs, and Voice ID enrollment jobs.

Streaming hands work on to jobs (a Call Analytics stream with ``PostCallAnalyticsSettings``
starts a post-call job); this module checks on them without boto3:

>>> async with JobsClient(region="eu-west-1") as jobs:            # doctest: +SKIP
...     job = await jobs.wait_for_transcription_job("my-job", timeout=600)
...     print(job.status, job.transcript.transcript_file_uri)

The calls speak the AWS JSON protocol over HTTPS, signed with :mod:`sigv4`: Transcribe
with ``application/x-amz-json-1.1`` and ``X-Amz-Target: Transcribe.<Operation>`` (signing
name ``transcribe``), Voice ID with ``application/x-amz-json-1.0`` and
``VoiceID.<Operation>`` (signing name ``voiceid``). HTTP is httpx's, which offers the
same client blocking and async (:class:`JobsClient` and :class:`BlockingJobsClient`),
connection pooling, HTTP/1.1 keep-alive and proxies, so nothing here writes HTTP by hand.

Decisions are pure and shared by both clients: :func:`build_request` signs a call,
:func:`parse_response` turns a reply into a typed job or a typed error, and
:class:`WaitPlan` decides when a waiter polls again or gives up. Responses decode into
frozen msgspec structs whose field names are the service's (snake_case); timestamps
(epoch seconds on the wire) become aware UTC datetimes; enum values the service adds
later stay readable strings, and top-level fields this version does not know are kept in
``extra_fields``.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import enum
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generic, TypeVar

import httpx
import msgspec

import sigv4
from sigv4 import Credentials

from .core import DEFAULT_RETRY, RetryPolicy
from .credentials import credentials_for
from .endpoints import check_endpoint, check_region
from .errors import (
    ConnectError,
    ParameterError,
    ProtocolError,
    ServiceError,
    StreamTimeout,
    TranscribeError,
    TransportError,
    service_error_from_http,
)

__all__ = [
    "BlockingJobsClient",
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
    "JobRequest",
    "JobTranscript",
    "JobWaitTimeout",
    "JobsClient",
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
    "WaitPlan",
    "build_request",
    "default_jobs_endpoint",
    "parse_response",
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


# -- the wire: requests and responses (pure) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Operation(Generic[_J]):
    service: str  # signing name
    target: str  # X-Amz-Target
    content_type: str
    key: str  # the response member holding the job
    model: type[_J]


_TRANSCRIBE_JSON: Final = "application/x-amz-json-1.1"
_VOICEID_JSON: Final = "application/x-amz-json-1.0"
_GET_TRANSCRIPTION: Final = _Operation(
    "transcribe", "Transcribe.GetTranscriptionJob", _TRANSCRIBE_JSON, "TranscriptionJob", TranscriptionJob
)
_GET_MEDICAL: Final = _Operation(
    "transcribe",
    "Transcribe.GetMedicalTranscriptionJob",
    _TRANSCRIBE_JSON,
    "MedicalTranscriptionJob",
    MedicalTranscriptionJob,
)
_GET_CALL_ANALYTICS: Final = _Operation(
    "transcribe", "Transcribe.GetCallAnalyticsJob", _TRANSCRIBE_JSON, "CallAnalyticsJob", CallAnalyticsJob
)
_DESCRIBE_ENROLLMENT: Final = _Operation(
    "voiceid", "VoiceID.DescribeSpeakerEnrollmentJob", _VOICEID_JSON, "Job", SpeakerEnrollmentJob
)
OPERATIONS: Final[Mapping[str, _Operation[Any]]] = {
    op.target: op for op in (_GET_TRANSCRIPTION, _GET_MEDICAL, _GET_CALL_ANALYTICS, _DESCRIBE_ENROLLMENT)
}


def default_jobs_endpoint(service: str, region: str) -> str:
    """``https://transcribe.<region>.amazonaws.com`` or ``https://voiceid.<region>.amazonaws.com``."""
    return f"https://{service}.{region}.amazonaws.com"


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A signed call, ready for any HTTP client."""

    url: str
    headers: Mapping[str, str]
    body: bytes


def build_request(
    target: str,
    params: Mapping[str, object],
    *,
    endpoint: str,
    credentials: Credentials,
    region: str,
    now: _dt.datetime,
) -> JobRequest:
    """Sign one JSON-protocol call (``target`` is e.g. ``Transcribe.GetTranscriptionJob``)."""
    operation = OPERATIONS[target]
    body = msgspec.json.encode(params)
    url = endpoint.rstrip("/") + "/"
    headers = {"content-type": operation.content_type, "x-amz-target": operation.target}
    signed = sigv4.sign_headers(
        "POST", url, headers, credentials=credentials, region=region, service=operation.service, now=now, body=body
    )
    return JobRequest(url, signed, body)


_JSON: Final = msgspec.json.Decoder(dict[str, Any])


def parse_response(target: str, status: int, headers: Mapping[str, str], body: bytes) -> Job:
    """The typed job from a 200, or the service's typed error (see :mod:`streaming.errors`).

    A reply that is not the protocol (not JSON, no job in it, a field of the wrong type)
    raises :class:`~streaming.errors.ProtocolError` saying where.
    """
    job: Job = _parse(OPERATIONS[target], status, headers, body)
    return job


def _parse(operation: _Operation[_J], status: int, headers: Mapping[str, str], body: bytes) -> _J:
    if status != 200:
        raise service_error_from_http(status, headers, body)
    try:
        document = _JSON.decode(body)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"{operation.target}: the response is not JSON: {exc}") from exc
    raw = document.get(operation.key)
    if not isinstance(raw, dict):
        raise ProtocolError(f"{operation.target}: the response has no {operation.key} object")
    try:
        job: _J = msgspec.convert(raw, operation.model, strict=False)
    except msgspec.ValidationError as exc:
        raise ProtocolError(f"{operation.target}: {operation.key} is not valid: {exc}") from exc
    known = {field.encode_name for field in msgspec.structs.fields(operation.model)}
    extra = {k: v for k, v in raw.items() if k not in known}
    if extra:
        job = msgspec.structs.replace(job, extra_fields=extra)
    return job


@dataclass(slots=True)
class WaitPlan:
    """What a waiter does after each poll: exponential backoff from ``first`` to ``longest``
    seconds, never past ``timeout`` seconds after ``started`` (on the caller's clock)."""

    started: float
    timeout: float
    first: float = 1.0
    longest: float = 20.0
    polls: int = 0

    def after(self, job: Job, now: float) -> float | None:
        """None when ``job`` completed; else the seconds to sleep before polling again.

        Raises :class:`JobFailedError` for a failed job and :class:`JobWaitTimeout` when
        the time is up.
        """
        if job.is_terminal:
            if job.raw_status == job.failed_status:
                raise JobFailedError(job)
            return None
        left = self.started + self.timeout - now
        if left <= 0:
            raise JobWaitTimeout(job, self.timeout)
        delay = min(self.longest, self.first * (1.5**self.polls))
        self.polls += 1
        return min(delay, left)


@dataclass(slots=True)
class _Attempts:
    """The retry decision for one call: the streaming client's policy, with jitter."""

    policy: RetryPolicy
    rng: random.Random
    started: float
    count: int = 0

    def pause_after(self, error: TranscribeError, now: float) -> float | None:
        """Seconds to wait before trying again, or None: give up and raise ``error``."""
        self.count += 1
        retryable = isinstance(error, TransportError | ServiceError) and error.retryable
        pause = self.policy.delay(self.count, self.rng)
        if (
            not retryable
            or self.count >= self.policy.max_attempts
            or now - self.started + pause > self.policy.max_total
        ):
            return None
        return pause


Progress = Callable[[Job], object]


# -- the clients: asyncio and blocking shells ---------------------------------------------------------


class _Settings:
    def __init__(
        self,
        region: str,
        credentials: Credentials | None,
        endpoint: str | None,
        voiceid_endpoint: str | None,
        retry: RetryPolicy,
        seed: int | None,
        clock: Callable[[], _dt.datetime] | None,
    ) -> None:
        check_region(region)
        self.region = region
        self.endpoints = {
            "transcribe": check_endpoint(endpoint or default_jobs_endpoint("transcribe", region), "api"),
            "voiceid": check_endpoint(
                voiceid_endpoint or endpoint or default_jobs_endpoint("voiceid", region), "http2"
            ),
        }
        self.credentials = credentials or credentials_for(self.endpoints["transcribe"])
        self.retry = retry
        self.rng = random.Random(seed)  # noqa: S311 - jitter, not cryptography
        self.clock = clock or (lambda: _dt.datetime.now(_dt.UTC))

    def request(self, operation: _Operation[Any], params: Mapping[str, object]) -> JobRequest:
        return build_request(
            operation.target,
            params,
            endpoint=self.endpoints[operation.service],
            credentials=self.credentials,
            region=self.region,
            now=self.clock(),
        )


def _transport_error(exc: httpx.HTTPError, url: str) -> TranscribeError:
    if isinstance(exc, httpx.TimeoutException):
        return StreamTimeout(f"{url} did not answer in time: {exc}")
    text = str(exc) or type(exc).__name__
    verify = "CERTIFICATE_VERIFY_FAILED" in text
    return ConnectError(f"cannot reach {url}: {text}", retryable=not verify)


def _names(params: Mapping[str, str]) -> None:
    for key, value in params.items():
        if not isinstance(value, str) or not value:
            raise ParameterError(key, f"{key} must be a non-empty string, not {value!r}")


class JobsClient:
    """Async job status client. ``endpoint=`` points both services at one URL (a local
    endpoint's HTTP port); ``voiceid_endpoint=`` overrides Voice ID's alone. Credentials
    and retries work as for streaming (throttling and 5xx retried with jitter, 4xx not).
    """

    def __init__(
        self,
        region: str = "us-east-1",
        credentials: Credentials | None = None,
        *,
        endpoint: str | None = None,
        voiceid_endpoint: str | None = None,
        ca_file: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 30.0,
        seed: int | None = None,
        clock: Callable[[], _dt.datetime] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = _Settings(region, credentials, endpoint, voiceid_endpoint, retry, seed, clock)
        self._http = http or httpx.AsyncClient(verify=ca_file or True, timeout=timeout, trust_env=True)

    @property
    def credentials(self) -> Credentials:
        return self._settings.credentials

    async def __aenter__(self) -> JobsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, operation: _Operation[_J], params: Mapping[str, str]) -> _J:
        _names(params)
        loop = asyncio.get_running_loop()
        attempts = _Attempts(self._settings.retry, self._settings.rng, loop.time())
        while True:
            request = self._settings.request(operation, params)
            try:
                try:
                    reply = await self._http.post(request.url, headers=dict(request.headers), content=request.body)
                except httpx.HTTPError as exc:
                    raise _transport_error(exc, request.url) from exc
                return _parse(operation, reply.status_code, reply.headers, reply.content)
            except TranscribeError as exc:
                pause = attempts.pause_after(exc, loop.time())
                if pause is None:
                    raise
                await asyncio.sleep(pause)

    async def get_transcription_job(self, name: str) -> TranscriptionJob:
        return await self._call(_GET_TRANSCRIPTION, {"TranscriptionJobName": name})

    async def get_medical_transcription_job(self, name: str) -> MedicalTranscriptionJob:
        return await self._call(_GET_MEDICAL, {"MedicalTranscriptionJobName": name})

    async def get_call_analytics_job(self, name: str) -> CallAnalyticsJob:
        return await self._call(_GET_CALL_ANALYTICS, {"CallAnalyticsJobName": name})

    async def describe_speaker_enrollment_job(self, domain_id: str, job_id: str) -> SpeakerEnrollmentJob:
        return await self._call(_DESCRIBE_ENROLLMENT, {"DomainId": domain_id, "JobId": job_id})

    async def _wait(
        self, get: Callable[[], Awaitable[_J]], timeout: float, progress: Progress | None, first: float, longest: float
    ) -> _J:
        loop = asyncio.get_running_loop()
        plan = WaitPlan(loop.time(), timeout, first, longest)
        while True:
            job = await get()
            if progress is not None:
                progress(job)
            delay = plan.after(job, loop.time())
            if delay is None:
                return job
            await asyncio.sleep(delay)

    async def wait_for_transcription_job(
        self,
        name: str,
        *,
        timeout: float = 3600.0,
        progress: Progress | None = None,
        first_delay: float = 1.0,
        max_delay: float = 20.0,
    ) -> TranscriptionJob:
        """Poll until the job completes (returned) or fails (:class:`JobFailedError`), at most
        ``timeout`` seconds (:class:`JobWaitTimeout`); ``progress`` sees every poll."""
        return await self._wait(lambda: self.get_transcription_job(name), timeout, progress, first_delay, max_delay)

    async def wait_for_medical_transcription_job(
        self,
        name: str,
        *,
        timeout: float = 3600.0,
        progress: Progress | None = None,
        first_delay: float = 1.0,
        max_delay: float = 20.0,
    ) -> MedicalTranscriptionJob:
        """See :meth:`wait_for_transcription_job`."""
        return await self._wait(
            lambda: self.get_medical_transcription_job(name), timeout, progress, first_delay, max_delay
        )

    async def wait_for_call_analytics_job(
        self,
        name: str,
        *,
        timeout: float = 3600.0,
        progress: Progress | None = None,
        first_delay: float = 1.0,
        max_delay: float = 20.0,
    ) -> CallAnalyticsJob:
        """See :meth:`wait_for_transcription_job`."""
        return await self._wait(lambda: self.get_call_analytics_job(name), timeout, progress, first_delay, max_delay)

    async def wait_for_speaker_enrollment_job(
        self,
        domain_id: str,
        job_id: str,
        *,
        timeout: float = 3600.0,
        progress: Progress | None = None,
        first_delay: float = 1.0,
        max_delay: float = 20.0,
    ) -> SpeakerEnrollmentJob:
        """Until COMPLETED or COMPLETED_WITH_ERRORS (returned) or FAILED (raised)."""
        return await self._wait(
            lambda: self.describe_speaker_enrollment_job(domain_id, job_id), timeout, progress, first_delay, max_delay
        )


class BlockingJobsClient:
    """The same calls and waiters, blocking (httpx's synchronous client); see :class:`JobsClient`."""

    def __init__(
        self,
        region: str = "us-east-1",
        credentials: Credentials | None = None,
        *,
        endpoint: str | None = None,
        voiceid_endpoint: str | None = None,
        ca_file: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 30.0,
        seed: int | None = None,
        clock: Callable[[], _dt.datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self._settings = _Settings(region, credentials, endpoint, voiceid_endpoint, retry, seed, clock)
        self._http = httpx.Client(verify=ca_file or True, timeout=timeout, trust_env=True)
        self._sleep = sleep or time.sleep
        self._monotonic = monotonic or time.monotonic

    @property
    def credentials(self) -> Credentials:
        return self._settings.credentials

    def __enter__(self) -> BlockingJobsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, operation: _Operation[_J], params: Mapping[str, str]) -> _J:
        _names(params)
        attempts = _Attempts(self._settings.retry, self._settings.rng, self._monotonic())
        while True:
            request = self._settings.request(operation, params)
            try:
                try:
                    reply = self._http.post(request.url, headers=dict(request.headers), content=request.body)
                except httpx.HTTPError as exc:
                    raise _transport_error(exc, request.url) from exc
                return _parse(operation, reply.status_code, reply.headers, reply.content)
            except TranscribeError as exc:
                pause = attempts.pause_after(exc, self._monotonic())
                if pause is None:
                    raise
                self._sleep(pause)

    def get_transcription_job(self, name: str) -> TranscriptionJob:
        return self._call(_GET_TRANSCRIPTION, {"TranscriptionJobName": name})

    def get_medical_transcription_job(self, name: str) -> MedicalTranscriptionJob:
        return self._call(_GET_MEDICAL, {"MedicalTranscriptionJobName": name})

    def get_call_analytics_job(self, name: str) -> CallAnalyticsJob:
        return self._call(_GET_CALL_ANALYTICS, {"CallAnalyticsJobName": name})

    def describe_speaker_enrollment_job(self, domain_id: str, job_id: str) -> SpeakerEnrollmentJob:
        return self._call(_DESCRIBE_ENROLLMENT, {"DomainId": domain_id, "JobId": job_id})

    def _wait(
        self, get: Callable[[], _J], timeout: float, progress: Progress | None, first: float, longest: float
    ) -> _J:
        plan = WaitPlan(self._monotonic(), timeout, first, longest)
        while True:
            job = get()
            if progress is not None:
                progress(job)
            delay = plan.after(job, self._monotonic())
            if delay is None:
                return job
            self._sleep(delay)

    def wait_for_transcription_job(
        self, name: str, *, timeout: float = 3600.0, progress: Progress | None = None, first_delay: float = 1.0,
        max_delay: float = 20.0,
    ) -> TranscriptionJob:  # fmt: skip
        """See :meth:`JobsClient.wait_for_transcription_job`."""
        return self._wait(lambda: self.get_transcription_job(name), timeout, progress, first_delay, max_delay)

    def wait_for_medical_transcription_job(
        self, name: str, *, timeout: float = 3600.0, progress: Progress | None = None, first_delay: float = 1.0,
        max_delay: float = 20.0,
    ) -> MedicalTranscriptionJob:  # fmt: skip
        """See :meth:`JobsClient.wait_for_transcription_job`."""
        return self._wait(lambda: self.get_medical_transcription_job(name), timeout, progress, first_delay, max_delay)

    def wait_for_call_analytics_job(
        self, name: str, *, timeout: float = 3600.0, progress: Progress | None = None, first_delay: float = 1.0,
        max_delay: float = 20.0,
    ) -> CallAnalyticsJob:  # fmt: skip
        """See :meth:`JobsClient.wait_for_transcription_job`."""
        return self._wait(lambda: self.get_call_analytics_job(name), timeout, progress, first_delay, max_delay)

    def wait_for_speaker_enrollment_job(
        self, domain_id: str, job_id: str, *, timeout: float = 3600.0, progress: Progress | None = None,
        first_delay: float = 1.0, max_delay: float = 20.0,
    ) -> SpeakerEnrollmentJob:  # fmt: skip
        """See :meth:`JobsClient.wait_for_speaker_enrollment_job`."""
        return self._wait(
            lambda: self.describe_speaker_enrollment_job(domain_id, job_id), timeout, progress, first_delay, max_delay
        )
