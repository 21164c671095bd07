"""The endpoint over WebSocket: URLs presigned by botocore, frames by amazon_transcribe or bare."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

import eventstream
from sigv4 import Credentials, signature_from_presigned_url
from streaming.local import DEV_CREDENTIALS, LocalEndpoint
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

from .raw_clients import AUDIO_HEADERS, FrameSigner, botocore_presigned, chunks

FOX = (FIXTURES / "fox.pcm").read_bytes()
QUERY = "language-code=en-US&media-encoding=pcm&sample-rate=16000"


def url_for(
    ep: LocalEndpoint,
    creds: Credentials = DEV_CREDENTIALS,
    *,
    path: str = "/stream-transcription-websocket",
    query: str = QUERY,
    expires: int = 300,
) -> str:
    return botocore_presigned(f"{ep.websocket_url}{path}?{query}", creds, expires=expires)


def context(ep: LocalEndpoint) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=str(ep.ca_file)) if ep.ca_file else None


async def converse(
    ep: LocalEndpoint, url: str, frames: list[bytes], *, pace: float = 0.0, close: bool = False
) -> tuple[list[eventstream.Message], float | None, float, object]:
    """Send frames; collect messages until the server closes. Returns messages, time of the
    first result, time the last frame was sent, and the close code."""
    messages: list[eventstream.Message] = []
    first_result: float | None = None
    async with connect(url, ssl=context(ep)) as ws:

        async def send() -> float:
            for frame in frames:
                await ws.send(frame)
                if pace:
                    await asyncio.sleep(pace)
            sent = time.monotonic()
            if close:
                await ws.close()
            return sent

        sender = asyncio.create_task(send())
        decoder = eventstream.Decoder()
        async for data in ws:
            for message in decoder.feed(data):
                messages.append(message)
                if first_result is None and message.headers.get(":event-type") == "TranscriptEvent":
                    first_result = time.monotonic()
        last_sent = await sender
        code = ws.close_code
    return messages, first_result, last_sent, code


def finals(messages: list[eventstream.Message]) -> list[str]:
    out = []
    for m in messages:
        if m.headers.get(":event-type") == "TranscriptEvent":
            out += [
                r["Alternatives"][0]["Transcript"]
                for r in json.loads(m.payload)["Transcript"]["Results"]
                if not r["IsPartial"]
            ]
    return out


async def test_signed_frames(any_endpoint: LocalEndpoint) -> None:
    url = url_for(any_endpoint)
    signer = FrameSigner(DEV_CREDENTIALS, signature_from_presigned_url(url))
    messages, _, _, code = await converse(any_endpoint, url, [signer.audio(c) for c in chunks(FOX)] + [signer.end()])
    assert word_error_rate(FOX_TEXT, finals(messages)[0]) <= 0.15
    assert code == 1000


async def test_unsigned_frames_and_a_close_end_the_audio(endpoint: LocalEndpoint) -> None:
    # What a browser sends after connecting with a presigned URL: bare AudioEvents in real
    # time, then a close. Results after the close are lost (the socket is closing), so the
    # final must have been sent while audio was still arriving: the audio ends in silence.
    frames = [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(FOX + bytes(32000))]
    messages, _, _, _ = await converse(endpoint, url_for(endpoint), frames, pace=0.1, close=True)
    assert word_error_rate(FOX_TEXT, finals(messages)[0]) <= 0.15
    for _ in range(200):  # the server finishes its side just after the client's close
        if endpoint.completed:
            break
        await asyncio.sleep(0.01)
    stream = endpoint.completed[-1]
    assert stream.outcome == "completed"
    assert stream.audio_seconds == pytest.approx((len(FOX) + 32000) / 32000)


async def test_results_stream_back_while_audio_is_arriving(endpoint: LocalEndpoint) -> None:
    frames = [eventstream.encode(AUDIO_HEADERS, c) for c in chunks(FOX)] + [eventstream.encode(AUDIO_HEADERS, b"")]
    _, first_result, last_sent, _ = await converse(endpoint, url_for(endpoint), frames, pace=0.05)
    assert first_result is not None
    assert first_result < last_sent


async def refusal(url: str, ssl: Any) -> tuple[str, str, int, str]:
    """A refused handshake the service's way: upgraded, one exception message, a close."""
    async with connect(url, ssl=ssl) as ws:
        message = eventstream.decode(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code is not None and ws.close_reason is not None
        assert message.headers[":message-type"] == "exception"
        body = json.loads(message.payload)
        return str(message.headers[":exception-type"]), body["Message"], ws.close_code, ws.close_reason


@pytest.mark.parametrize(
    ("creds", "expires", "code", "needle"),
    [
        (Credentials(DEV_CREDENTIALS.access_key_id, "wrong"), 300, "InvalidSignatureException", "does not match"),
        (Credentials("AKIDUNKNOWN", "x"), 300, "UnrecognizedClientException", "security token"),
        (DEV_CREDENTIALS, 301, "InvalidSignatureException", "1 to 300"),
    ],
)
async def test_bad_presigned_urls_are_refused_after_the_upgrade(
    endpoint: LocalEndpoint, creds, expires, code, needle
) -> None:
    kind, text, close_code, reason = await refusal(url_for(endpoint, creds, expires=expires), context(endpoint))
    assert (kind, close_code, reason) == (code, 1000, code)
    assert needle in text


async def test_a_request_that_is_not_a_handshake_gets_the_http_error(endpoint: LocalEndpoint) -> None:
    import httpx

    url = url_for(endpoint, Credentials("AKIDUNKNOWN", "x")).replace("wss://", "https://")
    async with httpx.AsyncClient(verify=context(endpoint) or False) as http:
        response = await http.get(url)
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"].startswith("UnrecognizedClientException:")


async def test_expired_url(endpoint: LocalEndpoint) -> None:
    url = url_for(endpoint, expires=1)
    await asyncio.sleep(2.1)
    kind, text, _, _ = await refusal(url, context(endpoint))
    assert kind == "InvalidSignatureException" and "expired" in text


async def test_parameter_errors_after_the_upgrade(endpoint: LocalEndpoint) -> None:
    kind, text, _, _ = await refusal(url_for(endpoint, query=QUERY.replace("16000", "96000")), context(endpoint))
    assert kind == "BadRequestException" and "sample-rate" in text


async def test_an_error_is_one_exception_message_then_a_close(endpoint: LocalEndpoint) -> None:
    url = url_for(endpoint)
    signer = FrameSigner(DEV_CREDENTIALS, signature_from_presigned_url(url))
    messages, _, _, code = await converse(endpoint, url, [signer.audio(bytes(40_000))])
    assert [m.headers[":message-type"] for m in messages] == ["exception"]
    assert messages[0].headers[":exception-type"] == "BadRequestException"
    assert code == 1000


@pytest.mark.parametrize(
    ("path", "query", "event_type"),
    [
        ("/medical-stream-transcription-websocket", QUERY + "&specialty=PRIMARYCARE&type=DICTATION", "TranscriptEvent"),
        ("/call-analytics-stream-transcription-websocket", QUERY, "UtteranceEvent"),
    ],
)
async def test_medical_and_call_analytics_paths(endpoint: LocalEndpoint, path, query, event_type) -> None:
    url = url_for(endpoint, path=path, query=query)
    signer = FrameSigner(DEV_CREDENTIALS, signature_from_presigned_url(url))
    messages, _, _, _ = await converse(endpoint, url, [signer.audio(c) for c in chunks(FOX)] + [signer.end()])
    events = [m for m in messages if m.headers.get(":event-type") == event_type]
    assert events
    last = json.loads(events[-1].payload)
    text = (
        last["Transcript"]
        if event_type == "UtteranceEvent"
        else last["Transcript"]["Results"][0]["Alternatives"][0]["Transcript"]
    )
    assert word_error_rate(FOX_TEXT, text) <= 0.15


async def test_pages_of_other_sites_cannot_open_websockets() -> None:
    from websockets.asyncio.client import connect

    from streaming import presign_websocket_url

    async with LocalEndpoint(tls="none", allowed_origins=["https://captions.example"]) as ep:

        def url() -> str:
            return presign_websocket_url(
                region="us-east-1",
                endpoint=ep.websocket_url,
                language_code="en-US",
                media_sample_rate_hz=16000,
                media_encoding="pcm",
            )

        with pytest.raises(InvalidStatus) as refused:
            async with connect(url(), origin="https://evil.example"):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
        for origin in (ep.http_url, "https://captions.example", None):  # its own page, a listed site, an SDK
            async with connect(url(), origin=origin):  # type: ignore[arg-type]
                pass


async def test_the_page_and_presign_are_off_beyond_loopback_unless_asked() -> None:
    import httpx

    assert not LocalEndpoint(host="192.0.2.10").page_enabled  # a network address: off by default
    assert LocalEndpoint(host="192.0.2.10", page=True).page_enabled
    async with LocalEndpoint(tls="none", page=False) as ep, httpx.AsyncClient() as http:
        presign = await http.get(f"{ep.http_url}/presign", params={"language-code": "en-US"})
        page = await http.get(f"{ep.http_url}/")
    assert presign.status_code == 403 and page.status_code == 404


async def test_a_websocket_message_over_the_limit_fails_the_stream_and_is_logged_so(
    endpoint: LocalEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from websockets.exceptions import ConnectionClosedError

    caplog.set_level(logging.INFO, logger="streamscribe.local")
    async with connect(url_for(endpoint), ssl=context(endpoint), max_size=None) as ws:
        await ws.send(eventstream.encode(AUDIO_HEADERS, FOX[:3200]))
        await ws.send(bytes(endpoint.limits.max_frame_bytes + 64 * 1024))  # one message, too big
        with pytest.raises(ConnectionClosedError) as closed:
            async for _ in ws:
                pass
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    for _ in range(500):  # the server records the stream just after closing the socket
        if endpoint.completed:
            break
        await asyncio.sleep(0.01)
    assert endpoint.completed[-1].outcome == "BadRequestException"
    assert "outcome=completed" not in caplog.text
