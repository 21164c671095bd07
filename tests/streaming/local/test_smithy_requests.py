"""Requests as smithy-generated AWS SDKs send them: every boolean member present, ``false``.

The JavaScript v3, Go v2, Rust, Kotlin and Swift SDKs serialise each boolean member of
the request, so a stream that does not ask for language identification still carries
``x-amzn-transcribe-identify-language: false``. A parameter sent with its default value
must give the same stream as one left out: the endpoint reads values, not presence.
The requests are signed by botocore (HTTP/2) and presigned by botocore (WebSocket).
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest
from websockets.asyncio.client import connect

import eventstream
from sigv4 import signature_from_authorization
from streaming import TranscribeStreamingClient, open_audio
from streaming.local import DEV_CREDENTIALS, LocalEndpoint
from streaming.proto.models import to_service_json
from streaming.proto.params import PARAMETERS, Operation
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

from .raw_clients import AUDIO_HEADERS, FrameSigner, botocore_presigned, botocore_signed_headers, chunks, h2_exchange

FOX = (FIXTURES / "fox.pcm").read_bytes()
BASIC = {"language-code": "en-US", "sample-rate": "16000", "media-encoding": "pcm"}

# What each operation's smithy request carries when the application sets no flag at all.
OPERATIONS = {
    "standard": (
        "/stream-transcription",
        {
            "enable-channel-identification": "false",
            "enable-partial-results-stabilization": "false",
            "identify-language": "false",
            "identify-multiple-languages": "false",
            "show-speaker-label": "false",
        },
    ),
    "medical": (
        "/medical-stream-transcription",
        {
            "specialty": "PRIMARYCARE",
            "type": "DICTATION",
            "enable-channel-identification": "false",
            "show-speaker-label": "false",
        },
    ),
    "call-analytics": (
        "/call-analytics-stream-transcription",
        {"enable-partial-results-stabilization": "false", "identify-language": "false"},
    ),
}


def final_texts(messages: list[eventstream.Message]) -> list[str]:
    """Final transcripts of any of the three operations' result events."""
    texts = []
    for message in messages:
        assert message.headers.get(":message-type") == "event", message.payload
        body = json.loads(message.payload)
        if "Transcript" in body and isinstance(body["Transcript"], dict):
            for result in body["Transcript"]["Results"]:
                assert "LanguageCode" not in result or result["LanguageCode"] == "en-US"
                assert "LanguageIdentification" not in result  # identification was not asked for
                assert "ChannelId" not in result  # nor channel identification
                if not result["IsPartial"]:
                    texts.append(result["Alternatives"][0]["Transcript"])
        elif message.headers.get(":event-type") == "UtteranceEvent" and not body["IsPartial"]:
            assert "LanguageIdentification" not in body
            texts.append(body["Transcript"])
    return texts


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_every_boolean_sent_false_over_http2(plain_endpoint: LocalEndpoint, operation: str) -> None:
    path, flags = OPERATIONS[operation]
    wire = {f"x-amzn-transcribe-{k}": v for k, v in {**BASIC, **flags}.items()}
    headers = botocore_signed_headers(
        plain_endpoint.http2_url + path,
        {
            "content-type": "application/vnd.amazon.eventstream",
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-EVENTS",
            **wire,
        },
        DEV_CREDENTIALS,
    )

    def frames(h: dict[str, str]) -> list[bytes]:
        signer = FrameSigner(DEV_CREDENTIALS, signature_from_authorization(h["authorization"]))
        return [*(signer.audio(c) for c in chunks(FOX)), signer.end()]

    response = await h2_exchange(plain_endpoint.http2_url, path, headers, frames)
    assert response.status == 200, bytes(response.body)
    assert response.exception() is None
    # Every parameter sent is echoed, false ones included, as the service does.
    for name, value in flags.items():
        assert response.headers.get(f"x-amzn-transcribe-{name}") == value
    assert word_error_rate(FOX_TEXT, " ".join(final_texts(response.events()))) <= 0.25
    assert [s.outcome for s in plain_endpoint.completed] == ["completed"]


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_every_boolean_sent_false_over_websocket(plain_endpoint: LocalEndpoint, operation: str) -> None:
    path, flags = OPERATIONS[operation]
    query = urlencode({**BASIC, **flags})
    url = botocore_presigned(f"{plain_endpoint.websocket_url}{path}-websocket?{query}", DEV_CREDENTIALS)
    messages: list[eventstream.Message] = []
    decoder = eventstream.Decoder()
    async with connect(url) as ws:
        for chunk in chunks(FOX):
            await ws.send(eventstream.encode(AUDIO_HEADERS, chunk))
        await ws.send(eventstream.encode(AUDIO_HEADERS, b""))  # the end of the audio
        async for data in ws:
            assert isinstance(data, bytes)
            messages += decoder.feed(data)
    assert word_error_rate(FOX_TEXT, " ".join(final_texts(messages))) <= 0.25
    assert [s.outcome for s in plain_endpoint.completed] == ["completed"]


# -- every boolean of the parameter table, sent false, changes nothing -------------------------------


REQUIRED = {
    Operation.TRANSCRIPTION: {"language_code": "en-US"},
    Operation.MEDICAL: {"language_code": "en-US", "specialty": "PRIMARYCARE", "type": "DICTATION"},
    Operation.CALL_ANALYTICS: {"language_code": "en-US"},
}
FALSE_CASES = [
    (operation, param.name)
    for operation in Operation
    for param in PARAMETERS
    if param.kind is bool and operation in param.operations
]


async def finals_of(endpoint: LocalEndpoint, transport: str, operation: Operation, **values: object) -> list:
    url = endpoint.http2_url if transport == "http2" else endpoint.websocket_url
    client = TranscribeStreamingClient(endpoint=url, transport=transport)  # type: ignore[arg-type]
    start = {
        Operation.TRANSCRIPTION: client.start_stream_transcription,
        Operation.MEDICAL: client.start_medical_stream_transcription,
        Operation.CALL_ANALYTICS: client.start_call_analytics_stream_transcription,
    }[operation]
    source = open_audio(FIXTURES / "fox.pcm", sample_rate=16000)
    async with start(media_sample_rate_hz=16000, media_encoding="pcm", **REQUIRED[operation], **values) as stream:
        sender = asyncio.create_task(stream.send_from(source, realtime=False))
        events = [e async for e in stream]
        await sender
    out = []
    for event in events:
        body = json.loads(to_service_json(event))
        body.pop("UtteranceId", None)
        for result in body.get("Transcript", {}).get("Results", []) if isinstance(body.get("Transcript"), dict) else []:
            result.pop("ResultId", None)
            if not result["IsPartial"]:
                out.append(result)
        if "UtteranceId" not in body and not body.get("IsPartial", True):
            out.append(body)
    return out


# A stream that leaves every flag out, per (transport, operation): recognition is
# deterministic, so each case's baseline is made once (by whichever case needs it first).
BASELINES: dict[tuple[str, Operation], list] = {}


@pytest.mark.parametrize("transport", ["http2", "websocket"])
@pytest.mark.parametrize(("operation", "name"), FALSE_CASES, ids=[f"{op.value}-{name}" for op, name in FALSE_CASES])
async def test_every_boolean_of_the_table_sent_false_gives_the_same_stream(
    plain_endpoint: LocalEndpoint, transport: str, operation: Operation, name: str
) -> None:
    """Each boolean parameter an operation takes, sent explicitly as false, gives exactly
    the results of a stream that leaves it out."""
    if (transport, operation) not in BASELINES:
        BASELINES[transport, operation] = await finals_of(plain_endpoint, transport, operation)
    baseline = BASELINES[transport, operation]
    assert baseline, operation
    assert await finals_of(plain_endpoint, transport, operation, **{name: False}) == baseline


def test_the_table_has_booleans_for_every_operation() -> None:
    assert len(FALSE_CASES) >= 9
    assert {op for op, _ in FALSE_CASES} == set(Operation)
