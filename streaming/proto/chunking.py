"""Cutting audio into chunks that know their media duration, pure: PCM frames, FLAC frames, Ogg pages.

A chunk is ``chunk_ms`` long (50..200 ms) and never more than 1 s; PCM chunks hold whole
samples of every channel; compressed audio is cut only at frame or page boundaries, and
its duration comes from the media (block sizes, granule positions). The chunkers are fed
bytes and yield :class:`AudioChunk` objects; the sources in :mod:`streaming.aio.audio`
read files, pipes and devices and hand the bytes over.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from .audioformat import AudioFormat
from .containers import (
    OPUS_SILENCE_PACKET,
    ContainerError,
    FlacSplitter,
    FlacStreamInfo,
    OggPageSplitter,
    flac_frame_number,
    flac_silence_frame,
    ogg_page,
    ogg_serial_and_sequence,
    renumber_flac_frame,
    reseat_ogg_page,
)
from .errors import AudioFormatError, ParameterError
from .formats import check_bits, check_channels, check_rate, convert_hint
from .params import MAX_EVENT_SECONDS

__all__ = [
    "MAX_CHUNK_MS",
    "MIN_CHUNK_MS",
    "AudioChunk",
    "FlacChunker",
    "OggChunker",
    "PcmChunker",
    "Salvage",
    "check_chunk_ms",
    "check_flac",
    "parse_wav",
    "pcm_silence",
]

MIN_CHUNK_MS: Final = 50
MAX_CHUNK_MS: Final = 200
_WAV_FORMATS: Final = {1: "integer PCM", 3: "floating-point", 6: "A-law", 7: "mu-law", 2: "ADPCM", 0x11: "IMA ADPCM"}


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Bytes for one AudioEvent and the media time they cover, in seconds."""

    data: bytes
    duration: float


def pcm_silence(sample_rate: int, channels: int, seconds: float) -> AudioChunk:
    """``seconds`` of s16le zeros on every channel (a stalled PCM source's keep-alive)."""
    return AudioChunk(AudioFormat("pcm", sample_rate, channels).silence(seconds), seconds)


def check_chunk_ms(chunk_ms: int) -> int:
    if not MIN_CHUNK_MS <= chunk_ms <= MAX_CHUNK_MS:
        raise ParameterError(
            "chunk_ms", f"chunk_ms must be {MIN_CHUNK_MS}..{MAX_CHUNK_MS} (ms of audio per event), got {chunk_ms}"
        )
    return chunk_ms


def check_flac(info: FlacStreamInfo, name: str) -> None:
    check_bits(info.bits_per_sample, name, kind="FLAC")
    check_channels(info.channels, name)
    check_rate(info.sample_rate, name)


class Salvage:
    """What a chunker could not read. Audio cut short or damaged part-way (a recorder killed
    mid-file, a bad sector) is still chunked up to the damage; ``damage`` then says what and
    where, ``seconds_read`` how much audio came before it, and nothing after it is read.
    Only when no audio at all was readable does :meth:`finish` raise the error instead.
    """

    def __init__(self) -> None:
        self.damage: AudioFormatError | None = None
        self.seconds_read = 0.0

    def _damaged(self, exc: AudioFormatError) -> None:
        if self.damage is None:
            self.damage = AudioFormatError(str(exc))

    def _check_readable(self) -> None:
        if self.damage is not None and not self.seconds_read:
            raise self.damage


class PcmChunker(Salvage):
    """Cut s16le bytes into chunks of whole frames (one sample of every channel)."""

    def __init__(self, sample_rate: int, channels: int, chunk_ms: int) -> None:
        super().__init__()
        if not 8000 <= sample_rate <= 48000:
            raise ParameterError("sample_rate", f"sample_rate must be 8000..48000 Hz, got {sample_rate}")
        if channels not in (1, 2):
            raise ParameterError("channels", f"channels must be 1 or 2, got {channels}")
        audio = AudioFormat("pcm", sample_rate, channels)
        self.frame_bytes = audio.frame_bytes
        self.bytes_per_second = audio.bytes_per_second
        self.chunk_bytes = (
            self.bytes_per_second * check_chunk_ms(chunk_ms) // 1000 // self.frame_bytes * self.frame_bytes
        )
        self._pending = bytearray()

    def feed(self, data: bytes) -> Iterator[AudioChunk]:
        self._pending += data
        while len(self._pending) >= self.chunk_bytes:
            chunk = bytes(self._pending[: self.chunk_bytes])
            del self._pending[: self.chunk_bytes]
            self.seconds_read += len(chunk) / self.bytes_per_second
            yield AudioChunk(chunk, len(chunk) / self.bytes_per_second)

    def finish(self) -> Iterator[AudioChunk]:
        usable = len(self._pending) - len(self._pending) % self.frame_bytes
        if usable != len(self._pending):
            self._damaged(
                AudioFormatError(
                    f"the PCM audio is cut short: it ends with {len(self._pending) - usable} stray byte(s), "
                    f"not whole {self.frame_bytes // 2}-channel s16le samples"
                )
            )
            del self._pending[usable:]
        if usable:
            chunk = bytes(self._pending)
            self._pending.clear()
            self.seconds_read += len(chunk) / self.bytes_per_second
            yield AudioChunk(chunk, len(chunk) / self.bytes_per_second)
        self._check_readable()


def parse_wav(data: bytes, name: str = "the WAV file") -> tuple[int, int, int, int]:
    """``(sample_rate, channels, data_offset, data_length)`` of a 16-bit PCM WAV file.

    ``data`` may be only the start of the file (a pipe): the length is then what is there.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{name} is not a WAV file: it must start with 'RIFF....WAVE'")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16:
                raise AudioFormatError(f"{name}: its WAV fmt chunk is {size} bytes; at least 16 expected")
            if body + 16 > len(data):
                raise AudioFormatError(f"{name}: the WAV file ends inside its fmt chunk (it is cut short)")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag == 0xFFFE and size >= 40 and body + 26 <= len(data):  # WAVE_FORMAT_EXTENSIBLE: tag in the GUID
                tag = struct.unpack_from("<H", data, body + 24)[0]
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError(f"{name}: its WAV data chunk comes before its fmt chunk")
            tag, channels, rate, bits = fmt
            if tag != 1:
                kind = _WAV_FORMATS.get(tag, f"format {tag}")
                raise AudioFormatError(
                    f"{name} holds {kind} WAV audio ({bits}-bit); the service takes 16-bit integer PCM: "
                    f"{convert_hint(name)}"
                )
            check_bits(bits, name, kind="WAV")
            check_channels(channels, name)
            check_rate(rate, name)
            length = min(size, len(data) - body)
            return rate, channels, body, length
        pos = body + size + (size & 1)
    raise AudioFormatError(f"{name} has no data chunk: the WAV file is cut short or damaged")


class UnitGrouper(Salvage):
    """Groups whole container units (FLAC frames, Ogg pages) into chunks of ``chunk_ms``."""

    def __init__(self, chunk_ms: int) -> None:
        super().__init__()
        self.limit = check_chunk_ms(chunk_ms) / 1000
        self._pending: list[bytes] = []
        self._seconds = 0.0

    def _take(self) -> AudioChunk:
        chunk = AudioChunk(b"".join(self._pending), self._seconds)
        self.seconds_read += self._seconds
        self._pending, self._seconds = [], 0.0
        return chunk

    def _add(self, data: bytes, seconds: float) -> Iterator[AudioChunk]:
        """Add one unit; yield the chunk it does not fit into (a unit is never split)."""
        if self._pending and self._seconds and self._seconds + seconds > self.limit:
            yield self._take()
        self._pending.append(data)
        self._seconds += seconds

    def _rest(self) -> Iterator[AudioChunk]:
        if self._pending:
            yield self._take()


class FlacChunker(UnitGrouper):
    def __init__(self, chunk_ms: int) -> None:
        super().__init__(chunk_ms)
        self.splitter = FlacSplitter()
        self._first = True
        # Silence frames put in while the input stalled, and the numbering they shift.
        self._block = 0  # samples per frame (a fixed-blocksize stream's block size)
        self._variable = False  # frames carry sample numbers, not frame numbers
        self._next = 0  # the number the next frame sent carries
        self._shift = 0  # frames (or samples) of silence put in so far

    def _group(self, frames: list[Any], final: bool) -> Iterator[AudioChunk]:
        info = self.splitter.info
        if info is None:
            return
        if self._first:
            self._pending.append(self.splitter.metadata)  # the stream starts with its header
            self._first = False
        for frame in frames:
            seconds = frame.samples / info.sample_rate
            if seconds > MAX_EVENT_SECONDS:
                raise AudioFormatError(f"a FLAC frame holds {seconds:.2f} s of audio; at most 1 s fits in one event")
            data = renumber_flac_frame(frame.data, self._shift)
            self._variable = bool(data[1] & 1)
            self._block = self._block or frame.samples
            self._next = flac_frame_number(data) + (frame.samples if self._variable else 1)
            yield from self._add(data, seconds)
        if final:
            yield from self._rest()

    def silence(self, seconds: float) -> AudioChunk | None:
        """About ``seconds`` of digital silence as FLAC frames of the stream's block size,
        numbered on from the frames sent; later frames are renumbered after them. Whatever
        frames were waiting to fill a chunk go first. None before the first frame."""
        info = self.splitter.info
        if info is None or not self._block:
            return None
        count = max(round(seconds * info.sample_rate / self._block), 1)
        for _ in range(count):
            self._pending.append(flac_silence_frame(info, self._block, self._next, variable=self._variable))
            step = self._block if self._variable else 1
            self._next += step
            self._shift += step
            self._seconds += self._block / info.sample_rate
        return self._take()

    def feed(self, data: bytes) -> Iterator[AudioChunk]:
        if self.damage is not None:
            return
        try:
            frames = self.splitter.feed(data)
        except ContainerError as exc:
            self._damaged(exc)
            frames = exc.units
        yield from self._group(frames, final=False)

    def finish(self) -> Iterator[AudioChunk]:
        frames: list[Any] = []
        if self.damage is None:
            try:
                frames = self.splitter.finish()
            except ContainerError as exc:
                self._damaged(exc)
                frames = exc.units
        yield from self._group(frames, final=True)
        self._check_readable()


class OggChunker(UnitGrouper):
    def __init__(self, chunk_ms: int) -> None:
        super().__init__(chunk_ms)
        self.splitter = OggPageSplitter()
        self.header = b""
        self.channels = 0
        self.input_rate = 0
        self._pre_skip = 0
        self._granule = 0
        self._headers_done = 0
        self._serial: int | None = None
        self._sequence = 0  # of the last page sent
        self._sequence_shift = 0  # pages of silence put in so far
        self._granule_shift = 0  # their 48 kHz samples

    def _pages(self, pages: list[Any], final: bool) -> Iterator[AudioChunk]:
        for page in pages:
            if self._headers_done < 2:  # OpusHead and OpusTags pages
                for packet in page.packets:
                    if self._headers_done == 0:
                        if not packet.startswith(b"OpusHead") or len(packet) < 19:
                            raise AudioFormatError("Ogg stream does not start with an OpusHead packet")
                        self.channels = packet[9]
                        self._pre_skip, self.input_rate = struct.unpack_from("<HI", packet, 10)
                    self._headers_done += 1
                self.header += page.data
                self._pending.append(page.data)
                continue
            # After silence was put in, later pages move on by its pages and samples.
            data = reseat_ogg_page(page.data, self._sequence_shift, self._granule_shift)
            granule = page.granule + self._granule_shift if page.granule >= 0 else page.granule
            self._serial, self._sequence = ogg_serial_and_sequence(data)
            # A page's granule position counts 48 kHz samples up to its last packet's end,
            # pre-skip included; -1 means no packet ends on this page.
            seconds = 0.0
            if granule >= 0:
                base = self._granule or self._pre_skip
                seconds = max(granule - base, 0) / 48000
                self._granule = max(granule, base)
            if seconds > MAX_EVENT_SECONDS + 0.02:
                raise AudioFormatError(
                    f"an Ogg page holds {seconds:.2f} s of audio; at most 1 s fits in one event "
                    "(encode with a smaller --max-delay)"
                )
            yield from self._add(data, seconds)
        if final:
            yield from self._rest()

    def silence(self, seconds: float) -> AudioChunk | None:
        """About ``seconds`` of Opus silence (20 ms packets with an empty frame) on one Ogg
        page numbered on from the pages sent; later pages move on after it. None before the
        audio starts or while a packet is continued across pages."""
        if self._headers_done < 2 or self.splitter.mid_packet or self._serial is None:
            return None
        count = min(max(round(seconds / 0.02), 1), 255)
        toc = OPUS_SILENCE_PACKET[0] | (0x04 if self.channels == 2 else 0)
        self._granule = (self._granule or self._pre_skip) + 960 * count
        self._sequence += 1
        self._sequence_shift += 1
        self._granule_shift += 960 * count
        self._pending.append(ogg_page(self._serial, self._sequence, self._granule, [bytes([toc])] * count))
        self._seconds += count * 0.02
        return self._take()

    def feed(self, data: bytes) -> Iterator[AudioChunk]:
        if self.damage is not None:
            return
        try:
            pages = self.splitter.feed(data)
        except ContainerError as exc:
            self._damaged(exc)
            pages = exc.units
        yield from self._pages(pages, final=False)

    def finish(self) -> Iterator[AudioChunk]:
        if self.damage is None:
            try:
                self.splitter.finish()
            except ContainerError as exc:
                self._damaged(exc)
        yield from self._pages([], final=True)
        self._check_readable()
