"""StreamCore without sockets: canned inputs in, frames and actions out (websockets' test_protocol style).

Frames the core emits are checked with an independent verifier (sigv4.verify_request and
ChunkVerifier, the local endpoint's checks), so a replay that breaks the chain fails here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import eventstream
import sigv4
from streaming.proto.actions import (
    Action,
    CloseConnection,
    Connect,
    Deliver,
    Fail,
    Finish,
    StreamReconnected,
    StreamRequest,
    Transmit,
)
from streaming.proto.core import StreamCore, StreamSettings
from streaming.proto.credentials import DEV_CREDENTIALS
from streaming.proto.errors import (
    AudioSourceError,
    BadRequestException,
    ConnectError,
    ConnectionLost,
    InternalFailureException,
    InvalidSignatureException,
    LimitExceededException,
    ParameterError,
    ProtocolError,
    StreamStateError,
    StreamTimeout,
)
from streaming.proto.messages import UnknownEvent, encode_exception, encode_result_event
from streaming.proto.models import (
    Alternative,
    CallAnalyticsItem,
    CategoryEvent,
    Item,
    PointsOfInterest,
    Result,
    TimestampRange,
    Transcript,
    TranscriptEvent,
    UtteranceEvent,
)
from streaming.proto.params import Operation, StreamParams
from streaming.proto.retry import RetryPolicy
from streaming.proto.states import TRANSITIONS, AudioState, ConnectionState, Input

T0 = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)
ENDPOINT = "https://transcribe.example:8443"
CHUNK = bytes(3200)  # 0.1 s of 16 kHz mono PCM
SESSION = "6c4d1a52-3b8e-4b59-9d4e-0f6a3a1f2b7c"
S = ConnectionState


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def settings(**kw: Any) -> StreamSettings:
    values: dict[str, Any] = {"credentials": DEV_CREDENTIALS, "region": "us-east-1", "endpoint": ENDPOINT}
    return StreamSettings(**{**values, **kw})


def make_core(
    *,
    operation: Operation = Operation.TRANSCRIPTION,
    encoding: str = "pcm",
    retry: RetryPolicy | None = None,
    configuration: dict[str, Any] | None = None,
    seed: int = 7,
    **kw: Any,
) -> StreamCore:
    params = StreamParams.build(operation, language_code="en-US", media_sample_rate_hz=16000, media_encoding=encoding)
    return StreamCore(
        params,
        settings(retry=retry or RetryPolicy(base_delay=0.1, max_delay=1.0), **kw),
        configuration=configuration,
        rng=random.Random(seed),
    )


class Peer:
    """The service's side of each connection: verifies the request and every frame."""

    def __init__(self) -> None:
        self.verifier: sigv4.ChunkVerifier | None = None
        self.audio: list[bytes] = []
        self.configuration: list[bytes] = []
        self.ended = False

    def accept(self, request: StreamRequest, now: dt.datetime) -> None:
        verified = sigv4.verify_request(
            "POST",
            request.path,
            [("host", "transcribe.example:8443"), *request.headers.items()],
            credentials=lambda akid: DEV_CREDENTIALS,
            now=now,
        )
        self.verifier = sigv4.ChunkVerifier(DEV_CREDENTIALS, "us-east-1", "transcribe", verified.signature)
        self.audio, self.configuration, self.ended = [], [], False

    def take(self, frames: tuple[bytes, ...], now: dt.datetime) -> None:
        assert self.verifier is not None
        for frame in frames:
            assert not self.ended, "a frame after the end of audio"
            inner = self.verifier.verify(eventstream.decode(frame), now)
            if not inner:
                self.ended = True
                continue
            message = eventstream.decode(inner)
            kind = message.headers[":event-type"]
            (self.audio if kind == "AudioEvent" else self.configuration).append(message.payload)


def open_stream(
    core: StreamCore, peer: Peer, now: dt.datetime = T0, headers: dict[str, str] | None = None
) -> list[Action]:
    """start() (or a pending Connect), request(), connected(): the actions of connected()."""
    if core.state is S.IDLE:
        assert core.start(now) == [Connect(0.0)]
    request = core.request(now)
    peer.accept(request, now)
    actions = core.connected(headers or {"x-amzn-request-id": "r1"}, now)
    carry_out(actions, peer, now)
    return actions


def carry_out(actions: list[Action], peer: Peer, now: dt.datetime) -> None:
    for action in actions:
        if isinstance(action, Transmit):
            peer.take(action.frames, now)


def transmits(actions: list[Action]) -> list[Transmit]:
    return [a for a in actions if isinstance(a, Transmit)]


def delivered(actions: list[Action]) -> list[Any]:
    return [a.event for a in actions if isinstance(a, Deliver)]


def send_chunks(core: StreamCore, peer: Peer, n: int, start: float = 0.0, step: float = 0.1) -> None:
    for i in range(n):
        now = at(start + i * step)
        carry_out(core.send_audio(bytes([i % 251 + 1]) * 3200, None, now), peer, now)


def result(rid: str, start: float, end: float, text: str, *, partial: bool = False) -> TranscriptEvent:
    words = text.split()
    step = (end - start) / max(len(words), 1)
    items = tuple(
        Item(start_time=round(start + i * step, 3), end_time=round(start + (i + 1) * step, 3), content=w)
        for i, w in enumerate(words)
    )
    alt = Alternative(transcript=text, items=items)
    res = Result(result_id=rid, start_time=start, end_time=end, is_partial=partial, alternatives=(alt,))
    return TranscriptEvent(transcript=Transcript(results=(res,)))


# -- opening -------------------------------------------------------------------------------------


def test_first_connection_is_signed_and_its_ids_pinned() -> None:
    core, peer = make_core(), Peer()
    assert core.state is S.IDLE
    actions = open_stream(core, peer, headers={"x-amzn-request-id": "r1", "x-amzn-transcribe-session-id": SESSION})
    assert actions == []  # nothing to send before audio for StartStreamTranscription
    assert core.state is S.OPEN and core.generation == 1
    assert core.request_id == "r1" and core.session_id == SESSION
    assert core.params.session_id == SESSION  # later connections ask for the same session
    core.connection_lost(1, ConnectionLost("reset"), T0)
    assert core.request(T0).headers["x-amzn-transcribe-session-id"] == SESSION


def test_websocket_request_is_a_presigned_url() -> None:
    core = make_core(transport="websocket", endpoint="wss://transcribe.example:8443", presign_expires=60)
    core.start(T0)
    request = core.request(T0)
    assert request.headers == {}
    assert request.path == "/stream-transcription-websocket"
    sigv4.verify_presigned_request(
        "GET",
        request.url.split("transcribe.example:8443", 1)[1],
        [("host", "transcribe.example:8443")],
        credentials=lambda akid: DEV_CREDENTIALS,
        now=T0,
    )
    assert "X-Amz-Expires=60" in request.url


def test_configuration_event_goes_first_on_every_connection() -> None:
    config = {"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "AGENT"}]}
    core = make_core(operation=Operation.CALL_ANALYTICS, configuration=config)
    peer = Peer()
    [transmit] = transmits(open_stream(core, peer))
    assert transmit.generation == 1 and not transmit.end_input
    assert peer.configuration == [b'{"ChannelDefinitions":[{"ChannelId":0,"ParticipantRole":"AGENT"}]}']
    core.connection_lost(1, ConnectionLost("reset"), at(1))
    open_stream(core, peer, at(1))
    assert len(peer.configuration) == 1  # the new connection got its own, first


@pytest.mark.parametrize(
    "error",
    [
        ConnectError("refused"),
        StreamTimeout("slow"),
        LimitExceededException("busy"),
        InternalFailureException("oops"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_retryable_connect_failures_back_off_within_the_budget(error: Exception) -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=3.0, max_total=100)
    core = make_core(retry=policy)
    core.start(T0)
    delays = []
    for attempt in range(1, 4):
        core.request(at(attempt))
        [action] = core.connect_failed(error, at(attempt))  # type: ignore[arg-type]
        assert isinstance(action, Connect)
        assert 0 <= action.delay <= min(3.0, 0.5 * 2**attempt)
        delays.append(action.delay)
        assert core.state is S.CONNECTING
    assert len(set(delays)) == 3  # jittered, from the random source given
    core.request(at(5))
    actions = core.connect_failed(error, at(5))  # type: ignore[arg-type]
    assert actions[-1] == Fail(error)  # type: ignore[arg-type]
    assert core.state is S.FAILED and core.error is error


def test_jitter_comes_from_the_random_source_given() -> None:
    def delays(seed: int) -> list[float]:
        core = make_core(seed=seed)
        core.start(T0)
        out = []
        for _ in range(3):
            out += [a.delay for a in core.connect_failed(ConnectError("x"), T0) if isinstance(a, Connect)]
        return out

    assert delays(1) == delays(1)
    assert delays(1) != delays(2)


def test_retries_stop_at_the_total_time_budget() -> None:
    core = make_core(retry=RetryPolicy(max_attempts=10, base_delay=1, max_delay=1, max_total=2.0))
    core.start(T0)
    assert isinstance(core.connect_failed(ConnectError("x"), at(0.5))[0], Connect)  # 0.5 + <= 1 s fits
    assert isinstance(core.connect_failed(ConnectError("x"), at(2.5))[-1], Fail)  # past the budget


@pytest.mark.parametrize(
    "error",
    [
        BadRequestException("bad parameter"),
        ConnectError("certificate verify failed", retryable=False),
        ConnectError("does not speak HTTP/2", retryable=False),
        ProtocolError("garbage"),
    ],
    ids=["400", "tls-verify", "no-h2", "protocol"],
)
def test_non_retryable_connect_failures_end_at_once(error: Exception) -> None:
    core = make_core()
    core.start(T0)
    assert core.connect_failed(error, T0) == [CloseConnection(0, abort=True), Fail(error)]  # type: ignore[arg-type]
    assert core.state is S.FAILED


def test_clock_skew_is_adopted_once_from_the_services_message() -> None:
    core, peer = make_core(), Peer()
    core.start(T0)
    message = "Signature expired: 20261130T120000Z is now earlier than 20261130T120500Z (20261130T121000Z - 5 min.)"
    assert core.connect_failed(InvalidSignatureException(message), T0) == [Connect(0.0)]
    assert core.skew.offset == dt.timedelta(minutes=10)
    assert core.signing_time(T0) == at(600)
    request = core.request(T0)
    assert request.headers["x-amz-date"] == "20261130T121000Z"
    peer.accept(request, at(600))
    # A second skew error in the same opening is the real thing.
    actions = core.connect_failed(InvalidSignatureException(message), T0)
    assert isinstance(actions[-1], Fail)


def test_signature_errors_without_a_time_are_not_retried() -> None:
    core = make_core()
    core.start(T0)
    error = InvalidSignatureException("The request signature we calculated does not match")
    assert core.connect_failed(error, T0)[-1] == Fail(error)


# -- audio and frames ------------------------------------------------------------------------------


def test_audio_is_signed_into_one_chain_and_counted() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 5)
    assert len(peer.audio) == 5
    assert core.stats.audio_seconds == pytest.approx(0.5)
    actions = core.end_audio(at(1))
    assert transmits(actions)[0].end_input
    carry_out(actions, peer, at(1))
    assert peer.ended
    assert core.audio is AudioState.ENDED


def test_empty_and_oversized_chunks() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    assert core.send_audio(b"", None, T0) == []  # an empty AudioEvent would end the stream
    with pytest.raises(ParameterError, match="at most 1 s") as info:
        core.send_audio(bytes(32002), None, T0)
    assert info.value.param == "chunk"
    with pytest.raises(ParameterError):
        core.send_audio(b"fLaC", 1.5, T0)
    assert core.stats.audio_seconds == 0


def test_audio_after_the_end_is_a_state_error() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    core.end_audio(T0)
    with pytest.raises(StreamStateError, match="after end_audio"):
        core.send_audio(CHUNK, None, T0)
    with pytest.raises(StreamStateError, match="after end_audio"):
        core.end_audio(T0)


def test_sender_failure_ends_the_stream_with_its_own_error() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    error = AudioSourceError("the microphone went away")
    assert core.sender_failed(error) == [CloseConnection(1, abort=True), Fail(error)]
    assert core.state is S.FAILED
    with pytest.raises(AudioSourceError):
        core.send_audio(CHUNK, None, T0)
    with pytest.raises(AudioSourceError):
        core.end_audio(T0)
    assert core.sender_failed(AudioSourceError("again")) == []  # the first error stands


# -- results ----------------------------------------------------------------------------------------


def test_results_are_delivered_and_finals_measure_latency() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 10)  # chunk i sent at i/10 s
    data = encode_result_event(result("a", 0.0, 0.45, "hello there"))
    [event] = delivered(core.data_received(1, data, at(1.5)))
    assert event.transcript.results[0].transcript == "hello there"
    # The chunk holding 0.45 s (0.4..0.5) was sent at 0.4 s.
    assert core.stats.final_latencies == [pytest.approx(1.1)]
    assert core.stats.latency_p50 == pytest.approx(1.1)


def test_results_split_anywhere_are_assembled() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    data = encode_result_event(result("a", 0.0, 0.5, "split me", partial=True)) * 2
    events = []
    for i in range(len(data)):
        events += delivered(core.data_received(1, data[i : i + 1], T0))
    assert len(events) == 2


def test_unknown_events_are_kept() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    message = eventstream.encode(
        {":message-type": "event", ":event-type": "FutureEvent", ":content-type": "application/json"}, b"{}"
    )
    assert delivered(core.data_received(1, message, T0)) == [UnknownEvent("FutureEvent", b"{}")]


def test_a_clean_end_after_the_audio_finishes_the_stream() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    core.end_audio(T0)
    assert core.response_ended(1, T0) == [CloseConnection(1, abort=False), Finish()]
    assert core.state is S.DONE


def test_a_response_that_ends_before_the_audio_is_a_protocol_error() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    actions = core.response_ended(1, T0)
    assert isinstance(actions[-1], Fail) and isinstance(actions[-1].error, ProtocolError)


def test_a_message_cut_off_by_the_end_is_a_protocol_error() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    core.end_audio(T0)
    core.data_received(1, encode_result_event(result("a", 0, 1, "x"))[:20], T0)
    actions = core.response_ended(1, T0)
    assert isinstance(actions[-1], Fail) and "mid-message" in str(actions[-1].error)


def test_garbage_from_the_service_fails_the_stream() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    actions = core.data_received(1, b"\x00\x00\x00\x10" + bytes(12), T0)
    assert isinstance(actions[-1], Fail) and isinstance(actions[-1].error, ProtocolError)


def test_a_bad_request_mid_stream_fails_it() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    error = BadRequestException("Your audio is not valid.")
    actions = core.data_received(1, encode_exception(error), T0)
    assert isinstance(actions[-1], Fail) and isinstance(actions[-1].error, BadRequestException)


def test_results_before_an_exception_in_the_same_read_are_kept() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    data = encode_result_event(result("a", 0, 0.5, "kept")) + encode_exception(BadRequestException("no"))
    actions = core.data_received(1, data, T0)
    assert [e.transcript.results[0].transcript for e in delivered(actions)] == ["kept"]
    core.end_audio(T0)
    assert isinstance(core.response_ended(1, T0)[-1], Fail)


# -- deadlines --------------------------------------------------------------------------------------


def test_receive_deadlines() -> None:
    core, peer = make_core(read_timeout=None, stall_timeout=30.0), Peer()
    open_stream(core, peer)
    assert core.deadlines.receive(T0) is None  # silence produces no results: no deadline while sending
    message = encode_result_event(result("a", 0, 1, "x"))
    core.data_received(1, message[:10], T0)
    assert core.deadlines.receive(T0) == 30.0  # half a message must be finished...
    core.data_received(1, message[10:20], at(20))
    assert core.deadlines.receive(at(20)) == 10.0  # ...within 30 s of its first byte, however it trickles
    assert core.deadlines.receive(at(45)) == 0.0
    core.data_received(1, message[20:], at(21))
    assert core.deadlines.receive(at(21)) is None
    core.end_audio(T0)
    assert core.deadlines.receive(at(22)) == 30.0  # only results are due
    assert core.deadlines.send == 30.0
    assert make_core(read_timeout=5.0).deadlines.receive(T0) == 5.0
    assert make_core(connect_timeout=3.0, read_timeout=5.0).deadlines.open == 8.0


# -- resumption ------------------------------------------------------------------------------------


def lose_and_resume(core: StreamCore, peer: Peer, now: dt.datetime, error: Exception | None = None) -> list[Action]:
    error = error or ConnectionLost("reset by peer")
    generation = core.generation
    actions = core.connection_lost(generation, error, now)  # type: ignore[arg-type]
    assert actions == [CloseConnection(generation, abort=True), Connect(0.0)]
    assert core.state is S.RECONNECTING
    return open_stream(core, peer, now)


def test_resume_after_a_final_replays_from_its_end() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 10)  # 0.0 .. 1.0 s
    core.data_received(1, encode_result_event(result("a", 0.05, 0.5, "one two")), at(1))
    core.data_received(1, encode_result_event(result("b", 0.6, 0.9, "three", partial=True)), at(1))
    sent_before = list(peer.audio)
    actions = lose_and_resume(core, peer, at(1.2))
    [reconnected] = delivered(actions)
    assert reconnected == StreamReconnected(1, "ConnectionLost: reset by peer", 0.5, pytest.approx(0.5))
    assert peer.audio == sent_before[5:]  # the chunks from 0.5 s on, verified in the new chain
    assert core.stats.reconnects == 1 and core.stats.replayed_seconds == pytest.approx(0.5)
    # The new connection's clock starts at 0.5 s of the stream: its results are shifted.
    [event] = delivered(core.data_received(2, encode_result_event(result("b2", 0.1, 0.4, "three")), at(2)))
    res = event.transcript.results[0]
    assert (res.start_time, res.end_time) == (0.6, 0.9)
    assert [(i.start_time, i.end_time) for i in res.alternatives[0].items] == [(0.6, 0.9)]


def test_resume_after_only_a_partial_replays_everything() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 6)
    core.data_received(1, encode_result_event(result("a", 0.1, 0.5, "partial", partial=True)), at(1))
    sent_before = list(peer.audio)
    [reconnected] = delivered(lose_and_resume(core, peer, at(1)))
    assert reconnected.offset == 0.0 and reconnected.replayed_seconds == pytest.approx(0.6)
    assert peer.audio == sent_before


def test_results_already_delivered_are_not_delivered_again() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 20)
    core.data_received(1, encode_result_event(result("a", 0.0, 1.0, "first")), at(2))
    lose_and_resume(core, peer, at(2))
    # Replay starts at 1.0 s; a result the new decoder places before that is a repeat.
    assert delivered(core.data_received(2, encode_result_event(result("x", -0.5, -0.1, "first")), at(3))) == []
    kept = delivered(core.data_received(2, encode_result_event(result("y", 0.0, 0.5, "second")), at(3)))
    assert kept[0].transcript.results[0].start_time == 1.0


def test_a_final_claiming_times_beyond_the_audio_cannot_hide_later_results() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 10)  # 1.0 s sent
    core.data_received(1, encode_result_event(result("liar", 0.0, 9999.0, "far future")), at(1))
    [reconnected] = delivered(lose_and_resume(core, peer, at(1)))
    assert reconnected.offset == pytest.approx(1.0)  # where the audio sent so far ends
    send_chunks(core, peer, 5, start=1.0)
    kept = delivered(core.data_received(2, encode_result_event(result("next", 0.1, 0.4, "still here")), at(2)))
    assert kept[0].transcript.results[0].start_time == pytest.approx(1.1)


def test_news_from_a_replaced_connection_is_ignored() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 3)
    lose_and_resume(core, peer, at(1))
    assert core.data_received(1, encode_result_event(result("old", 0, 1, "old")), at(1)) == []
    assert core.connection_lost(1, ConnectionLost("late news"), at(1)) == []
    assert core.response_ended(1, at(1)) == []
    assert core.state is S.OPEN and core.generation == 2


def test_audio_while_reconnecting_is_held_and_replayed_with_the_end() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 2)
    core.connection_lost(1, StreamTimeout("stalled"), at(1))
    assert not core.is_writable
    assert core.send_audio(b"\x07" * 3200, None, at(1)) == []
    assert core.end_audio(at(1)) == []
    actions = open_stream(core, peer, at(1.5))
    [transmit] = transmits(actions)
    assert transmit.end_input and peer.ended
    assert peer.audio[-1] == b"\x07" * 3200 and len(peer.audio) == 3


def test_flac_resumption_sends_the_stream_header_first() -> None:
    core, peer = make_core(encoding="flac"), Peer()
    open_stream(core, peer)
    core.set_container_header(b"fLaC-header")
    carry_out(core.send_audio(b"fLaC-header+frame0", 0.5, T0), peer, T0)
    carry_out(core.send_audio(b"frame1", 0.5, at(0.5)), peer, at(0.5))
    core.data_received(1, encode_result_event(result("a", 0.0, 0.5, "first")), at(1))
    lose_and_resume(core, peer, at(1))
    assert peer.audio == [b"fLaC-header", b"frame1"]


def test_the_replay_window_is_bounded_in_seconds_and_bytes() -> None:
    core, peer = make_core(retry=RetryPolicy(replay_seconds=1.0)), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 30)
    assert core.replay.window == (pytest.approx(2.0), pytest.approx(3.0))
    core2, peer2 = make_core(retry=RetryPolicy(replay_bytes=3200 * 4)), Peer()
    open_stream(core2, peer2)
    send_chunks(core2, peer2, 30)
    assert core2.replay.window == (pytest.approx(2.6), pytest.approx(3.0))


def test_mid_stream_service_errors_reconnect_or_fail_by_retryability() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    actions = core.data_received(1, encode_exception(InternalFailureException("oops")), T0)
    assert actions == [CloseConnection(1, abort=True), Connect(0.0)]
    [reconnected] = delivered(open_stream(core, peer, at(1)))
    assert "InternalFailureException" in reconnected.reason


def test_reconnects_are_bounded_per_stream() -> None:
    core, peer = make_core(retry=RetryPolicy(max_reconnects=2)), Peer()
    open_stream(core, peer)
    lose_and_resume(core, peer, at(1))
    lose_and_resume(core, peer, at(2))
    error = ConnectionLost("third time")
    assert core.connection_lost(3, error, at(3)) == [CloseConnection(3, abort=True), Fail(error)]


def test_a_failed_reconnection_fails_the_stream() -> None:
    core, peer = make_core(retry=RetryPolicy(max_attempts=1)), Peer()
    open_stream(core, peer)
    core.connection_lost(1, ConnectionLost("gone"), at(1))
    core.request(at(1))
    error = ConnectError("refused")
    assert core.connect_failed(error, at(1))[-1] == Fail(error)
    assert core.state is S.FAILED


def test_utterances_and_categories_are_shifted_too() -> None:
    core = make_core(operation=Operation.CALL_ANALYTICS)
    peer = Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 20)
    first = UtteranceEvent(utterance_id="u1", begin_offset_millis=0, end_offset_millis=800, transcript="hi")
    core.data_received(1, encode_result_event(first), at(2))
    lose_and_resume(core, peer, at(2))
    item = CallAnalyticsItem(begin_offset_millis=100, end_offset_millis=300, content="again")
    second = UtteranceEvent(
        utterance_id="u2", begin_offset_millis=100, end_offset_millis=300, transcript="again", items=(item,)
    )
    [got] = delivered(core.data_received(2, encode_result_event(second), at(3)))
    assert (got.begin_offset_millis, got.end_offset_millis) == (900, 1100)
    assert (got.items[0].begin_offset_millis, got.items[0].end_offset_millis) == (900, 1100)
    category = CategoryEvent(
        matched_categories=("c",),
        matched_details={
            "c": PointsOfInterest(timestamp_ranges=(TimestampRange(begin_offset_millis=0, end_offset_millis=50),))
        },
    )
    [cat] = delivered(core.data_received(2, encode_result_event(category), at(3)))
    assert cat.matched_details["c"].timestamp_ranges[0].begin_offset_millis == 800


# -- rotation --------------------------------------------------------------------------------------


def test_rotation_ends_the_old_connection_cleanly_then_continues() -> None:
    core, peer = make_core(retry=RetryPolicy(rotate_after=10.0, max_reconnects=1)), Peer()
    open_stream(core, peer)
    send_chunks(core, peer, 3)
    now = at(10.5)
    actions = core.send_audio(b"\x09" * 3200, None, now)
    audio, end = transmits(actions)
    assert not audio.end_input and end.end_input and end.generation == 1
    carry_out(actions, peer, now)
    assert peer.ended and core.state is S.ROTATING
    assert core.deadlines.receive(now) == 30.0  # the old connection's last results have a deadline
    # Audio during the hand-over is held for the next connection.
    assert core.send_audio(b"\x0a" * 3200, None, at(10.6)) == []
    # The old connection's last results still arrive and count.
    core.data_received(1, encode_result_event(result("a", 0.0, 0.35, "last words")), at(11))
    assert core.response_ended(1, at(11)) == [CloseConnection(1, abort=False), Connect(0.0)]
    actions = open_stream(core, peer, at(11))
    [reconnected] = delivered(actions)
    # The old connection's clean end answered all it got; only the held audio goes again.
    assert reconnected.reason == "rotation" and reconnected.offset == pytest.approx(0.4)
    assert peer.audio == [b"\x0a" * 3200]
    assert core.stats.reconnects == 1
    # Rotations do not use up the failure budget (max_reconnects=1 here).
    assert core.connection_lost(2, ConnectionLost("x"), at(12))[-1] == Connect(0.0)


def test_a_rotation_whose_old_connection_breaks_still_resumes() -> None:
    core, peer = make_core(retry=RetryPolicy(rotate_after=1.0)), Peer()
    open_stream(core, peer)
    carry_out(core.send_audio(CHUNK, None, at(2)), peer, at(2))
    assert core.state is S.ROTATING
    assert core.connection_lost(1, StreamTimeout("no end"), at(40))[-1] == Connect(0.0)
    open_stream(core, peer, at(40))
    assert core.state is S.OPEN


# -- the table ---------------------------------------------------------------------------------------


def drive_to(state: ConnectionState) -> tuple[StreamCore, Peer]:
    core, peer = make_core(retry=RetryPolicy(rotate_after=5.0)), Peer()
    if state is S.IDLE:
        return core, peer
    if state is S.CONNECTING:
        core.start(T0)
        return core, peer
    open_stream(core, peer)
    if state is S.ROTATING:
        core.send_audio(CHUNK, None, at(6))
    elif state is S.RECONNECTING:
        core.connection_lost(1, ConnectionLost("x"), T0)
    elif state is S.DONE:
        core.end_audio(T0)
        core.response_ended(1, T0)
    elif state is S.FAILED:
        core.connection_lost(1, ProtocolError("x"), T0)
    elif state is S.CLOSED:
        core.close()
    assert core.state is state
    return core, peer


INPUTS: dict[Input, Callable[[StreamCore], list[Action]]] = {
    Input.START: lambda c: c.start(T0),
    Input.CONNECTED: lambda c: (c.request(T0), c.connected({}, T0))[1],
    Input.CONNECT_FAILED: lambda c: c.connect_failed(LimitExceededException("busy"), T0),
    Input.DATA_RECEIVED: lambda c: c.data_received(c.generation, encode_result_event(result("a", 0, 1, "x")), T0),
    Input.RESPONSE_ENDED: lambda c: c.response_ended(c.generation, T0),
    Input.CONNECTION_LOST: lambda c: c.connection_lost(c.generation, ConnectionLost("x"), T0),
    Input.AUDIO: lambda c: c.send_audio(CHUNK, None, at(1)),
    Input.END_OF_AUDIO: lambda c: c.end_audio(T0),
    Input.SENDER_FAILED: lambda c: c.sender_failed(AudioSourceError("x")),
    Input.CLOSE: lambda c: c.close(),
}
CONNECTION_NEWS = {Input.DATA_RECEIVED, Input.RESPONSE_ENDED, Input.CONNECTION_LOST}


def all_pairs() -> Iterator[tuple[ConnectionState, Input]]:
    for state in ConnectionState:
        for event in Input:
            yield state, event


@pytest.mark.parametrize(("state", "event"), list(all_pairs()), ids=lambda x: x.value)
def test_every_pair_of_state_and_input(state: ConnectionState, event: Input) -> None:
    core, _ = drive_to(state)
    allowed = TRANSITIONS.get((state, event))
    if allowed is not None:
        INPUTS[event](core)
        assert core.state in allowed
    elif event in CONNECTION_NEWS and state not in (S.OPEN, S.ROTATING):
        # News of a connection that is not open any more is ignored, whatever it says.
        assert INPUTS[event](core) == []
        assert core.state is state
    elif state is S.FAILED and event is not Input.CLOSE:
        with pytest.raises(ProtocolError):  # the stream's own error, again
            INPUTS[event](core)
    else:
        with pytest.raises(StreamStateError, match=state.value):
            INPUTS[event](core)


def test_every_transition_in_the_table_is_reachable() -> None:
    reached = set()
    for state, event in TRANSITIONS:
        core, _ = drive_to(state)
        INPUTS[event](core)
        reached.add((state, event, core.state))
    assert {(s, e) for s, e, _ in reached} == set(TRANSITIONS)


def test_closing_is_idempotent_and_aborts_only_unfinished_audio() -> None:
    core, peer = make_core(), Peer()
    open_stream(core, peer)
    assert core.close() == [CloseConnection(1, abort=True)]
    assert core.close() == [CloseConnection(1, abort=True)]
    core2, peer2 = make_core(), Peer()
    open_stream(core2, peer2)
    core2.end_audio(T0)
    assert core2.close() == [CloseConnection(1, abort=False)]


def test_retry_policy_is_checked() -> None:
    with pytest.raises(ParameterError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ParameterError, match="rotate_after"):
        RetryPolicy(rotate_after=0)
    with pytest.raises(ParameterError, match="base_delay"):
        RetryPolicy(base_delay=float("nan"))


def test_a_lost_connection_is_replaced_within_reconnect_within_or_the_stream_fails() -> None:
    """A peer that accepts TCP but never answers: each attempt's connect timeout is cut to
    what is left of reconnect_within, and the application hears a typed error by then."""
    core, peer = make_core(retry=RetryPolicy(base_delay=0, reconnect_within=12.0), connect_timeout=10.0), Peer()
    open_stream(core, peer)
    assert core.connection_lost(1, ConnectionLost("reset"), at(5))[-1] == Connect(0.0)
    core.request(at(5))
    assert core.deadlines.open_at(at(5)) == 10.0
    assert core.connect_failed(StreamTimeout("no headers"), at(15)) == [Connect(0.0)]
    core.request(at(15))
    assert core.deadlines.open_at(at(15)) == pytest.approx(2.0)  # only 2 s of the 12 are left
    actions = core.connect_failed(StreamTimeout("no headers"), at(17))
    assert isinstance(actions[-1], Fail) and isinstance(actions[-1].error, StreamTimeout)
    assert "could not reconnect within 12 s" in str(actions[-1].error)
    assert core.state is S.FAILED


def test_the_first_connection_keeps_the_longer_max_total() -> None:
    core = make_core(retry=RetryPolicy(base_delay=0, max_total=60.0, reconnect_within=5.0), connect_timeout=10.0)
    core.start(T0)
    core.request(T0)
    assert core.deadlines.open_at(at(0)) == 10.0
    assert core.connect_failed(ConnectError("refused"), at(10)) == [Connect(0.0)]  # 10 s > 5 s: not yet its budget
