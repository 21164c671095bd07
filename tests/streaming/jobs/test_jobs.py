"""The job status APIs: our client against the local endpoint, a hostile server, and moto.

Seeds are the service's full response syntax; every field is checked after the round trip.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web

import streaming
from sigv4 import Credentials
from streaming import PcmSource, TranscribeStreamingClient
from streaming.jobs import (
    BlockingJobsClient,
    CallAnalyticsJob,
    JobFailedError,
    JobsClient,
    JobWaitTimeout,
    SpeakerEnrollmentJobStatus,
    TranscriptionJobStatus,
    build_request,
    parse_response,
)
from streaming.local import LocalEndpoint
from streaming.proto.errors import (
    BadRequestException,
    InternalFailureException,
    InvalidSignatureException,
    ProtocolError,
    ResourceNotFoundException,
    ThrottlingException,
    UnrecognizedClientException,
    ValidationException,
)
from streaming.proto.retry import RetryPolicy
from tests.helpers import FIXTURES, word_error_rate

T0 = 1764500000.0  # 2025-11-30T10:53:20Z
UTC = dt.UTC
FAST = RetryPolicy(base_delay=0.01, max_delay=0.02)

TRANSCRIPTION = {
    "TranscriptionJobName": "meeting-42",
    "TranscriptionJobStatus": "COMPLETED",
    "LanguageCode": "en-US",
    "MediaSampleRateHertz": 16000,
    "MediaFormat": "flac",
    "Media": {"MediaFileUri": "s3://bucket/meeting.flac", "RedactedMediaFileUri": "s3://bucket/redacted.flac"},
    "Transcript": {
        "TranscriptFileUri": "https://s3.example/meeting.json",
        "RedactedTranscriptFileUri": "https://s3.example/redacted.json",
    },
    "StartTime": T0 + 1,
    "CreationTime": T0,
    "CompletionTime": T0 + 60.5,
    "Settings": {
        "VocabularyName": "terms",
        "ShowSpeakerLabels": True,
        "MaxSpeakerLabels": 4,
        "ChannelIdentification": False,
        "ShowAlternatives": True,
        "MaxAlternatives": 3,
        "VocabularyFilterName": "rude",
        "VocabularyFilterMethod": "mask",
    },
    "ModelSettings": {"LanguageModelName": "medical-terms"},
    "JobExecutionSettings": {
        "AllowDeferredExecution": True,
        "DataAccessRoleArn": "arn:aws:iam::123456789012:role/Transcribe",
    },
    "ContentRedaction": {
        "RedactionType": "PII",
        "RedactionOutput": "redacted_and_unredacted",
        "PiiEntityTypes": ["NAME", "SSN"],
    },
    "IdentifyLanguage": False,
    "IdentifyMultipleLanguages": True,
    "LanguageOptions": ["en-US", "es-US"],
    "IdentifiedLanguageScore": 0.93,
    "LanguageCodes": [
        {"LanguageCode": "en-US", "DurationInSeconds": 41.5},
        {"LanguageCode": "es-US", "DurationInSeconds": 12.25},
    ],
    "Tags": [{"Key": "team", "Value": "support"}],
    "Subtitles": {
        "Formats": ["vtt", "srt"],
        "SubtitleFileUris": ["https://s3.example/m.vtt", "https://s3.example/m.srt"],
        "OutputStartIndex": 1,
    },
    "LanguageIdSettings": {"en-US": {"VocabularyName": "terms", "LanguageModelName": "medical-terms"}},
    "ToxicityDetection": [{"ToxicityCategories": ["ALL"]}],
}
MEDICAL = {
    "MedicalTranscriptionJobName": "clinic-7",
    "TranscriptionJobStatus": "FAILED",
    "LanguageCode": "en-US",
    "MediaSampleRateHertz": 44100,
    "MediaFormat": "wav",
    "Media": {"MediaFileUri": "s3://bucket/visit.wav"},
    "Transcript": {"TranscriptFileUri": "https://s3.example/visit.json"},
    "CreationTime": T0,
    "FailureReason": "The media format provided does not match the detected media format.",
    "Settings": {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 2, "ChannelIdentification": False,
                 "ShowAlternatives": False, "VocabularyName": "drugs"},
    "ContentIdentificationType": "PHI",
    "Specialty": "PRIMARYCARE",
    "Type": "CONVERSATION",
    "Tags": [{"Key": "ward", "Value": "3"}],
}  # fmt: skip
CALL_ANALYTICS = {
    "CallAnalyticsJobName": "call-9",
    "CallAnalyticsJobStatus": "COMPLETED",
    "CallAnalyticsJobDetails": {
        "Skipped": [
            {
                "Feature": "GENERATIVE_SUMMARIZATION",
                "ReasonCode": "INSUFFICIENT_CONVERSATION_CONTENT",
                "Message": "The conversation is too short.",
            }
        ]
    },
    "LanguageCode": "en-US",
    "MediaSampleRateHertz": 8000,
    "MediaFormat": "wav",
    "Media": {"MediaFileUri": "s3://bucket/call.wav"},
    "Transcript": {"TranscriptFileUri": "https://s3.example/call.json"},
    "StartTime": T0,
    "CreationTime": T0,
    "CompletionTime": T0 + 30,
    "DataAccessRoleArn": "arn:aws:iam::123456789012:role/Analytics",
    "IdentifiedLanguageScore": 0.8,
    "Settings": {
        "VocabularyName": "products",
        "VocabularyFilterName": "rude",
        "VocabularyFilterMethod": "tag",
        "LanguageModelName": "calls",
        "ContentRedaction": {"RedactionType": "PII", "RedactionOutput": "redacted", "PiiEntityTypes": ["ALL"]},
        "LanguageOptions": ["en-US", "en-GB"],
        "LanguageIdSettings": {"en-GB": {"VocabularyFilterName": "rude"}},
        "Summarization": {"GenerateAbstractiveSummary": True},
    },
    "ChannelDefinitions": [
        {"ChannelId": 0, "ParticipantRole": "AGENT"},
        {"ChannelId": 1, "ParticipantRole": "CUSTOMER"},
    ],
    "Tags": [{"Key": "queue", "Value": "billing"}],
}
ENROLLMENT = {
    "CreatedAt": T0,
    "DataAccessRoleArn": "arn:aws:iam::123456789012:role/VoiceID",
    "DomainId": "dom-1",
    "EndedAt": T0 + 600,
    "EnrollmentConfig": {
        "ExistingEnrollmentAction": "OVERWRITE",
        "FraudDetectionConfig": {"FraudDetectionAction": "FAIL", "RiskThreshold": 50, "WatchlistIds": ["wl-1"]},
    },
    "FailureDetails": {"Message": "2 of 10 speakers could not be enrolled", "StatusCode": 400},
    "InputDataConfig": {"S3Uri": "s3://bucket/speakers.json"},
    "JobId": "job-1",
    "JobName": "enroll-batch",
    "JobProgress": {"PercentComplete": 100},
    "JobStatus": "COMPLETED_WITH_ERRORS",
    "OutputDataConfig": {"KmsKeyId": "alias/voiceid", "S3Uri": "s3://bucket/out/"},
}
RESOURCES = {
    "TranscriptionJobs": [
        TRANSCRIPTION,
        {"TranscriptionJobName": "slow", "StatusSequence": ["QUEUED", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]},
        {"TranscriptionJobName": "stuck", "StatusSequence": ["IN_PROGRESS"]},
        {"TranscriptionJobName": "future", "TranscriptionJobStatus": "ARCHIVED", "NewField": {"A": 1}},
    ],
    "MedicalTranscriptionJobs": [MEDICAL],
    "CallAnalyticsJobs": [CALL_ANALYTICS],
    "SpeakerEnrollmentJobs": [
        ENROLLMENT,
        {
            "DomainId": "dom-1",
            "JobId": "job-2",
            "StatusSequence": ["SUBMITTED", "IN_PROGRESS", "FAILED"],
            "FailureDetails": {"Message": "The input file is not valid JSON", "StatusCode": 400},
        },
    ],
}


@pytest.fixture
async def jobs_endpoint() -> AsyncIterator[LocalEndpoint]:
    async with LocalEndpoint(tls="none", port=0, resources=RESOURCES) as ep:
        yield ep


def client_for(ep: LocalEndpoint, **kw: Any) -> JobsClient:
    return JobsClient(endpoint=ep.http_url, retry=FAST, **kw)


def wire(job: Any) -> dict[str, Any]:
    """A parsed job back in the service's JSON (timestamps as epoch seconds)."""
    import msgspec

    def epoch(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.timestamp()
        if isinstance(value, dict):
            return {k: epoch(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [epoch(v) for v in value]
        return value

    document = epoch(msgspec.to_builtins(job, builtin_types=(dt.datetime,)))
    document.pop("__extra_fields__", None)
    return document


# -- every field, every kind ---------------------------------------------------------------------


async def test_every_field_of_a_transcription_job(jobs_endpoint: LocalEndpoint) -> None:
    async with client_for(jobs_endpoint) as jobs:
        job = await jobs.get_transcription_job("meeting-42")
    assert wire(job) == TRANSCRIPTION
    assert job.status is TranscriptionJobStatus.COMPLETED
    assert job.completion_time == dt.datetime.fromtimestamp(T0 + 60.5, UTC)
    assert job.completion_time.tzinfo is not None
    assert job.language_codes[1].duration_in_seconds == 12.25
    assert job.language_id_settings["en-US"].language_model_name == "medical-terms"
    assert job.content_redaction is not None and job.content_redaction.pii_entity_types == ("NAME", "SSN")
    assert job.subtitles is not None and job.subtitles.output_start_index == 1


async def test_every_field_of_the_other_kinds(jobs_endpoint: LocalEndpoint) -> None:
    async with client_for(jobs_endpoint) as jobs:
        medical = await jobs.get_medical_transcription_job("clinic-7")
        call = await jobs.get_call_analytics_job("call-9")
        enrollment = await jobs.describe_speaker_enrollment_job("dom-1", "job-1")
    assert wire(medical) == MEDICAL
    assert medical.status is TranscriptionJobStatus.FAILED and medical.failure == MEDICAL["FailureReason"]
    assert wire(call) == CALL_ANALYTICS
    assert call.call_analytics_job_details is not None
    assert call.call_analytics_job_details.skipped[0].reason_code == "INSUFFICIENT_CONVERSATION_CONTENT"
    assert [c.participant_role for c in call.channel_definitions] == ["AGENT", "CUSTOMER"]
    assert wire(enrollment) == ENROLLMENT
    assert enrollment.status is SpeakerEnrollmentJobStatus.COMPLETED_WITH_ERRORS
    assert enrollment.enrollment_config is not None and enrollment.enrollment_config.fraud_detection_config
    assert enrollment.failure == "2 of 10 speakers could not be enrolled (status 400)"


async def test_unknown_statuses_and_fields_are_kept(jobs_endpoint: LocalEndpoint) -> None:
    async with client_for(jobs_endpoint) as jobs:
        job = await jobs.get_transcription_job("future")
    assert job.status == "ARCHIVED" and not isinstance(job.status, TranscriptionJobStatus)
    assert job.extra_fields == {"NewField": {"A": 1}}
    assert not job.is_terminal


# -- waiters ----------------------------------------------------------------------------------------


async def test_a_waiter_follows_the_job_to_its_end(jobs_endpoint: LocalEndpoint) -> None:
    seen: list[str | None] = []
    async with client_for(jobs_endpoint) as jobs:
        job = await jobs.wait_for_transcription_job(
            "slow", first_delay=0.01, max_delay=0.02, progress=lambda j: seen.append(j.raw_status)
        )
    assert job.status is TranscriptionJobStatus.COMPLETED
    assert seen == ["QUEUED", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]
    assert job.completion_time is not None


async def test_a_waiter_raises_the_failure_with_its_reason(jobs_endpoint: LocalEndpoint) -> None:
    async with client_for(jobs_endpoint) as jobs:
        with pytest.raises(JobFailedError) as info:
            await jobs.wait_for_speaker_enrollment_job("dom-1", "job-2", first_delay=0.01, max_delay=0.02)
        with pytest.raises(JobFailedError, match="does not match the detected media format"):
            await jobs.wait_for_medical_transcription_job("clinic-7")
    assert info.value.reason == "The input file is not valid JSON (status 400)"
    assert info.value.job.raw_status == "FAILED"


async def test_a_waiter_gives_up_at_its_timeout(jobs_endpoint: LocalEndpoint) -> None:
    async with client_for(jobs_endpoint) as jobs:
        with pytest.raises(JobWaitTimeout) as info:
            await jobs.wait_for_transcription_job("stuck", timeout=0.2, first_delay=0.05, max_delay=0.05)
    assert info.value.job.raw_status == "IN_PROGRESS"
    assert isinstance(info.value, TimeoutError)


def test_the_blocking_client(jobs_endpoint_thread: str) -> None:
    with BlockingJobsClient(endpoint=jobs_endpoint_thread, retry=FAST) as jobs:
        assert jobs.get_call_analytics_job("call-9").status is TranscriptionJobStatus.COMPLETED
        job = jobs.wait_for_transcription_job("slow", first_delay=0.01, max_delay=0.02)
        assert job.raw_status == "COMPLETED"
        with pytest.raises(BadRequestException, match="The requested job couldn't be found"):
            jobs.get_transcription_job("nope")


@pytest.fixture
def jobs_endpoint_thread() -> Iterator[str]:
    import threading

    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with LocalEndpoint(tls="none", resources=RESOURCES) as ep:
            box.update(url=ep.http_url, loop=asyncio.get_running_loop(), stop=asyncio.Event())
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(15)
    yield box["url"]
    box["loop"].call_soon_threadsafe(box["stop"].set)
    thread.join(15)


# -- errors -------------------------------------------------------------------------------------------


async def test_the_services_errors_are_typed(jobs_endpoint: LocalEndpoint) -> None:
    async with client_for(jobs_endpoint) as jobs:
        with pytest.raises(BadRequestException, match="couldn't be found") as missing:
            await jobs.get_call_analytics_job("no-such-call")
        with pytest.raises(ResourceNotFoundException, match="job-9"):
            await jobs.describe_speaker_enrollment_job("dom-1", "job-9")
        with pytest.raises(streaming.ParameterError, match="TranscriptionJobName"):
            await jobs.get_transcription_job("")
    assert missing.value.request_id
    stranger = client_for(jobs_endpoint, credentials=Credentials("AKIDSTRANGER", "x"))
    async with stranger:
        with pytest.raises(UnrecognizedClientException):
            await stranger.get_transcription_job("meeting-42")
    forged = client_for(jobs_endpoint, credentials=Credentials(streaming.DEV_CREDENTIALS.access_key_id, "wrong"))
    async with forged:
        with pytest.raises(InvalidSignatureException):
            await forged.get_transcription_job("meeting-42")


async def test_the_endpoint_checks_requests() -> None:
    async with LocalEndpoint(tls="none") as ep, httpx.AsyncClient() as http:
        unsigned = await http.post(
            ep.http_url + "/",
            headers={"x-amz-target": "Transcribe.GetTranscriptionJob"},
            content=b"{}",
        )
    assert unsigned.status_code == 403
    assert unsigned.json()["__type"] == "AccessDeniedException"


class Flaky:
    """A hostile HTTP service: answers from a script, one reply per request."""

    def __init__(self, replies: list[tuple[int, bytes, dict[str, str]]]) -> None:
        self.replies = replies
        self.requests: list[dict[str, str]] = []

    async def __aenter__(self) -> str:
        async def handle(request: web.Request) -> web.Response:
            self.requests.append({k.lower(): v for k, v in request.headers.items()})
            status, body, headers = self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]
            return web.Response(status=status, body=body, headers=headers)

        app = web.Application()
        app.router.add_post("/", handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


OK = (
    200,
    json.dumps({"TranscriptionJob": {"TranscriptionJobName": "j", "TranscriptionJobStatus": "QUEUED"}}).encode(),
    {},
)
THROTTLED = (400, b'{"__type": "com.amazonaws.transcribe#ThrottlingException", "message": "Rate exceeded"}', {})
BUSY = (429, b'{"__type": "LimitExceededException", "Message": "slow down"}', {})
BROKEN = (500, b'{"__type": "InternalFailureException", "Message": "oops"}', {})
BAD = (400, b'{"__type": "BadRequestException", "Message": "no"}', {"x-amzn-errortype": "BadRequestException:http://x"})


@pytest.mark.parametrize("failures", [[THROTTLED], [BUSY, BROKEN], [BROKEN, BROKEN, THROTTLED]])
async def test_throttling_and_5xx_are_retried(failures: list[tuple[int, bytes, dict[str, str]]]) -> None:
    service = Flaky([*failures, OK])
    async with service as url, JobsClient(endpoint=url, retry=RetryPolicy(base_delay=0.01, max_delay=0.02)) as jobs:
        job = await jobs.get_transcription_job("j")
    assert job.raw_status == "QUEUED"
    assert len(service.requests) == len(failures) + 1
    assert all(r["x-amz-target"] == "Transcribe.GetTranscriptionJob" for r in service.requests)
    assert all(r["content-type"] == "application/x-amz-json-1.1" for r in service.requests)
    assert all(r["authorization"].startswith("AWS4-HMAC-SHA256 Credential=") for r in service.requests)
    assert all("/transcribe/aws4_request" in r["authorization"] for r in service.requests)


async def test_4xx_is_not_retried_and_retries_are_bounded() -> None:
    service = Flaky([BAD])
    async with service as url, JobsClient(endpoint=url, retry=FAST) as jobs:
        with pytest.raises(BadRequestException, match="no"):
            await jobs.get_transcription_job("j")
    assert len(service.requests) == 1
    service = Flaky([BROKEN])
    async with service as url, JobsClient(endpoint=url, retry=RetryPolicy(max_attempts=3, base_delay=0.01)) as jobs:
        with pytest.raises(InternalFailureException):
            await jobs.get_transcription_job("j")
    assert len(service.requests) == 3


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"<html>not json</html>", "not JSON"),
        (b"{}", "no TranscriptionJob object"),
        (b'{"TranscriptionJob": null}', "no TranscriptionJob object"),
        (b'{"TranscriptionJob": {"MediaSampleRateHertz": "fast"}}', "MediaSampleRateHertz"),
        (b'{"TranscriptionJob": {"Settings": []}}', "Settings"),
    ],
)
def test_replies_that_are_not_the_protocol(body: bytes, needle: str) -> None:
    with pytest.raises(ProtocolError, match=needle):
        parse_response("Transcribe.GetTranscriptionJob", 200, {}, body)


def test_voice_id_errors_are_typed() -> None:
    with pytest.raises(ValidationException):
        parse_response(
            "VoiceID.DescribeSpeakerEnrollmentJob", 400, {}, b'{"__type": "ValidationException", "message": "x"}'
        )
    with pytest.raises(ThrottlingException) as info:
        parse_response("VoiceID.DescribeSpeakerEnrollmentJob", 400, {}, b'{"__type": "ThrottlingException"}')
    assert info.value.retryable


async def test_a_job_missing_its_name_is_the_services_error(jobs_endpoint: LocalEndpoint) -> None:
    request = build_request(
        "VoiceID.DescribeSpeakerEnrollmentJob",
        {"JobId": "job-1"},
        endpoint=jobs_endpoint.http_url,
        credentials=streaming.DEV_CREDENTIALS,
        region="us-east-1",
        now=dt.datetime.now(UTC),
    )
    async with httpx.AsyncClient() as http:
        reply = await http.post(request.url, headers=dict(request.headers), content=request.body)
    assert reply.status_code == 400
    assert reply.json()["__type"] == "ValidationException" and "domainId" in reply.json()["message"]


# -- the post-call job of a real Call Analytics stream ---------------------------------------------------


POST_CALL = {
    "OutputLocation": "s3://calls-bucket/analytics/",
    "DataAccessRoleArn": "arn:aws:iam::123456789012:role/PostCall",
    "ContentRedactionOutput": "redacted",
}


async def call_analytics_stream(ep: LocalEndpoint, audio: bytes) -> str:
    client = TranscribeStreamingClient(endpoint=ep.http2_url)
    async with client.start_call_analytics_stream_transcription(
        language_code="en-US",
        media_sample_rate_hz=16000,
        media_encoding="pcm",
        channel_definitions=[
            {"ChannelId": 0, "ParticipantRole": "AGENT"},
            {"ChannelId": 1, "ParticipantRole": "CUSTOMER"},
        ],
        post_call_analytics_settings=POST_CALL,
    ) as stream:
        sender = asyncio.create_task(stream.send_from(PcmSource(audio, sample_rate=16000, channels=2), speed=8))
        async for _ in stream:
            pass
        await sender
    assert stream.session_id
    return stream.session_id


async def test_a_call_analytics_stream_starts_a_post_call_job() -> None:
    async with LocalEndpoint(tls="none") as ep:
        session = await call_analytics_stream(ep, (FIXTURES / "two-channel.pcm").read_bytes())
        seen: list[str | None] = []
        async with client_for(ep) as jobs:
            job = await jobs.wait_for_call_analytics_job(
                session, first_delay=0.01, max_delay=0.02, progress=lambda j: seen.append(j.raw_status)
            )
        assert isinstance(job, CallAnalyticsJob)
        # By time, not by call: each status shows for as long as it lasts, in this order.
        assert [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s] == ["QUEUED", "IN_PROGRESS", "COMPLETED"]
        assert job.data_access_role_arn == POST_CALL["DataAccessRoleArn"]
        assert job.settings is not None and job.settings.content_redaction is not None
        assert job.settings.content_redaction.redaction_output == "redacted"
        assert [c.participant_role for c in job.channel_definitions] == ["AGENT", "CUSTOMER"]
        # ContentRedactionOutput "redacted": the redacted file only, as the service writes it.
        assert job.transcript is not None and job.transcript.redacted_transcript_file_uri
        assert job.transcript.transcript_file_uri is None
        async with httpx.AsyncClient() as http:
            output = (await http.get(job.transcript.redacted_transcript_file_uri)).json()
            missing = await http.get(job.transcript.redacted_transcript_file_uri.replace("redacted-", ""))
    assert missing.status_code == 404
    assert output["JobName"] == session and output["JobStatus"] == "COMPLETED"
    assert output["ContentMetadata"] == {"Output": "Redacted"}
    traits = output["ConversationCharacteristics"]
    assert set(traits) >= {"TalkTime", "TalkSpeed", "NonTalkTime", "Interruptions", "Sentiment"}
    assert all(turn["LoudnessScores"] and max(turn["LoudnessScores"]) > 20 for turn in output["Transcript"])
    for role, channel in (("AGENT", 0), ("CUSTOMER", 1)):
        text = " ".join(turn["Content"] for turn in output["Transcript"] if turn["ParticipantRole"] == role)
        assert word_error_rate((FIXTURES / f"channel{channel}.txt").read_text(), text) <= 0.25
    assert output["ConversationCharacteristics"]["TotalConversationDurationMillis"] > 0


async def test_a_silent_call_gives_a_failed_post_call_job() -> None:
    async with LocalEndpoint(tls="none") as ep:
        session = await call_analytics_stream(ep, bytes(16000 * 2))
        async with client_for(ep) as jobs:
            with pytest.raises(JobFailedError, match="doesn't contain any speech"):
                await jobs.wait_for_call_analytics_job(session, first_delay=0.01, max_delay=0.02)


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"DataAccessRoleArn": POST_CALL["DataAccessRoleArn"]}, "OutputLocation is required"),
        ({**POST_CALL, "OutputLocation": "https://bucket/x"}, "s3:// URI"),
        ({**POST_CALL, "DataAccessRoleArn": "role/PostCall"}, "IAM role ARN"),
        ({**POST_CALL, "ContentRedactionOutput": "all"}, "ContentRedactionOutput"),
        ({**POST_CALL, "Surprise": 1}, "unknown fields: Surprise"),
    ],
)
def test_post_call_settings_are_checked_before_connecting(settings: dict[str, Any], needle: str) -> None:
    client = TranscribeStreamingClient(endpoint="http://127.0.0.1:9")
    with pytest.raises(streaming.ParameterError, match=needle):
        client.start_call_analytics_stream_transcription(
            language_code="en-US",
            media_sample_rate_hz=16000,
            media_encoding="pcm",
            post_call_analytics_settings=settings,
        )


# -- the command line -----------------------------------------------------------------------------------


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streaming.cli", "job", *argv], capture_output=True, text=True, timeout=60, check=False
    )


def test_job_get_and_wait_on_the_command_line(jobs_endpoint_thread: str) -> None:
    url = jobs_endpoint_thread
    done = cli("get", "meeting-42", "--endpoint", url)
    assert done.returncode == 0 and done.stdout.startswith("meeting-42: COMPLETED")
    assert "transcript: https://s3.example/meeting.json" in done.stdout
    as_json = cli("get", "call-9", "--call-analytics", "--endpoint", url, "--output", "json")
    assert as_json.returncode == 0
    # As `aws transcribe get-call-analytics-job` prints it: the response's wrapper, every
    # field, and epoch seconds as ISO 8601 with the offset (so jq scripts carry over).
    iso = {key: "2025-11-30T10:53:20+00:00" for key in ("StartTime", "CreationTime")}
    expected = {**CALL_ANALYTICS, **iso, "CompletionTime": "2025-11-30T10:53:50+00:00"}
    assert json.loads(as_json.stdout) == {"CallAnalyticsJob": expected}
    # `get` succeeded, whatever the job's status; --exit-status opts in to status codes.
    failed = cli("get", "clinic-7", "--medical", "--endpoint", url)
    assert failed.returncode == 0 and "failure: The media format" in failed.stdout
    assert cli("get", "clinic-7", "--medical", "--endpoint", url, "--exit-status").returncode == 3
    running = cli("get", "stuck", "--endpoint", url)
    assert running.returncode == 0 and "stuck: IN_PROGRESS" in running.stdout
    assert cli("get", "stuck", "--endpoint", url, "--exit-status").returncode == 5
    assert "HTTP Request" not in done.stderr + failed.stderr + running.stderr  # no library logging
    assert done.stderr == ""
    waited = cli("wait", "slow", "--endpoint", url)
    assert waited.returncode == 0 and "slow: COMPLETED" in waited.stdout
    timed_out = cli("wait", "stuck", "--endpoint", url, "--timeout", "0.5")
    assert timed_out.returncode == 6 and "still IN_PROGRESS" in timed_out.stderr
    enrolled = cli("get", "job-1", "--speaker-enrollment", "--domain-id", "dom-1", "--endpoint", url, "--exit-status")
    assert enrolled.returncode == 4 and "progress: 100" in enrolled.stdout
    voice_id = cli(
        "get", "job-1", "--speaker-enrollment", "--domain-id", "dom-1", "--endpoint", url, "--output", "json"
    )
    assert (
        json.loads(voice_id.stdout)["Job"]["CreatedAt"] == "2025-11-30T10:53:20+00:00"
    )  # describe-speaker-enrollment-job
    missing = cli("get", "nope", "--endpoint", url)
    assert missing.returncode == 254 and "couldn't be found" in missing.stderr and "Traceback" not in missing.stderr
    no_domain = cli("get", "job-1", "--speaker-enrollment", "--endpoint", url)
    assert no_domain.returncode == 252 and "--domain-id" in no_domain.stderr


# -- moto, a third-party emulator of the same APIs ---------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_against_moto(moto_url: str) -> None:
    import botocore.session

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    pair = Credentials("AKIDMOTO", "moto-secret")
    boto = botocore.session.get_session().create_client(
        "transcribe",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id=pair.access_key_id,
        aws_secret_access_key=pair.secret_access_key,
    )
    boto.start_transcription_job(
        TranscriptionJobName="moto-job",
        LanguageCode="en-US",
        MediaFormat="flac",
        Media={"MediaFileUri": "s3://bucket/fox.flac"},
        Settings={"ShowSpeakerLabels": True, "MaxSpeakerLabels": 2},
    )
    boto.start_medical_transcription_job(
        MedicalTranscriptionJobName="moto-medical",
        LanguageCode="en-US",
        MediaFormat="wav",
        Media={"MediaFileUri": "s3://bucket/visit.wav"},
        OutputBucketName="bucket",
        Specialty="PRIMARYCARE",
        Type="DICTATION",
    )
    with BlockingJobsClient(credentials=pair, endpoint=moto_url, retry=FAST) as jobs:
        job = jobs.wait_for_transcription_job("moto-job", first_delay=0.01, max_delay=0.05, timeout=30)
        medical = jobs.wait_for_medical_transcription_job("moto-medical", first_delay=0.01, max_delay=0.05, timeout=30)
        with pytest.raises(BadRequestException):  # moto's word for a missing job
            jobs.get_transcription_job("not-there")
    assert job.status is TranscriptionJobStatus.COMPLETED
    assert job.media is not None and job.media.media_file_uri == "s3://bucket/fox.flac"
    assert job.settings is not None and job.settings.max_speaker_labels == 2
    assert job.creation_time is not None and job.creation_time.tzinfo is not None
    assert job.transcript is not None and job.transcript.transcript_file_uri
    assert medical.specialty == "PRIMARYCARE" and medical.type == "DICTATION"
    assert medical.status is TranscriptionJobStatus.COMPLETED


def test_job_pointed_at_the_http2_port_names_the_job_port(threaded_endpoint: LocalEndpoint) -> None:
    wrong = cli("get", "meeting-42", "--endpoint", threaded_endpoint.http2_url)
    assert wrong.returncode == 254
    assert wrong.stderr.count("\n") == 1 and "Traceback" not in wrong.stderr
    assert "HTTP/2 only" in wrong.stderr and threaded_endpoint.http_url in wrong.stderr
    assert "illegal request line" not in wrong.stderr


def test_streaming_over_http2_to_the_http_port_says_which_port(threaded_endpoint: LocalEndpoint) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "streaming.cli", "transcribe", str(FIXTURES / "fox.wav")),
            *("--endpoint", threaded_endpoint.http_url, "--no-pacing"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 255 and result.stderr.count("\n") == 1
    assert "answered in HTTP/1.1" in result.stderr and "ws:// (WebSocket)" in result.stderr
    assert "ProtocolError" not in result.stderr


async def test_post_call_jobs_are_bounded_and_the_oldest_go_first() -> None:
    """A stream with PostCallAnalyticsSettings leaves a job: a flood of such streams must
    not grow the endpoint without bound (the first job used to be kept for ever)."""
    silence = bytes(16000 * 2 * 2 // 2)  # 0.5 s of stereo
    async with LocalEndpoint(tls="none", engine="none", max_post_call_jobs=3) as ep:
        sessions = [await call_analytics_stream(ep, silence) for _ in range(5)]
        assert ep.jobs.post_call_jobs == 3
        async with client_for(ep) as jobs:
            for gone in sessions[:2]:
                with pytest.raises(BadRequestException, match="couldn't be found"):
                    await jobs.get_call_analytics_job(gone)
            for kept in sessions[2:]:
                assert (await jobs.get_call_analytics_job(kept)).name == kept


def test_an_output_location_longer_than_the_service_allows_is_refused() -> None:
    client = TranscribeStreamingClient(endpoint="http://127.0.0.1:9")
    with pytest.raises(streaming.ParameterError, match="at most 2000 characters"):
        client.start_call_analytics_stream_transcription(
            language_code="en-US",
            media_sample_rate_hz=16000,
            media_encoding="pcm",
            post_call_analytics_settings={**POST_CALL, "OutputLocation": "s3://bucket/" + "a" * 3000},
        )
