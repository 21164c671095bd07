"""The client's transports: HTTP/2 (h2 over asyncio) and WebSocket (websockets).

Each is a thin adapter that moves bytes; building requests, signing frames and parsing
results belong to :class:`~streaming.session.ClientSession`. Both expose the same four
verbs: ``send`` (waits for flow control, so backpressure reaches the caller),
``end_input``, ``receive`` (``None`` at the clean end) and ``aclose``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from .errors import (
    ConnectError,
    ConnectionLost,
    ProtocolError,
    ServiceError,
    StreamTimeout,
    service_error_from_http,
)

__all__ = ["Http2Transport", "WebSocketTransport", "client_ssl_context"]

_READ_SIZE: Final = 65536
_MAX_ERROR_BODY: Final = 64 * 1024


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
    """One HTTP/2 request stream on its own connection (the service allows one per connection)."""

    def __init__(
        self,
        url: str,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float = 10.0,
        read_timeout: float | None = None,
        stall_timeout: float | None = 30.0,
        proxy: str | bool | None = True,
        initial_window: int = 1 << 20,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http"):
            raise ValueError(f"an HTTP/2 endpoint must be https:// or http:// (h2c), not {url!r}")
        self.url = url
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.authority = parts.netloc
        self.ssl_context = ssl_context if parts.scheme == "https" else None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.stall_timeout = stall_timeout
        self.proxy = _proxy_for(url) if proxy is True else (proxy or None)
        self.initial_window = initial_window
        self._input_ended = False
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._conn: h2.connection.H2Connection | None = None
        self._stream_id = 0
        self._incoming: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self._response: asyncio.Future[tuple[int, dict[str, str]]] | None = None
        self._window = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._ended = False
        self._send_closed = False
        self._failure: BaseException | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            if self.proxy:
                reader, writer = await _open_through_proxy(self.proxy, self.host, self.port, self.connect_timeout)
                if self.ssl_context is not None:
                    await asyncio.wait_for(
                        writer.start_tls(self.ssl_context, server_hostname=self.host),
                        self.connect_timeout,
                    )
                return reader, writer
            return await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self.ssl_context),
                self.connect_timeout,
            )
        except TimeoutError as exc:
            raise StreamTimeout(f"connecting to {self.authority} took more than {self.connect_timeout:g} s") from exc
        except ssl.SSLError as exc:
            raise ConnectError(f"TLS with {self.authority} failed: {exc.reason or exc}") from exc
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self.authority}: {exc.strerror or exc}") from exc

    async def open(self, path: str, headers: Mapping[str, str]) -> dict[str, str]:
        """Connect, send the request headers and wait for a 200; else raise the service's error."""
        self._reader, self._writer = await self._connect()
        if self.ssl_context is not None:
            ssl_object = self._writer.get_extra_info("ssl_object")
            chosen = ssl_object.selected_alpn_protocol() if ssl_object else None
            if chosen != "h2":
                self._writer.close()
                raise ConnectError(
                    f"{self.authority} does not speak HTTP/2 (ALPN chose {chosen or 'nothing'}); "
                    "Transcribe streaming needs h2"
                )
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        conn = self._conn = h2.connection.H2Connection(config=config)
        conn.initiate_connection()
        # A larger receive window than h2's 64 KiB default: results never wait on us.
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self.initial_window})
        conn.increment_flow_control_window(max(self.initial_window - 65535, 0))
        self._stream_id = conn.get_next_available_stream_id()
        request = [
            (":method", "POST"),
            (":scheme", self.scheme),
            (":authority", self.authority),
            (":path", path),
            *((k.lower(), v) for k, v in headers.items()),
        ]
        conn.send_headers(self._stream_id, request)
        self._response = asyncio.get_running_loop().create_future()
        self._flush()
        self._pump = asyncio.get_running_loop().create_task(self._read_loop())
        try:
            status, response_headers = await asyncio.wait_for(
                asyncio.shield(self._response), self.read_timeout or self.connect_timeout * 3
            )
        except TimeoutError as exc:
            await self.aclose(abort=True)
            raise StreamTimeout(f"{self.authority} sent no response headers in time") from exc
        if status != 200:
            body = await self._error_body()
            await self.aclose(abort=True)
            raise service_error_from_http(status, response_headers, body)
        return response_headers

    async def _error_body(self) -> bytes:
        body = bytearray()
        with contextlib.suppress(BaseException):
            while len(body) < _MAX_ERROR_BODY:
                item = await asyncio.wait_for(self._incoming.get(), 5.0)
                if not isinstance(item, bytes):
                    break
                body += item
        return bytes(body)

    def _flush(self) -> None:
        assert self._conn is not None and self._writer is not None
        data = self._conn.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    def _fail(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error
            self._incoming.put_nowait(error)
        if self._response is not None and not self._response.done():
            self._response.set_exception(error)
        self._window.set()

    async def _read_loop(self) -> None:
        assert self._reader is not None and self._conn is not None
        conn = self._conn
        try:
            while True:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    if not self._ended:
                        self._fail(ConnectionLost(f"{self.authority} closed the connection mid-stream"))
                    return
                try:
                    events = conn.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    self._fail(ProtocolError(f"HTTP/2 protocol error from {self.authority}: {exc}"))
                    return
                for event in events:
                    self._event(event)
                self._flush()
        except (ConnectionError, OSError) as exc:
            self._fail(ConnectionLost(f"connection to {self.authority} lost: {exc}"))
        except asyncio.CancelledError:
            raise

    def _event(self, event: Any) -> None:
        assert self._conn is not None
        if isinstance(event, h2.events.ResponseReceived):
            headers = {str(k): str(v) for k, v in event.headers}
            status = int(headers.pop(":status", "0"))
            if self._response is not None and not self._response.done():
                self._response.set_result((status, headers))
        elif isinstance(event, h2.events.DataReceived):
            self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if event.data:
                self._incoming.put_nowait(event.data)
        elif isinstance(event, h2.events.StreamEnded):
            self._ended = True
            self._incoming.put_nowait(None)
        elif isinstance(event, h2.events.StreamReset):
            if self._ended and event.error_code == h2.errors.ErrorCodes.NO_ERROR:
                # The response is complete and the server asks us to stop sending
                # (RFC 9113 section 8.1): not a failure; the response says what happened.
                self._send_closed = True
                self._window.set()
            else:
                self._fail(ConnectionLost(f"{self.authority} reset the stream ({_code(event.error_code)})"))
        elif isinstance(event, h2.events.WindowUpdated):
            self._window.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            # GOAWAY: our stream survives it if the server says it will finish it.
            last = event.last_stream_id if event.last_stream_id is not None else 0
            failed = event.error_code != h2.errors.ErrorCodes.NO_ERROR or last < self._stream_id
            if failed and not self._ended:
                self._fail(ConnectionLost(f"{self.authority} sent GOAWAY ({_code(event.error_code)})"))

    async def send(self, data: bytes) -> None:
        """Send request DATA, waiting for the peer's flow-control window."""
        conn, writer = self._conn, self._writer
        assert conn is not None and writer is not None
        view = memoryview(data)
        while view:
            if self._send_closed:
                return  # the response already ended; what it says is read by receive()
            if self._failure is not None:
                raise (self._failure if isinstance(self._failure, ServiceError) else ConnectionLost(str(self._failure)))
            try:
                window = min(conn.local_flow_control_window(self._stream_id), conn.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError as exc:
                raise ConnectionLost(f"{self.authority} closed the request stream") from exc
            if window <= 0:
                self._window.clear()
                try:
                    await asyncio.wait_for(self._window.wait(), self.stall_timeout)
                except TimeoutError as exc:
                    raise StreamTimeout(
                        f"{self.authority} has not read our audio for {self.stall_timeout:g} s (flow control)"
                    ) from exc
                continue
            try:
                conn.send_data(self._stream_id, bytes(view[:window]))
            except h2.exceptions.StreamClosedError as exc:
                raise ConnectionLost(f"{self.authority} closed the request stream") from exc
            view = view[window:]
            self._flush()
        try:
            await writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(f"connection to {self.authority} lost while sending: {exc}") from exc

    async def end_input(self) -> None:
        assert self._conn is not None and self._writer is not None
        self._input_ended = True
        if self._send_closed:
            return
        with contextlib.suppress(h2.exceptions.StreamClosedError):
            self._conn.end_stream(self._stream_id)
            self._flush()
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()

    async def receive(self) -> bytes | None:
        """The next chunk of response DATA, or None when the response ended cleanly.

        Waits at most ``read_timeout`` (off by default: silence produces no results), and
        at most ``stall_timeout`` once the audio has ended and only results are due.
        """
        timeout = _timeout(self.read_timeout, self.stall_timeout if self._input_ended else None)
        try:
            item = await asyncio.wait_for(self._incoming.get(), timeout)
        except TimeoutError as exc:
            raise StreamTimeout(f"{self.authority} sent nothing for {timeout:g} s") from exc
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self, *, abort: bool = False) -> None:
        self._fail(ConnectionLost(f"the connection to {self.authority} was closed"))  # wakes waiters
        if self._conn is not None and self._writer is not None and not self._writer.is_closing():
            with contextlib.suppress(Exception):
                if abort and not self._ended:
                    self._conn.reset_stream(self._stream_id, h2.errors.ErrorCodes.CANCEL)
                self._conn.close_connection()
                self._flush()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(BaseException):
                await self._pump
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer.wait_closed(), 2.0)


def _timeout(*limits: float | None) -> float | None:
    """The tightest of the limits that are set."""
    set_limits = [limit for limit in limits if limit is not None]
    return min(set_limits) if set_limits else None


def _code(code: Any) -> str:
    return code.name if hasattr(code, "name") else str(code)


class WebSocketTransport:
    """A presigned WebSocket connection; each event-stream message is one binary frame."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float = 10.0,
        read_timeout: float | None = None,
        stall_timeout: float | None = 30.0,
        proxy: str | bool | None = True,
    ) -> None:
        self.ssl_context = ssl_context
        self.stall_timeout = stall_timeout
        self._input_ended = False
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.proxy = proxy
        self._ws: Any = None

    async def open(self, url: str) -> dict[str, str]:
        from websockets.asyncio.client import connect  # noqa: PLC0415
        from websockets.exceptions import InvalidHandshake, InvalidStatus  # noqa: PLC0415

        parts = urlsplit(url)
        proxy: Any = _proxy_for(url) if self.proxy is True else (self.proxy or None)
        try:
            self._ws = await connect(
                url,
                ssl=self.ssl_context if parts.scheme == "wss" else None,
                open_timeout=self.connect_timeout,
                max_size=32 * 1024 * 1024,
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
            raise StreamTimeout(
                f"WebSocket handshake with {parts.netloc} took more than {self.connect_timeout:g} s"
            ) from exc
        except ssl.SSLError as exc:
            raise ConnectError(f"TLS with {parts.netloc} failed: {exc.reason or exc}") from exc
        except (OSError, InvalidHandshake) as exc:
            raise ConnectError(f"cannot open a WebSocket to {parts.netloc}: {exc}") from exc
        return {k.lower(): v for k, v in self._ws.response.headers.raw_items()}

    async def send(self, data: bytes) -> None:
        from websockets.exceptions import ConnectionClosed  # noqa: PLC0415

        try:
            await asyncio.wait_for(self._ws.send(data), self.stall_timeout)
        except TimeoutError as exc:
            raise StreamTimeout(f"the service has not read our audio for {self.stall_timeout:g} s") from exc
        except ConnectionClosed as exc:
            raise ConnectionLost(f"WebSocket closed while sending: {exc}") from exc

    async def end_input(self) -> None:
        """The end frame travels as data and the socket stays open for results."""
        self._input_ended = True

    async def receive(self) -> bytes | None:
        from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK  # noqa: PLC0415

        timeout = _timeout(self.read_timeout, self.stall_timeout if self._input_ended else None)
        try:
            message = await asyncio.wait_for(self._ws.recv(), timeout)
        except TimeoutError as exc:
            raise StreamTimeout(f"the service sent nothing for {timeout:g} s") from exc
        except ConnectionClosedOK:
            return None
        except ConnectionClosedError as exc:
            raise ConnectionLost(f"WebSocket closed abnormally: {exc}") from exc
        if isinstance(message, str):
            raise ProtocolError("the service sent a text WebSocket frame; expected binary event-stream messages")
        return bytes(message)

    async def aclose(self, *, abort: bool = False) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code=1000 if not abort else 1001), 2.0)
