"""Scripted service faults (resources ``Faults``), end to end with our client over both
transports: each fault is one an app's retry logic must survive, and the client resumes
or surfaces the typed error as documented. Faults are placed in audio time or by count.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import streaming
from streaming import PcmSource, RetryPolicy, StreamReconnected, TranscribeStreamingClient
from streaming.jobs import JobsClient
from streaming.local import LocalEndpoint
from streaming.local.resources import load_resources
from streaming.proto.errors import ParameterError, ThrottlingException
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

FOX = FIXTURES / "fox.pcm"
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)


def session(prefix: str) -> str:
    return f"{prefix}-0000-4000-8000-000000000001"


FAULTS: dict[str, Any] = {
    "Faults": [
        {"SessionIdPrefix": "0000aaaa", "RefuseOpen": {"Exception": "LimitExceededException", "Times": 2}},
        {"SessionIdPrefix": "0000bbbb", "ExceptionAt": {"Seconds": 1.5, "Exception": "InternalFailureException"}},
        {"SessionIdPrefix": "0000cccc", "ResetAt": {"Seconds": 1.5, "How": "tcp"}},
        {"SessionIdPrefix": "0000dddd", "ResetAt": {"Seconds": 1.5, "How": "stream"}},
        {"SessionIdPrefix": "0000eeee", "StallResultsAt": {"Seconds": 1.0, "For": 60}},
        {"SessionIdPrefix": "0000ffff", "RefuseOpen": {"Exception": "BadRequestException"}},
        {"JobApi": {"Exception": "ThrottlingException", "Times": 2}},
    ],
    "TranscriptionJobs": [{"TranscriptionJobName": "weekly", "TranscriptionJobStatus": "COMPLETED"}],
}


async def transcribe(url: str, transport: str, session_id: str, **client: Any) -> tuple[list[Any], str]:
    api = TranscribeStreamingClient(endpoint=url, transport=transport, retry=FAST, **client)  # type: ignore[arg-type]
    async with api.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm", session_id=session_id
    ) as stream:
        sender = asyncio.create_task(stream.send_from(PcmSource(FOX, sample_rate=16000), speed=8))
        events = [e async for e in stream]
        await sender
    text = " ".join(
        r.transcript
        for e in events
        if isinstance(e, streaming.TranscriptEvent)
        for r in e.transcript.results
        if not r.is_partial
    )
    return events, text


@pytest.fixture
async def faulty() -> Any:
    async with LocalEndpoint(tls="none", resources=FAULTS) as ep:
        yield ep


def url_of(ep: LocalEndpoint, transport: str) -> str:
    return ep.http2_url if transport == "http2" else ep.websocket_url


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_a_throttled_open_is_retried_and_then_served(faulty: LocalEndpoint, transport: str) -> None:
    events, text = await transcribe(url_of(faulty, transport), transport, session("0000aaaa"))
    assert word_error_rate(FOX_TEXT, text) <= 0.2
    assert not [e for e in events if isinstance(e, StreamReconnected)]  # refused opens are not reconnects
    assert [s.outcome for s in faulty.completed] == ["completed"]


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_a_refusal_that_retrying_cannot_help_is_the_typed_error(faulty: LocalEndpoint, transport: str) -> None:
    with pytest.raises(streaming.BadRequestException, match="scripted fault"):
        await transcribe(url_of(faulty, transport), transport, session("0000ffff"))
    assert faulty.completed == type(faulty.completed)()  # no stream was opened


@pytest.mark.parametrize("transport", ["http2", "websocket"])
@pytest.mark.parametrize(
    ("prefix", "reason"),
    [("0000bbbb", "InternalFailureException"), ("0000cccc", ""), ("0000dddd", "")],
    ids=["exception-mid-call", "tcp-reset", "stream-reset"],
)
async def test_a_fault_mid_call_is_resumed_with_the_whole_transcript(
    faulty: LocalEndpoint, transport: str, prefix: str, reason: str
) -> None:
    events, text = await transcribe(url_of(faulty, transport), transport, session(prefix))
    reconnects = [e for e in events if isinstance(e, StreamReconnected)]
    assert len(reconnects) == 1 and reason in reconnects[0].reason
    assert word_error_rate(FOX_TEXT, text) <= 0.25
    assert faulty.completed[-1].outcome == "completed"
    assert faulty.completed[0].outcome != "completed"  # the first connection was the faulty one


@pytest.mark.parametrize("transport", ["http2", "websocket"])
async def test_results_that_stall_trip_the_apps_read_timeout_and_it_resumes(
    faulty: LocalEndpoint, transport: str
) -> None:
    # Results held 60 s once 1 s of audio is in: a client reading with a 10 s deadline
    # gives up on that connection and resumes; the stall acts once per session. (10 s is
    # far more than a busy machine needs between two results of a stream that is not held.)
    events, text = await transcribe(url_of(faulty, transport), transport, session("0000eeee"), read_timeout=10)
    reconnects = [e for e in events if isinstance(e, StreamReconnected)]
    assert len(reconnects) == 1 and "StreamTimeout" in reconnects[0].reason
    assert word_error_rate(FOX_TEXT, text) <= 0.25


async def test_a_session_no_fault_names_is_left_alone(faulty: LocalEndpoint) -> None:
    events, text = await transcribe(faulty.http2_url, "http2", session("12345678"))
    assert word_error_rate(FOX_TEXT, text) <= 0.2
    assert not [e for e in events if isinstance(e, StreamReconnected)]


async def test_a_throttled_job_api_is_retried_by_the_job_client(faulty: LocalEndpoint) -> None:
    async with JobsClient(endpoint=faulty.http_url, retry=FAST) as jobs:
        job = await jobs.get_transcription_job("weekly")  # two ThrottlingExceptions, then the answer
    assert job.name == "weekly"
    async with (
        LocalEndpoint(tls="none", resources=FAULTS) as fresh,
        JobsClient(endpoint=fresh.http_url, retry=RetryPolicy(max_attempts=1)) as jobs,
    ):
        with pytest.raises(ThrottlingException, match="scripted fault"):
            await jobs.get_transcription_job("weekly")


@pytest.mark.parametrize(
    ("faults", "needle"),
    [
        ([{"RefuseOpen": {"Exception": "Nope"}}], "Exception must be one of"),
        ([{"ExceptionAt": {"Seconds": -1, "Exception": "InternalFailureException"}}], "seconds from 0"),
        ([{"ResetAt": {"Seconds": 1, "How": "politely"}}], "tcp or stream"),
        ([{"Surprise": 1}], "unknown fields: Surprise"),
        ([{"RefuseOpen": {"Exception": "LimitExceededException", "Times": 0}}], "Times must be"),
        ({"not": "a list"}, "Faults must be a list"),
    ],
)
def test_a_bad_fault_is_refused_when_the_file_is_loaded(faults: Any, needle: str) -> None:
    with pytest.raises(ParameterError, match="resources") as info:
        load_resources({"Faults": faults})
    assert needle in str(info.value)
