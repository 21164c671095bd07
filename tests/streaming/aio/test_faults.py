"""Mid-stream failures: the application still sees one complete, continuous, duplicate-free transcript."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

import streaming
from streaming import FlacSource, RetryPolicy, StreamReconnected, TranscribeStreamingClient
from streaming.local import LocalEndpoint
from streaming.local.stream import ServerStream
from streaming.proto.errors import InternalFailureException
from tests.helpers import FIXTURES, word_error_rate

from .faulty_proxy import FaultyProxy

DEMO = FIXTURES.parent.parent / "streaming" / "data" / "demo.flac"
DEMO_TEXT = (FIXTURES / "demo.txt").read_text()
POLICY = RetryPolicy(base_delay=0.05, max_delay=0.2)
# Long enough that an endpoint holding the client back with flow control while a busy
# machine recognises (a batch of audio per window update) is not taken for a stall.
STALL_TIMEOUT = 8.0


async def transcribe(client: TranscribeStreamingClient, speed: float = 8.0) -> tuple[list[Any], streaming.Stream]:
    source = FlacSource(DEMO)
    async with client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="flac"
    ) as stream:
        sender = asyncio.create_task(stream.send_from(source, speed=speed))
        events = [event async for event in stream]
        await sender
    return events, stream


def check_timeline(events: list[Any]) -> str:
    finals = [
        r for e in events if isinstance(e, streaming.TranscriptEvent) for r in e.transcript.results if not r.is_partial
    ]
    ids = [r.result_id for r in finals]
    assert len(ids) == len(set(ids)), "a final segment was delivered twice"
    for before, after in itertools.pairwise(finals):
        assert before.end_time <= after.start_time + 0.05, "final segments overlap or go back in time"
    for result in finals:
        times = [i.start_time for i in result.alternatives[0].items]
        assert times == sorted(times)
    return " ".join(r.transcript for r in finals)


async def baseline(ep: LocalEndpoint) -> str:
    events, _ = await transcribe(TranscribeStreamingClient(endpoint=ep.http2_url))
    return check_timeline(events)


@pytest.mark.parametrize("mode", ["drop", "truncate", "stall"])
async def test_connection_faults_resume_with_a_complete_transcript(plain_endpoint: LocalEndpoint, mode: str) -> None:
    port = int(plain_endpoint.http2_url.rsplit(":", 1)[1])
    size = DEMO.stat().st_size
    async with FaultyProxy("127.0.0.1", port, mode=mode, after_bytes=size // 2) as proxy:
        # A stall is noticed by default: the sender waits on a window the peer never opens.
        client = TranscribeStreamingClient(
            endpoint=f"http://127.0.0.1:{proxy.port}", retry=POLICY, stall_timeout=STALL_TIMEOUT
        )
        events, stream = await transcribe(client)
    assert proxy.faults == 1
    reconnects = [e for e in events if isinstance(e, StreamReconnected)]
    assert len(reconnects) == 1
    assert stream.stats.reconnects == 1
    assert 0 <= reconnects[0].offset < 20  # where the replayed audio starts: after the last final
    text = check_timeline(events)
    assert word_error_rate(DEMO_TEXT, text) <= 0.3  # a resumed decoder starts cold
    # Nothing lost and nothing repeated compared with an undisturbed run.
    assert abs(len(text.split()) - len((await baseline(plain_endpoint)).split())) <= 3


async def test_internal_failure_mid_stream_is_resumed(
    plain_endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ServerStream._process
    failed: list[float] = []

    def failing(self: ServerStream, *args: Any) -> Any:
        # Once, by position in the audio (how the endpoint batches its calls depends on
        # how busy the machine is; how much audio it has recognised does not).
        if not failed and self.audio_seconds >= 8.0:
            failed.append(self.audio_seconds)
            raise InternalFailureException("An internal error occurred.")
        return original(self, *args)

    monkeypatch.setattr(ServerStream, "_process", failing)
    events, _stream = await transcribe(TranscribeStreamingClient(endpoint=plain_endpoint.http2_url, retry=POLICY))
    assert len(failed) == 1
    reconnect = next(e for e in events if isinstance(e, StreamReconnected))
    assert "InternalFailureException" in reconnect.reason
    assert word_error_rate(DEMO_TEXT, check_timeline(events)) <= 0.3
    assert [s.outcome for s in plain_endpoint.completed] == ["InternalFailureException", "completed"]


async def test_non_retryable_errors_end_the_stream(
    plain_endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bad(self: ServerStream, *args: Any) -> Any:
        raise streaming.BadRequestException("Your audio is not valid.")

    monkeypatch.setattr(ServerStream, "_process", bad)
    with pytest.raises(streaming.BadRequestException, match="not valid"):
        await transcribe(TranscribeStreamingClient(endpoint=plain_endpoint.http2_url, retry=POLICY))
    assert len(plain_endpoint.completed) == 1  # no retry for a 400


async def test_reconnects_are_bounded(plain_endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    def always(self: ServerStream, *args: Any) -> Any:
        raise InternalFailureException("down")

    monkeypatch.setattr(ServerStream, "_process", always)
    client = TranscribeStreamingClient(
        endpoint=plain_endpoint.http2_url, retry=RetryPolicy(base_delay=0.01, max_reconnects=2)
    )
    with pytest.raises(InternalFailureException):
        await transcribe(client)
    assert len(plain_endpoint.completed) == 3


async def test_planned_rotation_keeps_one_timeline(plain_endpoint: LocalEndpoint) -> None:
    # rotate_after stands for the service's 4-hour limit, shortened.
    client = TranscribeStreamingClient(endpoint=plain_endpoint.http2_url, retry=RetryPolicy(rotate_after=1.0))
    events, stream = await transcribe(client)
    rotations = [e for e in events if isinstance(e, StreamReconnected)]
    assert rotations
    assert all(e.reason == "rotation" for e in rotations)
    assert stream.stats.reconnects == len(rotations)
    assert word_error_rate(DEMO_TEXT, check_timeline(events)) <= 0.3
    # Each old connection ended cleanly (its end frame sent) before the next one started.
    assert [s.outcome for s in plain_endpoint.completed] == ["completed"] * (len(rotations) + 1)


FAULTS = [
    ("drop", "up", 0.3),
    ("drop", "down", 0.5),
    ("stall", "down", 0.4),
    ("truncate", "down", 0.6),
    ("deaf", "up", 0.5),
    ("corrupt", "down", 0.5),
    ("corrupt", "up", 0.5),
]


@pytest.mark.parametrize("transport", ["http2", "websocket"])
@pytest.mark.parametrize(("mode", "direction", "where"), FAULTS, ids=[f"{m}-{d}" for m, d, _ in FAULTS])
async def test_every_fault_ends_in_a_complete_transcript_or_a_typed_error(
    plain_endpoint: LocalEndpoint, transport: str, mode: str, direction: str, where: float
) -> None:
    url = plain_endpoint.http2_url if transport == "http2" else plain_endpoint.websocket_url
    scheme, port = url.split("://", 1)[0], int(url.rsplit(":", 1)[1])
    size = DEMO.stat().st_size if direction == "up" else 4000  # results are small: fault them early
    async with FaultyProxy("127.0.0.1", port, mode=mode, after_bytes=int(size * where), direction=direction) as proxy:
        client = TranscribeStreamingClient(
            endpoint=f"{scheme}://127.0.0.1:{proxy.port}",
            transport=transport,  # type: ignore[arg-type]
            retry=POLICY,
            stall_timeout=STALL_TIMEOUT,
        )
        failure: streaming.TranscribeError | None = None
        try:
            events, stream = await asyncio.wait_for(transcribe(client), 120)
        except streaming.TranscribeError as exc:
            failure = exc
    assert proxy.faults == 1
    if failure is not None:
        # A typed error is an honest ending (a corrupted byte is not the protocol)...
        assert mode == "corrupt", f"{mode}/{direction} should have been resumed, not failed: {failure!r}"
        return
    # ...but a stream that ends without one must have the whole transcript.
    text = check_timeline(events)
    assert abs(len(text.split()) - len((await baseline(plain_endpoint)).split())) <= 3
    assert stream.stats.reconnects <= 1


async def test_soak_across_midnight_utc_with_forced_reconnects() -> None:
    """A stream that crosses midnight UTC (the signing scope changes) on connections that
    each break after 60 KB and a final result: one complete, duplicate-free timeline, and
    memory flat. (Each broken connection delivered a final, so the reconnects needed depend
    on the audio, not on how fast a busy machine recognises it; on a busy machine the
    finals may all come after the audio, and then one break is all there is.)"""
    import datetime as dt
    import gc
    import tracemalloc

    now = dt.datetime.now(dt.UTC)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    offset = midnight - dt.timedelta(seconds=4) - now  # four seconds into the stream, the date changes

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + offset

    tracemalloc.start()
    try:
        async with LocalEndpoint(tls="none", clock=clock) as ep:
            port = int(ep.http2_url.rsplit(":", 1)[1])
            async with FaultyProxy(
                "127.0.0.1", port, mode="drop", after_bytes=60_000, every_connection=True, after_final=True
            ) as proxy:
                client = TranscribeStreamingClient(
                    endpoint=f"http://127.0.0.1:{proxy.port}",
                    retry=RetryPolicy(base_delay=0.05, max_delay=0.2, max_reconnects=20),
                    clock=clock,
                )
                gc.collect()
                before = tracemalloc.get_traced_memory()[0]
                started = clock()
                events, stream = await transcribe(client, speed=2.0)
                ended = clock()
            reconnects = [e for e in events if isinstance(e, StreamReconnected)]
            text = check_timeline(events)
            outcomes = [s.outcome for s in ep.completed]
        del stream, client
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert started < midnight < ended  # the stream really crossed midnight UTC
    assert len(reconnects) >= 1 and proxy.faults >= len(reconnects)  # a last break may come after the end
    assert outcomes[-1] == "completed"  # the last connection, signed after midnight, verified to the end
    assert "InvalidSignatureException" not in outcomes and "BadRequestException" not in outcomes
    assert word_error_rate(DEMO_TEXT, text) <= 0.35
    assert after - before < 4 * 1024 * 1024  # nothing of the stream is left behind
