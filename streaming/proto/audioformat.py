"""The audio a stream carries, as its operation counts it: one value for every question of
seconds, bytes and channels, asked alike by the client's core, the endpoint's core, the
web relay and the sources. Pure.

How many channels are interleaved in PCM depends on the operation: a standard or medical
stream says ``number_of_channels`` (2 only with channel identification); a Call Analytics
stream has no such parameter, and its ConfigurationEvent's ChannelDefinitions say it (two
definitions: stereo). Counting by ``number_of_channels`` alone made a legal 0.6 s event of
8 kHz Call Analytics stereo "1.2 s of audio".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .errors import ParameterError
from .params import MAX_EVENT_SECONDS, Operation, StreamParams

__all__ = ["SAMPLE_BYTES", "AudioFormat", "fits_one_event"]

SAMPLE_BYTES: Final = 2  # the service's PCM is signed 16-bit little-endian


def fits_one_event(seconds: float) -> bool:
    """Whether one AudioEvent may carry ``seconds`` of audio (the service's one-second rule)."""
    return 0 <= seconds <= MAX_EVENT_SECONDS + 1e-9


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """``encoding`` (pcm, flac, ogg-opus), ``sample_rate`` in Hz and ``channels`` interleaved."""

    encoding: str
    sample_rate: int
    channels: int = 1

    @classmethod
    def of(cls, params: StreamParams, configuration: Mapping[str, object] | None = None) -> AudioFormat:
        """The format a stream opened with ``params`` (and, for Call Analytics, configured
        with ``configuration``, its ConfigurationEvent) carries."""
        if params.operation is Operation.CALL_ANALYTICS:
            definitions = (configuration or {}).get("ChannelDefinitions")
            channels = 2 if isinstance(definitions, list | tuple) and len(definitions) == 2 else 1
        else:
            channels = params.channels
        return cls(params.media_encoding, params.sample_rate, channels)

    @property
    def is_pcm(self) -> bool:
        return self.encoding == "pcm"

    @property
    def frame_bytes(self) -> int:
        """Bytes of one PCM sample of every channel."""
        return SAMPLE_BYTES * self.channels

    @property
    def bytes_per_second(self) -> int:
        """PCM bytes per second of media (0 for compressed audio: its frames say)."""
        return self.frame_bytes * self.sample_rate if self.is_pcm else 0

    def seconds(self, size: int) -> float:
        """Media seconds in ``size`` bytes of PCM; 0 for compressed audio (its container
        says, and the sources count it from there)."""
        per_second = self.bytes_per_second
        return size / per_second if per_second else 0.0

    def event_seconds(self, size: int, duration: float | None = None) -> float:
        """Media seconds of one AudioEvent of ``size`` bytes (``duration`` when its source
        knows it), or :class:`ParameterError` past the one-second rule."""
        seconds = self.seconds(size) if duration is None else duration
        if not fits_one_event(seconds):
            raise ParameterError(
                "chunk",
                f"an audio event may carry at most {MAX_EVENT_SECONDS:g} s of audio; this one has {seconds:.3f} s",
            )
        return seconds

    def bytes_for(self, seconds: float) -> int:
        """PCM bytes in about ``seconds`` of media: whole samples of every channel."""
        return round(self.sample_rate * seconds) * self.frame_bytes

    def silence(self, seconds: float) -> bytes:
        """About ``seconds`` of PCM zeros, whole samples of every channel."""
        return bytes(self.bytes_for(seconds))
