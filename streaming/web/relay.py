"""A relay for apps that must not hand URLs to the browser: raw PCM in over a WebSocket, captions out as JSON.

The page opens ``wss://app.example/relay?language-code=en-US&sample-rate=16000``, sends
16-bit little-endian mono PCM as binary messages and ``{"type": "end"}`` when its audio
ends. The server streams it with :class:`~streaming.TranscribeStreamingClient` over HTTP/2
(retry, resumption and keep-alive included) and sends back one JSON text message per
result (``{"type": "partial" | "final", "result": {...}}``, the service's own result
shape), ``{"type": "error", "code": ..., "message": ...}`` if the stream fails, and
``{"type": "end"}`` after the last result. While the page sends nothing (a muted or paused
microphone), the relay sends silence every ``keepalive`` seconds so that the service's
15-second idle limit does not end the stream. The AWS credentials never leave the server.

Bounds: connections at once, bytes per message, audio queued towards the service (a page
that sends faster than the service reads is held back by TCP, not buffered), and the
parameters a page may choose (:class:`RelayPolicy`). :class:`RelaySession` holds the
decisions (pure); :func:`aiohttp_relay_handler` and :class:`AsgiRelayApp` carry them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from ..proto.audioformat import AudioFormat
from ..proto.errors import ParameterError, TranscribeError
from ..proto.models import to_service_json
from ..proto.params import Operation, StreamParams
from .limits import PageLimits, foreign_origin, hook_allows, page_params

if TYPE_CHECKING:
    from ..aio.client import TranscribeStreamingClient

__all__ = ["AsgiRelayApp", "RelayPolicy", "RelaySession", "aiohttp_relay_handler", "relay"]

log = logging.getLogger("streamscribe.web")
CHUNK_SECONDS: Final = 0.1  # audio per AudioEvent towards the service
QUEUE_CHUNKS: Final = 20  # 2 s of audio may wait for the service; beyond that the page waits


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayPolicy:
    """What the relay serves: the client it streams with, and what a page may choose."""

    client: Callable[[], TranscribeStreamingClient]
    languages: frozenset[str] = frozenset({"en-US"})
    sample_rates: frozenset[int] = frozenset({8000, 16000, 44100, 48000})
    params: frozenset[str] = frozenset()
    max_connections: int = 100
    max_message_bytes: int = 64 * 1024
    keepalive: float = 2.0  # seconds without audio from the page before silence keeps the stream open
    allowed_origins: frozenset[str] = frozenset()


class RelayRefused(Exception):
    """A request or message the relay refuses: ``code`` for the page, ``close`` for the socket."""

    def __init__(self, code: str, message: str, close: int = 1008) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close = close


class RelaySession:
    """One page's stream, pure: its parameters, its audio cut into events, its messages."""

    def __init__(self, query: str, policy: RelayPolicy) -> None:
        self.params = _read(query, policy)
        self.policy = policy
        self.format = AudioFormat.of(self.params)  # mono PCM: what a page's microphone sends
        self.chunk_bytes = self.format.bytes_for(CHUNK_SECONDS)
        self._pending = bytearray()
        self.ended = False
        self.gone = False  # the page closed while captions were on their way

    def audio(self, data: bytes) -> list[bytes]:
        """AudioEvent payloads from a binary message (whole 100 ms chunks; the rest waits)."""
        if self.ended:
            raise RelayRefused("BadRequestException", "audio after the end")
        if len(data) > self.policy.max_message_bytes:
            raise RelayRefused(
                "BadRequestException", f"a message may hold at most {self.policy.max_message_bytes} bytes", 1009
            )
        self._pending += data
        cut = len(self._pending) - len(self._pending) % self.chunk_bytes
        chunks = [bytes(self._pending[i : i + self.chunk_bytes]) for i in range(0, cut, self.chunk_bytes)]
        del self._pending[:cut]
        return chunks

    def silence(self) -> bytes:
        """100 ms of silence at the stream's rate (keep-alive while the page sends nothing)."""
        return self.format.silence(CHUNK_SECONDS)

    def command(self, text: str) -> list[bytes]:
        """A text message: ``{"type": "end"}`` ends the audio (what is pending goes first)."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict) or message.get("type") != "end":
            raise RelayRefused("BadRequestException", 'text messages are {"type": "end"}; audio is binary', 1003)
        return self.end()

    def end(self) -> list[bytes]:
        if self.ended:
            return []
        self.ended = True
        frame = self.format.frame_bytes
        rest = bytes(self._pending[: len(self._pending) // frame * frame])  # whole samples only
        self._pending.clear()
        return [rest] if rest else []

    @staticmethod
    def results(event: object) -> list[str]:
        """JSON text messages for one stream event (results only; other events are not sent)."""
        transcript = getattr(event, "transcript", None)
        if transcript is None:
            return []
        return [
            f'{{"type": "{"partial" if r.is_partial else "final"}", "result": {to_service_json(r).decode()}}}'
            for r in transcript.results
        ]


def _read(query: str, policy: RelayPolicy) -> StreamParams:
    limits = PageLimits(languages=policy.languages, sample_rates=policy.sample_rates, params=policy.params)
    try:
        params, _ = page_params(query, Operation.TRANSCRIPTION, limits)
    except ParameterError as exc:
        raise RelayRefused("BadRequestException", str(exc)) from exc
    return params


class Channel(Protocol):
    """A browser's WebSocket, as the relay sees it."""

    async def receive(self) -> bytes | str | None: ...  # None: the page closed
    async def send_text(self, text: str) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...


async def relay(channel: Channel, session: RelaySession) -> None:
    """Stream one page's audio and send its captions back, until either side ends."""
    client = session.policy.client()
    values = dict(session.params.values)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=QUEUE_CHUNKS)
    try:
        async with client.start_stream_transcription(**values) as stream:  # type: ignore[arg-type]

            async def read() -> None:
                while (message := await channel.receive()) is not None:
                    chunks = session.audio(message) if isinstance(message, bytes) else session.command(message)
                    for chunk in chunks:
                        await queue.put(chunk)  # full: this page waits (TCP holds it back)
                    if session.ended:
                        break
                else:  # the page closed its socket without saying "end": nobody is left to tell
                    session.gone = True
                for chunk in session.end():
                    await queue.put(chunk)
                await queue.put(None)

            async def send() -> None:
                while True:
                    try:
                        chunk = await asyncio.wait_for(queue.get(), session.policy.keepalive)
                    except TimeoutError:
                        chunk = session.silence()  # the page's microphone paused: the service must not time out
                    if chunk is None:
                        break
                    await stream.send_audio(chunk)
                await stream.end_audio()

            async def captions() -> None:
                async for event in stream:
                    for text in RelaySession.results(event):
                        try:
                            await channel.send_text(text)
                        except (ConnectionError, RuntimeError):  # the page went away: nothing to tell it
                            session.gone = True
                            return

            tasks = [asyncio.ensure_future(job()) for job in (read, send, captions)]
            try:
                await _first_error(tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        if not session.gone:
            with contextlib.suppress(ConnectionError, RuntimeError):  # it may leave at this very moment
                await channel.send_text(json.dumps({"type": "end"}))
                await channel.close(1000, "done")
    except RelayRefused as exc:
        await _refuse(channel, exc)
    except TranscribeError as exc:
        code = getattr(exc, "code", type(exc).__name__)
        log.info("relay: the stream failed: %s: %s", code, exc)
        await _send_error(channel, code, getattr(exc, "message", str(exc)), 1011)
    except Exception:  # a fault of ours: the page hears that much, the log the rest
        log.exception("relay: the stream failed")
        await _send_error(channel, "InternalError", "the relay failed", 1011)


async def _first_error(tasks: Sequence[asyncio.Future[None]]) -> None:
    """Until the captions end (the stream is over), or any of the three fails."""
    captions = tasks[2]
    pending = set(tasks)
    while captions in pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


async def _send_error(channel: Channel, code: str, message: str, close: int) -> None:
    with contextlib.suppress(Exception):
        await channel.send_text(json.dumps({"type": "error", "code": code, "message": message}))
    with contextlib.suppress(Exception):
        await channel.close(close, code[:120])


async def _refuse(channel: Channel, refused: RelayRefused) -> None:
    log.info("relay: refused: %s: %s", refused.code, refused.message)
    await _send_error(channel, refused.code, refused.message, refused.close)


class _Slots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self) -> bool:
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def give(self) -> None:
        self.used -= 1


Authorize = Callable[[Mapping[str, str], str], "bool | Awaitable[bool | None] | None"]
"""The app's check of a relay request: (lower-case headers, query) -> False to refuse."""


async def _allowed(authorize: Authorize | None, headers: Mapping[str, str], query: str, policy: RelayPolicy) -> str:
    """Why the request is refused ('' when it is not)."""
    origin = foreign_origin(headers)
    if origin is not None and origin not in policy.allowed_origins:
        return "pages of this origin may not use the relay"
    if authorize is not None:
        allowed, why = await hook_allows(lambda: authorize(headers, query))
        if not allowed:
            return why or "the app refused this request"
    return ""


def aiohttp_relay_handler(policy: RelayPolicy, authorize: Authorize | None = None) -> Callable[[Any], Awaitable[Any]]:
    """An aiohttp handler: ``app.router.add_get("/relay", aiohttp_relay_handler(policy, hook))``."""
    from aiohttp import WSMsgType, web  # noqa: PLC0415 - an optional extra

    slots = _Slots(policy.max_connections)

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        # aiohttp's own bound is the memory guard; below it the page gets a typed refusal.
        ws = web.WebSocketResponse(max_msg_size=4 * policy.max_message_bytes, heartbeat=20.0)
        await ws.prepare(request)

        class _Ws:
            async def receive(self) -> bytes | str | None:
                message = await ws.receive()
                if message.type == WSMsgType.BINARY:
                    return bytes(message.data)  # RelaySession.audio bounds its size
                if message.type == WSMsgType.TEXT:
                    return str(message.data)
                if message.type == WSMsgType.ERROR:
                    raise RelayRefused("BadRequestException", "the message is too big or malformed", 1009)
                return None

            async def send_text(self, text: str) -> None:
                await ws.send_str(text)

            async def close(self, code: int, reason: str) -> None:
                await ws.close(code=code, message=reason.encode())

        await _serve(_Ws(), headers, request.query_string, policy, authorize, slots)
        return ws

    return handler


async def _serve(
    channel: Channel,
    headers: Mapping[str, str],
    query: str,
    policy: RelayPolicy,
    authorize: Authorize | None,
    slots: _Slots,
) -> None:
    why = await _allowed(authorize, headers, query, policy)
    if why:
        await _refuse(channel, RelayRefused("Unauthorized", why))
        return
    if not slots.take():
        await _refuse(
            channel, RelayRefused("LimitExceededException", "too many relayed streams; try again later", 1013)
        )
        return
    try:
        await relay(channel, RelaySession(query, policy))
    except RelayRefused as exc:
        await _refuse(channel, exc)
    finally:
        slots.give()


class AsgiRelayApp:
    """An ASGI WebSocket app (Starlette/FastAPI: ``app.mount("/relay", AsgiRelayApp(policy))``)."""

    def __init__(self, policy: RelayPolicy, authorize: Authorize | None = None) -> None:
        self.policy = policy
        self.authorize = authorize
        self.slots = _Slots(policy.max_connections)

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "websocket":
            return
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})

        class _Ws:
            closed = False

            async def receive(self) -> bytes | str | None:
                if self.closed:
                    return None
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    self.closed = True
                    return None
                data = message.get("bytes")
                if data is not None:
                    return bytes(data)  # RelaySession.audio bounds its size
                return str(message.get("text") or "")

            async def send_text(self, text: str) -> None:
                await send({"type": "websocket.send", "text": text})

            async def close(self, code: int, reason: str) -> None:
                if not self.closed:
                    self.closed = True
                    await send({"type": "websocket.close", "code": code, "reason": reason})

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        query = scope.get("query_string", b"").decode("latin-1")
        await _serve(_Ws(), headers, query, self.policy, self.authorize, self.slots)
