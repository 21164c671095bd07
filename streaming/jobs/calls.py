"""The job APIs' wire decisions, pure: which call is which, a signed request, a typed reply, when to poll again.

The calls speak the AWS JSON protocol: Transcribe with ``application/x-amz-json-1.1`` and
``X-Amz-Target: Transcribe.<Operation>`` (signing name ``transcribe``), Voice ID with
``application/x-amz-json-1.0`` and ``VoiceID.<Operation>`` (signing name ``voiceid``).
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import msgspec

import sigv4
from sigv4 import Credentials

from ..proto.errors import ProtocolError, TranscribeError, service_error_from_http
from ..proto.retry import RetryPolicy, is_retryable
from .shapes import (
    CallAnalyticsJob,
    Job,
    JobFailedError,
    JobWaitTimeout,
    MedicalTranscriptionJob,
    SpeakerEnrollmentJob,
    TranscriptionJob,
)

__all__ = [
    "JobRequest",
    "WaitPlan",
    "build_request",
    "default_jobs_endpoint",
    "parse_response",
]


_J = TypeVar("_J", TranscriptionJob, MedicalTranscriptionJob, CallAnalyticsJob, SpeakerEnrollmentJob)


# -- the wire: requests and responses (pure) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobOperation(Generic[_J]):
    service: str  # signing name
    target: str  # X-Amz-Target
    content_type: str
    key: str  # the response member holding the job
    model: type[_J]


_TRANSCRIBE_JSON: Final = "application/x-amz-json-1.1"
_VOICEID_JSON: Final = "application/x-amz-json-1.0"
GET_TRANSCRIPTION_JOB: Final = JobOperation(
    "transcribe", "Transcribe.GetTranscriptionJob", _TRANSCRIBE_JSON, "TranscriptionJob", TranscriptionJob
)
GET_MEDICAL_JOB: Final = JobOperation(
    "transcribe",
    "Transcribe.GetMedicalTranscriptionJob",
    _TRANSCRIBE_JSON,
    "MedicalTranscriptionJob",
    MedicalTranscriptionJob,
)
GET_CALL_ANALYTICS_JOB: Final = JobOperation(
    "transcribe", "Transcribe.GetCallAnalyticsJob", _TRANSCRIBE_JSON, "CallAnalyticsJob", CallAnalyticsJob
)
DESCRIBE_ENROLLMENT_JOB: Final = JobOperation(
    "voiceid", "VoiceID.DescribeSpeakerEnrollmentJob", _VOICEID_JSON, "Job", SpeakerEnrollmentJob
)
OPERATIONS: Final[Mapping[str, JobOperation[Any]]] = {
    op.target: op for op in (GET_TRANSCRIPTION_JOB, GET_MEDICAL_JOB, GET_CALL_ANALYTICS_JOB, DESCRIBE_ENROLLMENT_JOB)
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
    """The typed job from a 200, or the service's typed error (see :mod:`streaming.proto.errors`).

    A reply that is not the protocol (not JSON, no job in it, a field of the wrong type)
    raises :class:`~streaming.proto.errors.ProtocolError` saying where.
    """
    job: Job = parse_reply(OPERATIONS[target], status, headers, body)
    return job


def parse_reply(operation: JobOperation[_J], status: int, headers: Mapping[str, str], body: bytes) -> _J:
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
class CallAttempts:
    """The retry decision for one call: the streaming client's policy, with jitter."""

    policy: RetryPolicy
    rng: random.Random
    started: float
    count: int = 0

    def pause_after(self, error: TranscribeError, now: float) -> float | None:
        """Seconds to wait before trying again, or None: give up and raise ``error``."""
        self.count += 1
        pause = self.policy.delay(self.count, self.rng)
        if (
            not is_retryable(error)
            or self.count >= self.policy.max_attempts
            or now - self.started + pause > self.policy.max_total
        ):
            return None
        return pause


Progress = Callable[[Job], object]
