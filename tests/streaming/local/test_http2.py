"""The endpoint over HTTP/2, driven by an independent raw client (botocore + amazon_transcribe signers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

import pytest

import eventstream
from sigv4 import Credentials, signature_from_authorization
from streaming.local import DEV_CREDENTIALS, LocalEndpoint
from streaming.local.streamcore import MISSING_END_FRAME, idle_message
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

from .raw_clients import AUDIO_HEADERS, FrameSigner, Response, botocore_signed_headers, chunks, h2_exchange, utcnow

FOX = (FIXTURES / "fox.pcm").read_bytes()
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BASIC = {
    "x-amzn-transcribe-language-code": "en-US",
    "x-amzn-transcribe-sample-rate": "16000",
    "x-amzn-transcribe-media-encoding": "pcm",
}
STREAMING = {
    "content-type": "application/vnd.amazon.eventstream",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-EVENTS",
}


async def stream(
    ep: LocalEndpoint,
    audio: bytes = FOX,
    *,
    params: dict[str, str] = BASIC,
    path: str = "/stream-transcription",
    creds: Credentials = DEV_CREDENTIALS,
    frame_creds: Credentials | None = None,
    end_frame: bool = True,
    frames_hook=None,
    signed_at: dt.datetime | None = None,
    **kw,
) -> Response:
    headers = botocore_signed_headers(ep.http2_url + path, {**STREAMING, **params}, creds, now=signed_at)

    def frames(h: dict[str, str]) -> list[bytes]:
        signer = FrameSigner(frame_creds or creds, signature_from_authorization(h["authorization"]))
        hook = frames_hook or (lambda signer, pieces: [signer.audio(c) for c in pieces])
        out = hook(signer, chunks(audio))
        if end_frame:
            out.append(signer.end())
        return out

    return await h2_exchange(ep.http2_url, path, headers, frames, ca_file=ep.ca_file, **kw)


def error_of(response: Response) -> tuple[int, str, str]:
    body = json.loads(response.body)
    return response.status, response.headers["x-amzn-errortype"].split(":")[0], body["Message"]


async def test_transcribes_over_tls_and_h2c(any_endpoint: LocalEndpoint) -> None:
    response = await stream(any_endpoint)
    assert response.status == 200
    headers = response.headers
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    assert UUID_RE.fullmatch(headers["x-amzn-request-id"])
    assert UUID_RE.fullmatch(headers["x-amzn-transcribe-session-id"])
    for name, value in BASIC.items():
        assert headers[name] == value  # parameters are echoed
    finals = response.transcripts()
    assert len(finals) == 1
    assert word_error_rate(FOX_TEXT, finals[0]) <= 0.15
    assert response.exception() is None


async def test_partials_grow_then_one_final_with_the_same_result_id(endpoint: LocalEndpoint) -> None:
    response = await stream(endpoint)
    results = [r for m in response.events() for r in json.loads(m.payload)["Transcript"]["Results"]]
    assert len(results) >= 3
    assert {r["ResultId"] for r in results} == {results[-1]["ResultId"]}
    assert [r["IsPartial"] for r in results] == [True] * (len(results) - 1) + [False]
    final = results[-1]
    items = final["Alternatives"][0]["Items"]
    words = [i for i in items if i["Type"] == "pronunciation"]
    assert items[-1] == {
        "StartTime": words[-1]["EndTime"],
        "EndTime": words[-1]["EndTime"],
        "Type": "punctuation",
        "Content": ".",
        "VocabularyFilterMatch": False,
    }
    starts = [w["StartTime"] for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w["Confidence"] <= 1 for w in words)
    assert final["StartTime"] <= words[0]["StartTime"] < words[-1]["EndTime"] <= final["EndTime"] <= len(FOX) / 32000
    assert "Stable" not in words[0]  # only with partial-results stabilization


@pytest.mark.parametrize(
    ("secret", "akid", "status", "code", "message"),
    [
        ("wrong", DEV_CREDENTIALS.access_key_id, 403, "InvalidSignatureException", "does not match"),
        ("x", "AKIDUNKNOWN", 403, "UnrecognizedClientException", "security token included in the request is invalid"),
    ],
)
async def test_bad_credentials(endpoint: LocalEndpoint, secret, akid, status, code, message) -> None:
    response = await stream(endpoint, creds=Credentials(akid, secret))
    got_status, got_code, got_message = error_of(response)
    assert (got_status, got_code) == (status, code)
    assert message in got_message


async def test_request_signed_too_long_ago(endpoint: LocalEndpoint) -> None:
    response = await stream(endpoint, signed_at=utcnow() - dt.timedelta(minutes=6))
    status, code, message = error_of(response)
    assert (status, code) == (403, "InvalidSignatureException")
    assert message.startswith("Signature expired:")


async def test_unsigned_request(endpoint: LocalEndpoint) -> None:
    response = await h2_exchange(
        endpoint.http2_url, "/stream-transcription", {**STREAMING, **BASIC}, [], ca_file=endpoint.ca_file
    )
    status, code, _ = error_of(response)
    assert (status, code) == (403, "AccessDeniedException")


async def test_unknown_path(endpoint: LocalEndpoint) -> None:
    response = await stream(endpoint, path="/nothing-here")
    assert error_of(response)[:2] == (404, "UnknownOperationException")


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        ("/stream-transcription", {**BASIC, "x-amzn-transcribe-sample-rate": "7999"}, "sample-rate"),
        ("/stream-transcription", {**BASIC, "x-amzn-transcribe-media-encoding": "mp3"}, "media-encoding"),
        ("/stream-transcription", {**BASIC, "x-amzn-transcribe-language-code": "xx-XX"}, "language_code"),
        (
            "/stream-transcription",
            {
                **BASIC,
                "x-amzn-transcribe-identify-language": "true",
                "x-amzn-transcribe-language-options": "en-US,de-DE",
            },
            "exactly one of",
        ),
        (
            "/stream-transcription",
            {k: v for k, v in BASIC.items() if "language" not in k}
            | {"x-amzn-transcribe-identify-language": "TRUE", "x-amzn-transcribe-language-options": "en-US,en-GB"},
            "one dialect per language",
        ),
        (
            "/stream-transcription",
            {
                **BASIC,
                "x-amzn-transcribe-content-identification-type": "PII",
                "x-amzn-transcribe-content-redaction-type": "PII",
            },
            "cannot be used together",
        ),
        (
            "/stream-transcription",
            {**BASIC, "x-amzn-transcribe-number-of-channels": "2"},
            "enable_channel_identification",
        ),
        ("/stream-transcription", {**BASIC, "x-amzn-transcribe-session-id": "not-a-uuid"}, "session_id"),
        ("/stream-transcription", {**BASIC, "x-amzn-transcribe-show-speaker-label": "maybe"}, "true or false"),
        (
            "/stream-transcription",
            {**BASIC, "x-amzn-transcribe-partial-results-stability": "high"},
            "enable_partial_results_stabilization",
        ),
        (
            "/stream-transcription",
            {**BASIC, "x-amzn-transcribe-vocabulary-name": "medical-terms"},
            "vocabulary couldn't be found",
        ),
        (
            "/stream-transcription",
            {**BASIC, "x-amzn-transcribe-vocabulary-filter-name": "swears"},
            "vocabulary filter couldn't be found",
        ),
        (
            "/stream-transcription",
            {**BASIC, "x-amzn-transcribe-language-model-name": "custom"},
            "language model couldn't be found",
        ),
        (
            "/medical-stream-transcription",
            {
                **BASIC,
                "x-amzn-transcribe-specialty": "PRIMARYCARE",
                "x-amzn-transcribe-type": "DICTATION",
                "x-amzn-transcribe-sample-rate": "8000",
            },
            "16000..48000",
        ),
        (
            "/medical-stream-transcription",
            {**BASIC, "x-amzn-transcribe-specialty": "DENTISTRY", "x-amzn-transcribe-type": "DICTATION"},
            "specialty",
        ),
        ("/medical-stream-transcription", {**BASIC, "x-amzn-transcribe-type": "DICTATION"}, "specialty"),
        (
            "/medical-stream-transcription",
            {
                **BASIC,
                "x-amzn-transcribe-specialty": "RADIOLOGY",
                "x-amzn-transcribe-type": "DICTATION",
                "x-amzn-transcribe-language-code": "en-GB",
            },
            "not supported",
        ),
        (
            "/call-analytics-stream-transcription",
            {**BASIC, "x-amzn-transcribe-language-code": "ja-JP"},
            "not supported",
        ),
        ("/stream-transcription", {k: v for k, v in BASIC.items() if "rate" not in k}, "sample-rate) is required"),
    ],
)
async def test_parameter_rejections(endpoint: LocalEndpoint, path, params, needle) -> None:
    response = await stream(endpoint, params=params, path=path)
    status, code, message = error_of(response)
    assert (status, code) == (400, "BadRequestException")
    assert needle in message


async def test_missing_end_frame(endpoint: LocalEndpoint) -> None:
    response = await stream(endpoint, end_frame=False)
    assert response.status == 200
    assert response.exception() == ("BadRequestException", MISSING_END_FRAME)


async def test_wrong_chunk_signature(endpoint: LocalEndpoint) -> None:
    response = await stream(endpoint, frame_creds=Credentials(DEV_CREDENTIALS.access_key_id, "other secret"))
    code, message = response.exception() or ("", "")
    assert code == "BadRequestException"
    assert "chunk signature" in message


async def test_dropped_frame_breaks_the_chain(endpoint: LocalEndpoint) -> None:
    def drop_fourth(signer: FrameSigner, pieces: list[bytes]) -> list[bytes]:
        frames = [signer.audio(c) for c in pieces]
        return frames[:3] + frames[4:]

    response = await stream(endpoint, frames_hook=drop_fourth)
    assert response.exception()[0] == "BadRequestException"  # type: ignore[index]


async def test_unsigned_frame_over_http2(endpoint: LocalEndpoint) -> None:
    bare = eventstream.encode(AUDIO_HEADERS, FOX[:3200])
    response = await stream(endpoint, frames_hook=lambda s, pieces: [bare, *[s.audio(c) for c in pieces]])
    code, message = response.exception() or ("", "")
    assert code == "BadRequestException"
    assert "no :chunk-signature" in message


async def test_stale_frames(endpoint: LocalEndpoint) -> None:
    def stale(signer: FrameSigner, pieces: list[bytes]) -> list[bytes]:
        signer.clock = lambda: utcnow() - dt.timedelta(minutes=6)
        return [signer.audio(FOX[:3200])]

    response = await stream(endpoint, frames_hook=stale)
    code, message = response.exception() or ("", "")
    assert code == "BadRequestException"
    assert "Signature expired" in message


async def test_oversized_frame(endpoint: LocalEndpoint) -> None:
    response = await stream(endpoint, frames_hook=lambda s, pieces: [s.audio(bytes(300_000))])
    assert response.exception() == (
        "BadRequestException",
        "Your stream is too big. Reduce the frame size and try your request again.",
    )


async def test_more_than_one_second_in_an_event(endpoint: LocalEndpoint) -> None:
    response = await stream(endpoint, frames_hook=lambda s, pieces: [s.audio(bytes(40_000))])
    code, message = response.exception() or ("", "")
    assert code == "BadRequestException"
    assert "1.25 seconds" in message


async def test_garbage_bytes_then_the_endpoint_still_serves(endpoint: LocalEndpoint) -> None:
    response = await stream(endpoint, frames_hook=lambda s, pieces: [b"\x00\x00\x00\x20" + bytes(60)])
    code, message = response.exception() or ("", "")
    assert code == "BadRequestException"
    assert "decode" in message
    assert (await stream(endpoint)).status == 200


async def test_idle_timeout() -> None:
    async with LocalEndpoint(tls="none", idle_timeout=0.5) as ep:
        response = await stream(ep, audio=FOX[:6400], end_frame=False, end_stream=False)
    assert response.exception() == ("BadRequestException", idle_message(0.5))
    assert idle_message(15) == "Your request timed out because no new audio was received for 15 seconds."


async def test_max_duration() -> None:
    async with LocalEndpoint(tls="none", max_duration=0.5) as ep:
        response = await stream(ep, pace=0.1)
    code, message = response.exception() or ("", "")
    assert code == "LimitExceededException"
    assert "maximum duration" in message


async def test_concurrent_stream_limit() -> None:
    async with LocalEndpoint(tls="none", max_streams=1) as ep:
        first = asyncio.create_task(stream(ep, pace=0.05))
        while not ep.streams:
            await asyncio.sleep(0.01)
        second = await stream(ep)
        assert error_of(second)[:2] == (429, "LimitExceededException")
        assert (await first).status == 200
        third = await stream(ep)
        assert third.status == 200  # the slot is free again


async def test_same_session_id_ends_the_first_stream(plain_endpoint: LocalEndpoint) -> None:
    params = {**BASIC, "x-amzn-transcribe-session-id": "0f8fad5b-d9cb-469f-a165-70867728950e"}
    first = asyncio.create_task(stream(plain_endpoint, params=params, pace=0.05))
    while not plain_endpoint.streams:
        await asyncio.sleep(0.01)
    second = await stream(plain_endpoint, params=params)
    assert second.status == 200
    assert second.headers["x-amzn-transcribe-session-id"] == "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert (await first).exception()[0] == "ConflictException"  # type: ignore[index]


async def test_another_identity_cannot_take_over_a_session() -> None:
    other = Credentials("AKIDOTHER", "other-secret")
    async with LocalEndpoint(tls="none", credentials=[DEV_CREDENTIALS, other]) as ep:
        params = {**BASIC, "x-amzn-transcribe-session-id": "0f8fad5b-d9cb-469f-a165-70867728950e"}
        first = asyncio.create_task(stream(ep, params=params, pace=0.05))
        while not ep.streams:
            await asyncio.sleep(0.01)
        intruder = await stream(ep, params=params, creds=other)
        assert intruder.status == 409
        assert intruder.headers["x-amzn-errortype"].startswith("ConflictException")
        owner = await first
    assert owner.status == 200 and owner.exception() is None  # the owner's stream went on to the end
    assert word_error_rate(FOX_TEXT, owner.transcripts()[0]) <= 0.15


async def test_goaway_right_after_the_response_headers(any_endpoint: LocalEndpoint) -> None:
    response = await stream(any_endpoint, goaway_after_headers=True, pace=0.01)
    assert response.status == 200
    assert word_error_rate(FOX_TEXT, response.transcripts()[0]) <= 0.15


@pytest.mark.parametrize("window", [7, 1 << 20])
async def test_flow_control_with_tiny_and_large_windows(plain_endpoint: LocalEndpoint, window: int) -> None:
    response = await stream(plain_endpoint, initial_window=window)
    assert len(response.transcripts()) == 1
    assert response.transcripts(final_only=False)  # all the partials made it through too
