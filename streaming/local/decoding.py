"""Incremental audio decoding for the local endpoint: PCM, FLAC and Ogg/Opus to 16 kHz PCM.

Audio arrives in AudioEvents cut anywhere, so each decoder buffers what it needs and emits
audio as soon as a unit is complete: a FLAC frame once the next frame's header (or the
end) shows where it stops, an Ogg page once all its bytes are in. The containers are
split by :mod:`streaming.proto.containers` (checksums included); PyAV's codecs decode the
frames and packets. Output is one 16 kHz s16le buffer per channel,
the recogniser's format, plus the media time it covers.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any, Final

from ..proto.containers import ContainerError, FlacFrame, FlacSplitter, OggPageSplitter
from ..proto.errors import AudioFormatError  # the one class for audio that is not what it claims

__all__ = [
    "AudioPipeline",
    "Decoded",
]

TARGET_RATE: Final = 16000


@dataclass(frozen=True, slots=True)
class Decoded:
    """Audio decoded from one feed: per-channel 16 kHz s16le, and its media duration."""

    channels: list[bytes]
    seconds: float


# -- resampling ----------------------------------------------------------------------------


class _Resampler:
    """s16 mono at ``rate`` -> s16 mono at 16 kHz, per channel, with PyAV's swresample."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._resampler: Any = None
        if rate != TARGET_RATE:
            import av  # noqa: PLC0415 - heavy; only when resampling is needed

            self._av = av
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=TARGET_RATE)

    def __call__(self, pcm: bytes) -> bytes:
        if self._resampler is None or not pcm:
            return pcm
        frame = self._av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate = self.rate
        return b"".join(bytes(out.planes[0])[: out.samples * 2] for out in self._resampler.resample(frame))

    def flush(self) -> bytes:
        if self._resampler is None:
            return b""
        return b"".join(bytes(out.planes[0])[: out.samples * 2] for out in self._resampler.resample(None))


# -- decoders ------------------------------------------------------------------------------


class _Pcm:
    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate
        self.channels = channels
        self._carry = b""
        self._resamplers = [_Resampler(rate) for _ in range(channels)]

    def feed(self, data: bytes) -> Decoded:
        data = self._carry + data
        frame = 2 * self.channels
        usable = len(data) - len(data) % frame
        self._carry = data[usable:]
        samples = array("h")
        samples.frombytes(data[:usable])
        if self.channels == 1:
            per_channel = [samples.tobytes()]
        else:
            per_channel = [samples[c :: self.channels].tobytes() for c in range(self.channels)]
        out = [resample(pcm) for resample, pcm in zip(self._resamplers, per_channel, strict=True)]
        return Decoded(out, usable / frame / self.rate)

    def flush(self) -> Decoded:
        if self._carry:
            raise AudioFormatError(
                f"PCM audio ended with {len(self._carry)} stray bytes (not a whole "
                f"{self.channels}-channel s16le sample)"
            )
        return Decoded([r.flush() for r in self._resamplers], 0.0)


class _Codec:
    """A PyAV decoder whose output is split into channels and resampled to 16 kHz mono."""

    def __init__(self, name: str, extradata: bytes, channels: int) -> None:
        import av  # noqa: PLC0415

        self._av = av
        self.context = av.CodecContext.create(name, "r")
        self.context.extradata = extradata
        self.channels = channels
        layout = "mono" if channels == 1 else "stereo"
        self._planar = av.AudioResampler(format="s16p", layout=layout, rate=TARGET_RATE)

    def decode(self, packet: bytes) -> tuple[list[bytes], int, int]:
        """Per-channel 16 kHz PCM of one packet, its sample count and source rate."""
        try:
            frames = self.context.decode(self._av.Packet(packet))  # type: ignore[attr-defined]
        except self._av.FFmpegError as exc:
            raise AudioFormatError(f"cannot decode audio: {exc}") from exc
        return self._convert(frames)

    def _convert(self, frames: list[Any]) -> tuple[list[bytes], int, int]:
        out = [bytearray() for _ in range(self.channels)]
        samples = rate = 0
        for frame in frames:
            samples += frame.samples
            rate = frame.sample_rate
            for converted in self._planar.resample(frame):
                n = converted.samples * 2
                for c in range(self.channels):
                    out[c] += bytes(converted.planes[c])[:n]
        return [bytes(b) for b in out], samples, rate

    def flush(self) -> list[bytes]:
        out = [bytearray() for _ in range(self.channels)]
        for converted in self._planar.resample(None):
            n = converted.samples * 2
            for c in range(self.channels):
                out[c] += bytes(converted.planes[c])[:n]
        return [bytes(b) for b in out]


class _Flac:
    """FLAC frames from the shared splitter, decoded by PyAV's flac codec."""

    def __init__(self) -> None:
        self._splitter = FlacSplitter()
        self._codec: _Codec | None = None

    def _decode(self, frames: list[FlacFrame]) -> Decoded:
        info = self._splitter.info
        if info is None:
            return Decoded([b""], 0.0)
        if self._codec is None:
            if info.channels > 2:
                raise AudioFormatError(f"FLAC audio has {info.channels} channels; at most 2 are supported")
            self._codec = _Codec("flac", info.raw, info.channels)
        out = [bytearray() for _ in range(info.channels)]
        samples = 0
        for frame in frames:
            pcm, n, _ = self._codec.decode(frame.data)
            samples += n
            for c, part in enumerate(pcm):
                out[c] += part
        return Decoded([bytes(b) for b in out], samples / info.sample_rate)

    def feed(self, data: bytes) -> Decoded:
        try:
            return self._decode(self._splitter.feed(data))
        except ContainerError as exc:
            raise AudioFormatError(str(exc)) from exc

    def flush(self) -> Decoded:
        try:
            decoded = self._decode(self._splitter.finish())
        except ContainerError as exc:
            raise AudioFormatError(str(exc)) from exc
        if self._codec is None:
            return decoded
        tail = self._codec.flush()
        return Decoded([a + b for a, b in zip(decoded.channels, tail, strict=True)], decoded.seconds)


class _OggOpus:
    """Ogg pages from the shared splitter; Opus packets decoded by PyAV."""

    def __init__(self) -> None:
        self._splitter = OggPageSplitter()
        self._codec: _Codec | None = None
        self._tags_seen = False
        self.channels = 0

    def feed(self, data: bytes) -> Decoded:
        try:
            pages = self._splitter.feed(data)
        except ContainerError as exc:
            raise AudioFormatError(str(exc)) from exc
        out = [bytearray() for _ in range(max(self.channels, 1))]
        samples = 0
        for packet in (p for page in pages for p in page.packets):
            pcm, n = self._packet_audio(packet)
            if pcm is None:
                out = [bytearray() for _ in range(self.channels)]
                continue
            samples += n
            for c, part in enumerate(pcm):
                out[c] += part
        return Decoded([bytes(b) for b in out], samples / 48000)

    def _packet_audio(self, packet: bytes) -> tuple[list[bytes] | None, int]:
        if self._codec is None:
            if not packet.startswith(b"OpusHead") or len(packet) < 19:
                raise AudioFormatError("Ogg stream does not start with an OpusHead packet")
            self.channels = packet[9]
            if self.channels not in (1, 2):
                raise AudioFormatError(f"Opus audio has {self.channels} channels; 1 or 2 are supported")
            self._codec = _Codec("opus", packet, self.channels)
            return None, 0
        if not self._tags_seen:
            if not packet.startswith(b"OpusTags"):
                raise AudioFormatError("Ogg/Opus stream lacks its OpusTags packet")
            self._tags_seen = True
            return [b""] * self.channels, 0
        pcm, n, _ = self._codec.decode(packet)
        return pcm, n

    def flush(self) -> Decoded:
        try:
            self._splitter.finish()
        except ContainerError as exc:
            raise AudioFormatError(str(exc)) from exc
        if self._codec is None:
            return Decoded([b""], 0.0)
        return Decoded(self._codec.flush(), 0.0)


class AudioPipeline:
    """Decode one stream's audio, whatever its encoding, into 16 kHz mono per channel.

    ``channels`` is what the request declared for PCM (1, or 2 with channel
    identification); FLAC and Opus carry their own channel count.
    """

    def __init__(self, encoding: str, sample_rate: int, channels: int = 1) -> None:
        self.encoding = encoding
        self.sample_rate = sample_rate
        self._decoder: _Pcm | _Flac | _OggOpus
        if encoding == "pcm":
            self._decoder = _Pcm(sample_rate, channels)
        elif encoding == "flac":
            self._decoder = _Flac()
        elif encoding == "ogg-opus":
            self._decoder = _OggOpus()
        else:
            raise AudioFormatError(f"unsupported media encoding {encoding!r}")

    def feed(self, data: bytes) -> Decoded:
        return self._decoder.feed(data)

    def flush(self) -> Decoded:
        return self._decoder.flush()
