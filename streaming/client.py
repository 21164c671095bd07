"""The streaming client: three operations over HTTP/2 or WebSocket, with retry and resumption.

>>> client = TranscribeStreamingClient(region="us-east-1")          # doctest: +SKIP
>>> async with client.start_stream_transcription(
...         language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm") as stream:
...     await stream.send_from(PcmSource("speech.pcm", sample_rate=16000))
...     async for event in stream:
...         ...

A stream that loses its connection mid-way (reset, GOAWAY, InternalFailure or
ServiceUnavailable from the service) reconnects with fresh signatures, replays the audio
sent after the last final result, and shifts the new connection's result times by where
that audio starts, so the application sees one continuous timeline with no lost and no
duplicated final segment. It is told with a :class:`StreamReconnected` event. The same
happens, without replay, for a planned rotation before the service's 4-hour limit.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as _dt
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import msgspec

import sigv4
from sigv4 import Credentials

from .audio import AudioSource
from .errors import (
    InvalidSignatureException,
    ParameterError,
    ProtocolError,
    ServiceError,
    StreamStateError,
    StreamTimeout,
    TranscribeError,
    TransportError,
)
from .models import CategoryEvent, MedicalTranscriptEvent, TranscriptEvent, UtteranceEvent
from .params import Operation, StreamParams
from .session import (
    DEV_CREDENTIALS,
    MAX_PRESIGN_EXPIRES,
    ClientSession,
    default_endpoint,
    presign_websocket,
)
from .transports import Http2Transport, WebSocketTransport, client_ssl_context

__all__ = [
    "RetryPolicy",
    "Stream",
    "StreamReconnected",
    "StreamStats",
    "TranscribeStreamingClient",
    "is_local_endpoint",
    "presign_websocket_url",
]

_LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_SKEW_RE: Final = re.compile(r"\((\d{8}T\d{6}Z) [+-] \d+ min\.\)")
_END: Final = object()


def is_local_endpoint(url: str | None) -> bool:
    """True for an endpoint on this machine (where the development key pair applies)."""
    return bool(url) and (urlsplit(url).hostname or "") in _LOCAL_HOSTS


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often to try again.

    Connection set-up is retried for retryable failures (connect errors, 429, 500, 503),
    never for other 4xx, with exponential backoff and full jitter, ``max_attempts`` times
    within ``max_total`` seconds. Mid-stream failures reconnect at most ``max_reconnects``
    times per stream, replaying at most ``replay_seconds`` of buffered audio.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_total: float = 60.0
    max_reconnects: int = 5
    replay_seconds: float = 120.0
    rotate_after: float | None = 4 * 3600.0 - 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**attempt)]."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2**attempt)))


@dataclass(frozen=True, slots=True)
class StreamReconnected:
    """The stream was resumed on a new connection; result times continue from ``offset``."""

    attempt: int
    reason: str
    offset: float
    replayed_seconds: float


@dataclass(slots=True)
class StreamStats:
    """Counters a captioning app can watch while streaming."""

    frames_sent: int = 0
    bytes_sent: int = 0
    audio_seconds: float = 0.0
    reconnects: int = 0
    final_latencies: list[float] = field(default_factory=list)

    def _percentile(self, q: float) -> float | None:
        if not self.final_latencies:
            return None
        ordered = sorted(self.final_latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def latency_p50(self) -> float | None:
        """Median seconds from the end of a segment's audio being sent to its final result."""
        return self._percentile(0.5)

    @property
    def latency_p95(self) -> float | None:
        return self._percentile(0.95)


@dataclass(slots=True)
class _Sent:
    start: float  # media seconds on the stream's timeline
    end: float
    data: bytes
    sent_at: float  # monotonic time


class TranscribeStreamingClient:
    """Entry point: holds region, credentials, endpoint, transport and policies.

    ``credentials=None`` resolves them with :func:`sigv4.resolve_credentials`, except for
    an endpoint on this machine, which gets the local endpoint's development key pair.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        credentials: Credentials | None = None,
        endpoint: str | None = None,
        transport: Literal["http2", "websocket"] = "http2",
        ca_file: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
        *,
        signed_frames: bool = True,
        connect_timeout: float = 10.0,
        read_timeout: float | None = None,
        stall_timeout: float | None = 30.0,
        proxy: str | bool | None = True,
        presign_expires: int = MAX_PRESIGN_EXPIRES,
        clock: Callable[[], _dt.datetime] | None = None,
        seed: int | None = None,
    ) -> None:
        if transport not in ("http2", "websocket"):
            raise ParameterError("transport", f"transport must be 'http2' or 'websocket', not {transport!r}")
        if transport == "http2" and not signed_frames:
            raise ParameterError("signed_frames", "unsigned frames are only accepted over WebSocket")
        self.region = region
        self.transport = transport
        self.endpoint = (endpoint or default_endpoint(region, transport)).rstrip("/")
        if credentials is None:
            credentials = DEV_CREDENTIALS if is_local_endpoint(self.endpoint) else sigv4.resolve_credentials()
        self.credentials = credentials
        self.ca_file = str(ca_file) if ca_file else None
        self.retry = retry
        self.signed_frames = signed_frames
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.stall_timeout = stall_timeout
        self.proxy = proxy
        self.presign_expires = presign_expires
        self._clock = clock or (lambda: _dt.datetime.now(_dt.UTC))
        self.clock_offset = _dt.timedelta(0)
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not cryptography

    def now(self) -> _dt.datetime:
        """The signing time: the local clock, corrected by any skew the service reported."""
        return self._clock() + self.clock_offset

    def _stream(self, operation: Operation, values: dict[str, Any], configuration: Mapping[str, Any] | None) -> Stream:
        params = StreamParams.build(operation, **values)
        return Stream(self, params, configuration=configuration)

    def start_stream_transcription(
        self,
        *,
        media_sample_rate_hz: int,
        media_encoding: str,
        language_code: str | None = None,
        vocabulary_name: str | None = None,
        session_id: str | None = None,
        vocabulary_filter_name: str | None = None,
        vocabulary_filter_method: str | None = None,
        show_speaker_label: bool | None = None,
        enable_channel_identification: bool | None = None,
        number_of_channels: int | None = None,
        enable_partial_results_stabilization: bool | None = None,
        partial_results_stability: str | None = None,
        content_identification_type: str | None = None,
        content_redaction_type: str | None = None,
        pii_entity_types: Sequence[str] | str | None = None,
        language_model_name: str | None = None,
        identify_language: bool | None = None,
        language_options: Sequence[str] | str | None = None,
        preferred_language: str | None = None,
        identify_multiple_languages: bool | None = None,
        vocabulary_names: Sequence[str] | str | None = None,
        vocabulary_filter_names: Sequence[str] | str | None = None,
        session_resume_window: int | None = None,
        transcript_format: str | None = None,
    ) -> Stream:
        """StartStreamTranscription. Parameters are checked by the service's rules now,
        before any connection; a broken rule raises :class:`~streaming.errors.ParameterError`."""
        values = dict(locals())
        values.pop("self")
        return self._stream(Operation.TRANSCRIPTION, values, None)

    def start_medical_stream_transcription(
        self,
        *,
        media_sample_rate_hz: int,
        media_encoding: str,
        specialty: str,
        type: str,
        language_code: str = "en-US",
        vocabulary_name: str | None = None,
        session_id: str | None = None,
        show_speaker_label: bool | None = None,
        enable_channel_identification: bool | None = None,
        number_of_channels: int | None = None,
        content_identification_type: str | None = None,
    ) -> Stream:
        """StartMedicalStreamTranscription (en-US; 16..48 kHz; specialty and type required)."""
        values = dict(locals())
        values.pop("self")
        return self._stream(Operation.MEDICAL, values, None)

    def start_call_analytics_stream_transcription(
        self,
        *,
        media_sample_rate_hz: int,
        media_encoding: str,
        language_code: str | None = None,
        vocabulary_name: str | None = None,
        session_id: str | None = None,
        vocabulary_filter_name: str | None = None,
        vocabulary_filter_method: str | None = None,
        language_model_name: str | None = None,
        identify_language: bool | None = None,
        language_options: Sequence[str] | str | None = None,
        preferred_language: str | None = None,
        vocabulary_names: Sequence[str] | str | None = None,
        vocabulary_filter_names: Sequence[str] | str | None = None,
        enable_partial_results_stabilization: bool | None = None,
        partial_results_stability: str | None = None,
        content_identification_type: str | None = None,
        content_redaction_type: str | None = None,
        pii_entity_types: Sequence[str] | str | None = None,
        channel_definitions: Sequence[Mapping[str, Any]] | None = None,
        post_call_analytics_settings: Mapping[str, Any] | None = None,
    ) -> Stream:
        """StartCallAnalyticsStreamTranscription. ``channel_definitions`` (e.g.
        ``[{"ChannelId": 0, "ParticipantRole": "AGENT"}, ...]``) and
        ``post_call_analytics_settings`` travel in the ConfigurationEvent sent first."""
        values = dict(locals())
        values.pop("self")
        definitions = values.pop("channel_definitions")
        post_call = values.pop("post_call_analytics_settings")
        configuration: dict[str, Any] | None = None
        if definitions is not None or post_call is not None:
            configuration = {}
            if definitions is not None:
                configuration["ChannelDefinitions"] = _check_channel_definitions(definitions)
            if post_call is not None:
                configuration["PostCallAnalyticsSettings"] = dict(post_call)
        return self._stream(Operation.CALL_ANALYTICS, values, configuration)


def _check_channel_definitions(definitions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, definition in enumerate(definitions):
        channel, role = definition.get("ChannelId"), definition.get("ParticipantRole")
        if channel not in (0, 1) or role not in ("AGENT", "CUSTOMER"):
            raise ParameterError(
                "channel_definitions",
                f"channel_definitions[{i}] must be {{'ChannelId': 0|1, 'ParticipantRole': 'AGENT'|'CUSTOMER'}}, "
                f"not {dict(definition)!r}",
            )
        out.append({"ChannelId": channel, "ParticipantRole": role})
    return out


class Stream:
    """One transcription stream: an async context manager, an audio sink, an event iterator."""

    def __init__(
        self,
        client: TranscribeStreamingClient,
        params: StreamParams,
        *,
        configuration: Mapping[str, Any] | None,
    ) -> None:
        self.client = client
        self.params = params
        self.configuration = dict(configuration) if configuration else None
        self.stats = StreamStats()
        self.session_id: str | None = params.session_id
        self.request_id: str | None = None
        self.response_headers: dict[str, str] = {}
        self._session: ClientSession | None = None
        self._transport: Http2Transport | WebSocketTransport | None = None
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._receiver: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._recover_lock = asyncio.Lock()
        self._generation = 0
        self._origin = 0.0  # media time at which the current connection's audio starts
        self._resume_point = 0.0  # results ending at or before this were already delivered
        self._media = 0.0  # media seconds sent so far
        self._sent: deque[_Sent] = deque()
        self._last_final_end = 0.0
        self._audio_ended = False
        self._finished = False
        self._fatal: BaseException | None = None
        self._opened_at = 0.0
        self._header = b""  # container header to send again on resumption
        self._rotating = False
        self._rotation: asyncio.Task[None] | None = None
        self._header_sent = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Stream:
        await self._connect()
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is not None:
            await self.aclose(abort=True)
            return
        if not self._audio_ended and self._fatal is None:
            with contextlib.suppress(TranscribeError):
                await self.end_audio()
        await self.aclose()

    async def aclose(self, *, abort: bool = False) -> None:
        """Close the connection (results not yet read are dropped)."""
        self._finished = True
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(BaseException):
                await self._receiver
        if self._transport is not None:
            await self._transport.aclose(abort=abort)

    @property
    def response_parameters(self) -> dict[str, str]:
        """The ``x-amzn-transcribe-*`` parameters the service echoed back."""
        return {k: v for k, v in self.response_headers.items() if k.startswith("x-amzn-transcribe-")}

    # -- connecting --------------------------------------------------------------------------

    def _new_transport(self) -> Http2Transport | WebSocketTransport:
        client = self.client
        https = urlsplit(client.endpoint).scheme in ("https", "wss")
        if client.transport == "http2":
            context = client_ssl_context(client.ca_file, ["h2"]) if https else None
            return Http2Transport(
                client.endpoint,
                ssl_context=context,
                connect_timeout=client.connect_timeout,
                read_timeout=client.read_timeout,
                stall_timeout=client.stall_timeout,
                proxy=client.proxy,
            )
        context = client_ssl_context(client.ca_file, ["http/1.1"]) if https else None
        return WebSocketTransport(
            ssl_context=context,
            connect_timeout=client.connect_timeout,
            read_timeout=client.read_timeout,
            stall_timeout=client.stall_timeout,
            proxy=client.proxy,
        )

    async def _open_once(self) -> None:
        client = self.client
        session = ClientSession(
            self.params,
            credentials=client.credentials,
            region=client.region,
            endpoint=client.endpoint,
            signed_frames=client.signed_frames,
        )
        transport = self._new_transport()
        if isinstance(transport, Http2Transport):
            path, headers = session.http2_request(client.now())
            response = await transport.open(path, headers)
        else:
            response = await transport.open(session.websocket_url(client.now(), expires=client.presign_expires))
        self.response_headers = response
        self.request_id = response.get("x-amzn-request-id") or response.get("x-amzn-requestid")
        session.request_id = self.request_id
        self.session_id = response.get("x-amzn-transcribe-session-id", self.session_id)
        if self.session_id and self.params.session_id is None:
            # Later connections of this stream keep its session id.
            self.params = self.params.with_session_id(self.session_id)
            session.params = self.params
        self._session, self._transport = session, transport
        if self.configuration is not None:
            await transport.send(session.configuration_frame(self.configuration, client.now()))

    async def _connect(self) -> None:
        """Open a connection, retrying per the policy; correct clock skew once."""
        policy = self.client.retry
        deadline = time.monotonic() + policy.max_total
        attempt = 0
        skew_fixed = False
        while True:
            try:
                await self._open_once()
                break
            except InvalidSignatureException as exc:
                if skew_fixed or not self._fix_skew(exc):
                    raise
                skew_fixed = True
            except (TransportError, ServiceError) as exc:
                attempt += 1
                if not exc.retryable or attempt >= policy.max_attempts:
                    raise
                pause = policy.delay(attempt, self.client._rng)
                if time.monotonic() + pause > deadline:
                    raise
                await asyncio.sleep(pause)
        self._opened_at = time.monotonic()
        self._generation += 1
        self._receiver = asyncio.get_running_loop().create_task(
            self._receive_loop(self._generation, self._transport, self._session)  # type: ignore[arg-type]
        )

    def _fix_skew(self, exc: ServiceError) -> bool:
        """Adopt the server's clock from a 'Signature expired / not yet current' message."""
        match = _SKEW_RE.search(exc.message)
        if match is None:
            return False
        server = _dt.datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.UTC)
        self.client.clock_offset = server - self.client._clock()
        return True

    # -- sending -------------------------------------------------------------------------------

    async def send_audio(self, chunk: bytes, duration: float | None = None) -> None:
        """Send one chunk of audio (at most 1 s of it); waits while the connection is busy.

        ``duration`` (seconds of media) is computed for PCM; give it for FLAC and Opus
        chunks (the sources do) so that pacing, statistics and resumption stay exact.
        """
        if self._audio_ended:
            raise StreamStateError("send_audio after end_audio")
        self._raise_fatal()
        if not chunk:
            return  # an empty AudioEvent would end the stream
        if duration is None:
            duration = self._pcm_seconds(len(chunk)) if self.params.media_encoding == "pcm" else 0.0
        if duration > 1.0 + 1e-9:
            raise ParameterError(
                "chunk",
                f"an audio event may carry at most 1 s of audio; this one has {duration:.3f} s",
            )
        record = _Sent(self._media, self._media + duration, bytes(chunk), time.monotonic())
        self._media += duration
        self._sent.append(record)
        self._trim_buffer()
        await self._send_data(record.data)
        self.stats.audio_seconds = self._media

    def _pcm_seconds(self, size: int) -> float:
        return size / (2 * self.params.channels * self.params.sample_rate)

    def _trim_buffer(self) -> None:
        limit = self.client.retry.replay_seconds
        while self._sent and (
            self._sent[0].start < self._last_final_end - 1e-6 or self._media - self._sent[0].start > limit
        ):
            self._sent.popleft()

    async def _send_data(self, data: bytes) -> None:
        await self._send_frame(lambda session, now: session.audio_frame(data, now))

    async def _send_frame(self, build: Callable[[ClientSession, _dt.datetime], bytes], *, last: bool = False) -> None:
        """Sign and send one frame on the current connection; recover if it fails.

        A frame that fails is not resent here: the recovery replays every chunk after the
        last final result (this one included) and the end frame if the audio had ended.
        """
        generation = self._generation
        try:
            async with self._send_lock:
                if generation != self._generation:
                    return  # a reconnect replayed it already
                assert self._session is not None
                assert self._transport is not None
                frame = build(self._session, self.client.now())
                await self._transport.send(frame)
                if last:
                    await self._transport.end_input()
                self.stats.frames_sent += 1
                self.stats.bytes_sent += len(frame)
        except (TransportError, ServiceError) as exc:
            await self._recover(generation, exc)

    async def send_from(
        self,
        source: AudioSource,
        *,
        realtime: bool = True,
        speed: float = 1.0,
        keepalive: float | None = None,
        end: bool = True,
    ) -> None:
        """Send a source's audio, paced by its media time, then end the audio.

        ``realtime`` paces at ``speed`` times real time (1.0 by default; signatures expire
        after 5 minutes, so a long file cannot be sent all at once). ``keepalive`` sends
        silence (PCM only) when the source stalls that many seconds, so a quiet microphone
        does not hit the service's 15-second idle timeout.
        """
        if source.media_encoding != self.params.media_encoding:
            raise ParameterError(
                "media_encoding",
                f"the source is {source.media_encoding} but the stream was opened for {self.params.media_encoding}",
            )
        if source.media_encoding == "pcm" and source.sample_rate != self.params.sample_rate:
            raise ParameterError(
                "media_sample_rate_hz",
                f"the source is {source.sample_rate} Hz but the stream was opened for {self.params.sample_rate} Hz",
            )
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        if keepalive is not None and source.media_encoding != "pcm":
            raise ValueError("keepalive silence can only be sent for PCM audio")
        self._header = source.header
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=8)

        async def pump() -> None:
            try:
                async for chunk in source:
                    await queue.put(chunk)
                await queue.put(_END)
            except Exception as exc:  # forwarded to the sender (cancellation is not)
                await queue.put(exc)

        feeder = loop.create_task(pump())
        start = loop.time()
        media = 0.0
        silence = bytes(int(self.params.sample_rate * 0.1) * 2 * self.params.channels)
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), keepalive) if keepalive else await queue.get()
                except TimeoutError:
                    item = None  # the source stalled: keep the stream alive
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                data, duration = (silence, 0.1) if item is None else (item.data, item.duration)
                if realtime:
                    delay = start + media / speed - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await self.send_audio(data, duration)
                media += duration
                if item is None:
                    start = loop.time() - media / speed  # silence does not make the source late
                self._maybe_rotate()
        finally:
            feeder.cancel()
            with contextlib.suppress(BaseException):
                await feeder
        if end:
            await self.end_audio()

    def _maybe_rotate(self) -> None:
        rotate = self.client.retry.rotate_after
        if rotate is None or self._rotation is not None or self._fatal is not None:
            return
        if time.monotonic() - self._opened_at > rotate:
            self._rotation = asyncio.get_running_loop().create_task(self._rotate())

    async def _rotate(self) -> None:
        try:
            await self._recover(self._generation, None)
        finally:
            self._rotation = None

    async def end_audio(self) -> None:
        """Signal the end of the audio (the signed empty frame); results keep coming."""
        if self._audio_ended:
            return
        self._audio_ended = True
        await self._send_frame(lambda session, now: session.end_frame(now), last=True)

    # -- receiving -----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while True:
            item = await self._events.get()
            if item is _END:
                self._events.put_nowait(_END)  # iteration may be restarted; it ends again
                return
            if isinstance(item, BaseException):
                self._events.put_nowait(item)
                raise item
            yield item

    async def _receive_loop(self, generation: int, transport: Any, session: ClientSession) -> None:
        try:
            while (data := await transport.receive()) is not None:
                for event in session.receive(data):
                    self._deliver(event)
            session.close()
            if self._rotating or generation != self._generation:
                return  # a planned rotation ended this connection; the next one continues
            if self._audio_ended:
                self._events.put_nowait(_END)
            else:
                raise ProtocolError("the service ended the stream before the audio ended")
        except asyncio.CancelledError:
            raise
        except (TransportError, ServiceError) as exc:
            if generation != self._generation or self._finished:
                return
            try:
                await self._recover(generation, exc)
            except BaseException as fatal:  # surfaced to the application
                self._fail(fatal)
        except (ProtocolError, StreamStateError) as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
            self._events.put_nowait(exc)

    def _raise_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal

    def _deliver(self, event: Any) -> None:
        origin = self._origin
        if isinstance(event, TranscriptEvent | MedicalTranscriptEvent):
            results = tuple(_shift_result(result, origin) for result in event.transcript.results)
            resume = self._resume_point
            kept = tuple(r for r in results if r.start_time >= resume - 0.05 or not r.alternatives)
            if not kept:
                return
            for result in kept:
                if not result.is_partial:
                    self._final_arrived(result.end_time)
            event = msgspec.structs.replace(event, transcript=msgspec.structs.replace(event.transcript, results=kept))
        elif isinstance(event, UtteranceEvent):
            event = _shift_utterance(event, origin)
            if event.begin_offset_millis / 1000 < self._resume_point - 0.05:
                return
            if not event.is_partial:
                self._final_arrived(event.end_offset_millis / 1000)
        elif isinstance(event, CategoryEvent) and origin:
            event = _shift_category(event, origin)
        self._events.put_nowait(event)

    def _final_arrived(self, end_time: float) -> None:
        self._last_final_end = max(self._last_final_end, end_time)
        ends = [s.end for s in self._sent]
        i = bisect.bisect_left(ends, end_time - 1e-6)
        if i < len(self._sent):
            self.stats.final_latencies.append(max(time.monotonic() - self._sent[i].sent_at, 0.0))
        self._trim_buffer()

    # -- resumption ----------------------------------------------------------------------------

    async def _recover(self, generation: int, cause: BaseException | None) -> None:
        """Reconnect after ``cause`` (None: a planned rotation) and replay unfinished audio."""
        async with self._recover_lock:
            if generation != self._generation or self._finished:
                return
            retryable = cause is None or (isinstance(cause, TransportError | ServiceError) and cause.retryable)
            if isinstance(cause, StreamTimeout):
                retryable = True
            if not retryable or self.stats.reconnects >= self.client.retry.max_reconnects:
                assert cause is not None
                self._fail(cause)
                raise cause
            old = self._transport
            lock = self._send_lock
            held = False
            try:
                if cause is None:
                    # Planned rotation: hold the audio back for the whole hand-over, end the
                    # old connection cleanly and take its last results, then go on anew.
                    await lock.acquire()
                    held = True
                    self._rotating = True
                    if old is not None and self._session is not None:
                        with contextlib.suppress(TranscribeError):
                            await old.send(self._session.end_frame(self.client.now()))
                            await old.end_input()
                        if self._receiver is not None:
                            with contextlib.suppress(BaseException):
                                await asyncio.wait_for(asyncio.shield(self._receiver), 30)
                if self._receiver is not None and self._receiver is not asyncio.current_task():
                    self._receiver.cancel()
                if old is not None:
                    # Closing before taking the send lock wakes a sender blocked on the old
                    # connection (a stalled peer never opens its flow-control window).
                    await old.aclose(abort=True)
                if not held:
                    await lock.acquire()
                    held = True
                await self._resume(cause)
            finally:
                self._rotating = False
                if held:
                    lock.release()

    async def _resume(self, cause: BaseException | None) -> None:
        """Connect again and replay the audio after the last final result (send lock held)."""
        # Replay from the first chunk boundary at or after the last final result. The audio
        # just after a final is silence (the endpointer needed it to end the segment), so
        # nothing spoken is lost, and no sliver of the delivered segment is recognised again.
        replay = [s for s in self._sent if s.start >= self._last_final_end - 1e-6]
        self._origin = replay[0].start if replay else self._media
        self._resume_point = self._last_final_end
        self.stats.reconnects += 1
        try:
            await self._connect()
        except BaseException as exc:
            self._fail(exc)
            raise
        self._rotating = False
        reason = "rotation" if cause is None else f"{type(cause).__name__}: {cause}"
        self._events.put_nowait(
            StreamReconnected(self.stats.reconnects, reason, self._origin, sum(s.end - s.start for s in replay))
        )
        assert self._session is not None
        assert self._transport is not None
        if self._header and self.params.media_encoding != "pcm" and replay and replay[0].start > 0:
            await self._transport.send(self._session.audio_frame(self._header, self.client.now()))
        for record in replay:
            await self._transport.send(self._session.audio_frame(record.data, self.client.now()))
            self.stats.frames_sent += 1
        if self._audio_ended:
            await self._transport.send(self._session.end_frame(self.client.now()))
            await self._transport.end_input()


# -- time shifting -------------------------------------------------------------------------


def _shift_result(result: Any, offset: float) -> Any:
    if not offset:
        return result
    alternatives = tuple(
        msgspec.structs.replace(
            alt,
            items=tuple(
                msgspec.structs.replace(
                    item,
                    start_time=round(item.start_time + offset, 3),
                    end_time=round(item.end_time + offset, 3),
                )
                for item in alt.items
            ),
            entities=tuple(
                msgspec.structs.replace(
                    e,
                    start_time=round(e.start_time + offset, 3),
                    end_time=round(e.end_time + offset, 3),
                )
                for e in alt.entities
            ),
        )
        for alt in result.alternatives
    )
    return msgspec.structs.replace(
        result,
        start_time=round(result.start_time + offset, 3),
        end_time=round(result.end_time + offset, 3),
        alternatives=alternatives,
    )


def _shift_utterance(event: UtteranceEvent, offset: float) -> UtteranceEvent:
    if not offset:
        return event
    ms = round(offset * 1000)
    return msgspec.structs.replace(
        event,
        begin_offset_millis=event.begin_offset_millis + ms,
        end_offset_millis=event.end_offset_millis + ms,
        items=tuple(
            msgspec.structs.replace(
                i,
                begin_offset_millis=i.begin_offset_millis + ms,
                end_offset_millis=i.end_offset_millis + ms,
            )
            for i in event.items
        ),
        entities=tuple(
            msgspec.structs.replace(
                e,
                begin_offset_millis=e.begin_offset_millis + ms,
                end_offset_millis=e.end_offset_millis + ms,
            )
            for e in event.entities
        ),
    )


def _shift_category(event: CategoryEvent, offset: float) -> CategoryEvent:
    ms = round(offset * 1000)
    details = {
        name: msgspec.structs.replace(
            poi,
            timestamp_ranges=tuple(
                msgspec.structs.replace(
                    r,
                    begin_offset_millis=r.begin_offset_millis + ms,
                    end_offset_millis=r.end_offset_millis + ms,
                )
                for r in poi.timestamp_ranges
            ),
        )
        for name, poi in event.matched_details.items()
    }
    return msgspec.structs.replace(event, matched_details=details)


# -- presigning for browsers ---------------------------------------------------------------


def presign_websocket_url(
    *,
    region: str,
    credentials: Credentials | None = None,
    expires: int = MAX_PRESIGN_EXPIRES,
    endpoint: str | None = None,
    operation: Literal["transcription", "medical", "call-analytics"] = "transcription",
    now: _dt.datetime | None = None,
    **params: Any,
) -> str:
    """The presigned WebSocket URL a backend hands to a web page (valid ``expires`` s, <= 300).

    ``params`` are the operation's parameters as keyword arguments
    (``language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"``),
    validated like the client's.
    """
    op = {
        "transcription": Operation.TRANSCRIPTION,
        "medical": Operation.MEDICAL,
        "call-analytics": Operation.CALL_ANALYTICS,
    }[operation]
    endpoint = (endpoint or default_endpoint(region, "websocket")).rstrip("/")
    if credentials is None:
        credentials = DEV_CREDENTIALS if is_local_endpoint(endpoint) else sigv4.resolve_credentials()
    built = StreamParams.build(op, **params)
    return presign_websocket(built, endpoint, credentials, region, now or _dt.datetime.now(_dt.UTC), expires)
