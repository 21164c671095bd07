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
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

from sigv4 import Credentials

from ..proto.credentials import credentials_for
from ..proto.endpoints import check_endpoint, check_region
from ..proto.errors import ConnectError, ParameterError, StreamTimeout, TranscribeError
from ..proto.retry import DEFAULT_RETRY, RetryPolicy
from .calls import (
    DESCRIBE_ENROLLMENT_JOB,
    GET_CALL_ANALYTICS_JOB,
    GET_MEDICAL_JOB,
    GET_TRANSCRIPTION_JOB,
    CallAttempts,
    JobOperation,
    JobRequest,
    Progress,
    WaitPlan,
    build_request,
    default_jobs_endpoint,
    parse_reply,
)
from .shapes import CallAnalyticsJob, MedicalTranscriptionJob, SpeakerEnrollmentJob, TranscriptionJob

__all__ = [
    "BlockingJobsClient",
    "JobsClient",
]


_J = TypeVar("_J", TranscriptionJob, MedicalTranscriptionJob, CallAnalyticsJob, SpeakerEnrollmentJob)


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
            "voiceid": check_endpoint(voiceid_endpoint or endpoint or default_jobs_endpoint("voiceid", region), "api"),
        }
        self.credentials = credentials or credentials_for(self.endpoints["transcribe"])
        self.retry = retry
        self.rng = random.Random(seed)  # noqa: S311 - jitter, not cryptography
        self.clock = clock or (lambda: _dt.datetime.now(_dt.UTC))

    def request(self, operation: JobOperation[Any], params: Mapping[str, object]) -> JobRequest:
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

    async def _call(self, operation: JobOperation[_J], params: Mapping[str, str]) -> _J:
        _names(params)
        loop = asyncio.get_running_loop()
        attempts = CallAttempts(self._settings.retry, self._settings.rng, loop.time())
        while True:
            request = self._settings.request(operation, params)
            try:
                try:
                    reply = await self._http.post(request.url, headers=dict(request.headers), content=request.body)
                except httpx.HTTPError as exc:
                    raise _transport_error(exc, request.url) from exc
                return parse_reply(operation, reply.status_code, reply.headers, reply.content)
            except TranscribeError as exc:
                pause = attempts.pause_after(exc, loop.time())
                if pause is None:
                    raise
                await asyncio.sleep(pause)

    async def get_transcription_job(self, name: str) -> TranscriptionJob:
        return await self._call(GET_TRANSCRIPTION_JOB, {"TranscriptionJobName": name})

    async def get_medical_transcription_job(self, name: str) -> MedicalTranscriptionJob:
        return await self._call(GET_MEDICAL_JOB, {"MedicalTranscriptionJobName": name})

    async def get_call_analytics_job(self, name: str) -> CallAnalyticsJob:
        return await self._call(GET_CALL_ANALYTICS_JOB, {"CallAnalyticsJobName": name})

    async def describe_speaker_enrollment_job(self, domain_id: str, job_id: str) -> SpeakerEnrollmentJob:
        return await self._call(DESCRIBE_ENROLLMENT_JOB, {"DomainId": domain_id, "JobId": job_id})

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

    def _call(self, operation: JobOperation[_J], params: Mapping[str, str]) -> _J:
        _names(params)
        attempts = CallAttempts(self._settings.retry, self._settings.rng, self._monotonic())
        while True:
            request = self._settings.request(operation, params)
            try:
                try:
                    reply = self._http.post(request.url, headers=dict(request.headers), content=request.body)
                except httpx.HTTPError as exc:
                    raise _transport_error(exc, request.url) from exc
                return parse_reply(operation, reply.status_code, reply.headers, reply.content)
            except TranscribeError as exc:
                pause = attempts.pause_after(exc, self._monotonic())
                if pause is None:
                    raise
                self._sleep(pause)

    def get_transcription_job(self, name: str) -> TranscriptionJob:
        return self._call(GET_TRANSCRIPTION_JOB, {"TranscriptionJobName": name})

    def get_medical_transcription_job(self, name: str) -> MedicalTranscriptionJob:
        return self._call(GET_MEDICAL_JOB, {"MedicalTranscriptionJobName": name})

    def get_call_analytics_job(self, name: str) -> CallAnalyticsJob:
        return self._call(GET_CALL_ANALYTICS_JOB, {"CallAnalyticsJobName": name})

    def describe_speaker_enrollment_job(self, domain_id: str, job_id: str) -> SpeakerEnrollmentJob:
        return self._call(DESCRIBE_ENROLLMENT_JOB, {"DomainId": domain_id, "JobId": job_id})

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
