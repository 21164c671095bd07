"""Stream live audio to Amazon Transcribe and get captions back in real time.

The client (:class:`TranscribeStreamingClient`) speaks HTTP/2 or WebSocket, signs every
frame (:mod:`sigv4`), frames with :mod:`eventstream`, and resumes a stream that loses
its connection. Audio comes from :mod:`streaming.audio` sources; results are typed
models (:mod:`streaming.models`); errors are typed (:mod:`streaming.errors`). The local
endpoint (:mod:`streaming.local`, ``streamscribe serve``) stands in for the service.
"""

from .audio import (
    AsyncByteSource,
    AudioChunk,
    AudioFormatError,
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
from .credentials import DEV_CREDENTIALS
from .errors import (
    BadRequestException,
    ConflictException,
    ConnectError,
    ConnectionLost,
    InternalFailureException,
    LimitExceededException,
    ParameterError,
    ProtocolError,
    ServiceError,
    ServiceUnavailableException,
    StreamTimeout,
    TranscribeError,
    TransportError,
    UnrecognizedClientException,
)
from .models import (
    Alternative,
    CategoryEvent,
    Entity,
    Item,
    LanguageWithScore,
    MedicalTranscriptEvent,
    Result,
    TranscriptEvent,
    UtteranceEvent,
)
from .params import Operation, StreamParams
from .sync import iter_transcribe_file, transcribe_file

__all__ = [
    "DEV_CREDENTIALS",
    "Alternative",
    "AsyncByteSource",
    "AudioChunk",
    "AudioFormatError",
    "AudioSource",
    "BadRequestException",
    "CategoryEvent",
    "ConflictException",
    "ConnectError",
    "ConnectionLost",
    "Entity",
    "FlacSource",
    "InternalFailureException",
    "Item",
    "LanguageWithScore",
    "LimitExceededException",
    "MedicalTranscriptEvent",
    "MicrophoneSource",
    "OggOpusSource",
    "Operation",
    "ParameterError",
    "PcmSource",
    "ProtocolError",
    "Result",
    "RetryPolicy",
    "ServiceError",
    "ServiceUnavailableException",
    "Stream",
    "StreamParams",
    "StreamReconnected",
    "StreamStats",
    "StreamTimeout",
    "TranscribeError",
    "TranscribeStreamingClient",
    "TranscriptEvent",
    "TransportError",
    "UnrecognizedClientException",
    "UtteranceEvent",
    "WavSource",
    "iter_transcribe_file",
    "open_audio",
    "presign_websocket_url",
    "transcribe_file",
]
