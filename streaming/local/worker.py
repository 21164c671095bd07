"""The recognition worker of one stream: audio bytes in, the service's result events out.

:class:`Recognition` decodes the stream's media encoding to 16 kHz PCM per channel
(:mod:`.decoding`), recognises each channel (:mod:`.recognizer`, or counting only with
``engine="none"``) and builds the service's events from the segments (:mod:`.results`).
It is plain synchronous code: the endpoint runs :meth:`Recognition.process` in a thread
pool, one call at a time per stream, so the event loop never waits for pocketsphinx.
"""

from __future__ import annotations

import array
import concurrent.futures
import math
import os
from typing import Any, Final

from ..proto.errors import AudioFormatError, BadRequestException
from ..proto.params import Operation, StreamParams
from .decoding import AudioPipeline
from .postcall import loudness_score
from .recognizer import ChannelRecognizer, NullRecognizer, Recognizer
from .resources import Resources
from .results import ResultBuilder

__all__ = ["RECOGNITION_THREADS", "Recognition"]

_SECOND: Final = 16000  # samples of decoded audio per second
_STRIDE: Final = 4

# Recognition runs here, off the event loop: one thread per core is what the CPU allows.
RECOGNITION_THREADS: Final = concurrent.futures.ThreadPoolExecutor(
    max_workers=max(os.cpu_count() or 1, 2), thread_name_prefix="streamscribe-recognition"
)


class Recognition:
    """Decoding, recognition and result building for one stream."""

    def __init__(self, params: StreamParams, *, engine: str, resources: Resources | None) -> None:
        self.params = params
        self.engine = engine
        self.audio_seconds = 0.0
        self.results = ResultBuilder(params, resources=resources)
        self._pipeline: AudioPipeline | None = None  # made with the first audio, once configured
        self._recognizers: list[Recognizer] = []
        # Call Analytics: one loudness score per second per channel, for the post-call output.
        self.measure_loudness = params.operation is Operation.CALL_ANALYTICS
        self.loudness: list[list[float]] = []
        self._partial_second: list[tuple[float, int]] = []  # (sum of squares, samples) so far

    def process(
        self, data: bytes, final: bool, *, channels: int, all_channels: bool, roles: dict[int, str]
    ) -> list[Any]:
        """Decode ``data`` (then, at the end, what the decoder still holds), recognise it,
        and turn the segments into result events. ``channels`` are interleaved in PCM,
        ``all_channels`` says whether each is recognised (else the first only), ``roles``
        are Call Analytics' channel roles (known before any audio: the configuration
        comes first)."""
        if self._pipeline is None:
            self._pipeline = AudioPipeline(self.params.media_encoding, self.params.sample_rate, channels)
            if roles:
                self.results.set_channel_roles(roles)
        try:
            parts = [self._pipeline.feed(data)] if data else []
            if final:
                parts.append(self._pipeline.flush())
        except AudioFormatError as exc:
            raise BadRequestException(f"Your audio is not valid {self.params.media_encoding}: {exc}") from exc
        segments = []
        for decoded in parts:
            self.audio_seconds += decoded.seconds
            if self.measure_loudness:
                self._measure(decoded.channels)
            while len(self._recognizers) < len(decoded.channels):
                self._recognizers.append(self._recognizer(len(self._recognizers)))
            heard = decoded.channels if all_channels else decoded.channels[:1]
            for recognizer, pcm in zip(self._recognizers, heard, strict=False):
                segments += recognizer.feed(pcm)
        if final:
            for recognizer in self._recognizers:
                segments += recognizer.finish()
        # Channels are recognised one after the other: results go out in time order.
        segments.sort(key=lambda s: (s.heard, not s.is_partial))
        events = self.results.events(segments, self.audio_seconds)
        return events + self.results.finish(self.audio_seconds) if final else events

    def _measure(self, channels: list[bytes]) -> None:
        """Loudness per second of 16 kHz audio (every fourth sample is enough for a level)."""
        while len(self.loudness) < len(channels):
            self.loudness.append([])
            self._partial_second.append((0.0, 0))
        for c, pcm in enumerate(channels):
            total, count = self._partial_second[c]
            samples = array.array("h")
            samples.frombytes(pcm[: len(pcm) // 2 * 2])
            strided, per_second, at = samples[::_STRIDE], _SECOND // _STRIDE, 0
            while at < len(strided):
                take = min(per_second - count, len(strided) - at)
                total += sum(v * v for v in strided[at : at + take])
                count, at = count + take, at + take
                if count == per_second:
                    self.loudness[c].append(loudness_score(math.sqrt(total / count)))
                    total, count = 0.0, 0
            self._partial_second[c] = (total, count)

    def _recognizer(self, channel: int) -> Recognizer:
        if self.engine == "none":
            return NullRecognizer()
        return ChannelRecognizer(channel, phrases=self.results.rules.phrases, voices=self.results.speakers)

    def close(self) -> None:
        """Give the decoders back to the shared pool (only when no call is running)."""
        for recognizer in self._recognizers:
            recognizer.close()
