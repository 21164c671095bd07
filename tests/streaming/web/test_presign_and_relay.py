"""The web-app kit's server side: the presign handler and the relay, against the real local endpoint.

aiohttp adapters are served on 127.0.0.1 and driven over real sockets; the ASGI adapters
are driven through the ASGI contract itself (httpx's ASGI transport for HTTP, the
scope/receive/send messages for WebSocket), as Starlette or uvicorn would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx
import pytest
from aiohttp import web
from websockets.asyncio.client import connect as websockets_connect

import sigv4
from sigv4 import Credentials
from streaming import TranscribeStreamingClient
from streaming.local import DEV_CREDENTIALS, LocalEndpoint
from streaming.web import (
    AsgiPresignApp,
    AsgiRelayApp,
    PresignPolicy,
    RelayPolicy,
    aiohttp_presign_handler,
    aiohttp_relay_handler,
)
from tests.helpers import FIXTURES, FOX_TEXT, word_error_rate

FOX = (FIXTURES / "fox.pcm").read_bytes()
T0 = dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.UTC)
TEMPORARY = Credentials("ASIAWEBAPPEXAMPLE", "temporary-secret-key", "session-token-of-the-role")


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def presign_app() -> AsyncIterator[str]:
    policy = PresignPolicy(
        region="us-west-2",
        credentials=lambda: TEMPORARY,
        endpoint="wss://transcribestreaming.us-west-2.amazonaws.com:8443",
        languages=frozenset({"en-US", "en-GB"}),
        params=frozenset({"show-speaker-label"}),
        max_expires=60,
        allowed_origins=frozenset({"https://captions.example"}),
    )

    def authorize(request: Any) -> bool:
        return request.headers.get("authorization") == "Bearer good"

    app = web.Application()
    app.router.add_route("*", "/presign", aiohttp_presign_handler(policy, authorize, clock=lambda: T0))
    runner, base = await serve(app)
    try:
        yield base
    finally:
        await runner.cleanup()


async def test_a_presigned_url_is_short_lived_uncached_and_signed_with_the_servers_credentials(
    presign_app: str,
) -> None:
    async with aiohttp.ClientSession() as http:
        reply = await http.get(
            f"{presign_app}/presign?language-code=en-GB&sample-rate=16000&show-speaker-label=true",
            headers={"authorization": "Bearer good"},
        )
        body = await reply.json()
    assert reply.status == 200 and "no-store" in reply.headers["cache-control"]
    url = body["url"]
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).netloc == "transcribestreaming.us-west-2.amazonaws.com:8443"
    assert query["X-Amz-Expires"] == ["60"] and body["expires"] == 60
    assert query["X-Amz-Security-Token"] == ["session-token-of-the-role"]  # temporary credentials work
    assert query["X-Amz-Credential"][0].startswith("ASIAWEBAPPEXAMPLE/20261201/us-west-2/transcribe/")
    assert query["language-code"] == ["en-GB"] and query["show-speaker-label"] == ["true"]
    verified = sigv4.verify_presigned_request(
        "GET",
        url.split(":8443", 1)[1],
        [("host", "transcribestreaming.us-west-2.amazonaws.com:8443")],
        credentials={TEMPORARY.access_key_id: TEMPORARY},
        now=T0 + dt.timedelta(seconds=30),
        region="us-west-2",
        service="transcribe",
    )
    assert verified.access_key_id == "ASIAWEBAPPEXAMPLE"


@pytest.mark.parametrize(
    ("query", "headers", "status", "code"),
    [
        ("language-code=en-US&sample-rate=16000", {}, 401, "Unauthorized"),
        ("language-code=fr-FR&sample-rate=16000", {"authorization": "Bearer good"}, 400, "BadRequestException"),
        ("language-code=en-US&sample-rate=22050", {"authorization": "Bearer good"}, 400, "BadRequestException"),
        ("language-code=en-US&sample-rate=16000&expires=300", {"authorization": "Bearer good"}, 400, "BadRequestException"),
        ("language-code=en-US&sample-rate=16000&region=eu-west-1", {"authorization": "Bearer good"}, 400, "BadRequestException"),
        ("language-code=en-US&sample-rate=16000&operation=medical", {"authorization": "Bearer good"}, 400, "BadRequestException"),
        ("language-code=en-US&language-code=en-GB&sample-rate=16000", {"authorization": "Bearer good"}, 400, "BadRequestException"),
        ("language-code=en-US&sample-rate=16000&media-encoding=flac", {"authorization": "Bearer good"}, 400, "BadRequestException"),
        ("language-code=en-US&sample-rate=16000", {"authorization": "Bearer good", "origin": "https://evil.example"}, 403, "OriginNotAllowed"),
        ("a=1&" * 70 + "language-code=en-US&sample-rate=16000", {"authorization": "Bearer good"}, 400, "BadRequestException"),  # the fuzzer's find
    ],
)  # fmt: skip
async def test_requests_outside_the_apps_limits_are_refused_clearly(
    presign_app: str, query: str, headers: dict[str, str], status: int, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as http:
        reply = await http.get(f"{presign_app}/presign?{query}", headers=headers)
        body = await reply.json()
        text = json.dumps(body) + json.dumps(dict(reply.headers))
    assert reply.status == status and body["error"]["code"] == code and body["error"]["message"]
    assert "no-store" in reply.headers["cache-control"]
    for secret in (TEMPORARY.secret_access_key, TEMPORARY.session_token or "", "X-Amz-Signature"):
        assert secret not in text and secret not in caplog.text


async def test_cors_for_the_apps_other_origins_only(presign_app: str) -> None:
    async with aiohttp.ClientSession() as http:
        preflight = await http.options(
            f"{presign_app}/presign",
            headers={"origin": "https://captions.example", "access-control-request-method": "GET"},
        )
        reply = await http.get(
            f"{presign_app}/presign?language-code=en-US&sample-rate=16000",
            headers={"origin": "https://captions.example", "authorization": "Bearer good"},
        )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == "https://captions.example"
    assert reply.status == 200 and reply.headers["access-control-allow-origin"] == "https://captions.example"
    assert "Origin" in reply.headers["vary"]


async def test_the_asgi_presign_app_answers_the_same_and_its_url_streams_on_the_local_endpoint(
    plain_endpoint: LocalEndpoint,
) -> None:
    policy = PresignPolicy(region="us-east-1", credentials=DEV_CREDENTIALS, endpoint=plain_endpoint.websocket_url)
    app = AsgiPresignApp(policy, lambda request: request.client == "127.0.0.1")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 51000))
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as http:
        reply = await http.get("/presign?language-code=en-US&sample-rate=16000")
    assert reply.status_code == 200 and "no-store" in reply.headers["cache-control"]
    refused_transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 51000))
    async with httpx.AsyncClient(transport=refused_transport, base_url="http://app.example") as http:
        refused = await http.get("/presign?language-code=en-US&sample-rate=16000")
    assert refused.status_code == 401
    # The URL works: a browser-style stream (bare AudioEvents) on the local endpoint.
    from websockets.asyncio.client import connect

    import eventstream

    audio = {":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream"}
    finals = []
    async with connect(reply.json()["url"]) as ws:
        for i in range(0, len(FOX), 3200):
            await ws.send(eventstream.encode(audio, FOX[i : i + 3200]))
        await ws.send(eventstream.encode(audio, b""))
        async for message in ws:
            for result in json.loads(eventstream.decode(message).payload)["Transcript"]["Results"]:
                if not result["IsPartial"]:
                    finals.append(result["Alternatives"][0]["Transcript"])
    assert word_error_rate(FOX_TEXT, " ".join(finals)) <= 0.2


# -- the relay ------------------------------------------------------------------------------------


def relay_policy(endpoint: LocalEndpoint, **kw: Any) -> RelayPolicy:
    return RelayPolicy(client=lambda: TranscribeStreamingClient(endpoint=endpoint.http2_url), **kw)


@pytest.fixture
async def relay_app(plain_endpoint: LocalEndpoint) -> AsyncIterator[str]:
    app = web.Application()
    policy = relay_policy(plain_endpoint, max_connections=2, max_message_bytes=16_000)
    app.router.add_get("/relay", aiohttp_relay_handler(policy, lambda headers, query: "token=ok" in query))
    runner, base = await serve(app)
    try:
        yield base.replace("http", "ws", 1)
    finally:
        await runner.cleanup()


async def relay_conversation(ws: Any, audio: bytes, *, size: int = 4096) -> list[dict[str, Any]]:
    for i in range(0, len(audio), size):
        await ws.send_bytes(audio[i : i + size])
    await ws.send_str(json.dumps({"type": "end"}))
    messages = []
    async for message in ws:
        messages.append(json.loads(message.data))
    return messages


async def test_the_relay_streams_raw_pcm_and_sends_captions_back(relay_app: str, plain_endpoint: LocalEndpoint) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{relay_app}/relay?language-code=en-US&sample-rate=16000&token=ok") as ws,
    ):
        messages = await relay_conversation(ws, FOX, size=1234)  # odd sizes: whole samples are kept
        code = ws.close_code
    finals = [m["result"]["Alternatives"][0]["Transcript"] for m in messages if m["type"] == "final"]
    assert any(m["type"] == "partial" for m in messages), messages
    assert word_error_rate(FOX_TEXT, " ".join(finals)) <= 0.2
    assert messages[-1] == {"type": "end"} and code == 1000
    assert plain_endpoint.completed[-1].outcome == "completed"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("language-code=en-US&sample-rate=16000", "Unauthorized"),
        ("language-code=de-DE&sample-rate=16000&token=ok", "BadRequestException"),
        ("language-code=en-US&sample-rate=16000&vocabulary-name=x&token=ok", "BadRequestException"),
        ("x=1&" * 70 + "language-code=en-US&sample-rate=16000&token=ok", "BadRequestException"),
    ],
)
async def test_relay_requests_outside_the_limits_are_refused(relay_app: str, query: str, code: str) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{relay_app}/relay?{query}") as ws:
        message = await ws.receive_json()
        await ws.receive()
    assert message["type"] == "error" and message["code"] == code and message["message"]
    assert ws.close_code in (1008, 1000) or ws.close_code is not None


async def test_relay_too_many_connections_then_oversized_and_text_frames(relay_app: str) -> None:
    url = f"{relay_app}/relay?language-code=en-US&sample-rate=16000&token=ok"
    async with aiohttp.ClientSession() as http:
        first, second = await http.ws_connect(url), await http.ws_connect(url)  # the relay's two slots
        third = await http.ws_connect(url)
        refused = await third.receive_json()
        assert refused.get("code") == "LimitExceededException", refused
        await third.receive()
        assert third.close_code == 1013  # "try again later"
        await first.send_bytes(bytes(20_000))  # over max_message_bytes
        closed = await _closing(first)
        assert closed["code"] == "BadRequestException" and "at most 16000 bytes" in closed["message"]
        await second.send_str("hello")
        text = await _closing(second)
        assert text["type"] == "error" and "binary" in text["message"]
        for ws in (first, second, third):
            await ws.close()


async def _closing(ws: Any) -> dict[str, Any]:
    """The error message the relay sends before it closes (or an empty dict)."""
    message = await asyncio.wait_for(ws.receive(), 10)
    if message.type == aiohttp.WSMsgType.TEXT:
        return json.loads(message.data)  # type: ignore[no-any-return]
    return {}


async def test_the_asgi_relay_through_the_asgi_contract(plain_endpoint: LocalEndpoint) -> None:
    app = AsgiRelayApp(relay_policy(plain_endpoint))
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: list[dict[str, Any]] = []
    closed = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        outbox.append(message)
        if message["type"] == "websocket.close":
            closed.set()

    scope = {"type": "websocket", "path": "/", "query_string": b"language-code=en-US&sample-rate=16000", "headers": []}
    await inbox.put({"type": "websocket.connect"})
    for i in range(0, len(FOX), 3200):
        await inbox.put({"type": "websocket.receive", "bytes": FOX[i : i + 3200]})
    await inbox.put({"type": "websocket.receive", "text": json.dumps({"type": "end"})})
    await asyncio.wait_for(app(scope, inbox.get, send), 60)
    texts = [json.loads(m["text"]) for m in outbox if m["type"] == "websocket.send"]
    finals = [t["result"]["Alternatives"][0]["Transcript"] for t in texts if t["type"] == "final"]
    assert outbox[0]["type"] == "websocket.accept" and closed.is_set() and outbox[-1]["code"] == 1000
    assert word_error_rate(FOX_TEXT, " ".join(finals)) <= 0.2


async def test_a_service_error_reaches_the_page_typed(plain_endpoint: LocalEndpoint) -> None:
    # The endpoint's 1 s idle limit: the relay's stream fails with the service's error.
    async with LocalEndpoint(tls="none", idle_timeout=1.0) as ep:
        app = web.Application()
        app.router.add_get("/relay", aiohttp_relay_handler(relay_policy(ep)))
        runner, base = await serve(app)
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{base.replace('http', 'ws', 1)}/relay?language-code=en-US&sample-rate=16000") as ws,
            ):
                await ws.send_bytes(FOX[:3200])
                message = await asyncio.wait_for(ws.receive_json(), 30)
        finally:
            await runner.cleanup()
    assert message["type"] == "error" and message["code"] == "BadRequestException"
    assert "no new audio" in message["message"]


@pytest.mark.parametrize("seconds", [0, 1])
@pytest.mark.parametrize("how", ["close", "drop"])
async def test_a_page_that_leaves_mid_stream_ends_its_relayed_stream_quietly(
    relay_app: str, plain_endpoint: LocalEndpoint, caplog: pytest.LogCaptureFixture, how: str, seconds: int
) -> None:
    """Closing its socket or dropping the connection, before or after its first caption."""
    caplog.set_level(logging.INFO, logger="streamscribe.web")
    page = await websockets_connect(f"{relay_app}/relay?language-code=en-US&sample-rate=16000&token=ok")
    if seconds:
        await page.send(FOX[: 16000 * 2 * seconds])
    if how == "close":
        await page.close()
    else:
        page.transport.abort()  # a tab killed mid-call: no closing handshake
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not plain_endpoint.completed and loop.time() < deadline:  # the relay ends the stream it opened
        await asyncio.sleep(0.05)
    assert len(plain_endpoint.completed) == 1  # ended, not left open on the service
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # a page leaving is no error


async def test_the_relay_keeps_a_paused_page_alive_with_silence() -> None:
    # The endpoint ends a stream after 2 s without audio; the page pauses for 3 s; the relay
    # sends silence every 0.1 s meanwhile, so the stream lives on and transcribes what follows.
    async with LocalEndpoint(tls="none", idle_timeout=2.0) as ep:
        app = web.Application()
        app.router.add_get("/relay", aiohttp_relay_handler(relay_policy(ep, keepalive=0.1)))
        runner, base = await serve(app)
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{base.replace('http', 'ws', 1)}/relay?language-code=en-US&sample-rate=16000") as ws,
            ):
                await ws.send_bytes(bytes(16000))  # half a second of silence, then nothing for 3 s
                paused = asyncio.get_running_loop().time()
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(ws.receive(), 3.0)  # nothing comes back: no error, no close
                assert asyncio.get_running_loop().time() - paused >= 3.0
                messages = await relay_conversation(ws, FOX)
        finally:
            await runner.cleanup()
    finals = [m["result"]["Alternatives"][0]["Transcript"] for m in messages if m["type"] == "final"]
    assert messages[-1] == {"type": "end"}
    assert word_error_rate(FOX_TEXT, " ".join(finals)) <= 0.2
    assert ep.completed[-1].outcome == "completed"
