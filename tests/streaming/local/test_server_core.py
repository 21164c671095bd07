"""The endpoint's sans-I/O parts without a socket: the stream core (bytes in) and admission (a request in).

Requests are signed by botocore and frames by amazon_transcribe's signer (tests/local/
raw_clients.py), so the endpoint's verification is checked against another
implementation, not against our own client. Every refusal the stream core and
admission can give has a row here.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

import eventstream
import sigv4
from sigv4 import Credentials
from streaming.local.admission import Admitted, Gate, OpenRequest, admit
from streaming.local.faults import FaultPlan
from streaming.local.resources import load_resources
from streaming.local.streamcore import (
    MISSING_END_FRAME,
    TOO_BIG,
    AudioEnd,
    AudioIn,
    Limits,
    ServerStreamCore,
    idle_message,
)
from streaming.proto.credentials import DEV_CREDENTIALS
from streaming.proto.errors import (
    AccessDeniedException,
    BadRequestException,
    ConflictException,
    InvalidSignatureException,
    LimitExceededException,
    ServiceError,
    UnknownServiceError,
    UnrecognizedClientException,
)
from streaming.proto.params import Operation, StreamParams
from tests.streaming.local.raw_clients import AUDIO_HEADERS, FrameSigner, botocore_presigned, botocore_signed_headers

T0 = dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.UTC)
HOST = "127.0.0.1:8443"
PATH = "/stream-transcription"
CA_PATH = "/call-analytics-stream-transcription"
SESSION = "0f6a3a1f-3b8e-4b59-9d4e-6c4d1a522b7c"
PCM_HEADERS = {
    "x-amzn-transcribe-language-code": "en-US",
    "x-amzn-transcribe-sample-rate": "16000",
    "x-amzn-transcribe-media-encoding": "pcm",
}
CREDENTIALS = {DEV_CREDENTIALS.access_key_id: DEV_CREDENTIALS}


def signed_request(path: str = PATH, extra: dict[str, str] | None = None, *, now: dt.datetime = T0) -> OpenRequest:
    headers = {
        "host": HOST,
        "content-type": "application/vnd.amazon.eventstream",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-EVENTS",
        **PCM_HEADERS,
        **(extra or {}),
    }
    signed = botocore_signed_headers(f"https://{HOST}{path}", headers, DEV_CREDENTIALS, now=now)
    return OpenRequest("POST", path, list(signed.items()), websocket=False)


def stream_core(
    request: OpenRequest | None = None, *, limits: Limits | None = None, operation: Operation = Operation.TRANSCRIPTION
) -> tuple[ServerStreamCore, FrameSigner]:
    request = request or signed_request(operation.http2_path)
    verified = sigv4.verify_request(
        "POST", request.target, list(request.headers), credentials=CREDENTIALS, now=T0, service="transcribe"
    )
    params = StreamParams.build(operation, language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm")
    core = ServerStreamCore(
        params, verifier=verified.chunk_verifier(), allow_unsigned=False, limits=limits or Limits(), started=0.0
    )
    return core, FrameSigner(DEV_CREDENTIALS, verified.signature, clock=lambda: T0)


def event(event_type: str, payload: bytes, message_type: str = "event") -> bytes:
    headers = {":message-type": message_type, ":event-type": event_type, ":content-type": "application/octet-stream"}
    return eventstream.encode(headers, payload)


# -- the stream core: what arrives ------------------------------------------------------------------


@pytest.mark.parametrize("split", [1, 7, 4096])
def test_audio_in_any_split_comes_out_whole_and_the_end_frame_ends_it(split: int) -> None:
    core, signer = stream_core()
    chunks = [bytes([i]) * 3200 for i in range(3)]
    wire = b"".join(signer.audio(c) for c in chunks) + signer.end()
    received: list[Any] = []
    for i in range(0, len(wire), split):
        received += core.receive(wire[i : i + split], T0)
    assert received == [*(AudioIn(c) for c in chunks), AudioEnd()]
    assert (core.frames, core.audio_bytes, core.ended) == (4, 9600, True)
    assert core.end_of_input() == []  # the end frame came first: nothing more


def test_the_configuration_event_is_applied_and_not_handed_on() -> None:
    core, signer = stream_core(operation=Operation.CALL_ANALYTICS)
    definitions = [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "CUSTOMER"}]
    configuration = event("ConfigurationEvent", json.dumps({"ChannelDefinitions": definitions}).encode())
    assert core.receive(signer.sign(configuration), T0) == []
    assert core.channel_roles == {0: "AGENT", 1: "CUSTOMER"} and core.audio_format.channels == 2 and core.all_channels
    assert core.receive(signer.audio(bytes(6400)), T0) == [AudioIn(bytes(6400))]


def test_the_backlog_holds_the_client_back_until_the_recogniser_takes_audio() -> None:
    core, signer = stream_core(limits=Limits(max_backlog_bytes=8000))
    core.receive(b"".join(signer.audio(bytes(3200)) for _ in range(3)), T0)
    assert not core.has_room and core.max_backlog == 9600
    assert core.took(3200) is True  # room again: the transport acknowledges now
    assert core.took(3200) is False and core.backlog == 3200


def test_time_limits_idle_and_duration() -> None:
    core, _ = stream_core(limits=Limits(idle_timeout=15.0, max_duration=100.0))
    assert core.time_limit(10.0, None) is None  # not waiting for audio: no idle limit
    assert core.next_check(10.0, None) == 15.0
    assert core.time_limit(20.0, waiting_since=6.0) is None
    assert core.next_check(20.0, waiting_since=6.0) == pytest.approx(1.0)
    idle = core.time_limit(21.0, waiting_since=6.0)
    assert isinstance(idle, BadRequestException) and idle.message == idle_message(15.0)
    too_long = core.time_limit(100.0, None)
    assert isinstance(too_long, LimitExceededException) and "maximum duration of 100 seconds" in too_long.message
    assert core.next_check(95.0, None) == pytest.approx(5.0)


# -- the stream core: every refusal ----------------------------------------------------------------


def _tampered(signer: FrameSigner) -> bytes:
    message = eventstream.decode(signer.audio(bytes(3200)))
    inner = bytearray(message.payload)
    inner[-100] ^= 1  # one bit of the audio: the frame is well formed, its signature is not
    return eventstream.encode(dict(message.headers), bytes(inner))


def _expired(signer: FrameSigner) -> tuple[bytes, dt.datetime]:
    return signer.audio(bytes(3200)), T0 + dt.timedelta(minutes=20)


REFUSALS: list[tuple[str, Any, str]] = [
    ("an oversized frame", lambda s: s.audio(bytes(300_000)), TOO_BIG),
    ("bytes that are no event stream", lambda s: b"\x00\x00\x00\x10" + bytes(12), "Could not decode the event stream"),
    ("an unsigned frame", lambda s: event("AudioEvent", bytes(3200)), "has no :chunk-signature"),
    ("a frame whose audio was changed", _tampered, "signature"),
    ("a frame signed 20 minutes ago", _expired, "Signature expired"),
    ("a signed frame whose inside is not a message", lambda s: s.sign(b"not a message"), "inside frame 1"),
    ("an exception instead of an event", lambda s: s.sign(event("X", b"", "exception")), "expected an event message"),
    ("an event type the service does not take", lambda s: s.sign(event("VideoEvent", b"x")), "'VideoEvent'"),
    ("2 s of audio in one event", lambda s: s.audio(bytes(64_000)), "send at most 1 second per event"),
    (
        "a ConfigurationEvent on a standard stream",
        lambda s: s.sign(event("ConfigurationEvent", b"{}")),
        "only accepted",
    ),
    ("frames after the end frame", lambda s: s.end() + s.audio(bytes(3200)), "after the end of the audio"),
]


@pytest.mark.parametrize(("what", "make", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_of_the_stream_core(what: str, make: Any, words: str) -> None:
    core, signer = stream_core()
    made = make(signer)
    wire, now = made if isinstance(made, tuple) else (made, T0)
    with pytest.raises(BadRequestException) as refused:
        core.receive(wire, now)
    assert words in refused.value.message, what


CONFIGURATION_REFUSALS = [
    (b"not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (json.dumps({"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "AGENT"}]}).encode(), "exactly two"),
    (json.dumps({"PostCallAnalyticsSettings": {"OutputLocation": "s3://b/k"}}).encode(), "DataAccessRoleArn"),
]


@pytest.mark.parametrize(("payload", "words"), CONFIGURATION_REFUSALS)
def test_each_refusal_of_a_configuration_event(payload: bytes, words: str) -> None:
    core, signer = stream_core(operation=Operation.CALL_ANALYTICS)
    with pytest.raises(BadRequestException, match=words):
        core.receive(signer.sign(event("ConfigurationEvent", payload)), T0)


def test_a_configuration_event_after_audio_or_twice_is_refused() -> None:
    core, signer = stream_core(operation=Operation.CALL_ANALYTICS)
    core.receive(signer.audio(bytes(3200)), T0)
    with pytest.raises(BadRequestException, match="must be the first event, sent once"):
        core.receive(signer.sign(event("ConfigurationEvent", b"{}")), T0)


def test_the_input_ending_mid_frame_or_without_the_end_frame_is_refused() -> None:
    core, signer = stream_core()
    core.receive(signer.audio(bytes(3200))[:-5], T0)
    with pytest.raises(BadRequestException, match="ended mid-frame"):
        core.end_of_input()
    core, signer = stream_core()
    core.receive(signer.audio(bytes(3200)), T0)
    with pytest.raises(BadRequestException) as refused:
        core.end_of_input()
    assert refused.value.message == MISSING_END_FRAME


def test_a_signed_frame_on_an_unsigned_stream_is_refused_and_bare_audio_is_taken() -> None:
    params = StreamParams.build(
        Operation.TRANSCRIPTION, language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    )
    core = ServerStreamCore(params, verifier=None, allow_unsigned=True, limits=Limits(), started=0.0)
    bare = eventstream.encode(AUDIO_HEADERS, bytes(3200))
    assert core.receive(bare, T0) == [AudioIn(bytes(3200))]
    assert core.receive(eventstream.encode(AUDIO_HEADERS, b""), T0) == [AudioEnd()]  # a browser's end
    other = ServerStreamCore(params, verifier=None, allow_unsigned=True, limits=Limits(), started=0.0)
    _, signer = stream_core()
    with pytest.raises(BadRequestException, match="Signed frames need a signed request"):
        other.receive(signer.audio(bytes(3200)), T0)


# -- admission: every refusal, then the admitted stream ---------------------------------------------


def gate(**kw: Any) -> Gate:
    resources = load_resources(kw.pop("resources", None))
    values: dict[str, Any] = {
        "credentials": CREDENTIALS,
        "region": None,
        "max_streams": 2,
        "resources": resources,
        "faults": FaultPlan(resources.faults),
    }
    return Gate(**{**values, **kw})


def decide(request: OpenRequest, the_gate: Gate | None = None, **kw: Any) -> Admitted | ServiceError:
    values: dict[str, Any] = {"now": T0, "fresh_session_id": SESSION, "open_streams": 0, "session_owners": {}}
    return admit(request, the_gate or gate(), **{**values, **kw})


def _unsigned() -> OpenRequest:
    return OpenRequest("POST", PATH, [("host", HOST), *PCM_HEADERS.items()], websocket=False)


def _unknown_key() -> OpenRequest:
    request = signed_request()
    return OpenRequest(
        "POST",
        PATH,
        [(k, v.replace(DEV_CREDENTIALS.access_key_id, "AKIDNOBODY")) for k, v in request.headers],
        websocket=False,
    )


def _tampered_request() -> OpenRequest:
    request = signed_request()
    headers = [(k, "en-GB" if k == "x-amzn-transcribe-language-code" else v) for k, v in request.headers]
    return OpenRequest("POST", PATH, headers, websocket=False)


ADMISSION_REFUSALS: list[tuple[str, Any, dict[str, Any], type[ServiceError], str]] = [
    ("no operation at the path", lambda: signed_request("/nothing"), {}, UnknownServiceError, "No operation"),
    (
        "a WebSocket path over HTTP/2",
        lambda: OpenRequest("POST", "/stream-transcription-websocket", [], websocket=False),
        {},
        UnknownServiceError,
        "No operation",
    ),
    (
        "GET instead of POST",
        lambda: OpenRequest("GET", PATH, signed_request().headers, websocket=False),
        {},
        UnknownServiceError,
        "GET is not allowed",
    ),
    ("no signature", _unsigned, {}, AccessDeniedException, "Missing Authentication Token"),
    ("a key nobody has", _unknown_key, {}, UnrecognizedClientException, "security token"),
    ("a header changed after signing", _tampered_request, {}, InvalidSignatureException, ""),
    (
        "a signature from 20 minutes ago",
        lambda: signed_request(now=T0 - dt.timedelta(minutes=20)),
        {},
        InvalidSignatureException,
        "Signature expired",
    ),
    (
        "a parameter out of range",
        lambda: signed_request(extra={"x-amzn-transcribe-sample-rate": "4000"}),
        {},
        BadRequestException,
        "sample",
    ),
    (
        "a vocabulary nobody defined",
        lambda: signed_request(extra={"x-amzn-transcribe-vocabulary-name": "missing"}),
        {},
        BadRequestException,
        "vocabulary couldn't be found",
    ),
    ("the quota", signed_request, {"open_streams": 2}, LimitExceededException, "limit of 2 concurrent HTTP/2"),
    (
        "a session another identity holds",
        lambda: signed_request(extra={"x-amzn-transcribe-session-id": SESSION}),
        {"session_owners": {SESSION: "AKIDSOMEONEELSE"}},
        ConflictException,
        "another identity",
    ),
]


@pytest.mark.parametrize(
    ("what", "request_of", "state", "error", "words"), ADMISSION_REFUSALS, ids=[r[0] for r in ADMISSION_REFUSALS]
)
def test_each_refusal_of_admission(
    what: str, request_of: Any, state: dict[str, Any], error: type[ServiceError], words: str
) -> None:
    decision = decide(request_of(), **state)
    assert isinstance(decision, error), (what, decision)
    assert words in decision.message, what


def test_a_scripted_refusal_acts_on_its_sessions_only_and_only_as_often_as_it_says() -> None:
    faults = {"Faults": [{"SessionIdPrefix": "0000aaaa", "RefuseOpen": {"Exception": "ServiceUnavailableException"}}]}
    the_gate = gate(resources=faults)
    mine = signed_request(extra={"x-amzn-transcribe-session-id": "0000aaaa-0000-4000-8000-000000000000"})
    refused = decide(mine, the_gate)
    assert isinstance(refused, ServiceError) and refused.code == "ServiceUnavailableException"
    assert isinstance(decide(mine, the_gate), Admitted)  # once (Times defaults to 1)
    assert isinstance(decide(signed_request(), the_gate), Admitted)  # another session: untouched


def test_an_admitted_stream() -> None:
    decision = decide(signed_request(extra={"x-amzn-transcribe-session-id": SESSION}))
    assert isinstance(decision, Admitted)
    assert (decision.operation, decision.session_id, decision.takes_over) == (Operation.TRANSCRIPTION, SESSION, False)
    assert decision.verified.access_key_id == DEV_CREDENTIALS.access_key_id
    headers = decision.response_headers("req-1")
    assert headers["x-amzn-request-id"] == "req-1" and headers["x-amzn-transcribe-session-id"] == SESSION
    assert headers["x-amzn-transcribe-sample-rate"] == "16000"
    fresh = decide(signed_request())
    assert isinstance(fresh, Admitted) and fresh.session_id == SESSION  # the fresh id the endpoint drew
    again = decide(
        signed_request(extra={"x-amzn-transcribe-session-id": SESSION}),
        session_owners={SESSION: DEV_CREDENTIALS.access_key_id},
    )
    assert isinstance(again, Admitted) and again.takes_over  # its owner takes the session over


def test_a_presigned_websocket_request_is_admitted_and_counted_apart() -> None:
    query = "language-code=en-US&media-encoding=pcm&sample-rate=16000"
    url = botocore_presigned(f"https://{HOST}/stream-transcription-websocket?{query}", DEV_CREDENTIALS, now=T0)
    target = url.split(HOST, 1)[1]
    request = OpenRequest("GET", target, [("host", HOST)], websocket=True)
    assert isinstance(decide(request, open_streams=1), Admitted)
    refused = decide(request, open_streams=2)
    assert isinstance(refused, LimitExceededException) and "WebSocket" in refused.message


def test_a_request_signed_for_another_region_is_refused_when_the_endpoint_has_one() -> None:
    refused = decide(signed_request(), gate(region="eu-west-1"))
    assert isinstance(refused, InvalidSignatureException) and "eu-west-1" in refused.message
    assert isinstance(decide(signed_request(), gate(region="us-east-1")), Admitted)


def test_temporary_credentials_sign_with_their_session_token() -> None:
    temporary = Credentials("ASIATEMPORARY", "temporary-secret", "the-session-token")
    the_gate = gate(credentials={temporary.access_key_id: temporary})
    headers = {"host": HOST, **PCM_HEADERS}
    signed = botocore_signed_headers(f"https://{HOST}{PATH}", headers, temporary, now=T0)
    assert signed["x-amz-security-token"] == "the-session-token"
    admitted = decide(OpenRequest("POST", PATH, list(signed.items()), websocket=False), the_gate)
    assert isinstance(admitted, Admitted) and admitted.verified.access_key_id == "ASIATEMPORARY"
    forged = [(k, "another-token" if k == "x-amz-security-token" else v) for k, v in signed.items()]
    assert isinstance(decide(OpenRequest("POST", PATH, forged, websocket=False), the_gate), ServiceError)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({}, "specialty"),
        ({"x-amzn-transcribe-specialty": "PRIMARYCARE", "x-amzn-transcribe-type": "SURGERY"}, "type"),
        ({"x-amzn-transcribe-specialty": "PRIMARYCARE", "x-amzn-transcribe-type": "DICTATION"}, ""),
    ],
)
def test_medical_streams_need_their_specialty_and_type(extra: dict[str, str], words: str) -> None:
    decision = decide(signed_request("/medical-stream-transcription", extra))
    if words:
        assert isinstance(decision, BadRequestException) and words in decision.message.lower()
    else:
        assert isinstance(decision, Admitted) and decision.operation is Operation.MEDICAL


def test_a_presigned_websocket_stream_verifies_its_chained_frames() -> None:
    query = "language-code=en-US&media-encoding=pcm&sample-rate=16000"
    url = botocore_presigned(f"https://{HOST}/stream-transcription-websocket?{query}", DEV_CREDENTIALS, now=T0)
    request = OpenRequest("GET", url.split(HOST, 1)[1], [("host", HOST)], websocket=True)
    admitted = decide(request)
    assert isinstance(admitted, Admitted) and admitted.verified.presigned
    core = ServerStreamCore(
        admitted.params, verifier=admitted.verified.chunk_verifier(), allow_unsigned=True, limits=Limits(), started=0.0
    )
    signer = FrameSigner(DEV_CREDENTIALS, admitted.verified.signature, clock=lambda: T0)
    assert core.receive(signer.audio(bytes(3200)) + signer.end(), T0) == [AudioIn(bytes(3200)), AudioEnd()]


def test_audio_before_a_refused_frame_in_the_same_bytes_leaves_no_backlog() -> None:
    # Found by fuzz/fuzz_streamcore.py: the refusal ends the stream, so the audio decoded
    # just before it is never handed out and must not hold the backlog (flow control).
    core, signer = stream_core()
    good = signer.audio(bytes(3200))
    with pytest.raises(BadRequestException, match="has no :chunk-signature"):
        core.receive(good + event("AudioEvent", bytes(3200)), T0)
    assert core.backlog == 0 and core.has_room
