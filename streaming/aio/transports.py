"""The client's transports: HTTP/2 (h2 over asyncio) and WebSocket (websockets).

Each is a thin adapter that moves bytes; what to send, when, and what the bytes mean is
decided by :class:`~streaming.proto.core.StreamCore`. Both implement :class:`Transport`: ``open``
takes the :class:`~streaming.proto.actions.StreamRequest` the core built, and every wait takes the
deadline the core chose.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import contextlib
import ssl
import urllib.request
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
)
from websockets.frames import CloseCode
from websockets.protocol import State

from ..proto.connection import MAX_RESULT_MESSAGE
from ..proto.endpoints import not_http2
from ..proto.errors import (
    ConnectError,
    ConnectionLost,
    ProtocolError,
    StreamTimeout,
    TranscribeError,
    service_error_from_http,
)
from ..proto.messages import refusal_in
from .h2channel import (
    H2Channel,
    below_high_water,
    error_code_name,
    goaway_spares,
    reset_is_graceful,
    takes_bytes_now,
)

if TYPE_CHECKING:
    from ..proto.actions import StreamRequest

__all__ = ["Http2Transport", "Transport", "WebSocketTransport", "client_ssl_context"]

_MAX_ERROR_BODY: Final = 64 * 1024
# How long an upgraded WebSocket without the stream's headers is watched for a refusal.
REFUSAL_WAIT: Final = 0.25


# asyncio's TLS layer reads into a 256 KiB buffer it allocates per connection: at hundreds
# of streams that is most of a stream's memory. TLS records hold at most 16 KiB, so 32 KiB
# reads lose nothing.
TLS_READ_BUFFER: Final = 32 * 1024


def lean_tls(transport: asyncio.BaseTransport) -> None:
    """Shrink the standard library's TLS read buffer of one of our connections.

    CPython's ``asyncio.sslproto.SSLProtocol`` (3.11 to 3.13) sizes its reads by
    ``max_size`` and keeps a ``_ssl_buffer`` of that size; both are set per instance here.
    Anything else (no TLS, uvloop, a future CPython without these attributes) is left as
    it is: this saves memory, it is never needed for correctness.
    """
    protocol = getattr(transport, "_ssl_protocol", None)
    if not isinstance(protocol, asyncio.sslproto.SSLProtocol):
        return
    if not isinstance(getattr(protocol, "_ssl_buffer", None), bytearray) or not hasattr(protocol, "max_size"):
        return
    buffer = bytearray(TLS_READ_BUFFER)
    vars(protocol).update(max_size=TLS_READ_BUFFER, _ssl_buffer=buffer, _ssl_buffer_view=memoryview(buffer))


def _binary(message: str | bytes) -> bytes:
    if isinstance(message, str):
        raise ProtocolError("the service sent a text WebSocket frame; expected binary event-stream messages")
    return bytes(message)


class Transport(Protocol):
    """One connection carrying one stream. Every method raises only :class:`TranscribeError`."""

    async def open(self, request: StreamRequest, *, timeout: float) -> dict[str, str]:
        """Connect and send the request; the response headers of a 200, else the service's error."""
        ...

    async def send(self, data: bytes, *, timeout: float | None) -> None:
        """Send bytes of the request body, waiting at most ``timeout`` for the peer to take them."""
        ...

    def send_now(self, frames: Sequence[bytes]) -> bool:
        """Write all of ``frames`` at once if nothing has to wait (the peer's window, the
        socket's buffer); True when written, False when nothing was: :meth:`send` then."""
        ...

    async def end_input(self, *, timeout: float | None) -> None:
        """No more request body (HTTP/2 END_STREAM; nothing for WebSocket)."""
        ...

    async def receive(self, *, timeout: float | None) -> bytes | None:
        """The next bytes of the response; None at its clean end."""
        ...

    async def aclose(self, *, abort: bool = False) -> None:
        """Close the connection (``abort``: reset the stream rather than end it)."""
        ...


def client_ssl_context(ca_file: str | None, alpn: list[str]) -> ssl.SSLContext:
    """Verify the server (against ``ca_file`` when given) and offer ``alpn``."""
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(alpn)
    return context


def _proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTPS_PROXY, honouring NO_PROXY)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if urllib.request.proxy_bypass(host) or host in ("127.0.0.1", "localhost", "::1"):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get("https" if parts.scheme in ("https", "wss") else "http")


# What OpenSSL says when the other side does not speak TLS at all (a plain HTTP port).
_NOT_TLS: Final = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})


def _closed_without_a_word(exc: BaseException) -> bool:
    """websockets' error for a server that closed before any HTTP response."""
    return isinstance(exc, InvalidMessage) and isinstance(exc.__cause__, EOFError)


def _tls_error(authority: str, exc: ssl.SSLError, plain: str) -> ConnectError:
    """A TLS failure; neither a certificate that does not verify nor a port without TLS
    will change on a retry. ``plain`` is the scheme without TLS (http or ws)."""
    reason = exc.reason or str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectError(
            f"TLS with {authority} failed: {reason}: its certificate is not trusted",
            advice=" (pass the endpoint's CA as ca_file)",
            retryable=False,
            kind="untrusted",
        )
    if reason in _NOT_TLS:
        return ConnectError(
            f"TLS with {authority} failed ({reason}): it does not speak TLS",
            advice=f"; for a plain port use {plain}://",
            retryable=False,
            kind="not-tls",
        )
    return ConnectError(f"TLS with {authority} failed: {reason}")


async def _open_through_proxy(
    proxy: str, host: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP tunnel to ``host:port`` through an HTTP proxy (CONNECT)."""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 8080), timeout)
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or fields[1] != "200":
        writer.close()
        raise ConnectError(f"proxy {parts.hostname}:{parts.port} refused CONNECT {target}: {status_line}")
    return reader, writer


class Http2Transport:
    """One HTTP/2 request stream on its own connection (the service allows one per connection).

    Received DATA is acknowledged when :meth:`receive` hands it on, so the results that
    wait here are bounded by our flow-control window (``initial_window`` bytes).
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None,
        proxy: str | bool | None = True,
        initial_window: int = 1 << 20,
    ) -> None:
        self.ssl_context = ssl_context
        self.proxy = proxy
        self.initial_window = initial_window
        self.authority = ""
        self._channel: H2Channel | None = None
        self._stream_id = 0
        self._tls = False  # whether the connection was opened with TLS
        self._incoming: deque[tuple[bytes, int]] = deque()
        self._arrived = asyncio.Event()
        self._ended = False  # the response ended (END_STREAM received)
        self._failure: TranscribeError | None = None
        self._response: asyncio.Future[tuple[int, dict[str, str]]] | None = None
        self._pump: asyncio.Task[None] | None = None

    async def _connect(
        self, host: str, port: int, context: ssl.SSLContext | None, proxy: str | None, timeout: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            if proxy:
                async with asyncio.timeout(timeout):
                    reader, writer = await _open_through_proxy(proxy, host, port, timeout)
                    if context is not None:
                        await writer.start_tls(context, server_hostname=host)
            else:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
            lean_tls(writer.transport)
            return reader, writer
        except TimeoutError as exc:
            raise StreamTimeout(f"connecting to {self.authority} took more than {timeout:g} s") from exc
        except ssl.SSLError as exc:
            raise _tls_error(self.authority, exc, "http") from exc
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self.authority}: {exc.strerror or exc}") from exc

    async def open(self, request: StreamRequest, *, timeout: float) -> dict[str, str]:
        """Connect, send the request headers and wait for a 200; else raise the service's error."""
        parts = urlsplit(request.url)
        if parts.scheme not in ("https", "http"):
            raise ConnectError(
                f"an HTTP/2 endpoint must be https:// or http:// (h2c), not {request.url!r}", retryable=False
            )
        self.authority = parts.netloc
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        context = self.ssl_context if parts.scheme == "https" else None
        self._tls = context is not None
        proxy = _proxy_for(request.url) if self.proxy is True else (self.proxy or None)
        # One deadline for the whole opening (TCP, TLS, the response's headers), as the
        # WebSocket handshake has: the core cuts it to what is left of the retry budget.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        reader, writer = await self._connect(host, port, context, proxy, timeout)
        if context is not None:
            ssl_object = writer.get_extra_info("ssl_object")
            chosen = ssl_object.selected_alpn_protocol() if ssl_object else None
            if chosen != "h2":
                writer.close()
                raise ConnectError(
                    f"{self.authority} does not speak HTTP/2 (ALPN chose {chosen or 'nothing'}); "
                    "Transcribe streaming needs h2",
                    retryable=False,
                )
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        conn = h2.connection.H2Connection(config=config)
        channel = self._channel = H2Channel(
            conn, reader, writer, peer=self.authority, first_read=lambda data: not_http2(data, self.authority)
        )
        conn.initiate_connection()
        # A larger receive window than h2's 64 KiB default: results rarely wait on us.
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self.initial_window})
        conn.increment_flow_control_window(max(self.initial_window - 65535, 0))
        self._stream_id = conn.get_next_available_stream_id()
        headers = [
            (":method", "POST"),
            (":scheme", parts.scheme),
            (":authority", self.authority),
            (":path", request.path),
            *((k.lower(), v) for k, v in request.headers.items()),
        ]
        conn.send_headers(self._stream_id, headers)
        channel.flush()
        self._response = loop.create_future()
        self._pump = loop.create_task(self._read_loop())
        try:
            status, response_headers = await asyncio.wait_for(
                asyncio.shield(self._response), max(deadline - loop.time(), 0.0)
            )
        except TimeoutError as exc:
            await self.aclose(abort=True)
            raise StreamTimeout(f"{self.authority} sent no response headers in {timeout:g} s") from exc
        except TranscribeError:
            await self.aclose(abort=True)
            raise
        if status != 200:
            body = await self._error_body()
            await self.aclose(abort=True)
            raise service_error_from_http(status, response_headers, body)
        return response_headers

    async def _error_body(self) -> bytes:
        body = bytearray()
        with contextlib.suppress(TranscribeError):
            while len(body) < _MAX_ERROR_BODY:
                chunk = await self.receive(timeout=5.0)
                if chunk is None:
                    break
                body += chunk
        return bytes(body)

    def _fail(self, error: TranscribeError) -> None:
        if self._failure is None:
            self._failure = error
        if self._response is not None and not self._response.done():
            self._response.set_exception(error)
            self._response.exception()  # retrieved: nobody may be waiting any more
        if self._channel is not None:
            self._channel.stop(error)
        self._arrived.set()

    async def _read_loop(self) -> None:
        channel = self._channel
        assert channel is not None
        try:
            while (events := await channel.receive_events()) is not None:
                for event in events:
                    self._event(event)
                channel.flush()
            if not self._ended:
                self._fail(self._closed_error(channel))
        except TranscribeError as exc:
            self._fail(exc)

    def _closed_error(self, channel: H2Channel) -> TranscribeError:
        if channel.received == 0 and not self._tls:
            # An HTTP/2 server answers the preface with SETTINGS at once; one that closes
            # without a byte after a plain-text preface is most often a TLS port.
            return ConnectError(
                f"{self.authority} closed the connection without a byte of HTTP/2",
                advice=": if it is a TLS port, use https://",
                kind="tls-only",
            )
        return ConnectionLost(f"{self.authority} closed the connection mid-stream")

    def _event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            headers = {str(k): str(v) for k, v in event.headers or ()}
            status = int(headers.pop(":status", "0"))
            if self._response is not None and not self._response.done():
                self._response.set_result((status, headers))
        elif isinstance(event, h2.events.DataReceived):
            # Acknowledged when consumed (receive), so a slow reader slows the service.
            self._incoming.append((event.data or b"", event.flow_controlled_length or 0))
            self._arrived.set()
        elif isinstance(event, h2.events.StreamEnded):
            self._ended = True
            self._arrived.set()
        elif isinstance(event, h2.events.StreamReset):
            assert self._channel is not None
            if reset_is_graceful(event, self._ended):
                self._channel.stop()  # the response says what happened; stop sending
            else:
                self._fail(ConnectionLost(f"{self.authority} reset the stream ({error_code_name(event.error_code)})"))
        elif (
            isinstance(event, h2.events.ConnectionTerminated)
            and not goaway_spares(event, self._stream_id)
            and not self._ended
        ):
            self._fail(ConnectionLost(f"{self.authority} sent GOAWAY ({error_code_name(event.error_code)})"))

    def send_now(self, frames: Sequence[bytes]) -> bool:
        if self._channel is None or self._failure is not None:
            return False
        return self._channel.send_now(self._stream_id, frames)

    async def send(self, data: bytes, *, timeout: float | None) -> None:
        """Send request DATA, waiting at most ``timeout`` for the peer's flow-control window."""
        assert self._channel is not None
        if self._failure is not None and not self._channel.sending_closed:
            raise ConnectionLost(str(self._failure))
        await self._channel.send(self._stream_id, data, timeout=timeout)

    async def end_input(self, *, timeout: float | None) -> None:
        assert self._channel is not None
        if self._channel.sending_closed:
            return
        with contextlib.suppress(ConnectionLost):
            await self._channel.send(self._stream_id, b"", end=True, timeout=timeout)

    async def receive(self, *, timeout: float | None) -> bytes | None:
        """The next chunk of response DATA, or None when the response ended cleanly."""
        while not self._incoming:
            if self._ended:
                return None
            if self._failure is not None:
                raise self._failure
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError as exc:
                raise StreamTimeout(f"{self.authority} sent nothing for {timeout:g} s") from exc
        data, size = self._incoming.popleft()
        assert self._channel is not None
        if not self._ended:
            self._channel.consumed(self._stream_id, size)
        return data

    async def aclose(self, *, abort: bool = False) -> None:
        self._fail(ConnectionLost(f"the connection to {self.authority} was closed"))  # wakes waiters
        channel = self._channel
        if channel is not None and not channel.writer.is_closing():
            with contextlib.suppress(Exception):
                if abort and not self._ended:
                    channel.conn.reset_stream(self._stream_id, h2.errors.ErrorCodes.CANCEL)
                channel.conn.close_connection()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(BaseException):
                await self._pump
        if channel is not None:
            await channel.close()


class WebSocketTransport:
    """A presigned WebSocket connection; each event-stream message is one binary frame."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None,
        proxy: str | bool | None = True,
        max_message: int = MAX_RESULT_MESSAGE + 1024,  # one event-stream message per WebSocket message
    ) -> None:
        self.ssl_context = ssl_context
        self.proxy = proxy
        self.max_message = max_message
        self.authority = ""
        self._ws: ClientConnection | None = None
        self._pending: bytes | None = None

    async def open(self, request: StreamRequest, *, timeout: float) -> dict[str, str]:
        parts = urlsplit(request.url)
        if parts.scheme not in ("wss", "ws"):
            raise ConnectError(f"a WebSocket endpoint must be wss:// or ws://, not {request.url!r}", retryable=False)
        self.authority = parts.netloc
        proxy = _proxy_for(request.url) if self.proxy is True else (self.proxy or None)
        try:
            self._ws = await connect(
                request.url,
                ssl=self.ssl_context if parts.scheme == "wss" else None,
                open_timeout=timeout,
                max_size=self.max_message,
                max_queue=16,  # bounded: a slow reader stops reading the socket, TCP slows the peer
                compression=None,
                proxy=proxy,
                ping_interval=20,
            )
        except InvalidStatus as exc:
            response = exc.response
            raise service_error_from_http(
                response.status_code,
                dict(response.headers.raw_items()),
                bytes(response.body or b""),
            ) from exc
        except TimeoutError as exc:
            raise StreamTimeout(f"WebSocket handshake with {self.authority} took more than {timeout:g} s") from exc
        except ssl.SSLError as exc:
            raise _tls_error(self.authority, exc, "ws") from exc
        except (OSError, InvalidHandshake) as exc:
            if parts.scheme == "ws" and _closed_without_a_word(exc):
                raise ConnectError(
                    f"{self.authority} closed the connection without answering the WebSocket upgrade",
                    advice=": if it is a TLS port, use wss://",
                    kind="tls-only",
                ) from exc
            raise ConnectError(f"cannot open a WebSocket to {self.authority}: {exc}") from exc
        lean_tls(self._ws.transport)
        headers = {k.lower(): v for k, v in self._ws.response.headers.raw_items()} if self._ws.response else {}
        if "x-amzn-transcribe-session-id" not in headers:
            # A refused handshake is upgraded and answered with one exception message (the
            # service's way, which browsers can read): read it now, so that opening raises
            # the service's error as it does over HTTP/2.
            await self._read_refusal(min(timeout, REFUSAL_WAIT), headers.get("x-amzn-request-id"))
        return headers

    async def _read_refusal(self, wait: float, request_id: str | None) -> None:
        ws = self._connection()
        try:
            message = await asyncio.wait_for(ws.recv(), wait)  # recv() is cancellation-safe
        except TimeoutError:
            return  # nothing yet: an accepted stream whose service sends fewer headers
        except ConnectionClosed as exc:
            raise self._closed(exc, "right after the handshake") from exc
        data = _binary(message)
        refusal = refusal_in(data, request_id)
        if refusal is not None:
            raise refusal
        self._pending = data  # a result after all: the first receive() returns it

    def _connection(self) -> ClientConnection:
        if self._ws is None:
            raise ConnectionLost("the WebSocket is not open")
        return self._ws

    def send_now(self, frames: Sequence[bytes]) -> bool:
        """Each frame one binary message, framed by websockets' sans-I/O protocol and written
        here, when the connection is open, no fragmented send is under way and the socket's
        buffer is under its high-water mark (so ``send`` would not have waited either)."""
        ws = self._ws
        if ws is None or ws.protocol.state is not State.OPEN or ws.send_in_progress is not None:
            return False
        if not takes_bytes_now(ws.transport):
            return False
        for frame in frames:
            ws.protocol.send_binary(frame)
        ws.send_data()
        return True

    async def send(self, data: bytes, *, timeout: float | None) -> None:
        ws = self._connection()
        try:
            if below_high_water(ws.transport):
                await ws.send(data)  # will not wait for the socket; no timer on the hot path
            else:
                await asyncio.wait_for(ws.send(data), timeout)
        except TimeoutError as exc:
            raise StreamTimeout(f"{self.authority} has not read our audio for {timeout:g} s") from exc
        except ConnectionClosed as exc:
            raise ConnectionLost(f"WebSocket closed while sending: {exc}") from exc

    async def end_input(self, *, timeout: float | None) -> None:
        """The end frame travels as data and the socket stays open for results."""

    async def receive(self, *, timeout: float | None) -> bytes | None:
        ws = self._connection()
        if self._pending is not None:
            data, self._pending = self._pending, None
            return data
        try:
            message = await asyncio.wait_for(ws.recv(), timeout)
        except TimeoutError as exc:
            raise StreamTimeout(f"{self.authority} sent nothing for {timeout:g} s") from exc
        except ConnectionClosedOK:
            return None
        except ConnectionClosedError as exc:
            raise self._closed(exc, "abnormally") from exc
        return _binary(message)

    def _closed(self, exc: ConnectionClosed, how: str) -> TranscribeError:
        """The error for a closed WebSocket: a message we refused as too big (1009) is the
        peer's protocol fault, not a lost connection to retry."""
        if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
            return ProtocolError(
                f"{self.authority} sent a WebSocket message over {self.max_message} bytes; "
                "the service's messages are far smaller"
            )
        return ConnectionLost(f"WebSocket closed {how}: {exc}")

    async def aclose(self, *, abort: bool = False) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code=1001 if abort else 1000), 2.0)
