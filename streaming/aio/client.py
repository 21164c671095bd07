"""The streaming client: three operations over HTTP/2 or WebSocket, with retry and resumption.

>>> client = TranscribeStreamingClient(region="us-east-1")          # doctest: +SKIP
>>> async with client.start_stream_transcription(
...         language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm") as stream:
...     await stream.send_from(PcmSource("speech.pcm", sample_rate=16000))
...     async for event in stream:
...         ...

:class:`Stream` is the asyncio shell around :class:`~streaming.proto.core.StreamCore`: it owns
the tasks, the sockets and the waits, and nothing else. Every decision (what to send,
when to reconnect, what to replay, how long each wait may last, which results the
application has already seen) is the core's; ``docs/core.md`` describes them.

A stream that loses its connection mid-way (reset, GOAWAY, InternalFailure or
ServiceUnavailable from the service) reconnects with fresh signatures, replays the audio
sent after the last final result, and shifts the new connection's result times by where
that audio starts, so the application sees one continuous timeline with no lost and no
duplicated final segment. It is told with a :class:`StreamReconnected` event. The same
happens for a planned rotation before the service's 4-hour limit.
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Final, Literal
from urllib.parse import urlsplit

from sigv4 import Credentials

from ..proto.configuration import check_channel_definitions, check_post_call_settings
from ..proto.connection import MAX_PRESIGN_EXPIRES, default_endpoint, presign_websocket
from ..proto.core import StreamSettings
from ..proto.credentials import credentials_for
from ..proto.endpoints import check_endpoint, check_region, transport_for
from ..proto.errors import ParameterError
from ..proto.params import Operation, StreamParams
from ..proto.retry import DEFAULT_RETRY, ClockSkew, RetryPolicy
from .stream import Stream
from .transports import client_ssl_context

__all__ = [
    "TranscribeStreamingClient",
    "presign_websocket_url",
]

_ALPN: Final = {"http2": ["h2"], "websocket": ["http/1.1"]}


class TranscribeStreamingClient:
    """Entry point: holds region, credentials, endpoint, transport and policies.

    ``credentials=None`` resolves them as every AWS SDK does (explicit, ``AWS_*``,
    ``AWS_PROFILE`` and the shared files; see :mod:`streaming.proto.credentials`); only when
    nothing is found and the endpoint is on this machine does it fall back to the local
    endpoint's development key pair. ``credentials.source`` says which were used.

    ``transport`` left out follows the endpoint's scheme (``ws://``/``wss://``: WebSocket;
    otherwise HTTP/2).

    Timeouts are seconds: ``connect_timeout`` for connecting and the response headers,
    ``read_timeout`` (off by default) between any two reads, ``stall_timeout`` for a peer
    that stops reading our audio or stops answering after it ended. ``max_events``
    results may wait unread before the stream stops reading (flow control then holds
    the service back). ``seed`` fixes the retry jitter, ``clock`` the signing time.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        credentials: Credentials | None = None,
        endpoint: str | None = None,
        transport: Literal["http2", "websocket"] | None = None,
        ca_file: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        *,
        signed_frames: bool = True,
        connect_timeout: float = 10.0,
        read_timeout: float | None = None,
        stall_timeout: float | None = 30.0,
        proxy: str | bool | None = True,
        presign_expires: int = MAX_PRESIGN_EXPIRES,
        clock: Callable[[], _dt.datetime] | None = None,
        seed: int | None = None,
        max_events: int = 256,
    ) -> None:
        transport = transport_for(endpoint, transport)
        if transport == "http2" and not signed_frames:
            raise ParameterError("signed_frames", "unsigned frames are only accepted over WebSocket")
        check_region(region)
        endpoint = check_endpoint(endpoint or default_endpoint(region, transport), transport)
        if max_events < 1:
            raise ParameterError("max_events", f"max_events must be at least 1, got {max_events}")
        self.settings = StreamSettings(
            credentials=credentials if credentials is not None else credentials_for(endpoint),
            region=region,
            endpoint=endpoint,
            transport=transport,
            signed_frames=signed_frames,
            presign_expires=presign_expires,
            retry=retry,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            stall_timeout=stall_timeout,
        )
        self.ca_file = str(ca_file) if ca_file else None
        https = urlsplit(endpoint).scheme in ("https", "wss")
        self.ssl_context = client_ssl_context(self.ca_file, _ALPN[transport]) if https else None
        self.proxy = proxy
        self.max_events = max_events
        self._clock = clock or (lambda: _dt.datetime.now(_dt.UTC))
        self.skew = ClockSkew()  # the service's clock as the last stream found it; new streams start from it
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not cryptography

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def endpoint(self) -> str:
        return self.settings.endpoint

    @property
    def transport(self) -> Literal["http2", "websocket"]:
        return self.settings.transport

    @property
    def credentials(self) -> Credentials:
        """The identity every stream of this client signs with."""
        return self.settings.credentials

    @property
    def clock_offset(self) -> _dt.timedelta:
        """How far the service's clock is from ours, as the last stream found it."""
        return self.skew.offset

    def now(self) -> _dt.datetime:
        """The signing time: the local clock, corrected by any skew the service reported."""
        return self.skew.signing_time(self._clock())

    def _stream(
        self, operation: Operation, values: dict[str, object], configuration: Mapping[str, object] | None
    ) -> Stream:
        params = StreamParams.build(operation, **values)
        return Stream(
            params,
            self.settings,
            configuration=configuration,
            ssl_context=self.ssl_context,
            proxy=self.proxy,
            clock=self._clock,
            rng=self._rng,
            skew=self.skew,
            learned_skew=self._learned_skew,
            max_events=self.max_events,
        )

    def _learned_skew(self, skew: ClockSkew) -> None:
        self.skew = skew

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
        before any connection; a broken rule raises :class:`~streaming.proto.errors.ParameterError`."""
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
        channel_definitions: Sequence[Mapping[str, object]] | None = None,
        post_call_analytics_settings: Mapping[str, object] | None = None,
    ) -> Stream:
        """StartCallAnalyticsStreamTranscription. ``channel_definitions`` (e.g.
        ``[{"ChannelId": 0, "ParticipantRole": "AGENT"}, ...]``) and
        ``post_call_analytics_settings`` travel in the ConfigurationEvent sent first."""
        values = dict(locals())
        values.pop("self")
        definitions = values.pop("channel_definitions")
        post_call = values.pop("post_call_analytics_settings")
        configuration: dict[str, object] | None = None
        if definitions is not None or post_call is not None:
            configuration = {}
            if definitions is not None:
                configuration["ChannelDefinitions"] = _check_channel_definitions(definitions)
            if post_call is not None:
                configuration["PostCallAnalyticsSettings"] = _check_post_call(post_call)
        return self._stream(Operation.CALL_ANALYTICS, values, configuration)


def _check_channel_definitions(definitions: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    roles = check_channel_definitions(definitions)
    return [{"ChannelId": channel, "ParticipantRole": roles[channel]} for channel in sorted(roles)]


def _check_post_call(settings: Mapping[str, object]) -> dict[str, object]:
    return dict(check_post_call_settings(settings))


# -- presigning for browsers ---------------------------------------------------------------


def presign_websocket_url(
    *,
    region: str,
    credentials: Credentials | None = None,
    expires: int = MAX_PRESIGN_EXPIRES,
    endpoint: str | None = None,
    operation: Literal["transcription", "medical", "call-analytics"] = "transcription",
    now: _dt.datetime | None = None,
    **params: object,
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
    check_region(region)
    endpoint = check_endpoint(endpoint or default_endpoint(region, "websocket"), "websocket")
    if credentials is None:
        credentials = credentials_for(endpoint)
    built = StreamParams.build(op, **params)
    return presign_websocket(built, endpoint, credentials, region, now or _dt.datetime.now(_dt.UTC), expires)
