"""Service errors are typed by a fixed table, from HTTP responses and from stream messages."""

from __future__ import annotations

import pytest

import eventstream
import streaming.proto.errors as errors
from streaming import Operation
from streaming.proto.messages import encode_error, encode_exception, parse_result_message


@pytest.mark.parametrize(
    ("status", "headers", "body", "cls", "message"),
    [
        (
            400,
            {"x-amzn-errortype": "BadRequestException:http://internal.amazon.com/"},
            b'{"Message": "bad"}',
            errors.BadRequestException,
            "bad",
        ),
        (
            429,
            {"X-Amzn-ErrorType": "LimitExceededException"},
            b'{"message": "slow down"}',
            errors.LimitExceededException,
            "slow down",
        ),
        (
            500,
            {},
            b'{"__type": "com.amazon#InternalFailureException", "Message": "oops"}',
            errors.InternalFailureException,
            "oops",
        ),
        (503, {}, b"", errors.ServiceUnavailableException, "HTTP 503"),
        (
            403,
            {"x-amzn-errortype": "UnrecognizedClientException"},
            b"{}",
            errors.UnrecognizedClientException,
            "HTTP 403",
        ),
        (
            403,
            {"x-amzn-errortype": "InvalidSignatureException"},
            b"not json",
            errors.InvalidSignatureException,
            "not json",
        ),
        (409, {}, b'{"Message": "twice"}', errors.ConflictException, "twice"),
    ],
)
def test_http_errors_map_to_classes(status, headers, body, cls, message) -> None:
    error = errors.service_error_from_http(status, headers, body, request_id="rid")
    assert type(error) is cls
    assert error.message == message
    assert error.request_id == "rid"
    assert str(error) == f"{cls.code}: {message}"


def test_unknown_names_keep_their_code() -> None:
    error = errors.service_error_from_http(
        418, {"x-amzn-errortype": "TeapotException"}, b'{"Message": "short and stout"}'
    )
    assert isinstance(error, errors.UnknownServiceError)
    assert error.code == "TeapotException"
    assert error.status == 418
    unmapped = errors.service_error_from_http(502, {}, b"")
    assert unmapped.code == "HTTP502"
    assert unmapped.retryable


def test_retryable_flags() -> None:
    assert errors.LimitExceededException.retryable
    assert errors.InternalFailureException.retryable
    assert errors.ServiceUnavailableException.retryable
    assert not errors.BadRequestException.retryable
    assert not errors.ConflictException.retryable
    assert not errors.UnrecognizedClientException.retryable
    assert errors.ConnectError("x").retryable


@pytest.mark.parametrize("cls", list(errors.SERVICE_EXCEPTIONS.values()))
def test_stream_exception_messages_round_trip(cls) -> None:
    wire = encode_exception(cls("it broke"))
    message = eventstream.decode(wire)
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == cls.code
    with pytest.raises(cls, match="it broke"):
        parse_result_message(Operation.TRANSCRIPTION, message)


def test_unmodeled_error_messages() -> None:
    # A name no table knows keeps its code; a known one (now ThrottlingException) gets its class.
    message = eventstream.decode(encode_error("SlowDownException", "Rate exceeded"))
    with pytest.raises(errors.UnknownServiceError, match="Rate exceeded") as info:
        parse_result_message(Operation.TRANSCRIPTION, message)
    assert info.value.code == "SlowDownException"
    known = eventstream.decode(encode_error("ThrottlingException", "Rate exceeded"))
    with pytest.raises(errors.ThrottlingException, match="Rate exceeded") as throttled:
        parse_result_message(Operation.TRANSCRIPTION, known)
    assert throttled.value.retryable


def test_malformed_result_messages_are_protocol_errors() -> None:
    for headers, payload in [
        ({":message-type": "event"}, b"{}"),
        ({":message-type": "event", ":event-type": "TranscriptEvent"}, b"not json"),
        (
            {":message-type": "event", ":event-type": "TranscriptEvent"},
            b'{"Transcript": {"Results": [{"IsPartial": "no"}]}}',
        ),
        ({":message-type": "mystery"}, b""),
        ({":message-type": "exception"}, b""),
    ]:
        with pytest.raises(errors.ProtocolError):
            parse_result_message(Operation.TRANSCRIPTION, eventstream.Message(headers, payload))


def test_unknown_event_types_are_kept() -> None:
    message = eventstream.Message({":message-type": "event", ":event-type": "FutureEvent"}, b"{}")
    event = parse_result_message(Operation.TRANSCRIPTION, message)
    assert event.event_type == "FutureEvent"
    assert event.payload == b"{}"
