"""Stream live audio to Amazon Transcribe and get captions back in real time.

The client (:class:`TranscribeStreamingClient`) speaks HTTP/2 or WebSocket, signs every
frame (:mod:`sigv4`), frames with :mod:`eventstream`, and resumes a stream that loses
its connection. Audio comes from :mod:`streaming.audio` sources; results are typed
models (:mod:`streaming.models`); errors are typed (:mod:`streaming.errors`). The local
endpoint (:mod:`streaming.local`, ``streamscribe serve``) stands in for the service.
"""

# A lazy face (PEP 562, as websockets does): ``import streaming`` loads nothing else, and
# ``from streaming import X`` loads only X's module, so a pure module (the codec, the core)
# never pulls in asyncio, ssl, h2, websockets or httpx through the package.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audio import (
        AsyncByteSource,
        AudioChunk,
        AudioSource,
        FlacSource,
        MicrophoneSource,
        OggOpusSource,
        PcmSource,
        WavSource,
        open_audio,
    )
    from .client import (
        RetryPolicy,
        Stream,
        StreamReconnected,
        StreamStats,
        TranscribeStreamingClient,
        presign_websocket_url,
    )
    from .core import ConnectionState, StreamEvent
    from .credentials import DEV_CREDENTIALS, credentials_for, is_local_endpoint
    from .errors import (
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
    from .jobs import BlockingJobsClient, JobFailedError, JobsClient, JobWaitTimeout
    from .models import (
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
    from .params import Operation, StreamParams
    from .protocol import UnknownEvent
    from .sync import iter_transcribe_file, transcribe_file

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
    "AccessDeniedException": "errors",
    "Alternative": "models",
    "AsyncByteSource": "audio",
    "AudioChunk": "audio",
    "AudioFormatError": "errors",
    "AudioSource": "audio",
    "AudioSourceError": "errors",
    "BadRequestException": "errors",
    "BlockingJobsClient": "jobs",
    "CallAnalyticsEntity": "models",
    "CallAnalyticsItem": "models",
    "CategoryEvent": "models",
    "ConflictException": "errors",
    "ConnectError": "errors",
    "ConnectionLost": "errors",
    "ConnectionState": "core",
    "CredentialsError": "errors",
    "DEV_CREDENTIALS": "credentials",
    "Entity": "models",
    "ExpiredTokenException": "errors",
    "FlacSource": "audio",
    "InternalFailureException": "errors",
    "InternalServerException": "errors",
    "InvalidSignatureException": "errors",
    "IssueDetected": "models",
    "Item": "models",
    "JobFailedError": "jobs",
    "JobWaitTimeout": "jobs",
    "JobsClient": "jobs",
    "LanguageWithScore": "models",
    "LimitExceededException": "errors",
    "MedicalAlternative": "models",
    "MedicalEntity": "models",
    "MedicalItem": "models",
    "MedicalResult": "models",
    "MedicalTranscriptEvent": "models",
    "MicrophoneSource": "audio",
    "NotFoundException": "errors",
    "OggOpusSource": "audio",
    "Operation": "params",
    "ParameterError": "errors",
    "PcmSource": "audio",
    "ProtocolError": "errors",
    "ResourceNotFoundException": "errors",
    "Result": "models",
    "RetryPolicy": "client",
    "SerializationException": "errors",
    "ServiceError": "errors",
    "ServiceQuotaExceededException": "errors",
    "ServiceUnavailableException": "errors",
    "SigningError": "errors",
    "Stream": "client",
    "StreamEvent": "core",
    "StreamParams": "params",
    "StreamReconnected": "client",
    "StreamStateError": "errors",
    "StreamStats": "client",
    "StreamTimeout": "errors",
    "ThrottlingException": "errors",
    "TranscribeError": "errors",
    "TranscribeStreamingClient": "client",
    "TranscriptEvent": "models",
    "TransportError": "errors",
    "UnknownEvent": "protocol",
    "UnknownServiceError": "errors",
    "UnrecognizedClientException": "errors",
    "UtteranceEvent": "models",
    "ValidationException": "errors",
    "WavSource": "audio",
    "credentials_for": "credentials",
    "is_local_endpoint": "credentials",
    "iter_transcribe_file": "sync",
    "open_audio": "audio",
    "presign_websocket_url": "client",
    "transcribe_file": "sync",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'streaming' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
