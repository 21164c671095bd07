"""The local endpoint's HTTP/2 adapter: h2 over asyncio streams, one stream per connection.

Flow control is respected both ways: received DATA is acknowledged once handed to the
stream, and results wait for the client's window. A client GOAWAY sent while its request
stream is still open (the official JS client does this right after the response headers)
is noted but does not close the connection: stock h2 would move to CLOSED and refuse the
rest of the audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

from ..aio.h2channel import READ_SIZE, H2Channel
from ..proto.errors import ConnectionLost, ServiceError, TranscribeError, TransportError
from ..proto.messages import encode_exception, error_type_header
from .connections import client_address
from .ports import StreamHost
from .stream import ResetRequested

__all__ = ["TolerantH2Connection", "serve_http2_connection"]

log = logging.getLogger("streamscribe.local")
_CLOSE_GRACE = 5.0  # seconds a client gets to close after our GOAWAY
_HTTP1_REQUEST_LINE = re.compile(rb"[A-Z]{3,10} [\x21-\x7e]+ HTTP/1\.[01]\r?\n")


def http1_error(status: int, error_type: str, message: str) -> bytes:
    """A whole HTTP/1.1 error response in the AWS JSON protocol's shape (as the job API
    answers), closing the connection."""
    body = json.dumps({"__type": error_type, "message": message}).encode()
    reason = {400: "Bad Request"}.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: application/x-amz-json-1.1\r\n"
        f"x-amzn-ErrorType: {error_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class TolerantH2Connection(h2.connection.H2Connection):
    """An H2Connection that stays usable after the peer's GOAWAY (see module docstring)."""

    peer_goaway = False

    def _receive_goaway_frame(self, frame: Any) -> tuple[list[Any], list[Any]]:
        self.peer_goaway = True
        event = h2.events.ConnectionTerminated()
        try:
            event.error_code = h2.errors.ErrorCodes(frame.error_code)
        except ValueError:
            event.error_code = frame.error_code
        event.last_stream_id = frame.last_stream_id
        event.additional_data = frame.additional_data or None
        return [], [event]


class _Connection:
    def __init__(self, endpoint: StreamHost, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.endpoint = endpoint
        self.writer = writer
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.conn = TolerantH2Connection(config=config)
        self.channel = H2Channel(self.conn, reader, writer, peer="the client")
        self.stream_id: int | None = None
        self.stream: Any = None
        self.worker: asyncio.Task[None] | None = None
        self.closed = False
        self.response_ended = False
        self.input_open = True  # the client has not ended its request stream yet
        self.unacknowledged = 0  # received DATA not yet given back to the client's window

    def flush(self) -> None:
        self.channel.flush()

    async def _first_bytes(self) -> bytes | None:
        """The connection's first bytes; None (answered and closed) when there were none
        before the idle timeout, or when they are an HTTP/1.1 request: a job API call or a
        browser sent to this port gets a JSON error that names the right port, not a GOAWAY
        its HTTP/1.1 client would read as an "illegal request line"."""
        try:
            async with asyncio.timeout(self.endpoint.limits.idle_timeout):
                first = await self.channel.reader.read(READ_SIZE)
        except TimeoutError:
            log.info("closed an HTTP/2 connection that sent nothing for %g s", self.endpoint.limits.idle_timeout)
            return None
        except (ConnectionError, OSError):
            return None
        if not first:
            return None
        if not first.startswith(b"PRI ") and _HTTP1_REQUEST_LINE.match(first):
            method, target = first.split(b" ", 2)[:2]
            where = self.endpoint.http_url
            message = (
                "This port speaks HTTP/2 only (the streaming API)"
                + (f"; the job API, WebSocket streams and the browser page are on {where}" if where else "")
                + "."
            )
            log.info(
                "refused an HTTP/1.1 request on the HTTP/2 port: %s %s",
                method.decode("ascii", "replace"),
                target[:200].decode("ascii", "replace"),
            )
            self.writer.write(http1_error(400, "BadRequestException", message))
            with contextlib.suppress(ConnectionError, OSError):
                await asyncio.wait_for(self.writer.drain(), self.endpoint.limits.idle_timeout)
            self.writer.close()
            return None
        return first

    def _acknowledge(self) -> None:
        if self.unacknowledged and self.stream_id is not None:
            self.channel.consumed(self.stream_id, self.unacknowledged)
            self.unacknowledged = 0

    async def send(self, payload: bytes, *, end: bool = False) -> None:
        """Send DATA on the request stream within the client's window.

        A client that stops reading (its window stays shut, or the socket stops draining)
        for the idle timeout gets its stream ended: no wait here is open-ended.
        """
        assert self.stream_id is not None
        if self.closed:
            raise ConnectionResetError("client connection closed")
        await self.channel.send(self.stream_id, payload, end=end, timeout=self.endpoint.limits.idle_timeout)

    async def run(self) -> None:
        try:
            first = await self._first_bytes()
            if first is None:
                return
            self.conn.initiate_connection()
            self.flush()
            for event in self.channel.receive_bytes(first):
                await self.handle(event)
            self.flush()
            while not self.closed and not self.writer.is_closing():
                # Without a stream in progress, a connection may sit idle only so long
                # (a stream has its own idle rule): open sockets are not free.
                idle = self.endpoint.limits.idle_timeout if self.worker is None or self.worker.done() else None
                try:
                    async with asyncio.timeout(idle):
                        events = await self.channel.receive_events()
                except TimeoutError:
                    log.info("closed an HTTP/2 connection idle for %g s", idle)
                    with contextlib.suppress(h2.exceptions.ProtocolError):
                        self.conn.close_connection()
                        self.flush()
                    break
                if events is None:
                    break
                for event in events:
                    await self.handle(event)
                self.flush()
                await self.channel.drain(self.endpoint.limits.idle_timeout)
        except TranscribeError as exc:  # not HTTP/2, a reset socket, a client that never reads
            log.info("HTTP/2 connection ended: %s", exc)
        finally:
            self.closed = True
            self.channel.stop(ConnectionLost("the client connection closed"))
            if self.worker is not None and not self.worker.done():
                self.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self.worker
            if self.stream is not None:
                self.endpoint.close_stream(self.stream)  # every exit path releases its slot (idempotent)
            self.writer.close()

    async def handle(self, event: Any) -> None:
        if isinstance(event, h2.events.RequestReceived):
            if self.stream_id is not None:
                self.conn.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                return
            self.stream_id = event.stream_id
            await self.request([(str(k), str(v)) for k, v in event.headers])
            if event.stream_ended is not None:
                await self.input_ended()
        elif isinstance(event, h2.events.DataReceived):
            if event.stream_id == self.stream_id and self.stream is not None and not self.response_ended:
                try:
                    self.stream.feed(event.data or b"")
                except ServiceError as exc:
                    await self.fail(exc)
            # Acknowledged while the stream has room; past its backlog limit the client's
            # window stays shut until the recogniser catches up (on_room).
            self.unacknowledged += event.flow_controlled_length or 0
            if self.stream is None or self.stream.has_room or event.stream_id != self.stream_id:
                self._acknowledge()
            if event.stream_ended is not None:
                await self.input_ended()
        elif isinstance(event, h2.events.StreamEnded):
            await self.input_ended()
        elif isinstance(event, h2.events.StreamReset):
            if event.stream_id == self.stream_id:
                self.response_ended = True
                if self.stream is not None:
                    self.stream.lifecycle.reset_by_client()
                if self.worker is not None:
                    self.worker.cancel()
        elif isinstance(event, h2.events.ConnectionTerminated) and (self.stream_id is None or self.response_ended):
            self.closed = True

    async def input_ended(self) -> None:
        self.input_open = False
        if self.stream is None or self.response_ended:
            return
        try:
            self.stream.end_of_input()
        except ServiceError as exc:
            await self.fail(exc)

    async def request(self, headers: list[tuple[str, str]]) -> None:
        assert self.stream_id is not None
        pseudo = {k: v for k, v in headers if k.startswith(":")}
        outcome = self.endpoint.open_http2_stream(pseudo.get(":method", ""), pseudo.get(":path", ""), headers)
        if isinstance(outcome, ServiceError):
            self.response_ended = True
            body = outcome.to_json()
            with contextlib.suppress(h2.exceptions.StreamClosedError):  # reset in the same read
                self.conn.send_headers(
                    self.stream_id,
                    [
                        (":status", str(outcome.status)),
                        ("content-type", "application/json"),
                        ("x-amzn-errortype", error_type_header(outcome.code)),
                        ("x-amzn-requestid", outcome.request_id or ""),
                        ("content-length", str(len(body))),
                    ],
                )
                self.conn.send_data(self.stream_id, body, end_stream=True)
            self._finish_connection()
            return
        stream, response_headers = outcome
        self.stream = stream
        stream.on_room = self._acknowledge
        try:
            self.conn.send_headers(self.stream_id, [(":status", "200"), *response_headers.items()])
        except h2.exceptions.StreamClosedError:
            # HEADERS and RST_STREAM came in one read: h2 already closed the stream. The
            # slot is released here, or 25 such requests would lock everyone out.
            self.response_ended = True
            stream.lifecycle.reset_by_client()
            self.endpoint.close_stream(stream)
            return
        self.flush()
        self.worker = asyncio.get_running_loop().create_task(self.work())

    async def work(self) -> None:
        stream = self.stream
        try:
            await stream.run(self.send)
            if not self.response_ended:
                self.response_ended = True
                await self.send(b"", end=True)
        except ServiceError as exc:
            await self.fail(exc)
        except ResetRequested as reset:  # a scripted fault breaks the connection
            self.response_ended = True
            if reset.how == "stream" and self.stream_id is not None:
                with contextlib.suppress(h2.exceptions.ProtocolError):
                    self.conn.reset_stream(self.stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                    self.flush()
            else:
                self.writer.transport.abort()
        except (ConnectionError, h2.exceptions.ProtocolError, TransportError):
            stream.lifecycle.connection_lost()
        finally:
            self.endpoint.close_stream(stream)
            self._finish_connection()

    def shutdown(self) -> None:
        """Stop serving: the endpoint is closing."""
        self.closed = True
        if self.worker is not None and not self.worker.done():
            self.worker.cancel()
        self.writer.close()

    def _finish_connection(self) -> None:
        """The response is complete: stop the request if it is still open, then close.

        A client still sending is asked to stop with RST_STREAM NO_ERROR (RFC 9113 section
        8.1). GOAWAY waits until we really close: once h2 has sent it, every DATA frame the
        client still has in flight would be a protocol error. The client gets a grace
        period to close first (closing under it makes TLS clients see data after
        close_notify).
        """
        assert self.stream_id is not None
        if self.input_open:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self.conn.reset_stream(self.stream_id, h2.errors.ErrorCodes.NO_ERROR)
            self.input_open = False
        self.flush()
        asyncio.get_running_loop().call_later(_CLOSE_GRACE, self._force_close)

    def _force_close(self) -> None:
        self.closed = True
        if not self.writer.is_closing():
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self.conn.close_connection()
                self.flush()
            self.writer.close()

    async def fail(self, error: ServiceError) -> None:
        """Send one exception message, end the response, and stop the worker."""
        if self.response_ended:
            return
        self.response_ended = True
        if self.stream is not None:
            self.stream.lifecycle.failed(error.code)
            self.stream.abort(error)
        with contextlib.suppress(ConnectionError, h2.exceptions.ProtocolError, TransportError):
            await self.send(encode_exception(error), end=True)


async def serve_http2_connection(
    endpoint: StreamHost, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """asyncio.start_server callback: serve one HTTP/2 connection."""
    client = client_address(writer.get_extra_info("peername"))
    refused = endpoint.guard.admit(client)
    if refused is not None:
        if endpoint.guard.should_log_refusal():
            log.info("closed a new HTTP/2 connection: %s (%d refused so far)", refused, endpoint.guard.refused)
        writer.transport.abort()  # its descriptor back at once
        return
    connection = _Connection(endpoint, reader, writer)
    endpoint.connections.add(connection)
    try:
        await connection.run()
    except asyncio.CancelledError:
        # Shutting down. asyncio's start_server callback would log a cancelled handler
        # task as an error, so the handler ends normally instead.
        writer.close()
    finally:
        endpoint.connections.discard(connection)
        endpoint.guard.release(client)
