"""The stream core's parts on their own, without bytes or sockets: states, retry, replay, timeline, deadlines, pacing."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from streaming.proto.deadlines import open_timeout, receive_timeout
from streaming.proto.errors import (
    BadRequestException,
    ConnectError,
    ConnectionLost,
    InternalFailureException,
    InvalidSignatureException,
    ProtocolError,
    StreamStateError,
    StreamTimeout,
    ThrottlingException,
)
from streaming.proto.models import Alternative, Item, Result, Transcript, TranscriptEvent, UtteranceEvent
from streaming.proto.pacing import Pacer
from streaming.proto.replay import ReplayBuffer
from streaming.proto.retry import ClockSkew, Opening, RetryPolicy, is_retryable
from streaming.proto.states import TRANSITIONS, AudioState, ConnectionState, Input, StreamStates
from streaming.proto.timeline import Timeline

T0 = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.UTC)
S = ConnectionState


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# -- states ---------------------------------------------------------------------------------------


def test_states_move_only_along_the_table() -> None:
    states = StreamStates()
    states.move(Input.START, S.CONNECTING)
    with pytest.raises(StreamStateError, match="cannot take a connecting stream to done"):
        states.move(Input.CONNECTED, S.DONE)  # a legal input, a target the table does not list
    with pytest.raises(StreamStateError, match="audio is not allowed when the stream is connecting"):
        states.move_audio(Input.AUDIO)
    states.move(Input.CONNECTED, S.OPEN)
    states.move_audio(Input.END_OF_AUDIO)
    assert states.audio is AudioState.ENDED
    with pytest.raises(StreamStateError, match="send_audio after end_audio"):
        states.move_audio(Input.AUDIO)


def test_a_failed_stream_answers_every_input_but_close_with_its_own_error() -> None:
    states = StreamStates()
    states.move(Input.START, S.CONNECTING)
    error = ConnectError("refused")
    states.fail(Input.CONNECT_FAILED, error)
    for event in (Input.AUDIO, Input.END_OF_AUDIO, Input.DATA_RECEIVED, Input.CONNECTED):
        with pytest.raises(ConnectError) as raised:
            states.check(event)
        assert raised.value is error
    states.move(Input.CLOSE, S.CLOSED)
    assert states.connection is S.CLOSED


def test_every_target_the_table_lists_is_a_state_and_stay_needs_a_self_row() -> None:
    for (state, event), targets in TRANSITIONS.items():
        assert targets and all(isinstance(t, ConnectionState) for t in targets), (state, event)
    states = StreamStates()
    with pytest.raises(StreamStateError):
        states.stay(Input.START)  # IDLE + START leads to CONNECTING only


# -- retry ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectError("refused"), True),
        (ConnectError("certificate", retryable=False), False),
        (ConnectionLost("reset"), True),
        (StreamTimeout("slow"), True),
        (InternalFailureException("x"), True),
        (ThrottlingException("x"), True),
        (BadRequestException("x"), False),
        (InvalidSignatureException("x"), False),
        (ProtocolError("x"), False),
        (ValueError("not ours"), False),
    ],
)
def test_one_retryable_rule(error: BaseException, expected: bool) -> None:
    assert is_retryable(error) is expected


def test_an_opening_pauses_within_its_budget_then_says_why_it_gave_up() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=1.0, reconnect_within=3.0)
    opening = Opening(policy, T0, under_way=True)
    rng = random.Random(1)
    pause = opening.after_failure(ConnectError("refused"), at(0.1), rng)
    assert isinstance(pause, float) and 0 <= pause <= 1.0
    assert opening.timeout(10.0, at(1.0)) == pytest.approx(2.0)  # only 2 s of the 3 are left
    late = opening.after_failure(ConnectError("refused"), at(2.9), rng)
    assert isinstance(late, StreamTimeout) and "within 3 s" in str(late) and "ConnectError" in str(late)


def test_an_opening_gives_up_at_once_for_what_no_retry_fixes_and_after_max_attempts() -> None:
    rng = random.Random(1)
    refused = BadRequestException("no")
    assert Opening(RetryPolicy(), T0, under_way=False).after_failure(refused, at(0), rng) is refused
    opening = Opening(RetryPolicy(max_attempts=2), T0, under_way=False)
    assert isinstance(opening.after_failure(ConnectError("a"), at(0), rng), float)
    last = ConnectError("b")
    assert opening.after_failure(last, at(0), rng) is last  # a first connection's own error, not a timeout


def test_clock_skew_from_the_services_refusal() -> None:
    message = "Signature expired: 20261201T084500Z is now earlier than 20261201T090000Z (20261201T091000Z - 5 min.)"
    skew = ClockSkew.from_refusal(message, T0)
    assert skew == ClockSkew(dt.timedelta(minutes=10))
    assert skew.signing_time(T0) == at(600)
    assert ClockSkew.from_refusal("Signature does not match", T0) is None


# -- replay ---------------------------------------------------------------------------------------


def test_replay_keeps_what_no_final_covers_within_its_window() -> None:
    buffer = ReplayBuffer(seconds=1.0, max_bytes=10_000)
    for i in range(15):
        buffer.record(bytes([i]) * 100, 0.1, at(i * 0.1))
    assert buffer.window == (pytest.approx(0.5), pytest.approx(1.5))  # the 1 s window
    assert buffer.final_arrived(0.95, at(2.0)) == pytest.approx(2.0 - 0.9)  # sent at 0.9 s, holds 0.95
    assert [c.start for c in buffer.pending()] == pytest.approx([1.0, 1.1, 1.2, 1.3, 1.4])
    assert buffer.final_arrived(99.0, at(3.0)) == pytest.approx(3.0 - 1.4)  # past the audio: the end of it
    assert len(buffer) == 0 and buffer.covered == pytest.approx(1.5)


def test_replay_is_bounded_by_bytes_too() -> None:
    buffer = ReplayBuffer(seconds=100.0, max_bytes=250)
    for i in range(5):
        buffer.record(bytes(100), 0.1, at(i))
    assert buffer.buffered_bytes == 200 and len(buffer) == 2


# -- timeline -------------------------------------------------------------------------------------


def result(start: float, end: float, *, partial: bool = False, rid: str = "r") -> Result:
    item = Item(start_time=start, end_time=end, content="word")
    return Result(rid, start, end, partial, (Alternative("word", (item,)),))


def test_an_event_that_needs_no_change_is_the_same_object() -> None:
    event = TranscriptEvent(Transcript((result(1.0, 2.0),)))
    placed, finals = Timeline().place(event)
    assert placed is event and finals == [2.0]


def test_a_resumed_connection_is_shifted_and_what_was_delivered_is_dropped() -> None:
    timeline = Timeline()
    timeline.resume(origin=10.0, resume_point=12.0)
    event = TranscriptEvent(Transcript((result(0.5, 1.5, rid="old"), result(2.5, 3.0, partial=True, rid="new"))))
    placed, finals = timeline.place(event)
    assert isinstance(placed, TranscriptEvent)
    (kept,) = placed.transcript.results
    assert (kept.result_id, kept.start_time, kept.end_time) == ("new", 12.5, 13.0)
    assert kept.alternatives[0].items[0].start_time == 12.5 and finals == []


def test_empty_events_and_stale_utterances_are_not_delivered() -> None:
    timeline = Timeline()
    assert timeline.place(TranscriptEvent(Transcript(()))) == (None, [])
    timeline.resume(origin=5.0, resume_point=9.0)
    utterance = UtteranceEvent(utterance_id="u", begin_offset_millis=1000, end_offset_millis=2000, is_partial=False)
    assert timeline.place(utterance) == (None, [])  # 6 s on the stream's time: before 9 s


# -- deadlines and pacing -------------------------------------------------------------------------


def test_deadlines() -> None:
    assert open_timeout(3.0, None) == 3.0 and open_timeout(3.0, 5.0) == 8.0
    kw = {"only_results_due": False, "message_since": None, "now": at(0)}
    assert receive_timeout(None, 30.0, **kw) is None  # silence produces no results
    assert receive_timeout(None, 30.0, **{**kw, "only_results_due": True}) == 30.0
    assert receive_timeout(None, 30.0, **{**kw, "message_since": at(-25)}) == pytest.approx(5.0)
    assert receive_timeout(4.0, 30.0, **{**kw, "message_since": at(-40)}) == 0.0


def test_the_pacer_sends_by_media_time_and_silence_does_not_make_the_source_late() -> None:
    pacer = Pacer(start=100.0, speed=2.0, keepalive=1.5)
    assert pacer.delay(100.0) == 0.0
    pacer.sent(1.0, 100.0)
    assert pacer.delay(100.2) == pytest.approx(0.3)  # 1 s of media at 2x is due at 100.5
    assert pacer.source_timeout == 1.5
    pacer.sent(0.1, 110.0, filler=True)  # the source stalled; silence went out at 110
    assert pacer.delay(110.0) == 0.0 and pacer.delay(109.9) == pytest.approx(0.1)
    unpaced = Pacer(start=0.0, speed=None)
    unpaced.sent(100.0, 0.0)
    assert unpaced.delay(0.0) == 0.0


def test_a_server_answering_in_http1_is_named_for_what_it_is() -> None:
    from streaming.proto.endpoints import not_http2

    refusal = not_http2(b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\r\n", "127.0.0.1:8444")
    assert refusal is not None and "answered in HTTP/1.1 ('HTTP/1.1 400 Bad Request')" in str(refusal)
    assert "ws:// (WebSocket)" in str(refusal)
    assert not_http2(b"\x00\x00\x12\x04\x00\x00\x00\x00\x00", "x") is None  # a SETTINGS frame: HTTP/2
