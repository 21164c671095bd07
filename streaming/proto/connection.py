"""One connection's codec, sans-I/O, shared by the HTTP/2 and WebSocket transports.

:class:`ConnectionCodec` builds the signed request (headers for HTTP/2, a presigned URL for WebSocket), wraps
audio into signed frames, and turns received bytes into typed events or typed errors.
It never touches a socket or the clock: callers pass ``now``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import eventstream
import sigv4
from sigv4 import Credentials, EventSigner
from sigv4.canonical import quote_rfc3986

from .errors import ParameterError, ProtocolError, ServiceError, SigningError, StreamStateError
from .messages import (
    ResultEvent,
    UnknownEvent,
    encode_audio_event,
    encode_configuration_event,
    parse_result_message,
)
from .params import StreamParams

__all__ = ["MAX_PRESIGN_EXPIRES", "SERVICE", "ConnectionCodec", "default_endpoint", "presign_websocket"]

MAX_RESULT_MESSAGE: Final = 1024 * 1024
"""The largest result message accepted (its prelude says its size, so it is refused at
once): the service's events are kilobytes; a peer's 16 MiB message is not one of them."""

SERVICE: Final = "transcribe"
MAX_PRESIGN_EXPIRES: Final = 300


def default_endpoint(region: str, transport: str) -> str:
    """The service's endpoint URL for a region and transport."""
    host = f"transcribestreaming.{region}.amazonaws.com"
    return f"https://{host}" if transport == "http2" else f"wss://{host}:8443"


class ConnectionCodec:
    """One connection's protocol state: request signing, the frame chain, received messages.

    ``signed_frames=False`` (WebSocket only) sends bare AudioEvents, as browsers do.
    """

    def __init__(
        self,
        params: StreamParams,
        *,
        credentials: Credentials,
        region: str,
        endpoint: str,
        signed_frames: bool = True,
    ) -> None:
        self.params = params
        self.credentials = credentials
        self.region = region
        self.endpoint = endpoint.rstrip("/")
        self.signed_frames = signed_frames
        self._signer: EventSigner | None = None
        self._decoder = eventstream.Decoder(max_message_size=MAX_RESULT_MESSAGE)
        self._ended = False
        self._deferred: ServiceError | ProtocolError | None = None
        self.request_id: str | None = None
        self.opened_at: _dt.datetime | None = None
        self.message_since: _dt.datetime | None = None  # when the message being received began
        self.events_received = 0

    # -- request ---------------------------------------------------------------------------

    def http2_request(
        self, now: _dt.datetime, extra_headers: Mapping[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        """``(path, headers)`` of the signed HTTP/2 POST; seeds the frame chain."""
        path = self.params.operation.http2_path
        headers = {
            "content-type": "application/vnd.amazon.eventstream",
            "x-amz-content-sha256": sigv4.STREAMING_PAYLOAD,
            **self.params.to_headers(),
            **(extra_headers or {}),
        }
        try:
            signed = sigv4.sign_headers(
                "POST",
                self.endpoint + path,
                headers,
                credentials=self.credentials,
                region=self.region,
                service=SERVICE,
                now=now,
            )
        except sigv4.SigV4Error as exc:
            raise SigningError(f"cannot sign the request to {self.endpoint}: {exc}") from exc
        self._start_chain(sigv4.signature_from_authorization(signed["authorization"]))
        return path, signed

    def open_request(
        self, transport: str, now: _dt.datetime, *, expires: int = MAX_PRESIGN_EXPIRES
    ) -> tuple[str, str, dict[str, str]]:
        """``(url, path, headers)`` that open this connection: a signed POST for ``"http2"``,
        a presigned URL (no headers) for ``"websocket"``; either seeds the frame chain."""
        if transport == "http2":
            path, headers = self.http2_request(now)
            return self.endpoint + path, path, headers
        url = self.websocket_url(now, expires=expires)
        return url, url[len(self.endpoint) :].split("?", 1)[0], {}

    def accept_response(self, headers: Mapping[str, str], now: _dt.datetime) -> str | None:
        """The response opened at ``now`` with ``headers``: its request id (errors quote it), returned."""
        self.opened_at = now
        self.request_id = headers.get("x-amzn-request-id") or headers.get("x-amzn-requestid")
        return self.request_id

    def websocket_url(self, now: _dt.datetime, *, expires: int = MAX_PRESIGN_EXPIRES) -> str:
        """The presigned WebSocket URL; seeds the frame chain with its signature."""
        url = presign_websocket(self.params, self.endpoint, self.credentials, self.region, now, expires)
        self._start_chain(sigv4.signature_from_presigned_url(url))
        return url

    @property
    def buffered(self) -> int:
        """Bytes received towards a message that is not complete yet."""
        return self._decoder.buffered

    def _start_chain(self, seed: str) -> None:
        self._signer = EventSigner(self.credentials, self.region, SERVICE, seed)
        self._decoder = eventstream.Decoder(max_message_size=MAX_RESULT_MESSAGE)
        self._ended = False

    # -- frames out --------------------------------------------------------------------------

    def _wrap(self, inner: bytes, now: _dt.datetime) -> bytes:
        if self._ended:
            raise StreamStateError("audio was already ended for this stream")
        if not self.signed_frames:
            return inner
        if self._signer is None:
            raise StreamStateError("the request must be built before frames are signed")
        return self._signer.sign(inner, now)

    def audio_frame(self, audio: bytes, now: _dt.datetime) -> bytes:
        """One AudioEvent, signed into the chain (or bare when frames are unsigned)."""
        return self._wrap(encode_audio_event(audio), now)

    def configuration_frame(self, configuration: Mapping[str, Any], now: _dt.datetime) -> bytes:
        """A Call Analytics ConfigurationEvent (send it before any audio)."""
        return self._wrap(encode_configuration_event(configuration), now)

    def end_frame(self, now: _dt.datetime) -> bytes:
        """The end of audio: the signed empty frame (an empty AudioEvent when unsigned)."""
        if self._ended:
            raise StreamStateError("audio was already ended for this stream")
        if self.signed_frames:
            assert self._signer is not None
            frame = self._signer.sign_end(now)
        else:
            frame = encode_audio_event(b"")
        self._ended = True
        return frame

    # -- messages in -------------------------------------------------------------------------

    def receive_at(self, data: bytes, now: _dt.datetime) -> list[ResultEvent | UnknownEvent]:
        """:meth:`receive`, noting when a message began (its deadline runs from its first
        byte) and counting the events this connection brought."""
        events = self.receive(data)
        self.events_received += len(events)
        if self.buffered == 0:
            self.message_since = None
        elif self.message_since is None:
            self.message_since = now
        return events

    def receive(self, data: bytes) -> list[ResultEvent | UnknownEvent]:
        """Decode received bytes into typed events; raise the service's error if one came.

        When a chunk holds events and then an exception message, the events are returned
        and the error is raised by the next :meth:`receive` or :meth:`close`, so no result
        that arrived before the error is lost.
        """
        self._raise_deferred()
        try:
            messages = self._decoder.feed(data)
        except eventstream.EventStreamError as exc:
            raise ProtocolError(f"malformed event stream from the service: {exc}") from exc
        events: list[ResultEvent | UnknownEvent] = []
        operation = self.params.operation
        for message in messages:
            try:
                events.append(parse_result_message(operation, message, request_id=self.request_id))
            except (ServiceError, ProtocolError) as exc:
                if not events:
                    raise
                self._deferred = exc
                break
        return events

    def close(self) -> None:
        """The response ended: raise a deferred error, or if a message was cut off."""
        self._raise_deferred()
        try:
            self._decoder.close()
        except eventstream.EventStreamError as exc:
            raise ProtocolError(f"the service's event stream ended mid-message: {exc}") from exc

    def _raise_deferred(self) -> None:
        if self._deferred is not None:
            exc, self._deferred = self._deferred, None
            raise exc


def presign_websocket(
    params: StreamParams,
    endpoint: str,
    credentials: Credentials,
    region: str,
    now: _dt.datetime,
    expires: int = MAX_PRESIGN_EXPIRES,
) -> str:
    """Presign the WebSocket URL for ``params`` at ``endpoint`` (``wss://host:8443``)."""
    if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        raise ParameterError(
            "expires", f"expires must be 1..{MAX_PRESIGN_EXPIRES} seconds (the service's limit), got {expires}"
        )
    parts = urlsplit(endpoint)
    if parts.scheme not in ("ws", "wss"):
        raise ParameterError("endpoint", f"a WebSocket endpoint must be ws:// or wss://, not {endpoint!r}")
    query = "&".join(f"{quote_rfc3986(k)}={quote_rfc3986(v)}" for k, v in params.to_query())
    url = f"{endpoint.rstrip('/')}{params.operation.websocket_path}?{query}"
    try:
        return sigv4.presign_url(
            "GET",
            url,
            credentials=credentials,
            region=region,
            service=SERVICE,
            now=now,
            expires=expires,
        )
    except sigv4.SigV4Error as exc:
        raise SigningError(f"cannot presign a URL for {endpoint}: {exc}") from exc
