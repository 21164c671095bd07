"""One HTTP/2 request stream over asyncio streams: the part the client and the local endpoint share.

Both sides carry exactly one request stream per connection (the service allows one), and
both need the same mechanics around h2's sans-I/O ``H2Connection``: read the socket and
turn bytes into h2 events, flush what h2 wants to send, send DATA within the peer's
flow-control window with a deadline (a peer that never opens its window must not pin a
sender forever), acknowledge received DATA once it is consumed (so a slow consumer slows
the peer instead of growing memory), and the rules for GOAWAY and RST_STREAM. What each
side does with a request or a response stays with it
(:class:`~streaming.aio.transports.Http2Transport`, ``streaming.local.h2server``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Final

import h2.connection
import h2.errors
import h2.events
import h2.exceptions

from ..proto.errors import ConnectionLost, ProtocolError, StreamTimeout

__all__ = [
    "H2Channel",
    "below_high_water",
    "decode_frames",
    "error_code_name",
    "goaway_spares",
    "reset_is_graceful",
    "takes_bytes_now",
]

READ_SIZE: Final = 65536
_CLIENT_PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # RFC 9113 section 3.4


def error_code_name(code: Any) -> str:
    """An h2 error code as its RFC 9113 name (or the number when h2 does not know it)."""
    return str(code.name) if hasattr(code, "name") else str(code)


def goaway_spares(event: h2.events.ConnectionTerminated, stream_id: int) -> bool:
    """True when a GOAWAY lets ``stream_id`` finish (RFC 9113 section 6.8).

    The sender promises to finish streams up to ``last_stream_id``; an error code other
    than NO_ERROR means the connection is going away because something went wrong.
    """
    last = event.last_stream_id if event.last_stream_id is not None else 0
    return event.error_code == h2.errors.ErrorCodes.NO_ERROR and last >= stream_id


def reset_is_graceful(event: h2.events.StreamReset, response_complete: bool) -> bool:
    """True for RST_STREAM NO_ERROR after a complete response (RFC 9113 section 8.1):
    the server has said everything and asks the client to stop sending."""
    return response_complete and event.error_code == h2.errors.ErrorCodes.NO_ERROR


class _FrameSizeGuard:
    """Refuses a frame longer than our SETTINGS_MAX_FRAME_SIZE as soon as its 9-byte header
    is in (RFC 9113 section 4.2), before h2 would buffer the whole frame: a peer that
    announces 16 MiB must not make us hold 16 MiB. Work is per frame, not per byte."""

    __slots__ = ("_header", "_peer", "_remaining", "_skip")

    def __init__(self, preface: int, peer: str) -> None:
        self._skip = preface  # a client's connection preface comes before its frames
        self._header = bytearray()
        self._remaining = 0  # payload bytes of the current frame still to come
        self._peer = peer

    def _check_preface(self, part: memoryview) -> None:
        """The client's bytes where its preface belongs must be the preface: anything else
        is named for what it most likely is, not read as a frame of absurd length."""
        at = len(_CLIENT_PREFACE) - self._skip
        if part == _CLIENT_PREFACE[at : at + len(part)]:
            return
        head = bytes(part[:3]) if at == 0 else b""
        if head[:2] == b"\x16\x03":
            raise ProtocolError(f"{self._peer} began a TLS handshake on a plain-text port (it wants https:// here?)")
        if head.isalpha():
            raise ProtocolError(f"{self._peer} spoke HTTP/1 to the HTTP/2 port (a WebSocket or HTTP client?)")
        raise ProtocolError(f"{self._peer} did not open with the HTTP/2 connection preface")

    def check(self, data: bytes, max_size: int) -> None:
        view = memoryview(data)
        while view:
            if self._skip:
                take = min(self._skip, len(view))
                self._check_preface(view[:take])
                self._skip -= take
            elif self._remaining:
                take = min(self._remaining, len(view))
                self._remaining -= take
            else:
                take = min(9 - len(self._header), len(view))
                self._header += view[:take]
                if len(self._header) == 9:
                    length = int.from_bytes(self._header[:3], "big")
                    self._header.clear()
                    if length > max_size:
                        raise ProtocolError(
                            f"{self._peer} sent an HTTP/2 frame of {length} bytes; at most {max_size} were allowed"
                        )
                    self._remaining = length
            view = view[take:]


def below_high_water(transport: asyncio.BaseTransport) -> bool:
    """True when a write transport's buffer is under its high-water mark (drain won't wait).

    Asked of the methods, not the class: uvloop's transports have them without deriving
    from ``asyncio.WriteTransport``.
    """
    size = getattr(transport, "get_write_buffer_size", None)
    limits = getattr(transport, "get_write_buffer_limits", None)
    if size is None or limits is None:
        return False
    return bool(size() < limits()[1])


def takes_bytes_now(transport: asyncio.BaseTransport) -> bool:
    """True when a write goes out to an open transport without any wait: the one test both
    transports' ``send_now`` make of the socket."""
    return not transport.is_closing() and below_high_water(transport)


def decode_frames(
    conn: h2.connection.H2Connection, guard: _FrameSizeGuard, data: bytes, peer: str
) -> list[h2.events.Event]:
    """h2's events for ``data``; anything that is not HTTP/2 is our ProtocolError.

    That covers a frame over our size limit (refused at its header, FRAME_SIZE_ERROR), h2's
    own protocol errors, and header bytes that are not the UTF-8 we configured h2 to
    decode (h2 lets that ``UnicodeDecodeError`` escape; the fuzzer found it).
    """
    try:
        guard.check(data, conn.max_inbound_frame_size)
    except ProtocolError:
        conn.close_connection(error_code=h2.errors.ErrorCodes.FRAME_SIZE_ERROR)
        raise
    try:
        return conn.receive_data(data)
    except h2.exceptions.ProtocolError as exc:
        raise ProtocolError(f"HTTP/2 protocol error from {peer}: {exc}") from exc
    except UnicodeDecodeError as exc:
        conn.close_connection(error_code=h2.errors.ErrorCodes.PROTOCOL_ERROR)
        raise ProtocolError(f"{peer} sent a header that is not UTF-8 (byte {exc.start})") from exc


class H2Channel:
    """An ``H2Connection`` bound to an asyncio reader and writer (see the module docstring).

    ``peer`` names the other side in error messages.
    """

    def __init__(
        self,
        conn: h2.connection.H2Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        peer: str,
        first_read: Callable[[bytes], ProtocolError | None] | None = None,
    ) -> None:
        self.conn = conn
        self._first_read = first_read  # a check of the peer's first bytes (the client's: not HTTP/1.1?)
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self._window = asyncio.Event()
        self._stopped: BaseException | None = None  # why sending is over, if it is
        self.sending_closed = False  # the peer asked us to stop sending (not an error)
        # What send_now may write without asking h2: the stream's window as last asked, less
        # what went out since, and the peer's largest frame. Only bytes we receive can change
        # h2's answers (WINDOW_UPDATE, SETTINGS, RST_STREAM), so receive_bytes forgets them.
        self._room: tuple[int, int] | None = None
        self._frames = _FrameSizeGuard(0 if conn.config.client_side else len(_CLIENT_PREFACE), peer)
        self.received = 0  # bytes read from the peer so far

    # -- bytes in ------------------------------------------------------------------------------

    async def receive_events(self) -> list[h2.events.Event] | None:
        """Read once from the socket and return the h2 events it carried (None at EOF).

        Raises :class:`~streaming.proto.errors.ProtocolError` for bytes that are not HTTP/2
        (h2's GOAWAY is flushed first) and :class:`~streaming.proto.errors.ConnectionLost`
        when the socket fails.
        """
        try:
            data = await self.reader.read(READ_SIZE)
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(f"connection to {self.peer} lost: {exc}") from exc
        if not data:
            return None
        self.received += len(data)
        if self._first_read is not None:
            refusal, self._first_read = self._first_read(data), None
            if refusal is not None:
                raise refusal
        return self.receive_bytes(data)

    def receive_bytes(self, data: bytes) -> list[h2.events.Event]:
        """The h2 events for bytes already read from the socket (see :meth:`receive_events`)."""
        try:
            events = decode_frames(self.conn, self._frames, data, self.peer)
        finally:
            self._room = None
            self.flush()  # h2's GOAWAY, when the bytes were not HTTP/2
        for event in events:
            if isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
                self._window.set()
        return events

    def consumed(self, stream_id: int, size: int) -> None:
        """``size`` flow-controlled bytes of ``stream_id`` were consumed: open our window."""
        if size:
            try:
                self.conn.acknowledge_received_data(size, stream_id)
            except h2.exceptions.StreamClosedError:
                self.conn.increment_flow_control_window(size)  # the stream is gone; keep the connection's open
            self.flush()

    # -- bytes out -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what h2 has queued (settings, acknowledgements, frames)."""
        data = self.conn.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    def stop(self, reason: BaseException | None = None) -> None:
        """No more sending: wake a sender waiting for window. ``reason`` is what it raises
        (None: the peer asked us to stop, and the sender returns quietly)."""
        if reason is None:
            self.sending_closed = True
        elif self._stopped is None:
            self._stopped = reason
        self._window.set()

    def send_now(self, stream_id: int, frames: Sequence[bytes]) -> bool:
        """Write ``frames`` as DATA at once when nothing has to wait, and say whether it did.

        The hot path of a real-time stream: every frame fits the window and the peer's frame
        size, and the socket's buffer is under its high-water mark, so nothing is awaited,
        no timer is set and h2's window is not asked again (see ``_room``). Otherwise (a
        full window or buffer, sending over) nothing is written and False sends the caller
        to :meth:`send`, which waits and raises as it must.
        """
        if self.sending_closed or self._stopped is not None or not takes_bytes_now(self.writer.transport):
            return False  # send() waits, returns quietly or raises (a closing socket: ConnectionLost)
        conn = self.conn
        if self._room is None:
            try:
                self._room = (conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError:
                return False
        window, largest = self._room
        size = 0
        for frame in frames:
            if len(frame) > largest:
                return False
            size += len(frame)
        if size > window:
            return False
        for index, frame in enumerate(frames):
            try:
                conn.send_data(stream_id, frame)
            except h2.exceptions.H2Error as exc:  # the stream ended under us: send() says how
                self._room = None
                self.flush()
                if index:  # never reached (what refuses one frame refuses the first); never resend
                    raise ConnectionLost(f"{self.peer} closed the stream") from exc
                return False
        self._room = (window - size, largest)
        self.flush()
        return True

    async def send(self, stream_id: int, data: bytes, *, end: bool = False, timeout: float | None) -> None:
        """Send ``data`` as DATA on ``stream_id`` within the peer's window, then drain.

        Each wait (for window, for the socket to drain) lasts at most ``timeout`` seconds,
        then :class:`~streaming.proto.errors.StreamTimeout`. A stream the peer closed raises
        :class:`~streaming.proto.errors.ConnectionLost`; after a graceful RST (see
        :func:`reset_is_graceful`) the rest is dropped quietly.
        """
        conn = self.conn
        self._room = None  # asked afresh on the way out
        view = memoryview(data)
        while view or end:
            if self.sending_closed:
                return
            if self._stopped is not None:
                raise self._stopped
            try:
                window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError as exc:
                raise ConnectionLost(f"{self.peer} closed the stream") from exc
            if view and window <= 0:
                self._window.clear()
                try:
                    await asyncio.wait_for(self._window.wait(), timeout)
                except TimeoutError as exc:
                    raise StreamTimeout(f"{self.peer} has not read for {timeout:g} s (flow control)") from exc
                continue
            # The common case, a frame that fits the window whole, goes out without a copy.
            piece = data if len(view) == len(data) <= window else bytes(view[:window])
            view = view[len(piece) :]
            last = end and not view
            try:
                conn.send_data(stream_id, piece, end_stream=last)
            except h2.exceptions.StreamClosedError as exc:
                raise ConnectionLost(f"{self.peer} closed the stream") from exc
            self.flush()
            if last:
                break
        await self.drain(timeout)

    async def drain(self, timeout: float | None) -> None:
        """Wait until the socket took our bytes, at most ``timeout`` seconds."""
        try:
            if below_high_water(self.writer.transport):
                if self.writer.transport.is_closing():
                    raise ConnectionLost(f"connection to {self.peer} lost while sending")
                return  # drain would return at once: nothing to wait for on the hot path
            else:
                await asyncio.wait_for(self.writer.drain(), timeout)
        except TimeoutError as exc:
            raise StreamTimeout(f"{self.peer} has not read for {timeout:g} s (socket)") from exc
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(f"connection to {self.peer} lost while sending: {exc}") from exc

    async def close(self, *, grace: float = 2.0) -> None:
        """Close the socket (after flushing whatever h2 still has to say)."""
        self.stop(ConnectionLost(f"the connection to {self.peer} was closed"))
        if not self.writer.is_closing():
            self.flush()
            self.writer.close()
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            await asyncio.wait_for(self.writer.wait_closed(), grace)
