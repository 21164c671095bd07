"""The local endpoint's WebSocket adapter (aiohttp), plus the small browser page.

The presigned URL and the parameters are checked before the upgrade. A refused WebSocket
handshake is still upgraded, then answered with one exception message and a close frame,
as the service does: a browser cannot read an HTTP error's body, but it can read that
(a request that is not a WebSocket handshake gets the HTTP error with the service's
``x-amzn-errortype``). After the upgrade each binary message carries one
event-stream message, signed (chained) or bare; an empty frame or a close ends the audio.
Results stream back while audio is still arriving. An error is one exception message
followed by a close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from ..proto.errors import AccessDeniedException, BadRequestException, ServiceError
from ..proto.messages import encode_exception, error_type_header
from .connections import client_address
from .ports import StreamHost
from .stream import ResetRequested, ServerStream
from .streamcore import TOO_BIG

__all__ = ["build_websocket_app"]

log = logging.getLogger("streamscribe.local")


def error_response(error: ServiceError) -> web.Response:
    return web.Response(
        status=error.status,
        body=error.to_json(),
        content_type="application/json",
        headers={
            "x-amzn-errortype": error_type_header(error.code),
            "x-amzn-requestid": error.request_id or "",
        },
    )


async def refuse_after_upgrade(request: web.Request, error: ServiceError) -> web.StreamResponse:
    """The service's way (and the only one a browser can read): upgrade, one exception
    message, then a close frame whose reason is the exception type."""
    ws = web.WebSocketResponse(autoping=True)
    ws.headers["x-amzn-request-id"] = error.request_id or ""
    try:
        await ws.prepare(request)
    except (ConnectionError, RuntimeError, web.HTTPException):
        return error_response(error)  # not a handshake aiohttp accepts: the HTTP form
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_bytes(encode_exception(error))
    with contextlib.suppress(ConnectionError, RuntimeError, asyncio.TimeoutError):
        await asyncio.wait_for(ws.close(code=1000, message=error.code.encode()[:120]), 5.0)
    return ws


class _WebSocketStreams:
    """The WebSocket port's stream handler: admit, then carry messages both ways."""

    def __init__(self, endpoint: StreamHost) -> None:
        self.endpoint = endpoint

    async def handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = self.endpoint
        if not endpoint.origin_allowed(request.headers.get("origin")):
            return self._refuse_origin(request)
        outcome = endpoint.open_websocket_stream(request.method, request.path_qs, list(request.headers.items()))
        if isinstance(outcome, ServiceError):
            if request.headers.get("upgrade", "").lower() != "websocket" or request.method != "GET":
                return error_response(outcome)
            return await refuse_after_upgrade(request, outcome)
        stream, response_headers = outcome
        ws = web.WebSocketResponse(max_msg_size=endpoint.limits.max_frame_bytes + 1024, autoping=True)
        ws.headers.update(response_headers)
        try:
            await ws.prepare(request)
        except Exception:
            endpoint.close_stream(stream)
            raise
        await self._run(request, ws, stream)
        return ws

    @staticmethod
    def _refuse_origin(request: web.Request) -> web.StreamResponse:
        """Another site's page must not drive this endpoint from a visitor's browser."""
        origin = request.headers["origin"]
        error = AccessDeniedException(f"WebSocket connections from {origin!r:.200} are not allowed.")
        error.request_id = str(uuid.uuid4())
        log.info(
            "refused request=%s websocket %s origin=%r status=%d %s: %s",
            error.request_id,
            request.path,
            origin[:200],
            error.status,
            error.code,
            error.message,
        )
        return error_response(error)

    async def _run(self, request: web.Request, ws: web.WebSocketResponse, stream: ServerStream) -> None:
        """Run the stream's worker and a reader until either ends; release the stream."""

        async def send(data: bytes) -> None:
            await ws.send_bytes(data)

        loop = asyncio.get_running_loop()
        worker = loop.create_task(stream.run(send))
        reader = loop.create_task(_read(ws, stream))

        async def stop_reading() -> None:
            # aiohttp allows one reader at a time, and close() reads the peer's close.
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

        try:
            await worker
            await stop_reading()
            await ws.close(code=1000)
        except ServiceError as exc:
            await stop_reading()
            await _fail(ws, stream, exc)
        except ResetRequested as reset:  # a scripted fault breaks the connection
            await stop_reading()
            if reset.how == "stream":
                await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"scripted fault")
            elif request.transport is not None:
                request.transport.abort()
        except (ConnectionError, RuntimeError):
            stream.lifecycle.connection_lost()
        finally:
            await stop_reading()
            self.endpoint.close_stream(stream)


async def _read(ws: web.WebSocketResponse, stream: ServerStream) -> None:
    """The client's messages into the stream, holding back (TCP) while it has no room."""
    try:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                stream.feed(message.data)
                await stream.wait_for_room()  # stop reading: TCP holds the client back
            elif message.type == WSMsgType.TEXT:
                text = "Text frames are not part of the protocol; send binary event-stream messages."
                raise BadRequestException(text)
            elif message.type == WSMsgType.ERROR:
                # aiohttp closed the socket (1009 for a message over max_msg_size): the
                # stream failed, it did not complete.
                too_big = getattr(message.data, "code", None) == WSCloseCode.MESSAGE_TOO_BIG
                raise BadRequestException(TOO_BIG if too_big else f"WebSocket error: {message.data}")
            else:
                break
        stream.end_of_input()
    except ServiceError as exc:
        stream.abort(exc)


async def _fail(ws: web.WebSocketResponse, stream: ServerStream, error: ServiceError) -> None:
    """The service's way to end a stream with an error: the exception message, then a close."""
    stream.lifecycle.failed(error.code)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_bytes(encode_exception(error))
    await ws.close(code=1000, message=error.code.encode())


def _request_logger(endpoint: StreamHost) -> Any:
    """A middleware logging one line per plain HTTP request (page, /presign, files, 404s), as
    streams and job calls have theirs. The path only: a query may carry a presigned signature."""
    stream_paths = frozenset(operation.websocket_path for operation in endpoint.operations)

    @web.middleware
    async def log_requests(request: web.Request, handler: Any) -> web.StreamResponse:
        endpoint.http_handlers_served.add(request.protocol)  # its first request came in time
        plain = request.path not in stream_paths and not (request.method == "POST" and request.path == "/")
        status = 500  # what aiohttp answers for an exception that is not an HTTP one
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            status = exc.status
            raise
        else:
            status = response.status
            return response
        finally:
            if plain:
                log.info("http %s %s status=%d", request.method, request.path[:200], status)

    return log_requests


def build_websocket_app(endpoint: StreamHost) -> web.Application:
    """The HTTP port's application: the three stream paths, the page and the job APIs."""
    streams = _WebSocketStreams(endpoint)
    app = web.Application(middlewares=[_request_logger(endpoint)])
    for operation in endpoint.operations:
        app.router.add_route("*", operation.websocket_path, streams.handle)
    endpoint.add_page_routes(app)
    return app


def guard_http_server(server: web.Server, endpoint: StreamHost) -> None:
    """Bound the HTTP port's connections (see :mod:`.connections`) and give each one the
    idle timeout to send its first request: a socket that never completes a request (no
    bytes, or headers trickled byte by byte) is closed, whatever aiohttp's version does.

    aiohttp's request handlers report to their ``web.Server`` when a connection opens and
    closes; those two calls are where the guard counts.
    """
    loop = asyncio.get_running_loop()
    opened, closed = server.connection_made, server.connection_lost
    clients: dict[Any, str] = {}  # admitted handler -> its client address
    served: set[Any] = endpoint.http_handlers_served

    def connection_made(handler: Any, transport: asyncio.Transport) -> None:
        opened(handler, transport)
        client = client_address(transport.get_extra_info("peername"))
        refused = endpoint.guard.admit(client)
        if refused is not None:
            if endpoint.guard.should_log_refusal():
                log.info("closed a new HTTP connection: %s (%d refused so far)", refused, endpoint.guard.refused)
            # Once aiohttp's handler task has started (closing it from here, before that,
            # leaves the task without its server): in the same loop turn, no request read.
            loop.call_soon(handler.force_close)
            return
        clients[handler] = client

        def no_request_yet() -> None:
            if handler in clients and handler not in served:
                log.info("closed an HTTP connection with no request after %g s", endpoint.limits.idle_timeout)
                handler.force_close()

        loop.call_later(endpoint.limits.idle_timeout, no_request_yet)

    def connection_lost(handler: Any, exc: BaseException | None) -> None:
        client = clients.pop(handler, None)
        served.discard(handler)
        if client is not None:
            endpoint.guard.release(client)
        closed(handler, exc)

    server.connection_made = connection_made  # type: ignore[method-assign]
    server.connection_lost = connection_lost  # type: ignore[method-assign,assignment]
