"""Stream live audio to Amazon Transcribe and get captions back in real time.

The client (:class:`TranscribeStreamingClient`) speaks HTTP/2 or WebSocket, signs every
frame (:mod:`sigv4`), frames with :mod:`eventstream`, and resumes a stream that loses
its connection. Audio comes from :mod:`streaming.aio.audio` sources; results are typed
models (:mod:`streaming.proto.models`); errors are typed (:mod:`streaming.proto.errors`). The local
endpoint (:mod:`streaming.local`, ``streamscribe serve``) stands in for the service.
"""

# A lazy face (PEP 562, as websockets does): ``import streaming`` loads nothing else, and
# ``from streaming import X`` loads only X's module, so a pure module (the codec, the core)
# never pulls in asyncio, ssl, h2, websockets or httpx through the package.

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _lazy

if TYPE_CHECKING:
    from .aio.audio import (
        AsyncByteSource,
        AudioSource,
        FlacSource,
        OggOpusSource,
        PcmSource,
        WavSource,
        open_audio,
    )
    from .aio.client import TranscribeStreamingClient, presign_websocket_url
    from .aio.microphone import MicrophoneSource
    from .aio.stream import Stream
    from .aio.sync import iter_transcribe_file, transcribe_file
    from .jobs import BlockingJobsClient, JobFailedError, JobsClient, JobWaitTimeout
    from .proto.actions import StreamEvent, StreamReconnected, StreamStats
    from .proto.chunking import AudioChunk
    from .proto.credentials import DEV_CREDENTIALS, credentials_for, is_local_endpoint
    from .proto.errors import (
        AccessDeniedException,
        AudioFormatError,
        AudioSourceError,
        BadRequestException,
        ConflictException,
        ConnectError,
        ConnectionLost,
        CredentialsError,
        ExpiredTokenException,
        InternalFailureException,
        InternalServerException,
        InvalidSignatureException,
        LimitExceededException,
        NotFoundException,
        ParameterError,
        ProtocolError,
        ResourceNotFoundException,
        SerializationException,
        ServiceError,
        ServiceQuotaExceededException,
        ServiceUnavailableException,
        SigningError,
        StreamStateError,
        StreamTimeout,
        ThrottlingException,
        TranscribeError,
        TransportError,
        UnknownServiceError,
        UnrecognizedClientException,
        ValidationException,
    )
    from .proto.messages import UnknownEvent
    from .proto.models import (
        Alternative,
        CallAnalyticsEntity,
        CallAnalyticsItem,
        CategoryEvent,
        Entity,
        IssueDetected,
        Item,
        LanguageWithScore,
        MedicalAlternative,
        MedicalEntity,
        MedicalItem,
        MedicalResult,
        MedicalTranscriptEvent,
        Result,
        TranscriptEvent,
        UtteranceEvent,
    )
    from .proto.params import Operation, StreamParams
    from .proto.retry import RetryPolicy
    from .proto.states import ConnectionState

__all__ = [
    "DEV_CREDENTIALS",
    "AccessDeniedException",
    "Alternative",
    "AsyncByteSource",
    "AudioChunk",
    "AudioFormatError",
    "AudioSource",
    "AudioSourceError",
    "BadRequestException",
    "BlockingJobsClient",
    "CallAnalyticsEntity",
    "CallAnalyticsItem",
    "CategoryEvent",
    "ConflictException",
    "ConnectError",
    "ConnectionLost",
    "ConnectionState",
    "CredentialsError",
    "Entity",
    "ExpiredTokenException",
    "FlacSource",
    "InternalFailureException",
    "InternalServerException",
    "InvalidSignatureException",
    "IssueDetected",
    "Item",
    "JobFailedError",
    "JobWaitTimeout",
    "JobsClient",
    "LanguageWithScore",
    "LimitExceededException",
    "MedicalAlternative",
    "MedicalEntity",
    "MedicalItem",
    "MedicalResult",
    "MedicalTranscriptEvent",
    "MicrophoneSource",
    "NotFoundException",
    "OggOpusSource",
    "Operation",
    "ParameterError",
    "PcmSource",
    "ProtocolError",
    "ResourceNotFoundException",
    "Result",
    "RetryPolicy",
    "SerializationException",
    "ServiceError",
    "ServiceQuotaExceededException",
    "ServiceUnavailableException",
    "SigningError",
    "Stream",
    "StreamEvent",
    "StreamParams",
    "StreamReconnected",
    "StreamStateError",
    "StreamStats",
    "StreamTimeout",
    "ThrottlingException",
    "TranscribeError",
    "TranscribeStreamingClient",
    "TranscriptEvent",
    "TransportError",
    "UnknownEvent",
    "UnknownServiceError",
    "UnrecognizedClientException",
    "UtteranceEvent",
    "ValidationException",
    "WavSource",
    "credentials_for",
    "is_local_endpoint",
    "iter_transcribe_file",
    "open_audio",
    "presign_websocket_url",
    "transcribe_file",
]

_WHERE: dict[str, str] = {
    "AccessDeniedException": "proto.errors",
    "Alternative": "proto.models",
    "AsyncByteSource": "aio.audio",
    "AudioChunk": "proto.chunking",
    "AudioFormatError": "proto.errors",
    "AudioSource": "aio.audio",
    "AudioSourceError": "proto.errors",
    "BadRequestException": "proto.errors",
    "BlockingJobsClient": "jobs",
    "CallAnalyticsEntity": "proto.models",
    "CallAnalyticsItem": "proto.models",
    "CategoryEvent": "proto.models",
    "ConflictException": "proto.errors",
    "ConnectError": "proto.errors",
    "ConnectionLost": "proto.errors",
    "ConnectionState": "proto.states",
    "CredentialsError": "proto.errors",
    "DEV_CREDENTIALS": "proto.credentials",
    "Entity": "proto.models",
    "ExpiredTokenException": "proto.errors",
    "FlacSource": "aio.audio",
    "InternalFailureException": "proto.errors",
    "InternalServerException": "proto.errors",
    "InvalidSignatureException": "proto.errors",
    "IssueDetected": "proto.models",
    "Item": "proto.models",
    "JobFailedError": "jobs",
    "JobWaitTimeout": "jobs",
    "JobsClient": "jobs",
    "LanguageWithScore": "proto.models",
    "LimitExceededException": "proto.errors",
    "MedicalAlternative": "proto.models",
    "MedicalEntity": "proto.models",
    "MedicalItem": "proto.models",
    "MedicalResult": "proto.models",
    "MedicalTranscriptEvent": "proto.models",
    "MicrophoneSource": "aio.microphone",
    "NotFoundException": "proto.errors",
    "OggOpusSource": "aio.audio",
    "Operation": "proto.params",
    "ParameterError": "proto.errors",
    "PcmSource": "aio.audio",
    "ProtocolError": "proto.errors",
    "ResourceNotFoundException": "proto.errors",
    "Result": "proto.models",
    "RetryPolicy": "proto.retry",
    "SerializationException": "proto.errors",
    "ServiceError": "proto.errors",
    "ServiceQuotaExceededException": "proto.errors",
    "ServiceUnavailableException": "proto.errors",
    "SigningError": "proto.errors",
    "Stream": "aio.stream",
    "StreamEvent": "proto.actions",
    "StreamParams": "proto.params",
    "StreamReconnected": "proto.actions",
    "StreamStateError": "proto.errors",
    "StreamStats": "proto.actions",
    "StreamTimeout": "proto.errors",
    "ThrottlingException": "proto.errors",
    "TranscribeError": "proto.errors",
    "TranscribeStreamingClient": "aio.client",
    "TranscriptEvent": "proto.models",
    "TransportError": "proto.errors",
    "UnknownEvent": "proto.messages",
    "UnknownServiceError": "proto.errors",
    "UnrecognizedClientException": "proto.errors",
    "UtteranceEvent": "proto.models",
    "ValidationException": "proto.errors",
    "WavSource": "aio.audio",
    "credentials_for": "proto.credentials",
    "is_local_endpoint": "proto.credentials",
    "iter_transcribe_file": "aio.sync",
    "open_audio": "aio.audio",
    "presign_websocket_url": "aio.client",
    "transcribe_file": "aio.sync",
}


__getattr__ = _lazy.lazy_names(__name__, _WHERE, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
